"""Benchmark: our remediation migration against the seed's algorithm and a sequential scan.

On PostgreSQL, a legacy database is generated once (`manage.py make_legacy_db --scale S`) and
copied (CREATE DATABASE ... TEMPLATE) so every contender starts from identical data:

- ours:  migration `breezeway.0003` (dedup, archive, verification, constraints, NOT NULL,
         commit), run in a subprocess and timed by Django's own migration progress callback;
- seed:  the incident report's Part 4.2 per table: DISTINCT ON of whole rows into a temp
         table, a full backup copy, TRUNCATE, re-insert, add the constraint (one transaction);
- scan:  `SELECT count(*)` of each table with index scans disabled (the floor: one pass).

The machine's speed varies by up to 2x over minutes (a shared host), so the contenders run in
--rounds rounds. Each round makes two fresh copies (one for the seed's algorithm, one for the
scan and then ours), checkpoints, and lets them settle for --settle seconds: files written a
moment ago cost PostgreSQL several times more to release at the COMMIT after a TRUNCATE than
files of a database that has been in use (0.4 s against 2 to 3 s here), and an incident's
database is old. Then each copy is read once (untimed) and timed: seed; scan (the fastest of
three, per table), then ours.

Prints per table and in total rows, the median seconds over rounds, rows/s and the ratios
seed/ours (target >= 4 at scale 0.2) and ours/scan (target <= 8); then every round's totals
and ratios (the scan runs just before ours, on its copy, so a round's ratios see the same
machine), and PASS/MISS judged on the median of the rounds' ratios.

Calibration: the issue set its targets on a run where, at scale 0.2, the seed's algorithm took
SEED_SECONDS_THEN and the scan SCAN_SECONDS_THEN. The seed's algorithm is mostly CPU work (a
sort of whole rows, copies), the scan mostly memory reads, and this machine's CPU speed drifts
on its own. So runs at scale 0.2 also print how much slower each ran here than then, and the
8x-scan target restated against the seed's time measured in the same round: 8 x 0.45 / 12.6,
that is ours <= 0.286 of the seed's time (the 4x target is ours <= 0.25 of it).
`--tablespace NAME` makes the copies in a tablespace of their own, for instance on a file
system without online discard. `--crossover` instead measures when TRUNCATE and re-insert
beats deleting in place, over a range of duplicate shares.

Usage: .venv/bin/python bench/remediation.py --scale 0.2 [--rounds 3] [--settle 30]
       (or: make bench-remediation SCALE=0.2)
"""

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import psycopg
from scratch import ROOT, admin, create_database, drop, manage, url_for  # bench/scratch.py

sys.path.insert(0, str(ROOT))  # for the project's packages (imported below and in functions)

from legacy_fixture import LEGACY_SCHEMA_SQL
from legacy_fixture.plan import SEED_FIGURES

# The seed's natural keys (Part 3), exactly as its script would have used them.
SEED_KEYS = {
    "task_requirements": ("task_pk", "requirement_id"),
    "property_photos": ("property_pk", "photo_id"),
    "reservation_guests": ("reservation_pk", "guest_email"),
    "task_assignments": ("task_pk", "assignee_id"),
    "task_photos": ("task_pk", "photo_id"),
}
TABLES = list(SEED_KEYS)
# The scan is cheap and, of the three, the most disturbed by a busy machine: each round takes
# the fastest of this many (a lower floor makes ours/scan stricter, not kinder).
SCAN_REPEATS = 3
# The orientation at scale 0.2, the run its targets were set on: the seed's algorithm
# and the scan of every child table.
SEED_SECONDS_THEN = 12.6
SCAN_SECONDS_THEN = 0.45


