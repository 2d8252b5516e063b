"""The API client against the simulator: tokens, retries, pagination, real HTTP and timeouts."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection

from etl.client import AuthFailed, BreezewayClient, ClientSettings, RetriesExhausted
from etl.credentials import Credentials, credential_variables
from etl.models import ApiToken
from etl.tokens import DatabaseTokenStore
from tests.support.sync_fixtures import SIM_URL

ROOT = Path(__file__).resolve().parents[2]


def client_for(sim, region, transport=None, **overrides) -> BreezewayClient:
    company = sim.companies[0]
    base = overrides.pop("base", SIM_URL)
    settings = ClientSettings(
        api_url=f"{base}/public/inventory/v1",
        auth_url=f"{base}/public/auth/v1",
        retry_base_delay=0.01,
        retry_after_cap=0.05,
        **overrides,
    )
    return BreezewayClient(
        Credentials(company.client_id, company.client_secret),
        DatabaseTokenStore(region.code),
        settings,
        transport=transport if transport is not None else httpx.WSGITransport(app=sim.app),
    )


def obtained(sim) -> int:
    return sum(sim.stats["auth_obtain"].values())


def test_the_token_is_obtained_once_across_clients_and_processes(sim, regions) -> None:
    region = regions[0]
    for _ in range(3):
        with client_for(sim, region) as client:
            client.get("/people")
    assert obtained(sim) == 1
    # Another process (a second worker) reads the stored token instead of asking for one.
    handle = sim.serve()
    try:
        id_var, secret_var = credential_variables(region.code)
        company = sim.companies[0]
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DJANGO_SETTINGS_MODULE": "breezeway.settings",
            "SECRET_KEY": "test",
            "BREEZEWAY_API_URL": f"{handle.url}/public/inventory/v1",
            "BREEZEWAY_AUTH_URL": f"{handle.url}/public/auth/v1",
            id_var: company.client_id,
            secret_var: company.client_secret,
        }
        proc = subprocess.run(
            [sys.executable, "manage.py", "sync", "--region", region.code, "--entity", "tags"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert "success" in proc.stdout
    finally:
        handle.close()
    assert obtained(sim) == 1
    assert sum(sim.stats["auth_refresh"].values()) == 0
    assert ApiToken.objects.get(region=region).obtained == 1


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_an_expiring_token_is_renewed_with_the_refresh_token(sim, regions) -> None:
    sim.faults.token_ttl = 0.5
    sim.faults.auth_min_interval = 0.0
    with client_for(sim, regions[0]) as client:
        client.get("/people")
        time.sleep(0.6)
        client.get("/people")
    assert obtained(sim) == 1
    assert sum(sim.stats["auth_refresh"].values()) == 1


def test_a_refused_token_is_renewed_once_and_the_call_retried(sim, regions) -> None:
    sim.faults.auth_min_interval = 0.0
    with client_for(sim, regions[0]) as client:
        client.get("/people")
    # The stored token looks valid for hours but the API no longer accepts it (revoked).
    ApiToken.objects.filter(region=regions[0]).update(access_token="revoked.token.value")
    with client_for(sim, regions[0]) as client:
        assert isinstance(client.get("/people"), list)
        assert client.retries == 1
    assert sum(sim.stats["auth_refresh"].values()) == 1
    assert 401 in sim.stats["by_status"] or "401" in sim.stats["by_status"]


def test_bad_credentials_fail_clearly_and_once(sim, regions) -> None:
    region = regions[0]
    client = BreezewayClient(
        Credentials("nobody", "wrong"),
        DatabaseTokenStore(region.code),
        ClientSettings(
            api_url=f"{SIM_URL}/public/inventory/v1", auth_url=f"{SIM_URL}/public/auth/v1"
        ),
        transport=httpx.WSGITransport(app=sim.app),
    )
    with pytest.raises(AuthFailed, match="refused"):
        client.get("/people")
    with pytest.raises(AuthFailed):  # no second auth call: the limit is one a minute
        client.get("/supplies")
    assert client.auth_calls == 1
    assert "wrong" not in repr(client._credentials) and "nobody" not in str(client._credentials)


def test_transient_failures_are_retried_and_counted(sim, regions) -> None:
    sim.faults.error_rate = 0.4
    sim.faults.rate_limit_rate = 0.2
    with client_for(sim, regions[0], max_attempts=10, page_size=2) as client:
        pages = list(client.pages("/property"))
    listed = {record["id"] for page in pages for record in page}
    assert listed == {p["id"] for p in sim.snapshot(sim.companies[0].company_id)["properties"]}
    assert client.retries > 0
    assert client.calls == len(pages) + client.retries
    injected = sim.stats["faults_injected"]
    assert sum(injected.values()) >= client.retries


def test_a_failure_that_outlives_the_retries_raises(sim, regions) -> None:
    sim.faults.fail_paths = [{"path": "/supplies", "status": 503}]
    with client_for(sim, regions[0], max_attempts=3) as client:
        with pytest.raises(RetriesExhausted, match="503 after 3 attempts"):
            client.get("/supplies")
        assert client.calls == 3 and client.retries == 2


def test_timeouts_over_real_http_are_retried(sim, regions) -> None:
    handle = sim.serve()
    try:
        sim.faults.timeout_rate = 0.3
        sim.faults.timeout_delay = 0.5
        with client_for(
            sim,
            regions[0],
            transport=httpx.HTTPTransport(),
            base=handle.url,
            timeout=0.2,
            max_attempts=10,
        ) as client:
            records = [r for page in client.pages("/supplies") for r in page]
        assert records and client.retries > 0
        assert sim.stats["faults_injected"].get("timeout", 0) >= 1
    finally:
        handle.close()


def test_pages_tolerate_a_record_shifting_onto_the_next_page(sim, regions, settings) -> None:
    sim.faults.page_shift_rate = 1.0
    with client_for(sim, regions[0], page_size=3) as client:
        ids = [r["id"] for page in client.pages("/property") for r in page]
    assert len(ids) > len(set(ids))  # a record seen twice, none lost
    now = {p["id"] for p in sim.snapshot(sim.companies[0].company_id)["properties"]}
    assert set(ids) <= now
