"""Reads of a survey's versions: which is live, and what each one changed."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from surveys.models import Question, Response, Survey, SurveyStatus, SurveyVersion
from surveys.versions.changes import ChangeKind


def answering_hidden(survey: Survey) -> bool:
    """Whether edits must not depend on whether anyone has answered: an anonymous survey once
    it left the draft. Its editors are not to learn that someone answered after a given moment
    (its invitations say so only when the period is published), so its live version counts as
    answered and its questions as having answers."""
    return survey.anonymous and survey.status != SurveyStatus.DRAFT


def live_version_answered(survey: Survey) -> bool:
    """Whether a change of `survey`'s questions makes a new version (one query at most)."""
    if answering_hidden(survey):
        return True
    return Response.objects.filter(survey=survey, version=survey.version).exists()


def _field_names() -> dict[str, str]:
    return {
        "type": _("type"),
        "required": _("required"),
        "page": _("page"),
        "order": _("order"),
        "label": _("label"),
        "help": _("help text"),
        "choices": _("choices"),
        "scale": _("scale"),
        "multiline": _("long text"),
        "show_if": _("display logic"),
    }


def _kind_names() -> dict[str, str]:
    return {
        ChangeKind.ADDED: _("added"),
        ChangeKind.CHANGED: _("changed"),
        ChangeKind.RETIRED: _("retired, answers kept"),
        ChangeKind.REMOVED: _("removed"),
        ChangeKind.RESTORED: _("asked again"),
    }


@dataclass(frozen=True)
class VersionLine:
    """One version as the builder lists it; `changes` are sentences such as "nps: label"."""

    number: int
    created_at: dt.datetime | None
    created_by: str
    live: bool
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class VersionSummary:
    """The live version, whether it counts as answered (the next change then makes a new one;
    `hidden`: an anonymous survey, which does not say whether it has responses), the versions
    newest first, and the retired questions' keys."""

    live: int
    answered: bool
    hidden: bool
    versions: list[VersionLine]
    retired: list[str]

    @property
    def next_edit_makes_version(self) -> int | None:
        return self.live + 1 if self.answered else None


def version_summary(survey: Survey) -> VersionSummary:
    """What the builder shows of `survey`'s versions (three queries)."""
    fields, kinds = _field_names(), _kind_names()
    lines = []
    rows = SurveyVersion.objects.filter(survey=survey).order_by("-number")
    for row in rows.only("number", "created_at", "created_by", "changes"):
        changes = [
            {
                "key": change.get("key", ""),
                "kind": change.get("kind", ""),
                "what": kinds.get(change.get("kind", ""), change.get("kind", "")),
                "fields": ", ".join(fields.get(f, f) for f in change.get("fields") or []),
            }
            for change in row.changes or []
            if isinstance(change, dict)
        ]
        lines.append(
            VersionLine(
                number=row.number,
                created_at=row.created_at,
                created_by=row.created_by,
                live=row.number == survey.version,
                changes=changes,
            )
        )
    if not any(line.live for line in lines):
        # A survey whose questions were never saved through authoring: its first version.
        lines.insert(
            0, VersionLine(number=survey.version, created_at=None, created_by="", live=True)
        )
    answered = live_version_answered(survey)
    retired = list(
        Question.objects.filter(survey=survey, retired_in__isnull=False)
        .order_by("page", "order", "id")
        .values_list("key", flat=True)
    )
    return VersionSummary(
        live=survey.version,
        answered=answered,
        hidden=answering_hidden(survey),
        versions=lines,
        retired=retired,
    )
