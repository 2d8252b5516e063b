"""Extract -> transform -> load of one entity of one region, recorded as a SyncRun."""

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection
from django.utils import timezone

from breezeway.logcontext import log_context
from breezeway.models import Region
from etl.client import ApiError, AuthFailed, BreezewayClient, ClientSettings, RetriesExhausted
from etl.credentials import Credentials, credentials_for, rate_limit
from etl.entities import ENTITIES, JOBS, EntitySpec, Lookups, spec_of
from etl.extract import ChildPolicy, Chunk, Known, PerParentExtractor, extract_listing
from etl.locking import sync_locks
from etl.models import SyncRun
from etl.ratelimit import Limiter, RateLimit, pace_key, pace_store
from etl.runs import (
    DATABASE_ERRORS,
    DatabaseLost,
    describe_database_error,
    finish_run,
    mark_lost,
    record_outcome,
    sharing_lock,
)
from etl.sinks import EntitySink, ListingSink, Progress, SyncContext
from etl.tokens import DatabaseTokenStore

log = logging.getLogger(__name__)

AUTH_FAILED = "authentication failed"
# In a full sweep's details when what it read was not fully synced by the same region run:
# such a sweep does not count as the day's (full_sweep_due).
SWEEP_INCOMPLETE = "sweep_incomplete"
# Seconds a sync keeps trying to record its run after a database failure (a restart).
OUTAGE_PATIENCE = 30.0


@dataclass
class SyncOptions:
    full_sweep: bool | None = None  # None: when the last one is older than SYNC_FULL_SWEEP_HOURS
    transport: httpx.BaseTransport | None = None  # tests and benches: an in-process simulator
    progress: Progress | None = None
    # Fetch everything before loading anything, timing the two phases apart (benchmarks;
    # holds a whole entity in memory). Normally loading overlaps fetching.
    staged: bool = False


def build_lookups(region: Region, spec: EntitySpec | None = None) -> Lookups:
    """Breezeway id -> primary key of the rows of each entity that `spec` reads (None: of
    every entity any spec reads)."""
    reads = spec.reads if spec else {name for s in ENTITIES.values() for name in s.reads}
    pks = {
        name: dict(
            ENTITIES[name]
            .model.objects.filter(region=region)
            .values_list(ENTITIES[name].id_field, "pk")
        )
        for name in reads
    }
    return Lookups(region=region.code, pks=pks)


def full_sweep_due(region: Region, entity: str, now: datetime) -> bool:
    """A full sweep is due when no successful one started within SYNC_FULL_SWEEP_HOURS."""
    since = now - timedelta(hours=settings.SYNC_FULL_SWEEP_HOURS)
    return (
        not SyncRun.objects.filter(
            region=region,
            entity=entity,
            child_policy="full",
            status=SyncRun.Status.SUCCESS,
            started_at__gte=since,
        )
        .exclude(details__has_key=SWEEP_INCOMPLETE)
        .exists()
    )


# --- per-entity extraction ---------------------------------------------------------------------


