"""Smoke: a fresh database migrates, and a legacy one is adopted with --fake-initial."""

from tests.support.scratch import ScratchDatabase


def test_legacy_database_is_adopted_with_fake_initial(scratch_db: ScratchDatabase) -> None:
    scratch_db.create_schema("breezeway")
    scratch_db.load_legacy_schema()
    out = scratch_db.manage("migrate", "breezeway", "0001", "--fake-initial").stdout
    assert "breezeway.0001_initial... FAKED" in out
