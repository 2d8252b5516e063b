"""A generated legacy database (make_legacy_db), adopted or Django-created, is remediated as
the rule says: the expectations are computed here in plain Python, not by the engine."""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from breezeway.natural_keys import LEGACY_DERIVED_KEYS
from tests.support.scratch import ScratchDatabase, create_scratch_database, drop_scratch_database

PARENTS = {
    "property_photos": "property_pk",
    "reservation_guests": "reservation_pk",
    "task_assignments": "task_pk",
    "task_photos": "task_pk",
    "task_requirements": "task_pk",
}
# Columns added by later migrations are not in the legacy rows, so they are not compared.
NOT_CONTENT = {
    "id",
    "last_sync_time",
    "content_hash",
    "photo_key",
    "guest_key",
    "assignee_key",
    "requirement_key",
    "guest_emails",
    "guest_phone_numbers",
}


def normal(value: object) -> object:
    """One spelling per value: the archive holds JSON (ISO timestamps), the table typed values."""
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\dT\d\d:", value):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def content(row: dict) -> tuple:
    return tuple(normal(v) for k, v in sorted(row.items()) if k not in NOT_CONTENT)


def read(db: ScratchDatabase, table: str) -> list[dict]:
    with db.connect() as conn:
        cur = conn.execute(f"SELECT * FROM {table}")
        names = [c.name for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def recency(row: dict) -> tuple:
    """Latest sync time first (NULL oldest), then the highest id."""
    ts = row["last_sync_time"]
    return (ts is not None, ts.timestamp() if ts else 0.0, row["id"])


def expectations(rows: list[dict], table: str) -> dict[tuple, dict]:
    """key -> {survivor id, survivor content, {other content: copies}}."""
    rule = LEGACY_DERIVED_KEYS[table]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row[PARENTS[table]], rule.rule(*(row[s] for s in rule.sources)))
        groups.setdefault(key, []).append(row)
    out = {}
    for key, copies in groups.items():
        best = max(copies, key=recency)
        others: dict[tuple, int] = {}
        for r in copies:
            if content(r) != content(best):
                others[content(r)] = others.get(content(r), 0) + 1
        out[key] = {"id": best["id"], "content": content(best), "others": others}
    return out


def build(how: str) -> Iterator[tuple[ScratchDatabase, dict, str]]:
    db = create_scratch_database()
    try:
        if how == "adopted":
            db.create_schema("breezeway")
            db.load_legacy_schema()
        db.manage("make_legacy_db", "--scale", "0.002", "--seed", "3")
        before = {t: expectations(read(db, t), t) for t in PARENTS}
        guests = read(db, "reservation_guests")
        all_null = {
            g["reservation_pk"] for g in guests if not g["guest_email"] and not g["guest_name"]
        }
        args = ["migrate", "--fake-initial"] if how == "adopted" else ["migrate"]
        log = db.manage(*args).stderr
        yield db, {"expected": before, "all_null_reservations": all_null}, log
    finally:
        drop_scratch_database(db)


@pytest.fixture(scope="module", params=["adopted", "django"])
def remediated(request: pytest.FixtureRequest) -> Iterator[tuple[ScratchDatabase, dict, str]]:
    yield from build(request.param)


@pytest.mark.parametrize("table", list(PARENTS))
def test_one_row_per_key_the_most_recent_copy(remediated: tuple, table: str) -> None:
    db, facts, log = remediated
    expected = facts["expected"][table]
    key_column = LEGACY_DERIVED_KEYS[table].column
    after = read(db, table)
    kept = {(r[PARENTS[table]], r[key_column]): r for r in after}
    assert len(after) == len(kept) == len(expected)
    assert {k: r["id"] for k, r in kept.items()} == {k: e["id"] for k, e in expected.items()}
    assert all(content(kept[k]) == e["content"] for k, e in expected.items())
    assert f"{table}: " in log


@pytest.mark.parametrize("table", list(PARENTS))
def test_divergent_copies_archived_once_per_content(remediated: tuple, table: str) -> None:
    db, facts, _ = remediated
    expected = facts["expected"][table]
    with db.connect() as conn:
        archived = conn.execute(
            "SELECT kept_row_id, row_data, copies FROM dedup_archived_rows WHERE table_name = %s",
            (table,),
        ).fetchall()
    got = {(kept, content(row)): copies for kept, row, copies in archived}
    want = {
        (e["id"], other): copies for e in expected.values() for other, copies in e["others"].items()
    }
    assert want, f"the generator should have made divergent copies in {table}"
    assert got == want


def test_all_null_guests_collapse_to_one_per_reservation(remediated: tuple) -> None:
    db, facts, _ = remediated
    empty = [g for g in read(db, "reservation_guests") if g["guest_key"] == ""]
    assert sorted(g["reservation_pk"] for g in empty) == sorted(facts["all_null_reservations"])
