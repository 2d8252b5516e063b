"""`manage.py dedup_report` before and after remediation, and its errors."""

import json

from tests.support.scratch import ScratchDatabase

CHILD_TABLES = {
    "property_photos",
    "reservation_guests",
    "task_assignments",
    "task_photos",
    "task_requirements",
}


def report(db: ScratchDatabase) -> dict:
    data = json.loads(db.manage("dedup_report", "--json").stdout)
    return {t["table"]: t for t in data["tables"]}


def test_report_before_and_after_remediation(scratch_db: ScratchDatabase) -> None:
    summary = scratch_db.manage("make_legacy_db", "--scale", "0.001", "--seed", "5").stdout
    before = report(scratch_db)
    for table in CHILD_TABLES:
        stats = before[table]
        # The generator's own summary line: table, rows, distinct keys, ...
        line = next(line for line in summary.splitlines() if line.split()[:1] == [table])
        rows, distinct = (int(v.replace(",", "")) for v in line.split()[1:3])
        assert (stats["rows"], stats["distinct_keys"]) == (rows, distinct), table
        assert stats["duplicates"] == rows - distinct > 0
        assert not stats["constraint_present"]
    assert before["task_tags"]["constraint_present"]
    assert before["task_comments"]["constraint_present"]

    scratch_db.manage("migrate")
    after = report(scratch_db)
    for table in CHILD_TABLES:
        stats = after[table]
        assert stats["duplicates"] == 0
        assert stats["rows"] == before[table]["distinct_keys"]
        assert stats["constraint_present"] and stats["constraint_valid"]
        assert stats["method"] == "constraint"

    text = scratch_db.manage("dedup_report").stdout
    assert all(any(line.startswith(t) for line in text.splitlines()) for t in CHILD_TABLES)
    assert any(line.startswith("TOTAL") for line in text.splitlines())
    constraints = scratch_db.manage("dedup_report", "--constraints").stdout
    assert "uq_property_photos_natural_key" in constraints
    assert "MISSING" not in constraints and "INVALID" not in constraints


def test_report_errors_are_clear(scratch_db: ScratchDatabase) -> None:
    missing = scratch_db.manage("dedup_report", check=False)
    assert missing.returncode != 0
    assert "does not exist: run `manage.py migrate` first" in missing.stderr
    assert "Traceback" not in missing.stderr

    scratch_db.manage("migrate")
    unknown = scratch_db.manage("dedup_report", "--table", "nope", check=False)
    assert unknown.returncode != 0
    assert "unknown table(s) nope" in unknown.stderr
    assert "property_photos" in unknown.stderr
