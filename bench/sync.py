"""Benchmark: one region's sync from the simulator into PostgreSQL, fetch and load apart.

The simulator (`python -m simulator serve`) runs as a subprocess over real HTTP, so its CPU is
not ours; one company at --scale 1.0 is 2,000 properties x ~40 photos and 20,000 tasks with
their children. Scratch databases are created on the server of TEST_DATABASE_URL, migrated with
`manage.py migrate`, and dropped at the end (unless --keep). Every sync is
`run_region_sync(code, None, SyncOptions(staged=True))`: each entity is fetched whole, then loaded,
so the two phases are timed apart. Printed:

1. First run (full load), per entity and in total: records fetched, API calls, fetch seconds,
   fetch rows/s, load seconds, rows written, load rows/s. "Fetch rows" are the distinct valid
   rows the payloads hold, parents and children (inline arrays, and requirements and comments
   from their own endpoints), as the loader counts them (inserted + updated + unchanged).
2. Floors on the same rows: the rows the first run left in each synced table are loaded into an
   empty copy of the migrated schema (CREATE DATABASE ... TEMPLATE, made before the sync),
   (a) by plain `COPY ... FROM STDIN` and (b) in the old loader's style: multi-row
   `INSERT ... VALUES (...),(...) ON CONFLICT DO NOTHING`, 500 rows a statement, values
   interpolated client-side as psycopg2's execute_values did (psycopg.ClientCursor). One
   transaction per table, parents before children with the same ids, every constraint, index
   and (deferred) foreign key in place, for both; truncated between (a) and (b). Compared with
   our load phase over the same row count, per entity and in total.
3. A second run over unchanged data (default child-fetch policy): rows written (from the
   SyncRuns, cross-checked by pg_stat_user_tables n_tup_ins + n_tup_upd + n_tup_del deltas of
   the synced tables), seconds and API calls against the first run.
4. One simulated hour of changes (POST /_sim/tick), then a third run: rows written per table
   against the changes the tick reports for it.
5. Latency: a second simulator with --latency-ms on a smaller region (--latency-scale) into a
   fresh database; the first run's request rate (API calls / fetch seconds) of the tasks entity
   and of the whole run, against what the concurrency allows (SYNC_CONCURRENCY / latency).

Targets are printed as PASS/MISS lines beside the figures; nothing is asserted.

Usage: .venv/bin/python bench/sync.py [--scale 1.0] [--latency-ms 100] [--keep]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from scratch import ROOT, create_database, drop, manage, url_for  # bench/scratch.py

sys.path.insert(0, str(ROOT))

OLD_STYLE_ROWS = 500  # rows per statement of the old loader

# Which tick summary counts change rows of each table directly. A changed child also rewrites
# its parent's row (a property's or reservation's content hash covers its inline children; a
# task's updated_at moves), and an added parent brings its children along: both are counted
# apart (see report_changes).
CHANGE_KEYS = {
    "tags": ("tags_edited",),
    "people": ("people_edited",),
    "supplies": ("supplies_edited",),
    "properties": ("properties_edited", "properties_added", "properties_removed"),
    "property_photos": ("property_photos_changed",),
    "reservations": ("reservations_edited", "reservations_added", "reservations_removed"),
    "reservation_guests": ("reservation_guests_changed",),
    "tasks": ("tasks_edited", "tasks_added", "tasks_deleted", "tasks_hidden"),
    "task_assignments": ("task_assignments_changed",),
    "task_photos": ("task_photos_changed",),
    "task_tags": ("task_tags_changed",),
    "task_supplies": ("task_supplies_changed",),
    "task_costs": ("task_costs_changed",),
    "task_requirements": ("task_requirements_changed",),
    "task_comments": ("task_comments_changed",),
}
# --- scratch databases ------------------------------------------------------------------------


def create_databases(names: list[str]) -> None:
    """Migrate the first; the others are copies of it made before anything connects to it."""
    create_database(names[0])
    # LOG_LEVEL: the remediation migration logs a line per table, all zeros on empty ones.
    manage(names[0], "migrate", "--verbosity", "0", LOG_LEVEL="WARNING")
    for name in names[1:]:
        create_database(name, template=names[0])


# --- the simulator ----------------------------------------------------------------------------


@dataclass
class Sim:
    url: str

    def call(self, method: str, path: str) -> Any:
        data = b"" if method == "POST" else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read())

    def company(self) -> dict:
        return self.companies()[0]

    def companies(self) -> list[dict]:
        return self.call("GET", "/_sim/companies")

    def requests(self) -> int:
        return self.call("GET", "/_sim/stats")["requests"]


@contextmanager
def simulator(
    scale: float, seed: int, latency_ms: float = 0.0, companies: int = 1
) -> Iterator[Sim]:
    """A simulator subprocess on a free port; terminated on the way out, errors included."""
    command = [sys.executable, "-m", "simulator", "serve", "--port", "0"]
    command += ["--companies", str(companies), "--seed", str(seed), "--scale", str(scale)]
    command += ["--latency-ms", str(latency_ms)]
    # Its own session: a Ctrl-C reaches only us, and we stop it in `finally`.
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        for line in process.stdout:
            if "listening on " in line:
                yield Sim(line.rsplit(" ", 1)[1].strip())
                return
        raise SystemExit(f"the simulator exited ({process.wait()}) before serving")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- Django -----------------------------------------------------------------------------------


def set_credentials(company: dict) -> None:
    from etl.credentials import credential_variables

    id_var, secret_var = credential_variables(company["code"])
    os.environ[id_var], os.environ[secret_var] = company["client_id"], company["client_secret"]


def setup_django(dbname: str, sim: Sim, company: dict) -> None:
    """Settings for this database and simulator, read once by django.setup()."""
    os.environ.update(
        DATABASE_URL=url_for(dbname),
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench",
        DEBUG="false",  # else Django keeps every query of the run in memory
        LOG_LEVEL="WARNING",  # the figures, not a log line per entity run
        # The simulator has no rate limit: measure the sync's own costs, not the pacing
        # (bench/scale.py runs with the default limit).
        SYNC_RATE_LIMIT=os.environ.get("SYNC_RATE_LIMIT", "0"),
        DJANGO_SETTINGS_MODULE="breezeway.settings",
        BREEZEWAY_API_URL=f"{sim.url}/public/inventory/v1",
        BREEZEWAY_AUTH_URL=f"{sim.url}/public/auth/v1",
    )
    import django

    django.setup()
    set_credentials(company)


def switch_django(dbname: str, sim: Sim, company: dict) -> None:
    """Point the set-up Django at another database and simulator (as its test runner does)."""
    from django.conf import settings
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = dbname
    settings.BREEZEWAY_API_URL = f"{sim.url}/public/inventory/v1"
    settings.BREEZEWAY_AUTH_URL = f"{sim.url}/public/auth/v1"
    set_credentials(company)


def register_region(company: dict) -> str:
    from breezeway.models import Region

    Region.objects.create(
        code=company["code"], name=company["name"], company_id=company["company_id"]
    )
    return company["code"]


def entity_tables() -> dict[str, dict[str, str]]:
    """Entity -> {count key in run.details["tables"]: table}, parent first, in load order."""
    from etl.entities import ENTITIES, ENTITY_NAMES

    tables = {}
    for name in ENTITY_NAMES:
        spec = ENTITIES[name]
        tables[name] = {name: spec.model._meta.db_table}
        for child in spec.children:
            tables[name][f"{name}.{child.name}"] = child.model._meta.db_table
    return tables


def child_links() -> dict[str, tuple[str, str]]:
    """Child table -> (parent table, foreign key column)."""
    from etl.entities import ENTITIES

    links = {}
    for spec in ENTITIES.values():
        for child in spec.children:
            column = child.model._meta.get_field(child.parent_field).column
            links[child.model._meta.db_table] = (spec.model._meta.db_table, column)
    return links


def max_ids(dbname: str) -> dict[str, int]:
    """The highest primary key of each parent table (new rows, upserted or not, get higher)."""
    parents = {parent for parent, _ in child_links().values()}
    with psycopg.connect(url_for(dbname), autocommit=True) as conn:
        return {
            t: conn.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0] for t in parents
        }


def children_of_new_parents(dbname: str, before: dict[str, int]) -> dict[str, int]:
    """Rows of each child table whose parent row is newer than `before`."""
    with psycopg.connect(url_for(dbname), autocommit=True) as conn:
        return {
            child: conn.execute(
                f"SELECT count(*) FROM {child} WHERE {column} > %s", (before[parent],)
            ).fetchone()[0]
            for child, (parent, column) in child_links().items()
        }


def synced_tables() -> list[str]:
    return [t for tables in entity_tables().values() for t in tables.values()]


def tuple_writes(dbname: str) -> dict[str, int]:
    """Rows inserted, updated and deleted so far per synced table, per the statistics views."""
    from django.db import connection

    if connection.connection is not None:
        with connection.cursor() as cursor:
            # Flushed when that backend next goes idle, i.e. before this statement returns.
            cursor.execute("SELECT pg_stat_force_next_flush()")
    with psycopg.connect(url_for(dbname), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables "
            "WHERE relname = ANY(%s)",
            (synced_tables(),),
        ).fetchall()
    return dict(rows)


# --- one measured sync ------------------------------------------------------------------------


@dataclass
class Result:
    runs: list  # SyncRun, one per entity
    wall: float
    sim_requests: int
    pg_writes: dict[str, int] = field(default_factory=dict)

    def by_entity(self) -> dict[str, Any]:
        return {run.entity: run for run in self.runs}

    def total(self, attr: str) -> float:
        return sum(getattr(run, attr) for run in self.runs)

    def detail(self, key: str) -> float:
        return sum(run.details.get(key, 0.0) for run in self.runs)

    def table_counts(self) -> dict[str, dict[str, int]]:
        """Per table: inserted, updated, unchanged, deleted, summed over the runs."""
        names = {key: t for tables in entity_tables().values() for key, t in tables.items()}
        counts: dict[str, dict[str, int]] = {}
        for run in self.runs:
            for key, table_counts in run.details.get("tables", {}).items():
                total = counts.setdefault(names[key], dict.fromkeys(table_counts, 0))
                for name, value in table_counts.items():
                    total[name] += value
        return counts


def measured_sync(sim: Sim, dbname: str, code: str) -> Result:
    from etl.pipeline import SyncOptions, run_region_sync

    sim.call("POST", "/_sim/stats/reset")
    before = tuple_writes(dbname)
    started = time.perf_counter()
    runs = run_region_sync(code, None, SyncOptions(staged=True))
    wall = time.perf_counter() - started
    after = tuple_writes(dbname)
    for run in runs:
        if run.status != "success":
            print(f"  ! {run.entity}: {run.status}: {run.error[:200]}")
    writes = {t: after.get(t, 0) - before.get(t, 0) for t in synced_tables()}
    return Result(runs, wall, sim.requests(), writes)


def handled(run: Any) -> int:
    """Rows of a run's payloads the loader looked at (parents and children)."""
    tables = run.details.get("tables", {}).values()
    return sum(c["inserted"] + c["updated"] + c["unchanged"] for c in tables)


