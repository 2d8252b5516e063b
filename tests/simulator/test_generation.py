"""Generated data: determinism, sizes, record shapes, timestamps and quirks."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta

import pytest

from simulator import Quirks, Simulator, SimulatorConfig
from tests.simulator.conftest import START, Api, make_sim

PROPERTY_FIELDS = {
    "id", "company_id", "name", "status", "address1", "address2", "building", "city", "state",
    "zipcode", "country", "latitude", "longitude", "display", "notes", "groups", "photos",
    "reference_company_id", "reference_external_property_id", "reference_property_id",
    "wifi_name", "wifi_password",
}  # fmt: skip
RESERVATION_FIELDS = {
    "id", "property_id", "status", "checkin_date", "checkout_date", "checkin_time",
    "checkout_time", "checkin_early", "checkout_late", "access_code", "guide_url", "note",
    "guests", "tags", "type_guest", "type_stay", "reference_reservation_id",
    "reference_property_id", "reference_external_property_id",
}  # fmt: skip
TASK_FIELDS = {
    "id", "home_id", "name", "description", "type_department", "type_priority",
    "type_task_status", "scheduled_date", "scheduled_time", "created_at", "updated_at",
    "started_at", "finished_at", "paused", "template_id", "template", "report_url",
    "reference_property_id", "bill_to", "rate_type", "rate_paid", "total_cost",
    "estimated_rate", "total_time", "estimated_time", "billable", "itemized_cost",
    "task_series_id", "parent_task_id", "created_by", "finished_by", "requested_by",
    "subdepartment", "summary", "linked_reservation", "assignments", "photos", "tags",
    "task_tags", "supplies", "costs",
}  # fmt: skip
SUPPLY_FIELDS = {
    "id", "company_id", "name", "description", "size", "internal_id", "unit_cost",
    "stock_count", "low_stock_count", "low_stock_alert", "supply_category_id",
    "type_stock_status", "created_at", "updated_at",
}  # fmt: skip
NAIVE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def test_same_config_same_data_and_credentials() -> None:
    one, two = make_sim(), make_sim()
    for company in one.companies:
        assert one.snapshot(company.company_id) == two.snapshot(company.company_id)
    assert one.companies == two.companies


def test_different_seed_different_data() -> None:
    one, two = make_sim(seed=1), make_sim(seed=2)
    assert one.snapshot(1001)["tasks"] != two.snapshot(1001)["tasks"]
    assert one.companies[0].client_secret != two.companies[0].client_secret


def test_start_defaults_to_now_truncated_to_the_hour() -> None:
    now = Simulator(SimulatorConfig(scale=0.001, companies=1)).now
    assert (now.minute, now.second, now.microsecond) == (0, 0, 0)
    assert now.utcoffset() == timedelta(0)


def test_companies_and_credentials(sim: Simulator) -> None:
    assert [c.code for c in sim.companies] == ["sim1", "sim2"]
    assert [c.company_id for c in sim.companies] == [1001, 1002]
    for company in sim.companies:
        assert company.client_id == f"sim-client-{company.company_id}"
        assert re.fullmatch(r"[0-9a-f]{40}", company.client_secret)


def test_counts_follow_the_scale() -> None:
    sim = make_sim(scale=0.05, companies=1)
    truth = sim.snapshot(1001)
    assert len(truth["properties"]) == 100
    assert len(truth["people"]) == 3
    assert len(truth["supplies"]) == 15
    assert len(truth["tags"]) == 5  # the minimum
    assert 100 <= len(truth["reservations"]) <= 900
    assert 1000 * 0.9 <= len(truth["tasks"]) <= 1000 * 1.3
    per_property = Counter(t["home_id"] for t in truth["tasks"])
    heavy = [n for n in per_property.values() if n > 100]
    assert len(heavy) == 2 and all(120 <= n <= 250 for n in heavy)
    tiny = make_sim(scale=0.0001, companies=1).snapshot(1001)
    assert (len(tiny["properties"]), len(tiny["people"]), len(tiny["supplies"])) == (3, 2, 2)


def test_ids_unique_per_kind_across_companies(sim: Simulator) -> None:
    seen: dict[str, set] = {}
    for company in sim.companies:
        truth = sim.snapshot(company.company_id)
        kinds = {
            "property": [p["id"] for p in truth["properties"]],
            "photo": [x["id"] for p in truth["properties"] for x in p["photos"]],
            "reservation": [r["id"] for r in truth["reservations"]],
            "task": [t["id"] for t in truth["tasks"]],
            "comment": [c["id"] for cs in truth["comments"].values() for c in cs],
            "person": [p["id"] for p in truth["people"]],
        }
        for kind, ids in kinds.items():
            assert len(ids) == len(set(ids)), kind
            assert not seen.setdefault(kind, set()) & set(ids), kind
            seen[kind] |= set(ids)


def test_record_shapes_and_timestamps(api: Api) -> None:
    truth = api.sim.snapshot(1001)
    assert all(set(p) == PROPERTY_FIELDS for p in truth["properties"])
    assert all(set(r) == RESERVATION_FIELDS for r in truth["reservations"])
    assert all(set(t) == TASK_FIELDS for t in truth["tasks"])
    assert all(set(s) == SUPPLY_FIELDS for s in truth["supplies"])
    photo = next(x for p in truth["properties"] for x in p["photos"])
    assert set(photo) == {"id", "url", "original_url", "caption", "default"}
    guest = next(g for r in truth["reservations"] for g in r["guests"])
    assert set(guest) == {"first_name", "last_name", "emails", "phone_numbers"}
    person = truth["people"][0]
    assert set(person) == {"id", "name", "active", "accept_decline_tasks", "availability"}
    assert set(truth["tags"][0]) == {"id", "name", "description"}
    for task in truth["tasks"]:
        assert NAIVE.match(task["created_at"]) and OFFSET.match(task["updated_at"])
        assert task["created_at"] <= task["updated_at"][:19] <= "2026-03-01T12:00:00"
        for assignment in task["assignments"]:
            assert set(assignment) == {"assignee_id", "name", "status"}
        for cost in task["costs"]:
            assert OFFSET.match(cost["created_at"]) and OFFSET.match(cost["updated_at"])
        for usage in task["supplies"]:
            assert {"id", "supply_id", "quantity", "unit_cost", "markup_rate"} <= set(usage)
    for supply in truth["supplies"]:
        assert NAIVE.match(supply["created_at"]) and NAIVE.match(supply["updated_at"])
    comments = [c for cs in truth["comments"].values() for c in cs]
    assert comments and all(NAIVE.match(c["created_at"]) for c in comments)
    assert set(comments[0]) == {"id", "comment", "created_at", "updated_at", "author"}
    lines = [line for ls in truth["requirements"].values() for line in ls]
    assert all(2 <= len(ls) <= 9 for ls in truth["requirements"].values())
    assert set(lines[0]) - {"id"} == {
        "section_name",
        "action",
        "response",
        "type_requirement",
        "photo_required",
        "photos",
        "note",
        "home_element_name",
    }


def test_references_between_records(sim: Simulator) -> None:
    truth = sim.snapshot(1001)
    people = {p["id"] for p in truth["people"]}
    tags = {t["id"] for t in truth["tags"]}
    supplies = {s["id"] for s in truth["supplies"]}
    reservations = {r["id"]: r for r in truth["reservations"]}
    linked = 0
    for task in truth["tasks"]:
        assert {a["assignee_id"] for a in task["assignments"]} <= people
        assert {t["id"] for t in task["task_tags"]} <= tags
        assert {s["supply_id"] for s in task["supplies"]} <= supplies
        if task["linked_reservation"]:
            linked += 1
            assert reservations[task["linked_reservation"]["id"]]["property_id"] == task["home_id"]
    assert linked > 0


def test_task_dates_spread_over_five_years(sim: Simulator) -> None:
    tasks = sim.snapshot(1001)["tasks"] + sim.snapshot(1002)["tasks"]
    today = START.date()
    days = [(date.fromisoformat(t["scheduled_date"]) - today).days for t in tasks]
    assert min(days) >= -5 * 365 and max(days) <= 60
    assert min(days) < -3 * 365
    recent = sum(1 for d in days if -35 <= d <= 45)
    assert recent / len(days) < 0.15
    past = [t for t in tasks if t["scheduled_date"] < (today - timedelta(days=2)).isoformat()]
    finished = [t for t in past if t["finished_at"]]
    assert len(finished) / len(past) > 0.9
    for task in tasks:
        if task["scheduled_date"] > today.isoformat():
            assert task["finished_at"] is None


def test_every_quirk_appears_at_default_rates(api: Api) -> None:
    sim = api.sim
    truth = sim.snapshot(1001)
    properties = api.all_pages("/property")
    assert any(len({x["id"] for x in p["photos"]}) < len(p["photos"]) for p in properties)
    assert any(len(p["name"]) > 255 for p in properties)
    assert any(isinstance(p["latitude"], str) for p in properties)
    assert any(p["latitude"] is None for p in properties)
    assert any(p["display"] == "" for p in properties)
    assert any(p["reference_property_id"] == "" for p in properties)
    assert any(p["notes"] == {} for p in properties)

    tasks = []
    for prop in truth["properties"]:
        response = api.get("/task", home_id=prop["id"], limit=500)
        if response.status_code == 200:
            tasks += response.json()["results"]
    found = Counter()
    for task in tasks:
        for name in (
            "type_task_status",
            "template",
            "created_by",
            "finished_by",
            "requested_by",
            "subdepartment",
            "summary",
            "linked_reservation",
        ):
            found[f"null {name}"] += task[name] is None
        found["long name"] += len(task["name"]) > 255
        found["long description"] += len(task["description"] or "") > 255
        found["big total_cost"] += (task["total_cost"] or 0) >= 1e8
        found["big rate_paid"] += (
            task["rate_paid"] is not None and float(task["rate_paid"].split()[0]) >= 1e8
        )
        found["rate_paid string"] += bool(re.fullmatch(r"\d+\.\d\d USD", task["rate_paid"] or ""))
        found["null supply id"] += any(s["id"] is None for s in task["supplies"])
        found["big supply"] += any(s["unit_cost"] >= 1e8 for s in task["supplies"])
        found["null cost id"] += any(c["id"] is None for c in task["costs"])
        found["null type_cost"] += any(c["type_cost"] is None for c in task["costs"])
        found["big cost"] += any(c["cost"] >= 1e8 for c in task["costs"])
        found["long cost"] += any(len(c["description"] or "") > 255 for c in task["costs"])
        found["empty reference"] += task["reference_property_id"] == ""
        for name, key in (("assignments", "assignee_id"), ("photos", "id"), ("task_tags", "id")):
            ids = [child[key] for child in task[name]]
            found[f"duplicate {name}"] += len(set(ids)) < len(ids)
    missing = [name for name, count in found.items() if count == 0]
    assert not missing, missing

    lines = [line for ls in truth["requirements"].values() for line in ls]
    assert any("id" not in line for line in lines)
    assert any("id" in line for line in lines)
    assert any(len(line["response"] or "") > 255 for line in lines)
    assert any(len(line["section_name"]) > 255 for line in lines)

    reservations = api.json("/reservation", checkin_date_ge="2000-01-01", limit=500)["results"]
    assert any(r["id"] is None for r in reservations)
    assert any(r["type_guest"] is None for r in reservations)
    assert any(r["type_stay"] is None for r in reservations)
    guests = [g for r in reservations for g in r["guests"]]
    assert guests and all("id" not in g for g in guests)
    assert any(g["emails"] == [] and g["first_name"] for g in guests)
    assert any(g["first_name"] == "" and g["last_name"] == "" for g in guests)
    assert any(len(r["guests"]) > len({json.dumps(g) for g in r["guests"]}) for r in reservations)
    assert any(p["id"] is None for p in api.json("/people"))
    assert any(p["availability"] is None for p in api.json("/people"))
    supplies = api.all_pages("/supplies")
    assert any(s["id"] is None for s in supplies)
    assert any(s["unit_cost"] >= 1e8 for s in supplies)


def test_truth_leaves_out_serving_glitches(api: Api) -> None:
    truth = api.sim.snapshot(1001)
    assert all(p["id"] is not None for p in truth["people"] + truth["supplies"])
    assert all(r["id"] is not None for r in truth["reservations"])
    for prop in truth["properties"]:
        ids = [x["id"] for x in prop["photos"]]
        assert len(ids) == len(set(ids))
    served = {p["id"]: p for p in api.all_pages("/property")}
    duplicated = [
        pid for pid, p in served.items() if len(p["photos"]) > len({x["id"] for x in p["photos"]})
    ]
    assert duplicated
    truth_by_id = {p["id"]: p for p in truth["properties"]}
    for pid in duplicated:
        assert served[pid]["photos"][:-1] == truth_by_id[pid]["photos"]
        assert served[pid]["photos"][-1] == truth_by_id[pid]["photos"][0]


def test_quirks_can_be_switched_off() -> None:
    off = Quirks(**{name: 0.0 for name in Quirks.__dataclass_fields__})
    sim = make_sim(quirks=off, companies=1)
    world = sim.world(1001)
    assert not any(r.get("_null_id") for r in world.reservations.values())
    truth = sim.snapshot(1001)
    assert all(len(t["name"]) <= 255 for t in truth["tasks"])
    assert all("id" in line for ls in truth["requirements"].values() for line in ls)


def test_snapshot_is_a_copy(sim: Simulator) -> None:
    truth = sim.snapshot(1001)
    truth["tasks"][0]["name"] = "changed"
    truth["properties"].clear()
    again = sim.snapshot(1001)
    assert again["tasks"][0]["name"] != "changed" and again["properties"]


def test_more_than_twenty_companies_get_compact_id_blocks_below_2_31() -> None:
    sim = Simulator(SimulatorConfig(seed=2, scale=0.002, companies=60))
    seen: dict[str, set[int]] = {}
    for world in sim.world_list:
        for kind, records in (
            ("properties", world.properties),
            ("reservations", world.reservations),
            ("tasks", world.tasks),
            ("people", world.people),
        ):
            ids = set(records)
            assert not ids & seen.get(kind, set()), f"{kind} ids shared between companies"
            seen.setdefault(kind, set()).update(ids)
    assert max(max(ids) for ids in seen.values()) < 2**31
    # Twenty or fewer keep the wide blocks, so existing seeds serve the same ids.
    two = Simulator(SimulatorConfig(seed=2, scale=0.002, companies=2))
    assert min(two.world_list[0].tasks) == 120_000_001
    with pytest.raises(ValueError, match="between 1 and 200"):
        SimulatorConfig(companies=201)
