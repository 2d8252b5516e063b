"""Each alert condition: when it opens, when it does not, and when it clears."""

from datetime import timedelta

import pytest
from django.utils import timezone

from breezeway.models import Region
from etl.entities import ENTITY_NAMES
from etl.models import SyncRun
from ops.alerts import check
from ops.alerts.check import check_alerts
from ops.models import Alert
from tests.ops.conftest import CLIENT_SECRET, snapshot, sync_run

pytestmark = pytest.mark.usefixtures("alert_settings")

HOURLY = ("reservations", "tasks")


def open_keys() -> set[str]:
    return set(Alert.objects.filter(cleared_at__isnull=True).values_list("key", flat=True))


def registered_long_ago(region: Region) -> None:
    Region.objects.filter(pk=region.pk).update(created_at=timezone.now() - timedelta(days=30))


# --- no recent successful sync -------------------------------------------------------------


def test_an_entity_without_a_recent_success_is_stale_by_its_own_limit(sim1) -> None:
    registered_long_ago(sim1)
    for entity in ENTITY_NAMES:
        # Hourly entities may be 3 h old, the daily ones 26 h.
        sync_run(sim1, entity, "success", hours_ago=2 if entity in HOURLY else 20)
    sync_run(sim1, "tasks", "success", hours_ago=5)  # older: the latest still counts
    check_alerts()
    assert open_keys() == set()

    SyncRun.objects.filter(entity="reservations").delete()
    sync_run(sim1, "reservations", "success", hours_ago=4)
    sync_run(sim1, "reservations", "failed", hours_ago=0)  # a failure is no success
    check_alerts()
    assert open_keys() == {"sync_stale:sim1:reservations"}
    alert = Alert.objects.get()
    assert (alert.kind, alert.region_code, alert.entity) == ("sync_stale", "sim1", "reservations")
    assert "limit 3 h" in alert.message

    sync_run(sim1, "reservations", "success")
    check_alerts()
    assert open_keys() == set()
    assert Alert.objects.get().cleared_at is not None


def test_a_region_never_synced_is_stale_only_once_its_limit_has_passed(sim1) -> None:
    check_alerts()
    assert open_keys() == set()  # registered a moment ago

    registered_long_ago(sim1)
    check_alerts()
    assert open_keys() == {f"sync_stale:sim1:{entity}" for entity in ENTITY_NAMES}
    assert "no successful sync ever" in Alert.objects.filter(entity="tasks").get().message


def test_regions_without_credentials_or_inactive_are_not_watched(sim1, monkeypatch) -> None:
    other = Region.objects.create(code="nocreds", name="No credentials", company_id=2)
    registered_long_ago(other)
    Region.objects.filter(pk=sim1.pk).update(
        is_active=False, created_at=timezone.now() - timedelta(days=30)
    )
    for _ in range(3):
        sync_run(other, "tasks", "failed")
    check_alerts()
    assert open_keys() == set()


def test_a_misspelt_entity_in_the_age_setting_fails_its_check_loudly(sim1, settings) -> None:
    settings.ALERT_SYNC_MAX_AGE_HOURS = {"task": 3.0, "default": 26.0}
    result = check_alerts()
    assert result.failed_checks == ["stale_syncs"]


# --- failing in a row ----------------------------------------------------------------------


def test_failures_in_a_row_open_an_alert_skipped_runs_do_not_break_the_streak(sim1) -> None:
    sync_run(sim1, "tasks", "success", hours_ago=2.8)
    sync_run(sim1, "tasks", "failed", hours_ago=2.5)
    sync_run(sim1, "tasks", "skipped", hours_ago=2.3)
    sync_run(sim1, "tasks", "partial", hours_ago=2)
    check_alerts()
    assert open_keys() == set()  # two failures so far

    sync_run(sim1, "tasks", "skipped", hours_ago=1.5)
    sync_run(sim1, "tasks", "failed", hours_ago=1, error="API kept failing: 503")
    sync_run(sim1, "tasks", "running", hours_ago=0)  # not over: says nothing yet
    check_alerts()
    assert open_keys() == {"sync_failing:sim1:tasks"}
    message = Alert.objects.get().message
    assert "last 3 runs failed" in message and "API kept failing: 503" in message

    sync_run(sim1, "tasks", "success", hours_ago=0)
    check_alerts()
    assert open_keys() == set()


