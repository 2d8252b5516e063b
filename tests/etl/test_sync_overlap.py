"""Overlapping runs of one region, a task seen two ways, links filled in late, database
outages, and a sync inside a threaded web server ("Sync now")."""

import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import psycopg
from django.core.management import CommandError, call_command
from django.db import connection, connections

from breezeway import models as m
from etl.extract import Chunk
from etl.load import preferred_copy
from etl.models import SyncRun
from etl.pipeline import SyncOptions, full_sweep_due, make_client, run_entity_sync, run_region_sync
from etl.records import Incoming
from etl.runs import WORKER_LOST, DatabaseLost
from tests.etl.test_sync import SYNCED_TABLES, rows_written_by_server
from tests.support.mirror import mirror_differences
from tests.support.outage import restart_database


def in_thread(target, *args) -> tuple[threading.Thread, dict]:
    """Run target(*args) in a thread of its own (own database connection); the result or the
    exception lands in the returned dict."""
    out: dict = {}

    def run() -> None:
        try:
            out["result"] = target(*args)
        except BaseException as exc:
            out["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def wait_for(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def running(entity: str) -> bool:
    return SyncRun.objects.filter(entity=entity, status=SyncRun.Status.RUNNING).exists()


def in_process(sim) -> SyncOptions:
    return SyncOptions(transport=httpx.WSGITransport(app=sim.app))


# --- one record, two sources ------------------------------------------------------------------


def test_a_task_both_listed_and_asked_for_by_id_comes_from_its_listing(sim, run_sync) -> None:
    run_sync()
    # A task moves to another property: its old property's list misses it (so it is to be
    # asked for by id), its new property's list shows it.
    world = sim.world_list[0]
    homes = sorted(p for p in world.properties if p not in world.bad_property_ids)
    task_id = min(world.tasks_by_property[homes[0]])
    world.tasks_by_property[homes[0]].discard(task_id)
    world.tasks_by_property[homes[1]].add(task_id)
    world.tasks[task_id]["home_id"] = homes[1]
    sim.reset_stats()
    (tasks,) = run_sync(entities=["tasks"], full_sweep=True)
    assert tasks.status == "success"
    assert sim.stats["by_endpoint"].get("/task/{id}", 0) == 0  # never asked: it was listed
    task = m.Task.objects.get(task_id=str(task_id))
    assert task.listed and task.home_id == str(homes[1])
    before = rows_written_by_server()
    (again,) = run_sync(entities=["tasks"], full_sweep=True)
    after = rows_written_by_server()
    assert again.rows_written == 0
    assert {t: after[t] - before[t] for t in SYNCED_TABLES if after[t] != before[t]} == {}


def test_two_copies_in_one_batch_are_chosen_by_rule_not_arrival() -> None:
    listed = Incoming({"id": 1, "updated_at": "2026-01-01"}, state={"listed": True})
    probed = Incoming({"id": 1, "updated_at": "2026-01-02"}, state={"listed": False})
    fuller = Incoming({"id": 1, "updated_at": "2026-01-01"}, state={"listed": True})
    fuller.fetched = {"requirements": [], "comments": []}
    newer = Incoming({"id": 1, "updated_at": "2026-01-03"}, state={"listed": True})
    for a, b, kept in ((listed, probed, listed), (listed, fuller, fuller), (fuller, newer, fuller)):
        assert preferred_copy(a, b) is kept and preferred_copy(b, a) is kept
    x, y = Incoming({"id": 1, "name": "x"}), Incoming({"id": 1, "name": "y"})
    assert preferred_copy(x, y) is preferred_copy(y, x)
    assert Chunk().to_probe == []


# --- overlapping runs of one region -----------------------------------------------------------


def test_reservations_never_load_while_properties_are_being_written(
    sim, regions, run_sync, settings
) -> None:
    code = regions[0].code
    settings.SYNC_LOCK_WAIT = 0
    settings.SYNC_PAGE_SIZE = 2  # ten pages: the properties sync lasts a second
    sim.faults.latency = 0.1
    thread, out = in_thread(run_region_sync, code, ["properties"], in_process(sim))
    wait_for(lambda: running("properties"))
    (skipped,) = run_region_sync(code, ["reservations"], in_process(sim))
    assert skipped.status == "skipped"
    assert "writing properties" in skipped.error
    thread.join()
    assert out["result"][0].status == "success"

    # Waiting instead: the reservations load once the properties are in, every link set.
    settings.SYNC_LOCK_WAIT = 30
    m.Property.objects.all().delete()
    thread, out = in_thread(run_region_sync, code, ["properties"], in_process(sim))
    wait_for(lambda: running("properties"))
    (waited,) = run_region_sync(code, ["reservations"], in_process(sim))
    thread.join()
    assert waited.status == "success" and waited.inserted > 0
    assert not m.Reservation.objects.filter(property__isnull=True).exists()


def test_a_properties_sync_waits_for_readers_and_is_skipped_after_the_wait(
    sim, regions, run_sync, settings
) -> None:
    code = regions[0].code
    run_sync(entities=["properties"])
    settings.SYNC_LOCK_WAIT = 0.2
    settings.SYNC_PAGE_SIZE = 5
    sim.faults.latency = 0.1
    thread, _ = in_thread(run_region_sync, code, ["reservations"], in_process(sim))
    wait_for(lambda: running("reservations"))
    (properties,) = run_region_sync(code, ["properties"], in_process(sim))
    thread.join()
    assert properties.status == "skipped"
    assert "reading properties" in properties.error and "waited 0.2 s" in properties.error


def test_links_missing_a_parent_are_filled_in_when_it_arrives(sim, regions, run_sync) -> None:
    # Reservations first: their properties are not there yet, so their links stay NULL.
    (reservations,) = run_sync(entities=["reservations"], full_sweep=True)
    assert reservations.status == "success" and reservations.inserted > 0
    assert not m.Reservation.objects.exclude(property=None).exists()
    (properties,) = run_sync(entities=["properties"])
    linked = properties.details["links_repaired"]["reservations.property"]
    assert linked == m.Reservation.objects.count()
    assert not m.Reservation.objects.filter(property=None).exists()
    run_sync(full_sweep=True)
    company = sim.companies[0]
    assert mirror_differences(company.code, sim.snapshot(company.company_id)) == []


def test_a_full_sweep_after_a_skipped_dependency_is_not_the_days(sim, regions, run_sync) -> None:
    code = regions[0].code
    db = connection.settings_dict
    from breezeway.locks import sync_lock_key

    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        # Another run of the region's properties is going on: this one skips them.
        other.execute("SELECT pg_advisory_lock(%s)", [sync_lock_key(code, "properties")])
        runs = run_sync(entities=["properties", "reservations"], full_sweep=True)
    by_entity = {run.entity: run for run in runs}
    assert by_entity["properties"].status == "skipped"
    reservations = by_entity["reservations"]
    assert reservations.status == "success" and reservations.child_policy == "full"
    assert "properties" in reservations.details["sweep_incomplete"]
    assert full_sweep_due(reservations.region, "reservations", reservations.started_at)
    runs = run_sync(entities=["properties", "reservations"], full_sweep=True)
    assert "sweep_incomplete" not in runs[1].details
    assert not full_sweep_due(runs[1].region, "reservations", runs[1].started_at)


# --- a database outage ------------------------------------------------------------------------


def test_a_database_outage_fails_the_run_truthfully_and_keeps_what_was_committed(
    sim, regions, run_sync, settings
) -> None:
    code = regions[0].code
    run_sync(entities=["tags", "people"])
    settings.SYNC_PAGE_SIZE = 2  # ten pages,
    settings.SYNC_BATCH_SIZE = 4  # a batch committed every second page
    sim.faults.latency = 0.05
    thread, out = in_thread(run_region_sync, code, ["properties", "reservations"], in_process(sim))
    wait_for(lambda: m.Property.objects.count() >= 8)
    connection.close()  # ours goes too; the next query reconnects
    assert restart_database() >= 2  # the sync's connection and its lock holder
    thread.join()
    lost = out["error"]
    assert isinstance(lost, DatabaseLost), out
    assert lost.pending == ["properties", "reservations"]
    run = SyncRun.objects.get(entity="properties", region_id=code, status="failed")
    assert run.error.startswith("database unavailable: OperationalError")
    assert run.details["retryable"] is True and run.error != WORKER_LOST
    assert m.Property.objects.count() >= 8  # committed batches stay committed
    assert not SyncRun.objects.filter(status="running").exists()
    # The locks went with the broken connection: the next run takes them and finishes.
    sim.faults.latency = 0
    runs = run_sync(entities=["properties", "reservations"], full_sweep=True)
    assert [r.status for r in runs] == ["success", "success"]


def test_the_sync_command_reports_a_database_outage_in_one_line(
    sim, regions, settings, capsys
) -> None:
    handle = sim.serve()
    try:
        settings.BREEZEWAY_API_URL = f"{handle.url}/public/inventory/v1"
        settings.BREEZEWAY_AUTH_URL = f"{handle.url}/public/auth/v1"
        settings.SYNC_PAGE_SIZE = 2
        settings.SYNC_BATCH_SIZE = 4
        sim.faults.latency = 0.05
        thread, out = in_thread(call_command, "sync", "--entity", "properties")
        wait_for(lambda: m.Property.objects.count() >= 8)
        connection.close()
        restart_database()
        thread.join()
    finally:
        handle.close()
    error = out["error"]
    assert isinstance(error, CommandError)
    message = str(error)
    assert message.startswith("database unavailable: OperationalError")
    assert "stopped before finishing properties" in message and "\n" not in message
    assert "password" not in message.lower()


# --- "Sync now" inside a threaded web server --------------------------------------------------


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_a_sync_in_a_threaded_web_server_keeps_its_locks(sim, regions, settings) -> None:
    """As "Sync now" runs without a broker: in a request thread of a threaded server (the
    token store used to close that thread's connection, which held the sync's locks)."""
    api = sim.serve()
    code = regions[0].code

    def app(environ, start_response):
        try:
            runs = run_region_sync(code, ["tags"])
            body = runs[0].status.encode()
        finally:
            connections.close_all()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    web = make_server("127.0.0.1", 0, app, ThreadingWSGIServer, QuietHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        settings.BREEZEWAY_API_URL = f"{api.url}/public/inventory/v1"
        settings.BREEZEWAY_AUTH_URL = f"{api.url}/public/auth/v1"
        sim.faults.latency = 1.5
        url = f"http://127.0.0.1:{web.server_port}/"
        thread, out = in_thread(lambda: httpx.post(url, timeout=30))
        wait_for(lambda: running("tags"))
        time.sleep(0.3)  # past the token: the request thread's store has been used
        with make_client(regions[0]) as client:
            second = run_entity_sync(regions[0], "tags", client)
        assert second.status == "skipped", second.error
        assert "another sync of tags" in second.error
        thread.join()
        assert out["result"].text == "success"
    finally:
        web.shutdown()
        api.close()
