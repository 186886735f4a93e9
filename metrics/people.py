"""What metrics holds of one person: erased and aged out (retention) from above.

xmplatform.people calls these for a person's erasure and for the daily retention; the
audience's retention and the responses' ages are read from the apps below.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models

from audiences.selectors import retention_cutoffs
from metrics.models import AnswerOutcome, Case, CaseNote, EventDay
from surveys.models import Response
from surveys.people import responses_old_q


def metrics_person_erase(*, person_id: int) -> dict[str, int]:
    """Delete the notes on the person's follow-up cases and their per-person rollup rows, and
    unlink the cases (they stay, without the person); returns counts by kind.

    Run before surveys unlinks the person's responses: a case is found by its own person link.
    """
    _total, notes = CaseNote.objects.filter(case__person_id=person_id).delete()
    cases = Case.objects.filter(person_id=person_id).update(person=None)
    AnswerOutcome.objects.filter(person_id=person_id).delete()
    EventDay.objects.filter(person_id=person_id).delete()
    return {"case_notes": notes.get(CaseNote._meta.label, 0), "cases_unlinked": cases}


def cases_apply_retention(*, today: dt.date) -> int:
    """Unlink from people the cases of responses older than their audience's retention.

    Through its case a response would still name who gave it. A case without a response goes
    when it was opened before the cutoff. Run before surveys unlinks the responses (an
    unfinished response is aged by its start time, which that clears). One UPDATE per audience
    that has a retention; returns how many cases changed.
    """
    changed = 0
    for audience_id, cutoff in retention_cutoffs(today=today):
        old_responses = Response.objects.filter(audience_id=audience_id).filter(
            responses_old_q(cutoff=cutoff)
        )
        old = models.Q(response__in=old_responses.values("pk")) | models.Q(
            response__isnull=True, opened_at__date__lt=cutoff
        )
        changed += (
            Case.objects.filter(audience_id=audience_id, person__isnull=False)
            .filter(old)
            .update(person=None)
        )
    return changed


def metrics_person_timeline(
    *, person_id: int, audience_ids: list[int] | None, limit: int = 200
) -> list[dict[str, Any]]:
    """The person's latest `limit` follow-up cases in the given audiences (None: all), with
    their notes.

    A case of an anonymous survey's response never names a person; the filter on the survey
    guards it all the same. Two queries: cases, notes.
    """
    cases = Case.objects.filter(person_id=person_id).filter(
        models.Q(response__isnull=True) | models.Q(response__survey__anonymous=False)
    )
    if audience_ids is not None:
        cases = cases.filter(audience_id__in=audience_ids)
    rows = list(
        cases.order_by("-opened_at", "-id").values(
            "id",
            "title",
            "audience_id",
            "status",
            "opened_at",
            "due_at",
            "closed_at",
            "response_id",
            "assignee__username",
            "root_cause__name",
        )[:limit]
    )
    notes: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in rows}
    if rows:
        for note in (
            CaseNote.objects.filter(case_id__in=list(notes))
            .order_by("created_at", "id")
            .values("case_id", "text", "created_at", "author__username")
        ):
            notes[note["case_id"]].append(note)
    for row in rows:
        row["notes"] = notes[row["id"]]
    return rows
