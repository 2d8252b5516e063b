"""`manage.py dedup_report` on a generated legacy database (make_legacy_db --scale 0.001),
before and after `migrate`, checked against rows and distinct natural keys counted here in
plain Python from the rules (LEGACY_DERIVED_KEYS), and its errors."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from breezeway.natural_keys import LEGACY_DERIVED_KEYS
from tests.support.scratch import ScratchDatabase, create_scratch_database, drop_scratch_database

DUPLICATED = {  # table -> parent fk; the natural key is (parent fk, derived key)
    "property_photos": "property_pk",
    "reservation_guests": "reservation_pk",
    "task_assignments": "task_pk",
    "task_photos": "task_pk",
    "task_requirements": "task_pk",
}
LEGACY_CONSTRAINED = {  # table -> (constraint, natural key columns) of the legacy schema
    "task_tags": ("uq_task_tags", ("task_pk", "tag_pk")),
    "task_comments": ("uq_task_comment_natural_key", ("comment_id", "region_code")),
}
CHILD_TABLES = [*DUPLICATED, *LEGACY_CONSTRAINED]
# Child tables the legacy schema lacks: a later migration creates them, so a report covers
# them only after `migrate`.
NEW_CHILD_TABLES = ["task_supplies", "task_costs"]
# Every table of the mirrored data (the legacy schema's tables).
DATA_TABLES = [
    "regions",
    "properties",
    "reservations",
    "tasks",
    "tags",
    "people",
    "supplies",
    *CHILD_TABLES,
    *NEW_CHILD_TABLES,
]


def expected_constraint(table: str) -> str:
    if table in LEGACY_CONSTRAINED:
        return LEGACY_CONSTRAINED[table][0]
    return f"uq_{table}_natural_key"


def count_rows_and_keys(db: ScratchDatabase, table: str) -> tuple[int, int]:
    """Rows and distinct natural keys, read with psycopg and keyed by the rules in Python."""
    with db.connect() as conn:
        if table in DUPLICATED:
            derived = LEGACY_DERIVED_KEYS[table]
            columns = [DUPLICATED[table], *derived.sources]
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            keys = {(parent, derived.rule(*sources)) for parent, *sources in rows}
        else:
            columns = LEGACY_CONSTRAINED[table][1]
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            keys = set(rows)
    return len(rows), len(keys)


def by_table(output: str) -> dict[str, dict]:
    return {t["table"]: t for t in json.loads(output)["tables"]}


def text_line(text: str, table: str) -> list[str]:
    """The cells of the text report's line for `table` (split on whitespace)."""
    lines = [line.split() for line in text.splitlines() if line.split()[:1] == [table]]
    assert len(lines) == 1, f"{len(lines)} lines for {table} in:\n{text}"
    return lines[0]


def number(cell: str) -> int:
    return int(cell.replace(",", ""))


@dataclass
class Reports:
    db: ScratchDatabase
    expected: dict[str, tuple[int, int]]  # table -> (rows, distinct keys) before
    before: dict[str, dict] = field(default_factory=dict)
    before_total: dict = field(default_factory=dict)
    before_text: str = ""
    after: dict[str, dict] = field(default_factory=dict)
    after_total: dict = field(default_factory=dict)
    after_text: str = ""
    constraints: str = ""


@pytest.fixture(scope="module")
def reports() -> Iterator[Reports]:
    """One generated database, reported on before and after `migrate`."""
    db = create_scratch_database()
    try:
        db.manage("make_legacy_db", "--scale", "0.001", "--seed", "11")
        out = Reports(db, {t: count_rows_and_keys(db, t) for t in CHILD_TABLES})
        raw = db.manage("dedup_report", "--json").stdout
        out.before, out.before_total = by_table(raw), json.loads(raw)["total"]
        out.before_text = db.manage("dedup_report").stdout
        db.manage("migrate")
        raw = db.manage("dedup_report", "--json").stdout
        out.after, out.after_total = by_table(raw), json.loads(raw)["total"]
        out.after_text = db.manage("dedup_report").stdout
        out.constraints = db.manage("dedup_report", "--constraints").stdout
        yield out
    finally:
        drop_scratch_database(db)


def test_report_covers_the_child_tables(reports: Reports) -> None:
    assert set(reports.before) == set(CHILD_TABLES)
    assert set(reports.after) == {*CHILD_TABLES, *NEW_CHILD_TABLES}


@pytest.mark.parametrize("table", CHILD_TABLES)
def test_before_remediation_rows_and_keys_match_the_rules(reports: Reports, table: str) -> None:
    rows, distinct = reports.expected[table]
    stats = reports.before[table]
    assert (stats["rows"], stats["distinct_keys"]) == (rows, distinct)
    assert stats["duplicates"] == rows - distinct
    assert stats["constraint"] == expected_constraint(table)
    if table in DUPLICATED:
        assert rows > distinct, f"{table}: the generator made no duplicates"
        assert stats["constraint_present"] is False
        assert stats["method"] == "scan"
    else:
        assert rows == distinct
        assert stats["constraint_present"] is True
        assert stats["constraint_valid"] is True


