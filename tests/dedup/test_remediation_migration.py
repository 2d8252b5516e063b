"""`manage.py migrate` remediates a legacy database, as a user runs it (subprocess)."""

import json
import sqlite3
from pathlib import Path

import psycopg
import pytest

from breezeway.locks import REMEDIATION_LOCK
from tests.dedup import scenario
from tests.support.scratch import ScratchDatabase

CONSTRAINTS = {table: f"uq_{table}_natural_key" for table in scenario.CHILD_TABLES}
KEY_COLUMNS = {
    "property_photos": "photo_key",
    "reservation_guests": "guest_key",
    "task_requirements": "requirement_key",
    "task_assignments": "assignee_key",
    "task_photos": "photo_key",
}


def legacy_database(db: ScratchDatabase, how: str) -> None:
    """A database in the legacy state holding the scenario, created the given way."""
    if how == "adopted":
        db.create_schema("breezeway")
        db.load_legacy_schema()
        db.manage("migrate", "--fake-initial", "breezeway", "0002")
    else:
        db.manage("migrate", "breezeway", "0002")
    with db.connect() as conn:
        scenario.load(conn)


def table_rows(db: ScratchDatabase, table: str) -> list[dict]:
    with db.connect() as conn:
        cur = conn.execute(f"SELECT to_jsonb(t) FROM {table} t ORDER BY id")
        return [row[0] for row in cur.fetchall()]


def constraint_names(db: ScratchDatabase) -> set[str]:
    with db.connect() as conn:
        cur = conn.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'u' AND connamespace = "
            "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
        )
        return {r[0] for r in cur.fetchall()}


def assert_remediated(db: ScratchDatabase) -> None:
    for table, parents in scenario.CHILD_TABLES.items():
        rows = table_rows(db, table)
        assert len(rows) == scenario.EXPECTED_DISTINCT[table], table
        kept = {(*(r[p] for p in parents), r[KEY_COLUMNS[table]]): r["id"] for r in rows}
        assert kept == scenario.expected_survivors(table), table
        assert (
            db.scalar("SELECT count(*) FROM dedup_archived_rows WHERE table_name = %s", (table,))
            == scenario.EXPECTED_ARCHIVED[table]
        ), table
        assert db.scalar(
            "SELECT attnotnull FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
            (table, KEY_COLUMNS[table]),
        ), f"{table}.{KEY_COLUMNS[table]} should be NOT NULL"
    assert set(CONSTRAINTS.values()) <= constraint_names(db)


@pytest.mark.parametrize("how", ["adopted", "django"])
def test_migrate_remediates_legacy_database(scratch_db: ScratchDatabase, how: str) -> None:
    legacy_database(scratch_db, how)
    result = scratch_db.manage("migrate")
    assert "breezeway.0003_remediate_duplicates... OK" in result.stdout
    # Per-table log: rows before and after, archived rows, seconds.
    assert "property_photos: 53 rows before, 12 after" in result.stderr
    assert_remediated(scratch_db)


def test_archive_keeps_every_divergent_content(scratch_db: ScratchDatabase) -> None:
    legacy_database(scratch_db, "django")
    scratch_db.manage("migrate")
    with scratch_db.connect() as conn:
        rows = conn.execute(
            "SELECT natural_key, row_data, kept_row_id, copies FROM dedup_archived_rows "
            "WHERE table_name = 'task_assignments' ORDER BY kept_row_id, copies"
        ).fetchall()
    by_name = {r[1]["assignee_name"]: r for r in rows}
    maria = by_name["Maria Lopez"]
    assert maria[0] == {"task_pk": 1, "assignee_key": "maria lopez"}
    assert maria[3] == 6  # six identical older copies, archived once
    joe = by_name["Joe"]
    assert joe[1]["assignment_status"] == "accepted"
    kept_joe = table_rows(scratch_db, "task_assignments")
    assert {r["assignment_status"] for r in kept_joe if r["assignee_name"] == "Joe"} == {"declined"}


def test_all_null_guests_collapse_to_one_per_reservation(scratch_db: ScratchDatabase) -> None:
    legacy_database(scratch_db, "adopted")
    scratch_db.manage("migrate")
    empty = [r for r in table_rows(scratch_db, "reservation_guests") if r["guest_key"] == ""]
    assert sorted(r["reservation_pk"] for r in empty) == [1, 2]


def key_columns_nullable(db: ScratchDatabase) -> dict[str, str]:
    """information_schema's is_nullable of each table's derived key column."""
    with db.connect() as conn:
        return {
            table: conn.execute(
                "SELECT is_nullable FROM information_schema.columns "
                "WHERE table_name = %s AND column_name = %s AND table_schema = current_schema()",
                (table, column),
            ).fetchone()[0]
            for table, column in KEY_COLUMNS.items()
        }


