"""Benchmark: the Breezeway webhook receiver as deployed, from acknowledgement to stored row.

The stack starts as README "Deploying" starts it: `scripts/serve.sh web` (gunicorn, gthread,
--web-workers x --web-threads, access log on, WEB_MAX_REQUESTS) and `scripts/serve.sh
worker` (one Celery worker, --worker-concurrency processes, default 1) against Redis (a queue of
the run's own, deleted at the end), on a scratch PostgreSQL database migrated with `manage.py
migrate` (dropped at the end unless --keep). The simulator (`python -m simulator serve`) runs as
a subprocess serving the API that processing calls (for each task event, the task's
requirements and comments). DEBUG is off and SECURE_SSL_REDIRECT=false (the TLS-terminating proxy
is left out); DATABASE_URL is as the README gives it, and each process keeps its PostgreSQL
session DATABASE_CONN_MAX_AGE seconds (the default, 60, unless --conn-max-age says otherwise;
0 measures a session per request and task). The region is synced once first
(run_region_sync, in this process), so every task's property is mirrored before its events come.
Everything shares the machine's cores, so each phase prints the setup and a CPU table: CPU
seconds per process group (from /proc: web, worker, simulator, PostgreSQL, Redis, this process,
and "other processes" for the rest of the machine) and the PostgreSQL sessions opened.

1. Acknowledgement, open loop: --rate task events/s for --seconds s. Each send is scheduled at
   a fixed time, whatever the earlier answers, and made from --senders threads (an httpx client
   each). The events are `task-updated` bodies shaped as the simulator's sender shapes them:
   the task as GET /task/{id} serves it (from GET /_sim/snapshot, tasks the mirror holds), with
   a created_at of its own so no two share a digest. Their content equals the source, so the
   mirror stays equal to it. Printed: sent, 2xx, non-2xx and errors, and acknowledgement
   latency p50/p95/p99/max measured from the scheduled send, so a server that falls behind is
   charged for the wait. The senders' own lateness is printed apart (it grows when every sender
   waits on an answer: the server's backlog). Then rows stored (the acknowledged event ids
   found in etl_webhook_events) and, once the worker has drained them, the statuses, the drain
   time and the event-to-row lag (outcome->>'lag_seconds'). That lag is a backlog, as expected:
   the burst is above what one worker processes. Targets: p99 under 50 ms; none lost (every
   event answered 2xx, stored, and out of `pending`).
2. Event-to-row lag at a rate one worker sustains: --lag-rate events/s (default: half the
   worker's throughput while draining phase 1) for --lag-seconds s, sent the same way; lag p50
   and p95 of the processed events. Target: p95 under 5 s.
3. Drops and the hourly sync: the simulator's sender is subscribed to the receiver (both kinds,
   handshake included) with drop_rate --drop-rate, then --hours simulated hours are ticked one
   at a time, each delivering its events at once (their lag is printed: here an hour's events
   arrive as one burst). Once the worker has processed them, the mirror is compared with the
   simulator's truth (tests/support/mirror.py mirror_differences, every entity). Then the
   hourly sync runs (run_region_sync, not a full sweep) and the mirror is compared again, along
   with the operational statuses of the properties whose status changed (webhooks alone set
   those). If differences remain, a full sweep follows, for reference. Printed: events queued,
   delivered and dropped (the simulator's counters), and differences before and after, by
   entity. Target: no difference in tasks, the pushed entity, after the hourly sync. Noted
   beside it: the other entities' differences (the hourly sync's own windows leave them, drops
   or not; the full sweep clears them) and the property statuses a dropped event left wrong
   (no API call serves them, so no sync can repair them).

Targets are printed as PASS/MISS lines beside the figures; nothing is asserted. A broken setup
(PostgreSQL or Redis unreachable, a process that does not start) ends with a message. Draining
phase 1 takes most of the run: at the defaults, 12,000 events for one worker.

Usage: .venv/bin/python bench/webhooks.py [--rate 200] [--seconds 60] [--scale 0.1]
       [--conn-max-age 60] [--keep]
"""

import argparse
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from scratch import ROOT, django_env, drop, url_for  # bench/scratch.py
from sync import (  # bench/sync.py
    Sim,
    create_databases,
    register_region,
    rule,
    setup_django,
    simulator,
    verdict,
)

BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/0")
SERVE = str(ROOT / "scripts" / "serve.sh")
SECRET = secrets.token_urlsafe(24)  # the region's webhook secret for this run
ACK_TIMEOUT = 10.0  # Breezeway wants a 2xx within 10 s: later is an error
TARGET_P99 = 0.050
TARGET_LAG_P95 = 5.0

