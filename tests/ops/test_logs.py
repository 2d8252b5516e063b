"""LOG_FORMAT=json: one JSON object per line with the log context, no secret in any line."""

import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from django.conf import settings as django_settings

from breezeway.logcontext import LogContextFilter, current_log_context, log_context
from etl.models import ApiToken, SyncRun
from ops.logging import JsonFormatter, PlainFormatter, redact
from tests.support.scratch import ROOT

# The loggers LOGGING configures (root first), at DEBUG: everything any of them would print.
CONFIGURED = ["", "breezeway", "dedup", "etl", "ops", "celery", "celery.task", "httpx"]


class Capture:
    """A JSON handler like LOG_FORMAT=json's, on every configured logger, at DEBUG."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter())
        self.handler.addFilter(LogContextFilter())
        self.saved: list[tuple[logging.Logger, int]] = []

    def __enter__(self) -> "Capture":
        for name in CONFIGURED:
            logger = logging.getLogger(name)
            self.saved.append((logger, logger.level))
            logger.addHandler(self.handler)
            logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        for logger, level in self.saved:
            logger.removeHandler(self.handler)
            logger.setLevel(level)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def entries(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def capture() -> Iterator[Capture]:
    with Capture() as captured:
        yield captured


def test_a_line_is_one_json_object_with_time_level_logger_message_and_context(capture) -> None:
    log = logging.getLogger("etl.test")
    log.info("outside %s", "any context")
    with log_context(region="east", entity="tasks"):
        with log_context(run_id=42):
            log.warning("first line\nsecond line")
        log.info("after the run")
    assert current_log_context() == {}

    outside, inside, after = capture.entries()
    assert outside["message"] == "outside any context"
    assert outside["level"] == "INFO" and outside["logger"] == "etl.test"
    assert not {"region", "entity", "run_id"} & set(outside)
    assert inside == {
        "time": inside["time"],
        "level": "WARNING",
        "logger": "etl.test",
        "message": "first line\nsecond line",
        "region": "east",
        "entity": "tasks",
        "run_id": 42,
    }
    moment = datetime.fromisoformat(inside["time"])
    assert moment.utcoffset().total_seconds() == 0
    assert abs(moment.timestamp() - time.time()) < 60
    assert after["region"] == "east" and "run_id" not in after
    assert len(capture.text.splitlines()) == 3  # the newline stayed inside its JSON string


def test_an_exception_is_in_the_line_and_redacted(capture) -> None:
    try:
        raise ConnectionError("could not reach postgres://mirror:hunter2-pw@db.internal:5432/bw")
    except ConnectionError:
        logging.getLogger("etl.test").exception("sync of %s failed", "east")
    (entry,) = capture.entries()
    assert entry["level"] == "ERROR" and entry["message"] == "sync of east failed"
    assert "Traceback (most recent call last)" in entry["exception"]
    assert (
        "ConnectionError: could not reach postgres://mirror:***@db.internal" in entry["exception"]
    )
    assert "hunter2-pw" not in capture.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://mirror:s3cr3t@db:5432/bw", "postgres://mirror:***@db:5432/bw"),
        ("broker redis://:s3cr3t@redis:6379/0 down", "broker redis://:***@redis:6379/0 down"),
        ("smtp+tls://ops%40x.com:s3cr3t@mail:587", "smtp+tls://ops%40x.com:***@mail:587"),
        ("Authorization: Bearer eyJ0.s3cr3t-x_y", "Authorization: Bearer ***"),
        ("http://127.0.0.1:8765/public/inventory/v1", "http://127.0.0.1:8765/public/inventory/v1"),
        (
            "postgres://mirror@db:5432/bw (no password)",
            "postgres://mirror@db:5432/bw (no password)",
        ),
    ],
)
def test_url_passwords_and_bearer_tokens_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_the_plain_format_redacts_too() -> None:
    formatter = PlainFormatter("%(levelname)s %(name)s: %(message)s")
    record = logging.LogRecord(
        "etl", logging.INFO, __file__, 1, "to %s", ("redis://:pw@r/0",), None
    )
    assert formatter.format(record) == "INFO etl: to redis://:***@r/0"


def test_unknown_context_fields_are_refused() -> None:
    with pytest.raises(TypeError, match="colour"):
        with log_context(colour="red"):
            pass


def test_a_sync_logs_its_region_entity_and_run_and_no_secret(sim, run_sync, capture) -> None:
    # Retries and token renewals: the lines most likely to carry a URL or a token.
    sim.faults.error_rate = 0.2
    sim.faults.token_ttl = 1.0
    sim.faults.auth_min_interval = 0.0
    runs = run_sync()
    assert any(run.retries for run in runs)
    entries = capture.entries()

    company = sim.companies[0]
    started = [e for e in entries if "sync of" in e["message"] and "started" in e["message"]]
    assert {(e["entity"], e["run_id"]) for e in started} == {(r.entity, r.pk) for r in runs}
    for entry in started:
        assert entry["region"] == company.code
        assert f"(run {entry['run_id']})" in entry["message"]
    pipeline = [e for e in entries if e["logger"] == "etl.pipeline"]
    assert pipeline and all(e["region"] == company.code for e in pipeline)
    ended = [e for e in pipeline if "fetched" in e["message"]]
    assert {e["run_id"] for e in ended} == {r.pk for r in SyncRun.objects.all()}
    # Retries logged on the threads that fetch task lists and children name their run too.
    retried = [e for e in entries if e["logger"] == "etl.client" and "retrying" in e["message"]]
    tasks_run = next(r for r in runs if r.entity == "tasks")
    assert any(e["entity"] == "tasks" for e in retried)
    assert all(e["region"] == company.code and e["run_id"] for e in retried)
    assert {e["run_id"] for e in retried if e["entity"] == "tasks"} == {tasks_run.pk}

    token = ApiToken.objects.get(region_id=company.code)
    db = django_settings.DATABASES["default"]
    secrets = [company.client_secret, token.access_token, token.refresh_token, db["NAME"]]
    secrets += [str(db[key]) for key in ("PASSWORD",) if db.get(key)]
    for secret in secrets:
        assert secret and secret not in capture.text
    assert "Bearer " not in capture.text.replace("Bearer ***", "")


def settings_env(**env: str) -> dict[str, str]:
    """A controlled environment for a subprocess loading breezeway.settings (no .env file)."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "breezeway.settings",
        "SECRET_KEY": "k" * 60,
        "DATABASE_URL": "sqlite:////tmp/breezeway-log-test.sqlite3",
        **env,
    }