# --- floors: COPY and the old loader's style on the same rows ----------------------------------


@dataclass
class Floor:
    rows: int
    copy_seconds: float = 0.0
    old_seconds: float = 0.0


def columns(conn: psycopg.Connection, table: str) -> tuple[list[str], set[str]]:
    """A table's writable columns, and those holding JSON."""
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s AND is_generated = 'NEVER' "
        "ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [name for name, _ in rows], {name for name, kind in rows if kind in ("json", "jsonb")}


def dump(conn: psycopg.Connection, table: str, cols: list[str]) -> bytes:
    with conn.cursor().copy(f"COPY {table} ({', '.join(cols)}) TO STDOUT") as copy:
        return b"".join(bytes(block) for block in copy)


def read_rows(
    conn: psycopg.Connection, table: str, cols: list[str], json_cols: set[str]
) -> list[list]:
    # JSON values come back as Python objects; wrapped, they go back as JSON, not arrays.
    wrap = [name in json_cols for name in cols]
    return [
        [Jsonb(v) if w and v is not None else v for v, w in zip(row, wrap, strict=True)]
        for row in conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY id")
    ]


def time_copy(conn: psycopg.Connection, table: str, cols: list[str], data: bytes) -> float:
    started = time.perf_counter()
    with (
        conn.transaction(),
        conn.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy,
    ):
        for start in range(0, len(data), 1 << 20):
            copy.write(data[start : start + (1 << 20)])
    return time.perf_counter() - started


