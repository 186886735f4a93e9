"""Admin pagination for large tables: no full COUNT(*) on a changelist.

Unfiltered lists on PostgreSQL use the planner's estimate (`pg_class.reltuples`). Filtered
lists count at most BOUNDED_COUNT_CAP + 1 rows (`SELECT count(*) FROM (… LIMIT n)`), under a
short `statement_timeout` in case a filter has to scan for its rows; past the cap the list
shows "more than BOUNDED_COUNT_CAP" worth of pages and the filters narrow it down.
"""

from django.core.paginator import Paginator
from django.db import OperationalError, connections, transaction
from django.utils.functional import cached_property

BOUNDED_COUNT_CAP = 10_000
BOUNDED_COUNT_TIMEOUT_MS = 150


class EstimatedCountPaginator(Paginator):
    """A Paginator whose `count` never scans a large table."""

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        model = getattr(qs, "model", None)
        if model is None:
            return super().count
        conn = connections[qs.db]
        if conn.vendor != "postgresql":
            return super().count
        if not qs.query.where:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [model._meta.db_table],
                )
                row = cursor.fetchone()
            estimate = int(row[0]) if row else -1
            if estimate > BOUNDED_COUNT_CAP:
                return estimate
        try:
            with transaction.atomic(using=qs.db), conn.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {BOUNDED_COUNT_TIMEOUT_MS}")
                return qs.order_by()[: BOUNDED_COUNT_CAP + 1].count()
        except OperationalError:
            return BOUNDED_COUNT_CAP + 1
