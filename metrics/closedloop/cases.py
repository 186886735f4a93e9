"""Working a case: assigning, noting, closing and reopening it, each telling the outbox
(`case.changed`, in the same transaction)."""

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from metrics.closedloop.models import CLOSED_STATUSES, Case, CaseNote, CaseStatus
from xmplatform.core.outbox import outbox_emit

CASE_CHANGED = "case.changed"


@transaction.atomic
def case_save(*, case: Case, by: Any, notes: Iterable[str] = ()) -> Case:
    """Save an edited case (assignee, status, due date, root cause) with its new notes.

    Case.clean stamps or clears closed_at as the status says. Writes one `case.changed`,
    however many fields and notes changed. Raises django.core.exceptions.ValidationError
    when a closing case has no root cause.
    """
    case.full_clean(exclude=["alert", "audience", "response", "person", "title", "opened_at"])
    case.save()
    CaseNote.objects.bulk_create(
        [CaseNote(case=case, author=by, text=text.strip()) for text in notes if text.strip()]
    )
    outbox_emit(CASE_CHANGED, case_id=case.pk)
    return case


def case_close(*, case_id: int, status: str, root_cause_id: int, by: Any, note: str = "") -> Case:
    """Close one case as resolved or won't fix, with its root cause (and an optional note)."""
    if status not in CLOSED_STATUSES:
        raise ValueError(f"not a closing status: {status}")
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        case.status = CaseStatus(status)
        case.root_cause_id = root_cause_id
        return case_save(case=case, by=by, notes=[note])
