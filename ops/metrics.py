"""Prometheus metrics of the sync and the duplicate statistics, read at scrape time."""

import logging
from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError, transaction
from django.db.models import Count, F, Max, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dedup.models import DuplicateSnapshot
from etl.models import RejectedRecord, SyncRun
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
]


def latest_per(queryset: QuerySet, partition: list[str]) -> QuerySet:
    """The latest row (by start, then id) of each partition of `queryset`: one query (a window
    function), whatever the number of partitions or rows; SQLite runs it too."""
    return queryset.annotate(
        position=Window(
            RowNumber(),
            partition_by=[F(name) for name in partition],
            order_by=[F("started_at").desc(), F("id").desc()],
        )
    ).filter(position=1)


def unix(moment: datetime) -> float:
    return moment.timestamp()


def gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


class BreezewayCollector(Collector):
    """Reads the sync runs, rejected records, duplicate snapshots and alerts when scraped.

    Six queries per scrape, whatever the number of regions, runs, tables or alerts. A part
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
        last_success = gauge(
            SYNC + "last_success_timestamp_seconds",
            "When the latest successful run of the region and entity ended (unix time).",
            PAIR,
        )
        running = gauge(SYNC + "running", "Runs of the region and entity in progress.", PAIR)
        per_pair = (
            SyncRun.objects.values("region_id", "entity")
            .annotate(
                last_success=Max("finished_at", filter=Q(status=SyncRun.Status.SUCCESS)),
                running=Count("id", filter=Q(status=SyncRun.Status.RUNNING)),
            )
            .order_by("region_id", "entity")
        )
        for row in per_pair:
            pair = [row["region_id"], row["entity"]]
            if row["last_success"]:
                last_success.add_metric(pair, unix(row["last_success"]))
            running.add_metric(pair, row["running"])

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
        statuses = [s for s in SyncRun.Status.values if s != SyncRun.Status.RUNNING]
        finished = SyncRun.objects.exclude(status=SyncRun.Status.RUNNING)
        latest = latest_per(finished, PAIR).values("region_id", "entity", "status", "finished_at")
        for row in latest:
            pair = [row["region_id"], row["entity"]]
            for name in statuses:
                status.add_metric([*pair, name], 1 if row["status"] == name else 0)
            if row["finished_at"]:
                ended.add_metric(pair, unix(row["finished_at"]))

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
        worked = latest_per(SyncRun.objects.filter(status__in=WORKED), PAIR).values(
            "region_id", "entity", "started_at", "finished_at", *(f for f, _ in figures)
        )
        for row in worked:
            pair = [row["region_id"], row["entity"]]
            if row["finished_at"]:
                duration.add_metric(pair, (row["finished_at"] - row["started_at"]).total_seconds())
            written.add_metric(pair, row["inserted"] + row["updated"] + row["deleted"])
            for field, metric in figures:
                metric.add_metric(pair, row[field])

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
