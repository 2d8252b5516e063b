"""Webhook sender: property statuses, events of each hour, subscriptions, delivery, control."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator import Faults, Simulator, SimulatorConfig, WebhookDelivery
from simulator.__main__ import build_parser, main
from simulator.statuses import STATUSES
from simulator.timefmt import offset_ts
from simulator.webhooks import task_events
from simulator.world import COMPANY_STRIDE, Journal
from tests.simulator.conftest import START, Api, make_sim

ROOT = Path(__file__).resolve().parents[2]
TASKS_URL = "http://receiver.test/tasks"
STATUS_URL = "http://receiver.test/property-status"
HANDSHAKE = "test_webhook_event"
TASK_ACTIONS = {"task-created", "task-updated", "task-cost-updated", "task-deleted"}
ZERO = {"queued": 0, "delivered": 0, "dropped": 0, "duplicated": 0, "failed": 0}


class Recorder:
    """A transport that records every POST; `answer` gives the status (or raises)."""

    def __init__(self, answer: Callable[[str], int] | int = 200) -> None:
        self.posts: list[dict[str, Any]] = []
        self.answer = answer

    def __call__(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        assert isinstance(body, bytes)
        self.posts.append(
            {
                "url": url,
                "body": body,
                "json": json.loads(body),
                "headers": headers,
                "timeout": timeout,
            }
        )
        return self.answer(url) if callable(self.answer) else self.answer

    def events(self, url: str | None = None) -> list[dict[str, Any]]:
        """Posted bodies other than handshakes, optionally to one URL."""
        return [
            p["json"]
            for p in self.posts
            if (url is None or p["url"] == url) and p["json"].get("event") != HANDSHAKE
        ]


def hooked(transport: Any, **overrides: Any) -> Simulator:
    options: dict[str, Any] = {
        "seed": 1,
        "scale": 0.01,
        "companies": 2,
        "start": START,
        "faults": Faults(auth_min_interval=0),
    }
    options.update(overrides)
    return Simulator(SimulatorConfig(**options), webhook_transport=transport)


def subscribed(transport: Any, companies: tuple[int, ...] = (1001,), **overrides: Any) -> Simulator:
    sim = hooked(transport, **overrides)
    for company_id in companies:
        sim.subscribe_webhooks(
            company_id, tasks_url=TASKS_URL, property_status_url=STATUS_URL, handshake=False
        )
    return sim


def action(body: dict) -> str:
    """The event's action, whichever key spells it (exactly one does)."""
    keys = [k for k in ("event", "event_type") if k in body]
    assert len(keys) == 1, body
    return body[keys[0]]


def company_of(record_id: int) -> int:
    return 1000 + record_id // COMPANY_STRIDE


# --- property statuses ----------------------------------------------------------------------


def test_every_property_has_an_operational_status() -> None:
    sim = make_sim()
    truth = sim.snapshot(1001)
    statuses = truth["property_statuses"]
    assert set(statuses) == {p["id"] for p in truth["properties"]}
    tasks_of = Counter(t["home_id"] for t in truth["tasks"])
    task_home = {t["id"]: t["home_id"] for t in truth["tasks"]}
    for prop in truth["properties"]:
        status = statuses[prop["id"]]
        assert set(status) == {"status", "sub_statuses", "external_property_id", "updated_at"}
        assert status["status"] in STATUSES
        external = prop["reference_external_property_id"]
        assert status["external_property_id"] == (external if isinstance(external, str) else "")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", status["updated_at"])
        assert status["updated_at"] <= offset_ts(START)
        assert 0 <= len(status["sub_statuses"]) <= 3
        for sub in status["sub_statuses"]:
            assert set(sub) == {"name", "is_blocking", "tasks"}
            assert isinstance(sub["is_blocking"], bool) and len(sub["tasks"]) <= 2
            for task in sub["tasks"]:
                assert set(task) == {"id", "is_blocking"}
                assert task_home[task["id"]] == prop["id"] and tasks_of[prop["id"]]
    assert len({s["status"] for s in statuses.values()}) > 1
    assert make_sim().snapshot(1001)["property_statuses"] == statuses  # seeded