def warm(dbname: str) -> dict[str, int]:
    """Read every table once (untimed) so each contender starts with the same cache state."""
    rows = {}
    with psycopg.connect(url_for(dbname)) as conn:
        for table in TABLES:
            rows[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return rows


def time_scan(dbname: str, repeat: int = SCAN_REPEATS) -> dict[str, float]:
    """Per table, the fastest of `repeat` counts: the strictest floor for ours to be held to."""
    seconds: dict[str, float] = {}
    with psycopg.connect(url_for(dbname), autocommit=True) as conn:
        for setting in ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"):
            conn.execute(f"SET {setting} = off")
        for _ in range(repeat):
            for table in TABLES:
                started = time.perf_counter()
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                elapsed = time.perf_counter() - started
                seconds[table] = min(elapsed, seconds.get(table, elapsed))
    return seconds


def time_seed(dbname: str) -> dict[str, float]:
    seconds = {}
    with psycopg.connect(url_for(dbname)) as conn:
        for table, key in SEED_KEYS.items():
            cols = ", ".join(key)
            started = time.perf_counter()
            with conn.transaction():
                conn.execute(
                    f"CREATE TEMP TABLE {table}_unique AS SELECT DISTINCT ON ({cols}) * "
                    f"FROM {table} ORDER BY {cols}, id DESC"
                )
                conn.execute(f"CREATE TABLE {table}_backup AS SELECT * FROM {table}")
                conn.execute(f"TRUNCATE TABLE {table}")
                conn.execute(f"INSERT INTO {table} SELECT * FROM {table}_unique")
                conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as ours must, for deferred FKs
                conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT uq_{table}_seed UNIQUE ({cols})")
            seconds[table] = time.perf_counter() - started
    return seconds


class ResultCollector(logging.Handler):
    """Collects the per-table results the engine logs."""

    def __init__(self) -> None:
        super().__init__()
        self.results: dict[str, object] = {}

    def emit(self, record: logging.LogRecord) -> None:
        result = getattr(record, "remediation", None)
        if result is not None:
            self.results[result.table] = result


def time_ours(dbname: str) -> tuple[float, float, dict[str, float]]:
    """`migrate breezeway 0003` in a fresh interpreter (`--time-ours DB`), so every round
    starts Django anew. Returns what `migrate_in_process` measured there."""
    done = subprocess.run(
        [sys.executable, __file__, "--time-ours", dbname], capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"our migration failed on {dbname}:\n{done.stderr}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return measured["own"], measured["wall"], measured["tables"]


def migrate_in_process(dbname: str) -> dict[str, object]:
    """`migrate breezeway 0003` in this process.

    Returns the migration's own time (Django's apply_start to apply_success: its operations
    and the commit), the whole `migrate` command's wall time (plus loading the migration
    graph, rendering model states and the post-migrate signals), and per-table engine seconds.
    """
    os.environ["DATABASE_URL"] = url_for(dbname)
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "breezeway.settings"
    import django
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    django.setup()
    collector = ResultCollector()
    logging.getLogger("dedup.remediate").addHandler(collector)
    connection = connections["default"]
    connection.ensure_connection()
    marks: dict[str, float] = {}

    def progress(action: str, migration: object = None, fake: bool = False) -> None:
        if migration is not None and migration.name.startswith("0003"):
            marks[action] = time.perf_counter()

    started = time.perf_counter()
    executor = MigrationExecutor(connection, progress_callback=progress)
    target = [("breezeway", "0003_remediate_duplicates")]
    executor.migrate(target, plan=executor.migration_plan(target))
    wall = time.perf_counter() - started
    connection.close()
    return {
        "own": marks["apply_success"] - marks["apply_start"],
        "wall": wall,
        "tables": {t: r.seconds for t, r in collector.results.items()},
    }


OUR_KEYS = {
    "task_requirements": "requirement_key",
    "property_photos": "photo_key",
    "reservation_guests": "guest_key",
    "task_assignments": "assignee_key",
    "task_photos": "photo_key",
}


def check_clean(dbname: str) -> None:
    with psycopg.connect(url_for(dbname)) as conn:
        for table in TABLES:
            parent, key = SEED_KEYS[table][0], OUR_KEYS[table]
            dupes = conn.execute(
                f"SELECT count(*) - count(DISTINCT ({parent}, {key})) FROM {table}"
            ).fetchone()[0]
            if dupes:
                raise SystemExit(f"ours left {dupes} duplicates in {table}")


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds else "-"


@dataclass
class Round:
    """One round's timings: per table, plus ours' migration total and command wall time."""

    rows: dict[str, int]
    scan: dict[str, float]
    seed: dict[str, float]
    ours: dict[str, float]
    ours_total: float
    ours_wall: float

    @property
    def seed_total(self) -> float:
        return sum(self.seed.values())

    @property
    def scan_total(self) -> float:
        return sum(self.scan.values())

    def summary(self) -> str:
        return (
            f"ours {self.ours_total:.2f} s, seed {self.seed_total:.2f} s, "
            f"scan {self.scan_total:.3f} s: seed/ours {self.seed_total / self.ours_total:.2f}x, "
            f"ours/scan {self.ours_total / self.scan_total:.2f}x"
        )


def settle(names: list[str], seconds: float) -> None:
    """Flush the new copies to disk and give the file system time, as an old database has."""
    with admin() as conn:
        conn.execute("CHECKPOINT")
    subprocess.run(["sync"], check=False)
    if seconds:
        print(f"  settling {', '.join(names)} for {seconds:g} s", flush=True)
        time.sleep(seconds)


def run_round(
    template: str, tag: str, number: int, settle_seconds: float, tablespace: str | None
) -> Round:
    names = {c: f"bw_bench_{c}_{tag}_{number}" for c in ("seed", "ours")}
    try:
        for name in names.values():
            create_database(name, template, tablespace)
        settle(list(names.values()), settle_seconds)
        warm(names["seed"])
        seed = time_seed(names["seed"])
        rows = warm(names["ours"])
        scan = time_scan(names["ours"])
        ours_total, ours_wall, ours = time_ours(names["ours"])
        check_clean(names["ours"])
    finally:
        for name in names.values():
            drop(name)
    result = Round(rows, scan, seed, ours, ours_total, ours_wall)
    print(f"  round {number}: {result.summary()}", flush=True)
    return result


def report(rounds: list[Round]) -> None:
    rows = rounds[0].rows
    header = (
        f"{'table':<20}{'rows':>12}{'ours s':>9}{'seed s':>9}{'scan s':>9}"
        f"{'ours rows/s':>14}{'seed rows/s':>14}{'seed/ours':>11}{'ours/scan':>11}"
    )
    print(f"\nMedians over {len(rounds)} round(s):")
    print(header)
    print("-" * len(header))
    for table in TABLES:
        o = statistics.median(r.ours.get(table, 0.0) for r in rounds)
        s = statistics.median(r.seed[table] for r in rounds)
        c = statistics.median(r.scan[table] for r in rounds)
        print(
            f"{table:<20}{rows[table]:>12,}{o:>9.2f}{s:>9.2f}{c:>9.3f}"
            f"{rate(rows[table], o):>14}{rate(rows[table], s):>14}"
            f"{s / o if o else 0:>10.1f}x{o / c if c else 0:>10.1f}x"
        )
    total_rows = sum(rows.values())
    ours = statistics.median(r.ours_total for r in rounds)
    seed = statistics.median(r.seed_total for r in rounds)
    scan = statistics.median(r.scan_total for r in rounds)
    print("-" * len(header))
    print(
        f"{'TOTAL (migration)':<20}{total_rows:>12,}{ours:>9.2f}{seed:>9.2f}"
        f"{scan:>9.3f}{rate(total_rows, ours):>14}{rate(total_rows, seed):>14}"
        f"{seed / ours:>10.1f}x{ours / scan:>10.1f}x"
    )
    print(
        "('ours' is migration 0003 from start to commit; per-table figures are the engine's; "
        f"the whole migrate command, planning and signals included: "
        f"{statistics.median(r.ours_wall for r in rounds):.2f} s)"
    )
    print("\nRounds (ratios within a round):")
    for number, r in enumerate(rounds, 1):
        print(f"  {number}: {r.summary()}")
    speedup = statistics.median(r.seed_total / r.ours_total for r in rounds)
    floor = statistics.median(r.ours_total / r.scan_total for r in rounds)
    print(
        f"\nseed/ours = {speedup:.2f}x (target >= 4 at scale 0.2): "
        f"{'PASS' if speedup >= 4 else 'MISS'}"
    )
    print(f"ours/scan = {floor:.2f}x (target <= 8): {'PASS' if floor <= 8 else 'MISS'}")
    scale = total_rows / sum(SEED_FIGURES[t][0] for t in TABLES)
    if abs(scale - 0.2) <= 0.01:
        calibrate(seed, scan, statistics.median(r.ours_total / r.seed_total for r in rounds))


def calibrate(seed: float, scan: float, ours_share: float) -> None:
    """The targets restated against the seed's algorithm timed here (see the docstring)."""
    budget = 8 * SCAN_SECONDS_THEN / SEED_SECONDS_THEN
    print(
        f"\nCalibration against the run the targets were set on (scale 0.2: seed "
        f"{SEED_SECONDS_THEN} s, scan {SCAN_SECONDS_THEN} s): here the seed's algorithm ran "
        f"{seed / SEED_SECONDS_THEN:.2f}x slower and the scan {scan / SCAN_SECONDS_THEN:.2f}x "
        f"slower than then."
    )
    print(
        f"ours/seed = {ours_share:.3f} (8x the scan then = {budget:.3f} of the seed's time: "
        f"{'PASS' if ours_share <= budget else 'MISS'}; 4x faster = 0.250: "
        f"{'PASS' if ours_share <= 0.25 else 'MISS'})"
    )


def crossover(rows: int) -> None:
    """Time both removal strategies on property_photos-like data, by share of duplicates."""
    name = f"bw_bench_cross_{uuid.uuid4().hex[:6]}"
    create_database(name)
    try:
        # The legacy state: key columns added but no constraints yet.
        manage(name, "migrate", "breezeway", "0002", "--verbosity", "0")
        manage(name, "migrate", "dedup", "--verbosity", "0")
        os.environ["DATABASE_URL"] = url_for(name)
        os.environ.setdefault("SECRET_KEY", "bench")
        os.environ["DJANGO_SETTINGS_MODULE"] = "breezeway.settings"
        import django
        from django.db import connection, transaction

        django.setup()
        from django.db import models

        from breezeway.keys import natural_key_constraint
        from breezeway.models import PropertyPhoto
        from breezeway.natural_keys import LEGACY_DERIVED_KEYS
        from dedup.remediate import remediate_table
        from dedup.spec import TableSpec

        specs = {
            # photo_key must be filled in every kept row: deleting in place rewrites them all.
            "derived key": TableSpec.for_model(
                PropertyPhoto,
                natural_key_constraint(PropertyPhoto),
                LEGACY_DERIVED_KEYS["property_photos"],
            ),
            # A key of stored columns only: deleting in place touches only the losers.
            "stored key": TableSpec.for_model(
                PropertyPhoto,
                models.UniqueConstraint(fields=["property", "photo_id"], name="bench_key"),
            ),
        }
        with psycopg.connect(url_for(name), autocommit=True) as conn:
            conn.execute(
                "INSERT INTO regions (region_code, region_name, company_id) VALUES ('r', 'R', 1)"
            )
            conn.execute(
                "INSERT INTO properties (region_code, property_id) "
                "SELECT 'r', g::text FROM generate_series(1, 1000) g"
            )
        print(f"{'key':<12}{'duplicates':>10}{'truncate s':>12}{'delete s':>10}  faster")
        for share in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
            keys = max(1, round(rows * (1 - share)))
            with psycopg.connect(url_for(name), autocommit=True) as conn:
                conn.execute("TRUNCATE property_photos")
                conn.execute(
                    "INSERT INTO property_photos (property_pk, region_code, photo_id, url, "
                    "original_url, caption, last_sync_time) SELECT 1 + k %% 1000, 'r', k::text, "
                    "'https://cdn.example.com/p/' || md5(k::text) || '.jpg', "
                    "'https://s3.example.com/' || md5(k::text), 'Living room', "
                    "timestamptz '2025-01-01' + g * interval '1 second' "
                    "FROM generate_series(0, %s - 1) g, LATERAL (SELECT g %% %s AS k) x",
                    (rows, keys),
                )
                conn.execute("VACUUM ANALYZE property_photos")
            for label, spec in specs.items():
                seconds = {}
                for strategy in ("truncate", "delete"):
                    started = time.perf_counter()
                    with transaction.atomic():
                        remediate_table(connection, spec, strategy=strategy)
                        seconds[strategy] = time.perf_counter() - started
                        transaction.set_rollback(True)
                best = min(seconds, key=seconds.get)
                print(
                    f"{label:<12}{share:>10.0%}{seconds['truncate']:>12.2f}"
                    f"{seconds['delete']:>10.2f}  {best}",
                    flush=True,
                )
        connection.close()
    finally:
        drop(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="Rounds to take medians over.")
    parser.add_argument(
        "--settle",
        type=float,
        default=30.0,
        help="Seconds the fresh copies rest before a round (default 30).",
    )
    parser.add_argument(
        "--tablespace",
        help="Make the contenders' copies in this tablespace (for instance one on a file "
        "system without online discard, which makes the COMMIT after a TRUNCATE slow).",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the template database.")
    parser.add_argument(
        "--template", help="Reuse a template database kept by an earlier --keep run."
    )
    parser.add_argument(
        "--crossover",
        type=int,
        metavar="ROWS",
        help="Instead: time truncate vs delete on ROWS rows over a range of duplicate shares.",
    )
    parser.add_argument("--time-ours", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_ours:
        print(json.dumps(migrate_in_process(args.time_ours)))
        return
    if args.crossover:
        crossover(args.crossover)
        return
    if not 0 < args.scale <= 5:
        parser.error("--scale must be in (0, 5]")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.settle < 0:
        parser.error("--settle cannot be negative")

    tag = uuid.uuid4().hex[:6]
    template = args.template or f"bw_bench_tpl_{tag}"
    if not args.template:
        create_database(template)
    try:
        if not args.template:
            print(f"Generating a legacy database at scale {args.scale} ...", flush=True)
            started = time.perf_counter()
            # The incident's database was made by legacy-schema.sql (plain, non-deferrable
            # foreign keys), then adopted: build the copies the same way.
            with psycopg.connect(url_for(template), autocommit=True) as conn:
                conn.execute(LEGACY_SCHEMA_SQL.read_text())
            manage(template, "make_legacy_db", "--scale", str(args.scale), "--seed", str(args.seed))
            manage(template, "migrate", "--fake-initial", "breezeway", "0002", "--verbosity", "0")
            manage(template, "migrate", "dedup", "--verbosity", "0")
            print(f"generated in {time.perf_counter() - started:.1f} s\n", flush=True)
        rounds = [
            run_round(template, tag, n, args.settle, args.tablespace)
            for n in range(1, args.rounds + 1)
        ]
        report(rounds)
    finally:
        if args.keep or args.template:
            print(f"kept template database {template} (reuse it with --template {template})")
        else:
            drop(template)


if __name__ == "__main__":
    main()