def test_rerun_is_a_noop_and_reverse_keeps_data(scratch_db: ScratchDatabase) -> None:
    legacy_database(scratch_db, "django")
    scratch_db.manage("migrate")
    before = {t: table_rows(scratch_db, t) for t in scenario.CHILD_TABLES}
    assert "No migrations to apply" in scratch_db.manage("migrate").stdout
    assert {t: table_rows(scratch_db, t) for t in scenario.CHILD_TABLES} == before

    assert key_columns_nullable(scratch_db) == dict.fromkeys(KEY_COLUMNS, "NO")
    scratch_db.manage("migrate", "breezeway", "0002")
    assert not set(CONSTRAINTS.values()) & constraint_names(scratch_db)
    assert key_columns_nullable(scratch_db) == dict.fromkeys(KEY_COLUMNS, "YES")
    for table, rows in before.items():
        assert len(table_rows(scratch_db, table)) == len(rows)

    # With the constraints gone, the archived copies can go back where they were.
    out = scratch_db.manage("dedup_restore", "--all").stdout
    assert "Restored 7 row(s)" in out
    assert len(table_rows(scratch_db, "task_assignments")) == 4


def test_failed_verification_rolls_back_every_table(scratch_db: ScratchDatabase) -> None:
    legacy_database(scratch_db, "django")
    before = {t: table_rows(scratch_db, t) for t in scenario.CHILD_TABLES}
    with scratch_db.connect() as conn:
        # Something that rewrites rows behind the remediation's back (a forgotten trigger):
        # task_photos is remediated last, after every other table was already cleaned.
        conn.execute(
            "CREATE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN NEW.caption := 'tampered'; RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER tamper BEFORE INSERT OR UPDATE ON task_photos "
            "FOR EACH ROW EXECUTE FUNCTION tamper()"
        )
    result = scratch_db.manage("migrate", check=False)
    assert result.returncode != 0
    assert "remediation of task_photos failed verification" in result.stderr
    assert "rows after 3, distinct keys before 3, kept rows not found unchanged 3" in result.stderr
    assert {t: table_rows(scratch_db, t) for t in scenario.CHILD_TABLES} == before
    assert scratch_db.scalar("SELECT count(*) FROM dedup_archived_rows") == 0
    assert not set(CONSTRAINTS.values()) & constraint_names(scratch_db)
    assert not scratch_db.scalar(
        "SELECT count(*) FROM django_migrations WHERE name = '0003_remediate_duplicates'"
    )


def test_lock_held_by_a_sync_makes_remediation_fail_fast(scratch_db: ScratchDatabase) -> None:
    legacy_database(scratch_db, "django")
    with psycopg.connect(scratch_db.url, autocommit=True) as sync:
        sync.execute("SELECT pg_advisory_lock_shared(%s)", (REMEDIATION_LOCK,))
        result = scratch_db.manage("migrate", check=False, DEDUP_LOCK_TIMEOUT="0.5")
    assert result.returncode != 0
    assert "could not lock task_requirements within 0.5 s" in result.stderr
    assert len(table_rows(scratch_db, "task_requirements")) == 11


@pytest.mark.parametrize("strategy", ["truncate", "delete"])
def test_each_strategy_remediates(scratch_db: ScratchDatabase, strategy: str) -> None:
    legacy_database(scratch_db, "django")
    result = scratch_db.manage("migrate", DEDUP_STRATEGY=strategy)
    assert f"strategy {strategy}" in result.stderr
    assert_remediated(scratch_db)


def test_sqlite_simple_path_keeps_the_same_rows(
    tmp_path: Path, scratch_db: ScratchDatabase
) -> None:
    path = tmp_path / "legacy.sqlite3"
    url = f"sqlite:///{path}"
    scratch_db.manage("migrate", "breezeway", "0002", DATABASE_URL=url)
    with sqlite3.connect(path) as conn:
        scenario.load(conn, placeholder="?")
    result = scratch_db.manage("migrate", DATABASE_URL=url)
    assert "property_photos: 53 rows before, 12 after" in result.stderr
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        for table, parents in scenario.CHILD_TABLES.items():
            rows = conn.execute(f"SELECT * FROM {table}").fetchall()
            kept = {(*(r[p] for p in parents), r[KEY_COLUMNS[table]]): r["id"] for r in rows}
            assert kept == scenario.expected_survivors(table), table
            archived = conn.execute(
                "SELECT row_data FROM dedup_archived_rows WHERE table_name = ?", (table,)
            ).fetchall()
            assert len(archived) == scenario.EXPECTED_ARCHIVED[table], table
            assert all(json.loads(a[0])["id"] for a in archived)
