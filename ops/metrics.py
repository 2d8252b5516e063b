"""Prometheus metrics of the sync, the webhooks, the duplicate statistics and the alerts, read at
scrape time."""

import logging
from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError, transaction
from django.db.models import Count, F, OuterRef, Subquery, Window
from django.db.models.functions import RowNumber
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from breezeway.models import Region
from dedup.models import DuplicateSnapshot
from etl.entities import JOBS
from etl.models import RejectedRecord, SyncRun, WebhookEvent
from etl.webhooks.health import last_received
from ops.models import Alert

log = logging.getLogger(__name__)

PAIR = ["region", "entity"]
SYNC = "breezeway_sync_"
# Runs that did work: the latest one's figures are the ones shown. A skipped run did nothing
# and a running one is not done: neither hides the figures of the run before it.
WORKED = [SyncRun.Status.SUCCESS, SyncRun.Status.PARTIAL, SyncRun.Status.FAILED]
# (metric name after breezeway_sync_last_run_, help, SyncRun field) of the latest such run.
RUN_FIGURES = [
    ("fetched_records", "Records the latest run fetched from the API.", "fetched"),
    ("rows_inserted", "Rows the latest run inserted.", "inserted"),
    ("rows_updated", "Rows the latest run updated.", "updated"),
    ("rows_deleted", "Rows the latest run deleted (soft deletes included).", "deleted"),
    ("rejected_records", "Records the latest run could not store.", "rejected"),
    ("api_calls", "API calls the latest run made.", "api_calls"),
    ("retries", "API retries the latest run needed.", "retries"),
    ("throttled_requests", "HTTP 429s (rate limited) the latest run met.", "throttled"),
]


# Which latest run of a region and entity each figure comes from (None: any status).
LATEST = {
    "any": None,
    "finished": [s for s in SyncRun.Status.values if s != SyncRun.Status.RUNNING],
    "worked": WORKED,
    "success": [SyncRun.Status.SUCCESS],
}
RUN_FIELDS = ["region_id", "entity", "status", "started_at", "finished_at"]


def latest_runs() -> dict[tuple[str, str], dict[str, dict]]:
    """(region, entity) -> {"any", "finished", "worked", "success"} -> that latest run's values.

    Two queries, whatever the history: one row per region whose subqueries each find one
    latest run through the (region, entity, -started_at) index, then those runs by id. (A
    window over every run would sort the whole table on every scrape: 1.5 s a year on.)"""
    entities = list(JOBS)
    subqueries = {}
    for kind, statuses in LATEST.items():
        for index, entity in enumerate(entities):
            runs = SyncRun.objects.filter(region=OuterRef("pk"), entity=entity)
            if statuses is not None:
                runs = runs.filter(status__in=statuses)
            latest = runs.order_by("-started_at", "-id").values("pk")[:1]
            subqueries[f"{kind}_{index}"] = (kind, entity, Subquery(latest))
    found = Region.objects.annotate(
        **{alias: query for alias, (_, _, query) in subqueries.items()}
    ).values("pk", *subqueries)
    wanted: dict[int, list[tuple[tuple[str, str], str]]] = {}
    for region in found:
        for alias, (kind, entity, _) in subqueries.items():
            if region[alias] is not None:
                wanted.setdefault(region[alias], []).append(((region["pk"], entity), kind))
    fields = [*RUN_FIELDS, *(f for _, _, f in RUN_FIGURES)]
    latest: dict[tuple[str, str], dict[str, dict]] = {}
    for run in SyncRun.objects.filter(pk__in=list(wanted)).values("pk", *fields):
        for pair, kind in wanted[run["pk"]]:
            latest.setdefault(pair, {})[kind] = run
    return latest


def unix(moment: datetime) -> float:
    return moment.timestamp()


def gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


