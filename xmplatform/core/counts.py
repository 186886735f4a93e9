"""Counts that stop early: list columns over large related tables never read every row."""

from typing import Any

from django.db.models import IntegerField, QuerySet, Subquery
from django.utils.formats import number_format

BOUNDED_COUNT_CAP = 10_000


class CappedCount(Subquery):
    """`(SELECT count(*) FROM (<queryset> LIMIT cap + 1))`: a per-row count that stops early.

    For a list column over a large related table ("members", "responses"): each row costs at
    most cap + 1 index entries, where a plain COUNT would read every related row.
    """

    template = "(SELECT count(*) FROM (%(subquery)s) AS capped)"

    def __init__(self, queryset: QuerySet[Any], cap: int | None = None) -> None:
        limit = (BOUNDED_COUNT_CAP if cap is None else cap) + 1
        super().__init__(queryset.order_by().values("pk")[:limit], output_field=IntegerField())


def capped_display(count: int, cap: int | None = None) -> str:
    """A count from CappedCount as a list shows it, localised: "10,000+" past the cap."""
    cap = BOUNDED_COUNT_CAP if cap is None else cap
    if count > cap:
        return number_format(cap, force_grouping=True) + "+"
    return number_format(count, force_grouping=True)
