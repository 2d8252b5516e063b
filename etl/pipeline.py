"""Extract -> transform -> load of one entity of one region, recorded as a SyncRun."""

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone

from breezeway.locks import REMEDIATION_LOCK, sync_lock_key
from breezeway.models import Property, Region, Reservation, Tag, Task
from etl.client import ApiError, AuthFailed, BreezewayClient, ClientSettings, RetriesExhausted
from etl.credentials import credentials_for
from etl.entities import ENTITIES, EntitySpec, Lookups
from etl.extract import ChildPolicy, Chunk, KnownTask, TaskExtractor, extract_listing
from etl.load import BatchLoader, TableCounts
from etl.models import RejectedRecord, SyncRun
from etl.tokens import DatabaseTokenStore

log = logging.getLogger(__name__)

# What a record points at loads before it.
ENTITY_ORDER = ("tags", "people", "supplies", "properties", "reservations", "tasks")
# Entities whose listing can be full (every record) or limited; full ones are "sweeps".
SWEEPING = ("reservations", "tasks")
# Complete listings in a row that must miss a property or reservation before it is deleted.
MISSING_LISTINGS_TO_DELETE = 2
AUTH_FAILED = "authentication failed"
WORKER_LOST = "worker lost: the process running this sync died"
# The deletion reconciler asks for tasks one by one; it shares the tasks sync's lock.
RECONCILE = "task_deletions"
LOCK_ENTITY = {RECONCILE: "tasks"}

Progress = Callable[[str, int, int | None], None]  # (label, advance, total)


@dataclass
class SyncOptions:
    full_sweep: bool | None = None  # None: when the last one is older than SYNC_FULL_SWEEP_HOURS
    transport: httpx.BaseTransport | None = None  # tests and benches: an in-process simulator
    progress: Progress | None = None
    # Fetch everything before loading anything, timing the two phases apart (benchmarks;
    # holds a whole entity in memory). Normally loading overlaps fetching.
    staged: bool = False


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


def build_lookups(region: Region) -> Lookups:
    return Lookups(
        region=region.code,
        properties=dict(Property.objects.filter(region=region).values_list("property_id", "pk")),
        reservations=dict(
            Reservation.objects.filter(region=region).values_list("reservation_id", "pk")
        ),
        tags=dict(Tag.objects.filter(region=region).values_list("tag_id", "pk")),
    )


def full_sweep_due(region: Region, entity: str, now: datetime) -> bool:
    """A full sweep is due when no successful one started within SYNC_FULL_SWEEP_HOURS."""
    since = now - timedelta(hours=settings.SYNC_FULL_SWEEP_HOURS)
    return not SyncRun.objects.filter(
        region=region,
        entity=entity,
        child_policy="full",
        status=SyncRun.Status.SUCCESS,
        started_at__gte=since,
    ).exists()


# --- per-entity extraction ---------------------------------------------------------------------


def plan(spec: EntitySpec, ctx: SyncContext, entity: str) -> tuple[Iterable[Chunk], EntitySink]:
    """The chunks an entity sync consumes, and the sink that loads them."""
    client = ctx.client
    if entity == RECONCILE:
        return task_chunks(ctx, reconcile=True), EntitySink(spec, ctx)
    if spec.name == "properties":
        return extract_listing(client, spec.path), ListingSink(spec, ctx, scope={})
    if spec.name == "reservations":
        if ctx.full_sweep:
            # Without a date filter the API lists only current stays (reference §7.1).
            params, scope = {"checkout_date_ge": "1970-01-01"}, {}
        else:
            start = ctx.now.date() - timedelta(days=settings.SYNC_RESERVATION_DAYS_BACK)
            params = {"checkout_date_ge": start.isoformat()}
            scope = {"checkout_date__gte": start}
        return extract_listing(client, spec.path, params), ListingSink(spec, ctx, scope)
    if spec.name == "tasks":
        return task_chunks(ctx), EntitySink(spec, ctx)
    return extract_listing(client, spec.path), EntitySink(spec, ctx)


def child_policy(ctx: SyncContext) -> ChildPolicy:
    today = ctx.now.date()
    return ChildPolicy(
        full_sweep=ctx.full_sweep,
        window_start=today - timedelta(days=settings.SYNC_CHILD_WINDOW_DAYS_BACK),
        window_end=today + timedelta(days=settings.SYNC_CHILD_WINDOW_DAYS_AHEAD),
    )


