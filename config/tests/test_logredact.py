"""Password-reset and email-confirmation links never reach a log: Django's request warnings and
gunicorn's access log both go through the redaction."""

import io
import logging

import pytest
from django.conf import settings
from django.test import Client
from gunicorn.config import Config

from config.gunicorn_logging import RedactingLogger
from config.logredact import REDACTED, SecretURLFilter, redact

RESET = "/accounts/password/reset/key/4-c9x1ab-7f3e0d5a1b2c3d4e5f60718293a4b5c6/"
CONFIRM = "/accounts/confirm-email/MQ:1vQk2F:abcdEFGHijklMNOPqrstUVWXyz0123456789/"


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        (RESET, "/accounts/password/reset/key/4-"),
        (CONFIRM, "/accounts/confirm-email/"),
        (f"GET {RESET}?next=/ HTTP/1.1", "?next=/ HTTP/1.1"),
    ],
)
def test_secret_links_are_redacted(path, kept):
    cleaned = redact(path)

    assert REDACTED in cleaned and kept in cleaned
    assert "c9x1ab-7f3e0d5a1b2c3d4e5f60718293a4b5c6" not in cleaned and "abcdEFGHijkl" not in cleaned


def test_other_paths_and_allauths_own_set_password_step_are_kept():
    for path in ("/products/12/", "/accounts/password/reset/key/4-set-password/", "/accounts/email/confirm-again/"):
        assert redact(path) == path


def test_the_filter_rewrites_a_record_that_holds_a_link():
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s", (RESET,), None)

    SecretURLFilter().filter(record)

    assert REDACTED in record.getMessage() and "7f3e0d5a1b2c" not in record.getMessage()


@pytest.mark.django_db
def test_djangos_warning_about_a_request_to_a_confirmation_link_is_logged_redacted():
    handler = logging.getLogger().handlers[0]
    assert any(isinstance(f, SecretURLFilter) for f in handler.filters), settings.LOGGING
    written = io.StringIO()
    previous = handler.setStream(written)
    try:
        Client(enforce_csrf_checks=True).post(CONFIRM)  # refused: "Forbidden (CSRF cookie not set.): <path>"
    finally:
        handler.setStream(previous)

    assert f"/accounts/confirm-email/{REDACTED}/" in written.getvalue()
    assert "abcdEFGHijkl" not in written.getvalue()


def test_gunicorns_access_log_redacts_links():
    logger = RedactingLogger(Config())

    class Request:
        method, path, query, uri, version, headers = "GET", RESET, "", RESET, (1, 1), []

    class Response:
        status, sent, headers = "200 OK", 10, []

    atoms = logger.atoms(
        Response(),
        Request(),
        {
            "RAW_URI": RESET,
            "REQUEST_METHOD": "GET",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "PATH_INFO": RESET,
            "QUERY_STRING": "",
        },
        __import__("datetime").timedelta(seconds=0.01),
    )

    assert all("7f3e0d5a1b2c" not in str(value) for value in atoms.values())
    assert REDACTED in atoms["U"]
