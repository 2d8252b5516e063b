"""What real APIs sometimes send: NUL, invalid Unicode, NaN, absurd nesting, out-of-range
values. Each costs its record (or the page that cannot be parsed) at most, never the run."""

import math

from breezeway import models as m
from etl.models import RejectedRecord
from tests.etl.test_sync import SYNCED_TABLES, rows_written_by_server, statuses

ALL_ENTITIES = ["tags", "people", "supplies", "properties", "reservations", "tasks"]


def first(records: dict) -> dict:
    return records[min(records)]


def test_values_postgresql_cannot_store_are_cleaned_recorded_and_stable(sim, run_sync) -> None:
    world = sim.world_list[0]
    prop = first(world.properties)
    prop["name"] = "Blue\x00 Cottage"
    prop["notes"] = {"about": "gate code \x00\x001234", "access": "lone \ud800 surrogate"}
    task = first(world.tasks)
    task["description"] = "bad \udfff text"
    requirement = next(r for rows in world.requirements.values() for r in rows)
    requirement["action"] = ["Clean\x00", {"k\x00ey": "v\ud800"}]
    requirement["note"] = float("nan")  # Python's JSON parser accepts a bare NaN
    person = first(world.people)
    person["availability"] = {"monday": [{"start": "10:00\x00"}], "x": math.inf}

    runs = run_sync()
    assert statuses(runs) == dict.fromkeys(ALL_ENTITIES, "success")
    stored = m.Property.objects.get(property_id=str(prop["id"]))
    assert stored.property_name == "Blue Cottage"
    assert stored.property_notes_general == "gate code 1234"
    assert stored.property_notes_access == "lone \ufffd surrogate"
    assert m.Task.objects.get(task_id=str(task["id"])).task_description == "bad \ufffd text"
    kept = m.TaskRequirement.objects.get(requirement_id=str(requirement["id"]))
    assert kept.action == ["Clean", {"key": "v\ufffd"}] and kept.note is None
    availability = m.Person.objects.get(person_id=str(person["id"])).availability
    assert availability == {"monday": [{"start": "10:00"}], "x": None}
    # The fact is recorded on the run that stored the cleaned values, with where it was.
    by_entity = {run.entity: run for run in runs}
    notes = by_entity["properties"].details["cleaned"]
    assert notes["values"] == 3
    assert any(f"id '{prop['id']}'" in n and "NUL" in n for n in notes["first"])
    assert by_entity["tasks"].details["cleaned"]["values"] >= 4
    assert "cleaned" not in by_entity["tags"].details
    assert not RejectedRecord.objects.filter(record_id=str(prop["id"])).exists()

    before = rows_written_by_server()
    again = run_sync()
    after = rows_written_by_server()
    assert {t: after[t] - before[t] for t in SYNCED_TABLES if after[t] != before[t]} == {}
    assert sum(run.rows_written for run in again) == 0


def test_a_page_no_parser_can_read_costs_that_page_only(sim, run_sync, settings) -> None:
    settings.SYNC_PAGE_SIZE = 5
    sim.faults.update(
        {"fail_paths": [{"path": "/property", "page": 2, "body": "[" * 100_000 + "]" * 100_000}]}
    )
    runs = run_sync()
    by_entity = {run.entity: run for run in runs}
    properties = by_entity["properties"]
    assert properties.status == "partial"
    assert "nested too deeply to parse" in properties.error
    assert m.Property.objects.count() == 5  # page 1 kept
    # The entities after it ran; only page 2 was asked once (not retried: it cannot change).
    assert [run.entity for run in runs] == ALL_ENTITIES
    assert by_entity["reservations"].status == "success"
    assert properties.retries == 0 and not properties.details.get("retryable")


def test_a_record_with_unusable_values_costs_that_record_only(sim, run_sync) -> None:
    world = sim.world_list[0]
    deep: list = []
    for _ in range(800):  # parseable, but nested far beyond anything the API sends
        deep = [deep]
    ids = sorted(world.tasks)
    overflow, nested, huge = (world.tasks[i] for i in ids[:3])
    overflow["started_at"] = "9999-12-31T23:00:00-05:00"  # past the last representable day
    nested["summary"] = {"note": "ok", "extra": deep}
    huge["rate_paid"] = 10**400  # an int beyond any column; Python parses it
    requirement = next(
        rows[0]
        for task_id, rows in sorted(world.requirements.items())
        if rows
        and task_id not in ids[:3]
        and world.tasks[task_id]["home_id"] not in world.bad_property_ids
    )
    photos: list = ["x"]
    for _ in range(40):
        photos = [photos]
    requirement["photos"] = photos

    runs = run_sync()
    assert statuses(runs) == dict.fromkeys(ALL_ENTITIES, "success")
    rejected = {r.record_id: r for r in RejectedRecord.objects.filter(entity="tasks")}
    assert "out of the representable range" in rejected[str(overflow["id"])].reason
    assert "too large" in rejected[str(huge["id"])].reason
    # Deep nesting where no column stores it is harmless; in a JSON column it is refused,
    # and the payload is kept with the part beyond the limit as JSON text (not dropped).
    assert str(nested["id"]) not in rejected
    assert m.Task.objects.get(task_id=str(nested["id"])).summary_note == "ok"
    refused = RejectedRecord.objects.get(entity="tasks.requirements", reason__contains="nested")
    assert "photos is nested more than 32 levels" in refused.reason
    assert '[["x"]]' in str(refused.payload)
    assert m.Task.objects.filter(task_id=str(requirement_task(world, requirement))).exists()
    stored = set(m.Task.objects.values_list("task_id", flat=True))
    assert not {str(overflow["id"]), str(huge["id"])} & stored
    # Nothing else was lost: every other listed task is there.
    bad = {p for p in world.bad_property_ids}
    expected = {str(t["id"]) for t in world.valid(world.tasks) if t["home_id"] not in bad}
    assert expected - stored == {str(overflow["id"]), str(huge["id"])}


def requirement_task(world, requirement: dict) -> int:
    return next(task for task, rows in world.requirements.items() if requirement in rows)


def test_a_bad_record_is_kept_once_however_many_runs_see_it(sim, run_sync) -> None:
    run_sync()
    first_rows = RejectedRecord.objects.count()
    assert first_rows > 0
    # Full sweeps list every record again (incremental runs list only what changed).
    run_sync(full_sweep=True)
    run_sync(full_sweep=True)
    assert RejectedRecord.objects.count() == first_rows
    assert set(RejectedRecord.objects.values_list("times_seen", flat=True)) == {3}
    row = RejectedRecord.objects.first()
    assert row.last_seen_at > row.first_seen_at
    # A different payload for the same record id is another row.
    world = sim.world_list[0]
    task = first(world.tasks)
    task["started_at"] = "not a time"
    run_sync(entities=["tasks"], full_sweep=True)
    assert RejectedRecord.objects.filter(record_id=str(task["id"])).count() == 1
    assert RejectedRecord.objects.count() == first_rows + 1
