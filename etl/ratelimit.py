"""A request rate per API credential (a region's), shared by every worker of every host.

Requests are spaced at 1/rate seconds on one shared schedule (the next free slot), kept in
Redis, in PostgreSQL when no Redis broker is configured, or in the process on SQLite. A
worker reserves a slot in one atomic step, sleeps until it, then sends: N workers of M hosts
together send at most `rate` requests a second, evenly (any window of T seconds holds at most
rate x T + 1 of them), never in bursts.

A 429 pauses every worker for its Retry-After and halves the rate, once per overload: a 429 of
a request reserved before the last cut (paced by the old rate) says nothing new. The rate then
climbs back linearly to the configured one over `recovery` seconds without a 429 (additive
increase, multiplicative decrease, as TCP does for the same reason: the vendor's limit is not
documented).
"""

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Protocol, TypeVar

import psycopg
import redis

log = logging.getLogger(__name__)

T = TypeVar("T")

# A cut never goes below this (requests per second), or a long outage would leave the rate
# at nothing; nor does it go above the configured rate.
FLOOR = 0.1
# Shared state expires this long after its last use (Redis), so removed regions leave nothing.
STATE_TTL = 86400


@dataclass
class Pace:
    """A region's shared schedule, in the store's clock (seconds since the epoch)."""

    next_slot: float = 0.0  # the first moment no worker has reserved yet
    cut_rate: float = 0.0  # the rate the last 429 set (0: none since the state began)
    cut_at: float = 0.0
    throttled: int = 0  # 429s reported, all workers together


@dataclass(frozen=True)
class RateLimit:
    """The configured rate and how fast it recovers after a 429."""

    per_second: float
    recovery: float = 60.0  # seconds from a cut back to per_second

    def rate(self, pace: Pace, now: float) -> float:
        """The rate in force: the configured one, or a cut one on its way back up."""
        if not pace.cut_rate or self.recovery <= 0:
            return self.per_second
        climbed = (self.per_second - pace.cut_rate) * max(0.0, now - pace.cut_at) / self.recovery
        return min(self.per_second, pace.cut_rate + climbed)

    def reserve(self, pace: Pace, now: float) -> float:
        """Take the next free slot; its time."""
        slot = max(pace.next_slot, now)
        pace.next_slot = slot + 1.0 / self.rate(pace, now)
        return slot

    def throttle(self, pace: Pace, now: float, reserved_at: float, retry_after: float) -> bool:
        """A 429 for a request whose slot was reserved at `reserved_at`: no slot before
        Retry-After, and the rate halved unless that reservation predates the last cut (the
        old rate paced it, even if it left later). True when the rate was cut."""
        pace.throttled += 1
        pace.next_slot = max(pace.next_slot, now + retry_after)
        if pace.cut_rate and reserved_at < pace.cut_at:
            return False
        pace.cut_rate = max(min(FLOOR, self.per_second), self.rate(pace, now) / 2)
        pace.cut_at = now
        return True


class PaceStore(Protocol):
    """Where a region's Pace lives; `update` runs `change(pace, now)` atomically against every
    other process and returns its result (`now` is the store's clock)."""

    def update(self, change: Callable[[Pace, float], T]) -> T: ...

    def close(self) -> None: ...


class LocalPaceStore:
    """In this process only (SQLite, or the fallback while the shared store is unreachable)."""

    _paces: dict[str, Pace] = {}
    _lock = threading.Lock()

    def __init__(self, key: str) -> None:
        self.key = key

    def update(self, change: Callable[[Pace, float], T]) -> T:
        with self._lock:
            return change(self._paces.setdefault(self.key, Pace()), time.time())

    def close(self) -> None:
        pass


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


class RedisPaceStore:
    """A hash per credential in Redis, changed under WATCH (optimistic: a conflicting update by
    another worker makes this one read again); Redis's clock, so hosts' clocks do not matter."""

    def __init__(self, url: str, key: str) -> None:
        self._redis = _redis(url)
        self.key = f"breezeway:rate:{key}"

    def update(self, change: Callable[[Pace, float], T]) -> T:
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(self.key)
                    stored = pipe.hgetall(self.key)
                    seconds, micros = pipe.time()
                    pace = _pace({k.decode(): v for k, v in stored.items()})
                    result = change(pace, seconds + micros / 1e6)
                    pipe.multi()
                    pipe.hset(self.key, mapping=asdict(pace))
                    pipe.expire(self.key, STATE_TTL)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def close(self) -> None:
        pass


