"""Webhook sender: subscriptions, the events of each simulated hour, and their delivery."""

from __future__ import annotations

import dataclasses
import http.client
import json
import math
import random
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from simulator.timefmt import offset_ts
from simulator.world import Journal, World, served

# (url, body, headers, timeout) -> HTTP status; 0 (or an exception) for a connection error.
Transport = Callable[[str, bytes, dict[str, str], float], int]

TASKS = "tasks"
PROPERTY_STATUS = "property-status"
KINDS = (TASKS, PROPERTY_STATUS)
HANDSHAKE = "test_webhook_event"
PROPERTY_STATUS_EVENT = "property-status-changed"
LOG_LIMIT = 100_000  # log entries kept (the oldest go first)
COUNTERS = ("queued", "delivered", "dropped", "duplicated", "failed")


@dataclass
class WebhookDelivery:
    """How events travel: drop_rate is the share never sent, duplicate_rate the share sent
    twice (identical bytes), reorder_window shuffles the sends within consecutive windows of
    that many (0 or 1: in order), timeout is each POST's limit in seconds."""

    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder_window: int = 0
    timeout: float = 10.0

    def __post_init__(self) -> None:
        for name in ("drop_rate", "duplicate_rate"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number between 0 and 1")
            setattr(self, name, float(value))
        window = self.reorder_window
        if isinstance(window, bool) or not isinstance(window, int) or window < 0:
            raise ValueError("reorder_window must be a whole number, 0 or more")
        if not _is_number(self.timeout) or not 0 < self.timeout < math.inf:
            raise ValueError("timeout must be a positive number of seconds")
        self.timeout = float(self.timeout)

    def replace(self, changes: dict[str, Any]) -> WebhookDelivery:
        """A copy with `changes` applied; ValueError on unknown fields or bad values."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"unknown webhook delivery fields: {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Subscription:
    """One company's webhook URLs (None: that kind is not sent) and shared secret."""

    company_id: int
    tasks_url: str | None
    property_status_url: str | None
    secret: str

    def url(self, kind: str) -> str | None:
        return self.tasks_url if kind == TASKS else self.property_status_url

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers["X-Webhook-Secret"] = self.secret
        return headers

    def as_dict(self) -> dict[str, Any]:
        """For display: the secret is masked."""
        return {
            "company_id": self.company_id,
            "tasks_url": self.tasks_url,
            "property_status_url": self.property_status_url,
            "secret": "***" if self.secret else "",
        }


@dataclass(frozen=True)
class Event:
    """A queued event; `body` is serialised when the event is built (the state moves on)."""

    company_id: int
    kind: str  # TASKS or PROPERTY_STATUS
    event_type: str
    object_id: str
    body: bytes


# --- events ---------------------------------------------------------------------------------


def task_events(world: World, journal: Journal, now: datetime, rng: random.Random) -> list[Event]:
    """One event per task touched in the hour, showing its state at the end of the hour.

    Deleted wins (even over created), then created (even if edited after), then
    task-cost-updated when costs were the only change, else task-updated. `rng` picks the
    spelling of the action key per event: the vendor sends `event_type` or `event`.
    """
    company_id = world.company.company_id
    created_at = offset_ts(now)
    events = []
    for task_id in journal.order:
        key = "event_type" if rng.random() < 0.5 else "event"
        if task_id in journal.deleted:
            action = "task-deleted"
            task: dict[str, Any] = {
                "id": task_id,
                "company_id": company_id,
                "home_id": journal.deleted[task_id],
            }
        else:
            record = world.tasks.get(task_id)
            if record is None:  # cannot happen: every deletion is journaled
                continue
            if task_id in journal.created:
                action = "task-created"
            elif journal.kinds.get(task_id) == {"costs"}:
                action = "task-cost-updated"
            else:
                action = "task-updated"
            task = served(record)
            task["company_id"] = company_id
            status = record["type_task_status"]
            # Null when the record's status object is null (a data quirk): the event tells no
            # more than GET /task/{id} does.
            task["status"] = {"code": status["code"], "name": status["name"]} if status else None
        body = {key: action, "task": task, "created_at": created_at}
        events.append(Event(company_id, TASKS, action, str(task_id), _encode(body)))
    return events


def property_status_events(
    world: World, changed: list[tuple[int, str]], rng: random.Random
) -> list[Event]:
    """One event per property whose status changed; no company_id (as the vendor sends
    them). `rng` picks `id` over `property_id` for about one event in five."""
    events = []
    for property_id, previous in changed:
        current = world.property_statuses[property_id]
        key = "id" if rng.random() < 0.2 else "property_id"
        body = {
            "event_type": PROPERTY_STATUS_EVENT,
            key: property_id,
            "status": current["status"],
            "previous_status": previous,
            "external_property_id": current["external_property_id"],
            "sub_statuses": current["sub_statuses"],
            "updated_at": current["updated_at"],
        }
        events.append(
            Event(
                world.company.company_id,
                PROPERTY_STATUS,
                PROPERTY_STATUS_EVENT,
                str(property_id),
                _encode(body),
            )
        )
    return events


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


# --- the default transport ------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        # A webhook is not followed elsewhere: a 3xx answer is a failed delivery.
        return None


# No proxies: subscribers are local receivers, and a proxy from the environment would
# swallow or reroute 127.0.0.1 posts.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def urllib_transport(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST with urllib; returns the HTTP status, or 0 when no answer came."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError):
        return 0


# --- the sender -----------------------------------------------------------------------------


class WebhookSender:
    """Subscriptions, the queue, delivery settings, counters and the log.

    State is guarded by `lock` (the simulator's); HTTP always happens outside it, so the
    receiver may call the simulator back while a delivery is under way.
    """

    def __init__(self, lock: threading.RLock, seed: str, transport: Transport | None) -> None:
        self.lock = lock
        self.transport: Transport = transport or urllib_transport
        # Drop, duplicate and reorder decisions: a stream of their own, drawn under the lock in
        # queue order, so the same calls on the same seed give the same log.
        self.rng = random.Random(seed)
        self.settings = WebhookDelivery()
        self.subscriptions: dict[int, Subscription] = {}
        self.queue: list[Event] = []
        self.log: list[dict[str, Any]] = []
        # Entries keep their bodies: lower this for long runs at large scales.
        self.log_limit = LOG_LIMIT
        self.totals: Counter = Counter()

    def subscribe(
        self,
        company_id: int,
        tasks_url: str | None,
        property_status_url: str | None,
        secret: str,
        handshake: bool,
        now: datetime,
    ) -> dict[str, dict[str, Any]]:
        """Replace the company's subscription, then send the handshake to each URL."""
        for name, url in (("tasks_url", tasks_url), ("property_status_url", property_status_url)):
            if url is not None:
                _check_url(name, url)
        if tasks_url is None and property_status_url is None:
            raise ValueError("give tasks_url, property_status_url or both")
        if not isinstance(secret, str) or any(c in secret for c in "\r\n"):
            raise ValueError("secret must be a string on one line")
        if not isinstance(handshake, bool):
            raise ValueError("handshake must be true or false")
        subscription = Subscription(company_id, tasks_url, property_status_url, secret)
        with self.lock:
            self.subscriptions[company_id] = subscription
            # Queued events of a kind the new subscription does not take have nowhere to go.
            self.queue = [
                e for e in self.queue if e.company_id != company_id or subscription.url(e.kind)
            ]
            timeout = self.settings.timeout
        results: dict[str, dict[str, Any]] = {}
        if not handshake:
            return results
        body = _encode({"event": HANDSHAKE, "created_at": offset_ts(now)})
        entries = []
        for kind in KINDS:
            url = subscription.url(kind)
            if url is None:
                continue
            status = self._post(url, body, subscription.headers(), timeout)
            ok = _ok(status)
            results[kind] = {"url": url, "status": status, "ok": ok}
            entries.append(
                _log_entry(
                    Event(company_id, kind, HANDSHAKE, "", body),
                    "delivered" if ok else "failed",
                    1,
                    status,
                )
            )
        with self.lock:
            self._append_log(entries)
        return results

    def unsubscribe(self, company_id: int) -> bool:
        """Forget the company's subscription and its queued events; False if there was none."""
        with self.lock:
            self.queue = [e for e in self.queue if e.company_id != company_id]
            return self.subscriptions.pop(company_id, None) is not None

    def configure(self, changes: dict[str, Any]) -> WebhookDelivery:
        with self.lock:
            self.settings = self.settings.replace(changes)
            return dataclasses.replace(self.settings)

    def deliver(self) -> dict[str, int]:
        """Send everything queued, in one thread; returns this delivery's counts.

        queued = delivered + dropped + failed (events); duplicated counts the events among
        delivered and failed that were sent twice. An event is delivered when a copy got a 2xx.
        """
        with self.lock:
            batch, self.queue = self.queue, []
            settings = self.settings
            subscriptions = dict(self.subscriptions)
            copies = []
            for _ in batch:
                # Two draws per event whatever the rates, so a lower rate drops a subset.
                dropped = self.rng.random() < settings.drop_rate
                twice = self.rng.random() < settings.duplicate_rate
                copies.append(0 if dropped else 2 if twice else 1)
            sends = [index for index, count in enumerate(copies) for _ in range(count)]
            window = settings.reorder_window
            if window > 1:
                for start in range(0, len(sends), window):
                    part = sends[start : start + window]
                    self.rng.shuffle(part)
                    sends[start : start + window] = part
        statuses: dict[int, list[int]] = {}
        for index in sends:
            event = batch[index]
            subscription = subscriptions.get(event.company_id)
            url = subscription.url(event.kind) if subscription else None
            if subscription is None or url is None:  # purged on (un)subscribe: cannot happen
                status = 0
            else:
                status = self._post(url, event.body, subscription.headers(), settings.timeout)
            statuses.setdefault(index, []).append(status)
        counts = Counter({key: 0 for key in COUNTERS})
        counts["queued"] = len(batch)
        entries = []
        for index, event in enumerate(batch):
            got = statuses.get(index, [])
            if not got:
                fate = "dropped"
            elif any(_ok(s) for s in got):
                fate = "delivered"
            else:
                fate = "failed"
            counts[fate] += 1
            if len(got) == 2:
                counts["duplicated"] += 1
            entries.append(_log_entry(event, fate, len(got), got[-1] if got else None))
        with self.lock:
            self._append_log(entries)
            self.totals.update({k: v for k, v in counts.items() if k != "queued"})
        return {key: counts[key] for key in COUNTERS}

    def state(self) -> dict[str, Any]:
        """Subscriptions (secrets masked), delivery settings and counters since the start."""
        with self.lock:
            counters = {key: self.totals.get(key, 0) for key in COUNTERS}
            counters["queued"] = len(self.queue)
            return {
                "subscriptions": [
                    self.subscriptions[c].as_dict() for c in sorted(self.subscriptions)
                ],
                "delivery": self.settings.as_dict(),
                "counters": counters,
            }

    def _post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        try:
            status = self.transport(url, body, dict(headers), timeout)
        except Exception:
            # Whatever a transport raises is a failed delivery, never a failed tick.
            return 0
        return status if isinstance(status, int) and not isinstance(status, bool) else 0

    def _append_log(self, entries: list[dict[str, Any]]) -> None:
        self.log.extend(entries)
        if len(self.log) > self.log_limit:
            del self.log[: len(self.log) - self.log_limit]


def _ok(status: int) -> bool:
    return 200 <= status < 300


def _check_url(name: str, url: object) -> None:
    if not isinstance(url, str):
        raise ValueError(f"{name} must be a string")
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or any(c.isspace() for c in url):
        raise ValueError(f"{name} must be an http or https URL")


def _log_entry(event: Event, fate: str, copies: int, status: int | None) -> dict[str, Any]:
    return {
        "company_id": event.company_id,
        "kind": event.kind,
        "event_type": event.event_type,
        "object_id": event.object_id,
        "fate": fate,
        "copies": copies,
        "status": status,
        "body": event.body,
    }
