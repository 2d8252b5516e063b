"""Fixtures for the alert tests: a region with credentials, runs, snapshots, a chat receiver."""

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from breezeway.models import Region
from dedup.models import DuplicateSnapshot
from etl.models import SyncRun
from tests.support.snapshots import make_snapshot

CLIENT_SECRET = "s3cr3t-client-secret-value"


class ChatReceiver:
    """A local chat webhook: keeps every JSON body POSTed, answers `status`."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                if receiver.status == 200:
                    receiver.bodies.append(body)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T0KEN-in-the-path"

    def texts(self) -> list[str]:
        return [body["text"] for body in self.bodies]


@pytest.fixture
def chat_receiver() -> Iterator[ChatReceiver]:
    chat = ChatReceiver()
    thread = threading.Thread(target=chat.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield chat
    chat.server.shutdown()
    chat.server.server_close()


@pytest.fixture
def alert_settings(settings, chat_receiver: ChatReceiver):
    """Mail to one admin through locmem, posts to the local receiver, the default thresholds."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.ALERT_WEBHOOK_URL = chat_receiver.url
    settings.ALERT_WEBHOOK_TIMEOUT = 5.0
    settings.ALERT_SYNC_MAX_AGE_HOURS = {"reservations": 3.0, "tasks": 3.0, "default": 26.0}
    settings.ALERT_FAILURES_IN_A_ROW = 3
    settings.ALERT_PARTIAL_IS_FAILURE = True
    settings.ALERT_REJECTED_PER_RUN = 100
    settings.ALERT_ROW_DROP_FRACTION = 0.5
    return settings


@pytest.fixture
def sim1(db, monkeypatch) -> Region:
    """Region sim1, active, with credentials, registered just now (nothing is overdue yet)."""
    monkeypatch.setenv("BREEZEWAY_SIM1_CLIENT_ID", "sim1-client-id-value")
    monkeypatch.setenv("BREEZEWAY_SIM1_CLIENT_SECRET", CLIENT_SECRET)
    return Region.objects.create(code="sim1", name="Simulated 1", company_id=1)


def sync_run(
    region: Region,
    entity: str,
    status: str,
    hours_ago: float = 0.0,
    rejected: int = 0,
    error: str = "",
) -> SyncRun:
    started = timezone.now() - timedelta(hours=hours_ago)
    return SyncRun.objects.create(
        region=region,
        entity=entity,
        status=status,
        started_at=started,
        finished_at=None if status == "running" else started + timedelta(minutes=1),
        rejected=rejected,
        error=error,
    )


def snapshot(
    table: str,
    rows: int,
    distinct: int,
    when: datetime,
    present: bool = True,
    valid: bool = True,
) -> DuplicateSnapshot:
    return make_snapshot(table, rows, distinct, when, present=present, valid=valid)