def listed_since(region: Region, spec: EntitySpec, now: datetime) -> datetime | None:
    """Where an incremental listing of the entity starts: the start of its last successful
    run (a listing: reconcile jobs record under other names), less the overlap; None when it
    cannot be incremental (no such filter, or no such run)."""
    if spec.changed_since is None:
        return None
    last = (
        SyncRun.objects.filter(
            region=region, entity=spec.name, status=SyncRun.Status.SUCCESS, started_at__lt=now
        )
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if last is None:
        return None
    return last - timedelta(minutes=settings.SYNC_INCREMENTAL_OVERLAP_MINUTES)


def plan(spec: EntitySpec, ctx: SyncContext, job: str) -> tuple[Iterable[Chunk], EntitySink]:
    """The chunks a job consumes, and the sink that loads them."""
    if spec.listed_per is not None:
        return per_parent_chunks(spec, ctx, reconcile=job != spec.name), EntitySink(spec, ctx)
    params, scope = listing_filter(spec, ctx)
    chunks = extract_listing(ctx.client, spec.path, params)
    # Only a listing of everything in its scope is evidence about what it did not show.
    if spec.listing_proves_deletion and ctx.changed_since is None:
        return chunks, ListingSink(spec, ctx, scope)
    return chunks, EntitySink(spec, ctx)


def listing_filter(spec: EntitySpec, ctx: SyncContext) -> tuple[dict | None, dict]:
    """The listing's query parameters, and the filter of the rows a complete one covers."""
    window = spec.window
    if ctx.changed_since is not None and spec.changed_since is not None:
        # Whatever the stay's dates: the window's default would hide old stays that changed.
        params = {window.param: window.everything} if window else {}
        return {**params, **spec.changed_since.params(ctx.changed_since)}, {}
    if window is None:
        return None, {}
    if ctx.full_sweep:
        return {window.param: window.everything}, {}
    start = ctx.now.date() - timedelta(days=getattr(settings, window.days_back_setting))
    return {window.param: start.isoformat()}, {f"{window.field}__gte": start}


def child_policy(spec: EntitySpec, ctx: SyncContext) -> ChildPolicy:
    assert spec.listed_per is not None
    today = ctx.now.date()
    return ChildPolicy(
        full_sweep=ctx.full_sweep,
        window_start=today - timedelta(days=settings.SYNC_CHILD_WINDOW_DAYS_BACK),
        window_end=today + timedelta(days=settings.SYNC_CHILD_WINDOW_DAYS_AHEAD),
        window_field=spec.listed_per.window_field,
    )


def policy_name(spec: EntitySpec, ctx: SyncContext) -> str:
    """What a run says it fetched: its child-fetch policy, or whether it swept."""
    if spec.listed_per is not None:
        return child_policy(spec, ctx).name
    if spec.sweeps:
        if ctx.full_sweep:
            return "full"
        return "changed" if ctx.changed_since is not None else "window"
    return ""


def per_parent_chunks(spec: EntitySpec, ctx: SyncContext, reconcile: bool) -> Iterator[Chunk]:
    """Every listed parent's records (tasks per property); or, to reconcile deletions, only
    the records no list shows (hidden ones, and those of parents gone), each asked for by id."""
    listing = spec.listed_per
    assert listing is not None
    parent = ENTITIES[listing.entity]
    known = {
        breezeway_id: Known(parent_id, synced_for, listed)
        for breezeway_id, parent_id, synced_for, listed in spec.model.objects.filter(
            region=ctx.region, deleted_at__isnull=True
        ).values_list(spec.id_field, listing.field, "children_synced_for", "listed")
    }
    parent_ids = list(
        parent.model.objects.filter(region=ctx.region, deleted_at__isnull=True)
        .order_by(parent.id_field)
        .values_list(parent.id_field, flat=True)
    )
    extractor = PerParentExtractor(
        ctx.client, spec, child_policy(spec, ctx), known, settings.SYNC_CONCURRENCY
    )

    def progress(advance: int, total: int) -> None:
        ctx.advance(spec.name, advance, total)

    if reconcile:
        listed_parents = set(parent_ids)
        unlisted = sorted(
            breezeway_id
            for breezeway_id, record in known.items()
            if not record.listed or record.parent_id not in listed_parents
        )
        yield from extractor.run([], progress, probes=unlisted)
    else:
        yield from extractor.run(parent_ids, progress)


# --- one entity, one region -------------------------------------------------------------------


def run_entity_sync(
    region: Region,
    entity: str,
    client: BreezewayClient,
    options: SyncOptions | None = None,
    incomplete: Iterable[str] = (),
) -> SyncRun:
    """Sync one entity of one region; the returned SyncRun says how it went.

    `incomplete`: entities this region run did not sync successfully; a full sweep reading one
    of them does not count as the day's. A database failure raises DatabaseLost after the run
    is recorded as failed (when the database answers again).
    """
    options = options or SyncOptions()
    with log_context(region=region.code, entity=entity):
        spec = spec_of(entity)
        run = SyncRun(region=region, entity=entity, started_at=timezone.now())
        try:
            with sync_locks(region.code, spec.name, spec.reads, settings.SYNC_LOCK_WAIT) as refusal:
                run.started_at = timezone.now()
                if refusal:
                    log.info("%s sync of %s skipped: %s", entity, region.code, refusal)
                    return finish_run(run, status=SyncRun.Status.SKIPPED, error=refusal)
                # Holding the run lock, no other run of this pair is alive: any `running` died.
                mark_lost(SyncRun.objects.filter(region=region, entity__in=sharing_lock(entity)))
                run.save()
                with log_context(run_id=run.pk):
                    return load_entity(
                        run, spec, client, options, set(incomplete) & set(spec.reads)
                    )
        except DATABASE_ERRORS as exc:
            error = describe_database_error(exc)
            log.error("%s sync of %s failed: %s", entity, region.code, error)
            run.details = {**(run.details or {}), "retryable": True}
            recorded = record_despite_outage(run, error)
            unrecorded = {} if recorded or run.pk is None else {run.pk: error}
            raise DatabaseLost(error, [run] if run.pk else [], [entity], unrecorded) from exc


def record_despite_outage(run: SyncRun, error: str) -> bool:
    """Record a run failed after a database failure, on a new connection (the old one is
    broken), trying for up to OUTAGE_PATIENCE seconds while the database restarts; False when
    it still does not answer (the caller hands the run on, see DatabaseLost.unrecorded)."""
    if run.pk is None:
        return True
    delay, deadline = 0.5, time.monotonic() + OUTAGE_PATIENCE
    while True:
        try:
            connection.close()
        except DatabaseError:
            pass
        try:
            finish_run(run, status=SyncRun.Status.FAILED, error=error)
            return True
        except DATABASE_ERRORS as again:
            if time.monotonic() + delay > deadline:
                problem = describe_database_error(again)
                log.error("could not record run %s as failed: %s", run.pk, problem)
                return False
        time.sleep(delay)
        delay = min(delay * 2, 8.0)


def load_entity(
    run: SyncRun,
    spec: EntitySpec,
    client: BreezewayClient,
    options: SyncOptions,
    incomplete: set[str],
) -> SyncRun:
    """Extract and load one entity under its locks; record the outcome on `run`."""
    region, entity, now = run.region, run.entity, run.started_at
    log.info("%s sync of %s started (run %s)", entity, region.code, run.pk)
    reconciling = entity != spec.name  # a reconcile job: no listing, so no sweep either
    full = options.full_sweep
    if full is None:
        full = spec.sweeps and not reconciling and full_sweep_due(region, entity, now)
    since = None if full or reconciling else listed_since(region, spec, now)
    ctx = SyncContext(
        region, client, build_lookups(region, spec), now, full, options.progress, since
    )
    calls, retries, throttled = client.calls, client.retries, client.throttled
    waited = client.limiter.waited if client.limiter else 0.0
    cleaned, notes_from = client.cleaned, len(client.cleaned_notes)
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
    except DATABASE_ERRORS:
        raise  # run_entity_sync records it once the database answers again
    except BaseException as exc:
        # A bug, a time limit: leave a truthful run record, re-raise.
        try:
            finish_run(run, status=SyncRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        except DATABASE_ERRORS:
            pass
        raise
    if not reconciling:
        outcome.child_policy = policy_name(spec, ctx)
    if since is not None:
        outcome.details["changed_since"] = since.isoformat()
    if full and incomplete:
        outcome.details[SWEEP_INCOMPLETE] = (
            f"{', '.join(sorted(incomplete))} not synced successfully by the same region run"
        )
    outcome.details["seconds"] = round(time.perf_counter() - started, 3)
    outcome.details["load_seconds"] = round(outcome.load_seconds, 3)
    if client.cleaned > cleaned:
        outcome.details["cleaned"] = {
            "values": client.cleaned - cleaned,
            "first": client.cleaned_notes[notes_from : notes_from + 20],
        }
    if client.limiter is not None:
        outcome.details["rate_limit"] = {
            "per_second": client.limiter.limit.per_second,
            "in_force": round(client.limiter.rate(), 3),
            "waited_seconds": round(client.limiter.waited - waited, 3),
        }
    run.api_calls = client.calls - calls
    run.retries = client.retries - retries
    run.throttled = client.throttled - throttled
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


def make_client(region: Region, transport: httpx.BaseTransport | None = None) -> BreezewayClient:
    credentials = credentials_for(region.code)
    return BreezewayClient(
        credentials,
        DatabaseTokenStore(region.code),
        ClientSettings.from_django(),
        transport=transport,
        limiter=credential_limiter(region.code, credentials),
    )


def credential_limiter(region_code: str, credentials: Credentials) -> Limiter | None:
    """The shared request rate of the region's credential (etl.ratelimit); None: no limit."""
    per_second = rate_limit(region_code, settings.SYNC_RATE_LIMIT)
    if per_second <= 0:
        return None
    limit = RateLimit(per_second, settings.SYNC_RATE_LIMIT_RECOVERY_SECONDS)
    return Limiter(limit, pace_store(pace_key(credentials.client_id)))


def ordered(entities: Iterable[str] | None) -> list[str]:
    wanted = set(entities or ENTITIES)
    unknown = wanted - set(JOBS)
    if unknown:
        raise ValueError(
            f"unknown entit{'y' if len(unknown) == 1 else 'ies'} {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(ENTITIES)}"
        )
    return [name for name in JOBS if name in wanted]


def failed_run(region: Region, entity: str, error: str) -> SyncRun:
    """A run recorded as failed without starting (the region cannot sync at all)."""
    run = SyncRun.objects.create(region=region, entity=entity, started_at=timezone.now())
    return finish_run(run, SyncRun.Status.FAILED, error)


def run_region_sync(
    region_code: str, entities: Iterable[str] | None = None, options: SyncOptions | None = None
) -> list[SyncRun]:
    """Sync the entities of one region in load order; one SyncRun each.

    Raises DatabaseLost when the database fails, with the runs so far and what is left."""
    options = options or SyncOptions()
    names = ordered(entities)
    runs: list[SyncRun] = []
    with log_context(region=region_code):
        try:
            region = Region.objects.get(code=region_code)
            try:
                client = make_client(region, options.transport)
            except ImproperlyConfigured as exc:
                # A bad variable of this region's (its rate limit) fails its runs, not others'.
                log.error("sync of %s not started: %s", region_code, exc)
                return [failed_run(region, name, str(exc)) for name in names]
            with client:
                for index, name in enumerate(names):
                    incomplete = [r.entity for r in runs if r.status != SyncRun.Status.SUCCESS]
                    try:
                        run = run_entity_sync(region, name, client, options, incomplete)
                    except DatabaseLost as exc:
                        raise DatabaseLost(
                            str(exc), runs + exc.runs, names[index:], exc.unrecorded
                        ) from exc
                    runs.append(run)
                    if run.status == SyncRun.Status.FAILED and run.error.startswith(AUTH_FAILED):
                        # The auth endpoint allows one call a minute: do not try again per entity.
                        runs += [failed_run(region, rest, run.error) for rest in names[index + 1 :]]
                        break
        except DATABASE_ERRORS as exc:
            error = describe_database_error(exc)
            log.error("sync of %s stopped: %s", region_code, error)
            raise DatabaseLost(error, runs, names[len(runs) :]) from exc
        return runs