def task_chunks(ctx: SyncContext, reconcile: bool = False) -> Iterator[Chunk]:
    """Every listed property's tasks; or, to reconcile deletions, only the tasks no list
    shows (hidden ones, and those of properties gone), each asked for by id."""
    known = {
        task_id: KnownTask(home_id, synced_for, listed)
        for task_id, home_id, synced_for, listed in Task.objects.filter(
            region=ctx.region, deleted_at__isnull=True
        ).values_list("task_id", "home_id", "children_synced_for", "listed")
    }
    property_ids = list(
        Property.objects.filter(region=ctx.region, deleted_at__isnull=True)
        .order_by("property_id")
        .values_list("property_id", flat=True)
    )
    extractor = TaskExtractor(ctx.client, child_policy(ctx), known, settings.SYNC_CONCURRENCY)

    def progress(advance: int, total: int) -> None:
        ctx.advance("tasks", advance, total)

    if reconcile:
        listed_properties = set(property_ids)
        unlisted = sorted(
            task_id
            for task_id, task in known.items()
            if not task.listed or task.home_id not in listed_properties
        )
        yield from extractor.run([], progress, probes=unlisted)
    else:
        yield from extractor.run(property_ids, progress)


# --- one entity, one region -------------------------------------------------------------------


@contextmanager
def sync_locks(region_code: str, entity: str) -> Iterator[str | None]:
    """Take this sync's locks without waiting; yield None, or why the sync must not run."""
    if connection.vendor != "postgresql":
        yield None  # SQLite (the demo) runs one process at a time
        return
    key = sync_lock_key(region_code, entity)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock_shared(%s)", [REMEDIATION_LOCK])
        if not cursor.fetchone()[0]:
            yield "the duplicate remediation is running"
            return
        try:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            if not cursor.fetchone()[0]:
                yield f"another sync of {entity} for region {region_code} is running"
                return
            try:
                yield None
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        finally:
            cursor.execute("SELECT pg_advisory_unlock_shared(%s)", [REMEDIATION_LOCK])


def run_status(outcome: Outcome) -> str:
    if not outcome.errors:
        return SyncRun.Status.SUCCESS
    loaded = any(c.written or c.unchanged for c in outcome.counts.values())
    return SyncRun.Status.PARTIAL if loaded else SyncRun.Status.FAILED


