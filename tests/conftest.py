"""Fixtures shared by the whole suite."""

from collections.abc import Iterator

import pytest
import redis

from tests.support.broker import BROKER
from tests.support.migration_rows import restore_migration_rows, snapshot_migration_rows
from tests.support.scratch import ScratchDatabase, create_scratch_database, drop_scratch_database

# sim, sync_settings, regions, run_sync: the simulator and a sync runner, for any package.
pytest_plugins = ["tests.support.sync_fixtures"]


@pytest.fixture(scope="session")
def broker() -> str:
    """The Redis at TEST_BROKER_URL; the session ends with a message when it is unreachable."""
    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.exit(
            f"Redis is unreachable at {BROKER} ({exc}). Start it (redis-server --daemonize yes) "
            "or point TEST_BROKER_URL at one.",
            returncode=3,
        )
    return BROKER


@pytest.fixture
def scratch_db() -> Iterator[ScratchDatabase]:
    """An empty PostgreSQL database of the test's own, dropped afterwards."""
    db = create_scratch_database()
    try:
        yield db
    finally:
        drop_scratch_database(db)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> str:
    """pytest-django's test database, and what its data migrations created in it, taken
    before any test can flush it."""
    with django_db_blocker.unblock():
        return snapshot_migration_rows()


@pytest.fixture(autouse=True)
def migration_rows(request: pytest.FixtureRequest) -> None:
    """A test on the `db` fixture sees what the migrations created. pytest-django runs such
    tests before the transactional ones, whose flush empties every table; under pytest-xdist
    (make test runs two processes) a process can run a transactional test first."""
    marker = request.node.get_closest_marker("django_db")
    marked = marker is not None and not marker.kwargs.get("transaction", False)
    if "transactional_db" in request.fixturenames or not ("db" in request.fixturenames or marked):
        return
    snapshot = request.getfixturevalue("django_db_setup")
    request.getfixturevalue("db")
    from django_celery_beat.models import PeriodicTask

    if not PeriodicTask.objects.exists():
        restore_migration_rows(snapshot)
