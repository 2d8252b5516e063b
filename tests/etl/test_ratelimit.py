"""The shared request rate: spacing, cuts on 429 and recovery, each store's atomicity, and a
sync paced against the simulator's own limit."""

import itertools
import logging
import threading
import uuid

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured

from etl.credentials import rate_limit, rate_limit_variable
from etl.models import RatePace, SyncRun
from etl.ratelimit import (
    FLOOR,
    DatabasePaceStore,
    Limiter,
    LocalPaceStore,
    Pace,
    RateLimit,
    RedisPaceStore,
    pace_key,
    pace_store,
)

# --- the schedule ------------------------------------------------------------------------------


def test_slots_are_spaced_at_one_over_the_rate() -> None:
    limit, pace = RateLimit(4.0), Pace()
    slots = [limit.reserve(pace, 100.0) for _ in range(4)]
    assert slots == [100.0, 100.25, 100.5, 100.75]
    # Idle time is not saved up: no burst after a quiet spell.
    assert limit.reserve(pace, 200.0) == 200.0
    assert limit.reserve(pace, 200.0) == 200.25


def test_a_429_pauses_halves_once_per_overload_and_the_rate_recovers() -> None:
    limit, pace = RateLimit(10.0, recovery=60.0), Pace()
    limit.reserve(pace, 100.0)
    assert limit.throttle(pace, 100.1, 100.0, retry_after=2.0)
    assert pace.next_slot == pytest.approx(102.1)  # everyone waits out Retry-After
    assert limit.rate(pace, 100.1) == pytest.approx(5.0)
    # A request paced by the old rate says nothing new, even if it left after the cut
    # (its slot was reserved before): paused, not cut again.
    assert not limit.throttle(pace, 100.2, 100.05, retry_after=1.0)
    assert limit.rate(pace, 100.2) == pytest.approx(5.0 + 5.0 * 0.1 / 60)
    assert pace.throttled == 2
    # Linear recovery: half-way after half the recovery time, all the way after it.
    assert limit.rate(pace, 130.1) == pytest.approx(7.5)
    assert limit.rate(pace, 160.1) == pytest.approx(10.0)
    assert limit.rate(pace, 500.0) == pytest.approx(10.0)
    # A request sent after the cut that still gets a 429 cuts again, from the rate in force.
    later = limit.reserve(pace, 130.1)
    assert limit.throttle(pace, 130.2, later, retry_after=1.0)
    assert limit.rate(pace, 130.2) == pytest.approx(7.5 / 2, rel=2e-3)


def test_cuts_stop_at_the_floor() -> None:
    limit, pace = RateLimit(1.0), Pace()
    for step in range(20):
        now = 100.0 + step
        limit.throttle(pace, now, reserved_at=now, retry_after=0)
    assert limit.rate(pace, pace.cut_at) == FLOOR


# --- the stores --------------------------------------------------------------------------------


@pytest.fixture(params=["local", "redis", "database"])
def store(request):
    kind = request.param
    if kind == "local":
        yield LocalPaceStore(f"test-{uuid.uuid4().hex}")
        return
    if kind == "redis":
        broker = request.getfixturevalue("broker")
        store = RedisPaceStore(broker, f"test-{uuid.uuid4().hex}")
        yield store
        redis.Redis.from_url(broker).delete(store.key)
        return
    store = DatabasePaceStore(f"test-{uuid.uuid4().hex}")
    yield store
    store.close()


@pytest.mark.django_db(transaction=True)
def test_every_store_hands_each_slot_to_one_request(store) -> None:
    """Eight threads reserving at once: the slots are distinct and evenly spaced, whoever won
    each race (the Redis and database stores are what several processes share)."""
    limit = RateLimit(1000.0)
    slots: list[float] = []
    lock = threading.Lock()

    def reserve() -> None:
        for _ in range(25):
            slot = store.update(lambda pace, now: limit.reserve(pace, now))
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=reserve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slots.sort()
    assert len(slots) == 200
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= 0.001 - 1e-6  # never two requests within 1/rate of each other
    throttled = store.update(lambda pace, now: limit.throttle(pace, now, now, 0.0))
    assert throttled
    assert store.update(lambda pace, now: pace.throttled) == 1


def test_the_database_store_keeps_its_state_in_a_row(transactional_db) -> None:
    store = DatabasePaceStore("paced")
    limit = RateLimit(2.0)
    store.update(lambda pace, now: limit.throttle(pace, now, now, 5.0))
    store.close()
    row = RatePace.objects.get(credential="paced")
    assert row.throttled == 1 and row.cut_rate == pytest.approx(1.0)
    # Another process (another store) sees the pause and the cut.
    other = DatabasePaceStore("paced")
    assert other.update(lambda pace, now: pace.next_slot - now) > 4.0
    other.close()


