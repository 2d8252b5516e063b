"""Extraction: API pages, and per-parent lists (tasks per property, concurrent), as chunks."""

import contextvars
import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from etl.client import (
    ApiError,
    AuthFailed,
    BreezewayClient,
    NotFound,
    RetriesExhausted,
    Unprocessable,
)
from etl.entities import EntitySpec
from etl.records import Incoming, record_id_or_none
from etl.tokens import FETCH_THREAD_PREFIX
from etl.values import RecordError, timestamp

log = logging.getLogger(__name__)


@dataclass
class Chunk:
    """What one unit of extraction produced."""

    records: list[Incoming] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # ids the API answered 404 for
    errors: list[str] = field(default_factory=list)  # failures that outlived the retries
    complete: bool = False  # the listing this chunk ends was fetched entirely
    skipped_scope: str = ""  # e.g. a property whose task list answers 422
    # Records whose fetched child sets are still to fetch (the extractor's own use).
    children_wanted: list[tuple[Incoming, str]] = field(default_factory=list)
    # The extractor's own use: ids a listing showed, and known ones it missed (to ask for by
    # id once every listing is in).
    listed_ids: list[str] = field(default_factory=list)
    to_probe: list[str] = field(default_factory=list)
    retryable: bool = False  # a failure was transient (retries ran out): worth a later run
    # Why child sets were fetched, per record (ChildPolicy.reason): what the calls bought.
    children_why: Counter = field(default_factory=Counter)

    def fail(self, message: str, exc: ApiError) -> None:
        self.errors.append(message)
        self.retryable = self.retryable or isinstance(exc, RetriesExhausted)


def extract_listing(
    client: BreezewayClient, path: str, params: dict[str, Any] | None = None
) -> Iterator[Chunk]:
    """One chunk per page; the last chunk says whether every page was fetched."""
    try:
        for page in client.pages(path, params):
            yield Chunk(records=[Incoming(record) for record in page])
    except AuthFailed:
        raise  # nothing else can work either: the run fails
    except ApiError as exc:
        chunk = Chunk()
        chunk.fail(str(exc), exc)
        yield chunk
        return
    yield Chunk(complete=True)


@dataclass(frozen=True)
class Known:
    """What the database holds of a record listed per parent, for the child-fetch policy and
    deletion probes."""

    parent_id: str | None
    children_synced_for: datetime | None
    listed: bool


@dataclass(frozen=True)
class ChildPolicy:
    """Which records get their fetched child sets fetched (one call per set and record)."""

    full_sweep: bool
    window_start: date
    window_end: date
    window_field: str  # the record's date that keeps its children refreshed near today

    @property
    def name(self) -> str:
        return "full" if self.full_sweep else "new+changed+window"

    def reason(self, record: dict, known: Known | None) -> str | None:
        """Why the record's child sets are fetched ("full", "new", "changed", "window"), or
        None when they are not."""
        if self.full_sweep:
            return "full"
        if known is None:
            return "new"
        try:
            updated_at = timestamp(record.get("updated_at"), "updated_at")
        except RecordError:
            return "changed"  # unreadable: whatever it says could have moved
        if updated_at is None or updated_at != known.children_synced_for:
            return "changed"
        day = str(record.get(self.window_field) or "")[:10]
        if self.window_start.isoformat() <= day <= self.window_end.isoformat():
            return "window"
        return None


