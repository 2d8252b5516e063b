"""The page sample that sizes the grouping pass's hash table predicts the number of distinct
(key, content) combos, and the pass it sizes groups every row all the same."""

import pytest
from django.conf import settings
from django.db import connection, transaction

from dedup import grouping
from dedup.grouping import PostgresGrouping
from dedup.spec import TableSpec

ROWS = 200_000

SPEC = TableSpec(
    table="sample_rows",
    pk_column="id",
    columns=("id", "parent", "body", "last_sync_time"),
    key_columns=("parent",),
    content_columns=("parent", "body"),
    sync_time_column="last_sync_time",
)


@pytest.fixture
def sample_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table bigger than the (lowered) sampling threshold; `distinct` bodies per row."""
    monkeypatch.setattr(grouping, "SAMPLE_ABOVE_ROWS", 10_000)
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE sample_rows (id bigserial PRIMARY KEY, parent bigint NOT NULL, "
            "body text, last_sync_time timestamptz)"
        )


def fill(distinct: int) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO sample_rows (parent, body, last_sync_time) "
            "SELECT g %% (%s / 2), 'body ' || (g %% %s), now() FROM generate_series(1, %s) g",
            [distinct, distinct, ROWS],
        )
        cur.execute("ANALYZE sample_rows")


def estimate() -> float | None:
    pass_ = PostgresGrouping(connection, SPEC)
    with transaction.atomic(), connection.cursor() as cur:
        pass_.column_types(cur)
        return pass_.estimate_combos(cur)


@pytest.mark.django_db
@pytest.mark.parametrize("distinct", [1_000, ROWS])
def test_sample_predicts_the_combos(sample_table: None, distinct: int) -> None:
    fill(distinct)
    predicted = estimate()
    assert predicted is not None
    assert 0.8 * distinct <= predicted <= 1.25 * distinct


@pytest.mark.django_db
def test_small_tables_are_not_sampled(sample_table: None, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(1_000)
    monkeypatch.setattr(grouping, "SAMPLE_ABOVE_ROWS", ROWS)
    assert estimate() is None


@pytest.mark.django_db
def test_a_sized_pass_groups_every_row(sample_table: None) -> None:
    fill(1_000)
    pass_ = PostgresGrouping(connection, SPEC)
    with transaction.atomic(), connection.cursor() as cur:
        pass_.column_types(cur)
        assert pass_.pass_work_mem_kb(cur) == 1024  # the floor: 1,000 combos need less
        pass_.group_rows(cur)
        cur.execute(f"SELECT count(*), sum(copies) FROM {pass_.name('combos')}")
        assert cur.fetchone() == (1_000, ROWS)
        cur.execute("SELECT pg_size_bytes(current_setting('work_mem'))")
        assert cur.fetchone()[0] == settings.DEDUP_WORK_MEM_KB * 1024  # restored after it
        pass_.drop_temporary_tables(cur)