# --- processes --------------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    proc: subprocess.Popen
    log: Path

    def tail(self, lines: int = 30) -> str:
        return "".join(self.log.read_text(errors="replace").splitlines(True)[-lines:])

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise SystemExit(
                f"{self.name} exited ({self.proc.returncode}); the end of {self.log}:\n"
                + self.tail()
            )

    def count(self, text: str) -> int:
        return self.log.read_text(errors="replace").count(text)


@contextmanager
def service(name: str, command: list[str], env: dict[str, str], logs: Path) -> Iterator[Service]:
    """A process in its own session (its group: it and its children, e.g. gunicorn's workers
    or the worker's pool), output to a log file; stopped on the way out, errors included."""
    log = logs / f"{name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Service(name, proc, log)
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the process's group (ours: it leads it), SIGKILL if it is not gone in 30 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return  # nothing of the group is left
        try:
            proc.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_for(what: str, ready: Callable[[], bool], process: Service, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        process.check()
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} not ready within {timeout:.0f} s:\n{process.tail()}")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def delete_queue(queue: str) -> None:
    """The run's queue and kombu's keys for it (after the worker stopped and gave back what it
    held)."""
    client = redis.Redis.from_url(BROKER)
    keys = list(client.scan_iter(match=f"*{queue}*"))
    if keys:
        client.delete(*keys)
    deadlines = "_kombu.binding_deadlines"  # shared by every queue of the database
    if client.type(deadlines) == b"zset":
        ours = [m for m in client.zrange(deadlines, 0, -1) if queue.encode() in m]
        if ours:
            client.zrem(deadlines, *ours)