def test_partial_runs_can_be_told_not_to_count(sim1, settings) -> None:
    settings.ALERT_PARTIAL_IS_FAILURE = False
    for hours_ago in (3, 2, 1):
        sync_run(sim1, "properties", "partial", hours_ago=hours_ago)
    check_alerts()
    assert open_keys() == set()
    settings.ALERT_PARTIAL_IS_FAILURE = True
    check_alerts()
    assert open_keys() == {"sync_failing:sim1:properties"}


def test_the_error_quoted_in_an_alert_never_holds_a_secret(sim1) -> None:
    for hours_ago in (3, 2, 1):
        sync_run(
            sim1,
            "tasks",
            "failed",
            hours_ago=hours_ago,
            error=f"refused client_secret={CLIENT_SECRET} at postgres://u:pw1234@db/x",
        )
    check_alerts()
    message = Alert.objects.get().message
    assert CLIENT_SECRET not in message and "pw1234" not in message
    assert "***" in message


# --- rejected records ----------------------------------------------------------------------


def test_many_rejected_records_in_the_latest_run_open_an_alert_until_a_run_rejects_few(
    sim1,
) -> None:
    sync_run(sim1, "properties", "success", hours_ago=2, rejected=100)  # at the threshold
    check_alerts()
    assert open_keys() == set()
    sync_run(sim1, "properties", "success", hours_ago=1, rejected=150)
    sync_run(sim1, "properties", "skipped", hours_ago=0.5)
    check_alerts()
    assert open_keys() == {"sync_rejected:sim1:properties"}
    assert "150 records rejected" in Alert.objects.get().message
    sync_run(sim1, "properties", "success", hours_ago=0, rejected=3)
    check_alerts()
    assert open_keys() == set()


# --- tables --------------------------------------------------------------------------------


def test_duplicates_or_a_missing_or_invalid_key_index_in_the_latest_snapshot(db) -> None:
    now = timezone.now()
    snapshot("task_photos", 500, 100, now - timedelta(days=1), present=False)
    snapshot("task_photos", 100, 100, now)  # remediated since: clean
    snapshot("task_tags", 120, 100, now)
    snapshot("property_photos", 50, 50, now, present=False, valid=False)
    snapshot("task_comments", 50, 50, now, present=True, valid=False)
    check_alerts()
    assert open_keys() == {
        "duplicates:task_tags",
        "natural_key_index:property_photos",
        "natural_key_index:task_comments",
    }
    messages = {a.key: a.message for a in Alert.objects.all()}
    assert "20 duplicate rows" in messages["duplicates:task_tags"]
    assert "is missing" in messages["natural_key_index:property_photos"]
    assert "is invalid" in messages["natural_key_index:task_comments"]


def test_the_remediation_dropping_rows_is_not_a_loss_but_lost_natural_keys_are(db) -> None:
    now = timezone.now()
    # The remediation: 38x the rows before, the same natural keys after.
    snapshot("task_requirements", 38_000, 1_000, now - timedelta(days=2), present=False)
    snapshot("task_requirements", 1_000, 1_000, now - timedelta(days=1))
    snapshot("task_photos", 1_000, 1_000, now - timedelta(days=1))
    snapshot("task_photos", 600, 600, now)  # 40 %: below the threshold
    check_alerts()
    assert open_keys() == set()

    snapshot("task_requirements", 400, 400, now)  # 60 % of the records gone
    check_alerts()
    assert open_keys() == {"row_drop:task_requirements"}
    assert "from 1000 to 400 (60%)" in Alert.objects.get().message

    snapshot("task_requirements", 400, 400, now + timedelta(minutes=1))  # no further fall
    check_alerts()
    assert open_keys() == set()


def test_a_check_that_fails_leaves_its_open_alerts_open(db, monkeypatch) -> None:
    snapshot("task_tags", 120, 100, timezone.now())
    check_alerts()
    assert open_keys() == {"duplicates:task_tags"}

    def broken() -> list:
        raise RuntimeError("the snapshot table is being rebuilt")

    checks = tuple(
        (broken, kinds) if "duplicates" in kinds else (c, kinds) for c, kinds in check.CHECKS
    )
    monkeypatch.setattr(check, "CHECKS", checks)
    result = check_alerts()
    assert result.failed_checks == ["broken"]
    assert open_keys() == {"duplicates:task_tags"}
