"""Sinks: they consume extracted chunks, load them in batches and apply deletion evidence."""

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import F

from breezeway.models import Region
from etl.client import BreezewayClient
from etl.entities import ENTITIES, EntitySpec, Lookups
from etl.extract import Chunk
from etl.load import BatchLoader, repair_links
from etl.records import Outcome, record_id_or_none

# Complete listings in a row that must miss a record before it is deleted.
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
    # Set when the listing asks only for what changed since then (EntitySpec.changed_since).
    changed_since: datetime | None = None

    def advance(self, label: str, advance: int, total: int | None = None) -> None:
        if self.progress:
            self.progress(label, advance, total)


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
        self.children_why: Counter = Counter()

    def consume(self, chunk: Chunk) -> None:
        self.outcome.fetched += len(chunk.records)
        self.outcome.errors.extend(chunk.errors)
        if chunk.retryable:
            self.outcome.details["retryable"] = True
        for incoming in chunk.records:
            breezeway_id = record_id_or_none(incoming.record)
            if breezeway_id is not None:
                self.seen.add(breezeway_id)
        self.buffer.extend(chunk.records)
        if len(self.buffer) >= settings.SYNC_BATCH_SIZE:
            self.flush()
        if chunk.gone:
            self.mark_deleted(chunk.gone)
        if chunk.skipped_scope:
            self.skipped_scopes.append(chunk.skipped_scope)
        self.children_why.update(chunk.children_why)
        self.complete = self.complete or chunk.complete

    def flush(self) -> None:
        started = time.perf_counter()
        self.loader.load(self.buffer)
        self.buffer = []
        self.outcome.load_seconds += time.perf_counter() - started

    def mark_deleted(self, ids: list[str]) -> None:
        """Mark deleted the rows of records the API answered 404 for."""
        deleted = self.spec.model.objects.filter(
            region=self.ctx.region, deleted_at__isnull=True, **{f"{self.spec.id_field}__in": ids}
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
        if self.children_why:
            # Records whose child sets were fetched, by reason: one call per set each.
            self.outcome.details["children_fetched_for"] = dict(sorted(self.children_why.items()))
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
        if gone:
            self.delete_dependents(gone, outcome)
        outcome.load_seconds += time.perf_counter() - started
        return outcome

    def delete_dependents(self, gone: list[int], outcome: Outcome) -> None:
        """Delete the rows the API no longer lists once their parent is gone (a property's
        reservations; its tasks are asked for one by one on the next full sweep instead)."""
        for spec in ENTITIES.values():
            for ref in spec.references:
                if ref.entity != self.spec.name or not ref.deleted_with_parent:
                    continue
                cascaded = spec.model.objects.filter(
                    **{f"{ref.field}__in": gone}, deleted_at__isnull=True
                ).update(deleted_at=self.ctx.now)
                outcome.details[f"{spec.name}_deleted_with_{self.spec.name}"] = cascaded