# --- CPU per process group, from /proc --------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def proc_table() -> dict[int, tuple[str, int, float]]:
    """pid -> (command name, parent pid, CPU seconds of it and of its children it reaped)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        ticks = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        table[int(entry.name)] = (name, int(fields[1]), ticks / TICK)
    return table


def tree_cpu(table: dict[int, tuple[str, int, float]], roots: set[int]) -> float:
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [pid for pid in roots if pid in table]
    while todo:
        pid = todo.pop()
        total += table[pid][2]
        todo += children.get(pid, [])
    return total


def busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / TICK, sum(values) / TICK


@dataclass
class Meter:
    """CPU seconds per process group, and PostgreSQL sessions opened, between start() and
    stop()."""

    pids: dict[str, int]
    sessions: Callable[[], int]
    start_at: float = 0.0
    before: dict[str, float] = field(default_factory=dict)
    machine: tuple[float, float] = (0.0, 0.0)
    used: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    opened: int = 0

    def sample(self) -> dict[str, float]:
        table = proc_table()
        found = {name: tree_cpu(table, {pid}) for name, pid in self.pids.items()}
        for name, command in (("postgres", "postgres"), ("redis", "redis-server")):
            pids = {pid for pid, (comm, _, _) in table.items() if comm == command}
            # The server: its process whose parent is not one of them (the postmaster).
            found[name] = tree_cpu(table, {p for p in pids if table[p][1] not in pids})
        times = os.times()
        found["bench (load generator)"] = times.user + times.system
        return found

    def start(self) -> None:
        self.opened = -self.sessions()
        self.before, self.machine = self.sample(), busy_seconds()
        self.start_at = time.perf_counter()

    def stop(self) -> None:
        after, machine = self.sample(), busy_seconds()
        self.wall = time.perf_counter() - self.start_at
        self.used = {name: after[name] - self.before.get(name, 0.0) for name in after}
        self.busy, self.capacity = (a - b for a, b in zip(machine, self.machine, strict=True))
        self.opened += self.sessions()

    def report(self, label: str, events: int) -> None:
        cores = os.cpu_count() or 1
        print(f"CPU during {label} ({self.wall:.1f} s wall; {cores} cores = {cores * 100}%):")
        for name, seconds in self.used.items():
            share = seconds / self.wall if self.wall else 0.0
            each = f"{seconds / events * 1000:>7.1f} ms an event" if events else ""
            print(f"  {name:<24}{seconds:>7.1f} s {share:>6.0%} of a core {each}")
        others = self.busy - sum(self.used.values())
        print(
            f"  {'other processes':<24}{others:>7.1f} s {others / (self.wall or 1):>6.0%} of a core"
        )
        print(
            f"  the machine was busy {self.busy / (self.capacity or 1):.0%} of its capacity; "
            f"PostgreSQL sessions opened on the database: {self.opened:,}"
        )


# --- the simulator's control endpoints --------------------------------------------------------


def sim_post(sim: Sim, path: str, body: dict) -> Any:
    request = urllib.request.Request(
        sim.url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"simulator POST {path}: {exc.code} {exc.read()[:300]!r}") from None


# --- events and the open-loop sender ----------------------------------------------------------


def task_bodies(snapshot: dict, mirrored: set[str], count: int, start: datetime) -> list[bytes]:
    """`count` task-updated bodies shaped as simulator.webhooks.task_events shapes them (which
    needs the simulator's live state, so it cannot run here), cycling over the mirrored tasks;
    created_at differs per body, so no two are one delivery."""
    company = snapshot["company_id"]
    tasks = [t for t in snapshot["tasks"] if str(t["id"]) in mirrored]
    if not tasks:
        raise SystemExit("no task of the simulator is in the mirror: did the first sync run?")
    bodies = []
    for index in range(count):
        record = tasks[index % len(tasks)]
        status = record.get("type_task_status")
        task = {
            **record,
            "company_id": company,
            "status": {"code": status["code"], "name": status["name"]} if status else None,
        }
        at = start + timedelta(microseconds=index)
        body = {"event_type": "task-updated", "task": task, "created_at": at.isoformat()}
        bodies.append(json.dumps(body).encode())
    return bodies


def handshakes(count: int) -> list[bytes]:
    """Distinct test_webhook_event bodies: recorded as processed, nothing queued."""
    now = datetime.now(UTC)
    return [
        json.dumps(
            {
                "event": "test_webhook_event",
                "created_at": (now + timedelta(microseconds=i)).isoformat(),
            }
        ).encode()
        for i in range(count)
    ]


@dataclass
class Sent:
    due: float  # perf_counter seconds: when the send was scheduled
    started: float = math.nan
    done: float = math.nan
    status: int = 0
    error: str = ""
    event: int | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def latency(self) -> float:
        return self.done - self.due


@dataclass
class Load:
    sends: list[Sent]
    first: datetime  # wall clock of the first scheduled send
    wall: float  # from the first scheduled send to the last answer

    def answered(self) -> list[Sent]:
        return [s for s in self.sends if s.ok]

    def outcome(self) -> Counter:
        return Counter(str(s.status) if s.status else s.error for s in self.sends)


def blast(url: str, bodies: list[bytes], rate: float, senders: int) -> Load:
    """POST every body, the i-th at start + i/rate (open loop), from `senders` threads."""
    headers = {"Content-Type": "application/json", "X-Webhook-Secret": SECRET}
    local = threading.local()
    clients: list[httpx.Client] = []

    def post(body: bytes, sent: Sent) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=ACK_TIMEOUT, trust_env=False)
            clients.append(client)
        sent.started = time.perf_counter()
        try:
            response = client.post(url, content=body, headers=headers)
            sent.status = response.status_code
            if sent.ok:
                sent.event = response.json().get("event")
        except httpx.HTTPError as exc:
            sent.error = type(exc).__name__
        sent.done = time.perf_counter()

    pool = ThreadPoolExecutor(senders, thread_name_prefix="sender")
    try:
        # Warm-up: every sender thread opens its connection, with bodies that queue nothing;
        # not counted.
        warm = [Sent(0.0) for _ in range(senders * 2)]
        list(pool.map(post, handshakes(len(warm)), warm))
        first = datetime.now(UTC)
        start = time.perf_counter() + 0.1
        sends = [Sent(start + index / rate) for index in range(len(bodies))]
        for body, sent in zip(bodies, sends, strict=True):
            delay = sent.due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(post, body, sent)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # interrupted: the rest is not sent
        raise
    finally:
        pool.shutdown(wait=True)
        for client in clients:
            client.close()
    wall = max(s.done for s in sends) - start
    return Load(sends, first, wall)


def percentile(values: list[float], share: float) -> float:
    """Nearest rank; nan when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def spread(values: list[float], unit: float = 1000.0, suffix: str = "ms") -> str:
    return ", ".join(
        f"{name} {percentile(values, p) * unit:,.1f} {suffix}"
        for name, p in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
    )


# --- the database -----------------------------------------------------------------------------


class Events:
    """etl_webhook_events, read with a connection of our own (autocommit)."""

    def __init__(self, dbname: str) -> None:
        self.conn = psycopg.connect(url_for(dbname), autocommit=True)

    def close(self) -> None:
        self.conn.close()

    def last_id(self) -> int:
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM etl_webhook_events").fetchone()[
            0
        ]

    def sessions(self) -> int:
        """PostgreSQL sessions opened on the database so far (pg_stat_database, PG 14+)."""
        time.sleep(1.0)  # backends flush their counters at most once a second
        query = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        return self.conn.execute(query).fetchone()[0]

    def found(self, ids: list[int]) -> int:
        query = "SELECT count(*) FROM etl_webhook_events WHERE id = ANY(%s)"
        return self.conn.execute(query, (ids,)).fetchone()[0]

    def statuses(self, after: int, until: int | None = None) -> Counter:
        """Statuses of the events with ids in (after, until], handshakes left out; a pending
        event waiting for a retry counts as "pending (retry due)"."""
        rows = self.conn.execute(
            "SELECT CASE WHEN status = 'pending' AND next_attempt_at IS NOT NULL "
            "THEN 'pending (retry due)' ELSE status END, count(*) FROM etl_webhook_events "
            "WHERE id > %s AND id <= %s AND event_type <> 'test_webhook_event' GROUP BY 1",
            (after, until if until is not None else 2**62),
        ).fetchall()
        return Counter(dict(rows))

    def lags(self, after: int, until: int) -> list[float]:
        rows = self.conn.execute(
            "SELECT (outcome->>'lag_seconds')::float FROM etl_webhook_events "
            "WHERE id > %s AND id <= %s AND status = 'processed' "
            "AND event_type <> 'test_webhook_event'",
            (after, until),
        ).fetchall()
        return [lag for (lag,) in rows]

    def processed_since(self, after: int, until: int, since: datetime) -> int:
        query = (
            "SELECT count(*) FROM etl_webhook_events WHERE id > %s AND id <= %s "
            "AND processed_at >= %s AND event_type <> 'test_webhook_event'"
        )
        return self.conn.execute(query, (after, until, since)).fetchone()[0]

    def settle(
        self, after: int, until: int | None, worker: Service, timeout: float, retries: bool
    ) -> float:
        """Seconds until no event of the range is pending (with `retries`, also the ones
        waiting for a retry); gives up after `timeout`."""
        started = time.perf_counter()
        while True:
            counts = self.statuses(after, until)
            waiting = counts["pending"] + (counts["pending (retry due)"] if retries else 0)
            if not waiting:
                return time.perf_counter() - started
            worker.check()
            if time.perf_counter() - started > timeout:
                print(f"  ! gave up waiting after {timeout:.0f} s: {waiting} still pending")
                return time.perf_counter() - started
            time.sleep(0.5)