def test_statuses_follow_added_and_removed_properties() -> None:
    sim = make_sim(change_rate=0.2)
    before = sim.snapshot(1001)["property_statuses"]
    summary = sim.tick(hours=24)
    truth = sim.snapshot(1001)
    statuses = truth["property_statuses"]
    assert set(statuses) == {p["id"] for p in truth["properties"]}
    company = summary["by_company"]["sim1"]
    assert company["properties_added"] > 0 and company["properties_removed"] > 0
    assert summary["property_statuses_changed"] > 0
    changed = [pid for pid in set(before) & set(statuses) if before[pid] != statuses[pid]]
    assert changed
    for pid in changed:
        assert statuses[pid]["updated_at"] > offset_ts(START)
    for pid in set(statuses) - set(before):  # added: stamped when the property appeared
        assert offset_ts(START) < statuses[pid]["updated_at"] <= truth["now"]
    served = httpx.Client(transport=httpx.WSGITransport(app=sim.app), base_url="http://sim")
    over_http = served.get("/_sim/snapshot", params={"company_id": 1001}).json()
    served.close()
    assert over_http["property_statuses"] == {str(k): v for k, v in statuses.items()}


# --- events ---------------------------------------------------------------------------------


def test_handshake_on_subscribe() -> None:
    recorder = Recorder()
    sim = hooked(recorder)
    results = sim.subscribe_webhooks(
        1001, tasks_url=TASKS_URL, property_status_url=STATUS_URL, secret="s3cret"
    )
    assert results == {
        "tasks": {"url": TASKS_URL, "status": 200, "ok": True},
        "property-status": {"url": STATUS_URL, "status": 200, "ok": True},
    }
    assert [p["url"] for p in recorder.posts] == [TASKS_URL, STATUS_URL]
    for post in recorder.posts:
        assert post["json"] == {"event": HANDSHAKE, "created_at": offset_ts(START)}
        assert post["headers"] == {
            "Content-Type": "application/json",
            "X-Webhook-Secret": "s3cret",
        }
        assert post["timeout"] == 10.0
    assert [e["event_type"] for e in sim.webhook_log] == [HANDSHAKE, HANDSHAKE]
    assert sim.subscribe_webhooks(1002, tasks_url=TASKS_URL, handshake=False) == {}
    assert len(recorder.posts) == 2
    sim.subscribe_webhooks(1002, property_status_url=STATUS_URL)  # no secret: no header
    assert recorder.posts[-1]["headers"] == {"Content-Type": "application/json"}
    failing = hooked(Recorder(503))
    result = failing.subscribe_webhooks(1001, tasks_url=TASKS_URL)
    assert result["tasks"] == {"url": TASKS_URL, "status": 503, "ok": False}
    assert failing.webhook_log[-1]["fate"] == "failed"


def test_task_events_carry_the_task_as_get_task_serves_it() -> None:
    recorder = Recorder()
    sim = subscribed(recorder, change_rate=0.05)
    api = Api(sim, sim.companies[0])
    summary = sim.tick(hours=1)
    events = recorder.events(TASKS_URL)
    assert len(events) == summary["webhooks"]["delivered"] - len(recorder.events(STATUS_URL))
    actions = Counter(action(e) for e in events)
    assert actions["task-created"] and actions["task-updated"] and set(actions) <= TASK_ACTIONS
    stamp = offset_ts(sim.now)
    for event in events:
        assert set(event) == {"event" if "event" in event else "event_type", "task", "created_at"}
        assert event["created_at"] == stamp
        task = dict(event["task"])
        assert task.pop("company_id") == 1001
        if action(event) == "task-deleted":
            continue
        status = task.pop("status")
        assert task == api.json(f"/task/{task['id']}")  # the same state, the same record
        record_status = task["type_task_status"]
        assert status == (
            {"code": record_status["code"], "name": record_status["name"]}
            if record_status
            else None
        )
        assert task["updated_at"] == stamp
    api.http.close()


