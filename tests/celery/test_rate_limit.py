"""The request rate of one credential, shared by two real worker processes through Redis,
against the simulator's own limit for that credential."""

from datetime import datetime

from breezeway.models import Region
from etl import tasks
from etl.credentials import credential_variables
from etl.entities import ENTITY_NAMES
from etl.models import SyncRun
from tests.celery.conftest import Stack, wait_until
from tests.support.mirror import mirror_differences


def two_regions_on_one_credential(stack: Stack, monkeypatch) -> list[str]:
    """The first company as two regions with the same credential (one token can see several
    companies, reference §3): whatever region a worker syncs, it spends the same limit."""
    company = stack.sim.companies[0]
    twin = Region.objects.create(
        code=f"{company.code}-twin", name="Twin", company_id=company.company_id
    )
    id_var, secret_var = credential_variables(twin.code)
    stack.env[id_var], stack.env[secret_var] = company.client_id, company.client_secret
    monkeypatch.setenv(id_var, company.client_id)
    monkeypatch.setenv(secret_var, company.client_secret)
    stack.sim.faults.auth_min_interval = 0  # each region obtains its own token
    return [company.code, twin.code]


def overlap(runs: list[SyncRun]) -> float:
    """Seconds during which all the runs were running at once."""
    start: datetime = max(r.started_at for r in runs)
    end: datetime = min(r.finished_at for r in runs)
    return (end - start).total_seconds()


def sync_both(stack: Stack, codes: list[str], per_second: float) -> list[SyncRun]:
    for _ in range(2):
        stack.worker(concurrency=1, SYNC_RATE_LIMIT=str(per_second))
    for code in codes:
        tasks.sync_region.delay(code)
    finished = SyncRun.objects.filter(region_id__in=codes).exclude(status="running")
    wait_until(lambda: finished.count() == len(ENTITY_NAMES) * len(codes), 180, "every run")
    return list(finished)


def test_two_workers_together_keep_below_the_credentials_limit(stack, monkeypatch) -> None:
    codes = two_regions_on_one_credential(stack, monkeypatch)
    client_id = stack.sim.companies[0].client_id
    # 60/s each would be 120/s from two workers; together they must stay at 60.
    stack.sim.faults.rate_limit_per_second = 75.0
    runs = sync_both(stack, codes, per_second=60.0)
    assert {r.status for r in runs} == {"success"}
    task_runs = [r for r in runs if r.entity == "tasks"]
    assert overlap(task_runs) > 3, "the two task syncs must run at the same time"
    stats = stack.sim.stats
    assert stats["by_status"].get(429, 0) == 0
    assert stats["busiest_second"][client_id] <= 60 * 1.25
    span = max(r.finished_at for r in runs) - min(r.started_at for r in runs)
    assert sum(r.api_calls for r in runs) / span.total_seconds() <= 60 * 1.05
    snapshot = stack.sim.snapshot(stack.sim.companies[0].company_id)
    for code in codes:
        assert mirror_differences(code, snapshot) == []


def test_two_workers_above_the_vendors_limit_back_off_together(stack, monkeypatch) -> None:
    codes = two_regions_on_one_credential(stack, monkeypatch)
    stack.sim.faults.rate_limit_per_second = 80.0
    stack.env["SYNC_RETRY_AFTER_CAP"] = "0.5"
    runs = sync_both(stack, codes, per_second=320.0)
    assert {r.status for r in runs} == {"success"}
    throttled = sum(r.throttled for r in runs)
    calls = sum(r.api_calls for r in runs)
    assert throttled > 0  # the configured rate was too high: the vendor said so
    # Cut by the 429s, the shared rate settles near the vendor's: refusals stay a small share.
    assert throttled < 0.25 * calls
    task_runs = [r for r in runs if r.entity == "tasks"]
    assert all(r.details["rate_limit"]["in_force"] < 320.0 for r in task_runs)
