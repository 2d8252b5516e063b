"""Fixtures for the simulator tests: a small seeded simulator and an authenticated client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from simulator import Company, Faults, Simulator, SimulatorConfig

START = datetime(2026, 3, 1, 12, tzinfo=UTC)
API = "/public/inventory/v1"
AUTH = "/public/auth/v1"


def make_sim(**overrides: Any) -> Simulator:
    options: dict[str, Any] = {"seed": 1, "scale": 0.01, "companies": 2, "start": START}
    options.update(overrides)
    return Simulator(SimulatorConfig(**options))


class Api:
    """An httpx client on the WSGI app, holding one company's access token."""

    def __init__(self, sim: Simulator, company: Company) -> None:
        self.sim = sim
        self.company = company
        self.http = httpx.Client(transport=httpx.WSGITransport(app=sim.app), base_url="http://sim")
        response = self.http.post(
            f"{AUTH}/",
            json={"client_id": company.client_id, "client_secret": company.client_secret},
        )
        assert response.status_code == 200, response.text
        self.tokens = response.json()

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(
            API + path,
            params=params,
            headers={"Authorization": f"JWT {self.tokens['access_token']}"},
        )

    def json(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def all_pages(self, path: str, **params: Any) -> list[dict]:
        records, page = [], 1
        while True:
            body = self.json(path, page=page, **params)
            records += body["results"]
            if page >= body["total_pages"]:
                return records
            page += 1


@pytest.fixture
def sim() -> Simulator:
    # Auth rate limit off: most tests obtain tokens for both companies straight away.
    return make_sim(faults=Faults(auth_min_interval=0))


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    client = Api(sim, sim.companies[0])
    yield client
    client.http.close()
