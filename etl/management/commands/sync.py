"""`manage.py sync`: sync regions now, in this process, and print what each entity did."""

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from breezeway.models import Region
from etl.credentials import region_readiness
from etl.entities import ENTITY_NAMES, JOBS, RECONCILE_JOBS
from etl.models import SyncRun
from etl.pipeline import SyncOptions, run_region_sync
from etl.runs import DATABASE_ERRORS, DatabaseLost, describe_database_error

FAILING = (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL)


class ProgressBar:
    """A one-line progress bar on a terminal; silent when output is not one."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.label, self.done, self.total = "", 0, None
        self.shown = 0.0

    def __call__(self, label: str, advance: int, total: int | None = None) -> None:
        if label != self.label:
            self.clear()
            self.label, self.done, self.total = label, 0, None
        if total is not None:
            self.total = total
        self.done += advance
        now = time.monotonic()
        if self.enabled and (now - self.shown > 0.1 or self.done == self.total):
            self.shown = now
            if self.total:
                filled = int(30 * self.done / self.total)
                bar = "#" * filled + "." * (30 - filled)
                self.stream.write(f"\r{self.label:<14} [{bar}] {self.done}/{self.total}")
            else:
                self.stream.write(f"\r{self.label:<14} {self.done}")
            self.stream.flush()

    def clear(self) -> None:
        if self.enabled and self.label:
            self.stream.write("\r" + " " * 70 + "\r")
            self.stream.flush()


class Command(BaseCommand):
    help = (
        "Sync Breezeway into the database now: every active region with credentials in the "
        "environment (BREEZEWAY_<CODE>_CLIENT_ID / _CLIENT_SECRET), or the ones named. "
        "Exits with status 1 when any entity failed or was partial."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--region", action="append", dest="regions", metavar="CODE", help="repeatable"
        )
        parser.add_argument(
            "--entity",
            action="append",
            dest="entities",
            choices=list(JOBS),
            metavar="NAME",
            help=f"repeatable; one of {', '.join(ENTITY_NAMES)} (default: all, in that order), "
            + "".join(
                f", or {job}: ask for every record of {spec.name} no list shows (hidden ones, "
                "deleted ones)"
                for job, spec in RECONCILE_JOBS.items()
            ),
        )
        sweep = parser.add_mutually_exclusive_group()
        sweep.add_argument(
            "--full", action="store_true", help="fetch every task's children and all reservations"
        )
        sweep.add_argument(
            "--incremental", action="store_true", help="never a full sweep, even when one is due"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.sync(options)
        except DatabaseLost as exc:
            if exc.runs:
                self.summary(exc.runs)
            raise CommandError(
                f"{exc}. The sync stopped before finishing {', '.join(exc.pending)}; what it "
                "committed stays. Run it again once the database answers."
            ) from None
        except DATABASE_ERRORS as exc:
            raise CommandError(f"{describe_database_error(exc)}.") from None

    def sync(self, options: dict[str, Any]) -> None:
        regions = self.regions(options["regions"])
        full = True if options["full"] else (False if options["incremental"] else None)
        progress = ProgressBar(sys.stderr)
        runs: list[SyncRun] = []
        for region in regions:
            self.stdout.write(f"Region {region.code} ({region.name})")
            region_runs = run_region_sync(
                region.code, options["entities"], SyncOptions(full_sweep=full, progress=progress)
            )
            progress.clear()
            self.summary(region_runs)
            runs.extend(region_runs)
        failing = [run for run in runs if run.status in FAILING]
        if failing:
            raise CommandError(
                f"{len(failing)} of {len(runs)} entity syncs did not fully succeed: "
                + "; ".join(f"{r.region_id}/{r.entity} {r.status}: {r.error}" for r in failing)
            )

    def regions(self, codes: list[str] | None) -> list[Region]:
        if codes:
            found = {r.code: r for r in Region.objects.filter(code__in=codes)}
            unknown = [code for code in codes if code not in found]
            if unknown:
                known = ", ".join(Region.objects.values_list("code", flat=True)) or "none"
                raise CommandError(
                    f"Unknown region {', '.join(unknown)} (known: {known}). "
                    "Create one with: python manage.py add_region CODE --name NAME "
                    "--company-id ID"
                )
            chosen = [found[code] for code in dict.fromkeys(codes)]
            for readiness in region_readiness(chosen):
                region = readiness.region
                if not region.is_active:
                    raise CommandError(f"Region {region.code} is inactive.")
                if not readiness.ready:
                    id_var, secret_var = readiness.variables
                    raise CommandError(
                        f"Region {region.code} has no API credentials: set {id_var} and "
                        f"{secret_var}."
                    )
            return chosen
        readiness = region_readiness()
        chosen = [r.region for r in readiness if r.ready]
        for r in readiness:
            if not r.ready:
                id_var, secret_var = r.variables
                self.stderr.write(
                    f"Region {r.region.code} is skipped: set {id_var} and {secret_var} to sync it."
                )
        if not chosen:
            raise CommandError(
                "No region to sync: create one with `python manage.py add_region` and set its "
                "BREEZEWAY_<CODE>_CLIENT_ID and BREEZEWAY_<CODE>_CLIENT_SECRET."
            )
        return chosen

    def summary(self, runs: list[SyncRun]) -> None:
        header = (
            f"  {'entity':<13}{'status':<9}{'fetched':>8}{'inserted':>9}{'updated':>8}"
            f"{'unchanged':>10}{'deleted':>8}{'rejected':>9}{'calls':>7}{'retries':>8}"
            f"{'seconds':>8}"
        )
        self.stdout.write(header)
        for run in runs:
            seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
            line = (
                f"  {run.entity:<13}{run.status:<9}{run.fetched:>8}{run.inserted:>9}"
                f"{run.updated:>8}{run.unchanged:>10}{run.deleted:>8}{run.rejected:>9}"
                f"{run.api_calls:>7}{run.retries:>8}{seconds:>8.1f}"
            )
            style = self.style.ERROR if run.status in FAILING else self.style.SUCCESS
            self.stdout.write(style(line) if run.status != SyncRun.Status.SKIPPED else line)
            if run.error:
                self.stdout.write(f"    {run.error}")
        written = sum(run.rows_written for run in runs)
        self.stdout.write(f"  rows written: {written}")