def test_deleted_tasks_and_the_tasks_of_removed_properties() -> None:
    recorder = Recorder()
    sim = subscribed(recorder, change_rate=0.2)
    removed_with_tasks = direct = 0
    for _ in range(48):
        before = {t["id"]: t["home_id"] for t in sim.snapshot(1001)["tasks"]}
        properties = {p["id"] for p in sim.snapshot(1001)["properties"]}
        start = len(recorder.posts)
        sim.tick(hours=1)
        after = sim.snapshot(1001)
        gone = set(before) - {t["id"] for t in after["tasks"]}
        removed = properties - {p["id"] for p in after["properties"]}
        deleted = {
            e["task"]["id"]: e["task"]
            for e in (p["json"] for p in recorder.posts[start:] if p["url"] == TASKS_URL)
            if action(e) == "task-deleted"
        }
        assert set(deleted) == gone
        for task_id, task in deleted.items():
            assert task == {"id": task_id, "company_id": 1001, "home_id": before[task_id]}
        removed_with_tasks += sum(1 for t in gone if before[t] in removed)
        direct += sum(1 for t in gone if before[t] not in removed)
        if removed_with_tasks and direct:
            break
    assert removed_with_tasks and direct


def test_one_event_per_task_per_hour() -> None:
    recorder = Recorder()
    sim = subscribed(recorder, change_rate=0.2)
    coalesced = False
    for _ in range(6):
        before = sim.snapshot(1001)
        old = {t["id"]: t for t in before["tasks"]}
        start = len(recorder.posts)
        summary = sim.tick(hours=1)["by_company"]["sim1"]
        after = sim.snapshot(1001)
        new = {t["id"]: t for t in after["tasks"]}
        events = [p["json"] for p in recorder.posts[start:] if p["url"] == TASKS_URL]
        ids = [e["task"]["id"] for e in events]
        assert len(ids) == len(set(ids))
        by_action: dict[str, set[int]] = {}
        for event in events:
            by_action.setdefault(action(event), set()).add(event["task"]["id"])
        stamp = after["now"]
        touched = {i for i, t in new.items() if t["updated_at"] == stamp}
        assert by_action.get("task-created", set()) == set(new) - set(old)
        assert by_action.get("task-deleted", set()) == set(old) - set(new)
        updated = by_action.get("task-updated", set()) | by_action.get("task-cost-updated", set())
        assert updated == touched - (set(new) - set(old))
        for task_id in by_action.get("task-cost-updated", ()):
            differs = {k for k in new[task_id] if new[task_id][k] != old[task_id][k]}
            assert differs <= {"costs", "updated_at"}, differs
            assert after["requirements"][task_id] == before["requirements"][task_id]
            assert after["comments"][task_id] == before["comments"][task_id]
        changes = sum(v for k, v in summary.items() if k.startswith("task") and k != "tasks_hidden")
        coalesced = coalesced or changes > len(events)
    assert coalesced  # some task changed twice in an hour and still sent one event


def test_coalescing_rules() -> None:
    sim = make_sim()
    world = sim.world(1001)
    a, b, c, d, e = sorted(world.tasks)[:5]
    journal = Journal()
    journal.task_created(a)
    journal.task_changed(a, "edit")
    journal.task_created(b)
    journal.task_deleted(b, world.tasks[b]["home_id"])
    journal.task_changed(c, "costs")
    journal.task_changed(c, "costs")
    journal.task_changed(d, "costs")
    journal.task_changed(d, "tags")
    journal.task_changed(e, "edit")
    journal.task_deleted(e, world.tasks[e]["home_id"])
    journal.task_changed(a, "costs")
    events = task_events(world, journal, sim.now, random.Random(1))
    assert [(ev.object_id, ev.event_type) for ev in events] == [
        (str(a), "task-created"),
        (str(b), "task-deleted"),
        (str(c), "task-cost-updated"),
        (str(d), "task-updated"),
        (str(e), "task-deleted"),
    ]


def test_property_status_events() -> None:
    recorder = Recorder()
    sim = hooked(recorder, change_rate=0.2)
    for company_id in (1001, 1002):
        sim.subscribe_webhooks(company_id, property_status_url=STATUS_URL, handshake=False)
    keys: Counter = Counter()
    for _ in range(8):
        before = {c: sim.snapshot(c)["property_statuses"] for c in (1001, 1002)}
        start = len(recorder.posts)
        summary = sim.tick(hours=1)
        after = {c: sim.snapshot(c)["property_statuses"] for c in (1001, 1002)}
        events = [p["json"] for p in recorder.posts[start:]]
        assert {p["url"] for p in recorder.posts[start:]} <= {STATUS_URL}  # no task events
        assert len(events) == summary["property_statuses_changed"] > 0
        for event in events:
            assert "company_id" not in event and "event" not in event
            assert event["event_type"] == "property-status-changed"
            key = "id" if "id" in event else "property_id"
            keys[key] += 1
            assert ("id" in event) != ("property_id" in event)
            company_id = company_of(event[key])
            truth = after[company_id][event[key]]
            assert {k: event[k] for k in truth} == truth
            assert event["previous_status"] == before[company_id][event[key]]["status"]
            assert event["previous_status"] != event["status"]
            assert event["updated_at"] == offset_ts(sim.now)
    assert keys["property_id"] > keys["id"] > 0