class PerParentExtractor:
    """Lists each parent's records (an entity with `listed_per`: tasks per property), fetches
    their child sets by policy, and asks for known records gone from a list by id.

    One job per parent runs on a pool of `concurrency` threads (each job makes its calls one
    after another), so at most `concurrency` requests are in flight.
    """

    def __init__(
        self,
        client: BreezewayClient,
        spec: EntitySpec,
        policy: ChildPolicy,
        known: dict[str, Known],
        concurrency: int,
    ) -> None:
        assert spec.listed_per is not None
        self.client = client
        self.path = spec.path
        self.param = spec.listed_per.param
        self.child_paths = [(c.name, c.endpoint) for c in spec.children if c.endpoint]
        self.policy = policy
        self.known = known
        self.concurrency = concurrency
        self.by_parent: dict[str, set[str]] = {}
        for breezeway_id, record in known.items():
            self.by_parent.setdefault(record.parent_id or "", set()).add(breezeway_id)

    def run(
        self,
        parent_ids: list[str],
        progress: Callable[[int, int], None] | None = None,
        probes: Iterable[str] = (),
    ) -> Iterator[Chunk]:
        """Chunks as jobs finish, in two phases. First each parent's list (a job per parent;
        each record whose children are wanted becomes a job of its own, so a parent with
        hundreds of records does not serialise its calls on one thread). Then the records to
        ask for by id (`probes`, known records a complete list missed, and on full sweeps those
        of parents no longer listed), except those some list showed: a record seen both ways
        comes from its listing whatever the order the threads finish in."""
        listed: set[str] = set()
        deferred: set[str] = set(probes)
        if self.policy.full_sweep:
            # Records of parents no longer listed (or unknown) are asked for one by one.
            listed_parents = set(parent_ids)
            deferred.update(
                breezeway_id
                for parent_id, ids in self.by_parent.items()
                if parent_id not in listed_parents
                for breezeway_id in ids
            )
        jobs: deque[tuple[Callable[..., Chunk], tuple]] = deque(
            (self.parent_list, (parent_id,)) for parent_id in parent_ids
        )
        total = len(jobs)
        if progress:
            progress(0, total)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix=FETCH_THREAD_PREFIX) as pool:
            for phase in ("listings", "probes"):
                if phase == "probes":
                    unlisted = sorted(deferred - listed)
                    jobs.extend(
                        (self.probe_all, (unlisted[i : i + 50],))
                        for i in range(0, len(unlisted), 50)
                    )
                    total += len(jobs)
                for chunk in self._drain(pool, jobs):
                    listed.update(chunk.listed_ids)
                    deferred.update(chunk.to_probe)
                    total += len(chunk.children_wanted)
                    chunk.children_wanted = []
                    if progress:
                        progress(1, total)
                    yield chunk

    def _drain(
        self, pool: ThreadPoolExecutor, jobs: deque[tuple[Callable[..., Chunk], tuple]]
    ) -> Iterator[Chunk]:
        """Run `jobs` (and the children jobs they spawn) until none is left."""
        in_flight: set[Future] = set()
        while True:
            # A bounded queue of jobs keeps memory flat on large accounts.
            while jobs and len(in_flight) < 2 * self.concurrency:
                job, args = jobs.popleft()
                # In the submitting context: the job's log lines name the run's region,
                # entity and run id (breezeway.logcontext).
                in_flight.add(pool.submit(contextvars.copy_context().run, job, *args))
            if not in_flight:
                return
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                chunk = future.result()
                # Children before further parents: their records are waiting to load.
                for incoming, breezeway_id in reversed(chunk.children_wanted):
                    jobs.appendleft((self.children_job, (incoming, breezeway_id)))
                yield chunk

    def wants(self, record: dict, breezeway_id: str, chunk: Chunk) -> bool:
        """Whether the record's child sets are to be fetched; counts why on the chunk."""
        why = self.policy.reason(record, self.known.get(breezeway_id))
        if why is not None:
            chunk.children_why[why] += 1
        return why is not None

    def probe_all(self, ids: list[str]) -> Chunk:
        chunk = Chunk()
        for breezeway_id in ids:
            self.probe(breezeway_id, chunk)
        return chunk

    def children_job(self, incoming: Incoming, breezeway_id: str) -> Chunk:
        chunk = Chunk()
        self.fetch_children(incoming, breezeway_id, chunk)
        chunk.records.append(incoming)
        return chunk

    def parent_list(self, parent_id: str) -> Chunk:
        chunk = Chunk()
        listed: list[Any] = []
        try:
            for page in self.client.pages(self.path, {self.param: parent_id}):
                listed.extend(page)
            chunk.complete = True
        except AuthFailed:
            raise
        except Unprocessable:
            # A "bad property" answers 422 for good: skip it, infer nothing about its records.
            chunk.skipped_scope = parent_id
        except ApiError as exc:
            chunk.fail(f"{self.param}={parent_id}: {exc}", exc)
        seen = set()
        for record in listed:
            incoming = Incoming(record, state={"listed": True})
            breezeway_id = record_id_or_none(record)
            if breezeway_id is not None:
                seen.add(breezeway_id)
                if self.wants(record, breezeway_id, chunk):
                    chunk.children_wanted.append((incoming, breezeway_id))
                    continue
            chunk.records.append(incoming)
        chunk.listed_ids = list(seen)
        if chunk.complete:
            # Absent from a complete list is no evidence of deletion (the API hides some
            # tasks): each is asked for by id; only a 404 deletes. Records already known to be
            # hidden are asked again on full sweeps only.
            chunk.to_probe = [
                breezeway_id
                for breezeway_id in sorted(self.by_parent.get(parent_id, set()) - seen)
                if self.known[breezeway_id].listed or self.policy.full_sweep
            ]
        return chunk

    def probe(self, breezeway_id: str, chunk: Chunk) -> None:
        try:
            record = self.client.get(f"{self.path}/{breezeway_id}")
        except NotFound:
            chunk.gone.append(breezeway_id)
            return
        except AuthFailed:
            raise
        except ApiError as exc:
            chunk.fail(str(exc), exc)  # it names the path
            return
        incoming = Incoming(record, state={"listed": False})
        if isinstance(record, dict) and self.wants(record, breezeway_id, chunk):
            chunk.children_wanted.append((incoming, breezeway_id))
        else:
            chunk.records.append(incoming)

    def fetch_children(self, incoming: Incoming, breezeway_id: str, chunk: Chunk) -> None:
        complete = True
        for name, path in self.child_paths:
            try:
                incoming.fetched[name] = self.client.records(path.format(breezeway_id))
            except NotFound:
                return  # deleted since it was listed: the next sync's probe will see it
            except AuthFailed:
                raise
            except ApiError as exc:
                chunk.fail(str(exc), exc)  # it names the path
                complete = False
        if complete:
            try:
                updated_at = timestamp(incoming.record.get("updated_at"), "updated_at")
            except RecordError:
                return
            incoming.state["children_synced_for"] = updated_at
