"""The interpreter `scripts/setup.sh` makes a new .venv from (`--which-python` names it)."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import skip_or_fail

SETUP = Path(__file__).resolve().parent.parent.parent / "scripts" / "setup.sh"
SYSTEM_PYTHON = "/usr/bin/python3"


def which_python(**env) -> str:
    environment = {name: value for name, value in os.environ.items() if name != "PYTHON"} | env
    done = subprocess.run(
        ["bash", str(SETUP), "--which-python"], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def system_python_qualifies() -> bool:
    check = "import ensurepip, sys; sys.exit(sys.version_info < (3, 11))"
    return Path(SYSTEM_PYTHON).exists() and subprocess.run([SYSTEM_PYTHON, "-c", check]).returncode == 0


def test_the_operating_systems_python_comes_first():
    if not system_python_qualifies():
        skip_or_fail(f"{SYSTEM_PYTHON} is not Python 3.11+ able to make a venv on this machine")
    assert which_python() == SYSTEM_PYTHON


def test_python_chooses_the_interpreter():
    assert which_python(PYTHON=sys.executable) == sys.executable


def test_a_python_that_does_not_run_is_passed_over():
    chosen = which_python(PYTHON="/nonexistent/python3.11")
    assert chosen and chosen != "/nonexistent/python3.11"
