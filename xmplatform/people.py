"""A person across the apps: their erasure, export and retention, orchestrated from the top.

Each app knows only what it holds of one person and offers it as plain services
(`journeys/people.py`, `surveys/people.py`, `metrics/people.py`, `xmplatform/api/people.py`;
audiences in `audiences.services.erasure` and `audiences.selectors`). This module calls them in
order, so no app imports one above it:

- erasure: `audiences.services.person_erase` empties the person at once and emits
  `person.erased`; `person_erased_handler` erases the rest, from the top app down, then lets
  audiences delete the row and audit the completion;
- export: `person_export` puts each app's part together (the admin's download and the API);
- retention: `people_retention_apply` ages out personal links, daily from beat;
- the timeline: `person_timeline` puts each app's rows of the person together, newest first,
  limited to the audiences the reader may see (the person page's "Timeline").
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from audiences.access import audience_ids
from audiences.models import Audience, AuditAction, Channel, Membership, Person, Role
from audiences.selectors import audiences_person_export
from audiences.services import audit_record, person_erase_finish
from journeys.models import TouchpointChannel
from journeys.people import (
    journeys_person_erase,
    journeys_person_export,
    journeys_person_timeline,
)
from metrics.models import CaseStatus
from metrics.people import cases_apply_retention, metrics_person_erase, metrics_person_timeline
from surveys.distribution.fatigue import reason_label
from surveys.labels import answer_display, localised
from surveys.models import SCORED_TYPES, InvitationState, QuestionType
from surveys.people import (
    responses_apply_retention,
    surveys_person_erase,
    surveys_person_export,
    surveys_person_timeline,
)
from xmplatform.api.people import api_person_erase
from xmplatform.core.admin_guard import unrestricted
from xmplatform.core.names import translated_name


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


# --- A person, whole: the timeline page ----------------------------------------------------


# The latest rows of each kind a timeline shows: a person with years of events still opens fast.
TIMELINE_LIMIT = 200


def _moment(value: dt.date | dt.datetime | None) -> dt.datetime | None:
    """A date as the start of its day in the current time zone; a time as it is."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return timezone.make_aware(dt.datetime.combine(value, dt.time.min))


def _answer_text(answer: dict[str, Any]) -> str:
    """One answer as the case owner reads it: "3 / 10", "Price, Staff", the comment."""
    kind = answer["question__type"]
    if kind in SCORED_TYPES:
        if answer["number"] is None:
            return ""
        top = {QuestionType.NPS: 10, QuestionType.CSAT: 5}.get(
            kind, answer["question__scale_max"] or 5
        )
        return f"{answer['number']} / {top}"
    value: Any = answer["text"]
    if kind == QuestionType.MULTIPLE_CHOICE:
        value = answer["choices"] or []
    shown = answer_display(type=kind, choices=answer["question__choices"], value=value)
    return ", ".join(shown) if isinstance(shown, list) else str(shown or "")


def _nps_group(answers: list[dict[str, Any]]) -> tuple[str, str]:
    """(label, tone) of the response's NPS answer: promoter, passive or detractor."""
    for answer in answers:
        if answer["question__type"] == QuestionType.NPS and answer["number"] is not None:
            if answer["number"] >= 9:
                return gettext("Promoter (9–10)"), "good"
            if answer["number"] >= 7:
                return gettext("Passive (7–8)"), ""
            return gettext("Detractor (0–6)"), "bad"
    return "", ""


