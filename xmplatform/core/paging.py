"""Admin pagination and filters for large tables: no full COUNT(*) or DISTINCT on a changelist.

Unfiltered lists on PostgreSQL use the planner's estimate (`pg_class.reltuples`). Filtered
lists count at most BOUNDED_COUNT_CAP + 1 rows (`SELECT count(*) FROM (… LIMIT n)`), under a
short `statement_timeout` in case a filter has to scan for its rows; past the cap the list
shows "more than BOUNDED_COUNT_CAP" worth of pages and the filters narrow it down. A filtered
page reads its ids first and then those rows, so (column, id) indexes serve it; a page filtered
on a foreign key that has no (key, id) index walks only the newest WALK_ROWS ids before it
sorts that key's rows instead (`bounded_walk_keys`).
`IndexedValuesListFilter` lists a column's values by skipping through its index, and
`RelatedChoicesListFilter` filters by a small related table's field through a list of its ids.
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import build_q_object_from_lookup_parameters
from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.paginator import Paginator
from django.db import OperationalError, connections, transaction
from django.db.models import F, Field, Model, QuerySet, Subquery
from django.db.models.constants import LOOKUP_SEP
from django.db.models.lookups import Exact, In
from django.db.models.sql.where import AND, WhereNode
from django.http import HttpRequest
from django.utils.functional import cached_property

from xmplatform.core.counts import BOUNDED_COUNT_CAP

BOUNDED_COUNT_TIMEOUT_MS = 150
# How far newest-first a page filtered on a `bounded_walk_keys` key walks the primary key
# before it sorts the key's rows instead: about 15 ms of index scan.
WALK_ROWS = 100_000
# Past this many listed keys, a list keeps the plain read.
WALK_KEYS_MAX = 100

# The walk's rows if they fill the page, else the sorted ones: PostgreSQL evaluates each
# uncorrelated count once, before the scan it guards, so only one half reads the table.
BOUNDED_WALK = """
WITH recent AS MATERIALIZED ({recent})
SELECT * FROM recent WHERE (SELECT count(*) FROM recent) >= %s
UNION ALL
SELECT * FROM ({older}) AS older WHERE (SELECT count(*) FROM recent) < %s
ORDER BY 1 DESC OFFSET %s LIMIT %s
"""


class EstimatedCountPaginator(Paginator):
    """A Paginator whose `count` never scans a large table.

    `bounded_walk_keys` names foreign keys (e.g. an event's `touchpoint`) that are indexed but
    not together with the id: see `page()`.
    """

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
        error_messages: dict[str, Any] | None = None,
        *,
        bounded_walk_keys: tuple[str, ...] = (),
    ) -> None:
        super().__init__(object_list, per_page, orphans, allow_empty_first_page, error_messages)
        self.bounded_walk_keys = bounded_walk_keys

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

    def page(self, number: Any) -> Any:
        """A filtered page on PostgreSQL reads its ids first, then those rows (a deferred join).

        The planner estimates how far newest-first it must walk to fill a filtered page as if
        the chosen rows were spread evenly; when the newest rows hold none of them (say the
        people imported last all speak one language), fetching whole rows walks most of the
        table. The ids alone come from an index that holds the filter column and the id (e.g.
        `person_language_id`) without touching the table; the rows are then fetched by id, with
        the list's select_related (a list that annotates its rows keeps the plain paginator).

        A page newest first and filtered on a short literal list of a `bounded_walk_keys` key
        has no index to read that key's newest ids from: the primary key walked backwards
        passes every newer row of other keys (all other audiences' events, when this one's are
        the oldest). Its ids are read by `bounded_walk_ids` instead.
        """
        page = super().page(number)
        qs: Any = page.object_list
        filtered = isinstance(qs, QuerySet) and bool(qs.query.where)
        if filtered and connections[qs.db].vendor == "postgresql":
            source: Any = self.object_list
            if _walk_bounded(source, self.bounded_walk_keys):
                low, high = qs.query.low_mark, qs.query.high_mark
                ids = bounded_walk_ids(source, offset=low, limit=high - low)
            else:
                ids = list(qs.values_list("pk", flat=True))
            # By primary key alone: with the filters repeated, the planner may prefer the
            # filter column's index over fifty primary-key probes.
            by_id: Any = qs.model._default_manager.filter(pk__in=ids)
            by_id.query.select_related = qs.query.select_related
            rows = {obj.pk: obj for obj in by_id}
            page.object_list = [rows[pk] for pk in ids if pk in rows]
        return page


def bounded_walk_ids(queryset: QuerySet[Any], *, offset: int, limit: int) -> list[Any]:
    """The ids of `queryset[offset:offset + limit]` newest first, in one statement (PostgreSQL).

    The newest WALK_ROWS ids are walked backwards on the primary key, as the plain query does;
    if fewer than offset + limit of them match, the matching rows are sorted by id instead
    (`id + 0` keeps the planner off the primary key), which the filtered key's own index
    serves. The walk costs at most WALK_ROWS index entries, the sort as many rows as the
    filter matches: for rows far down the id index, far less than the whole walk.
    """
    end = offset + limit
    newest = Subquery(queryset.model._default_manager.order_by("-pk").values("pk")[:1])
    ids = queryset.values_list("pk", flat=True)
    walk = ids.filter(pk__gt=newest - WALK_ROWS).order_by("-pk")[:end]
    try:
        recent, recent_params = walk.query.sql_with_params()
        older, older_params = ids.order_by((F("pk") + 0).desc())[:end].query.sql_with_params()
    except EmptyResultSet:  # a filter on an empty list of ids matches nothing
        return []
    sql = BOUNDED_WALK.format(recent=recent, older=older)
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, (*recent_params, end, *older_params, end, offset, limit))
        return [row[0] for row in cursor.fetchall()]


def _walk_bounded(queryset: QuerySet[Any], keys: tuple[str, ...]) -> bool:
    """Whether `queryset` is newest first and filtered on a short literal list of `keys`."""
    query = queryset.query
    newest_first = bool(query.order_by) and set(query.order_by) <= {
        "-pk",
        f"-{queryset.model._meta.pk.name}",
    }
    if not keys or not newest_first or query.distinct or query.is_sliced:
        return False
    return any(_literal_key(lookup, keys, query.base_table) for lookup in _conjuncts(query.where))


def _conjuncts(node: WhereNode) -> list[Any]:
    """The lookups `node` requires all of (those under AND, none negated)."""
    if node.negated or (node.connector != AND and len(node.children) > 1):
        return []
    found: list[Any] = []
    for child in node.children:
        found.extend(_conjuncts(child) if isinstance(child, WhereNode) else [child])
    return found


def _literal_key(lookup: Any, keys: tuple[str, ...], table: str | None) -> bool:
    target = getattr(lookup.lhs, "target", None)
    if target is None or target.name not in keys or getattr(lookup.lhs, "alias", None) != table:
        return False
    if isinstance(lookup, In):
        return isinstance(lookup.rhs, list | tuple | set) and len(lookup.rhs) <= WALK_KEYS_MAX
    return isinstance(lookup, Exact) and isinstance(lookup.rhs, int)


class RelatedChoicesListFilter(admin.ChoicesFieldListFilter):
    """A choices filter on a field of a small related table, applied as a list of its ids.

    For `touchpoint__channel`, a join (or `IN (SELECT …)`) leaves the planner unable to tell how
    many events match: it walks the large table newest first and tests every row, which for a
    channel with few events (or none) reads the whole table. The touchpoints' ids are read
    first, so the planner costs a literal list from its statistics (an empty one runs nothing).
    """

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.used_parameters:
            return queryset
        relation = self.field_path.rsplit(LOOKUP_SEP, 1)[0]
        prefix = relation + LOOKUP_SEP
        try:
            parameters: dict[str, Any] = {
                key.removeprefix(prefix): value for key, value in self.used_parameters.items()
            }
            q_object = build_q_object_from_lookup_parameters(parameters)
            related = self.field.model._default_manager.filter(q_object)
            ids = list(related.values_list("pk", flat=True))
        except (ValueError, ValidationError) as error:
            raise IncorrectLookupParameters(error) from error
        return queryset.filter(**{f"{relation}__in": ids})


SKIP_SCAN = """
WITH RECURSIVE t(v) AS (
    (SELECT {col} FROM {table} WHERE {col} IS NOT NULL ORDER BY {col} LIMIT 1)
    UNION ALL
    SELECT (SELECT {col} FROM {table} WHERE {col} > t.v ORDER BY {col} LIMIT 1)
    FROM t WHERE t.v IS NOT NULL
)
SELECT v FROM t WHERE v IS NOT NULL LIMIT %s
"""


class IndexedValuesListFilter(admin.AllValuesFieldListFilter):
    """The values of an indexed, low-cardinality column, one index probe per value.

    Django's AllValuesFieldListFilter runs SELECT DISTINCT over the whole table on every
    changelist render. On PostgreSQL, for an unrestricted list, this walks the column's index
    from value to value instead (a "loose index scan"); a list the admin restricts (e.g. to a
    user's audiences) keeps Django's DISTINCT over the restricted rows, so no value from
    outside them is shown.
    """

    max_choices = 100

    def __init__(
        self,
        field: Field,
        request: HttpRequest,
        params: dict[str, Any],
        model: type[Model],
        model_admin: admin.ModelAdmin,
        field_path: str,
    ) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        queryset = model_admin.get_queryset(request)
        conn = connections[queryset.db]
        if conn.vendor == "postgresql" and field_path == field.name and not queryset.query.where:
            quote = conn.ops.quote_name
            sql = SKIP_SCAN.format(col=quote(field.column), table=quote(model._meta.db_table))
            with conn.cursor() as cursor:
                cursor.execute(sql, [self.max_choices])
                self.lookup_choices = [row[0] for row in cursor.fetchall()]
