"""Simulated time: tick() changes, the updated_at rule, deletions and hidden tasks."""

from __future__ import annotations

from datetime import timedelta

from simulator import Faults, Simulator
from simulator.changes import SUMMARY_KEYS
from simulator.timefmt import offset_ts
from tests.simulator.conftest import START, Api, make_sim

STAGES = {"new": 0, "in_progress": 1, "finished": 2}


def without_updated(task: dict) -> dict:
    return {k: v for k, v in task.items() if k != "updated_at"}


def test_tick_advances_time_and_reports_counts(sim: Simulator) -> None:
    assert sim.now == START
    summary = sim.tick(hours=3)
    assert sim.now == START + timedelta(hours=3)
    assert summary["hours"] == 3 and summary["now"] == offset_ts(sim.now)
    assert set(SUMMARY_KEYS) <= set(summary)
    assert summary["tasks_edited"] > 0 and summary["reservations_edited"] > 0
    assert set(summary["by_company"]) == {"sim1", "sim2"}
    assert sim.tick(hours=0)["tasks_edited"] == 0 and sim.now == START + timedelta(hours=3)


def test_ticks_are_deterministic() -> None:
    one, two = make_sim(), make_sim()
    assert one.tick(hours=6) == two.tick(hours=6)
    assert one.snapshot(1002) == two.snapshot(1002)


def test_any_change_to_a_task_or_its_children_bumps_updated_at() -> None:
    sim = make_sim(change_rate=0.05)
    changed_total = 0
    for _ in range(4):
        before = sim.snapshot(1001)
        sim.tick(hours=1)
        after = sim.snapshot(1001)
        stamp = offset_ts(sim.now)
        old = {t["id"]: t for t in before["tasks"]}
        for task in after["tasks"]:
            if task["id"] not in old:
                assert task["updated_at"] == stamp  # new task
                continue
            previous = old[task["id"]]
            changed = (
                without_updated(task) != without_updated(previous)
                or after["requirements"][task["id"]] != before["requirements"][task["id"]]
                or after["comments"][task["id"]] != before["comments"][task["id"]]
            )
            if changed:
                changed_total += 1
                assert task["updated_at"] == stamp, task["id"]
            else:
                assert task["updated_at"] == previous["updated_at"]
    assert changed_total > 10


def test_status_moves_forward_only() -> None:
    sim = make_sim(change_rate=0.1)
    before = {t["id"]: t for t in sim.snapshot(1001)["tasks"]}
    sim.tick(hours=4)
    moved = 0
    for task in sim.snapshot(1001)["tasks"]:
        old = before.get(task["id"])
        status, old_status = task["type_task_status"], old and old["type_task_status"]
        if not (status and old_status):
            continue
        assert STAGES[status["stage"]] >= STAGES[old_status["stage"]]
        if status["stage"] != old_status["stage"]:
            moved += 1
            if status["stage"] == "finished":
                assert START.isoformat() < task["finished_at"] <= task["updated_at"]
    assert moved > 0


def test_new_and_deleted_tasks(sim: Simulator) -> None:
    api = Api(sim, sim.companies[0])
    before = {t["id"] for t in sim.snapshot(1001)["tasks"]}
    summary = sim.tick(hours=12)
    after = {t["id"] for t in sim.snapshot(1001)["tasks"]}
    deleted, added = before - after, after - before
    company = summary["by_company"]["sim1"]
    assert len(deleted) == company.get("tasks_deleted", 0) > 0
    assert len(added) == company.get("tasks_added", 0) > 0
    gone = min(deleted)
    assert api.get(f"/task/{gone}").status_code == 404
    assert api.get(f"/task/{gone}/requirements").status_code == 404
    assert api.get(f"/task/{gone}/comments").status_code == 404
    new = api.json(f"/task/{min(added)}")
    listed = api.json("/task", home_id=new["home_id"], limit=500)["results"]
    assert new["id"] in {t["id"] for t in listed}


def test_properties_and_reservations_change() -> None:
    sim = make_sim(change_rate=0.2, faults=Faults(auth_min_interval=0))
    api = Api(sim, sim.companies[0])
    before = sim.snapshot(1001)
    summary = sim.tick(hours=24)["by_company"]["sim1"]
    after = sim.snapshot(1001)
    old_ids = {p["id"] for p in before["properties"]}
    new_ids = {p["id"] for p in after["properties"]}
    assert len(new_ids - old_ids) == summary.get("properties_added", 0) > 0
    assert len(old_ids - new_ids) == summary.get("properties_removed", 0) > 0
    listed = {p["id"] for p in api.all_pages("/property")}
    assert listed == new_ids
    removed = min(old_ids - new_ids)
    assert api.json("/task", home_id=removed)["results"] == []
    assert not any(r["property_id"] == removed for r in after["reservations"])
    assert summary.get("property_photos_changed", 0) > 0
    assert summary.get("reservation_guests_changed", 0) > 0
    old_res = {r["id"] for r in before["reservations"]}
    added = [r for r in after["reservations"] if r["id"] not in old_res]
    assert added and all(r["checkout_date"] >= after["now"][:10] for r in added)


def test_finished_tasks_become_hidden_from_the_list() -> None:
    sim = make_sim(hidden_task_share_per_tick=0.05, faults=Faults(auth_min_interval=0))
    api = Api(sim, sim.companies[0])
    assert sim.snapshot(1001)["hidden_task_ids"] == []  # none at generation
    summary = sim.tick(hours=2)
    truth = sim.snapshot(1001)
    hidden = truth["hidden_task_ids"]
    assert hidden and summary["by_company"]["sim1"]["tasks_hidden"] == len(hidden)
    tasks = {t["id"]: t for t in truth["tasks"]}
    for task_id in hidden:
        task = tasks[task_id]
        assert task["finished_at"] is not None
        assert api.json(f"/task/{task_id}")["id"] == task_id
        if task["home_id"] in truth["bad_property_ids"]:
            continue
        listed = api.all_pages("/task", home_id=task["home_id"], limit=500)
        assert task_id not in {t["id"] for t in listed}


def test_tick_control_endpoint(api: Api) -> None:
    response = api.http.post("/_sim/tick", params={"hours": 2})
    assert response.status_code == 200
    assert response.json()["hours"] == 2
    assert api.sim.now == START + timedelta(hours=2)
    assert api.http.post("/_sim/tick").json()["hours"] == 1
    assert api.http.post("/_sim/tick", params={"hours": -1}).status_code == 400
    assert api.http.get("/_sim/tick").status_code == 405
    snapshot = api.http.get("/_sim/snapshot", params={"company_id": 1001}).json()
    assert snapshot["now"] == offset_ts(api.sim.now)
    assert len(snapshot["tasks"]) == len(api.sim.snapshot(1001)["tasks"])
    assert api.http.get("/_sim/snapshot", params={"company_id": 7}).status_code == 404
    companies = api.http.get("/_sim/companies").json()
    assert companies[0]["client_secret"] == api.sim.companies[0].client_secret
