"""make_legacy_db: a legacy database with the incident's duplicates, scaled, on demand."""

import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from breezeway.natural_keys import assignee_key, guest_key, legacy_requirement_key, photo_key
from tests.support.scratch import ScratchDatabase

SCALE = 0.002
# The incident report's Part 2.1: (total rows, distinct natural keys).
SEED = {
    "property_photos": (10_192_750, 16_113),
    "task_requirements": (24_174_099, 26_580),
    "reservation_guests": (1_763_359, 4_321),
    "task_assignments": (1_485_262, 41_061),
    "task_photos": (715_312, 26_063),
    "task_tags": (2_921, 2_921),
}
EXPECTED = {
    table: (round(SCALE * total), max(1, round(SCALE * distinct)))
    for table, (total, distinct) in SEED.items()
}
# (parent column, source columns, rule) per table: the key rules of breezeway.natural_keys.
KEYS: dict[str, tuple[str, tuple[str, ...], Callable[..., Any]]] = {
    "property_photos": ("property_pk", ("photo_id", "url"), photo_key),
    "task_photos": ("task_pk", ("photo_id", "url"), photo_key),
    "reservation_guests": ("reservation_pk", ("guest_email", "guest_name"), guest_key),
    "task_assignments": ("task_pk", ("assignee_id", "assignee_name"), assignee_key),
    "task_requirements": (
        "task_pk",
        ("requirement_id", "section_name", "action", "home_element_name"),
        legacy_requirement_key,
    ),
    "task_tags": ("task_pk", ("tag_pk",), lambda tag: tag),
}
DUPLICATED = [t for t in KEYS if t != "task_tags"]
CONTENT = {
    "property_photos": ("photo_id", "url", "original_url", "caption", "is_default"),
    "task_photos": ("photo_id", "url", "caption", "uploaded_at"),
    "reservation_guests": ("guest_name", "guest_email", "guest_phone"),
    "task_assignments": ("assignee_id", "assignee_name", "assignment_status"),
    "task_requirements": (
        "requirement_id", "section_name", "action", "response", "type_requirement",
        "photo_required", "photos", "note", "home_element_name",
    ),
}  # fmt: skip
LEGACY_TABLES = (
    "regions", "properties", "property_photos", "reservations", "reservation_guests", "tasks",
    "task_assignments", "task_photos", "task_requirements", "tags", "task_tags", "task_comments",
    "people", "supplies",
)  # fmt: skip


def fetch(conn: Any, query: str) -> list[tuple]:
    return list(conn.execute(query).fetchall())


def decode(value: Any, column: str, json_text: bool) -> Any:
    if json_text and column in ("action", "photos") and isinstance(value, str):
        return json.loads(value)
    return value


def key_groups(conn: Any, table: str, json_text: bool = False) -> dict[tuple, list[tuple]]:
    """(parent, key) -> its distinct contents as (first id, last id, copies), by the key rules.

    The rules run in Python on each distinct combination of raw values, as the remediation does.
    """
    parent, sources, rule = KEYS[table]
    columns = [parent, *sources, *(c for c in CONTENT.get(table, ()) if c not in sources)]
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    names = ", ".join(columns)
    query = f"SELECT {names}, min(id), max(id), count(*) FROM {table} GROUP BY {names}"
    for row in fetch(conn, query):
        values = dict(zip(columns, row, strict=False))
        key = rule(*(decode(values[c], c, json_text) for c in sources))
        groups[(values[parent], key)].append(tuple(row[-3:]))
    for variants in groups.values():
        variants.sort()
    return groups


def check_scaled_incident(conn: Any, json_text: bool = False) -> dict[str, dict[tuple, list]]:
    """Totals and distinct keys as the seed's figures scaled; returns the groups per table."""
    found = {}
    for table, (total, distinct) in EXPECTED.items():
        groups = key_groups(conn, table, json_text)
        assert sum(v[2] for g in groups.values() for v in g) == total, table
        assert len(groups) == distinct, table
        found[table] = groups
    return found


def check_divergent_groups(groups: dict[tuple, list[tuple]], table: str) -> None:
    """Some groups' copies differ: the older copies hold the old value, the newer the new."""
    divergent = [variants for variants in groups.values() if len(variants) > 1]
    assert divergent, table
    for (_, old_last, _), (new_first, _, _) in (v for v in divergent if len(v) == 2):
        assert old_last < new_first, table
    assert all(len(v) == 2 for v in divergent), table


