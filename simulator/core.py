"""The Simulator: generated worlds, simulated time, tokens, faults and stats behind one lock."""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from simulator.app import SimulatorApp
from simulator.auth import TokenService
from simulator.changes import SUMMARY_KEYS, advance_hour
from simulator.config import Faults, SimulatorConfig
from simulator.faults import FaultInjector
from simulator.generate import company_rng, generate_world
from simulator.server import ServerHandle, serve
from simulator.stats import Stats
from simulator.timefmt import offset_ts
from simulator.world import Company, World, gc_paused


class Simulator:
    """A local Breezeway API. `app` is a thread-safe WSGI callable; every read and change of
    the state holds `lock` (an RLock, so helpers may nest)."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.lock = threading.RLock()
        self.start = self.config.resolved_start()
        self._now = self.start
        self._hours = 0
        with gc_paused():
            self.world_list: list[World] = [
                generate_world(self.config, index, self.start)
                for index in range(1, self.config.companies + 1)
            ]
        self._worlds = {w.company.company_id: w for w in self.world_list}
        # A copy, so two simulators built from one config do not share live faults.
        self._faults = copy.deepcopy(self.config.faults)
        secret = hashlib.sha256(f"breezeway-simulator-signing:{self.config.seed}".encode()).digest()
        self.tokens = TokenService(secret, self.companies, lambda: self._faults)
        self.injector = FaultInjector(self.config.seed)
        self.stats_counter = Stats()
        self.app = SimulatorApp(self)

    @property
    def companies(self) -> list[Company]:
        return [w.company for w in self.world_list]

    @property
    def now(self) -> datetime:
        with self.lock:
            return self._now

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        with self.lock:
            self._faults = value

    def world(self, company_id: int) -> World:
        """The live state of one company (KeyError if unknown); hold `lock` while using it."""
        return self._worlds[company_id]

    def tick(self, hours: int = 1) -> dict[str, Any]:
        """Advance simulated time hour by hour, changing records; returns counts per change."""
        if hours < 0:
            raise ValueError("hours must not be negative")
        totals: Counter = Counter()
        per_company: dict[str, Counter] = {w.company.code: Counter() for w in self.world_list}
        with self.lock:
            for _ in range(int(hours)):
                self._hours += 1
                self._now = self.start + timedelta(hours=self._hours)
                for world in self.world_list:
                    rng = company_rng(self.config, world.index, f"tick|{self._hours}")
                    done = advance_hour(world, self.config, self._now, rng)
                    per_company[world.company.code].update(done)
                    totals.update(done)
            now = self._now
        summary: dict[str, Any] = {"hours": int(hours), "now": offset_ts(now)}
        summary.update({key: totals.get(key, 0) for key in SUMMARY_KEYS})
        summary["by_company"] = {
            code: {key: counts.get(key, 0) for key in SUMMARY_KEYS if counts.get(key)}
            for code, counts in per_company.items()
        }
        return summary

    def snapshot(self, company_id: int) -> dict[str, Any]:
        """The truth for one company (deep copies): what a complete mirror should hold."""
        with self.lock, gc_paused():
            return self.world(company_id).snapshot(self._now)

    @property
    def stats(self) -> dict[str, Any]:
        with self.lock:
            return self.stats_counter.copy()

    def reset_stats(self) -> None:
        with self.lock:
            self.stats_counter.reset()

    def serve(self, port: int = 0, host: str = "127.0.0.1") -> ServerHandle:
        """Serve `app` over HTTP from a daemon thread; close the handle to stop."""
        return serve(self.app, host=host, port=port)