class BreezewayCollector(Collector):
    """Reads the sync runs, rejected records, webhook events, duplicate snapshots and alerts
    when scraped.

    Seven queries per scrape, whatever the number of regions, runs, tables or alerts. A part
    whose query fails reports breezeway_metrics_scrape_success{part} 0 and leaves its metrics
    out; the other parts are still served."""

    def describe(self) -> list[Metric]:
        # Nothing at registration: describing would mean querying the database at import time.
        return []

    def collect(self) -> Iterator[Metric]:
        success = gauge(
            "breezeway_metrics_scrape_success",
            "1 when this part of the metrics could be read from the database, else 0.",
            ["part"],
        )
        parts = [
            ("sync", self.sync_metrics),
            ("webhooks", self.webhook_metrics),
            ("duplicates", self.table_metrics),
            ("alerts", self.alert_metrics),
        ]
        for part, read in parts:
            try:
                # A savepoint: inside a transaction, a failed query would fail every later one.
                with transaction.atomic():
                    metrics = read()
            except DatabaseError as exc:
                # The type only: a connection error's text can name hosts and users.
                log.error("metrics: reading the %s figures failed: %s", part, type(exc).__name__)
                success.add_metric([part], 0)
                continue
            success.add_metric([part], 1)
            yield from metrics
        yield success

    def sync_metrics(self) -> list[Metric]:
        latest = latest_runs()
        last_success = gauge(
            SYNC + "last_success_timestamp_seconds",
            "When the latest successful run of the region and entity ended (unix time).",
            PAIR,
        )
        running = gauge(
            SYNC + "running", "1 while the latest run of the region and entity runs, else 0.", PAIR
        )
        status = gauge(
            SYNC + "last_run_status",
            "1 for the status of the latest finished run of the region and entity, else 0.",
            [*PAIR, "status"],
        )
        ended = gauge(
            SYNC + "last_run_timestamp_seconds",
            "When the latest finished run ended (unix time), whatever its status.",
            PAIR,
        )
        duration = gauge(SYNC + "last_run_duration_seconds", "Seconds the latest run took.", PAIR)
        written = gauge(
            SYNC + "last_run_rows_written",
            "Rows the latest run inserted, updated or deleted.",
            PAIR,
        )
        figures = [
            (field, gauge(SYNC + "last_run_" + name, text, PAIR))
            for name, text, field in RUN_FIGURES
        ]
        statuses = [s for s in SyncRun.Status.values if s != SyncRun.Status.RUNNING]
        for pair, runs in sorted(latest.items()):
            labels = list(pair)
            if (run := runs.get("any")) is not None:
                running.add_metric(labels, 1 if run["status"] == SyncRun.Status.RUNNING else 0)
            if (run := runs.get("success")) is not None and run["finished_at"]:
                last_success.add_metric(labels, unix(run["finished_at"]))
            if (run := runs.get("finished")) is not None:
                for name in statuses:
                    status.add_metric([*labels, name], 1 if run["status"] == name else 0)
                if run["finished_at"]:
                    ended.add_metric(labels, unix(run["finished_at"]))
            if (run := runs.get("worked")) is not None:
                if run["finished_at"]:
                    seconds = (run["finished_at"] - run["started_at"]).total_seconds()
                    duration.add_metric(labels, seconds)
                written.add_metric(labels, run["inserted"] + run["updated"] + run["deleted"])
                for field, metric in figures:
                    metric.add_metric(labels, run[field])

        kept = gauge(
            "breezeway_rejected_records_stored",
            "Bad records kept in etl_rejected_records (one per record id and payload).",
            PAIR,
        )
        for row in (
            RejectedRecord.objects.values("region_id", "entity")
            .annotate(n=Count("id"))
            .order_by("region_id", "entity")
        ):
            kept.add_metric([row["region_id"], row["entity"]], row["n"])
        return [
            last_success,
            running,
            status,
            ended,
            duration,
            written,
            *(metric for _, metric in figures),
            kept,
        ]

    def webhook_metrics(self) -> list[Metric]:
        prefix = "breezeway_webhook_"
        received = gauge(
            prefix + "last_received_timestamp_seconds",
            "When the region's latest webhook event of the kind was received (unix time).",
            ["region", "kind"],
        )
        latest = last_received()
        for code, kinds in sorted(latest.items()):
            for kind, at in sorted(kinds.items()):
                if at is not None:
                    received.add_metric([code, kind], unix(at))
        pending = gauge(
            prefix + "events_pending",
            "Webhook events stored but not applied yet (queued, or waiting for a retry).",
            ["region"],
        )
        counts = dict(
            WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING)  # a partial index
            .values_list("region_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        # Every region, 0 included, so "no backlog" is a value and not a missing series.
        for code in sorted(latest):
            pending.add_metric([code], counts.get(code, 0))
        return [received, pending]

    def table_metrics(self) -> list[Metric]:
        prefix = "breezeway_table_"
        rows = gauge(prefix + "rows", "Rows of the table at the latest snapshot.", ["table"])
        keys = gauge(
            prefix + "distinct_keys", "Distinct natural keys at the latest snapshot.", ["table"]
        )
        duplicates = gauge(
            prefix + "duplicate_rows",
            "Rows beyond one per natural key at the latest snapshot.",
            ["table"],
        )
        valid = gauge(
            prefix + "constraint_valid",
            "1 when the natural-key constraint is present and its unique index valid, else 0.",
            ["table"],
        )
        size = gauge(prefix + "size_bytes", "Size of the table at the latest snapshot.", ["table"])
        measured = gauge(
            prefix + "snapshot_timestamp_seconds",
            "When the latest duplicate snapshot of the table was taken (unix time).",
            ["table"],
        )
        latest = DuplicateSnapshot.objects.annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("table_name")],
                order_by=[F("measured_at").desc(), F("id").desc()],
            )
        ).filter(position=1)
        for snapshot in latest.order_by("table_name"):
            table = [snapshot.table_name]
            rows.add_metric(table, snapshot.rows)
            keys.add_metric(table, snapshot.distinct_keys)
            duplicates.add_metric(table, snapshot.duplicates)
            ok = snapshot.constraint_present and snapshot.constraint_valid
            valid.add_metric(table, 1 if ok else 0)
            if snapshot.table_bytes is not None:
                size.add_metric(table, snapshot.table_bytes)
            measured.add_metric(table, unix(snapshot.measured_at))
        return [rows, keys, duplicates, valid, size, measured]

    def alert_metrics(self) -> list[Metric]:
        open_alerts = gauge(
            "breezeway_alerts_open",
            "Alerts open now (ops_alerts, not cleared), per kind.",
            ["kind"],
        )
        counts = dict(
            Alert.objects.filter(cleared_at__isnull=True)
            .values_list("kind")
            .annotate(n=Count("id"))
            .order_by()
        )
        # Every kind, 0 included: a series that vanishes cannot be told from a failed scrape.
        for kind in Alert.Kind.values:
            open_alerts.add_metric([kind], counts.get(kind, 0))
        return [open_alerts]


def build_registry() -> CollectorRegistry:
    """A registry of its own, not prometheus_client's global one: only these metrics (no
    per-process ones that would differ between web workers), and a fresh one per test."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BreezewayCollector())
    return registry
