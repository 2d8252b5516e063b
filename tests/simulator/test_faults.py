"""Injected faults: 5xx, 429 bursts, delays, failing paths, page shifts; live editing."""

from __future__ import annotations

import httpx
import pytest

from simulator import Faults, Simulator
from tests.simulator.conftest import API, AUTH, Api, make_sim


def test_server_errors(api: Api) -> None:
    api.sim.faults.error_rate = 1.0
    statuses = set()
    for _ in range(12):
        response = api.get("/property")
        statuses.add(response.status_code)
        assert response.json()["error"]
    assert statuses <= {500, 502, 503} and len(statuses) > 1
    assert api.sim.stats["faults_injected"]["error"] == 12
    # Never on the control endpoints, nor on auth.
    assert api.http.get("/_sim/companies").status_code == 200
    company = api.company
    obtained = api.http.post(
        f"{AUTH}/", json={"client_id": company.client_id, "client_secret": company.client_secret}
    )
    assert obtained.status_code == 200
    api.sim.faults.error_rate = 0.0
    assert api.get("/property").status_code == 200


def test_rate_limit_burst(api: Api) -> None:
    faults = api.sim.faults
    faults.rate_limit_rate, faults.rate_limit_burst, faults.rate_limit_retry_after = 1.0, 3, 2
    first = api.get("/property")
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "2" and first.json()["retry_after"] == 2
    faults.rate_limit_rate = 0.0
    # The burst goes on for that credential until its three 429s are sent.
    assert [api.get("/property").status_code for _ in range(3)] == [429, 429, 200]
    assert api.sim.stats["faults_injected"]["rate_limit"] == 3


def test_rate_limit_burst_is_per_credential(sim: Simulator) -> None:
    one, two = Api(sim, sim.companies[0]), Api(sim, sim.companies[1])
    sim.faults.rate_limit_rate = 1.0
    assert one.get("/people").status_code == 429
    sim.faults.rate_limit_rate = 0.0
    assert two.get("/people").status_code == 200
    assert one.get("/people").status_code == 429
    assert one.get("/people").status_code == 200


def test_rate_limit_per_second_is_a_token_bucket_per_credential(sim: Simulator) -> None:
    clock = [100.0]
    sim.injector._clock = lambda: clock[0]
    sim.faults.rate_limit_per_second = 4.0
    one, two = Api(sim, sim.companies[0]), Api(sim, sim.companies[1])
    # A full bucket holds one second's worth: four at once, then 429 until a token is back.
    assert [one.get("/people").status_code for _ in range(5)] == [200] * 4 + [429]
    refused = one.get("/people")
    assert refused.headers["Retry-After"] == "1" and refused.json()["retry_after"] == 1
    assert two.get("/people").status_code == 200  # another credential, another bucket
    clock[0] += 0.25  # one token at 4 a second
    assert [one.get("/people").status_code for _ in range(2)] == [200, 429]
    clock[0] += 10  # refills to the capacity, not beyond
    assert [one.get("/people").status_code for _ in range(5)] == [200] * 4 + [429]
    stats = sim.stats
    assert stats["faults_injected"]["over_limit"] == 4
    assert stats["busiest_second"][sim.companies[0].client_id] >= 5


def test_busiest_second_is_a_sliding_window() -> None:
    from simulator.stats import Stats

    stats = Stats()
    for at in (0.0, 0.5, 0.9, 1.2, 1.4, 3.0):
        stats.arrival("c", at)
    # 0.5, 0.9, 1.2 and 1.4 lie within one second of each other.
    assert stats.data["busiest_second"] == {"c": 4}


def test_fail_paths(api: Api) -> None:
    api.sim.faults.update(
        {
            "fail_paths": [
                {"path": "/property", "page": 2, "status": 503},
                {"path": "/task/{id}/comments"},
            ]
        }
    )
    assert api.get("/property", limit=5).status_code == 200
    for _ in range(3):
        assert api.get("/property", limit=5, page=2).status_code == 503
    assert api.get("/property", limit=5, page=3).status_code == 200
    task = api.sim.snapshot(1001)["tasks"][0]["id"]
    assert api.get(f"/task/{task}/comments").status_code == 500
    assert api.get(f"/task/{task}").status_code == 200
    assert api.sim.stats["faults_injected"]["fail_path"] == 4


