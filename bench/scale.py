"""Benchmark: the hourly sync of many regions on 1, 2 and 4 Celery worker processes.

The simulator (`python -m simulator serve`, a subprocess) serves --companies companies (one
region each, its own credential) at --scale, with --latency-ms added to every data request,
as a remote API would. Each region is registered with its credentials in the environment, on
a scratch PostgreSQL database migrated with `manage.py migrate` (dropped at the end unless
--keep). Workers are started as README "Deploying" starts them, `scripts/serve.sh worker`
with WORKER_CONCURRENCY=1: one process each, the Redis broker (a queue of the run's own,
deleted at the end), DEBUG off, the default SYNC_CONCURRENCY request threads per sync, and a
SYNC_RATE_LIMIT of --rate-limit requests per second per credential (the default's 20).

1. The first sync of every region (a full sweep each) on the largest worker count, for
   reference: wall time and API calls.
2. For each worker count in --workers: the simulator advances one hour (its change model:
   edits, additions, removals in every company), --workers processes start, and once they are
   ready this process sends `sync_all` (as beat does each hour), which queues one sync_region
   per region. The time from the send to the last region's last run is the hour's sync time.
   Printed per worker count: that time, regions synced per hour per worker (what one worker
   process sustains, from this time), API calls per region for the hour (from the runs and
   from the simulator's counter), the speed-up over one worker, the CPU used (the machine's
   busy share, /proc/stat), the share of each region's sync its calls take at its credential's
   rate limit, and the bound: the cores when the machine is busy over 85 %, else none yet, with
   the worker count at which this CPU cost would reach it, and what sets each region's own
   pace: its credential's limit (its calls at that rate take most of its sync time: more
   workers cannot speed a region up, only sync more regions at once) or the API's latency.

Target: speed-up from 1 to 4 workers >= 3x, printed as PASS/MISS; nothing is asserted. Every
run must succeed and no 429 must come back (each credential's limit is far below the
simulator's, which is off), else the figures are not comparable and the benchmark says so.

Usage: .venv/bin/python bench/scale.py [--companies 50] [--scale 0.01] [--latency-ms 100]
       [--workers 1,2,4] [--rate-limit 20] [--keep]
"""

import argparse
import os
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from scratch import ROOT, django_env, drop  # bench/scratch.py
from sync import Sim, create_databases, rule, setup_django, simulator, verdict  # bench/sync.py
from webhooks import BROKER, SERVE, busy_seconds, delete_queue, service, wait_for

sys.path.insert(0, str(ROOT))

TARGET_SPEEDUP = 3.0
CORES_BUSY = 0.85  # the machine's busy share above which the cores are the bound
LIMIT_BOUND = 0.6  # a region's calls at its rate take this share of its sync: the limit binds


def worker_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("comma-separated whole numbers, e.g. 1,2,4") from None
    if not counts or min(counts) < 1 or counts != sorted(set(counts)):
        raise argparse.ArgumentTypeError("increasing whole numbers of 1 or more, e.g. 1,2,4")
    return counts


def positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


@dataclass
class Hour:
    workers: int
    wall: float
    regions: int
    calls: int  # from the runs
    served: int  # the simulator's counter
    statuses: dict[str, int]
    throttled: int
    waiting_share: float  # median over regions: the share of its sync the limit accounts for
    busy: float  # the machine's busy share

    @property
    def per_worker_hour(self) -> float:
        return self.regions / (self.wall / 3600) / self.workers


def worker_env(dbname: str, sim: Sim, companies: list[dict], queue: str, rate: float) -> dict:
    from etl.credentials import credential_variables

    env = django_env(
        dbname,
        DJANGO_SETTINGS_MODULE="breezeway.settings",
        DEBUG="false",
        LOG_LEVEL="INFO",
        CELERY_BROKER_URL=BROKER,
        CELERY_QUEUE=queue,
        WORKER_CONCURRENCY="1",
        SYNC_RATE_LIMIT=str(rate),
        BREEZEWAY_API_URL=f"{sim.url}/public/inventory/v1",
        BREEZEWAY_AUTH_URL=f"{sim.url}/public/auth/v1",
    )
    for company in companies:
        id_var, secret_var = credential_variables(company["code"])
        env[id_var], env[secret_var] = company["client_id"], company["client_secret"]
    return env


def start_workers(stack: ExitStack, count: int, env: dict, logs: Path, label: str) -> list:
    """`count` worker processes, ready; stopped when `stack` closes."""
    workers = [
        stack.enter_context(service(f"{label}-worker{i + 1}", [SERVE, "worker"], env, logs))
        for i in range(count)
    ]
    for worker in workers:
        wait_for("a worker", lambda w=worker: w.count("ready.") > 0, worker)
    return workers


