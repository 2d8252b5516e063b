"""Fixtures shared by the whole suite."""

from collections.abc import Iterator

import pytest

from tests.support.scratch import ScratchDatabase, create_scratch_database, drop_scratch_database

# sim, sync_settings, regions, run_sync: the simulator and a sync runner, for any package.
pytest_plugins = ["tests.support.sync_fixtures"]


@pytest.fixture
def scratch_db() -> Iterator[ScratchDatabase]:
    """An empty PostgreSQL database of the test's own, dropped afterwards."""
    db = create_scratch_database()
    try:
        yield db
    finally:
        drop_scratch_database(db)
