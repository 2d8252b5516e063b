"""The sync under overlap, locks, faults and bad properties; the sync and add_region commands."""

import threading

import httpx
import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from breezeway import models as m
from breezeway.locks import REMEDIATION_LOCK
from etl.models import ApiToken, RejectedRecord, SyncRun
from etl.pipeline import SyncOptions, run_region_sync
from tests.support.mirror import mirror_differences


def test_two_syncs_of_one_region_at_once_one_is_skipped(sim, regions, run_sync) -> None:
    run_sync(entities=["properties"])
    sim.faults.latency = 0.01  # long enough for the two runs to overlap
    results: dict[str, list[SyncRun]] = {}
    start = threading.Barrier(2)

    def sync(name: str) -> None:
        try:
            start.wait()
            transport = httpx.WSGITransport(app=sim.app)
            results[name] = run_region_sync(
                regions[0].code, ["tasks"], SyncOptions(transport=transport)
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sync, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(results[name][0].status for name in ("a", "b"))
    assert outcomes == ["skipped", "success"]
    skipped = next(results[n][0] for n in ("a", "b") if results[n][0].status == "skipped")
    assert "another sync of tasks" in skipped.error
    sim.faults.latency = 0
    run_sync(full_sweep=True)
    company = sim.companies[0]
    assert mirror_differences(company.code, sim.snapshot(company.company_id)) == []


def test_a_sync_during_remediation_is_skipped(sim, regions, run_sync) -> None:
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [REMEDIATION_LOCK])
        runs = run_sync()
    assert {run.status for run in runs} == {"skipped"}
    assert all("remediation" in run.error for run in runs)
    assert not m.Property.objects.exists()


def test_injected_faults_are_retried_counted_and_harmless(sim, run_sync, settings) -> None:
    settings.SYNC_MAX_ATTEMPTS = 10
    sim.faults.error_rate = 0.15
    sim.faults.rate_limit_rate = 0.05
    runs = run_sync()
    assert all(run.status == "success" for run in runs), [(r.entity, r.error) for r in runs]
    assert sum(run.retries for run in runs) > 0
    sim.faults.error_rate = sim.faults.rate_limit_rate = 0
    company = sim.companies[0]
    assert mirror_differences(company.code, sim.snapshot(company.company_id)) == []


def test_a_bad_property_is_skipped_without_failing_the_run(sim, run_sync) -> None:
    runs = run_sync()
    tasks = next(run for run in runs if run.entity == "tasks")
    bad = [str(i) for i in sim.snapshot(sim.companies[0].company_id)["bad_property_ids"]]
    assert bad and tasks.status == "success"
    assert tasks.details["skipped_properties"] == sorted(bad)
    assert not m.Task.objects.filter(home_id__in=bad).exists()


def test_failed_child_calls_make_the_run_partial_and_are_fetched_again(
    sim, run_sync, settings
) -> None:
    settings.SYNC_MAX_ATTEMPTS = 2
    run_sync(entities=["tags", "properties", "reservations"])
    sim.faults.fail_paths = [{"path": "/task/{id}/comments", "status": 500}]
    (tasks,) = run_sync(entities=["tasks"])
    assert tasks.status == "partial" and "/comments: HTTP 500" in tasks.error
    assert not m.Task.objects.exclude(children_synced_for=None).exists()
    sim.faults.fail_paths = []
    (tasks,) = run_sync(entities=["tasks"], full_sweep=False)
    assert tasks.status == "success"
    assert not m.Task.objects.filter(children_synced_for=None).exists()


# --- commands ---------------------------------------------------------------------------------


@pytest.fixture
def served(sim, sync_settings):
    handle = sim.serve()
    sync_settings.BREEZEWAY_API_URL = f"{handle.url}/public/inventory/v1"
    sync_settings.BREEZEWAY_AUTH_URL = f"{handle.url}/public/auth/v1"
    yield handle
    handle.close()


def test_sync_command_prints_a_summary_and_succeeds(sim, regions, served, capsys) -> None:
    call_command("sync", "--region", regions[0].code)
    out = capsys.readouterr().out
    for entity in ("tags", "people", "supplies", "properties", "reservations", "tasks"):
        assert entity in out
    call_command("sync")
    out = capsys.readouterr().out
    assert "rows written: 0" in out


def test_sync_command_fails_when_a_run_is_partial(sim, regions, served, capsys) -> None:
    sim.faults.fail_paths = [{"path": "/supplies", "status": 502}]
    with pytest.raises(CommandError, match=r"supplies (partial|failed)"):
        call_command("sync", "--entity", "supplies")


def test_sync_command_refuses_bad_arguments(regions, sync_settings, monkeypatch) -> None:
    with pytest.raises(CommandError, match="Unknown region nope"):
        call_command("sync", "--region", "nope")
    with pytest.raises(CommandError):
        call_command("sync", "--entity", "invoices")
    monkeypatch.delenv("BREEZEWAY_SIM1_CLIENT_SECRET")
    with pytest.raises(CommandError, match="BREEZEWAY_SIM1_CLIENT_SECRET"):
        call_command("sync", "--region", "sim1")
    with pytest.raises(CommandError, match="No region to sync"):
        call_command("sync")


def test_add_region(db, capsys) -> None:
    call_command("add_region", "us-east.1", "--name", "US East", "--company-id", "42")
    region = m.Region.objects.get(code="us-east.1")
    assert region.company_id == 42 and region.is_active
    assert "BREEZEWAY_US_EAST_1_CLIENT_ID" in capsys.readouterr().out
    with pytest.raises(CommandError, match="exists already"):
        call_command("add_region", "us-east.1", "--name", "x", "--company-id", "1")
    call_command("add_region", "us-east.1", "--name", "x", "--company-id", "1", "--update")
    assert m.Region.objects.get(code="us-east.1").name == "x"
    with pytest.raises(CommandError, match="not valid"):
        call_command("add_region", "bad code!", "--name", "x", "--company-id", "1")
    with pytest.raises(CommandError, match="positive"):
        call_command("add_region", "eu", "--name", "x", "--company-id", "0")


def test_pages_shifting_during_a_sync_duplicate_nothing(sim, run_sync, settings) -> None:
    settings.SYNC_PAGE_SIZE = 4
    sim.faults.page_shift_rate = 0.5  # new records appear while the sync pages
    runs = run_sync()
    assert all(run.status == "success" for run in runs)
    sim.faults.page_shift_rate = 0
    run_sync(full_sweep=True)
    company = sim.companies[0]
    assert mirror_differences(company.code, sim.snapshot(company.company_id)) == []


def test_secrets_appear_in_no_log_and_no_record(sim, run_sync, caplog) -> None:
    caplog.set_level("DEBUG")
    sim.faults.error_rate = 0.2
    sim.faults.token_ttl = 1.0
    sim.faults.auth_min_interval = 0.0
    runs = run_sync()
    company = sim.companies[0]
    stored = ApiToken.objects.get(region_id=company.code)
    secrets = [company.client_secret, stored.access_token, stored.refresh_token]
    records = " ".join(f"{run.error} {run.details}" for run in SyncRun.objects.all()) + " ".join(
        f"{r.reason} {r.payload}" for r in RejectedRecord.objects.all()
    )
    for secret in secrets:
        assert secret and secret not in caplog.text and secret not in records
    assert any(run.retries for run in runs)
