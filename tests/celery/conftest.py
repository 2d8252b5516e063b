"""A real Celery worker (and beat) against Redis, on the test database and a served simulator."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.db import connection

from breezeway.celery import app
from breezeway.models import Region
from etl.credentials import credential_variables
from simulator import Simulator, SimulatorConfig

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Worker:
    """A `celery worker` (or `beat`) process and the lines it logged."""

    proc: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                raise AssertionError("the process exited:\n" + "".join(self.lines[-40:]))
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} within {timeout}s:\n" + "".join(self.lines[-40:]))

    def kill(self) -> None:
        """SIGKILL the whole process group (the worker and its pool processes)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Stack:
    sim: Simulator
    url: str
    env: dict[str, str]
    queue: str
    processes: list[Worker] = field(default_factory=list)

    def start(self, *args: str, ready: str = "ready.", **env: str) -> Worker:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "breezeway", *args],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: kill() reaches the pool too
        )
        worker = Worker(proc)
        threading.Thread(
            target=lambda: worker.lines.extend(iter(proc.stdout.readline, "")), daemon=True
        ).start()
        self.processes.append(worker)
        if ready:
            worker.wait_for(ready)
        return worker

    def worker(self, concurrency: int = 2, **env: str) -> Worker:
        return self.start(
            "worker",
            "--loglevel=INFO",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            **env,
        )


def reset_connections() -> None:
    """Forget the app's broker connections, so the next send uses the current broker_url."""
    # Not closed: kombu shares producer pools per broker URL between app instances.
    app._pool = None
    app.amqp._producer_pool = None


def wait_until(check: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def stack(broker, transactional_db, monkeypatch) -> Iterator[Stack]:
    """Two simulated companies registered as regions, served over HTTP, a broker queue of the
    test's own, and the environment a worker needs; the processes are stopped afterwards."""
    sim = Simulator(SimulatorConfig(seed=3, scale=0.01, companies=2))
    handle = sim.serve()
    queue = f"bw-test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "breezeway.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "SECRET_KEY": "test",
        "CELERY_BROKER_URL": broker,
        "CELERY_QUEUE": queue,
        "BREEZEWAY_API_URL": f"{handle.url}/public/inventory/v1",
        "BREEZEWAY_AUTH_URL": f"{handle.url}/public/auth/v1",
        "SYNC_RETRY_BASE_DELAY": "0.01",
        "SYNC_RETRY_AFTER_CAP": "0.1",
        "SYNC_RATE_LIMIT": "0",  # tests/celery/test_rate_limit.py sets its own
        # Small limits so redelivery after a killed worker happens within the test.
        "SYNC_TASK_SOFT_TIME_LIMIT": "20",
        "SYNC_TASK_TIME_LIMIT": "25",
        "CELERY_VISIBILITY_TIMEOUT": "30",
        "LOG_LEVEL": "INFO",
    }
    for company in sim.companies:
        Region.objects.create(code=company.code, name=company.name, company_id=company.company_id)
        id_var, secret_var = credential_variables(company.code)
        env[id_var], env[secret_var] = company.client_id, company.client_secret
        monkeypatch.setenv(id_var, company.client_id)
        monkeypatch.setenv(secret_var, company.client_secret)
    # This process only sends tasks: to the same broker and queue as the worker.
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "task_default_queue")}
    app.conf.update(broker_url=broker, task_always_eager=False, task_default_queue=queue)
    reset_connections()
    stack = Stack(sim, handle.url, env, queue)
    try:
        yield stack
    finally:
        for process in stack.processes:
            process.stop()
        app.conf.update(saved)
        reset_connections()
        redis.Redis.from_url(broker).delete(queue)
        handle.close()