def time_old_style(conn: psycopg.Connection, table: str, cols: list[str], rows: list) -> float:
    head = f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
    one = "(" + ", ".join(["%s"] * len(cols)) + ")"
    cursor = psycopg.ClientCursor(conn)
    started = time.perf_counter()
    with conn.transaction():
        for start in range(0, len(rows), OLD_STYLE_ROWS):
            batch = rows[start : start + OLD_STYLE_ROWS]
            query = head + ", ".join([one] * len(batch)) + " ON CONFLICT DO NOTHING"
            cursor.execute(query, [value for row in batch for value in row])
    return time.perf_counter() - started


def measure_floors(source_db: str, floor_db: str, code: str) -> dict[str, Floor]:
    tables = synced_tables()  # parents before children
    floors: dict[str, Floor] = {}
    with (
        psycopg.connect(url_for(source_db), autocommit=True) as source,
        psycopg.connect(url_for(floor_db), autocommit=True) as floor,
    ):
        region = source.execute(
            "SELECT region_code, region_name, company_id FROM regions WHERE region_code = %s",
            (code,),
        ).fetchone()
        floor.execute(
            "INSERT INTO regions (region_code, region_name, company_id) VALUES (%s, %s, %s)", region
        )
        for table in tables:
            cols, _ = columns(source, table)
            data = dump(source, table, cols)
            floors[table] = Floor(rows=data.count(b"\n"))
            floors[table].copy_seconds = time_copy(floor, table, cols, data)
        floor.execute(f"TRUNCATE {', '.join(tables)}")
        for table in tables:
            cols, json_cols = columns(source, table)
            rows = read_rows(source, table, cols, json_cols)
            floors[table].old_seconds = time_old_style(floor, table, cols, rows)
            if len(rows) != floors[table].rows:
                raise SystemExit(f"{table}: read {len(rows)} rows, dumped {floors[table].rows}")
    return floors


