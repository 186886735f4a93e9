"""Admin pagination for large tables: no full COUNT(*) on a changelist.

Unfiltered lists on PostgreSQL use the planner's estimate (`pg_class.reltuples`); filtered
lists count under a short `statement_timeout` and fall back to "many" when it runs out.
"""

from django.core.paginator import Paginator
from django.db import OperationalError, connections, transaction
from django.utils.functional import cached_property

BOUNDED_COUNT_TIMEOUT_MS = 150
FALLBACK_COUNT = 10_000_000


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
            if estimate >= 10_000:
                return estimate
        try:
            with transaction.atomic(using=qs.db), conn.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {BOUNDED_COUNT_TIMEOUT_MS}")
                return qs.count()
        except OperationalError:
            return FALLBACK_COUNT