# Logs from the app as configured by Django's LOGGING; the .env file is not read.
APP_LINES = """
import environ
environ.Env.read_env = staticmethod(lambda *args, **kwargs: None)
import django, logging
django.setup()
from breezeway.logcontext import log_context
with log_context(region="east"):
    logging.getLogger("etl.pipeline").info("to postgres://u:pw-123456@h/db")
logging.getLogger("celery.app.trace").info("task done")
logging.getLogger("somelibrary").warning("a library")
"""


def test_log_format_json_configures_the_app_loggers_celery_and_root() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", APP_LINES],
        cwd=ROOT,
        env=settings_env(LOG_FORMAT="json"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    entries = [json.loads(line) for line in proc.stderr.splitlines()]
    assert [(e["logger"], e.get("region")) for e in entries] == [
        ("etl.pipeline", "east"),
        ("celery.app.trace", None),
        ("somelibrary", None),
    ]
    assert entries[0]["message"] == "to postgres://u:***@h/db"


def test_log_format_plain_is_the_default_and_anything_else_is_refused() -> None:
    plain = subprocess.run(
        [sys.executable, "-c", APP_LINES],
        cwd=ROOT,
        env=settings_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plain.returncode == 0, plain.stderr
    assert " INFO etl.pipeline: to postgres://u:***@h/db" in plain.stderr
    bad = subprocess.run(
        [sys.executable, "-c", APP_LINES],
        cwd=ROOT,
        env=settings_env(LOG_FORMAT="xml"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0
    assert "LOG_FORMAT='xml': use plain or json." in bad.stderr


def celery_start_lines(*args: str, until: str, **env: str) -> list[str]:
    """What `celery -A breezeway --quiet <args>` prints with LOG_FORMAT=json until a line holds
    `until` (then it is stopped), with an in-memory broker: no Redis needed to start."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "breezeway", "--quiet", *args],
        cwd=ROOT,
        # Without Python's warnings (Celery warns when the tests run as root): they are no log.
        env=settings_env(
            LOG_FORMAT="json", CELERY_BROKER_URL="memory://", PYTHONWARNINGS="ignore", **env
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while not any(until in line for line in lines) and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        started = len(lines)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        reader.join(timeout=5)
    # Only the start-up lines: on stopping, Celery prints (not logs) "Warm shutdown".
    return lines[:started]


def test_a_real_worker_logs_json_lines() -> None:
    lines = celery_start_lines(
        *("worker", "--pool=solo", "--loglevel=INFO", "--queues=bw-log-test"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        until="ready.",
    )
    entries = [json.loads(line) for line in lines if line.strip()]  # every line is JSON
    ready = [e for e in entries if e["message"].endswith("ready.")]
    assert ready and ready[0]["logger"].startswith("celery"), "".join(lines)


def test_a_real_beat_logs_json_lines(tmp_path) -> None:
    # The file scheduler: the database one would write its entries into the test database.
    lines = celery_start_lines(
        *("beat", "--loglevel=INFO", "--scheduler=celery.beat:PersistentScheduler"),
        f"--schedule={tmp_path / 'beat-schedule'}",
        until="Starting...",
    )
    entries = [json.loads(line) for line in lines if line.strip()]  # every line is JSON
    starting = [e for e in entries if e["message"] == "beat: Starting..."]
    assert starting and starting[0]["logger"] == "celery.beat", "".join(lines)