def hour_of_syncs(sim: Sim, env: dict, logs: Path, workers: int, label: str, rate: float) -> Hour:
    """Start `workers` processes, send sync_all, wait for every region's runs; the figures."""
    from etl import tasks
    from etl.entities import ENTITY_NAMES
    from etl.models import SyncRun

    regions = len(sim.companies())
    with ExitStack() as stack:
        processes = start_workers(stack, workers, env, logs, label)
        sim.call("POST", "/_sim/stats/reset")
        since = SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        runs = SyncRun.objects.filter(pk__gt=since)
        busy_before = busy_seconds()
        started = time.perf_counter()
        tasks.sync_all.delay()
        expected = regions * len(ENTITY_NAMES)
        while runs.exclude(status=SyncRun.Status.RUNNING).count() < expected:
            for process in processes:
                process.check()
            if time.perf_counter() - started > 3600:
                raise SystemExit(f"{label}: the runs did not finish within an hour")
            time.sleep(0.1)
        wall = time.perf_counter() - started
        busy_after = busy_seconds()
    done = list(runs)
    statuses: dict[str, int] = {}
    for run in done:
        statuses[run.status] = statuses.get(run.status, 0) + 1
    per_region: dict[str, list] = {}
    for run in done:
        per_region.setdefault(run.region_id, []).append(run)
    shares = []
    for region_runs in per_region.values():
        seconds = sum((r.finished_at - r.started_at).total_seconds() for r in region_runs)
        calls = sum(r.api_calls for r in region_runs)
        shares.append(min(1.0, calls / rate / seconds) if rate and seconds else 0.0)
    busy, capacity = (a - b for a, b in zip(busy_after, busy_before, strict=True))
    return Hour(
        workers=workers,
        wall=wall,
        regions=regions,
        calls=sum(r.api_calls for r in done),
        served=sim.call("GET", "/_sim/stats")["requests"],
        statuses=statuses,
        throttled=sum(r.throttled for r in done),
        waiting_share=median(shares) if shares else 0.0,
        busy=busy / capacity if capacity else 0.0,
    )


def bound(hour: Hour) -> str:
    """What held the run back: the cores, else nothing (the work waits on the API)."""
    if hour.busy >= CORES_BUSY:
        return f"the cores (machine busy {hour.busy:.0%})"
    cores_at = hour.workers * CORES_BUSY / hour.busy if hour.busy else float("inf")
    pace = (
        "each region's pace set by its credential's limit"
        if hour.waiting_share >= LIMIT_BOUND
        else "each region's pace set by latency"
    )
    return f"none yet (cores near {cores_at:.0f} workers); {pace}"


def report(hours: list[Hour], rate: float) -> None:
    base = hours[0]
    rule(
        f"{'workers':>7} {'hour sync':>10} {'regions/h/worker':>17} {'calls/region/h':>15} "
        f"{'speed-up':>9} {'CPU busy':>9} {'limit share':>12}  bound"
    )
    for hour in hours:
        speedup = base.wall / hour.wall
        print(
            f"{hour.workers:>7} {hour.wall:>9.1f}s {hour.per_worker_hour:>17,.0f} "
            f"{hour.calls / hour.regions:>15,.1f} {speedup:>8.2f}x {hour.busy:>9.0%} "
            f"{hour.waiting_share:>12.0%}  {bound(hour)}"
        )
    print(
        "calls/region/h: API calls of one hourly run per region (the runs' count; the "
        "simulator's: " + ", ".join(f"{h.served / h.regions:,.1f}" for h in hours) + ")."
    )
    print(
        f"limit share: the median region's calls at its {rate:g}/s limit over its sync time "
        "(1 = the limit alone sets the pace)."
    )
    for hour in hours:
        if set(hour.statuses) != {"success"} or hour.throttled:
            print(
                f"WARNING  {hour.workers} worker(s): runs {hour.statuses}, {hour.throttled} "
                "429s: the figures are not comparable"
            )
    four = next((h for h in hours if h.workers == 4), None)
    if base.workers == 1 and four is not None:
        speedup = base.wall / four.wall
        verdict(
            speedup >= TARGET_SPEEDUP,
            f"speed-up from 1 to 4 workers {speedup:.2f}x (target >= {TARGET_SPEEDUP:g}x); "
            f"bound at 4: {bound(four)}",
        )


def run(args: argparse.Namespace, stack: ExitStack, dbname: str, logs: Path) -> None:
    print(
        f"Starting the simulator: {args.companies} companies at scale {args.scale}, "
        f"{args.latency_ms:g} ms latency ...",
        flush=True,
    )
    sim = stack.enter_context(
        simulator(args.scale, args.seed, args.latency_ms, companies=args.companies)
    )
    companies = sim.companies()
    queue = f"bw-bench-scale-{uuid.uuid4().hex[:8]}"
    os.environ.update(CELERY_BROKER_URL=BROKER, CELERY_QUEUE=queue)
    setup_django(dbname, sim, companies[0])
    from breezeway.models import Region

    Region.objects.bulk_create(
        Region(code=c["code"], name=c["name"], company_id=c["company_id"]) for c in companies
    )
    stack.callback(delete_queue, queue)
    env = worker_env(dbname, sim, companies, queue, args.rate_limit)
    print(
        f"setup: {os.cpu_count()} cores shared by everything; {len(companies)} regions; "
        f"workers: scripts/serve.sh worker, one process each; SYNC_RATE_LIMIT "
        f"{args.rate_limit:g}/s per credential; logs in {logs}",
        flush=True,
    )
    most = args.workers[-1]
    first = hour_of_syncs(sim, env, logs, most, "first", args.rate_limit)
    print(
        f"first sync (full sweeps) on {most} worker(s): {first.wall:.1f} s, "
        f"{first.calls / first.regions:,.0f} API calls per region, runs {first.statuses}"
    )
    print()
    hours = []
    for count in args.workers:
        sim.call("POST", "/_sim/tick?hours=1")
        print(f"an hour later, sync_all on {count} worker(s) ...", flush=True)
        hours.append(hour_of_syncs(sim, env, logs, count, f"hour{count}", args.rate_limit))
    print()
    report(hours, args.rate_limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--companies", type=int, default=50)
    parser.add_argument("--scale", type=positive, default=0.01)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--workers", type=worker_counts, default=[1, 2, 4])
    parser.add_argument("--rate-limit", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    if args.companies < 1:
        parser.error("--companies must be 1 or more")
    dbname = f"bench_scale_{os.getpid()}"
    logs = Path(ROOT / "var" / f"bench-scale-{os.getpid()}")
    logs.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        create_databases([dbname])
        if not args.keep:
            stack.callback(drop, dbname)
        run(args, stack, dbname, logs)


if __name__ == "__main__":
    main()