def mirrored_tasks(dbname: str, code: str) -> set[str]:
    with psycopg.connect(url_for(dbname), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT task_id FROM tasks WHERE region_code = %s AND deleted_at IS NULL", (code,)
        ).fetchall()
    return {task_id for (task_id,) in rows}


# --- the phases -------------------------------------------------------------------------------


@dataclass
class Stack:
    sim: Sim
    company: dict
    code: str
    dbname: str
    web_url: str
    web: Service
    worker: Service
    events: Events
    pids: dict[str, int]
    args: argparse.Namespace

    @property
    def tasks_url(self) -> str:
        return f"{self.web_url}/webhooks/breezeway/{self.code}/tasks/"

    def snapshot(self) -> dict:
        return self.sim.call("GET", f"/_sim/snapshot?company_id={self.company['company_id']}")

    def meter(self) -> Meter:
        return Meter(self.pids, self.events.sessions)

    def bodies(self, count: int) -> list[bytes]:
        mirrored = mirrored_tasks(self.dbname, self.code)
        return task_bodies(self.snapshot(), mirrored, count, datetime.now(UTC))


def report_load(load: Load, stored: int) -> None:
    answered = load.answered()
    late = [s.started - s.due for s in load.sends if not math.isnan(s.started)]
    bad = {k: v for k, v in load.outcome().items() if not k.startswith("2")}
    print(
        f"sent {len(load.sends):,} in {load.wall:.1f} s ({len(load.sends) / load.wall:.1f}/s); "
        f"2xx {len(answered):,}; non-2xx or errors {sum(bad.values()):,}"
        + (f" {dict(bad)}" if bad else "")
    )
    print(f"ack latency, scheduled send to answer: {spread([s.latency for s in answered])}")
    print(f"  the sender's lateness, scheduled to sent: {spread(late)}")
    print(f"  service time, sent to answer: {spread([s.done - s.started for s in answered])}")
    print(f"rows stored: {stored:,} of the {len(answered):,} event ids acknowledged")


