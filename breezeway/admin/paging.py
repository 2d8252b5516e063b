"""Changelist paging without COUNT(*) over big tables: row counts from the planner's statistics."""

import json
from dataclasses import dataclass
from functools import cached_property

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet

# Below this many rows an exact count is cheap, and exact figures matter more on small results.
EXACT_COUNT_BELOW = 10_000
# A never-analyzed table (no row estimate) this small is read whole without concern.
SMALL_TABLE_PAGES = 1_280  # 10 MB of 8 kB pages


@dataclass(frozen=True)
class TableStatistics:
    rows: int | None  # the planner's row estimate; None before the first ANALYZE / VACUUM
    pages: int  # the table's size now, in blocks

    @property
    def small(self) -> bool:
        if self.rows is None:
            return self.pages < SMALL_TABLE_PAGES
        return self.rows < EXACT_COUNT_BELOW


def table_statistics(model: type[Model], using: str = "default") -> TableStatistics | None:
    """The planner's view of a model's table, or None off PostgreSQL or if the table is absent.

    reltuples is scaled by the table's current size over relpages (the size it had when it was
    last analyzed), as the planner itself does, so a table that grew since is not undercounted.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples, relpages,"
            " pg_relation_size(oid) / current_setting('block_size')::int"
            " FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(model._meta.db_table)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    reltuples, relpages, pages = row
    if reltuples < 0:  # -1: never analyzed or vacuumed (PostgreSQL 14+)
        return TableStatistics(rows=None, pages=pages)
    if relpages > 0:
        return TableStatistics(rows=round(reltuples / relpages * pages), pages=pages)
    return TableStatistics(rows=round(reltuples), pages=pages)


def planner_rows(queryset: QuerySet) -> int:
    """How many rows the planner expects the query to return (EXPLAIN, nothing executed)."""
    plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def is_unfiltered(queryset: QuerySet) -> bool:
    """True when the query returns the whole table: no WHERE, no DISTINCT, no slice."""
    query = queryset.query
    return not (
        query.where or query.distinct or query.combinator or query.is_sliced or query.group_by
    )


def capped_count(queryset: QuerySet, cap: int) -> tuple[int, bool]:
    """How many rows the query returns, counting at most `cap` of them (COUNT over a LIMIT
    subquery); beyond the cap, the planner's estimate of the query (at least the cap).

    Returns the figure and whether it is an estimate. Off PostgreSQL (the small SQLite demo),
    an exact count.
    """
    if connections[queryset.db].vendor != "postgresql":
        return queryset.count(), False
    counted = queryset.order_by().values("pk")[:cap].count()
    if counted < cap:
        return counted, False
    return max(planner_rows(queryset), cap), True


class EstimatedCountPaginator(Paginator):
    """A Paginator whose `count` never runs an unbounded COUNT(*) over a big table.

    - Off PostgreSQL: an exact count (the SQLite demo is small).
    - Unfiltered: the table's statistics (reltuples) when they say EXACT_COUNT_BELOW rows or
      more; otherwise (small, or -1 before the first ANALYZE) a capped count, below.
    - Filtered, or statistics small or unknown: a count capped at EXACT_COUNT_BELOW rows
      (COUNT over a LIMIT subquery), exact when the result is smaller. When the cap is reached,
      the planner's row estimate of the query (EXPLAIN (FORMAT JSON)), at least the cap.
    Counting first keeps small filtered results exact (a search's LIKE estimate is a guess,
    and a wrong "about 100,000" would page into emptiness); the cap bounds the work.
    `estimated` says whether the figure is an estimate, for the page to say "about".
    """

    exact_below = EXACT_COUNT_BELOW

    @cached_property
    def count(self) -> int:
        count, self._estimated = self._count()
        return count

    @property
    def estimated(self) -> bool:
        self.count  # noqa: B018  (computing the count decides whether it is estimated)
        return self._estimated

    def _count(self) -> tuple[int, bool]:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset), False
        stats = table_statistics(queryset.model, queryset.db)
        if stats is None:
            return queryset.count(), False
        if is_unfiltered(queryset) and stats.rows is not None and stats.rows >= self.exact_below:
            return stats.rows, True
        return capped_count(queryset, self.exact_below)