def _pace(stored: dict[str, object]) -> Pace:
    """A Pace from stored values (bytes from Redis, numbers from PostgreSQL)."""
    return Pace(**{f.name: f.type(stored[f.name]) for f in fields(Pace) if f.name in stored})


class DatabasePaceStore:
    """A row per credential in `etl_rate_paces`, changed under its row lock, on a connection of
    the store's own (a sync's fetch threads share it; Django's are per thread)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._lock = threading.Lock()
        self._db = None

    def _connection(self) -> psycopg.Connection:
        from django.db import DEFAULT_DB_ALIAS, connections

        if self._db is None:
            # A wrapper like Django's own, from the live settings (a test database's name).
            live = connections[DEFAULT_DB_ALIAS]
            self._db = type(live)(dict(live.settings_dict), live.alias)
            self._db.inc_thread_sharing()
        self._db.ensure_connection()
        return self._db.connection

    def update(self, change: Callable[[Pace, float], T]) -> T:
        from etl.models import RatePace

        table = RatePace._meta.db_table
        columns = [f.name for f in fields(Pace)]
        with self._lock:
            try:
                conn = self._connection()
                with conn.transaction():
                    conn.execute(
                        f"INSERT INTO {table} (credential) VALUES (%s) ON CONFLICT DO NOTHING",
                        [self.key],
                    )
                    row = conn.execute(
                        f"SELECT {', '.join(columns)}, extract(epoch from clock_timestamp()) "
                        f"FROM {table} WHERE credential = %s FOR UPDATE",
                        [self.key],
                    ).fetchone()
                    pace = _pace(dict(zip(columns, row, strict=False)))
                    result = change(pace, float(row[-1]))
                    conn.execute(
                        f"UPDATE {table} SET {', '.join(f'{c} = %s' for c in columns)}, "
                        "updated_at = now() WHERE credential = %s",
                        [*asdict(pace).values(), self.key],
                    )
                return result
            except Exception:
                self.close()  # a broken connection is not reused
                raise

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db.dec_thread_sharing()
            self._db = None


def pace_key(client_id: str) -> str:
    """Where a credential's schedule is kept: a digest of its client id, so that regions
    sharing a credential (one token can see several companies) share its limit, and no store
    holds the id itself."""
    return hashlib.sha256(f"breezeway-rate|{client_id}".encode()).hexdigest()[:32]


def pace_store(key: str) -> PaceStore:
    """Redis when the Celery broker is Redis (every worker reaches it), else the database
    when it is PostgreSQL, else this process (SQLite: the zero-setup demo)."""
    from django.conf import settings
    from django.db import connection

    broker = settings.CELERY_BROKER_URL
    if broker.startswith(("redis://", "rediss://")):
        return RedisPaceStore(broker, key)
    if connection.vendor == "postgresql":
        return DatabasePaceStore(key)
    return LocalPaceStore(key)


class Limiter:
    """One client's view of its credential's shared rate: `acquire()` before each request,
    `throttled()` after a 429. Thread-safe. When the shared store fails, this process keeps
    pacing on its own at the same rate (logged once), and the sync goes on."""

    def __init__(
        self,
        limit: RateLimit,
        store: PaceStore,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self._store = store
        self._fallback: LocalPaceStore | None = None
        self._sleep = sleep
        self.waited = 0.0  # seconds this client's requests spent waiting for their slots
        self._lock = threading.Lock()

    def _update(self, change: Callable[[Pace, float], T]) -> T:
        if self._fallback is None:
            try:
                return self._store.update(change)
            except Exception as exc:  # the store's own errors: Redis, psycopg
                log.warning(
                    "the shared rate limit is unreachable (%s: %s); pacing this process alone",
                    type(exc).__name__,
                    exc,
                )
                self._fallback = LocalPaceStore(f"fallback:{id(self)}")
        return self._fallback.update(change)

    def acquire(self) -> float:
        """Wait for this request's slot; when it was reserved, to hand back to `throttled`."""
        slot, now = self._update(lambda pace, now: (self.limit.reserve(pace, now), now))
        wait = slot - now
        if wait > 0:
            with self._lock:
                self.waited += wait
            self._sleep(wait)
        return now

    def throttled(self, reserved_at: float, retry_after: float) -> None:
        cut = self._update(
            lambda pace, now: (
                self.limit.throttle(pace, now, reserved_at, retry_after)
                and self.limit.rate(pace, now)
            )
        )
        if cut:
            log.warning("HTTP 429: the region's request rate is cut to %.2f/s", cut)

    def rate(self) -> float:
        """The rate in force now (for run details)."""
        return self._update(lambda pace, now: self.limit.rate(pace, now))

    def close(self) -> None:
        self._store.close()
