"""Data endpoints: envelopes and bare arrays, task and reservation rules, filters."""

from __future__ import annotations

import math
from datetime import date

from tests.simulator.conftest import API, START, Api


def test_envelope_pagination_newest_first(api: Api) -> None:
    world = api.sim.world(1001)
    first = api.json("/property", limit=7)
    assert (first["limit"], first["page"], first["total_results"]) == (7, 1, 20)
    assert first["total_pages"] == 3 and len(first["results"]) == 7
    records = api.all_pages("/property", limit=7)
    ids = [p["id"] for p in records]
    assert len(ids) == len(set(ids)) == 20
    created = [world.properties[i]["_created"] for i in ids]
    assert created == sorted(created, reverse=True)
    past_end = api.json("/property", limit=7, page=4)
    assert past_end["results"] == [] and past_end["total_results"] == 20
    ascending = api.json("/property", sort_by="id", sort_order="asc", limit=500)["results"]
    assert [p["id"] for p in ascending] == sorted(ids)
    by_update = api.json("/property", sort_by="updated_at", limit=500)["results"]
    updated = [world.properties[p["id"]]["_updated"] for p in by_update]
    assert updated == sorted(updated, reverse=True)


def test_bad_paging_parameters(api: Api) -> None:
    assert api.get("/property", limit=500).status_code == 200
    for params in (
        {"limit": 501},
        {"limit": 0},
        {"limit": "x"},
        {"page": 0},
        {"sort_by": "name"},
        {"sort_order": "up"},
    ):
        response = api.get("/property", **params)
        assert response.status_code == 400, params
        assert response.json()["error"]
    assert (
        api.get(
            "/task", home_id=api.sim.snapshot(1001)["properties"][0]["id"], limit=501
        ).status_code
        == 400
    )


def test_supplies_envelope(api: Api) -> None:
    body = api.json("/supplies", limit=2)
    assert set(body) == {"limit", "page", "total_pages", "total_results", "results"}
    assert body["total_results"] == 4  # 3 valid supplies and one with a null id
    assert body["total_pages"] == 2


def test_bare_arrays(api: Api) -> None:
    truth = api.sim.snapshot(1001)
    people = api.json("/people", limit=1, page=2)  # ignored: always the whole list
    assert isinstance(people, list)
    assert [p for p in people if p["id"] is not None] == truth["people"]
    assert api.json("/task/tags") == truth["tags"]
    active = api.json("/people", status="active")
    assert all(p["active"] for p in active)
    task = truth["tasks"][0]
    assert api.json(f"/task/{task['id']}/requirements") == truth["requirements"][task["id"]]
    assert api.json(f"/task/{task['id']}/comments") == truth["comments"][task["id"]]


def test_task_list_needs_a_property(api: Api) -> None:
    response = api.get("/task")
    assert response.status_code == 400 and "home_id" in response.json()["error"]
    assert api.get("/task", reference_property_id="").status_code == 400
    truth = api.sim.snapshot(1001)
    prop = next(
        p
        for p in truth["properties"]
        if p["reference_property_id"] and p["id"] not in truth["bad_property_ids"]
    )
    by_home = api.json("/task", home_id=prop["id"], limit=500)
    by_reference = api.json(
        "/task/", reference_property_id=prop["reference_property_id"], limit=500
    )
    assert by_home == by_reference
    expected = {t["id"] for t in truth["tasks"] if t["home_id"] == prop["id"]}
    assert {t["id"] for t in by_home["results"]} == expected
    assert api.json("/task", home_id=999)["results"] == []


def test_bad_property_answers_422_every_time(api: Api) -> None:
    truth = api.sim.snapshot(1001)
    assert len(truth["bad_property_ids"]) == 1
    bad = truth["bad_property_ids"][0]
    for _ in range(3):
        response = api.get("/task", home_id=bad)
        assert response.status_code == 422 and response.json()["error"]
    # Its tasks still exist and answer by id.
    task = next(t for t in truth["tasks"] if t["home_id"] == bad)
    assert api.json(f"/task/{task['id']}")["id"] == task["id"]


def test_some_property_has_more_than_100_tasks(api: Api) -> None:
    truth = api.sim.snapshot(1001)
    counts: dict[int, int] = {}
    for task in truth["tasks"]:
        counts[task["home_id"]] = counts.get(task["home_id"], 0) + 1
    heavy, count = max(counts.items(), key=lambda item: item[1])
    assert count > 100
    first = api.json("/task", home_id=heavy)
    assert len(first["results"]) == 100
    assert first["total_pages"] == math.ceil(count / 100) >= 2
    everything = api.all_pages("/task", home_id=heavy)
    assert len(everything) == count == len({t["id"] for t in everything})


def test_task_by_id_matches_the_list(api: Api) -> None:
    truth = api.sim.snapshot(1001)
    task = truth["tasks"][5]
    listed = api.json("/task", home_id=task["home_id"], limit=500)["results"]
    single = api.json(f"/task/{task['id']}")
    assert single in listed
    assert api.get("/task/1").status_code == 404
    assert api.get("/task/1/requirements").status_code == 404
    assert api.get("/task/1/comments").status_code == 404
    assert api.get("/task/abc").status_code == 404