def table_checksums(db: ScratchDatabase) -> dict[str, str]:
    with db.connect() as conn:
        return {
            table: conn.execute(
                f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t"
            ).fetchone()[0]
            for table in LEGACY_TABLES
        }


def test_fresh_database_gets_the_incident_scaled(scratch_db: ScratchDatabase) -> None:
    out = scratch_db.manage("make_legacy_db", "--scale", str(SCALE)).stdout
    assert "Applied breezeway 0001" in out
    assert f"{EXPECTED['property_photos'][0]:,}" in out and "Done in" in out

    with scratch_db.connect() as conn:
        groups = check_scaled_incident(conn)
        for table in DUPLICATED:
            check_divergent_groups(groups[table], table)
            parent, sources, _ = KEYS[table]
            partition = ", ".join((parent, *sources))
            nulls, inverted, drops = conn.execute(
                f"""
                SELECT count(*) FILTER (WHERE last_sync_time IS NULL),
                       count(*) FILTER (WHERE id = last_id AND last_sync_time < newest),
                       count(*) FILTER (WHERE hour < previous_hour)
                FROM (
                    SELECT id, last_sync_time,
                           max(id) OVER copies AS last_id,
                           max(last_sync_time) OVER copies AS newest,
                           date_trunc('hour', last_sync_time) AS hour,
                           lag(date_trunc('hour', last_sync_time)) OVER (ORDER BY id)
                               AS previous_hour
                    FROM {table}
                    WINDOW copies AS (PARTITION BY {partition})
                ) x
                """
            ).fetchone()
            # Copies with a NULL sync time, and groups whose highest id is not the newest.
            assert nulls and inverted, table
            # Copies come from hourly runs: ids increase run by run (those specials aside).
            assert drops <= 2 * nulls + 4 * inverted, table

        # Guests: mostly all-NULL rows, several per reservation per run, one key each.
        all_null, total = conn.execute(
            "SELECT count(*) FILTER (WHERE guest_name IS NULL AND guest_email IS NULL "
            "AND guest_phone IS NULL), count(*) FROM reservation_guests"
        ).fetchone()
        assert all_null > total / 2
        assert conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM reservation_guests WHERE guest_name IS NULL "
            "AND guest_email IS NULL GROUP BY reservation_pk, last_sync_time "
            "HAVING count(*) > 1) x"
        ).fetchone()[0]
        # An email typed differently in older copies: same key, a divergent group.
        assert conn.execute(
            "SELECT count(DISTINCT guest_email) FROM reservation_guests "
            "WHERE guest_email <> lower(trim(guest_email))"
        ).fetchone()[0]
        # Legacy assignments kept no assignee id; requirements mostly have none either.
        assert conn.execute(
            "SELECT count(*) FROM task_assignments WHERE coalesce(assignee_id, '') <> ''"
        ).fetchone() == (0,)
        no_id, with_id = conn.execute(
            "SELECT count(*) FILTER (WHERE requirement_id IS NULL), "
            "count(*) FILTER (WHERE requirement_id IS NOT NULL) FROM task_requirements"
        ).fetchone()
        assert no_id > with_id > 0
        assert conn.execute(
            "SELECT bool_and(jsonb_typeof(action) = 'array' AND jsonb_typeof(photos) = 'array') "
            "FROM task_requirements"
        ).fetchone() == (True,)
        # Parents carry unique keys; task_comments a few unique rows; the sequences move on.
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (40,)
        assert conn.execute("SELECT count(*) FROM properties").fetchone()[0] >= 5
        comments, distinct_comments = conn.execute(
            "SELECT count(*), count(DISTINCT (comment_id, region_code)) FROM task_comments"
        ).fetchone()
        assert comments == distinct_comments >= 3
        assert conn.execute(
            "SELECT nextval(pg_get_serial_sequence('property_photos', 'id')) "
            "> (SELECT max(id) FROM property_photos)"
        ).fetchone() == (True,)
        # Foreign keys and the parent index are in place after the bulk load.
        names = {r[0] for r in fetch(conn, "SELECT indexname FROM pg_indexes")}
        assert "idx_task_requirements_task_pk" in names
        assert conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid = 'property_photos'::regclass"
        ).fetchone() == (2,)

    refused = scratch_db.manage("make_legacy_db", "--scale", str(SCALE), check=False)
    assert refused.returncode != 0
    assert "already hold rows" in refused.stderr and "--replace" in refused.stderr
    assert (
        scratch_db.scalar("SELECT count(*) FROM property_photos") == EXPECTED["property_photos"][0]
    )


