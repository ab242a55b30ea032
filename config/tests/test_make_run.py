"""`make run` for real, in a subprocess: however it is stopped (Ctrl-C, a second Ctrl-C, TERM to
make, TERM to make's process group) the web server, the Celery worker and beat stop with it.

Each run is isolated: its own port, SQLite file and var/ folder from the environment. The first
run migrates and seeds a fresh database, so the whole file takes about a minute.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import skip_or_fail

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 240  # the first run creates and seeds the database
STOP_TIMEOUT = 60  # the worker's warm shutdown, then the script's own deadline


@pytest.fixture(scope="module")
def isolated_env(tmp_path_factory):
    if shutil.which("make") is None or not Path("/proc/self/environ").exists():
        skip_or_fail("`make run` is tested with make on Linux (/proc lists its processes)")
    folder = tmp_path_factory.mktemp("make-run")
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    }
    env.update(
        {
            "VAR_DIR": str(folder / "var"),
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
            "HOST": "127.0.0.1",
            "CELERY_CONCURRENCY": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return folder, env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_of(marker: str) -> dict[int, str]:
    """Our processes (pid → command line) whose environment holds `marker` (this run's VAR_DIR)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def wait_for(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def ctrl_c(make):
    os.killpg(make.pid, signal.SIGINT)  # what the terminal does: the foreground process group


def ctrl_c_twice(make):
    ctrl_c(make)
    time.sleep(1)  # while the first one is stopping things
    ctrl_c(make)


def term_to_make(make):
    os.kill(make.pid, signal.SIGTERM)


def term_to_the_group(make):
    os.killpg(make.pid, signal.SIGTERM)


@pytest.mark.parametrize("stop", [ctrl_c, ctrl_c_twice, term_to_make, term_to_the_group], ids=lambda f: f.__name__)
def test_make_run_stops_the_server_the_worker_and_beat(isolated_env, stop):
    folder, env = isolated_env
    port = free_port()
    marker = f"VAR_DIR={env['VAR_DIR']}"
    log = (folder / f"make-run-{stop.__name__}.log").open("wb")
    make = subprocess.Popen(
        ["make", "run"],
        cwd=PROJECT_DIR,
        env={**env, "PORT": str(port)},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # make leads its own process group, as in a terminal
    )
    try:
        started = wait_for(
            lambda: (
                make.poll() is not None
                or (answers(port) and any("celery" in line for line in processes_of(marker).values()))
            ),
            START_TIMEOUT,
        )
        started = started and make.poll() is None
        assert started, (folder / f"make-run-{stop.__name__}.log").read_text()[-3000:]
        time.sleep(2)  # the worker and beat settle in

        stop(make)

        make.wait(timeout=STOP_TIMEOUT)
        wait_for(lambda: not processes_of(marker), 10)
        assert processes_of(marker) == {}
        assert not answers(port)
    finally:
        for pid in processes_of(marker):  # only what this run started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if make.poll() is None:
            make.kill()
        log.close()
