"""Fault injection for data requests: fixed failing paths, 5xx, 429 bursts, delays."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from simulator.config import Faults


@dataclass
class Injection:
    """The faults chosen for one request: an answer to send instead (status set), and a
    delay before answering. `kinds` names what was injected, for the stats."""

    delay: float = 0.0
    status: int | None = None
    body: dict = field(default_factory=dict)
    raw: str | None = None  # a body served verbatim (a malformed page), instead of `body`
    headers: list[tuple[str, str]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


class FaultInjector:
    """Decides faults with its own seeded RNG, so a test's sequence of requests sees the
    same faults every run. Called under the simulator's state lock."""

    def __init__(self, seed: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rng = random.Random(f"breezeway-sim|{seed}|faults")
        self._bursts: dict[str, int] = {}  # credential -> 429s still to send
        self._buckets: dict[str, tuple[float, float]] = {}  # credential -> (tokens, at)
        self._clock = clock

    def reset(self) -> None:
        self._bursts.clear()
        self._buckets.clear()

    def over_limit(self, per_second: float, credential: str) -> float | None:
        """None when the credential's bucket has a token for this request (taken), else the
        seconds until it will. The bucket holds one second's worth (at least one request)."""
        if per_second <= 0:
            return None
        now = self._clock()
        capacity = max(1.0, per_second)
        tokens, at = self._buckets.get(credential, (capacity, now))
        tokens = min(capacity, tokens + (now - at) * per_second)
        if tokens >= 1:
            self._buckets[credential] = (tokens - 1, now)
            return None
        self._buckets[credential] = (tokens, now)
        return (1 - tokens) / per_second

    def _chance(self, rate: float) -> bool:
        # No draw at rate 0, so enabling one fault does not reshuffle the others' sequence.
        return rate > 0 and self.rng.random() < rate

    def decide(
        self, faults: Faults, credential: str, path: str, endpoint: str, page: int
    ) -> Injection:
        out = Injection()
        if faults.latency > 0:
            out.delay += faults.latency
            out.kinds.append("latency")
        for rule in faults.fail_paths:
            if rule["path"] in (path, endpoint) and rule.get("page") in (None, page):
                status = rule.get("status", 500)
                out.status, out.body = (
                    status,
                    {"error": f"Injected failure for {path}", "status": status},
                )
                out.raw = rule.get("body")
                out.kinds.append("fail_path")
                return out
        refill = self.over_limit(faults.rate_limit_per_second, credential)
        if refill is not None:
            # Retry-After is a whole number of seconds (reference §4): at least one.
            return self._too_many(out, max(1, math.ceil(refill)), "over_limit")
        if self._bursts.get(credential, 0) > 0 or self._chance(faults.rate_limit_rate):
            remaining = self._bursts.get(credential) or max(1, faults.rate_limit_burst)
            self._bursts[credential] = remaining - 1
            return self._too_many(out, faults.rate_limit_retry_after, "rate_limit")
        if self._chance(faults.error_rate):
            status = self.rng.choice((500, 502, 503))
            out.status, out.body = status, {"error": "Injected server error", "status": status}
            out.kinds.append("error")
            return out
        if self._chance(faults.timeout_rate):
            out.delay += faults.timeout_delay
            out.kinds.append("timeout")
        return out

    @staticmethod
    def _too_many(out: Injection, wait: int, kind: str) -> Injection:
        out.status = 429
        out.body = {"error": "Rate limit exceeded", "retry_after": wait}
        out.headers = [("Retry-After", str(wait))]
        out.kinds.append(kind)
        return out

    def page_shift(self, faults: Faults, page: int) -> bool:
        return page >= 2 and self._chance(faults.page_shift_rate)
