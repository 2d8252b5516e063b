"""Request counters of the simulator (sim.stats, GET /_sim/stats)."""

from __future__ import annotations

import copy
import time
from collections import deque
from typing import Any


class Stats:
    """Counters; the simulator updates them under its state lock."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._recent: dict[str, deque[float]] = {}  # client_id -> arrivals in the last second
        self.data: dict[str, Any] = {
            "requests": 0,  # data requests (/public/inventory/v1/...), faults included
            "by_endpoint": {},  # "/task/{id}" -> count
            "by_status": {},  # status (int) -> count, data requests only
            "auth_obtain": {},  # client_id -> obtain calls, refused ones included
            "auth_refresh": {},  # client_id -> refresh calls ("<invalid>" if unidentified)
            "auth_by_status": {},  # status (int) -> count, auth calls only
            # latency, fail_path, over_limit, rate_limit, error, timeout, page_shift
            "faults_injected": {},
            # client_id -> the most data requests that arrived within any one second (what a
            # client's rate limit is held to), 429s included
            "busiest_second": {},
        }

    def _bump(self, table: str, key: Any) -> None:
        self.data[table][key] = self.data[table].get(key, 0) + 1

    def request(self, endpoint: str) -> None:
        self.data["requests"] += 1
        self._bump("by_endpoint", endpoint)

    def arrival(self, client_id: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        recent = self._recent.setdefault(client_id, deque())
        recent.append(now)
        while recent[0] <= now - 1.0:
            recent.popleft()
        busiest = self.data["busiest_second"]
        busiest[client_id] = max(busiest.get(client_id, 0), len(recent))

    def status(self, status: int) -> None:
        self._bump("by_status", status)

    def auth(self, kind: str, client_id: str | None, status: int) -> None:
        self._bump(f"auth_{kind}", client_id or "<invalid>")
        self._bump("auth_by_status", status)

    def fault(self, kind: str) -> None:
        self._bump("faults_injected", kind)

    def copy(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)