def report_lag(lags: list[float], counts: Counter) -> None:
    print(f"statuses: {dict(sorted(counts.items()))}")
    print(f"event-to-row lag ({len(lags):,} processed): {spread(lags, 1.0, 's')}")


def phase_ack(stack: Stack) -> float:
    """Phase 1; returns the worker's throughput while draining (events/s)."""
    args = stack.args
    count = int(args.rate * args.seconds)
    rule(f"1. Acknowledgement: {args.rate:g} events/s for {args.seconds:g} s, open loop")
    bodies = stack.bodies(count)
    before = stack.events.last_id()
    boots = stack.web.count("Booting worker")
    meter = stack.meter()
    meter.start()
    load = blast(stack.tasks_url, bodies, args.rate, args.senders)
    meter.stop()
    burst_end = datetime.now(UTC)
    until = stack.events.last_id()
    ids = [s.event for s in load.answered() if s.event is not None]
    stored = stack.events.found(ids)
    report_load(load, stored)
    restarts = stack.web.count("Booting worker") - boots
    print(f"gunicorn workers restarted {restarts} time(s) meanwhile (WEB_MAX_REQUESTS)")
    counts = stack.events.statuses(before, until)
    print(
        f"when the last answer came: {counts['pending']:,} pending, "
        f"{sum(counts.values()) - counts['pending']:,} already processed by the worker"
    )
    meter.report("the burst", count)
    print("\nDraining (the worker works through the backlog) ...", flush=True)
    drain_meter = stack.meter()
    drain_meter.start()
    drain = stack.events.settle(before, until, stack.worker, args.drain_timeout, retries=True)
    drain_meter.stop()
    counts = stack.events.statuses(before, until)
    drained = stack.events.processed_since(before, until, burst_end)
    throughput = drained / drain if drain > 0 else 0.0
    print(
        f"drain time {drain:.1f} s after the last answer: {drained:,} events processed "
        f"meanwhile, {throughput:.1f}/s with {args.worker_concurrency} worker process(es)"
    )
    report_lag(stack.events.lags(before, until), counts)
    print(
        f"(a backlog, as expected: {count:,} events offered at {args.rate:g}/s to a worker "
        f"that processes ~{throughput:.0f}/s; phase 2 measures the lag at a rate it sustains)"
    )
    drain_meter.report("the drain", drained)
    p99 = percentile([s.latency for s in load.answered()], 0.99)
    lost = (len(load.sends) - len(load.answered())) + (len(ids) - stored)
    lost += counts["pending"] + counts["pending (retry due)"] + counts["failed"]
    verdict(
        p99 < TARGET_P99,
        f"ack p99 {p99 * 1000:,.1f} ms at {args.rate:g}/s offered "
        f"(target < {TARGET_P99 * 1000:.0f} ms)",
    )
    verdict(
        lost == 0,
        f"{lost:,} of {len(load.sends):,} events lost: not 2xx, not stored, still pending or "
        "failed (target 0)",
    )
    return throughput


def phase_lag(stack: Stack, throughput: float) -> None:
    args = stack.args
    rate = args.lag_rate or max(1.0, round(throughput / 2))
    how = "--lag-rate" if args.lag_rate else f"half the {throughput:.1f}/s drained in phase 1"
    rule(f"2. Event-to-row lag: {rate:g} events/s ({how}) for {args.lag_seconds:g} s")
    count = int(rate * args.lag_seconds)
    bodies = stack.bodies(count)
    before = stack.events.last_id()
    meter = stack.meter()
    meter.start()
    load = blast(stack.tasks_url, bodies, rate, args.senders)
    until = stack.events.last_id()
    drain = stack.events.settle(before, until, stack.worker, args.drain_timeout, retries=True)
    meter.stop()
    ids = [s.event for s in load.answered() if s.event is not None]
    report_load(load, stack.events.found(ids))
    lags = stack.events.lags(before, until)
    print(f"drained {drain:.1f} s after the last answer")
    report_lag(lags, stack.events.statuses(before, until))
    meter.report("the stream and its drain", count)
    p50, p95 = percentile(lags, 0.5), percentile(lags, 0.95)
    verdict(
        p95 < TARGET_LAG_P95 and len(lags) == count,
        f"lag p50 {p50:.2f} s, p95 {p95:.2f} s at {rate:g}/s, {args.worker_concurrency} "
        f"worker process(es); {len(lags):,} of {count:,} processed "
        f"(target p95 < {TARGET_LAG_P95:.0f} s)",
    )


