"""The sync against the simulator on PostgreSQL: idempotence, convergence, deletions, quirks."""

from django.db import connection
from django.db.models.functions import Length

from breezeway import models as m
from etl.models import RejectedRecord, SyncRun
from tests.support.mirror import mirror_differences, synced_models

SYNCED_TABLES = [model._meta.db_table for model in synced_models()]


def rows_written_by_server() -> dict[str, int]:
    """Inserted + updated + deleted tuples per synced table, as PostgreSQL counts them."""
    with connection.cursor() as cur:
        # Our own backend's pending counters go to shared memory once it is idle.
        cur.execute("SELECT pg_stat_force_next_flush()")
    with connection.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables "
            "WHERE relname = ANY(%s)",
            [SYNCED_TABLES],
        )
        return dict(cur.fetchall())


def statuses(runs: list[SyncRun]) -> dict[str, str]:
    return {run.entity: run.status for run in runs}


def test_first_sync_mirrors_the_api(sim, run_sync) -> None:
    runs = run_sync()
    assert statuses(runs) == dict.fromkeys(
        ["tags", "people", "supplies", "properties", "reservations", "tasks"], "success"
    )
    company = sim.companies[0]
    assert mirror_differences(company.code, sim.snapshot(company.company_id)) == []
    tasks = next(run for run in runs if run.entity == "tasks")
    assert tasks.child_policy == "full" and tasks.inserted > 0 and tasks.api_calls > 0
    assert set(tasks.details["tables"]) >= {"tasks", "tasks.requirements", "tasks.supplies"}


def test_a_second_sync_over_unchanged_data_writes_nothing(sim, run_sync) -> None:
    first = run_sync()
    before = rows_written_by_server()
    second = run_sync()
    after = rows_written_by_server()
    assert {t: after[t] - before[t] for t in SYNCED_TABLES if after[t] != before[t]} == {}
    assert all(run.status == "success" for run in second)
    assert sum(run.rows_written for run in second) == 0
    assert sum(run.unchanged for run in second) > 0
    calls = {run.entity: run.api_calls for run in first}, {r.entity: r.api_calls for r in second}
    # The default policy fetches task children for new, changed and near-dated tasks only.
    assert calls[1]["tasks"] < calls[0]["tasks"]
    tasks = next(r for r in second if r.entity == "tasks")
    assert tasks.child_policy == "new+changed+window"
    # Nothing new or changed: the child sets fetched are the window's alone (today's tasks).
    assert set(tasks.details.get("children_fetched_for", {})) <= {"window"}
    first_tasks = next(r for r in first if r.entity == "tasks")
    assert first_tasks.details["children_fetched_for"] == {"full": first_tasks.fetched}


def test_a_day_of_hourly_changes_converges_exactly(sim, run_sync) -> None:
    company = sim.companies[0]
    run_sync()
    changed = 0
    for _ in range(24):
        summary = sim.tick(hours=1)
        changed += sum(v for v in summary.values() if isinstance(v, int))
        runs = run_sync()
        assert all(run.status == "success" for run in runs), [(r.entity, r.error) for r in runs]
    assert changed > 0
    run_sync(full_sweep=True)
    snapshot = sim.snapshot(company.company_id)
    assert mirror_differences(company.code, snapshot) == []
    # Deletions were seen and applied softly; hidden tasks were kept.
    assert m.Task.objects.filter(deleted_at__isnull=False).exists()
    bad = {str(i) for i in snapshot["bad_property_ids"]}
    hidden_ids = {str(i) for i in snapshot["hidden_task_ids"]}
    hidden = {
        str(t["id"])
        for t in snapshot["tasks"]
        if str(t["id"]) in hidden_ids and str(t["home_id"]) not in bad
    }
    if hidden:
        kept = m.Task.objects.filter(task_id__in=hidden, deleted_at__isnull=True)
        assert kept.count() == len(hidden) and not kept.filter(listed=True).exists()


def test_bad_records_are_rejected_and_the_run_goes_on(sim, run_sync) -> None:
    runs = run_sync()
    assert all(run.status == "success" for run in runs)
    rejected = RejectedRecord.objects.all()
    assert rejected.exists()
    assert sum(run.rejected for run in runs) == rejected.count()
    null_ids = rejected.filter(reason__contains="id is missing")
    assert null_ids.exists() and all(r.payload is not None for r in null_ids)


def test_quirky_values_are_stored_with_the_right_keys(sim, run_sync) -> None:
    run_sync()
    # Requirements without an id, supplies and costs with a null id: derived keys.
    assert m.TaskRequirement.objects.filter(requirement_key__startswith="h:").exists()
    assert m.TaskSupply.objects.filter(usage_id__isnull=True, usage_key__startswith="h:").exists()
    assert m.TaskCost.objects.filter(cost_id__isnull=True, cost_key__startswith="h:").exists()
    # Guests have no id: keyed by email, else name.
    assert m.ReservationGuest.objects.exclude(guest_key="").exists()
    # Long texts and money of 10^8 and more.
    assert m.Task.objects.annotate(n=Length("task_name")).filter(n__gt=255).exists()
    assert (
        m.Task.objects.filter(total_cost__gte=10**8).exists()
        or m.TaskCost.objects.filter(cost__gte=10**8).exists()
    )


def test_a_property_goes_after_two_complete_listings_without_it(sim, run_sync) -> None:
    run_sync(entities=["properties"])
    company = sim.companies[0]
    gone = sim.snapshot(company.company_id)["properties"][0]["id"]
    sim.world(company.company_id).remove_property(gone)
    run_sync(entities=["properties"])
    row = m.Property.objects.get(property_id=str(gone))
    assert row.deleted_at is None and row.missing_listings == 1
    run_sync(entities=["properties"])
    row.refresh_from_db()
    assert row.deleted_at is not None


def test_an_incomplete_listing_deletes_nothing_and_is_partial(sim, run_sync, settings) -> None:
    settings.SYNC_PAGE_SIZE = 5
    run_sync(entities=["properties"])
    company = sim.companies[0]
    gone = sim.snapshot(company.company_id)["properties"][0]["id"]
    sim.world(company.company_id).remove_property(gone)
    sim.faults.fail_paths = [{"path": "/property", "page": 2, "status": 500}]
    for _ in range(3):
        (run,) = run_sync(entities=["properties"])
        assert run.status == "partial" and "/property" in run.error
        assert run.retries > 0
    assert not m.Property.objects.filter(deleted_at__isnull=False).exists()
    assert not m.Property.objects.filter(missing_listings__gt=0).exists()


def test_a_today_only_child_window_keeps_requirements_and_comments_exact(
    sim, run_sync, settings
) -> None:
    """Under the simulator's change model every change to a task's children moves the task's
    updated_at (simulator/README.md, "The updated_at rule"), so fetching children for new and
    changed tasks keeps them exact hour after hour without a full sweep: the default child
    window (today only) rests on this."""
    settings.SYNC_CHILD_WINDOW_DAYS_BACK = 0
    settings.SYNC_CHILD_WINDOW_DAYS_AHEAD = 0
    company = sim.companies[0]
    run_sync()
    changed = 0
    for _ in range(24):
        summary = sim.tick(hours=1)
        changed += summary["task_requirements_changed"] + summary["task_comments_changed"]
        (tasks,) = run_sync(entities=["tasks"])
        assert tasks.status == "success"
        assert "full" not in tasks.details.get("children_fetched_for", {})
    assert changed > 0
    truth = sim.snapshot(company.company_id)
    children = [
        d
        for d in mirror_differences(company.code, truth, limit=10_000)
        if " requirements" in d or " comments" in d
    ]
    assert children == []