def test_fail_paths_can_serve_a_body_verbatim(api: Api) -> None:
    api.sim.faults.update({"fail_paths": [{"path": "/people", "body": '{"results": [1,'}]})
    response = api.get("/people")
    assert response.status_code == 200
    assert response.text == '{"results": [1,'
    with pytest.raises(ValueError, match="body"):
        api.sim.faults.update({"fail_paths": [{"path": "/people", "body": 5}]})


def test_page_shift_shows_one_record_on_two_pages(api: Api) -> None:
    first = api.json("/property", limit=5)
    api.sim.faults.page_shift_rate = 1.0
    second = api.json("/property", limit=5, page=2)
    assert second["results"][0] == first["results"][-1]
    assert second["total_results"] == first["total_results"] + 1
    api.sim.faults.page_shift_rate = 0.0
    newest = api.json("/property", limit=1)["results"][0]
    assert newest["id"] not in {p["id"] for p in first["results"]}
    assert newest["id"] in {p["id"] for p in api.sim.snapshot(1001)["properties"]}
    assert api.sim.stats["faults_injected"]["page_shift"] == 1


def test_page_shift_on_tasks_and_reservations(api: Api) -> None:
    truth = api.sim.snapshot(1001)
    counts: dict[int, int] = {}
    for task in truth["tasks"]:
        counts[task["home_id"]] = counts.get(task["home_id"], 0) + 1
    home = max(counts, key=counts.__getitem__)
    first = api.json("/task", home_id=home, limit=50)
    reservations = api.json("/reservation", limit=5)
    api.sim.faults.page_shift_rate = 1.0
    second = api.json("/task", home_id=home, limit=50, page=2)
    assert second["results"][0] == first["results"][-1]
    shifted = api.json("/reservation", limit=5, page=2)
    assert shifted["results"][0] == reservations["results"][-1]
    assert api.json("/task", home_id=home, limit=50, page=1)["total_results"] == counts[home] + 1


def test_latency_and_timeouts_over_http() -> None:
    sim = make_sim(faults=Faults(auth_min_interval=0))
    with sim.serve() as server, httpx.Client(base_url=server.url, timeout=0.2) as http:
        company = sim.companies[0]
        token = http.post(
            f"{AUTH}/",
            json={"client_id": company.client_id, "client_secret": company.client_secret},
        ).json()["access_token"]
        headers = {"Authorization": f"JWT {token}"}
        sim.faults.latency = 0.4
        with pytest.raises(httpx.ReadTimeout):
            http.get(f"{API}/people", headers=headers)
        sim.faults.latency = 0.0
        sim.faults.timeout_rate, sim.faults.timeout_delay = 1.0, 0.4
        with pytest.raises(httpx.ReadTimeout):
            http.get(f"{API}/people", headers=headers)
        sim.faults.timeout_rate = 0.0
        assert http.get(f"{API}/people", headers=headers).status_code == 200
        # Delays are slept outside the state lock: the control API still answers at once.
        assert http.get("/_sim/stats").json()["faults_injected"] == {"latency": 1, "timeout": 1}


def test_faults_are_reproducible() -> None:
    runs = []
    for _ in range(2):
        sim = make_sim(faults=Faults(error_rate=0.5, auth_min_interval=0))
        api = Api(sim, sim.companies[0])
        runs.append([api.get("/people").status_code for _ in range(20)])
    assert runs[0] == runs[1] and len(set(runs[0])) > 1


def test_faults_control_endpoint(api: Api) -> None:
    response = api.http.post("/_sim/faults", json={"error_rate": 1, "latency": 0})
    assert response.status_code == 200 and response.json()["error_rate"] == 1.0
    assert api.sim.faults.error_rate == 1.0
    assert api.get("/people").status_code >= 500
    assert api.http.post("/_sim/faults", json={"nope": 1}).status_code == 400
    assert api.http.post("/_sim/faults", json={"error_rate": 2}).status_code == 400
    bad_rule = {"fail_paths": [{"page": 2}]}
    assert api.http.post("/_sim/faults", json=bad_rule).status_code == 400
    assert api.sim.faults.error_rate == 1.0  # a refused update changes nothing
    assert api.http.get("/_sim/faults").json()["auth_min_interval"] == 0.0
