"""Webhook payloads: what a receiver gets for each event (reads only).

`alert.opened` is built from whatever the metrics app's Alert model holds, so the payload
follows that model as it grows; an alert that cannot be found yields no delivery.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.utils import timezone

from audiences.models import Audience
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
    """The payload of a completed response, or None if it is gone or unfinished."""
    response = (
        Response.objects.select_related("survey", "audience", "touchpoint", "person")
        .filter(pk=response_id, completed_on__isnull=False)
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
    data["response"] = getattr(alert, "response_id", None)
    audience_id = getattr(alert, "audience_id", None)
    data["audience"] = (
        Audience.objects.filter(pk=audience_id).values_list("slug", flat=True).first()
        if audience_id is not None
        else None
    )
    response = getattr(alert, "response", None)
    person_id = getattr(response, "person_id", None)
    return Built(_envelope(WebhookEvent.ALERT_OPENED, data), audience_id, person_id)
