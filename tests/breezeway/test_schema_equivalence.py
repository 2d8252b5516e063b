"""A legacy database adopted with --fake-initial and a fresh one end up with the same schema.

Three throw-away databases are built once for the module (manage.py in subprocesses, the way a
user would): the legacy schema loaded into a schema named `breezeway` and adopted, a fresh one
migrated to breezeway 0001, and a fresh one migrated to the latest state. Their catalogs are
compared with tests.support.schema.describe_schema (see there for what is normalised: column
order, serial vs identity, foreign-key names, deferrability and ON DELETE rules).
"""

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from legacy_fixture import LEGACY_SCHEMA_SQL
from tests.support.schema import describe_schema, schema_diff
from tests.support.scratch import ScratchDatabase, create_scratch_database, drop_scratch_database

LEGACY_SCHEMA = "breezeway"
LEGACY_TABLES = set(re.findall(r"^CREATE TABLE (\w+)", LEGACY_SCHEMA_SQL.read_text(), re.M))

# Django adds a varchar_pattern_ops index (for LIKE queries) to every CharField primary key on
# PostgreSQL; the legacy DDL has none for regions.region_code, and --fake-initial only checks
# that tables and columns exist, so right after adoption this difference is expected.
IMPLICIT_DJANGO_INDEXES = {("regions", "indexes", "regions_region_code_217464c3_like")}

# Differences in the LATEST state that are known and reported but not fixed yet, as
# (table, section, name). Each must still be present: when one is fixed, this test fails and
# asks for the entry to be removed, so the list never hides a difference that came back.
#
KNOWN_LATEST_MISMATCHES: set[tuple[str, str, str]] = set()


@dataclass
class Built:
    db: ScratchDatabase
    schema: dict


def describe(db: ScratchDatabase) -> dict:
    with db.connect() as conn:
        # Django's own tables too: they are created in DATABASE_SCHEMA by both paths.
        return describe_schema(conn, db.schema, include_framework=True)


def without(description: dict, entries: set[tuple[str, str, str]]) -> dict:
    result = copy.deepcopy(description)
    for table, section, name in entries:
        result.get(table, {}).get(section, {}).pop(name, None)
    return result


@pytest.fixture(scope="module")
def adopted_0001() -> Iterator[Built]:
    """The legacy schema in schema `breezeway`, right after `migrate breezeway 0001
    --fake-initial`; the database then migrated to the latest state is `adopted_latest`."""
    db = create_scratch_database("bw_adopted")
    try:
        db.create_schema(LEGACY_SCHEMA)
        db.load_legacy_schema()
        out = db.manage("migrate", "breezeway", "0001", "--fake-initial").stdout
        assert "breezeway.0001_initial... FAKED" in out
        yield Built(db, describe(db))
    finally:
        drop_scratch_database(db)


@pytest.fixture(scope="module")
def adopted_latest(adopted_0001: Built) -> Built:
    adopted_0001.db.manage("migrate")
    return Built(adopted_0001.db, describe(adopted_0001.db))


@pytest.fixture(scope="module")
def fresh_0001() -> Iterator[Built]:
    db = create_scratch_database("bw_fresh0001")
    try:
        db.manage("migrate", "breezeway", "0001")
        yield Built(db, describe(db))
    finally:
        drop_scratch_database(db)


@pytest.fixture(scope="module")
def fresh_latest() -> Iterator[Built]:
    db = create_scratch_database("bw_fresh")
    try:
        db.manage("migrate")
        yield Built(db, describe(db))
    finally:
        drop_scratch_database(db)


def assert_same_schema(fresh: dict, adopted: dict) -> None:
    diff = schema_diff(fresh, adopted, "fresh", "adopted")
    assert not diff, "\n" + diff


def test_adopted_legacy_database_equals_fresh_database(
    adopted_latest: Built, fresh_latest: Built
) -> None:
    fresh, adopted = fresh_latest.schema, adopted_latest.schema
    # The comparison means something only if both really hold the project's tables.
    assert LEGACY_TABLES | {"dedup_archived_rows", "django_migrations"} <= set(fresh)
    assert all(fresh[t]["columns"] and fresh[t]["primary_key"] for t in LEGACY_TABLES)

    fixed = [e for e in sorted(KNOWN_LATEST_MISMATCHES) if _entry(fresh, e) == _entry(adopted, e)]
    assert not fixed, f"known mismatches no longer differ, remove them: {fixed}"
    assert_same_schema(
        without(fresh, KNOWN_LATEST_MISMATCHES), without(adopted, KNOWN_LATEST_MISMATCHES)
    )


def _entry(description: dict, entry: tuple[str, str, str]) -> object:
    table, section, name = entry
    return description.get(table, {}).get(section, {}).get(name)


