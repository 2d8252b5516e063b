"""Legacy databases full of the incident's duplicates: a fixture for the demo, tests, benches."""

# Not product: breezeway, dedup, etl and ops never import it (tests/legacy_fixture/test_imports).
# By job: plan (the figures scaled), vocabulary, tables (the legacy columns), builders/ (one a
# table) filling a dataset of slots and rows, writers, state (which database may be filled),
# generate (end to end) and the make_legacy_db command.
