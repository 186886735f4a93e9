"""Writes for the order of a journey's stages: the map's drag and drop and its move buttons.

The whole order is written at once, by one UPDATE, with the journey's row locked, so two people
reordering the same journey take turns and each sees the other's result; an order that does not
name every stage of the journey exactly once is refused whole (nothing is lost or half-moved).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext as _

from journeys.models import Journey, Stage

LEFT, RIGHT = "left", "right"


def _ids(values: Sequence[object]) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(str(value)))
        except ValueError:
            raise ValidationError(
                _("“%(value)s” is not a stage of this journey.") % {"value": str(value)[:40]},
                code="not_a_stage",
            ) from None
    return ids


@transaction.atomic
def stages_reorder(*, journey: Journey, stage_ids: Sequence[object]) -> list[int]:
    """Give the journey's stages the order of `stage_ids` (1, 2, …); returns the stored order.

    `stage_ids` must name each of the journey's stages exactly once: a stage added or removed
    since the page was drawn, a repeated or foreign id, refuses the whole order
    (ValidationError), and nothing changes.
    """
    wanted = _ids(stage_ids)
    Journey.objects.select_for_update().filter(pk=journey.pk).values_list("pk").first()
    current = list(
        Stage.objects.filter(journey=journey).order_by("order", "id").values_list("pk", flat=True)
    )
    if not wanted:
        raise ValidationError(_("Send the stages in their new order."), code="empty")
    if len(set(wanted)) != len(wanted):
        raise ValidationError(_("A stage is named twice in the new order."), code="repeated")
    if set(wanted) != set(current):
        raise ValidationError(
            _(
                "The journey's stages have changed since this page was loaded: "
                "reload it and move the stage again."
            ),
            code="stale",
        )
    if wanted != current:
        Stage.objects.filter(journey=journey).update(
            order=Case(
                *(When(pk=pk, then=Value(position)) for position, pk in enumerate(wanted, 1)),
                output_field=IntegerField(),
            )
        )
    return wanted


def stage_move(*, journey: Journey, stage_id: object, direction: str) -> list[int]:
    """Move one stage a place left (earlier) or right (later); the ends stay where they are."""
    if direction not in (LEFT, RIGHT):
        raise ValidationError(_("Move a stage left or right."), code="direction")
    [moved] = _ids([stage_id])
    with transaction.atomic():
        Journey.objects.select_for_update().filter(pk=journey.pk).values_list("pk").first()
        order = list(
            Stage.objects.filter(journey=journey)
            .order_by("order", "id")
            .values_list("pk", flat=True)
        )
        if moved not in order:
            raise ValidationError(
                _("That stage is no longer on this journey: reload the page."), code="stale"
            )
        at = order.index(moved)
        to = at - 1 if direction == LEFT else at + 1
        if 0 <= to < len(order):
            order[at], order[to] = order[to], order[at]
        return stages_reorder(journey=journey, stage_ids=order)
