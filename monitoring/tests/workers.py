"""Real Celery workers for the fault tests: each a `celery worker` subprocess in its own process
group (so a kill reaches its pool's children and nothing else), on the test database and the test
run's Redis, consuming the queue named by CELERY_QUEUE in `env` (give each test its own, so other
workers on the same Redis never take its tasks)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """DATABASE_URL naming the database this test runs on (pytest-django's test database)."""
    config = connection.settings_dict
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgres://{config['USER']}{password}@{config['HOST'] or '127.0.0.1'}{port}/{config['NAME']}"


class Worker:
    """One `celery -A config worker` (a main process and one pool child) with `env` added."""

    def __init__(self, *, log_dir: Path, env: dict, name: str = "worker"):
        self.name = f"{name}-{uuid.uuid4().hex[:6]}"
        self.log_path = log_dir / f"{self.name}.log"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CONN_MAX_AGE": "0",
            **env,
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork"]
        command += ["--concurrency", "1", "--hostname", f"{self.name}@%h", "--loglevel", "INFO"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        """SIGKILL to the worker's process group: the main process and its pool child die at once."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_until(predicate, *, timeout: float, what: str, every: float = 0.2, workers=()):
    """Poll `predicate` until it is true; fail naming `what` (with the workers' last log lines)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    logs = "\n".join(f"--- {worker.name}:\n{worker.log_tail()}" for worker in workers)
    raise AssertionError(f"Not within {timeout:.0f} s: {what}\n{logs}")
