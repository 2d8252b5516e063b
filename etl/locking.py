"""The advisory locks that keep one sync per (region, entity) at a time, and find lost runs."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, OperationalError, connection, connections

from breezeway.locks import REMEDIATION_LOCK, sync_data_key, sync_lock_key
from etl.entities import ENTITIES
from etl.models import SyncRun
from etl.runs import WORKER_LOST, locked_entity, mark_lost, sharing_lock

log = logging.getLogger(__name__)

LOCK_GAVE_UP = ("55P03", "40P01")  # lock_timeout reached; deadlock detected


@contextmanager
def sync_locks(
    region_code: str, entity: str, reads: tuple[str, ...] = (), wait: float = 0.0, data: bool = True
) -> Iterator[str | None]:
    """Take a sync's locks; yield None, or why the sync must not run.

    The locks live on a database connection of their own that nothing else uses or closes (a
    thread closing its own connection, as a request thread may, cannot drop them), and they
    are released by closing it, which works even when the database went away. Taken in order:
    the remediation lock shared and the run key, without waiting; then, unless `data` is
    False, the data keys of `entity` (exclusive) and of what it `reads` (shared) in load order,
    each waiting up to `wait` seconds for another run of the region to finish with them.
    """
    if connection.vendor != "postgresql":
        yield None  # SQLite (the demo) runs one process at a time
        return
    holder = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        yield _take_locks(holder, region_code, entity, reads if data else None, wait)
    finally:
        try:
            holder.close()
        except DatabaseError:
            pass  # a dead connection holds nothing any more


def _take_locks(
    holder: Any, region_code: str, entity: str, reads: tuple[str, ...] | None, wait: float
) -> str | None:
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock_shared(%s)", [REMEDIATION_LOCK])
        if not cursor.fetchone()[0]:
            return "the duplicate remediation is running"
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [sync_lock_key(region_code, entity)])
        if not cursor.fetchone()[0]:
            return f"another sync of {entity} for region {region_code} is running"
        if reads is None:
            return None
        # One fixed order for every run, so two runs never wait for each other in a circle.
        order = list(ENTITIES)
        wanted = sorted(
            {entity: True, **dict.fromkeys(reads, False)}.items(),
            key=lambda item: order.index(item[0]),
        )
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{int(wait * 1000)}ms"])
        for name, exclusive in wanted:
            key = sync_data_key(region_code, name)
            waiting = wait > 0
            function = "pg_advisory_lock" if waiting else "pg_try_advisory_lock"
            function += "" if exclusive else "_shared"
            try:
                cursor.execute(f"SELECT {function}(%s)", [key])
                # pg_advisory_lock returns once it has the lock; the try form says.
                taken = waiting or cursor.fetchone()[0]
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) not in LOCK_GAVE_UP:
                    raise
                taken = False
            if not taken:
                doing = "reading" if exclusive else "writing"
                return f"another run of region {region_code} is {doing} {name} (waited {wait:g} s)"
    return None


def sweep_lost_runs() -> int:
    """Mark failed every `running` run whose locks nobody holds any more; return how many."""
    marked = 0
    pairs = (
        SyncRun.objects.filter(status=SyncRun.Status.RUNNING)
        .values_list("region_id", "entity")
        .distinct()
    )
    for region_code, entity in pairs:
        with sync_locks(region_code, locked_entity(entity), data=False) as refusal:
            if refusal is None:  # free: whoever was running this pair is gone
                marked += mark_lost(
                    SyncRun.objects.filter(region_id=region_code, entity__in=sharing_lock(entity))
                )
    if marked:
        log.warning("marked %d sync run(s) failed: %s", marked, WORKER_LOST)
    return marked