# --- reports ----------------------------------------------------------------------------------


def rate(rows: float, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds else "-"


def verdict(ok: bool, text: str) -> None:
    print(f"{'PASS' if ok else 'MISS'}  {text}")


def rule(header: str) -> None:
    print(header)
    print("-" * len(header))


def report_first(result: Result) -> None:
    rule(
        f"{'entity':<14}{'fetched':>9}{'API calls':>11}{'fetch s':>9}{'fetch rows':>12}"
        f"{'rows/s':>10}{'load s':>9}{'written':>10}{'rows/s':>10}"
    )
    for run in result.runs:
        fetch, load = run.details.get("fetch_seconds", 0.0), run.details.get("load_seconds", 0.0)
        print(
            f"{run.entity:<14}{run.fetched:>9,}{run.api_calls:>11,}{fetch:>9.2f}"
            f"{handled(run):>12,}{rate(handled(run), fetch):>10}{load:>9.2f}"
            f"{run.rows_written:>10,}{rate(run.rows_written, load):>10}"
        )
    fetch, load = result.detail("fetch_seconds"), result.detail("load_seconds")
    rows, written = sum(handled(run) for run in result.runs), result.total("rows_written")
    print(
        f"{'TOTAL':<14}{result.total('fetched'):>9,}{result.total('api_calls'):>11,}"
        f"{fetch:>9.2f}{rows:>12,}{rate(rows, fetch):>10}{load:>9.2f}{written:>10,}"
        f"{rate(written, load):>10}"
    )
    print(
        f"wall {result.wall:.1f} s; retries {result.total('retries'):,}; the simulator counted "
        f"{result.sim_requests:,} data requests; pg_stat saw {sum(result.pg_writes.values()):,} "
        "rows written to the synced tables"
    )


def report_floors(first: Result, floors: dict[str, Floor]) -> None:
    rule(
        f"{'entity':<14}{'rows':>10}{'COPY s':>9}{'old s':>9}{'ours s':>9}{'COPY rows/s':>13}"
        f"{'old rows/s':>12}{'ours rows/s':>13}{'ours/old':>10}"
    )
    runs = first.by_entity()
    lines = []  # (entity, rows, COPY s, old s, ours s)
    for entity, tables in entity_tables().items():
        mine = [floors[t] for t in tables.values()]
        lines.append(
            (
                entity,
                sum(f.rows for f in mine),
                sum(f.copy_seconds for f in mine),
                sum(f.old_seconds for f in mine),
                runs[entity].details.get("load_seconds", 0.0),
            )
        )
    total = ("TOTAL", *(sum(line[i] for line in lines) for i in range(1, 5)))
    for entity, rows, copy_s, old_s, ours in [*lines, total]:
        print(
            f"{entity:<14}{rows:>10,}{copy_s:>9.2f}{old_s:>9.2f}{ours:>9.2f}"
            f"{rate(rows, copy_s):>13}{rate(rows, old_s):>12}{rate(rows, ours):>13}"
            f"{old_s / ours if ours else 0:>9.2f}x"
        )
    _, rows, copy_s, old_s, ours = total
    ratio = old_s / ours if ours else 0.0
    print(
        "(ours: the first run's load phase, parsing, hashing and lookups included; COPY and old "
        "style: ready rows, constraints in place; ours/old is the rows/s ratio)"
    )
    verdict(
        ratio >= 0.8,
        f"first load's rows/s is {ratio:.2f}x the old loader's style (target >= 0.8x); "
        f"COPY floor {rate(rows, copy_s)} rows/s",
    )


def child_calls(result: Result) -> str:
    """What the tasks run's child calls bought: records by reason, and the calls they cost."""
    from etl.entities import ENTITIES

    tasks = result.by_entity().get("tasks")
    why = tasks.details.get("children_fetched_for", {}) if tasks else {}
    per_record = sum(1 for child in ENTITIES["tasks"].children if child.endpoint)
    shown = ", ".join(f"{n:,} {reason} ({n * per_record:,} calls)" for reason, n in why.items())
    return f"task child sets fetched for: {shown or 'none'}; the rest are listings"


def report_rerun(first: Result, second: Result) -> None:
    rule(f"{'':<24}{'first':>12}{'second':>12}{'second/first':>14}")
    figures = (
        ("rows written (SyncRuns)", first.total("rows_written"), second.total("rows_written")),
        ("rows written (pg_stat)", sum(first.pg_writes.values()), sum(second.pg_writes.values())),
        ("API calls", first.total("api_calls"), second.total("api_calls")),
        ("fetch seconds", first.detail("fetch_seconds"), second.detail("fetch_seconds")),
        ("load seconds", first.detail("load_seconds"), second.detail("load_seconds")),
        ("seconds (wall)", first.wall, second.wall),
    )
    for label, a, b in figures:
        shown = (f"{a:>12,}", f"{b:>12,}") if isinstance(a, int) else (f"{a:>12.2f}", f"{b:>12.2f}")
        print(f"{label:<24}{shown[0]}{shown[1]}{b / a if a else 0:>13.3f}x")
    print(child_calls(second))
    tasks = second.by_entity().get("tasks")
    policy = tasks.child_policy if tasks else "?"
    written = second.total("rows_written") + sum(second.pg_writes.values())
    load_share = second.detail("load_seconds") / (first.detail("load_seconds") or 1)
    call_share = second.total("api_calls") / (first.total("api_calls") or 1)
    verdict(
        written == 0,
        f"unchanged rerun writes {second.total('rows_written')} rows "
        f"(pg_stat: {sum(second.pg_writes.values())}; target 0)",
    )
    verdict(load_share < 0.2, f"its load phase is {load_share:.3f} of the first's (target < 0.2)")
    verdict(
        call_share < 0.1,
        f"its API calls are {call_share:.1%} of the first's under the {policy!r} child policy "
        "(target < 10%)",
    )


def report_changes(third: Result, summary: dict, code: str, new_children: dict[str, int]) -> None:
    changes = summary.get("by_company", {}).get(code, {})
    counts = third.table_counts()
    links = child_links()
    rule(
        f"{'table':<20}{'inserted':>9}{'updated':>9}{'deleted':>9}{'written':>9}{'pg_stat':>9}"
        f"{'changed':>9}{'parents':>9}{'new kids':>9}{'expected':>10}"
    )
    total_written = total_expected = 0
    for table in synced_tables():
        c = counts.get(table, {"inserted": 0, "updated": 0, "deleted": 0})
        written = c["inserted"] + c["updated"] + c["deleted"]
        direct = sum(changes.get(key, 0) for key in CHANGE_KEYS[table])
        parents = sum(
            changes.get(key, 0)
            for child, (parent, _) in links.items()
            if parent == table
            for key in CHANGE_KEYS[child]
        )
        kids = new_children.get(table, 0)
        total_written += written
        total_expected += direct + parents + kids
        print(
            f"{table:<20}{c['inserted']:>9,}{c['updated']:>9,}{c['deleted']:>9,}{written:>9,}"
            f"{third.pg_writes.get(table, 0):>9,}{direct:>9,}{parents:>9,}{kids:>9,}"
            f"{direct + parents + kids:>10,}"
        )
    print(
        f"{'TOTAL':<20}{'':>27}{total_written:>9,}{sum(third.pg_writes.values()):>9,}"
        f"{total_expected:>37,}"
    )
    print(
        "changed: the tick's counts for the table (CHANGE_KEYS); parents: its children's changes "
        "(each rewrites the parent row); new kids: child rows of parents added in this run; "
        "expected: their sum (an upper bound: two changes may hit one row). written: the "
        "SyncRuns' counts; pg_stat also sees bookkeeping updates (missing_listings). "
        "Hourly runs list the reservations changed since the last run (incremental): a "
        "removed one waits for the full sweeps."
    )
    print(
        f"rows written {total_written:,} vs rows changed {total_expected:,} "
        f"({total_written / (total_expected or 1):.2f}x); API calls "
        f"{third.total('api_calls'):,}, load {third.detail('load_seconds'):.2f} s, "
        f"wall {third.wall:.1f} s"
    )
    print(child_calls(third))
    objects = sum(changes.get(key, 0) for keys in CHANGE_KEYS.values() for key in keys)
    properties = third.by_entity()["properties"].fetched
    allowed = 2 * objects + properties
    verdict(
        third.total("api_calls") <= allowed,
        f"the hour's API calls {third.total('api_calls'):,} <= 2 x {objects:,} objects changed "
        f"+ one listing per property ({properties:,}) = {allowed:,}",
    )


def report_latency(result: Result, latency: float) -> None:
    from django.conf import settings

    allowed = settings.SYNC_CONCURRENCY / latency
    rule(f"{'':<10}{'API calls':>11}{'fetch s':>9}{'req/s':>9}{'allowed':>9}{'share':>8}")
    tasks = result.by_entity()["tasks"]
    rows = (
        ("tasks", tasks.api_calls, tasks.details.get("fetch_seconds", 0.0)),
        ("all", result.total("api_calls"), result.detail("fetch_seconds")),
    )
    for label, calls, seconds in rows:
        achieved = calls / seconds if seconds else 0.0
        print(
            f"{label:<10}{calls:>11,}{seconds:>9.2f}{achieved:>9.1f}{allowed:>9.1f}"
            f"{achieved / allowed:>8.0%}"
        )
    share = tasks.api_calls / tasks.details.get("fetch_seconds", 1.0) / allowed
    print(
        f"(allowed = SYNC_CONCURRENCY {settings.SYNC_CONCURRENCY} / {latency * 1000:.0f} ms; "
        "the other entities page one request at a time)"
    )
    verdict(share >= 0.8, f"tasks fetch reaches {share:.0%} of the allowed rate (target >= 80%)")


# --- the benchmark ----------------------------------------------------------------------------


def run(args: argparse.Namespace, stack: ExitStack, names: dict[str, str]) -> None:
    print(f"Starting the simulator at scale {args.scale} ...", flush=True)
    sim = stack.enter_context(simulator(args.scale, args.seed))
    company = sim.company()
    setup_django(names["main"], sim, company)
    code = register_region(company)

    print("\n== First run: full load ==", flush=True)
    first = measured_sync(sim, names["main"], code)
    report_first(first)

    print("\n== Floors on the same rows ==", flush=True)
    floors = measure_floors(names["main"], names["floor"], code)
    report_floors(first, floors)

    print("\n== Second run: unchanged data ==", flush=True)
    second = measured_sync(sim, names["main"], code)
    report_rerun(first, second)

    print("\n== Third run: after one simulated hour of changes ==", flush=True)
    summary = sim.call("POST", "/_sim/tick?hours=1")
    before = max_ids(names["main"])
    third = measured_sync(sim, names["main"], code)
    report_changes(third, summary, code, children_of_new_parents(names["main"], before))

    if args.skip_latency:
        return
    print(
        f"\n== Latency: {args.latency_ms:.0f} ms a request, scale {args.latency_scale} ==",
        flush=True,
    )
    slow = stack.enter_context(simulator(args.latency_scale, args.seed, args.latency_ms))
    company = slow.company()
    switch_django(names["latency"], slow, company)
    register_region(company)
    result = measured_sync(slow, names["latency"], code)
    report_latency(result, args.latency_ms / 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--latency-scale", type=float, default=0.05)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch databases.")
    args = parser.parse_args()
    if not 0 < args.scale <= 5 or not 0 < args.latency_scale <= 5:
        parser.error("--scale and --latency-scale must be in (0, 5]")
    if args.latency_ms <= 0:
        parser.error("--latency-ms must be positive")

    # A plain `kill` unwinds like Ctrl-C does: the simulators stop, the databases go.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tag = uuid.uuid4().hex[:6]
    roles = ("main", "floor") if args.skip_latency else ("main", "floor", "latency")
    names = {role: f"bw_bench_sync_{role}_{tag}" for role in roles}
    with ExitStack() as stack:
        # Registered first, so it runs last: after the simulators are stopped.
        if args.keep:
            stack.callback(lambda: print(f"\nkept databases: {', '.join(names.values())}"))
        else:
            stack.callback(lambda: [drop(name) for name in names.values()])
        print(f"Creating and migrating {', '.join(names.values())} ...", flush=True)
        create_databases(list(names.values()))
        run(args, stack, names)


if __name__ == "__main__":
    main()
