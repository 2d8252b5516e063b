"""The generator's list of legacy columns is the contract's: legacy-schema.sql, in order."""

from legacy_fixture.tables import ALL_TABLES, LEGACY_COLUMNS
from tests.support.scratch import ScratchDatabase


def test_legacy_columns_are_the_legacy_schemas(scratch_db: ScratchDatabase) -> None:
    scratch_db.load_legacy_schema()
    with scratch_db.connect() as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        ).fetchall()
    schema: dict[str, list[str]] = {}
    for table, column in rows:
        schema.setdefault(table, []).append(column)
    assert sorted(LEGACY_COLUMNS) == sorted(ALL_TABLES) == sorted(schema)
    assert {t: list(c) for t, c in LEGACY_COLUMNS.items()} == schema
