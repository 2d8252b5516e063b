"""Alert notices: one e-mail and one chat POST when an alert opens, again when it clears,
nothing in between; a failed delivery is retried on the next check and breaks nothing."""

import socket

import pytest
from django.core import mail

from ops.alerts.check import check_alerts
from ops.models import Alert
from ops.tasks import check_alerts as check_alerts_task
from tests.ops.conftest import CLIENT_SECRET, sync_run

pytestmark = pytest.mark.usefixtures("alert_settings")


def fail_three_times(sim1, entity: str = "tasks", error: str = "") -> None:
    for hours_ago in (0.3, 0.2, 0.1):
        sync_run(sim1, entity, "failed", hours_ago=hours_ago, error=error)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_alert_is_announced_once_when_it_opens_and_once_when_it_clears(
    sim1, chat_receiver
) -> None:
    fail_three_times(sim1)
    check_alerts()
    assert len(mail.outbox) == 1 and len(chat_receiver.bodies) == 1
    opened = mail.outbox[0]
    assert opened.to == ["ops@example.com"]
    assert opened.subject.startswith("[Breezeway] Alert: tasks of region sim1: the last 3 runs")
    assert "OPENED" in opened.body
    alert = chat_receiver.bodies[0]["alerts"][0]
    assert (alert["state"], alert["key"], alert["kind"]) == (
        "opened",
        "sync_failing:sim1:tasks",
        "sync_failing",
    )
    assert (alert["region"], alert["entity"], alert["cleared_at"]) == ("sim1", "tasks", None)
    assert "tasks of region sim1" in chat_receiver.bodies[0]["text"]

    for _ in range(3):
        check_alerts()
    assert len(mail.outbox) == 1 and len(chat_receiver.bodies) == 1

    sync_run(sim1, "tasks", "success")
    check_alerts()
    check_alerts()
    assert len(mail.outbox) == 2 and len(chat_receiver.bodies) == 2
    assert mail.outbox[1].subject.startswith("[Breezeway] Cleared: tasks of region sim1")
    assert chat_receiver.bodies[1]["alerts"][0]["state"] == "cleared"
    assert chat_receiver.bodies[1]["alerts"][0]["cleared_at"] is not None
    assert Alert.objects.get().opened_mailed and Alert.objects.get().cleared_posted


def test_alerts_opening_together_go_out_in_one_message(sim1, chat_receiver) -> None:
    fail_three_times(sim1, "tasks")
    fail_three_times(sim1, "people")
    check_alerts()
    assert len(mail.outbox) == 1 and len(chat_receiver.bodies) == 1
    assert mail.outbox[0].subject == "[Breezeway] 2 alert(s) opened, 0 cleared"
    assert len(chat_receiver.bodies[0]["alerts"]) == 2


def test_a_webhook_that_fails_is_retried_next_check_without_a_second_mail(
    sim1, chat_receiver, caplog
) -> None:
    chat_receiver.status = 500
    fail_three_times(sim1)
    result = check_alerts()  # must not raise
    assert result.sent == {"mail": 1, "webhook": 0}
    assert len(mail.outbox) == 1 and chat_receiver.bodies == []
    assert "alert webhook answered 500" in caplog.text
    assert "T0KEN" not in caplog.text  # a chat webhook's URL is its secret

    check_alerts()
    assert len(mail.outbox) == 1 and chat_receiver.bodies == []  # still failing: nothing new

    chat_receiver.status = 200
    check_alerts()
    assert len(mail.outbox) == 1 and len(chat_receiver.bodies) == 1
    assert chat_receiver.bodies[0]["alerts"][0]["state"] == "opened"


def test_an_unreachable_webhook_and_smtp_server_are_logged_and_retried(
    sim1, chat_receiver, settings, caplog
) -> None:
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{closed_port()}/hook"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    fail_three_times(sim1)
    result = check_alerts()
    assert result.sent == {"mail": 0, "webhook": 0}
    assert "alert webhook not reached (ConnectError)" in caplog.text
    assert "alert e-mail not delivered (ConnectionRefusedError)" in caplog.text
    alert = Alert.objects.get()
    assert not alert.opened_mailed and not alert.opened_posted

    settings.ALERT_WEBHOOK_URL = chat_receiver.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    check_alerts()
    assert len(mail.outbox) == 1 and len(chat_receiver.bodies) == 1


def test_a_channel_not_configured_keeps_no_backlog(sim1, chat_receiver, settings) -> None:
    settings.ADMINS = []
    settings.ALERT_WEBHOOK_URL = ""
    fail_three_times(sim1)
    check_alerts()
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.ALERT_WEBHOOK_URL = chat_receiver.url
    check_alerts()
    assert mail.outbox == [] and chat_receiver.bodies == []  # the opening was before they existed

    sync_run(sim1, "tasks", "success")
    check_alerts()
    assert len(mail.outbox) == 1 and len(chat_receiver.bodies) == 1  # the clearing was not


def test_notices_never_carry_a_secret(sim1, chat_receiver) -> None:
    fail_three_times(sim1, error=f"token request refused for {CLIENT_SECRET}")
    check_alerts()
    sent = mail.outbox[0].subject + mail.outbox[0].body + str(chat_receiver.bodies)
    assert CLIENT_SECRET not in sent
    assert "token request refused for ***" in sent


def test_the_celery_task_runs_the_check(sim1, chat_receiver) -> None:
    fail_three_times(sim1)
    result = check_alerts_task.apply().get()
    assert result == {
        "open": 1,
        "opened": 1,
        "cleared": 0,
        "failed_checks": [],
        "sent": {"mail": 1, "webhook": 1},
    }
