"""Benchmark: our remediation migration against the seed's algorithm and a sequential scan.

On PostgreSQL, a legacy database is generated once (`manage.py make_legacy_db --scale S`) and
copied (CREATE DATABASE ... TEMPLATE) so every contender starts from identical data:

- ours:  `migrate breezeway 0003` (dedup, archive, verification, constraints, NOT NULL), run
         in-process, timed around the whole migration;
- seed:  the incident report's Part 4.2 per table: DISTINCT ON of whole rows into a temp
         table, a full backup copy, TRUNCATE, re-insert, add the constraint (one transaction);
- scan:  `SELECT count(*)` of each table with index scans disabled (the floor: one pass).

Prints per table and in total: rows, seconds, rows/s and the ratios seed/ours (target >= 4 at
scale 0.2) and ours/scan (target <= 8). `--crossover` instead measures when TRUNCATE and
re-insert beats deleting in place, over a range of duplicate shares.

Usage: .venv/bin/python bench/remediation.py --scale 0.2
"""

import argparse
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/breezeway")

# The seed's natural keys (Part 3), exactly as its script would have used them.
SEED_KEYS = {
    "task_requirements": ("task_pk", "requirement_id"),
    "property_photos": ("property_pk", "photo_id"),
    "reservation_guests": ("reservation_pk", "guest_email"),
    "task_assignments": ("task_pk", "assignee_id"),
    "task_photos": ("task_pk", "photo_id"),
}
TABLES = list(SEED_KEYS)


def url_for(dbname: str) -> str:
    head, _, _ = SERVER.rpartition("/")
    return f"{head}/{dbname}"


def admin() -> psycopg.Connection:
    return psycopg.connect(url_for("postgres"), autocommit=True)


def create_copy(template: str, name: str) -> None:
    with admin() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )


def drop(name: str) -> None:
    with admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def manage(dbname: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url_for(dbname), "SECRET_KEY": "bench"}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)


def warm(dbname: str) -> dict[str, int]:
    """Read every table once (untimed) so each contender starts with the same cache state."""
    rows = {}
    with psycopg.connect(url_for(dbname)) as conn:
        for table in TABLES:
            rows[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return rows


def time_scan(dbname: str) -> dict[str, float]:
    seconds = {}
    with psycopg.connect(url_for(dbname), autocommit=True) as conn:
        for setting in ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"):
            conn.execute(f"SET {setting} = off")
        for table in TABLES:
            started = time.perf_counter()
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            seconds[table] = time.perf_counter() - started
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


def time_ours(dbname: str) -> tuple[float, dict[str, float]]:
    """`migrate breezeway 0003` in this process; returns total and per-table engine seconds."""
    os.environ["DATABASE_URL"] = url_for(dbname)
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "breezeway.settings"
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    collector = ResultCollector()
    logging.getLogger("dedup.remediate").addHandler(collector)
    connections["default"].ensure_connection()
    started = time.perf_counter()
    call_command("migrate", "breezeway", "0003", verbosity=0)
    total = time.perf_counter() - started
    connections["default"].close()
    return total, {t: r.seconds for t, r in collector.results.items()}


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


def report(
    rows: dict[str, int],
    ours: dict[str, float],
    ours_total: float,
    seed: dict[str, float],
    scan: dict[str, float],
) -> None:
    header = (
        f"{'table':<20}{'rows':>12}{'ours s':>9}{'seed s':>9}{'scan s':>9}"
        f"{'ours rows/s':>14}{'seed rows/s':>14}{'seed/ours':>11}{'ours/scan':>11}"
    )
    print(header)
    print("-" * len(header))
    for table in TABLES:
        o, s, c = ours.get(table, 0.0), seed[table], scan[table]
        print(
            f"{table:<20}{rows[table]:>12,}{o:>9.2f}{s:>9.2f}{c:>9.3f}"
            f"{rate(rows[table], o):>14}{rate(rows[table], s):>14}"
            f"{s / o if o else 0:>10.1f}x{o / c if c else 0:>10.1f}x"
        )
    total_rows = sum(rows.values())
    seed_total, scan_total = sum(seed.values()), sum(scan.values())
    print("-" * len(header))
    print(
        f"{'TOTAL (migration)':<20}{total_rows:>12,}{ours_total:>9.2f}{seed_total:>9.2f}"
        f"{scan_total:>9.3f}{rate(total_rows, ours_total):>14}{rate(total_rows, seed_total):>14}"
        f"{seed_total / ours_total:>10.1f}x{ours_total / scan_total:>10.1f}x"
    )
    print(
        f"\nseed/ours = {seed_total / ours_total:.2f}x (target >= 4 at scale 0.2); "
        f"ours/scan = {ours_total / scan_total:.2f}x (target <= 8). "
        f"'ours' is the whole `migrate breezeway 0003`; per-table figures are the engine's."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="Keep the template database.")
    args = parser.parse_args()
    if not 0 < args.scale <= 5:
        parser.error("--scale must be in (0, 5]")

    tag = uuid.uuid4().hex[:6]
    template = f"bw_bench_tpl_{tag}"
    copies = {name: f"bw_bench_{name}_{tag}" for name in ("ours", "seed", "scan")}
    with admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(template)))
    try:
        print(f"Generating a legacy database at scale {args.scale} ...", flush=True)
        started = time.perf_counter()
        manage(template, "make_legacy_db", "--scale", str(args.scale), "--seed", str(args.seed))
        manage(template, "migrate", "breezeway", "0002", "--verbosity", "0")
        manage(template, "migrate", "dedup", "--verbosity", "0")
        print(f"generated in {time.perf_counter() - started:.1f} s\n", flush=True)
        for name in copies.values():
            create_copy(template, name)
        rows = warm(copies["scan"])
        scan = time_scan(copies["scan"])
        warm(copies["seed"])
        seed = time_seed(copies["seed"])
        warm(copies["ours"])
        ours_total, ours = time_ours(copies["ours"])
        check_clean(copies["ours"])
        report(rows, ours, ours_total, seed, scan)
    finally:
        for name in copies.values():
            drop(name)
        if not args.keep:
            drop(template)
        else:
            print(f"kept template database {template}")


if __name__ == "__main__":
    main()
