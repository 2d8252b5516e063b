"""The Simulator: worlds, simulated time, tokens, faults, stats and webhooks behind one lock."""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from simulator import statuses
from simulator.app import SimulatorApp
from simulator.auth import TokenService
from simulator.changes import SUMMARY_KEYS, advance_hour, change_statuses
from simulator.config import Faults, SimulatorConfig
from simulator.faults import FaultInjector
from simulator.generate import company_rng, generate_world
from simulator.server import ServerHandle, serve
from simulator.stats import Stats
from simulator.timefmt import offset_ts
from simulator.webhooks import (
    COUNTERS,
    Transport,
    WebhookDelivery,
    WebhookSender,
    property_status_events,
    task_events,
)
from simulator.world import Company, Journal, World, gc_paused


class Simulator:
    """A local Breezeway API. `app` is a thread-safe WSGI callable; every read and change of
    the state holds `lock` (an RLock, so helpers may nest)."""

    def __init__(
        self, config: SimulatorConfig | None = None, webhook_transport: Transport | None = None
    ) -> None:
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
            for world in self.world_list:
                statuses.assign_missing(world, self.config, self.start)
        self._worlds = {w.company.company_id: w for w in self.world_list}
        # A copy, so two simulators built from one config do not share live faults.
        self._faults = copy.deepcopy(self.config.faults)
        secret = hashlib.sha256(f"breezeway-simulator-signing:{self.config.seed}".encode()).digest()
        self.tokens = TokenService(secret, self.companies, lambda: self._faults)
        self.injector = FaultInjector(self.config.seed)
        self.stats_counter = Stats()
        self.webhook_sender = WebhookSender(
            self.lock,
            f"breezeway-sim|{self.config.seed}|{self.config.scale!r}|webhook-delivery",
            webhook_transport,
        )
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

    def tick(self, hours: int = 1, deliver: bool = True) -> dict[str, Any]:
        """Advance simulated time hour by hour, changing records; returns counts per change.

        The webhook events of each hour are queued at its end; with `deliver` they are sent
        once the hours are done and the lock is released (else they wait for
        deliver_webhooks()). summary["webhooks"] has the delivery's counts.
        """
        if hours < 0:
            raise ValueError("hours must not be negative")
        totals: Counter = Counter()
        per_company: dict[str, Counter] = {w.company.code: Counter() for w in self.world_list}
        with self.lock:
            for _ in range(int(hours)):
                self._hours += 1
                self._now = self.start + timedelta(hours=self._hours)
                for world in self.world_list:
                    done = self._advance(world)
                    per_company[world.company.code].update(done)
                    totals.update(done)
            now = self._now
            waiting = len(self.webhook_sender.queue)
        summary: dict[str, Any] = {"hours": int(hours), "now": offset_ts(now)}
        summary.update({key: totals.get(key, 0) for key in SUMMARY_KEYS})
        summary["by_company"] = {
            code: {key: counts.get(key, 0) for key in SUMMARY_KEYS if counts.get(key)}
            for code, counts in per_company.items()
        }
        if deliver:
            summary["webhooks"] = self.deliver_webhooks()
        else:
            summary["webhooks"] = {key: waiting if key == "queued" else 0 for key in COUNTERS}
        return summary

    def _advance(self, world: World) -> Counter:
        """One hour of one company (lock held): the changes, then statuses, then events."""
        hour, now = self._hours, self._now
        subscription = self.webhook_sender.subscriptions.get(world.company.company_id)
        # Changes are journaled only when someone will receive their events.
        journal = Journal() if subscription and subscription.tasks_url else None
        world.journal = journal
        try:
            rng = company_rng(self.config, world.index, f"tick|{hour}")
            done = advance_hour(world, self.config, now, rng)
        finally:
            world.journal = None
        status_rng = company_rng(self.config, world.index, f"status|{hour}")
        changed = change_statuses(world, self.config, now, status_rng)
        done["property_statuses_changed"] += len(changed)
        if subscription is not None:
            # Serialised here, under the lock: the events show the state at the end of the
            # hour, and the state keeps moving once the lock is released.
            queue = self.webhook_sender.queue
            if journal is not None:
                key_rng = company_rng(self.config, world.index, f"webhook|tasks|{hour}")
                queue += task_events(world, journal, now, key_rng)
            if subscription.property_status_url:
                key_rng = company_rng(self.config, world.index, f"webhook|property-status|{hour}")
                queue += property_status_events(world, changed, key_rng)
        return done

    # --- webhooks ------------------------------------------------------------------------

    def subscribe_webhooks(
        self,
        company_id: int,
        *,
        tasks_url: str | None = None,
        property_status_url: str | None = None,
        secret: str = "",
        handshake: bool = True,
    ) -> dict[str, dict[str, Any]]:
        """Replace the company's webhook subscription; the handshake (a test_webhook_event)
        goes to each given URL unless `handshake` is False. Returns per kind ("tasks",
        "property-status") {"url", "status", "ok"}. KeyError for an unknown company,
        ValueError for bad values."""
        if isinstance(company_id, bool) or not isinstance(company_id, int):
            raise ValueError("company_id must be an integer")
        if company_id not in self._worlds:
            raise KeyError(company_id)
        return self.webhook_sender.subscribe(
            company_id, tasks_url, property_status_url, secret, handshake, self.now
        )

    def unsubscribe_webhooks(self, company_id: int) -> bool:
        """Stop the company's webhooks and drop its queued events; False if not subscribed."""
        return self.webhook_sender.unsubscribe(company_id)

    def webhook_delivery(self, **changes: Any) -> WebhookDelivery:
        """Change delivery settings (WebhookDelivery fields); returns a copy of them."""
        return self.webhook_sender.configure(changes)

    def deliver_webhooks(self) -> dict[str, int]:
        """Send every queued event now (outside the lock); returns the delivery's counts."""
        return self.webhook_sender.deliver()

    def webhook_state(self) -> dict[str, Any]:
        """Subscriptions (secrets masked), delivery settings and counters."""
        return self.webhook_sender.state()

    @property
    def webhook_log(self) -> list[dict[str, Any]]:
        """Every event sent or dropped (and handshakes), oldest first; the last 100,000."""
        return self.webhook_sender.log

    def clear_webhook_log(self) -> None:
        with self.lock:
            self.webhook_sender.log.clear()

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
