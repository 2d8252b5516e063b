"""Sinks: they consume extracted chunks, load them in batches and apply deletion evidence."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import F

from breezeway.models import Property, Region, Reservation, Task
from etl.client import BreezewayClient
from etl.entities import EntitySpec, Lookups
from etl.extract import Chunk
from etl.load import BatchLoader, TableCounts, repair_links

# Complete listings in a row that must miss a property or reservation before it is deleted.
MISSING_LISTINGS_TO_DELETE = 2

Progress = Callable[[str, int, int | None], None]  # (label, advance, total)


@dataclass
class SyncContext:
    region: Region
    client: BreezewayClient
    lookups: Lookups
    now: datetime
    full_sweep: bool
    progress: Progress | None = None

    def advance(self, label: str, advance: int, total: int | None = None) -> None:
        if self.progress:
            self.progress(label, advance, total)


@dataclass
class Outcome:
    """What one entity sync did, before it becomes a SyncRun."""

    counts: dict[str, TableCounts] = field(default_factory=dict)
    fetched: int = 0
    errors: list[str] = field(default_factory=list)
    rejected: list = field(default_factory=list)
    child_policy: str = ""
    details: dict = field(default_factory=dict)
    load_seconds: float = 0.0


class EntitySink:
    """Consumes chunks: loads records in batches, applies deletion evidence, counts."""

    def __init__(self, spec: EntitySpec, ctx: SyncContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.loader = BatchLoader(spec, ctx.lookups, ctx.now, settings.SYNC_BATCH_SIZE)
        self.outcome = Outcome(counts=self.loader.counts)
        self.buffer: list = []
        self.seen: set[str] = set()
        self.complete = False
        self.skipped_scopes: list[str] = []

    def consume(self, chunk: Chunk) -> None:
        self.outcome.fetched += len(chunk.records)
        self.outcome.errors.extend(chunk.errors)
        if chunk.retryable:
            self.outcome.details["retryable"] = True
        for incoming in chunk.records:
            if isinstance(incoming.record, dict) and incoming.record.get("id") is not None:
                self.seen.add(str(incoming.record["id"]).strip())
        self.buffer.extend(chunk.records)
        if len(self.buffer) >= settings.SYNC_BATCH_SIZE:
            self.flush()
        if chunk.gone:
            self.mark_deleted(chunk.gone)
        if chunk.skipped_scope:
            self.skipped_scopes.append(chunk.skipped_scope)
        self.complete = self.complete or chunk.complete

    def flush(self) -> None:
        started = time.perf_counter()
        self.loader.load(self.buffer)
        self.buffer = []
        self.outcome.load_seconds += time.perf_counter() - started

    def mark_deleted(self, task_ids: list[str]) -> None:
        deleted = Task.objects.filter(
            region=self.ctx.region, task_id__in=task_ids, deleted_at__isnull=True
        ).update(deleted_at=self.ctx.now)
        self.outcome.counts[self.spec.name].deleted += deleted

    def finish(self) -> Outcome:
        self.flush()
        repaired = repair_links(self.ctx.region.code, self.spec.name)
        if repaired:
            self.outcome.details["links_repaired"] = repaired
        self.outcome.rejected = self.loader.rejected
        if self.skipped_scopes:
            self.outcome.details["skipped_properties"] = sorted(self.skipped_scopes)
        return self.outcome


class ListingSink(EntitySink):
    """A sink whose complete listings are evidence: records missing from enough of them go."""

    def __init__(self, spec: EntitySpec, ctx: SyncContext, scope: dict) -> None:
        super().__init__(spec, ctx)
        self.scope = scope  # filter of the rows this listing covers

    def finish(self) -> Outcome:
        outcome = super().finish()
        if not self.complete or outcome.errors:
            return outcome  # an incomplete listing proves nothing about what it did not show
        started = time.perf_counter()
        missing = self.spec.model.objects.filter(
            region=self.ctx.region, deleted_at__isnull=True, **self.scope
        ).exclude(**{f"{self.spec.id_field}__in": list(self.seen)})
        # Bookkeeping writes, reported apart from the data rows they do not change.
        outcome.details["listing_misses"] = missing.update(
            missing_listings=F("missing_listings") + 1
        )
        gone = list(
            missing.filter(missing_listings__gte=MISSING_LISTINGS_TO_DELETE).values_list(
                "pk", flat=True
            )
        )
        deleted = self.spec.model.objects.filter(pk__in=gone).update(deleted_at=self.ctx.now)
        outcome.counts[self.spec.name].deleted += deleted
        if gone and self.spec.model is Property:
            # The API lists no reservation of a property it no longer has: they go with it.
            # (Its tasks are asked for one by one on the next full sweep: 404 deletes them.)
            cascaded = Reservation.objects.filter(
                property_id__in=gone, deleted_at__isnull=True
            ).update(deleted_at=self.ctx.now)
            outcome.details["reservations_deleted_with_properties"] = cascaded
        outcome.load_seconds += time.perf_counter() - started
        return outcome
