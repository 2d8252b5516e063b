"""Real HTTP: Simulator.serve() and the command line (serve, tick, companies)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from simulator import Faults
from tests.simulator.conftest import API, AUTH, make_sim

ROOT = Path(__file__).resolve().parents[2]


def test_serve_over_http_with_concurrent_clients() -> None:
    sim = make_sim(faults=Faults(auth_min_interval=0))
    server = sim.serve(port=0)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        company = sim.companies[1]
        with httpx.Client(base_url=server.url, timeout=10) as http:
            tokens = http.post(
                AUTH,  # without the trailing slash
                json={"client_id": company.client_id, "client_secret": company.client_secret},
            ).json()
            headers = {"Authorization": f"JWT {tokens['access_token']}"}
            properties = http.get(f"{API}/property", headers=headers).json()["results"]
            assert {p["company_id"] for p in properties} == {1002}

            def fetch(prop: dict) -> int:
                return http.get(
                    f"{API}/task", params={"home_id": prop["id"]}, headers=headers
                ).status_code

            with ThreadPoolExecutor(4) as pool:
                statuses = list(pool.map(fetch, properties))
                ticks = pool.submit(lambda: http.post("/_sim/tick", params={"hours": 2}))
            assert set(statuses) <= {200, 422} and 200 in statuses
            assert ticks.result().json()["hours"] == 2
            assert sim.stats["requests"] == 1 + len(properties)
    finally:
        server.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/_sim/stats", timeout=2)


@pytest.fixture
def cli_server() -> Iterator[tuple[subprocess.Popen, str, str]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "serve",
            "--port",
            "0",
            "--seed",
            "3",
            "--scale",
            "0.005",
            "--companies",
            "1",
            "--auth-min-interval",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = []
        assert process.stdout is not None
        for _ in range(10):
            line = process.stdout.readline()
            lines.append(line)
            if line.strip().startswith("company sim1"):
                break
        output = "".join(lines)
        url = re.search(r"listening on (http://\S+)", output)
        assert url, output + (process.stderr.read() if process.poll() is not None else "")
        yield process, url.group(1), output
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_cli_serve_tick_and_companies(cli_server: tuple[subprocess.Popen, str, str]) -> None:
    process, url, output = cli_server
    match = re.search(r"company sim1: company_id=1001 client_id=(\S+) client_secret=(\S+)", output)
    assert match and match.group(1) == "sim-client-1001"
    assert f"BREEZEWAY_API_URL={url}/public/inventory/v1" in output
    token = httpx.post(
        f"{url}{AUTH}/", json={"client_id": match.group(1), "client_secret": match.group(2)}
    ).json()["access_token"]
    response = httpx.get(f"{url}{API}/people", headers={"Authorization": f"JWT {token}"})
    assert response.status_code == 200 and isinstance(response.json(), list)

    tick = subprocess.run(
        [sys.executable, "-m", "simulator", "tick", "--url", url, "--hours", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tick.returncode == 0, tick.stderr
    assert json.loads(tick.stdout)["hours"] == 3
    companies = subprocess.run(
        [sys.executable, "-m", "simulator", "companies", "--url", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert companies.returncode == 0, companies.stderr
    assert json.loads(companies.stdout)[0]["client_secret"] == match.group(2)

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_cli_rejects_bad_arguments() -> None:
    for args in (
        ["serve", "--scale", "-1"],
        ["serve", "--port", "70000"],
        ["serve", "--error-rate", "2"],
        ["bogus"],
        [],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "simulator", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, args
        assert "usage:" in result.stderr
    unreachable = subprocess.run(
        [sys.executable, "-m", "simulator", "tick", "--url", "http://127.0.0.1:9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr
