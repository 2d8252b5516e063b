"""Benchmark: the admin does not slow down with data, before and after remediation.

Two pages are timed: the duplicate statistics dashboard (`/admin/dedup/duplicatesnapshot/`,
which renders stored snapshots instead of scanning) and the changelist of the largest table
(`/admin/breezeway/taskrequirement/`, paged by estimated counts), in three scratch databases
on the server of TEST_DATABASE_URL, all made from `legacy-schema.sql` + `make_legacy_db` the
way bench/remediation.py makes them:

1. nearly empty: generated at --empty-scale (0.005), adopted and fully migrated: a few thousand
   rows, the least that still fills the changelist's first page (100 rows; at scale 0.0001
   task_requirements keeps 3 rows after remediation, and the comparison would then measure
   rendering 100 rows against 3, not the size of the table);
2. before remediation: generated at --scale (0.2 is about 7.7 M child rows, 4.8 M of them in
   task_requirements), adopted with `migrate --fake-initial breezeway 0002`, plus the apps that
   do not need breezeway 0003 (auth, admin, contenttypes, sessions, django_celery_beat, dedup);
3. after remediation: a copy of 2 (CREATE DATABASE ... TEMPLATE) migrated fully.

Each state is ANALYZEd and gets a snapshot from `manage.py dedup_report --save` (its time is
printed: it is the scan the dashboard avoids). The pages are requested in-process with Django's
test Client, logged in as a superuser, in one worker subprocess per state (`bench/admin.py
--serve` with DATABASE_URL set, DEBUG off), the three states interleaved request by request so
they share the machine's load: a few warm-up requests, then the median wall time of --requests
requests, each checked to answer 200; one more request counts the queries.

Prints per state the rows of task_requirements, the time an exact count(*) of it takes and the
time of `dedup_report --save` (the command's wall time, Django's start included); per page and
state the median (min, max) in ms and the ratio to the nearly empty state, also paired (the
median of the ratios of requests made in the same round, which a machine whose speed varies
over seconds disturbs less); and a PASS/MISS line for each page before and after remediation
against the target, judged on the ratio of the medians: within 1.5x of the nearly empty
database. Nothing is asserted. On a busy machine, --requests 15 or more steadies the medians.

Usage: .venv/bin/python bench/admin.py [--scale 0.2] [--requests 7] [--keep] [--template NAME]
       (or: make bench-admin SCALE=0.2)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from scratch import ROOT, create_database, django_env, drop, manage, url_for  # bench/scratch.py

sys.path.insert(0, str(ROOT))  # for the project's packages (imported below and in functions)

from legacy_fixture import LEGACY_SCHEMA_SQL

# The nearly empty database: task_requirements keeps ~133 rows after remediation at 0.005,
# enough for a full changelist page (ReadOnlyAdmin.list_per_page = 100).
EMPTY_SCALE = 0.005
TARGET = 1.5  # a page may take at most this many times its time on the nearly empty database
PAGES = {
    "dashboard": "/admin/dedup/duplicatesnapshot/",
    "changelist": "/admin/breezeway/taskrequirement/",
}
STATES = {
    "empty": "nearly empty",
    "before": "before remediation",
    "after": "after remediation",
}
# Everything the admin needs that does not depend on breezeway 0003 (etl does: it needs 0005).
# axes: logging in records the login in its tables (django-axes throttles admin logins).
PRE_REMEDIATION_APPS = (
    "auth",
    "admin",
    "contenttypes",
    "sessions",
    "axes",
    "django_celery_beat",
    "dedup",
)
BIG_TABLE = "task_requirements"
MARKER = "BENCH-ADMIN-JSON "
USERNAME = "bench-admin"


# --- scratch databases ------------------------------------------------------------------------


# DEBUG off as in production (a .env file may turn it on; real variables win over it), so no
# query log is kept; the test Client's host must be allowed. For every Django process here.
SERVER_ENV = {"DEBUG": "false", "ALLOWED_HOSTS": "testserver", "LOG_LEVEL": "WARNING"}


def generate_legacy(dbname: str, scale: float, seed: int) -> None:
    """A legacy database as the incident's was made: legacy-schema.sql, filled, adopted."""
    with psycopg.connect(url_for(dbname), autocommit=True) as conn:
        conn.execute(LEGACY_SCHEMA_SQL.read_text())
    sizes = ("--scale", str(scale), "--seed", str(seed))
    manage(dbname, "make_legacy_db", *sizes, quiet=True, **SERVER_ENV)
    adopt = ("--fake-initial", "breezeway", "0002")
    manage(dbname, "migrate", *adopt, "--verbosity", "0", **SERVER_ENV)
    manage(dbname, "migrate", "dedup", "--verbosity", "0", **SERVER_ENV)


def analyze(dbname: str) -> None:
    with psycopg.connect(url_for(dbname), autocommit=True) as conn:
        conn.execute("ANALYZE")


def count_rows(dbname: str) -> tuple[int, float]:
    """Rows of the big table, and the seconds an exact count(*) takes (what paging avoids)."""
    with psycopg.connect(url_for(dbname), autocommit=True) as conn:
        conn.execute(f"SELECT count(*) FROM {BIG_TABLE}").fetchone()  # warm, as the pages are
        started = time.perf_counter()
        rows = conn.execute(f"SELECT count(*) FROM {BIG_TABLE}").fetchone()[0]
        return rows, time.perf_counter() - started


def applied_breezeway(dbname: str) -> str:
    with psycopg.connect(url_for(dbname)) as conn:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM django_migrations WHERE app = 'breezeway' ORDER BY name"
            )
        ]
    return names[-1] if names else "-"


# --- measuring --------------------------------------------------------------------------------
# One worker process per state (Django's settings are process-global, bound to DATABASE_URL);
# the parent sends each a URL at a time, in turn, so the three states are measured under the
# same load, interleaved, rather than one after the other.


def serve_requests() -> None:
    """The worker: log in once, then answer one JSON request line at a time on stdin."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "breezeway.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    # The test client speaks plain http (without DEBUG the settings redirect it to https), and
    # static files go by their plain names (the settings' storage needs the manifest that
    # collectstatic writes, which a benchmark of the pages' queries has no use for).
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(
        SECURE_SSL_REDIRECT=False, STORAGES={**settings.STORAGES, "staticfiles": plain}
    ).enable()

    user_model = get_user_model()
    user = user_model.objects.filter(username=USERNAME).first()
    if user is None:
        user = user_model.objects.create_superuser(USERNAME, "bench@example.com", None)
    client = Client(raise_request_exception=False)  # a failing view answers 500, reported
    client.force_login(user)
    print(MARKER + json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        answer: dict[str, Any] = {}
        if ask.get("queries"):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(ask["url"])
            queries = sorted(
                captured.captured_queries, key=lambda q: float(q["time"]), reverse=True
            )
            answer["queries"] = len(queries)
            answer["query_ms"] = sum(float(q["time"]) for q in queries) * 1000
            answer["slowest"] = [{"ms": float(q["time"]) * 1000, "sql": q["sql"]} for q in queries]
        else:
            started = time.perf_counter()
            response = client.get(ask["url"])
            answer["ms"] = (time.perf_counter() - started) * 1000
        answer["status"] = response.status_code
        if response.status_code != 200:
            exc_info = getattr(response, "exc_info", None)
            answer["error"] = (
                repr(exc_info[1]) if exc_info else response.content[:500].decode(errors="replace")
            )
        context = getattr(response, "context_data", None) or {}
        if "cl" in context:  # a changelist: rows on the page, and the count it shows
            answer["shown"] = len(context["cl"].result_list)
            answer["count"] = context["cl"].result_count
        elif "tables" in context:  # the dashboard: one row per table
            answer["shown"] = len(context["tables"])
        print(MARKER + json.dumps(answer), flush=True)
    connection.close()


class Worker:
    """A `bench/admin.py --serve` subprocess on one database."""

    def __init__(self, dbname: str) -> None:
        self.dbname = dbname
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve"],
            env=django_env(dbname, **SERVER_ENV),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.read()

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(MARKER):
                return json.loads(line[len(MARKER) :])
        raise SystemExit(f"the measuring process on {self.dbname} died")

    def get(self, url: str, queries: bool = False) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"url": url, "queries": queries}) + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()  # the worker ends at the end of its input
            except BrokenPipeError:
                pass  # it had died already
        self.process.wait(timeout=60)


def measure(names: dict[str, str], requests: int, warmup: int) -> dict[str, dict[str, Any]]:
    """Per state and URL: the timed requests' ms, the status, the rows shown, the queries."""
    workers: dict[str, Worker] = {}
    try:
        for state in STATES:
            workers[state] = Worker(names[state])
        results = {
            state: {url: {"ms": [], "status": 200} for url in PAGES.values()} for state in STATES
        }
        order = list(STATES)
        for i in range(warmup + requests):
            for state in order[i % 3 :] + order[: i % 3]:  # each state goes first in turn
                for url in PAGES.values():
                    page = results[state][url]
                    if page["status"] != 200:
                        continue
                    answer = workers[state].get(url)
                    page.update({k: v for k, v in answer.items() if k != "ms"})
                    if answer["status"] == 200 and i >= warmup:
                        page["ms"].append(answer["ms"])
        for state in STATES:
            for url in PAGES.values():
                if results[state][url]["status"] == 200:
                    answer = workers[state].get(url, queries=True)
                    results[state][url].update(
                        {k: answer[k] for k in ("queries", "query_ms", "slowest")}
                    )
        return results
    finally:
        for worker in workers.values():
            worker.close()


# --- report -----------------------------------------------------------------------------------


def paired(timings: dict[str, dict[str, Any]], url: str, state: str) -> float | None:
    """The median over rounds of this state's time over the nearly empty one's, same round.

    The two requests of a round run within a few milliseconds of each other, so a change in
    the machine's speed (other work, a busy neighbour) hits both; medians taken apart can
    straddle such a change.
    """
    mine, base = timings[state][url], timings["empty"][url]
    if mine["status"] != 200 or base["status"] != 200 or len(mine["ms"]) != len(base["ms"]):
        return None
    return statistics.median(m / b for m, b in zip(mine["ms"], base["ms"], strict=True))


def report(
    facts: dict[str, dict[str, Any]], timings: dict[str, dict[str, Any]], requests: int
) -> None:
    print()
    header = (
        f"{'state':<20}{'breezeway at':>26}{BIG_TABLE + ' rows':>24}"
        f"{'count(*) ms':>13}{'dedup_report --save s':>23}"
    )
    print(header)
    print("-" * len(header))
    for state, label in STATES.items():
        f = facts[state]
        print(
            f"{label:<20}{f['migration']:>26}{f['rows']:>24,}{f['count_ms']:>13.1f}"
            f"{f['report_s']:>23.2f}"
        )
    print()
    header = (
        f"{'page':<12}{'state':<20}{'median ms':>10}{'min':>8}{'max':>8}{'ratio':>8}"
        f"{'paired':>8}{'rows shown':>11}{'count shown':>13}{'queries':>9}{'sql ms':>8}"
    )
    print(header)
    print("-" * len(header))
    medians: dict[tuple[str, str], float | None] = {}
    for page, url in PAGES.items():
        for state, label in STATES.items():
            t = timings[state][url]
            if t["status"] != 200:
                medians[page, state] = None
                print(f"{page:<12}{label:<20}  HTTP {t['status']}: {t.get('error', '')[:200]!r}")
                continue
            median = statistics.median(t["ms"])
            medians[page, state] = median
            base = medians.get((page, "empty"))
            ratio = f"{median / base:.2f}x" if base else "-"
            pair = paired(timings, url, state)
            pair_text = f"{pair:.2f}x" if pair else "-"
            count = f"{t['count']:,}" if "count" in t else "-"
            print(
                f"{page:<12}{label:<20}{median:>10.1f}{min(t['ms']):>8.1f}{max(t['ms']):>8.1f}"
                f"{ratio:>8}{pair_text:>8}{t.get('shown', '-'):>11}{count:>13}{t['queries']:>9}"
                f"{t['query_ms']:>8.1f}"
            )
    for page, url in PAGES.items():
        shown = {state: timings[state][url].get("shown") for state in STATES}
        if len(set(shown.values())) > 1:
            print(
                f"note: the {page} shows {shown['empty']} rows on the nearly empty database, "
                f"{shown['before']} before and {shown['after']} after remediation: its ratios "
                "also count rendering the rows the page has more of"
            )
    print(
        f"\n(median of {requests} requests per page and state after warm-up, the three states "
        "interleaved; ratio: of the medians; paired: median of the per-round ratios; queries and "
        "sql ms from one more request)"
    )
    print("\nslowest query of each page with data:")
    for page, url in PAGES.items():
        for state in ("before", "after"):
            t = timings[state][url]
            if t["status"] == 200 and t["slowest"]:
                q = t["slowest"][0]
                print(f"  {page}, {STATES[state]}: {q['ms']:.1f} ms  {q['sql'][:200]}")
    print()
    for page in PAGES:
        base = medians[page, "empty"]
        for state in ("before", "after"):
            median = medians[page, state]
            if base is None or median is None:
                print(f"MISS {page}, {STATES[state]}: a page did not answer 200")
                continue
            ratio = median / base
            verdict = "PASS" if ratio <= TARGET else "MISS"
            print(
                f"{verdict} {page}, {STATES[state]}: {median:.1f} ms = {ratio:.2f}x its "
                f"{base:.1f} ms on the nearly empty database (target <= {TARGET}x; "
                f"paired {paired(timings, PAGES[page], state):.2f}x)"
            )


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--empty-scale",
        type=float,
        default=EMPTY_SCALE,
        help=f"scale of the nearly empty database (default {EMPTY_SCALE})",
    )
    parser.add_argument("--requests", type=int, default=7, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch databases.")
    parser.add_argument(
        "--template",
        help="Reuse a legacy database kept by an earlier --keep run (of this or "
        "bench/remediation.py): generated, at breezeway 0002; it is copied, never changed.",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_requests()
        return
    if not (0 < args.scale <= 5 and 0 < args.empty_scale <= 5):
        parser.error("--scale and --empty-scale must be in (0, 5]")
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be >= 1, --warmup >= 0")

    tag = uuid.uuid4().hex[:6]
    template = args.template or f"bw_bench_admin_tpl_{tag}"
    names = {state: f"bw_bench_admin_{state}_{tag}" for state in STATES}
    made: list[str] = []
    try:
        if not args.template:
            print(f"Generating a legacy database at scale {args.scale} ...", flush=True)
            started = time.perf_counter()
            create_database(template)
            made.append(template)
            generate_legacy(template, args.scale, args.seed)
            print(f"generated in {time.perf_counter() - started:.1f} s", flush=True)
        # Both copies before either is touched: the same data before and after remediation.
        for state in ("before", "after"):
            create_database(names[state], template)
            made.append(names[state])
        print(f"Generating the nearly empty database (scale {args.empty_scale}) ...", flush=True)
        create_database(names["empty"])
        made.append(names["empty"])
        generate_legacy(names["empty"], args.empty_scale, args.seed)
        manage(names["empty"], "migrate", "--verbosity", "0", **SERVER_ENV)
        for app in PRE_REMEDIATION_APPS:  # migrate takes one app label at a time
            manage(names["before"], "migrate", app, "--verbosity", "0", **SERVER_ENV)
        print("Remediating the copy (manage.py migrate) ...", flush=True)
        seconds = manage(names["after"], "migrate", "--verbosity", "0", **SERVER_ENV)
        print(f"migrate took {seconds:.1f} s", flush=True)

        facts: dict[str, dict[str, Any]] = {}
        for state, label in STATES.items():
            analyze(names[state])
            seconds = manage(names[state], "dedup_report", "--save", quiet=True, **SERVER_ENV)
            rows, count_seconds = count_rows(names[state])
            facts[state] = {
                "migration": applied_breezeway(names[state]),
                "rows": rows,
                "count_ms": count_seconds * 1000,
                "report_s": seconds,
            }
            print(f"{label}: dedup_report --save took {seconds:.2f} s", flush=True)

        print(f"Measuring (load average {os.getloadavg()[0]:.2f}) ...", flush=True)
        timings = measure(names, args.requests, args.warmup)
        print(f"(load average {os.getloadavg()[0]:.2f} at the end)")
        report(facts, timings, args.requests)
    finally:
        if args.keep:
            print(f"\nkept databases: {', '.join(made)}")
            if not args.template:
                print(f"(reuse the legacy one with --template {template})")
        else:
            for name in made:
                drop(name)
            if args.template:
                print(f"\nkept template database {template}")


if __name__ == "__main__":
    main()