def by_entity(differences: list[str]) -> dict[str, int]:
    return dict(Counter(d.split(" ", 1)[0].rstrip(":") for d in differences))


def mirrored_properties(code: str) -> set[str]:
    from breezeway.models import Property

    return set(Property.objects.filter(region_id=code).values_list("property_id", flat=True))


def status_differences(code: str, snapshot: dict, since: str, known: set[str]) -> tuple[int, int]:
    """(differing, changed): of the `known` properties (mirrored before the ticks) whose
    operational status changed after `since` (simulated time), how many the mirror holds with
    another status. (A property added by a tick gets its first status without an event.)"""
    from breezeway.models import Property

    after = datetime.fromisoformat(since)
    changed = {
        pid: (truth["status"], truth["sub_statuses"])
        for pid, truth in snapshot["property_statuses"].items()
        if pid in known and datetime.fromisoformat(truth["updated_at"]) > after
    }
    rows = Property.objects.filter(region_id=code, property_id__in=list(changed))
    stored = {
        pid: (status, sub_statuses)
        for pid, status, sub_statuses in rows.values_list(
            "property_id", "operational_status", "operational_sub_statuses"
        )
    }
    return sum(stored.get(pid) != truth for pid, truth in changed.items()), len(changed)


def compare(stack: Stack, label: str) -> list[str]:
    from tests.support.mirror import mirror_differences

    found = mirror_differences(stack.code, stack.snapshot(), limit=10**9)
    print(f"mirror differences {label}: {len(found):,} {by_entity(found) or ''}")
    return found


def phase_drops(stack: Stack) -> None:
    from etl.pipeline import SyncOptions, run_region_sync

    args = stack.args
    rule(
        f"3. Drops: the simulator's sender at drop_rate {args.drop_rate:g} for {args.hours} "
        "simulated hour(s), then the hourly sync"
    )
    start = compare(stack, "before the ticks (after phases 1 and 2)")
    since, known = stack.snapshot()["now"], mirrored_properties(stack.code)
    base = f"{stack.web_url}/webhooks/breezeway/{stack.code}"
    before = stack.events.last_id()
    subscription = {
        "company_id": stack.company["company_id"],
        "tasks_url": f"{base}/tasks/",
        "property_status_url": f"{base}/property-status/",
        "secret": SECRET,
    }
    answer = sim_post(stack.sim, "/_sim/webhooks", subscription)
    shaken = {kind: result["status"] for kind, result in answer["handshake"].items()}
    print(f"subscribed, handshake answers {shaken}")
    sim_post(stack.sim, "/_sim/webhooks/delivery", {"drop_rate": args.drop_rate})
    counters: Counter = Counter()
    started = time.perf_counter()
    for _ in range(args.hours):
        counters.update(stack.sim.call("POST", "/_sim/tick?hours=1")["webhooks"])
    ticking = time.perf_counter() - started
    settle = stack.events.settle(before, None, stack.worker, args.drain_timeout, retries=False)
    print(
        f"events queued {counters['queued']:,}, delivered {counters['delivered']:,}, dropped "
        f"{counters['dropped']:,}, failed {counters['failed']:,} (the simulator's counters; "
        f"ticks and deliveries {ticking:.1f} s, processed {settle:.1f} s after)"
    )
    report_lag(stack.events.lags(before, stack.events.last_id()), stack.events.statuses(before))
    print("(each simulated hour's events are sent at once, one after another: a burst)")
    found = compare(stack, "before the hourly sync")
    for line in [d for d in found if d.startswith("tasks")][:5]:
        print(f"  {line}")
    statuses_before = status_differences(stack.code, stack.snapshot(), since, known)
    started = time.perf_counter()
    runs = run_region_sync(stack.code)
    seconds = time.perf_counter() - started
    written = ", ".join(f"{r.entity} {r.rows_written}" for r in runs)
    failed = [f"{r.entity} {r.status}" for r in runs if r.status != "success"]
    policy = next((r.child_policy for r in runs if r.entity == "tasks"), "?")
    print(
        f"hourly sync: {seconds:.1f} s, {'; '.join(failed) or 'every entity success'}, task "
        f"child policy {policy!r}; rows written: {written}"
    )
    waiting = stack.events.statuses(before)["pending (retry due)"]
    if waiting:
        print(f"waiting for {waiting} event(s) to be retried (WEBHOOK_RETRY_DELAYS) ...")
        stack.events.settle(before, None, stack.worker, args.retry_timeout, retries=True)
    remaining = compare(stack, "after the hourly sync")
    for line in remaining[:8]:
        print(f"  {line}")
    tasks_left = [d for d in remaining if d.startswith("tasks")]
    tasks_before = [d for d in found if d.startswith("tasks")]
    statuses_after = status_differences(stack.code, stack.snapshot(), since, known)
    print(
        "property operational statuses changed in the ticks and differing in the mirror: "
        f"{statuses_before[0]} of {statuses_before[1]} before the sync, "
        f"{statuses_after[0]} of {statuses_after[1]} after (no API call serves them: only "
        "webhooks set them)"
    )
    print(f"events of this phase: {dict(sorted(stack.events.statuses(before).items()))}")
    if remaining:
        started = time.perf_counter()
        run_region_sync(stack.code, None, SyncOptions(full_sweep=True))
        swept = time.perf_counter() - started
        after_sweep = compare(stack, f"after a full sweep ({swept:.1f} s), for reference")
        if not tasks_left and not after_sweep:
            print(
                "(left by the hourly sync in entities no webhook carries, and cleared by the "
                "full sweep: a property or reservation gone from the API leaves the mirror "
                "after its second missed complete listing, and incremental reservation "
                "listings are not complete)"
            )
    verdict(
        not tasks_left,
        f"tasks, the pushed entity: {len(tasks_left)} differences after the hourly sync "
        f"(before it {len(tasks_before)}; {counters['dropped']} deliveries dropped; target 0)",
    )
    others = len(remaining) - len(tasks_left)
    print(
        f"NOTE  other entities: {others} differences after the hourly sync (before the ticks "
        f"{len(start)}), not carried by webhooks: records removed from the API, which only "
        "complete listings delete, drops or not; the daily full sweep clears them"
    )
    print(
        f"NOTE  property operational statuses: {statuses_after[0]} of {statuses_after[1]} "
        "changed ones differ after the hourly sync: no API call serves them, so a dropped "
        "status event stays until the property's next status change"
    )


