"""The checks `make test` also runs, kept here so a plain `pytest` catches style and migration drift."""

import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=BASE_DIR, capture_output=True, text=True, timeout=300)


def test_ruff_finds_no_lint_errors():
    result = run("-m", "ruff", "check", ".")

    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_ruff_formatted():
    result = run("-m", "ruff", "format", "--check", ".")

    assert result.returncode == 0, result.stdout + result.stderr


def test_migrations_match_the_models():
    result = run("manage.py", "makemigrations", "--check", "--dry-run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