def test_both_spellings_of_the_action_key() -> None:
    recorder = Recorder()
    sim = subscribed(recorder, change_rate=0.1)
    sim.tick(hours=3)
    spelled = Counter("event" if "event" in e else "event_type" for e in recorder.events(TASKS_URL))
    assert spelled["event"] > 10 and spelled["event_type"] > 10


def test_unsubscribed_companies_send_nothing() -> None:
    recorder = Recorder()
    sim = subscribed(recorder, companies=(1001,), change_rate=0.1)
    summary = sim.tick(hours=3)
    assert summary["by_company"]["sim2"]["tasks_edited"] > 0
    for event in recorder.events(TASKS_URL):
        assert event["task"]["company_id"] == 1001
    for event in recorder.events(STATUS_URL):
        assert company_of(event.get("property_id", event.get("id"))) == 1001
    assert {e["company_id"] for e in sim.webhook_log} == {1001}
    sim.tick(hours=1, deliver=False)
    assert sim.unsubscribe_webhooks(1001) is True
    assert sim.deliver_webhooks() == ZERO  # its queued events went with it
    posts = len(recorder.posts)
    assert sim.tick(hours=2)["webhooks"] == ZERO
    assert len(recorder.posts) == posts
    assert sim.unsubscribe_webhooks(1001) is False
    # A new subscription without a task URL drops the queued task events only.
    sim.subscribe_webhooks(1001, tasks_url=TASKS_URL, property_status_url=STATUS_URL)
    sim.tick(hours=2, deliver=False)
    sim.subscribe_webhooks(1001, property_status_url=STATUS_URL, handshake=False)
    result = sim.deliver_webhooks()
    assert result["delivered"] > 0
    assert {p["url"] for p in recorder.posts[posts:]} == {TASKS_URL, STATUS_URL}  # handshakes
    assert all(e["kind"] == "property-status" for e in sim.webhook_log[-result["queued"] :])


# --- delivery -------------------------------------------------------------------------------


def _faulty_run(seed: int) -> tuple[Simulator, Recorder, list[tuple[int, int, int, int]]]:
    """Three hours under drops, duplicates and reordering; per tick: log and post ranges."""
    recorder = Recorder()
    sim = subscribed(recorder, companies=(1001, 1002), seed=seed, change_rate=0.1)
    sim.webhook_delivery(drop_rate=0.2, duplicate_rate=0.2, reorder_window=4)
    ranges = []
    for _ in range(3):
        log, posts = len(sim.webhook_log), len(recorder.posts)
        counts = sim.tick(hours=1)["webhooks"]
        assert counts["queued"] == counts["delivered"] + counts["dropped"] + counts["failed"]
        assert counts["queued"] == len(sim.webhook_log) - log
        ranges.append((log, len(sim.webhook_log), posts, len(recorder.posts)))
    return sim, recorder, ranges


