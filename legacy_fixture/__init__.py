"""Legacy databases full of the incident's duplicates: a fixture for the demo, tests, benches."""

# Not product: breezeway, dedup, etl and ops never import it (tests/legacy_fixture/test_imports).
# By job: plan (the figures scaled), vocabulary, tables (the legacy columns), builders/ (one a
# table) filling a dataset of slots and rows, writers, state (which database may be filled),
# generate (end to end) and the make_legacy_db command.

from pathlib import Path

# The contract's legacy schema (reference/ holds a verbatim copy): the old loader's databases
# were created from it, so the tests and the benchmarks create their legacy databases from it.
LEGACY_SCHEMA_SQL = Path(__file__).resolve().parents[1] / "reference" / "legacy-schema.sql"