# --- the benchmark ----------------------------------------------------------------------------


def check_services() -> None:
    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise SystemExit(
            f"Redis is unreachable at {BROKER} ({exc}); set BENCH_BROKER_URL."
        ) from None
    try:
        psycopg.connect(url_for("postgres"), connect_timeout=3).close()
    except psycopg.Error as exc:
        raise SystemExit(f"PostgreSQL is unreachable ({exc}); set TEST_DATABASE_URL.") from None


def service_env(
    args: argparse.Namespace, dbname: str, code: str, port: int, queue: str, logs: Path
) -> dict[str, str]:
    """The environment of the web and worker processes (README "Deploying", 2.)."""
    from etl.credentials import webhook_secret_variable

    kept = {} if args.conn_max_age is None else {"DATABASE_CONN_MAX_AGE": str(args.conn_max_age)}
    return django_env(
        dbname,
        **kept,
        PYTHON=sys.executable,
        SECRET_KEY=secrets.token_urlsafe(50),  # the web process refuses a weak one
        LOG_LEVEL="INFO",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",  # the proxy that would terminate TLS is left out
        STATIC_ROOT=str(logs / "static"),
        CELERY_BROKER_URL=BROKER,
        CELERY_QUEUE=queue,
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY=str(args.web_workers),
        WEB_THREADS=str(args.web_threads),
        WORKER_CONCURRENCY=str(args.worker_concurrency),
        # The simulator has no rate limit here: measure the processing, not the pacing.
        SYNC_RATE_LIMIT="0",
        **{webhook_secret_variable(code): SECRET},
    )


def connections_kept(seconds: int | None) -> str:
    if seconds is None:
        from django.conf import settings

        seconds = settings.DATABASE_CONN_MAX_AGE
    return f"kept {seconds} s (DATABASE_CONN_MAX_AGE)" if seconds else "not kept (a session each)"