def test_same_seed_gives_the_same_data(scratch_db: ScratchDatabase) -> None:
    scratch_db.manage("make_legacy_db", "--scale", str(SCALE), "--seed", "7")
    first = table_checksums(scratch_db)
    scratch_db.manage("make_legacy_db", "--scale", str(SCALE), "--seed", "7", "--replace")
    assert table_checksums(scratch_db) == first
    scratch_db.manage("make_legacy_db", "--scale", str(SCALE), "--seed", "8", "--replace")
    other = table_checksums(scratch_db)
    assert other["property_photos"] != first["property_photos"]
    with scratch_db.connect() as conn:
        check_scaled_incident(conn)


@pytest.mark.parametrize("scale", ["0", "-1", "5.5", "abc", "nan"])
def test_bad_scale_is_refused_before_writing(scratch_db: ScratchDatabase, scale: str) -> None:
    proc = scratch_db.manage("make_legacy_db", f"--scale={scale}", check=False)
    assert proc.returncode != 0
    assert "CommandError" in proc.stderr and "scale" in proc.stderr
    with scratch_db.connect() as conn:
        assert fetch(conn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []


def test_fills_a_database_created_from_the_legacy_schema_file(
    scratch_db: ScratchDatabase,
) -> None:
    scratch_db.create_schema("breezeway")
    scratch_db.load_legacy_schema()
    out = scratch_db.manage("make_legacy_db", "--scale", str(SCALE), "--regions", "2").stdout
    assert "Applied breezeway 0001" not in out
    with scratch_db.connect() as conn:
        check_scaled_incident(conn)
        assert conn.execute("SELECT count(*) FROM regions").fetchone() == (2,)
        public = fetch(conn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        assert public == []
        # The legacy constraint and index names survive the bulk load.
        assert conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE conname IN "
            "('property_photos_property_pk_fkey', 'property_photos_region_code_fkey')"
        ).fetchone() == (2,)
        assert conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_property_photos_property_pk'"
        ).fetchone() == (1,)
    # The filled database is still adoptable as a legacy one.
    adopted = scratch_db.manage("migrate", "breezeway", "0001", "--fake-initial").stdout
    assert "FAKED" in adopted


def test_refuses_a_remediated_database(scratch_db: ScratchDatabase) -> None:
    scratch_db.load_legacy_schema()
    with scratch_db.connect() as conn:
        conn.execute(
            "ALTER TABLE property_photos ADD CONSTRAINT uq_property_photos_natural_key "
            "UNIQUE (property_pk, photo_id)"
        )
    proc = scratch_db.manage("make_legacy_db", "--scale", str(SCALE), check=False)
    assert proc.returncode != 0
    assert "uq_property_photos_natural_key" in proc.stderr
    assert "migrate breezeway 0001" in proc.stderr

    with scratch_db.connect() as conn:
        conn.execute("ALTER TABLE property_photos DROP CONSTRAINT uq_property_photos_natural_key")
        conn.execute(
            "CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255), "
            "name varchar(255), applied timestamptz)"
        )
        conn.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES "
            "('breezeway', '0001_initial', now()), ('breezeway', '0002_natural_key_columns', now())"
        )
    proc = scratch_db.manage("make_legacy_db", "--scale", str(SCALE), check=False)
    assert proc.returncode != 0 and "0002_natural_key_columns" in proc.stderr
    assert scratch_db.scalar("SELECT count(*) FROM regions") == 0


def test_sqlite_demo_database(scratch_db: ScratchDatabase, tmp_path: Any) -> None:
    path = tmp_path / "legacy.sqlite3"
    out = scratch_db.manage(
        "make_legacy_db", "--scale", str(SCALE), DATABASE_URL=f"sqlite:///{path}"
    ).stdout
    assert "on sqlite" in out
    conn = sqlite3.connect(path)
    try:
        groups = check_scaled_incident(conn, json_text=True)
        for table in DUPLICATED:
            check_divergent_groups(groups[table], table)
            query = f"SELECT count(*) FROM {table} WHERE last_sync_time IS NULL"
            assert conn.execute(query).fetchone()[0], table
    finally:
        conn.close()
