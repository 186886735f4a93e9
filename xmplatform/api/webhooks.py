"""Webhook payloads: what a receiver gets for each event (reads only).

`alert.opened` is built from whatever the metrics app's Alert model holds, so the payload
follows that model as it grows; an alert that cannot be found yields no delivery.

Anonymous surveys send no per-response event: a receiver's log of when each event arrived
would date every answer (the privacy model, README). `response.completed` builds nothing for
them, so it is never logged or delivered, whoever asks; an alert about one of their responses
names no response and no person, and a case's `case.changed` names neither its response nor its
person at all.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.utils import timezone

from audiences.models import Audience
from metrics.models import Case
from surveys.models import Response
from xmplatform.api import selectors
from xmplatform.api.models import WebhookEvent
from xmplatform.api.serializers import ResponseSerializer


@dataclass(frozen=True)
class Built:
    """A payload, the audience it belongs to, and the person it is about (if any).

    The person is kept on the delivery row so that erasing them deletes the payload too.
    """

    payload: dict[str, Any]
    audience_id: int | None
    person_id: int | None


def _envelope(event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event": event, "created_at": timezone.now().isoformat(), "data": data}


def response_completed_payload(response_id: int) -> Built | None:
    """The payload of a completed response, or None if it is gone, unfinished or anonymous."""
    response = (
        Response.objects.select_related("survey", "audience", "touchpoint", "person")
        .filter(pk=response_id, completed_on__isnull=False, survey__anonymous=False)
        .first()
    )
    if response is None:
        return None
    # The same shape (and ISO date-times) as GET /api/v1/surveys/{id}/responses/.
    data = dict(ResponseSerializer(selectors.responses_data(responses=[response])[0]).data)
    return Built(
        _envelope(WebhookEvent.RESPONSE_COMPLETED, data), response.audience_id, response.person_id
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, str | int | float | bool | list | dict) or value is None:
        return value
    return str(value)


ALERT_FIELDS = ("summary", "value", "previous", "n", "opened_at", "window_start")


def alert_opened_payload(alert_id: int) -> Built | None:
    """The payload of an opened alert, or None when there is no such alert.

    Read through the app registry and getattr, so a field the Alert model does not (yet) have
    is simply left out.
    """
    try:
        model = apps.get_model("metrics", "Alert")
    except LookupError:
        return Built(_envelope(WebhookEvent.ALERT_OPENED, {"id": alert_id}), None, None)
    alert = model._default_manager.filter(pk=alert_id).first()
    if alert is None:
        return None
    data: dict[str, Any] = {"id": alert.pk}
    for name in ALERT_FIELDS:
        if hasattr(alert, name):
            data[name] = _plain(getattr(alert, name))
    rule = getattr(alert, "rule", None)
    if rule is not None:
        data["rule"] = {"id": rule.pk, "name": str(getattr(rule, "name", rule))}
    response_id = getattr(alert, "response_id", None)
    person_id, anonymous = (
        Response.objects.filter(pk=response_id)
        .values_list("person_id", "survey__anonymous")
        .first()
        if response_id is not None
        else None
    ) or (None, False)
    if anonymous:
        response_id = person_id = None
    data["response"] = response_id
    audience_id = getattr(alert, "audience_id", None)
    data["audience"] = (
        Audience.objects.filter(pk=audience_id).values_list("slug", flat=True).first()
        if audience_id is not None
        else None
    )
    return Built(_envelope(WebhookEvent.ALERT_OPENED, data), audience_id, person_id)


def case_changed_payload(case_id: int, *, changed_at: dt.datetime) -> Built | None:
    """The payload of a changed case, or None when there is no such case.

    The case as it stands when the delivery is logged (moments after the change: two quick
    changes may both show the later state) and `changed_at`, when the change was made. It
    carries ids and the state only, nothing about the respondent: no response, no person, no
    title (an alert's summary is in its own `alert.opened`).
    """
    case = Case.objects.select_related("audience").filter(pk=case_id).first()
    if case is None:
        return None
    data = {
        "id": case.pk,
        "state": case.status,
        "assignee": case.assignee_id,
        "alert": case.alert_id,
        "audience": case.audience.slug,
        "updated_at": changed_at.isoformat(),
    }
    return Built(_envelope(WebhookEvent.CASE_CHANGED, data), case.audience_id, None)