def run(args: argparse.Namespace, stack: ExitStack, dbname: str, logs: Path) -> None:
    print(f"Starting the simulator at scale {args.scale} ...", flush=True)
    sim = stack.enter_context(simulator(args.scale, args.seed))
    company = sim.company()
    setup_django(dbname, sim, company)
    from etl.pipeline import run_region_sync

    code = register_region(company)
    started = time.perf_counter()
    runs = run_region_sync(code)
    failed = [f"{r.entity} {r.status}" for r in runs if r.status != "success"]
    if failed:
        raise SystemExit(f"the first sync did not succeed: {', '.join(failed)}")
    print(f"first sync of region {code}: {time.perf_counter() - started:.1f} s")

    queue = f"bw-bench-webhooks-{uuid.uuid4().hex[:8]}"
    stack.callback(delete_queue, queue)  # runs after the worker has stopped
    port = free_port()
    env = service_env(args, dbname, code, port, queue, logs)
    print("Starting the worker and the web process ...", flush=True)
    niced = ["nice", "-n", str(args.worker_nice)] if args.worker_nice else []
    worker = stack.enter_context(service("worker", [*niced, SERVE, "worker"], env, logs))
    web = stack.enter_context(service("web", [SERVE, "web"], env, logs))
    web_url = f"http://127.0.0.1:{port}"
    wait_for("the web process", lambda: healthy(web_url), web)
    wait_for("the worker", lambda: worker.count("ready.") > 0, worker)
    print(
        f"setup: {os.cpu_count()} cores shared by everything; gunicorn {args.web_workers} "
        f"worker(s) x {args.web_threads} thread(s) (gthread); Celery worker --concurrency "
        f"{args.worker_concurrency} (prefork)"
        + (f" under nice -n {args.worker_nice}" if args.worker_nice else "")
        + "; database connections "
        + connections_kept(args.conn_max_age)
        + f"; {args.senders} sender threads; logs in {logs}",
        flush=True,
    )
    events = Events(dbname)
    stack.callback(events.close)
    pids = {"web (gunicorn)": web.proc.pid, "worker (celery)": worker.proc.pid}
    pids["simulator"] = sim_pid()
    bench = Stack(sim, company, code, dbname, web_url, web, worker, events, pids, args)
    print()
    throughput = phase_ack(bench)
    print()
    phase_lag(bench, throughput)
    print()
    phase_drops(bench)


def sim_pid() -> int:
    """The simulator's process: our child running `-m simulator`."""
    for pid, (_, parent, _) in proc_table().items():
        if parent != os.getpid():
            continue
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"simulator" in command:
            return pid
    raise SystemExit("cannot find the simulator's process")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="phase 1 events/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="phase 1 duration")
    parser.add_argument("--scale", type=float, default=0.1, help="the simulator's scale")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--senders", type=int, default=64, help="sender threads")
    parser.add_argument("--lag-rate", type=float, default=0.0, help="phase 2 events/s")
    parser.add_argument("--lag-seconds", type=float, default=30.0)
    parser.add_argument("--hours", type=int, default=6, help="phase 3 simulated hours")
    parser.add_argument("--drop-rate", type=float, default=0.05)
    parser.add_argument("--web-workers", type=int, default=2, help="WEB_CONCURRENCY")
    parser.add_argument("--web-threads", type=int, default=4, help="WEB_THREADS")
    parser.add_argument("--worker-concurrency", type=int, default=1)
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="run the worker under nice -n N: the web process first, as on separate machines",
    )
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    parser.add_argument("--retry-timeout", type=float, default=120.0, help="phase 3 retries")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=None,
        help="DATABASE_CONN_MAX_AGE of the web and worker (default: the setting's, 60)",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the database and the logs.")
    args = parser.parse_args()
    if args.rate <= 0 or args.seconds <= 0 or args.lag_seconds <= 0 or args.lag_rate < 0:
        parser.error("--rate, --seconds and --lag-seconds must be positive")
    if not 0 < args.scale <= 5 or not 0 <= args.drop_rate <= 1 or args.hours < 1:
        parser.error("--scale must be in (0, 5], --drop-rate in [0, 1], --hours at least 1")

    # A plain `kill` unwinds like Ctrl-C does: the processes stop, the database goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    dbname = f"bw_bench_webhooks_{uuid.uuid4().hex[:6]}"
    check_services()
    with ExitStack() as stack:
        logs = Path(tempfile.mkdtemp(prefix="bw-bench-webhooks-"))
        # Registered first, so it runs last: after every process is stopped.
        if args.keep:
            stack.callback(lambda: print(f"\nkept database {dbname}, logs in {logs}"))
        else:
            stack.callback(shutil.rmtree, logs, ignore_errors=True)
            stack.callback(drop, dbname)
        print(f"Creating and migrating {dbname} ...", flush=True)
        create_databases([dbname])
        run(args, stack, dbname, logs)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit("interrupted; the processes were stopped") from None
