"""Production mode, checked the way an operator starts it: a fresh process with only the environment."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config.settings import DEV_API_SIGNING_KEY, DEV_CRYPTOGRAPHY_KEY, DEV_SECRET

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
        "API_SIGNING_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "example.com",
        "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
        "DEBUG": "",
        "ALLOW_CONSOLE_EMAIL": "",
    }


def test_production_passes_the_deploy_checklist_without_a_warning(production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


@pytest.mark.parametrize(
    ("unsafe", "says"),
    [
        ({"SECRET_KEY": DEV_SECRET}, "SECRET_KEY is the development default: set SECRET_KEY to a long random string."),
        ({"SECRET_KEY": "short-secret-key-0123456789"}, "SECRET_KEY is shorter than 32 characters"),
        (
            {"CRYPTOGRAPHY_KEY": DEV_CRYPTOGRAPHY_KEY},
            "CRYPTOGRAPHY_KEY is the development default: set CRYPTOGRAPHY_KEY to a long random string.",
        ),
        ({"CRYPTOGRAPHY_KEY": "x"}, "CRYPTOGRAPHY_KEY is shorter than 32 characters"),
        (
            {"API_SIGNING_KEY": DEV_API_SIGNING_KEY},
            "API_SIGNING_KEY is the development default: set API_SIGNING_KEY to a long random string.",
        ),
        ({"API_SIGNING_KEY": "short-api-key"}, "API_SIGNING_KEY is shorter than 32 characters"),
        ({"DEBUG": "true"}, "DEBUG is on: set DEBUG=false"),
        ({"EMAIL_URL": "consolemail://"}, "EMAIL_URL prints mail to the console or a file"),
        ({"EMAIL_URL": "filemail:///tmp/mail"}, "EMAIL_URL prints mail to the console or a file"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is empty: set ALLOWED_HOSTS"),
    ],
    ids=[
        "dev-secret",
        "short-secret",
        "dev-crypto",
        "short-crypto",
        "dev-api-key",
        "short-api-key",
        "debug",
        "console-mail",
        "file-mail",
        "no-hosts",
    ],
)
def test_production_refuses_to_start_unsafe_and_check_deploy_fails(production_env, unsafe, says):
    result = manage("check", "--deploy", **{**production_env, **unsafe})

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"django.core.exceptions.ImproperlyConfigured: {says}"), last_line
    assert last_line.endswith("(DJANGO_ENV=production)")


def test_console_mail_is_allowed_in_production_only_when_said_explicitly(production_env):
    env = {**production_env, "EMAIL_URL": "consolemail://", "ALLOW_CONSOLE_EMAIL": "true"}

    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)

    assert result.returncode == 0, result.stderr


def test_development_keys_are_fixed_and_recognisable():
    assert all("dev-only-insecure" in key for key in (DEV_SECRET, DEV_CRYPTOGRAPHY_KEY, DEV_API_SIGNING_KEY))


@pytest.mark.parametrize("missing", ["SECRET_KEY", "CRYPTOGRAPHY_KEY", "API_SIGNING_KEY"])
def test_production_refuses_to_start_without_a_secret(production_env, missing):
    result = manage("check", **{**production_env, missing: ""})

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        f"django.core.exceptions.ImproperlyConfigured: {missing} must be set when DJANGO_ENV=production."
    )


def test_production_defaults_to_no_debug_and_requires_two_factor_for_staff(production_env):
    code = "from django.conf import settings; print(settings.DEBUG, settings.STAFF_REQUIRE_MFA)"
    result = manage("shell", "-c", code, **production_env)

    assert result.returncode == 0, result.stderr
    assert "False True" in result.stdout.splitlines()


def test_production_never_serves_nor_fetches_the_demo_shop(production_env):
    probe = (
        "from django.conf import settings; from catalog import demo_shop, netsafety\n"
        "print(settings.DEMO_SHOP_ENABLED, repr(settings.DEMO_SHOP_URL), demo_shop.origin())\n"
        "try:\n    netsafety.check_url('http://127.0.0.1:8000/demo-shop/')\n"
        "except netsafety.UnsafeURL:\n    print('refused')\n"
    )
    result = manage("shell", "-c", probe, DEMO_SHOP="true", **production_env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-2:] == ["False '' None", "refused"]


def test_the_embedded_broker_keeps_its_control_exchange_under_var(tmp_path):
    """kombu's filesystem broker writes its control exchange (remote control, `celery inspect`) to
    ./control by default: run from the project folder, that left a stray folder there."""
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings; from config.celery import app\n"
        "app.control.broadcast('ping', reply=False)\n"
        "print(settings.CELERY_BROKER_TRANSPORT_OPTIONS['control_folder'])\n"
    )
    env = {**os.environ, "REDIS_URL": "", "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(BASE_DIR)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.strip().splitlines()[-1])
    assert folder == BASE_DIR / "var" / "broker-control" and folder.is_dir()
    assert list(tmp_path.iterdir()) == []


def test_liveness_settings_that_would_run_a_live_job_twice_are_refused():
    result = manage("check", JOB_HEARTBEAT_SECONDS="100", JOB_STALE_AFTER_TRACKING_SECONDS="120")

    assert result.returncode != 0
    assert "JOB_HEARTBEAT_SECONDS must be at least 1 and at most a third of the shortest JOB_STALE_AFTER." in (
        result.stderr
    )
