"""`manage.py check_health`: prints the open alerts, exit status 1 when any, JSON on request."""

import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.ops.conftest import snapshot, sync_run

pytestmark = pytest.mark.usefixtures("alert_settings")


def check_health(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("check_health", *args, stdout=out)
    except SystemExit as exit:
        return int(exit.code), out.getvalue()
    return 0, out.getvalue()


def test_healthy_exits_0(sim1) -> None:
    assert check_health() == (0, "OK: no open alerts.\n")
    status, out = check_health("--json")
    assert status == 0
    assert json.loads(out) == {"healthy": True, "open_alerts": [], "failed_checks": []}


def test_each_open_alert_is_printed_and_the_exit_status_is_1(sim1) -> None:
    for hours_ago in (0.3, 0.2, 0.1):
        sync_run(sim1, "tasks", "failed", hours_ago=hours_ago)
    snapshot("task_tags", 120, 100, timezone.now())
    status, out = check_health()
    assert status == 1
    lines = out.splitlines()
    assert len(lines) == 2
    assert any("[sync_failing]  tasks of region sim1: the last 3 runs failed" in x for x in lines)
    assert any("[duplicates]  task_tags: 20 duplicate rows" in x for x in lines)

    status, out = check_health("--json")
    assert status == 1
    data = json.loads(out)
    assert data["healthy"] is False
    assert {a["key"] for a in data["open_alerts"]} == {
        "sync_failing:sim1:tasks",
        "duplicates:task_tags",
    }


def test_a_check_that_failed_makes_the_status_1(sim1, settings) -> None:
    settings.ALERT_SYNC_MAX_AGE_HOURS = {"tsks": 3.0, "default": 26.0}
    status, out = check_health()
    assert status == 1
    assert "CHECK FAILED  stale_syncs" in out