def test_the_store_follows_the_broker(settings, db) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/9"
    assert isinstance(pace_store("x"), RedisPaceStore)
    settings.CELERY_BROKER_URL = "amqp://guest@rabbit//"
    assert isinstance(pace_store("x"), DatabasePaceStore)
    settings.CELERY_BROKER_URL = ""
    assert isinstance(pace_store("x"), DatabasePaceStore)  # the tests run on PostgreSQL


class Unreachable:
    def update(self, change):
        raise redis.ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    def close(self) -> None:
        pass


def test_an_unreachable_store_paces_this_process_alone(caplog) -> None:
    slept: list[float] = []
    limiter = Limiter(RateLimit(10.0), Unreachable(), sleep=slept.append)
    with caplog.at_level(logging.WARNING, logger="etl.ratelimit"):
        for _ in range(3):
            limiter.acquire()
    assert "pacing this process alone" in caplog.text
    assert caplog.text.count("unreachable") == 1  # said once, not per request
    # The sleeps are not real, so the clock hardly moves: slots 0.1 s apart, waited for.
    assert slept == [pytest.approx(0.1, abs=0.01), pytest.approx(0.2, abs=0.01)]


# --- a sync against the simulator's limit ----------------------------------------------------


def test_a_sync_paced_below_the_vendors_limit_is_never_refused(sim, run_sync, settings) -> None:
    sim.faults.rate_limit_per_second = 150.0
    settings.SYNC_RATE_LIMIT = 100.0
    runs = run_sync(entities=["people", "properties", "tasks"])
    assert {r.status for r in runs} == {SyncRun.Status.SUCCESS}
    stats = sim.stats
    assert stats["by_status"].get(429, 0) == 0
    # Slots are 1/100 s apart; arrivals jitter by the threads' wake-ups, which the vendor's
    # bucket (one second's worth) absorbs.
    assert stats["busiest_second"][sim.companies[0].client_id] <= 100 * 1.25
    tasks = runs[-1].details
    assert tasks["rate_limit"]["per_second"] == 100.0
    assert tasks["rate_limit"]["waited_seconds"] > 0
    assert all(r.throttled == 0 for r in runs)


def test_a_limit_above_the_vendors_is_cut_by_429s_and_the_sync_completes(
    sim, run_sync, settings
) -> None:
    sim.faults.rate_limit_per_second = 100.0
    settings.SYNC_RATE_LIMIT = 400.0
    settings.SYNC_RETRY_AFTER_CAP = 0.2  # Retry-After is 1 s: keep the test short
    runs = run_sync(entities=["people", "properties", "tasks"])
    assert {r.status for r in runs} == {SyncRun.Status.SUCCESS}
    throttled = sum(r.throttled for r in runs)
    assert throttled > 0
    in_force = runs[-1].details["rate_limit"]["in_force"]
    assert in_force < 400.0  # lowered, and still recovering
    # After the cut the client keeps close to the vendor's rate: 429s stay a small share.
    assert throttled < 0.2 * sum(r.api_calls for r in runs)


def test_a_bad_region_rate_limit_fails_that_regions_runs_with_the_variable_named(
    sim, run_sync, monkeypatch
) -> None:
    variable = rate_limit_variable(sim.companies[0].code)
    monkeypatch.setenv(variable, "fast")
    runs = run_sync(entities=["people", "tags"])
    assert [r.status for r in runs] == [SyncRun.Status.FAILED] * 2
    assert f"{variable}='fast'" in runs[0].error
    assert "requests per second" in runs[0].error
    assert sim.stats["requests"] == 0


def test_the_key_is_a_digest_of_the_client_id() -> None:
    key = pace_key("client-123")
    assert key == pace_key("client-123") != pace_key("client-124")
    assert "client" not in key and len(key) == 32


def test_a_region_variable_overrides_the_default_rate() -> None:
    variable = rate_limit_variable("us-east.1")
    assert variable == "BREEZEWAY_US_EAST_1_RATE_LIMIT"
    assert rate_limit("us-east.1", 20.0, {}) == 20.0
    assert rate_limit("us-east.1", 20.0, {variable: " 5.5 "}) == 5.5
    assert rate_limit("us-east.1", 20.0, {variable: "0"}) == 0.0
    for bad in ("-1", "nan", "inf", "5/s"):
        with pytest.raises(ImproperlyConfigured, match=variable):
            rate_limit("us-east.1", 20.0, {variable: bad})
