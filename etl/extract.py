"""Extraction: API pages and per-property task lists (concurrent), as chunks for the loader."""

import contextvars
import logging
from collections import deque
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
from etl.load import Incoming
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
    # Tasks whose requirements and comments are still to fetch (the extractor's own use).
    children_wanted: list[tuple[Incoming, str]] = field(default_factory=list)
    # The extractor's own use: task ids a listing showed, and known ones it missed (to ask
    # for by id once every listing is in).
    listed_ids: list[str] = field(default_factory=list)
    to_probe: list[str] = field(default_factory=list)
    retryable: bool = False  # a failure was transient (retries ran out): worth a later run

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
class KnownTask:
    """What the database holds of a task, for the child-fetch policy and deletion probes."""

    home_id: str | None
    children_synced_for: datetime | None
    listed: bool


@dataclass(frozen=True)
class ChildPolicy:
    """Which tasks get their requirements and comments fetched (one call each per task)."""

    full_sweep: bool
    window_start: date
    window_end: date

    @property
    def name(self) -> str:
        return "full" if self.full_sweep else "new+changed+window"

    def wants(self, record: dict, known: KnownTask | None) -> bool:
        if self.full_sweep or known is None:
            return True
        try:
            updated_at = timestamp(record.get("updated_at"), "updated_at")
        except RecordError:
            return True
        if updated_at is None or updated_at != known.children_synced_for:
            return True
        scheduled = str(record.get("scheduled_date") or "")[:10]
        return self.window_start.isoformat() <= scheduled <= self.window_end.isoformat()


TASK_CHILD_PATHS = (("requirements", "/task/{}/requirements"), ("comments", "/task/{}/comments"))


class TaskExtractor:
    """Lists each property's tasks, fetches children by policy, probes tasks gone from a list.

    One job per property runs on a pool of `concurrency` threads (each job makes its calls one
    after another), so at most `concurrency` requests are in flight.
    """

    def __init__(
        self,
        client: BreezewayClient,
        policy: ChildPolicy,
        known: dict[str, KnownTask],
        concurrency: int,
    ) -> None:
        self.client = client
        self.policy = policy
        self.known = known
        self.concurrency = concurrency
        self.by_property: dict[str, set[str]] = {}
        for task_id, task in known.items():
            self.by_property.setdefault(task.home_id or "", set()).add(task_id)

    def run(
        self,
        property_ids: list[str],
        progress: Callable[[int, int], None] | None = None,
        probes: Iterable[str] = (),
    ) -> Iterator[Chunk]:
        """Chunks as jobs finish, in two phases. First each property's task list (a job per
        property; each task whose children are wanted becomes a job of its own, so a property
        with hundreds of tasks does not serialise its calls on one thread). Then the tasks to
        ask for by id (`probes`, known tasks a complete list missed, and on full sweeps the
        tasks of properties no longer listed), except those some list showed: a task seen
        both ways comes from its listing whatever the order the threads finish in."""
        listed: set[str] = set()
        deferred: set[str] = set(probes)
        if self.policy.full_sweep:
            # Tasks of properties no longer listed (or unknown) are asked for one by one.
            listed_properties = set(property_ids)
            deferred.update(
                task_id
                for home_id, task_ids in self.by_property.items()
                if home_id not in listed_properties
                for task_id in task_ids
            )
        jobs: deque[tuple[Callable[..., Chunk], tuple]] = deque(
            (self.property_tasks, (home_id,)) for home_id in property_ids
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
                # Children before further properties: their tasks are waiting to load.
                for incoming, task_id in reversed(chunk.children_wanted):
                    jobs.appendleft((self.children_job, (incoming, task_id)))
                yield chunk

    def probe_all(self, task_ids: list[str]) -> Chunk:
        chunk = Chunk()
        for task_id in task_ids:
            self.probe(task_id, chunk)
        return chunk

    def children_job(self, incoming: Incoming, task_id: str) -> Chunk:
        chunk = Chunk()
        self.fetch_children(incoming, task_id, chunk)
        chunk.records.append(incoming)
        return chunk

    def property_tasks(self, home_id: str) -> Chunk:
        chunk = Chunk()
        listed: list[Any] = []
        try:
            for page in self.client.pages("/task", {"home_id": home_id}):
                listed.extend(page)
            chunk.complete = True
        except AuthFailed:
            raise
        except Unprocessable:
            # A "bad property" answers 422 for good: skip it, infer nothing about its tasks.
            chunk.skipped_scope = home_id
        except ApiError as exc:
            chunk.fail(f"tasks of property {home_id}: {exc}", exc)
        seen = set()
        for record in listed:
            incoming = Incoming(record, state={"listed": True})
            if isinstance(record, dict) and record.get("id") is not None:
                task_id = str(record["id"]).strip()
                seen.add(task_id)
                if self.policy.wants(record, self.known.get(task_id)):
                    chunk.children_wanted.append((incoming, task_id))
                    continue
            chunk.records.append(incoming)
        chunk.listed_ids = list(seen)
        if chunk.complete:
            # Absent from a complete list is no evidence of deletion (the API hides some
            # tasks): each is asked for by id; only a 404 deletes. Tasks already known to be
            # hidden are asked again on full sweeps only.
            chunk.to_probe = [
                task_id
                for task_id in sorted(self.by_property.get(home_id, set()) - seen)
                if self.known[task_id].listed or self.policy.full_sweep
            ]
        return chunk

    def probe(self, task_id: str, chunk: Chunk) -> None:
        try:
            record = self.client.get(f"/task/{task_id}")
        except NotFound:
            chunk.gone.append(task_id)
            return
        except AuthFailed:
            raise
        except ApiError as exc:
            chunk.fail(f"task {task_id}: {exc}", exc)
            return
        incoming = Incoming(record, state={"listed": False})
        if isinstance(record, dict) and self.policy.wants(record, self.known.get(task_id)):
            chunk.children_wanted.append((incoming, task_id))
        else:
            chunk.records.append(incoming)

    def fetch_children(self, incoming: Incoming, task_id: str, chunk: Chunk) -> None:
        complete = True
        for name, path in TASK_CHILD_PATHS:
            try:
                incoming.fetched[name] = self.client.records(path.format(task_id))
            except NotFound:
                return  # deleted since it was listed: the next sync's probe will see it
            except AuthFailed:
                raise
            except ApiError as exc:
                chunk.fail(f"{name} of task {task_id}: {exc}", exc)
                complete = False
        if complete:
            try:
                updated_at = timestamp(incoming.record.get("updated_at"), "updated_at")
            except RecordError:
                return
            incoming.state["children_synced_for"] = updated_at