def test_first_migration_matches_the_legacy_schema(adopted_0001: Built, fresh_0001: Built) -> None:
    """Same tables, columns, types, nullability, defaults, keys and index names at 0001."""
    fresh, adopted = fresh_0001.schema, adopted_0001.schema
    assert set(adopted) == LEGACY_TABLES | {"django_migrations"}
    assert_same_schema(
        without(fresh, IMPLICIT_DJANGO_INDEXES), without(adopted, IMPLICIT_DJANGO_INDEXES)
    )


def test_models_and_migrations_agree(fresh_latest: Built) -> None:
    proc = fresh_latest.db.manage("makemigrations", "--check", "--dry-run", check=False)
    assert proc.returncode == 0, f"models and migrations differ:\n{proc.stdout}\n{proc.stderr}"
    assert "No changes detected" in proc.stdout


@pytest.mark.parametrize("state", ["adopted_latest", "fresh_latest"])
def test_second_migrate_has_nothing_to_apply(state: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(state)
    out = built.db.manage("migrate").stdout
    assert "No migrations to apply." in out
    assert "Applying" not in out


def test_missing_schema_fails_with_instructions(fresh_latest: Built) -> None:
    proc = fresh_latest.db.manage("migrate", check=False, DATABASE_SCHEMA="no_such_schema")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "DATABASE_SCHEMA='no_such_schema' does not exist" in proc.stderr
    assert "CREATE SCHEMA no_such_schema;" in proc.stderr


def test_invalid_schema_name_fails_with_settings_error(fresh_latest: Built) -> None:
    proc = fresh_latest.db.manage("migrate", check=False, DATABASE_SCHEMA="Bad-Name")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "DATABASE_SCHEMA='Bad-Name' is not a valid schema name" in proc.stderr


def test_describe_schema_normalises_only_what_it_should(scratch_db: ScratchDatabase) -> None:
    """Serial and identity, foreign-key names, deferrability and ON DELETE rules, and column
    order compare equal; a type, nullability, default, key or index difference does not."""
    legacy_style = """
        CREATE TABLE parent (code varchar(8) PRIMARY KEY);
        CREATE TABLE child (
            id bigserial PRIMARY KEY,
            parent_code varchar(8) NOT NULL REFERENCES parent (code) ON DELETE CASCADE,
            name varchar(20) DEFAULT 'x',
            CONSTRAINT uq_child UNIQUE (parent_code, name)
        );
        CREATE INDEX idx_child_name ON child (name);
    """
    django_style = """
        CREATE TABLE parent (code varchar(8) PRIMARY KEY);
        CREATE TABLE child (
            name varchar(20) DEFAULT 'x',
            parent_code varchar(8) NOT NULL,
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            CONSTRAINT uq_child UNIQUE (parent_code, name)
        );
        ALTER TABLE child ADD CONSTRAINT child_parent_code_fk_0123abcd FOREIGN KEY (parent_code)
            REFERENCES parent (code) DEFERRABLE INITIALLY DEFERRED;
        CREATE INDEX idx_child_name ON child (name);
    """
    changes = [
        "ALTER TABLE child ALTER COLUMN name TYPE varchar(30)",
        "ALTER TABLE child ALTER COLUMN name SET NOT NULL",
        "ALTER TABLE child ALTER COLUMN name SET DEFAULT 'y'",
        "ALTER TABLE child DROP CONSTRAINT uq_child",
        "ALTER INDEX idx_child_name RENAME TO idx_child_name2",
        "DROP INDEX idx_child_name; CREATE INDEX idx_child_name ON child (name DESC)",
        "ALTER TABLE child ADD CONSTRAINT ck_name CHECK (name <> '')",
        "ALTER TABLE child ADD FOREIGN KEY (parent_code) REFERENCES parent (code)",
        "ALTER TABLE child ALTER COLUMN id SET GENERATED ALWAYS",
    ]
    with scratch_db.connect() as conn:
        for schema, ddl in [("a", legacy_style), ("b", django_style)]:
            conn.execute(f"CREATE SCHEMA {schema}; SET search_path TO {schema}")
            conn.execute(ddl)
        a, b = describe_schema(conn, "a"), describe_schema(conn, "b")
        assert_same_schema(a, b)
        assert b["child"]["columns"]["id"]["default"] == a["child"]["columns"]["id"]["default"]
        assert a["child"]["foreign_keys"] == ["(parent_code) -> parent(code)"]
        for change in changes:
            conn.execute("BEGIN")
            conn.execute(change)
            assert describe_schema(conn, "b") != a, change
            conn.execute("ROLLBACK")
