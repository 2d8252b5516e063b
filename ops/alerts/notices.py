"""Alert notices: what opened or cleared since the last delivery, by e-mail and chat webhook."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import mail_admins
from django.db.models import Q

from breezeway.admin.display import datetime_text
from ops.alerts.redact import redacted
from ops.models import Alert

log = logging.getLogger(__name__)

SUBJECT_CHARS = 150


@dataclass(frozen=True)
class Channel:
    """A way to reach people, and the flags that record what it was told."""

    name: str
    opened_flag: str
    cleared_flag: str
    configured: Callable[[], bool]
    send: Callable[[list[tuple[str, Alert]]], bool]


def subject_of(events: list[tuple[str, Alert]]) -> str:
    if len(events) == 1:
        state, alert = events[0]
        subject = f"{'Alert' if state == 'opened' else 'Cleared'}: {alert.message}"
    else:
        opened = sum(1 for state, _ in events if state == "opened")
        subject = f"{opened} alert(s) opened, {len(events) - opened} cleared"
    # A header holds one line (Django refuses a newline in a subject).
    subject = " ".join(redacted(subject).split())
    return subject if len(subject) <= SUBJECT_CHARS else subject[: SUBJECT_CHARS - 1] + "…"


def line_of(state: str, alert: Alert) -> str:
    if state == "opened":
        return f"OPENED  {alert.message} (since {datetime_text(alert.opened_at)})"
    return (
        f"CLEARED {alert.message} (open from {datetime_text(alert.opened_at)} "
        f"to {datetime_text(alert.cleared_at)})"
    )


def body_of(events: list[tuple[str, Alert]]) -> str:
    still_open = Alert.objects.filter(cleared_at__isnull=True).count()
    lines = [line_of(state, alert) for state, alert in events]
    lines += [
        "",
        f"Open now: {still_open} alert(s). `python manage.py check_health` lists them; "
        "so does Operations > Alerts in the admin.",
    ]
    return redacted("\n".join(lines))


def send_mail(events: list[tuple[str, Alert]]) -> bool:
    try:
        mail_admins(subject_of(events), body_of(events), fail_silently=False)
    except Exception as exc:  # SMTP, DNS, TLS, refused login: whatever it is, try next check
        # The type only: an SMTP error may quote the login.
        log.warning(
            "alert e-mail not delivered (%s); retried on the next check", type(exc).__name__
        )
        return False
    return True


def webhook_payload(events: list[tuple[str, Alert]]) -> dict[str, Any]:
    """Slack-style "text" for chat tools, plus the alerts as data for anything else."""
    return {
        "text": f"{subject_of(events)}\n{body_of(events)}",
        "alerts": [
            {
                "state": state,
                "key": alert.key,
                "kind": alert.kind,
                "message": redacted(alert.message),
                "region": alert.region_code or None,
                "entity": alert.entity or None,
                "table": alert.table_name or None,
                "opened_at": alert.opened_at.isoformat(),
                "cleared_at": alert.cleared_at.isoformat() if alert.cleared_at else None,
            }
            for state, alert in events
        ],
    }


def post_to_webhook(events: list[tuple[str, Alert]]) -> bool:
    try:
        response = httpx.post(
            settings.ALERT_WEBHOOK_URL,
            json=webhook_payload(events),
            timeout=settings.ALERT_WEBHOOK_TIMEOUT,
        )
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        # Never the URL: a chat webhook's URL is its secret.
        log.warning(
            "alert webhook answered %s; retried on the next check", exc.response.status_code
        )
        return False
    except httpx.HTTPError as exc:
        log.warning("alert webhook not reached (%s); retried on the next check", type(exc).__name__)
        return False
    return True


CHANNELS = (
    Channel("mail", "opened_mailed", "cleared_mailed", lambda: bool(settings.ADMINS), send_mail),
    Channel(
        "webhook",
        "opened_posted",
        "cleared_posted",
        lambda: bool(settings.ALERT_WEBHOOK_URL),
        post_to_webhook,
    ),
)


def pending_events(channel: Channel) -> list[tuple[str, Alert]]:
    """Openings and clearings the channel was not told yet, oldest first."""
    alerts = Alert.objects.filter(
        Q(**{channel.opened_flag: False})
        | Q(cleared_at__isnull=False, **{channel.cleared_flag: False})
    ).order_by("opened_at", "id")
    events = [("opened", a) for a in alerts if not getattr(a, channel.opened_flag)]
    events += [
        ("cleared", a) for a in alerts if a.cleared_at and not getattr(a, channel.cleared_flag)
    ]
    return sorted(events, key=lambda e: e[1].opened_at if e[0] == "opened" else e[1].cleared_at)


def mark_told(channel: Channel, events: list[tuple[str, Alert]]) -> None:
    for state, flag in (("opened", channel.opened_flag), ("cleared", channel.cleared_flag)):
        ids = [alert.pk for s, alert in events if s == state]
        if ids:
            Alert.objects.filter(pk__in=ids).update(**{flag: True})


def deliver_notices() -> dict[str, int]:
    """Tell each channel, in one message, what it was not told yet; per channel how many
    notices went out (a channel not configured is marked told: no backlog once it is)."""
    sent = {}
    for channel in CHANNELS:
        events = pending_events(channel)
        if not events:
            sent[channel.name] = 0
            continue
        if not channel.configured():
            mark_told(channel, events)
            sent[channel.name] = 0
        elif channel.send(events):
            mark_told(channel, events)
            sent[channel.name] = len(events)
        else:
            sent[channel.name] = 0
    return sent
