"""Incremental listings: between full sweeps, reservations are listed by update time (what
changed since the last successful listing), which catches old stays that changed and proves
nothing about absent ones; the full sweep stays the evidence for deletions."""

from datetime import date, timedelta

from django.utils import timezone

from breezeway import models as m
from etl.entities import ENTITIES
from etl.models import SyncRun
from simulator.world import touch
from tests.support.mirror import mirror_differences

RESERVATIONS = ENTITIES["reservations"]


def reservation_runs(code: str):
    return SyncRun.objects.filter(region_id=code, entity="reservations").order_by("started_at")


def old_stay(world, today: date) -> dict:
    """A reservation that checked out before the hourly window (SYNC_RESERVATION_DAYS_BACK)."""
    return next(
        r
        for r in sorted(world.reservations.values(), key=lambda r: r["id"])
        if date.fromisoformat(r["checkout_date"]) < today - timedelta(days=60)
    )


def test_hourly_runs_list_what_changed_whatever_its_dates(sim, run_sync, settings) -> None:
    settings.SYNC_INCREMENTAL_OVERLAP_MINUTES = 7
    code = sim.companies[0].code
    (first,) = run_sync(entities=["reservations"])
    assert first.child_policy == "full" and "changed_since" not in first.details
    world = sim.world_list[0]
    stay = old_stay(world, sim.now.date())
    stay["note"] = "changed long after checkout"
    touch(stay, timezone.now())  # Breezeway's clock: the simulator's starts at the hour

    (second,) = run_sync(entities=["reservations"])

    assert second.status == "success" and second.child_policy == "changed"
    assert second.details["changed_since"] == (first.started_at - timedelta(minutes=7)).isoformat()
    stored = m.Reservation.objects.get(region_id=code, reservation_id=str(stay["id"]))
    assert stored.reservation_note == "changed long after checkout"
    # Only what changed since is listed: far fewer records than the first run's.
    assert 1 <= second.fetched < first.fetched / 4
    assert (second.updated, second.inserted, second.deleted) == (1, 0, 0)


def test_an_incremental_run_deletes_nothing_a_full_sweep_does(sim, run_sync) -> None:
    code = sim.companies[0].code
    run_sync()
    world = sim.world_list[0]
    gone = sorted(world.reservations)[0]
    del world.reservations[gone]
    row = m.Reservation.objects.filter(region_id=code, reservation_id=str(gone))

    for _ in range(3):
        (run,) = run_sync(entities=["reservations"])
        assert run.child_policy == "changed" and run.deleted == 0
    assert row.get().deleted_at is None and row.get().missing_listings == 0

    # Two complete listings without it (the rule for every listing that proves deletions).
    run_sync(entities=["reservations"], full_sweep=True)
    (sweep,) = run_sync(entities=["reservations"], full_sweep=True)
    assert sweep.child_policy == "full" and sweep.deleted == 1
    assert row.get().deleted_at is not None


def test_hourly_incremental_runs_then_a_full_sweep_equal_the_source(sim, run_sync) -> None:
    company = sim.companies[0]
    run_sync()
    for _ in range(24):
        sim.tick(hours=1)
        runs = run_sync(entities=["reservations", "tasks"])
        assert {r.status for r in runs} == {"success"}
        (reservations,) = [r for r in runs if r.entity == "reservations"]
        assert reservations.child_policy == "changed"
    # Between sweeps the reservations differ from the source only by the removed ones.
    truth = sim.snapshot(company.company_id)
    left = [d for d in mirror_differences(company.code, truth) if d.startswith("reservations")]
    assert all("not in the API any more" in d for d in left), left
    run_sync(full_sweep=True)
    run_sync(full_sweep=True)  # a record goes after its second complete listing without it
    assert mirror_differences(company.code, sim.snapshot(company.company_id)) == []
    assert reservation_runs(company.code).filter(child_policy="changed").count() == 24