def sync_entity(
    region: Region, entity: str, client: BreezewayClient, options: SyncOptions | None = None
) -> SyncRun:
    """Sync one entity of one region; the returned SyncRun says how it went."""
    options = options or SyncOptions()
    spec = ENTITIES[LOCK_ENTITY.get(entity, entity)]
    with sync_locks(region.code, LOCK_ENTITY.get(entity, entity)) as refusal:
        now = timezone.now()
        if refusal:
            log.info("%s sync of %s skipped: %s", entity, region.code, refusal)
            run = SyncRun(region=region, entity=entity, started_at=now)
            return finish_run(run, status=SyncRun.Status.SKIPPED, error=refusal)
        # Holding the lock, no other run of this pair can be alive: any still `running` died.
        mark_lost(SyncRun.objects.filter(region=region, entity__in=sharing_lock(entity)))
        run = SyncRun.objects.create(region=region, entity=entity, started_at=now)
        log.info("%s sync of %s started (run %s)", entity, region.code, run.pk)
        full = options.full_sweep
        if full is None:
            full = entity in SWEEPING and full_sweep_due(region, entity, now)
        ctx = SyncContext(region, client, build_lookups(region), now, full, options.progress)
        calls, retries = client.calls, client.retries
        started = time.perf_counter()
        try:
            chunks, sink = plan(spec, ctx, entity)
            if options.staged:
                chunks = list(chunks)
                fetch_seconds = time.perf_counter() - started
            for chunk in chunks:
                sink.consume(chunk)
            outcome = sink.finish()
            if options.staged:
                outcome.details["fetch_seconds"] = round(fetch_seconds, 3)
        except AuthFailed as exc:
            return finish_run(run, status=SyncRun.Status.FAILED, error=f"{AUTH_FAILED}: {exc}")
        except (ApiError, httpx.HTTPError) as exc:
            # Retries ran out, or the network failed: worth another try later; other API
            # answers (a 4xx) would only fail again.
            run.details = {"retryable": isinstance(exc, RetriesExhausted | httpx.HTTPError)}
            return finish_run(run, status=SyncRun.Status.FAILED, error=str(exc))
        except BaseException as exc:
            # A bug, a database failure, a time limit: leave a truthful run record, re-raise.
            finish_run(run, status=SyncRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
            raise
        if entity == "tasks":
            outcome.child_policy = child_policy(ctx).name
        elif entity in SWEEPING:
            outcome.child_policy = "full" if full else "window"
        outcome.details["seconds"] = round(time.perf_counter() - started, 3)
        outcome.details["load_seconds"] = round(outcome.load_seconds, 3)
        run.api_calls = client.calls - calls
        run.retries = client.retries - retries
        run = record_outcome(run, outcome)
        log.info(
            "%s sync of %s %s: fetched %d, inserted %d, updated %d, unchanged %d, deleted %d, "
            "rejected %d, %d API calls, %.1f s",
            entity,
            region.code,
            run.status,
            run.fetched,
            run.inserted,
            run.updated,
            run.unchanged,
            run.deleted,
            run.rejected,
            run.api_calls,
            outcome.details["seconds"],
        )
        return run


def sharing_lock(entity: str) -> list[str]:
    """The entities whose syncs take the same lock as this one's."""
    lock = LOCK_ENTITY.get(entity, entity)
    return [e for e in (*ENTITY_ORDER, RECONCILE) if LOCK_ENTITY.get(e, e) == lock]


def mark_lost(runs: QuerySet) -> int:
    """Mark `running` runs failed: their worker died (its locks went with its connection)."""
    return runs.filter(status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.FAILED, error=WORKER_LOST, finished_at=timezone.now()
    )


def sweep_lost_runs() -> int:
    """Mark failed every `running` run whose locks nobody holds any more; return how many."""
    marked = 0
    pairs = (
        SyncRun.objects.filter(status=SyncRun.Status.RUNNING)
        .values_list("region_id", "entity")
        .distinct()
    )
    for region_code, entity in pairs:
        with sync_locks(region_code, LOCK_ENTITY.get(entity, entity)) as refusal:
            if refusal is None:  # free: whoever was running this pair is gone
                marked += mark_lost(
                    SyncRun.objects.filter(region_id=region_code, entity__in=sharing_lock(entity))
                )
    if marked:
        log.warning("marked %d sync run(s) failed: %s", marked, WORKER_LOST)
    return marked


def record_outcome(run: SyncRun, outcome: Outcome) -> SyncRun:
    totals = TableCounts()
    for counts in outcome.counts.values():
        totals.add(counts)
    run.fetched = outcome.fetched
    run.inserted, run.updated = totals.inserted, totals.updated
    run.unchanged, run.deleted = totals.unchanged, totals.deleted
    run.rejected = len(outcome.rejected)
    run.child_policy = outcome.child_policy
    run.details = {
        **outcome.details,
        "tables": {name: c.as_dict() for name, c in outcome.counts.items()},
    }
    if outcome.errors:
        run.details["errors"] = outcome.errors[:100]
    RejectedRecord.objects.bulk_create(
        RejectedRecord(
            run=run,
            region=run.region,
            entity=r.entity,
            record_id=r.record_id,
            reason=r.reason,
            payload=r.payload,
        )
        for r in outcome.rejected
    )
    error = ""
    if outcome.errors:
        error = f"{len(outcome.errors)} request(s) failed after retries; first: {outcome.errors[0]}"
    return finish_run(run, status=run_status(outcome), error=error)


def finish_run(run: SyncRun, status: str, error: str = "") -> SyncRun:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.save()
    return run


# --- a region ---------------------------------------------------------------------------------


def make_client(region: Region, transport: httpx.BaseTransport | None = None) -> BreezewayClient:
    return BreezewayClient(
        credentials_for(region.code),
        DatabaseTokenStore(region.code),
        ClientSettings.from_django(),
        transport=transport,
    )


def ordered(entities: Iterable[str] | None) -> list[str]:
    wanted = set(entities or ENTITY_ORDER)
    unknown = wanted - set(ENTITY_ORDER) - {RECONCILE}
    if unknown:
        raise ValueError(
            f"unknown entit{'y' if len(unknown) == 1 else 'ies'} {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(ENTITY_ORDER)}"
        )
    return [name for name in (*ENTITY_ORDER, RECONCILE) if name in wanted]


def sync_region(
    region_code: str, entities: Iterable[str] | None = None, options: SyncOptions | None = None
) -> list[SyncRun]:
    """Sync the entities of one region in load order; one SyncRun each."""
    options = options or SyncOptions()
    names = ordered(entities)
    region = Region.objects.get(code=region_code)
    runs = []
    with make_client(region, options.transport) as client:
        for index, name in enumerate(names):
            run = sync_entity(region, name, client, options)
            runs.append(run)
            if run.status == SyncRun.Status.FAILED and run.error.startswith(AUTH_FAILED):
                # The auth endpoint allows one call a minute: do not try again per entity.
                for rest in names[index + 1 :]:
                    skipped = SyncRun.objects.create(
                        region=region, entity=rest, started_at=timezone.now()
                    )
                    runs.append(finish_run(skipped, SyncRun.Status.FAILED, run.error))
                break
    return runs
