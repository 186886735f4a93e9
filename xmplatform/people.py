"""A person across the apps: their erasure, export and retention, orchestrated from the top.

Each app knows only what it holds of one person and offers it as plain services
(`journeys/people.py`, `surveys/people.py`, `metrics/people.py`, `xmplatform/api/people.py`;
audiences in `audiences.services.erasure` and `audiences.selectors`). This module calls them in
order, so no app imports one above it:

- erasure: `audiences.services.person_erase` empties the person at once and emits
  `person.erased`; `person_erased_handler` erases the rest, from the top app down, then lets
  audiences delete the row and audit the completion;
- export: `person_export` puts each app's part together (the admin's download and the API);
- retention: `people_retention_apply` ages out personal links, daily from beat.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from audiences.models import AuditAction, Membership, Person, Role
from audiences.selectors import audiences_person_export
from audiences.services import audit_record, person_erase_finish
from journeys.people import journeys_person_erase, journeys_person_export
from metrics.people import cases_apply_retention, metrics_person_erase
from surveys.people import responses_apply_retention, surveys_person_erase, surveys_person_export
from xmplatform.api.people import api_person_erase
from xmplatform.core.admin_guard import unrestricted


def person_erased_handler(*, message_id: int, person_id: int) -> None:
    """Outbox `person.erased`: every app above audiences erases what it holds of the person.

    From the top down, so that each app still finds its rows through the links the apps below
    it clear (a case through its person before the response is unlinked, the invitations before
    their triggering events go); audiences then deletes the emptied row and audits what was
    done. One transaction with the outbox row: all of it, or none and a retry.
    """
    counts: dict[str, int] = {}
    counts.update(api_person_erase(person_id=person_id))
    counts.update(metrics_person_erase(person_id=person_id))
    counts.update(surveys_person_erase(person_id=person_id))
    counts.update(journeys_person_erase(person_id=person_id))
    person_erase_finish(person_id=person_id, counts=counts)


def person_export(*, person_id: int, real_states: bool = False) -> dict[str, Any]:
    """Everything held about the person, as JSON-ready data (a GDPR access/portability request).

    The person, memberships and consents (audiences), touchpoint events (journeys), and
    invitations and named responses with their answers (surveys; with the states the reader is
    shown, the stored ones only with `real_states`). Seven queries, whatever the history.
    Raises Person.DoesNotExist for an unknown id.
    """
    return {
        "exported_at": timezone.now().isoformat(),
        **audiences_person_export(person_id=person_id),
        **journeys_person_export(person_id=person_id),
        **surveys_person_export(person_id=person_id, real_states=real_states),
    }


def person_export_view(request: HttpRequest, object_id: str) -> HttpResponse:
    """The person page's "Export data (JSON)": a download, audited.

    Served here, beside the page audiences' admin draws, because the export reaches the apps
    above audiences; the page's admin decides who may export whom (the analyst role on every
    audience of the person).
    """
    model_admin: Any = admin.site.get_model_admin(Person)
    person = model_admin.person_for(request, object_id, Role.ANALYST)
    data = person_export(person_id=person.pk, real_states=unrestricted(request.user))
    audiences = list(Membership.objects.filter(person=person).values_list("audience_id", flat=True))
    audit_record(
        actor=request.user,
        action=AuditAction.PERSON_EXPORTED,
        audiences=audiences or [None],
        target=f"person {person.pk}",
    )
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="person-{person.pk}.json"'
    return response


@transaction.atomic
def people_retention_apply(*, today: dt.date | None = None) -> dict[str, int]:
    """Unlink from people what is older than their audience's retention; counts by kind.

    Cases first (metrics finds a case's response by its age, which surveys' unlinking of an
    unfinished response clears), then the responses themselves. A second run changes nothing.
    """
    today = today or timezone.localdate()
    cases = cases_apply_retention(today=today)
    responses = responses_apply_retention(today=today)
    return {"responses": responses, "cases": cases}