def person_timeline(
    *, person: Person, audience_ids: list[int] | None, real_states: bool = False
) -> list[dict[str, Any]]:
    """Everything the reader may see of `person`, newest first, as timeline entries.

    Only rows of `audience_ids` (None: every audience): memberships, touchpoint events,
    invitations (the state the reader is shown, suppression reasons in words), named responses
    with their answers, cases with their notes. Anonymous surveys' responses never appear, and
    their invitations show no time of opening or answering. Nine queries, whatever the history.
    """
    memberships = Membership.objects.filter(person=person)
    if audience_ids is not None:
        memberships = memberships.filter(audience_id__in=audience_ids)
    member_rows = list(memberships.values("audience_id", "segment", "joined_on", "left_on"))
    events = journeys_person_timeline(
        person_id=person.pk, audience_ids=audience_ids, limit=TIMELINE_LIMIT
    )
    surveys = surveys_person_timeline(
        person_id=person.pk,
        audience_ids=audience_ids,
        real_states=real_states,
        limit=TIMELINE_LIMIT,
    )
    cases = metrics_person_timeline(
        person_id=person.pk, audience_ids=audience_ids, limit=TIMELINE_LIMIT
    )
    readable = Audience.objects.all()
    if audience_ids is not None:
        readable = readable.filter(pk__in=audience_ids)
    # Names in the reader's language (name_translations), as everywhere in the admin.
    names = {
        pk: translated_name(name, translations)
        for pk, name, translations in readable.values_list("pk", "name", "name_translations")
    }

    entries: list[dict[str, Any]] = []

    def add(kind: str, at: Any, audience_id: int | None, title: str, **extra: Any) -> None:
        entries.append(
            {
                "kind": kind,
                "at": _moment(at),
                "audience_id": audience_id,
                "audience": names.get(audience_id, "") if audience_id else "",
                "title": title,
                "lines": extra.pop("lines", []),
                **extra,
            }
        )

    for m in member_rows:
        segment = [gettext("Segment: %(segment)s") % {"segment": m["segment"]}] * bool(m["segment"])
        add(
            "membership",
            m["joined_on"],
            m["audience_id"],
            gettext("Joined %(audience)s") % {"audience": names.get(m["audience_id"], "")},
            lines=segment,
        )
        if m["left_on"] is not None:
            add(
                "membership",
                m["left_on"],
                m["audience_id"],
                gettext("Left %(audience)s") % {"audience": names.get(m["audience_id"], "")},
            )
    for e in events:
        add(
            "event",
            e["occurred_at"],
            e["touchpoint__stage__journey__audience_id"],
            e["touchpoint__name"],
            lines=[
                gettext("%(stage)s stage of %(journey)s")
                % {
                    "stage": e["touchpoint__stage__name"],
                    "journey": translated_name(
                        e["touchpoint__stage__journey__name"],
                        e["touchpoint__stage__journey__name_translations"],
                    ),
                },
                str(TouchpointChannel(e["touchpoint__channel"]).label)
                if e["touchpoint__channel"] in TouchpointChannel.values
                else e["touchpoint__channel"],
            ],
        )
    for i in surveys["invitations"]:
        state = i["shown_state"]
        lines = [
            str(Channel(i["channel"]).label) if i["channel"] in Channel.values else i["channel"],
            str(InvitationState(state).label) if state in InvitationState.values else state,
        ]
        tone = ""
        if i["suppression_reason"]:
            lines.append(
                gettext("Not sent: %(reason)s") % {"reason": reason_label(i["suppression_reason"])}
            )
            tone = "warn"
        if i["survey__anonymous"]:
            lines.append(gettext("Anonymous survey: its answers are never shown with a person."))
        add(
            "invitation",
            i["sent_at"] or i["due_at"] or i["planned_at"],
            i["survey__audience_id"],
            gettext("Invitation to %(survey)s")
            % {"survey": translated_name(i["survey__name"], i["survey__name_translations"])},
            lines=lines,
            tone=tone,
            url=reverse("admin:surveys_invitation_change", args=[i["id"]]),
        )
    for r in surveys["responses"]:
        group, tone = _nps_group(r["answers"])
        lines = [gettext("Touchpoint: %(name)s") % {"name": r["touchpoint__name"]}] * bool(
            r["touchpoint__name"]
        )
        if r["completed_on"] is None:
            lines.append(gettext("Not finished"))
        add(
            "response",
            r["completed_at"] or r["completed_on"] or r["started_at"],
            r["audience_id"],
            gettext("Answered %(survey)s")
            % {"survey": translated_name(r["survey__name"], r["survey__name_translations"])},
            lines=lines,
            badge=group,
            tone=tone,
            answers=[
                (localised(a["question__label"]) or a["question__key"], _answer_text(a))
                for a in r["answers"]
            ],
            url=reverse("admin:surveys_response_change", args=[r["id"]]),
        )
    for c in cases:
        status = CaseStatus(c["status"])
        overdue = c["closed_at"] is None and c["due_at"] < timezone.now()
        lines = [str(status.label)]
        if c["assignee__username"]:
            lines.append(gettext("Assigned to %(user)s") % {"user": c["assignee__username"]})
        if c["root_cause__name"]:
            lines.append(gettext("Root cause: %(cause)s") % {"cause": c["root_cause__name"]})
        add(
            "case",
            c["opened_at"],
            c["audience_id"],
            c["title"],
            lines=lines,
            badge=gettext("Overdue") if overdue else "",
            tone="bad" if overdue else "",
            notes=c["notes"],
            due_at=None if c["closed_at"] else c["due_at"],
            url=reverse("admin:metrics_case_change", args=[c["id"]]),
        )
    dated = sorted((e for e in entries if e["at"] is not None), key=lambda e: e["at"])
    return [*reversed(dated), *(e for e in entries if e["at"] is None)]


