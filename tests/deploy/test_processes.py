"""scripts/serve.sh worker starts a Celery worker on the configured broker and queue, and stops
on SIGTERM. (Beat is not started here: its database scheduler would add entries to the test
database's schedule; tests/celery runs the same `celery -A breezeway beat` command.)"""

import os
import secrets
import signal
import subprocess
import time
import uuid

import pytest
import redis

from tests.support.scratch import ROOT, server_url

BROKER = os.environ.get("TEST_BROKER_URL", "redis://127.0.0.1:6379/9")


def test_serve_sh_worker_consumes_its_queue_and_stops_on_sigterm(tmp_path) -> None:
    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=2).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {BROKER}")
    queue = f"bw-deploy-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": server_url("breezeway"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "false",
        "CELERY_BROKER_URL": BROKER,
        "CELERY_QUEUE": queue,
        "WORKER_CONCURRENCY": "1",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / "scripts" / "serve.sh"), "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while "ready." not in log.read_text(errors="replace"):
                assert proc.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.2)
            text = log.read_text(errors="replace")
            assert f".> {queue} exchange=" in text  # the queue it consumes (start-up banner)
            assert ".> concurrency: 1 (prefork)" in text  # WORKER_CONCURRENCY
            proc.send_signal(signal.SIGTERM)  # serve.sh exec'd celery: a warm shutdown
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            redis.Redis.from_url(BROKER).delete(queue)