def test_drops_duplicates_and_reordering_are_seeded() -> None:
    sim, recorder, ranges = _faulty_run(1)
    again, recorder_again, _ = _faulty_run(1)
    assert sim.webhook_log == again.webhook_log
    assert [p["body"] for p in recorder.posts] == [p["body"] for p in recorder_again.posts]
    assert sim.webhook_log != _faulty_run(2)[0].webhook_log
    fates = Counter(e["fate"] for e in sim.webhook_log)
    assert fates["dropped"] > 0 and fates["delivered"] > 0 and fates["failed"] == 0
    reordered = False
    for log_start, log_end, post_start, post_end in ranges:
        entries = sim.webhook_log[log_start:log_end]
        sends = [e["body"] for e in entries for _ in range(e["copies"])]
        posted = [p["body"] for p in recorder.posts[post_start:post_end]]
        for entry in entries:
            if entry["fate"] == "dropped":
                assert (entry["copies"], entry["status"]) == (0, None)
            else:
                assert entry["copies"] in (1, 2) and entry["status"] == 200
            assert posted.count(entry["body"]) == entry["copies"]
        # Shuffled within consecutive windows of four sends, never across them.
        for i in range(0, len(sends), 4):
            assert sorted(posted[i : i + 4]) == sorted(sends[i : i + 4])
        reordered = reordered or posted != sends
    assert reordered
    assert any(e["copies"] == 2 for e in sim.webhook_log)
    totals = sim.webhook_state()["counters"]
    assert totals["delivered"] + totals["dropped"] + totals["failed"] == sum(
        1 for e in sim.webhook_log if e["event_type"] != HANDSHAKE
    )
    assert totals["duplicated"] == sum(1 for e in sim.webhook_log if e["copies"] == 2)


def test_in_order_without_faults() -> None:
    recorder = Recorder()
    sim = subscribed(recorder, change_rate=0.1)
    counts = sim.tick(hours=2)["webhooks"]
    assert counts["queued"] == counts["delivered"] > 0
    assert counts["dropped"] == counts["duplicated"] == counts["failed"] == 0
    assert [p["body"] for p in recorder.posts] == [e["body"] for e in sim.webhook_log]
    for entry in sim.webhook_log:
        body = json.loads(entry["body"])
        if entry["kind"] == "tasks":
            assert entry["event_type"] == action(body)
            assert entry["object_id"] == str(body["task"]["id"])
        else:
            assert entry["kind"] == "property-status"
            assert entry["object_id"] == str(body.get("property_id", body.get("id")))
    sim.clear_webhook_log()
    assert sim.webhook_log == []


def test_failed_deliveries_never_break_a_tick() -> None:
    def answer(url: str) -> int:
        if url == STATUS_URL:
            raise ConnectionRefusedError("nobody listens")
        return 500

    sim = subscribed(Recorder(answer), change_rate=0.1)
    counts = sim.tick(hours=2)["webhooks"]
    assert counts["queued"] == counts["failed"] > 0 and counts["delivered"] == 0
    statuses = {(e["kind"], e["status"]) for e in sim.webhook_log}
    assert statuses == {("tasks", 500), ("property-status", 0)}
    # An event is delivered when any copy got a 2xx: here the second copy of each.
    calls = Counter()

    def flaky(url: str) -> int:
        calls["n"] += 1
        return 500 if calls["n"] % 2 else 204

    sim = subscribed(Recorder(flaky), change_rate=0.1)
    sim.webhook_delivery(duplicate_rate=1.0)
    counts = sim.tick(hours=1)["webhooks"]
    assert counts["queued"] == counts["delivered"] == counts["duplicated"] > 0
    assert {(e["fate"], e["copies"], e["status"]) for e in sim.webhook_log} == {
        ("delivered", 2, 204)
    }


def test_queued_events_wait_for_deliver_webhooks() -> None:
    recorder = Recorder()
    sim = subscribed(recorder, change_rate=0.1)
    sim.webhook_delivery(reorder_window=1000)
    first = sim.tick(hours=1, deliver=False)["webhooks"]
    second = sim.tick(hours=1, deliver=False)["webhooks"]
    assert first == {**ZERO, "queued": first["queued"]} and first["queued"] > 0
    assert second == {**ZERO, "queued": second["queued"]} and second["queued"] > first["queued"]
    assert recorder.posts == [] and sim.webhook_state()["counters"]["queued"] == second["queued"]
    result = sim.deliver_webhooks()
    assert result == {**ZERO, "queued": second["queued"], "delivered": second["queued"]}
    stamps = [e["created_at"] for e in recorder.events(TASKS_URL)]
    assert set(stamps) == {offset_ts(START.replace(hour=13)), offset_ts(START.replace(hour=14))}
    assert stamps != sorted(stamps)  # the two hours were shuffled together
    for event in recorder.events(TASKS_URL):
        if action(event) != "task-deleted":
            assert event["task"]["updated_at"] == event["created_at"]  # built at its hour
    assert sim.deliver_webhooks() == ZERO
    assert sim.tick(hours=0)["webhooks"] == ZERO