KIND_LABELS = {
    "membership": _("Membership"),
    "event": _("Touchpoint"),
    "invitation": _("Invitation"),
    "response": _("Survey response"),
    "case": _("Case"),
}


def _summary(entries: list[dict[str, Any]]) -> str:
    """ "3 touchpoints · 2 invitations · 1 response · 1 case": what the timeline holds."""
    counts = {kind: sum(1 for e in entries if e["kind"] == kind) for kind in KIND_LABELS}
    parts = [
        ngettext("%(count)s touchpoint", "%(count)s touchpoints", counts["event"]),
        ngettext("%(count)s invitation", "%(count)s invitations", counts["invitation"]),
        ngettext("%(count)s response", "%(count)s responses", counts["response"]),
        ngettext("%(count)s case", "%(count)s cases", counts["case"]),
    ]
    numbers = (counts["event"], counts["invitation"], counts["response"], counts["case"])
    return " · ".join(p % {"count": n} for p, n in zip(parts, numbers, strict=True) if n)


def person_timeline_view(request: HttpRequest, object_id: str) -> HttpResponse:
    """One person, whole: their timeline across the audiences the user may see (analysts).

    A person outside the user's audiences answers 404, as their change page does. Seeing the
    answers of named responses is audited as the response pages are.
    """
    model_admin: Any = admin.site.get_model_admin(Person)
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    person = model_admin.get_object(request, unquote(object_id))
    if person is None:
        raise Http404(gettext("No such person."))
    ids = audience_ids(request.user, Role.ANALYST)
    entries = person_timeline(
        person=person, audience_ids=ids, real_states=unrestricted(request.user)
    )
    for entry in entries:
        entry["kind_label"] = KIND_LABELS[entry["kind"]]
        entry["day"] = timezone.localtime(entry["at"]).date() if entry["at"] else None
    answered = sorted({e["audience_id"] for e in entries if e["kind"] == "response"} - {None})
    memberships = [e for e in entries if e["kind"] == "membership" and e["title"]]
    if any(e["kind"] == "response" for e in entries):
        audit_record(
            actor=request.user,
            action=AuditAction.RESPONSES_VIEWED,
            audiences=answered or [None],
            target=f"person {person.pk} timeline",
        )
    context = {
        **admin.site.each_context(request),
        "title": str(person),
        "subtitle": gettext("Timeline"),
        "opts": Person._meta,
        "original": person,
        "entries": entries,
        "memberships": memberships,
        "summary": _summary(entries),
        "limit": TIMELINE_LIMIT,
        "truncated": any(
            sum(1 for e in entries if e["kind"] == kind) >= TIMELINE_LIMIT
            for kind in ("event", "invitation", "response", "case")
        ),
        "may_export": model_admin.may_handle(request, person, Role.ANALYST),
    }
    return TemplateResponse(request, "admin/audiences/person/timeline.html", context)
