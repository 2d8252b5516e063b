"""Measure what a Redis restart does to queued sync messages, with and without persistence.

Celery keeps queued messages (and those delivered but not yet acknowledged: every sync task
is acknowledged late) in Redis only. This starts a throw-away redis-server on a free local
port twice: as .ci/run and the machine's default start it (`--save "" --appendonly no`), and
with `--appendonly yes --appendfsync everysec`. Each time it queues --messages `etl.sync_region`
messages and --ticks beat-style `etl.sync_all` messages on a queue of its own (nothing consumes
them), restarts Redis (SHUTDOWN, as a service restart or a crash after the last fsync does),
and counts what is still queued.

Usage: .venv/bin/python bench/redis_persistence.py [--messages 200] [--ticks 24]
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(port: int, workdir: str, persistent: bool) -> subprocess.Popen:
    args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", workdir]
    args += ["--save", ""]
    args += (
        ["--appendonly", "yes", "--appendfsync", "everysec"]
        if persistent
        else ["--appendonly", "no"]
    )
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def measure(persistent: bool, messages: int, ticks: int) -> tuple[int, int]:
    import redis
    from celery import Celery

    port = free_port()
    queue = "bench-persistence"
    with tempfile.TemporaryDirectory() as workdir:
        proc = start_redis(port, workdir, persistent)
        url = f"redis://127.0.0.1:{port}/0"
        app = Celery("bench", broker=url)
        app.conf.task_default_queue = queue
        for i in range(messages):
            app.send_task("etl.sync_region", args=[f"region{i % 10}", None, None])
        for _ in range(ticks):
            app.send_task("etl.sync_all", kwargs={"entities": ["reservations", "tasks"]})
        client = redis.Redis(port=port)
        before = client.llen(queue)
        time.sleep(1.2)  # past one appendfsync second
        client.shutdown(nosave=not persistent)
        proc.wait(timeout=10)
        proc = start_redis(port, workdir, persistent)
        try:
            after = redis.Redis(port=port).llen(queue)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        return before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--ticks", type=int, default=24)
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "breezeway.settings")
    print(f"{'redis-server':<52}{'queued':>8}{'after restart':>15}{'lost':>8}")
    for persistent, label in (
        (False, '--save "" --appendonly no (CI, the default here)'),
        (True, "--appendonly yes --appendfsync everysec"),
    ):
        before, after = measure(persistent, options.messages, options.ticks)
        print(f"{label:<52}{before:>8}{after:>15}{before - after:>8}")


if __name__ == "__main__":
    main()
