"""Sync fixtures for any test: a seeded simulator, its regions registered, a sync runner."""

from collections.abc import Callable, Iterator

import httpx
import pytest

from breezeway.models import Region
from etl.credentials import credential_variables
from etl.models import SyncRun
from etl.pipeline import SyncOptions, run_region_sync
from simulator import Simulator, SimulatorConfig

SIM_URL = "http://simulator.test"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(SimulatorConfig(seed=7, scale=0.01, companies=1))


@pytest.fixture
def sync_settings(settings) -> object:
    """Client settings pointing at the in-process simulator, with quick retries."""
    settings.BREEZEWAY_API_URL = f"{SIM_URL}/public/inventory/v1"
    settings.BREEZEWAY_AUTH_URL = f"{SIM_URL}/public/auth/v1"
    settings.SYNC_RETRY_BASE_DELAY = 0.01
    settings.SYNC_RETRY_AFTER_CAP = 0.05
    settings.SYNC_HTTP_TIMEOUT = 2.0
    settings.SYNC_BATCH_SIZE = 50  # several batches even at small scale
    return settings


def register_regions(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> list[Region]:
    regions = []
    for company in sim.companies:
        regions.append(
            Region.objects.create(
                code=company.code, name=company.name, company_id=company.company_id
            )
        )
        id_var, secret_var = credential_variables(company.code)
        monkeypatch.setenv(id_var, company.client_id)
        monkeypatch.setenv(secret_var, company.client_secret)
    return regions


@pytest.fixture
def regions(sim, sync_settings, transactional_db, monkeypatch) -> list[Region]:
    return register_regions(sim, monkeypatch)


@pytest.fixture
def run_sync(sim, regions) -> Iterator[Callable[..., list[SyncRun]]]:
    """sync(region=first, entities=None, full_sweep=None) against the in-process simulator."""

    def sync(
        region: str | None = None, entities: list[str] | None = None, **options: object
    ) -> list[SyncRun]:
        transport = httpx.WSGITransport(app=sim.app)
        return run_region_sync(
            region or regions[0].code, entities, SyncOptions(transport=transport, **options)
        )

    yield sync
