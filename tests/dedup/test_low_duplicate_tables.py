"""Tables whose ids do not follow their sync times, with few duplicates (the engine's plain
joins instead of id lookups, a hash join for out-of-order latest copies) or nearly all
duplicates (id lookups, out-of-order latest copies found one by one and set aside with the
others), deleted in place or truncated: the result must be what the rule says."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg
import pytest

from breezeway.natural_keys import photo_key
from tests.support.scratch import ScratchDatabase

ROWS = 30_000
# 20 % duplicates: more distinct contents than the engine looks up one by one; 99.5 %: few.
FEW_DUPLICATES, MOSTLY_DUPLICATES = 24_000, 150


def expected(rows: list[tuple]) -> tuple[dict, dict]:
    """(key -> survivor id, key -> set of distinct captions) by the documented rule."""
    best: dict[tuple, tuple] = {}
    captions: dict[tuple, set] = {}
    for row_id, property_pk, pid, url, caption, ts in rows:
        key = (property_pk, photo_key(pid, url))
        rank = (ts is not None, ts or datetime.min, row_id)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, caption)
        captions.setdefault(key, set()).add(caption)
    return {k: v[0][2] for k, v in best.items()}, {
        k: {c for c in caps if c != best[k][1]} for k, caps in captions.items()
    }


@pytest.mark.parametrize(
    ("keys", "strategy"),
    [
        (FEW_DUPLICATES, "delete"),
        (FEW_DUPLICATES, "truncate"),
        # Only a truncate re-inserts the survivors set aside with the probe.
        (MOSTLY_DUPLICATES, "truncate"),
    ],
)
def test_out_of_order_sync_times(scratch_db: ScratchDatabase, keys: int, strategy: str) -> None:
    scratch_db.manage("migrate", "breezeway", "0002")
    with scratch_db.connect() as conn:
        conn.execute("INSERT INTO regions VALUES ('r', 'R', 1, true, now(), now())")
        conn.execute(
            "INSERT INTO properties (region_code, property_id) "
            "SELECT 'r', g::text FROM generate_series(1, 100) g"
        )
        # Sync times jump around (a lower id is often the later copy), some are NULL, and
        # every 97th key has a caption that changed between copies.
        conn.execute(
            "INSERT INTO property_photos (property_pk, region_code, photo_id, url, caption, "
            "last_sync_time) SELECT 1 + k %% 100, 'r', k::text, 'u' || k, "
            "CASE WHEN k %% 97 = 0 AND g >= %s THEN 'new' ELSE 'old' END, "
            "CASE WHEN g %% 11 = 0 THEN NULL "
            "ELSE timestamptz '2025-01-01' + ((g * 7919) %% 1000) * interval '1 minute' END "
            "FROM generate_series(0, %s - 1) g, LATERAL (SELECT g %% %s AS k) x ORDER BY g",
            (keys, ROWS, keys),
        )
        rows = conn.execute(
            "SELECT id, property_pk, photo_id, url, caption, last_sync_time FROM property_photos"
        ).fetchall()
    survivors, lost_captions = expected(rows)

    result = scratch_db.manage("migrate", DEDUP_STRATEGY=strategy)
    assert f"property_photos: {ROWS} rows before, {keys} after" in result.stderr
    assert f"strategy {strategy}" in result.stderr

    with scratch_db.connect() as conn:
        kept = conn.execute("SELECT property_pk, photo_key, id FROM property_photos").fetchall()
        archived = conn.execute(
            "SELECT kept_row_id, row_data->>'caption' FROM dedup_archived_rows "
            "WHERE table_name = 'property_photos'"
        ).fetchall()
    assert {(p, k): i for p, k, i in kept} == survivors
    want = {(survivors[k], c) for k, caps in lost_captions.items() for c in caps}
    assert set(archived) == want
    assert len(archived) == len(want)


@contextmanager
def case_blind_column(db: ScratchDatabase, column: str) -> Iterator[psycopg.Connection]:
    """A legacy database (0002) whose property_photos.`column` compares case-insensitively,
    with one region; yields a connection to fill it."""
    db.manage("migrate", "breezeway", "0002")
    with db.connect() as conn:
        conn.execute(
            "CREATE COLLATION case_blind (provider = icu, locale = 'und-u-ks-level2', "
            "deterministic = false)"
        )
        conn.execute(
            f"ALTER TABLE property_photos ALTER COLUMN {column} TYPE text COLLATE case_blind"
        )
        conn.execute("INSERT INTO regions VALUES ('r', 'R', 1, true, now(), now())")
        yield conn


def test_report_keeps_ids_differing_only_in_case_apart(scratch_db: ScratchDatabase) -> None:
    """The photo key keeps an id's case, so 'A1' and 'a1' are two keys, although a
    case-insensitive collation calls them equal: the report counts two, as the rule does."""
    with case_blind_column(scratch_db, "photo_id") as conn:
        conn.execute("INSERT INTO properties (region_code, property_id) VALUES ('r', '1')")
        conn.execute(
            "INSERT INTO property_photos (property_pk, region_code, photo_id, url) "
            "SELECT p.id, 'r', v.pid, 'u' FROM properties p, "
            "(VALUES ('A1'), ('a1'), ('a1')) v (pid)"
        )
    report = json.loads(scratch_db.manage("dedup_report", "--json").stdout)
    photos = next(t for t in report["tables"] if t["table"] == "property_photos")
    assert (photos["rows"], photos["distinct_keys"], photos["method"]) == (3, 2, "scan")


def test_copies_differing_only_in_case_are_kept_apart(scratch_db: ScratchDatabase) -> None:
    """Under a case-insensitive collation 'Pool' and 'POOL' compare equal, but they are
    different contents: the older one is archived, not taken for a copy of the survivor."""
    with case_blind_column(scratch_db, "caption") as conn:
        conn.execute("INSERT INTO properties (region_code, property_id) VALUES ('r', '1')")
        conn.execute(
            "INSERT INTO property_photos (property_pk, region_code, photo_id, url, caption, "
            "last_sync_time) SELECT p.id, 'r', '7', 'u7', c, timestamptz '2025-01-01' + "
            "n * interval '1 hour' FROM properties p, "
            "(VALUES (1, 'Pool'), (2, 'Pool'), (3, 'POOL')) v (n, c)"
        )
    result = scratch_db.manage("migrate")
    assert "property_photos: 3 rows before, 1 after (1 distinct keys), 2 removed, 1 archived" in (
        result.stderr
    )
    with scratch_db.connect() as conn:
        kept = conn.execute("SELECT caption FROM property_photos").fetchall()
        archived = conn.execute(
            "SELECT row_data->>'caption', copies FROM dedup_archived_rows"
        ).fetchall()
    assert kept == [("POOL",)]
    assert archived == [("Pool", 2)]
