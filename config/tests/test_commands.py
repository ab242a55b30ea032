"""Our management commands from an operator's shell: a wrong argument or type is one readable line
and a non-zero exit, and `track` prints its summary, not a Celery log line."""

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.tests.test_encryption import fields_keyed_by  # noqa: F401, F811 - a fixture

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["track", "--product", "abc"], "argument --product: invalid int value: 'abc'"),
        (["sync_store"], "the following arguments are required: store_id"),
        (["seed_demo", "--listings", "many"], "argument --listings: invalid int value: 'many'"),
        (["check_proxies", "--bogus"], "unrecognized arguments: --bogus"),
        (["scrape"], "the following arguments are required: target"),
    ],
)
def test_a_wrong_argument_is_one_readable_line_and_exit_status_2(args, says):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line == f"manage.py {args[0]}: {says} (see manage.py {args[0]} --help)"


def test_called_from_code_a_wrong_argument_is_a_command_error():
    with pytest.raises(CommandError, match="invalid int value"):
        call_command("track", "--product", "abc")


@pytest.mark.django_db(transaction=True)
def test_track_prints_its_summary_and_no_celery_log_line(caplog):
    out = io.StringIO()
    with caplog.at_level(logging.INFO):
        call_command("track", stdout=out)

    assert out.getvalue().startswith("Tracking round ") and "0 products: none due." in out.getvalue()
    assert not [record for record in caplog.records if record.name.startswith("celery")]


@pytest.mark.django_db
def test_rotating_the_key_counts_secrets_in_words(fields_keyed_by, settings, monkeypatch):  # noqa: F811
    from accounts.encryption import derive_key
    from catalog.tests.factories import ProxyPoolFactory

    fields_keyed_by("the-development-key-before-rotation")
    ProxyPoolFactory(password="proxy-pass-1")
    settings.CRYPTOGRAPHY_KEY = derive_key("the-new-key-after-rotation")
    monkeypatch.setenv("OLD_CRYPTOGRAPHY_KEY", "the-development-key-before-rotation")
    out = io.StringIO()

    call_command("rotate_encryption_key", stdout=out)

    assert out.getvalue().strip() == "Re-encrypted 1 secret with the new key."


def test_admin_names_read_as_words():
    from marketplaces.models import AutomationSwitch

    assert AutomationSwitch._meta.verbose_name_plural == "automation switches"
