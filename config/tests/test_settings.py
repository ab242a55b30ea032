"""Production mode, checked the way an operator starts it: a fresh process with only the environment."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parents[2]


def manage(*args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_overrides}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def production_env():
    """What an operator must set in production; empty values stand for "not set" (and beat `.env`)."""
    return {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CRYPTOGRAPHY_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "example.com",
    }


def test_production_passes_the_deploy_checklist_without_a_warning(production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


def test_deploy_checklist_would_catch_debug_left_on(production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **{**production_env, "DEBUG": "true"})

    assert result.returncode != 0
    assert "security.W018" in result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "CRYPTOGRAPHY_KEY"])
def test_production_refuses_to_start_without_a_secret(production_env, missing):
    result = manage("check", **{**production_env, missing: ""})

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        f"django.core.exceptions.ImproperlyConfigured: {missing} must be set when DJANGO_ENV=production."
    )


def test_production_defaults_to_no_debug_and_no_wildcard_host(production_env):
    env = {**production_env, "ALLOWED_HOSTS": ""}
    code = "from django.conf import settings; print(settings.DEBUG, settings.ALLOWED_HOSTS)"
    result = manage("shell", "-c", code, **env)

    assert result.returncode == 0, result.stderr
    assert "False []" in result.stdout.splitlines()