def test_before_remediation_total(reports: Reports) -> None:
    rows = sum(s["rows"] for s in reports.before.values())
    distinct = sum(s["distinct_keys"] for s in reports.before.values())
    assert reports.before_total["rows"] == rows
    assert reports.before_total["distinct_keys"] == distinct
    assert reports.before_total["duplicates"] == rows - distinct > 0


@pytest.mark.parametrize("table", CHILD_TABLES)
def test_after_remediation_no_duplicates_and_constraint_valid(reports: Reports, table: str) -> None:
    _, distinct = reports.expected[table]
    stats = reports.after[table]
    assert stats["duplicates"] == 0
    assert stats["rows"] == stats["distinct_keys"] == distinct
    assert stats["constraint_present"] is True
    assert stats["constraint_valid"] is True
    assert stats["healthy"] is True
    # The database agrees: as many rows as there are keys now.
    assert count_rows_and_keys(reports.db, table) == (distinct, distinct)


def test_after_remediation_total(reports: Reports) -> None:
    distinct = sum(d for _, d in reports.expected.values())
    assert reports.after_total["duplicates"] == 0
    assert reports.after_total["rows"] == reports.after_total["distinct_keys"]
    assert reports.after_total["rows"] == distinct


@pytest.mark.parametrize("moment", ["before", "after"])
def test_text_report_has_a_line_per_table_and_a_total(reports: Reports, moment: str) -> None:
    text = getattr(reports, f"{moment}_text")
    figures = getattr(reports, moment)
    assert "Traceback" not in text
    for table, stats in figures.items():
        cells = text_line(text, table)
        assert number(cells[1]) == stats["rows"], table
        assert number(cells[2]) == stats["distinct_keys"], table
        assert number(cells[3]) == stats["duplicates"], table
        state = "present" if stats["constraint_present"] else "MISSING"
        assert state in cells, table
    total = text_line(text, "TOTAL")
    totals = getattr(reports, f"{moment}_total")
    assert number(total[1]) == totals["rows"]
    assert number(total[2]) == totals["distinct_keys"]
    assert number(total[3]) == totals["duplicates"]


def test_constraints_listed_valid_after_remediation(reports: Reports) -> None:
    lines = [line.split() for line in reports.constraints.splitlines() if line.strip()]
    listed = {cells[1]: cells for cells in lines}
    assert len(listed) == len(lines), "a constraint listed twice"
    for table in CHILD_TABLES:
        cells = listed[expected_constraint(table)]
        assert cells[0] == table
    # Every unique constraint of the data tables, as the catalog has it, is listed valid.
    with reports.db.connect() as conn:
        catalog = conn.execute(
            "SELECT c.conrelid::regclass::text, c.conname, i.indisvalid FROM pg_constraint c "
            "JOIN pg_index i ON i.indexrelid = c.conindid "
            "WHERE c.contype = 'u' AND c.conrelid::regclass::text = ANY(%s)",
            (DATA_TABLES,),
        ).fetchall()
    assert len(catalog) >= len(CHILD_TABLES)
    for table, name, valid in catalog:
        assert valid, f"{name} is not valid in the catalog"
        assert name in listed, f"{name} ({table}) is not listed"
        assert listed[name][0] == table
    assert all(cells[-1] == "valid" for cells in lines), reports.constraints


def test_unknown_table_is_refused_naming_the_valid_ones(reports: Reports) -> None:
    proc = reports.db.manage("dedup_report", "--table", "nope", check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "nope" in proc.stderr
    for table in CHILD_TABLES:
        assert table in proc.stderr


def test_one_table_on_request(reports: Reports) -> None:
    data = json.loads(reports.db.manage("dedup_report", "--json", "--table", "task_photos").stdout)
    assert [t["table"] for t in data["tables"]] == ["task_photos"]
    assert data["tables"][0]["rows"] == reports.expected["task_photos"][1]


@pytest.mark.parametrize("args", [(), ("--json",)])
def test_empty_database_gives_a_clear_error(scratch_db: ScratchDatabase, args: tuple) -> None:
    proc = scratch_db.manage("dedup_report", *args, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "does not exist" in proc.stderr
    assert "migrate" in proc.stderr
    assert proc.stdout == ""


def test_empty_database_constraints_gives_a_clear_error(scratch_db: ScratchDatabase) -> None:
    proc = scratch_db.manage("dedup_report", "--constraints", check=False)
    assert "Traceback" not in proc.stderr, proc.stderr


def test_empty_database_restore_list_gives_a_clear_error(scratch_db: ScratchDatabase) -> None:
    proc = scratch_db.manage("dedup_restore", "--list", check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "dedup_archived_rows does not exist" in proc.stderr