def test_delivery_settings_are_validated() -> None:
    assert WebhookDelivery() == WebhookDelivery(0.0, 0.0, 0, 10.0)
    for bad in (
        {"drop_rate": 1.5},
        {"duplicate_rate": -0.1},
        {"drop_rate": "0.1"},
        {"reorder_window": -1},
        {"reorder_window": 2.5},
        {"reorder_window": True},
        {"timeout": 0},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            WebhookDelivery(**bad)
    sim = hooked(Recorder())
    assert sim.webhook_delivery(drop_rate=0.5, reorder_window=3).drop_rate == 0.5
    with pytest.raises(ValueError, match="unknown webhook delivery fields: bogus"):
        sim.webhook_delivery(bogus=1)
    with pytest.raises(ValueError, match="duplicate_rate"):
        sim.webhook_delivery(reorder_window=9, duplicate_rate=2)
    assert sim.webhook_delivery() == WebhookDelivery(0.5, 0.0, 3, 10.0)  # untouched
    with pytest.raises(KeyError):
        sim.subscribe_webhooks(7, tasks_url=TASKS_URL)
    for kwargs in (
        {},
        {"tasks_url": "ftp://receiver.test/"},
        {"tasks_url": "receiver.test/tasks"},
        {"tasks_url": TASKS_URL, "secret": "two\nlines"},
    ):
        with pytest.raises(ValueError):
            sim.subscribe_webhooks(1001, **kwargs)
    assert sim.webhook_state()["subscriptions"] == []


def test_generated_data_and_changes_do_not_depend_on_webhooks() -> None:
    plain = make_sim(change_rate=0.1)
    recorder = Recorder()
    hooks = subscribed(recorder, companies=(1001, 1002), change_rate=0.1)
    hooks.webhook_delivery(drop_rate=0.3, duplicate_rate=0.3, reorder_window=5)
    queued = subscribed(Recorder(), companies=(1002,), change_rate=0.1)
    for hour in range(5):
        want = plain.tick(hours=1)
        assert want["webhooks"] == ZERO
        for sim in (hooks, queued):
            got = sim.tick(hours=1, deliver=hour % 2 == 0)
            assert {k: v for k, v in got.items() if k != "webhooks"} == {
                k: v for k, v in want.items() if k != "webhooks"
            }
    for company_id in (1001, 1002):
        truth = plain.snapshot(company_id)
        assert hooks.snapshot(company_id) == truth == queued.snapshot(company_id)
    assert len(recorder.posts) > 0


# --- over real HTTP -------------------------------------------------------------------------


class Receiver:
    """A webhook receiver on 127.0.0.1: records posts, answers 500 under /fail, and may call
    the simulator back while answering (`callback`)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.callback: Callable[[], int] | None = None
        self.callback_statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                if receiver.callback is not None and self.path == "/tasks":
                    receiver.callback_statuses.append(receiver.callback())
                status = 500 if self.path.startswith("/fail") else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def bodies(self, path: str) -> list[bytes]:
        return [
            p["body"]
            for p in self.posts
            if p["path"] == path and json.loads(p["body"]).get("event") != HANDSHAKE
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_delivery_over_real_http(receiver: Receiver) -> None:
    sim = make_sim(change_rate=0.1)  # the default urllib transport
    handshake = sim.subscribe_webhooks(
        1001,
        tasks_url=f"{receiver.url}/tasks",
        property_status_url=f"{receiver.url}/fail/status",
        secret="s3cret",
    )
    assert handshake["tasks"]["status"] == 200 and handshake["property-status"]["status"] == 500
    nowhere = f"http://127.0.0.1:{_closed_port()}/hooks"
    assert sim.subscribe_webhooks(1002, tasks_url=nowhere)["tasks"]["status"] == 0
    sim.webhook_delivery(timeout=5)
    counts = sim.tick(hours=2)["webhooks"]
    assert counts["delivered"] > 0 and counts["failed"] > 0
    delivered = [e for e in sim.webhook_log if e["fate"] == "delivered" and e["copies"]]
    assert receiver.bodies("/tasks") == [
        e["body"] for e in delivered if e["event_type"] != HANDSHAKE
    ]
    for entry in sim.webhook_log:
        if entry["event_type"] == HANDSHAKE:
            continue
        if entry["kind"] == "property-status":
            assert (entry["fate"], entry["status"]) == ("failed", 500)
        elif entry["company_id"] == 1002:
            assert (entry["fate"], entry["status"]) == ("failed", 0)
        else:
            assert (entry["fate"], entry["status"]) == ("delivered", 200)
    post = next(p for p in receiver.posts if p["path"] == "/tasks")
    assert post["headers"]["Content-Type"] == "application/json"
    assert post["headers"]["X-Webhook-Secret"] == "s3cret"
    assert receiver.bodies("/fail/status")


def test_tick_request_delivers_with_the_lock_released(receiver: Receiver) -> None:
    sim = make_sim(change_rate=0.1)
    server = sim.serve(port=0)
    try:
        # The receiver calls the simulator back while answering: a tick request that kept the
        # lock during delivery would deadlock here until the POST timed out.
        receiver.callback = lambda: (
            httpx.get(
                f"{server.url}/_sim/snapshot", params={"company_id": 1001}, timeout=10
            ).status_code
        )
        sim.subscribe_webhooks(1001, tasks_url=f"{receiver.url}/tasks", handshake=False)
        sim.webhook_delivery(timeout=3)
        response = httpx.post(f"{server.url}/_sim/tick", params={"hours": 1}, timeout=60)
        counts = response.json()["webhooks"]
        assert counts["delivered"] == counts["queued"] > 0 and counts["failed"] == 0
        assert receiver.callback_statuses and set(receiver.callback_statuses) == {200}
    finally:
        server.close()


# --- control endpoints and command line -----------------------------------------------------


def test_control_endpoints() -> None:
    recorder = Recorder()
    sim = hooked(recorder, change_rate=0.1)
    http = httpx.Client(transport=httpx.WSGITransport(app=sim.app), base_url="http://sim")
    good = {"company_id": 1001, "tasks_url": TASKS_URL, "property_status_url": STATUS_URL}
    response = http.post("/_sim/webhooks", json={**good, "secret": "s3cret"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subscription"] == {**good, "secret": "***"}
    assert body["handshake"]["tasks"]["ok"] and body["handshake"]["property-status"]["ok"]
    assert len(recorder.posts) == 2 and recorder.posts[0]["headers"]["X-Webhook-Secret"]
    for bad in (
        b"not json",
        b"[1]",
        json.dumps({**good, "bogus": 1}).encode(),
        json.dumps({"tasks_url": TASKS_URL}).encode(),
        json.dumps({**good, "company_id": "1001"}).encode(),
        json.dumps({"company_id": 1001}).encode(),
        json.dumps({**good, "tasks_url": "ftp://receiver.test"}).encode(),
        json.dumps({**good, "handshake": "yes"}).encode(),
        json.dumps({**good, "secret": 5}).encode(),
    ):
        assert http.post("/_sim/webhooks", content=bad).status_code == 400, bad
    assert http.post("/_sim/webhooks", json={**good, "company_id": 7}).status_code == 404
    assert http.post("/_sim/webhooks", json={**good, "handshake": False}).status_code == 200
    assert len(recorder.posts) == 2

    state = http.get("/_sim/webhooks").json()
    assert state["subscriptions"] == [{**good, "secret": ""}]  # replaced, without a secret
    assert state["delivery"] == WebhookDelivery().as_dict()
    assert state["counters"] == ZERO

    delivery = http.post("/_sim/webhooks/delivery", json={"drop_rate": 0.5, "reorder_window": 3})
    assert delivery.status_code == 200
    assert delivery.json() == {**WebhookDelivery().as_dict(), "drop_rate": 0.5, "reorder_window": 3}
    for bad_settings in (
        {"drop_rate": 2},
        {"reorder_window": -1},
        {"reorder_window": 1.5},
        {"timeout": "soon"},
        {"bogus": 1},
        [],
    ):
        response = http.post("/_sim/webhooks/delivery", json=bad_settings)
        assert response.status_code == 400, bad_settings
    assert sim.webhook_delivery().reorder_window == 3
    http.post("/_sim/webhooks/delivery", json={"drop_rate": 0})

    tick = http.post("/_sim/tick", params={"hours": 1, "deliver": 0}).json()
    assert tick["webhooks"]["queued"] > 0 and tick["webhooks"]["delivered"] == 0
    assert http.get("/_sim/webhooks").json()["counters"]["queued"] == tick["webhooks"]["queued"]
    delivered = http.post("/_sim/webhooks/deliver").json()
    assert delivered["delivered"] == tick["webhooks"]["queued"]
    counters = http.get("/_sim/webhooks").json()["counters"]
    assert counters == {**ZERO, "delivered": delivered["delivered"]}
    assert http.post("/_sim/tick", params={"deliver": "maybe"}).status_code == 400
    assert http.get("/_sim/webhooks/deliver").status_code == 405
    assert http.post("/_sim/tick", params={"deliver": "1"}).json()["webhooks"]["delivered"] > 0

    assert http.delete("/_sim/webhooks", params={"company_id": 1001}).status_code == 200
    assert http.delete("/_sim/webhooks", params={"company_id": 1001}).status_code == 404
    assert http.delete("/_sim/webhooks").status_code == 400
    assert http.get("/_sim/webhooks").json()["subscriptions"] == []
    http.close()


def test_cli_webhooks_and_tick(receiver: Receiver, capsys: pytest.CaptureFixture[str]) -> None:
    sim = make_sim(change_rate=0.1)
    server = sim.serve(port=0)
    try:
        url = server.url
        assert (
            main(
                [
                    "webhooks",
                    "--url",
                    url,
                    "--company-id",
                    "1001",
                    "--tasks-url",
                    f"{receiver.url}/tasks",
                    "--secret",
                    "abc",
                ]
            )
            == 0
        )
        out = json.loads(capsys.readouterr().out)
        assert out["handshake"]["tasks"]["ok"] and out["subscription"]["secret"] == "***"
        assert receiver.posts[0]["headers"]["X-Webhook-Secret"] == "abc"
        assert main(["tick", "--url", url, "--hours", "2", "--no-deliver"]) == 0
        queued = json.loads(capsys.readouterr().out)["webhooks"]
        assert queued["queued"] > 0 and queued["delivered"] == 0 and len(receiver.posts) == 1
        assert main(["tick", "--url", url, "--hours", "0"]) == 0
        assert json.loads(capsys.readouterr().out)["webhooks"]["delivered"] == queued["queued"]
        args = ["webhooks", "--url", url, "--company-id", "1002", "--no-handshake"]
        assert main([*args, "--property-status-url", f"{receiver.url}/status"]) == 0
        assert len(receiver.posts) == 1 + queued["queued"]
        capsys.readouterr()
        assert main(["webhooks", "--url", url, "--company-id", "7", "--tasks-url", url]) == 1
        assert "HTTP 404" in capsys.readouterr().err
        with pytest.raises(SystemExit) as exit_:
            main(["webhooks", "--url", url, "--company-id", "1001"])
        assert exit_.value.code == 2
    finally:
        server.close()
    options = build_parser().parse_args(
        ["serve", "--webhook-drop-rate", "0.1", "--webhook-reorder-window", "4"]
    )
    assert (options.webhook_drop_rate, options.webhook_reorder_window) == (0.1, 4)
    assert options.webhook_duplicate_rate == 0.0
    for bad in (["--webhook-drop-rate", "2"], ["--webhook-reorder-window", "-1"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["serve", *bad])
    capsys.readouterr()


def test_cli_serve_applies_the_delivery_flags() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "serve",
            "--port",
            "0",
            "--scale",
            "0.005",
            "--companies",
            "1",
            "--webhook-drop-rate",
            "0.25",
            "--webhook-duplicate-rate",
            "0.5",
            "--webhook-reorder-window",
            "3",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"listening on (http://\S+)", line)
        assert found, line + (process.stderr.read() if process.poll() is not None else "")
        delivery = httpx.get(f"{found.group(1)}/_sim/webhooks", timeout=10).json()["delivery"]
        assert delivery == {
            "drop_rate": 0.25,
            "duplicate_rate": 0.5,
            "reorder_window": 3,
            "timeout": 10.0,
        }
    finally:
        process.kill()
        process.wait(timeout=10)