def test_task_filters(api: Api) -> None:
    truth = api.sim.snapshot(1001)
    home = max(
        {t["home_id"] for t in truth["tasks"]},
        key=lambda h: sum(t["home_id"] == h for t in truth["tasks"]),
    )
    tasks = [t for t in truth["tasks"] if t["home_id"] == home]
    window = api.json("/task", home_id=home, limit=500, scheduled_date="2025-01-01,2025-12-31")
    expected = {t["id"] for t in tasks if "2025-01-01" <= t["scheduled_date"] <= "2025-12-31"}
    assert {t["id"] for t in window["results"]} == expected and expected
    recent = api.json("/task", home_id=home, limit=500, updated_at="2026-01-01T00:00:00,")
    expected = {t["id"] for t in tasks if t["updated_at"] >= "2026-01-01"}
    assert {t["id"] for t in recent["results"]} == expected
    upper = api.json("/task", home_id=home, limit=500, updated_at=",2020-12-31")
    expected = {t["id"] for t in tasks if t["updated_at"] < "2021-01-01"}
    assert {t["id"] for t in upper["results"]} == expected
    assert api.get("/task", home_id=home, updated_at="yesterday,").status_code == 400
    department = api.json("/task", home_id=home, limit=500, type_department="maintenance")
    assert {t["type_department"] for t in department["results"]} == {"maintenance"}


def test_reservation_default_window_and_filters(api: Api) -> None:
    truth = api.sim.snapshot(1001)
    today = START.date().isoformat()
    current = api.all_pages("/reservation")
    assert current and all(r["checkout_date"] >= today for r in current)
    valid_current = {r["id"] for r in truth["reservations"] if r["checkout_date"] >= today}
    assert {r["id"] for r in current if r["id"] is not None} == valid_current
    everything = api.all_pages("/reservation", checkin_date_ge="2000-01-01")
    valid = [r for r in everything if r["id"] is not None]
    assert len(valid) == len(truth["reservations"]) > len(valid_current)
    past = api.all_pages("/reservation", checkout_date_lt=today)
    assert past and all(r["checkout_date"] < today for r in past)
    assert len(past) + len(current) == len(everything)
    two = [p["id"] for p in truth["properties"][:2]]
    expected = {r["id"] for r in truth["reservations"] if r["property_id"] in two}
    for params in ({"property_id": f"{two[0]},{two[1]}"}, {"property_id": two}):
        found = api.all_pages("/reservation", checkin_date_ge="2000-01-01", **params)
        assert {r["id"] for r in found} - {None} == expected
    window = api.all_pages(
        "/reservation", checkin_date_ge="2025-06-01", checkin_date_le="2025-06-30"
    )
    assert all("2025-06-01" <= r["checkin_date"] <= "2025-06-30" for r in window) and window
    assert api.json("/reservation", updated_at_gt="2030-01-01")["results"] == []
    assert api.get("/reservation", checkin_date_ge="soon").status_code == 400


def test_reservation_tasks(api: Api) -> None:
    truth = api.sim.snapshot(1001)
    task = next(t for t in truth["tasks"] if t["linked_reservation"])
    rid = task["linked_reservation"]["id"]
    linked = api.json(f"/reservation/{rid}/tasks")
    assert isinstance(linked, list) and task["id"] in {t["id"] for t in linked}
    assert all(t["linked_reservation"]["id"] == rid for t in linked)
    assert api.get("/reservation/1/tasks").status_code == 404


def test_unknown_paths_and_methods(api: Api) -> None:
    response = api.get("/nothing")
    assert response.status_code == 404 and response.json()["error"]
    assert api.http.get("/elsewhere").status_code == 404
    token = api.tokens["access_token"]
    post = api.http.post(f"{API}/property", headers={"Authorization": f"JWT {token}"})
    assert post.status_code == 405
    assert api.get("/property/").status_code == 200


def test_stats_count_requests(api: Api) -> None:
    api.sim.reset_stats()
    task = api.sim.snapshot(1001)["tasks"][0]
    api.get("/property")
    api.get(f"/task/{task['id']}")
    api.get(f"/task/{task['id']}/requirements")
    api.get("/task")
    stats = api.sim.stats
    assert stats["requests"] == 4
    assert stats["by_endpoint"] == {
        "/property": 1,
        "/task/{id}": 1,
        "/task/{id}/requirements": 1,
        "/task": 1,
    }
    assert stats["by_status"] == {200: 3, 400: 1}
    control = api.http.get("/_sim/stats").json()
    assert control["requests"] == 4 and control["by_status"] == {"200": 3, "400": 1}
    assert api.http.post("/_sim/stats/reset").json()["requests"] == 0
    assert api.sim.stats["requests"] == 0
    assert date.fromisoformat(START.date().isoformat())
