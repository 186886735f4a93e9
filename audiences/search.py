"""People search: by name, e-mail, phone or external id, partial, folded the Turkish way.

"Barış" finds "baris", "BARIS" finds "Barış", "0532 123 45 67" finds "+90 532 123 4567".
A query is folded as `Person.search_text` is (xmplatform.core.search) and matched anywhere in
it: on PostgreSQL through the column's trigram index (`LIKE '%…%'` reads the index, then
rechecks the few candidate rows), elsewhere by scanning the column. An exact external id or
e-mail address is matched on its own unique index besides, so the integrations' lookup stays
as fast as it was, and is the only match for a query too short for trigrams.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from audiences.models import Person
from xmplatform.core.search import MIN_PARTIAL, clean_query, fold, phone_digits


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
