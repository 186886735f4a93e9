"""People search: by name, e-mail, phone or external id, partial, folded the Turkish way.

"Barış" finds "baris", "BARIS" finds "Barış", "0532 123 45 67" finds "+90 532 123 4567".
A query is folded as `Person.search_text` is (xmplatform.core.search) and matched anywhere in
it: on PostgreSQL through the column's trigram index (`LIKE '%…%'` reads the index, then
rechecks the few candidate rows), elsewhere by scanning the column. An exact external id or
e-mail address is matched on its own unique index besides, so the integrations' lookup stays
as fast as it was, and is the only match for a query too short for trigrams.
"""

from __future__ import annotations

from typing import Any

from django.db import OperationalError, connections, transaction
from django.db.models import F, Q, QuerySet
from django.utils.formats import number_format
from django.utils.functional import cached_property

from audiences.models import Person
from xmplatform.core.paging import BOUNDED_COUNT_TIMEOUT_MS, EstimatedCountPaginator
from xmplatform.core.search import MIN_PARTIAL, clean_query, fold, phone_digits

# Below this many matches a search page sorts what the trigram index found; from it on, it walks
# the people newest first (about 50 / share-of-matches rows) and stops at a full page. The count
# reads the row of every trigram candidate until it has counted this many; for an analyst of one
# audience in three that is three rows a match (the rest are other audiences' people): some
# 3,000 rows at 1,000, where 5,000 ran past the count's timeout at a million people.
SORT_BELOW = 1_000


def people_search_q(query: str, *, prefix: str = "") -> Q | None:
    """The condition that finds `query` among people, or None for an empty query.

    `prefix` is the path to the person from another model ("person__").
    """
    query = clean_query(query)
    if not query:
        return None
    condition = Q(**{f"{prefix}external_id": query}) | Q(**{f"{prefix}email": query})
    folded = fold(query)
    if len(folded) >= MIN_PARTIAL:
        condition |= Q(**{f"{prefix}search_text__contains": folded})
    digits = phone_digits(query)
    if digits is not None and digits != folded:
        condition |= Q(**{f"{prefix}search_text__contains": digits})
    return condition


def people_matching(people: QuerySet[Person], query: str) -> QuerySet[Person]:
    """`people` narrowed to those `query` finds (all of them for an empty query)."""
    condition = people_search_q(query)
    return people if condition is None else people.filter(condition)


class PeopleSearchPaginator(EstimatedCountPaginator):
    """The people list's pages for a search, read the cheaper of two ways (PostgreSQL).

    Newest first with a LIMIT, the planner walks the primary key backwards and tests each
    person until the page is full: quick for a common name, the whole table for a rare one
    (an e-mail address, a phone number). The bounded count has already told how many match,
    through the trigram index: below SORT_BELOW the page sorts those few instead (`id + 0`
    keeps the planner off the primary key), at or above it the walk stops early (the planner
    sees how common the text is from the column's finer statistics, migration 0011). The count
    itself stops at SORT_BELOW + 1, and the list then says "more than 1,000".
    """

    @cached_property
    def count(self) -> int:
        """Up to SORT_BELOW + 1: past it only the walk serves, and counting on is wasted."""
        queryset = self.object_list
        if not self._on_postgresql():
            return super().count
        try:
            with transaction.atomic(using=queryset.db), connections[queryset.db].cursor() as c:
                c.execute(f"SET LOCAL statement_timeout = {BOUNDED_COUNT_TIMEOUT_MS}")
                return queryset.order_by()[: SORT_BELOW + 1].count()
        except OperationalError:
            return SORT_BELOW + 1

    @property
    def more_than(self) -> str:
        """SORT_BELOW localised ("1,000") when the count stopped past it, else ""."""
        if self._on_postgresql() and self.count > SORT_BELOW:
            return number_format(SORT_BELOW, force_grouping=True)
        return ""

    def page(self, number: Any) -> Any:
        if self._on_postgresql() and self.count < SORT_BELOW:
            self.object_list = self.object_list.order_by((F("pk") + 0).desc())
        return super().page(number)

    def _on_postgresql(self) -> bool:
        queryset = self.object_list
        return isinstance(queryset, QuerySet) and connections[queryset.db].vendor == "postgresql"
