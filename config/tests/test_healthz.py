"""/healthz: the database, the broker and the cache, each "ok" or an error, within 1 s. The outages
are real: a closed port, a path no database can be opened at, a server that never answers."""

import os
import socket
import time

import pytest
from django.db import connections

from config.celery import app as celery_app

pytestmark = pytest.mark.django_db
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections (the kernel's backlog) and never says anything."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


def redis_cache(location: str) -> dict:
    return {
        "default": {
            "BACKEND": "config.cache.ForgivingRedisCache",
            "LOCATION": location,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }


def test_healthz_reports_database_broker_and_cache_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "cache": "ok"}


def test_healthz_checks_the_broker_the_environment_chose():
    broker_url = celery_app.conf.broker_url

    if os.environ.get("REDIS_URL"):
        assert broker_url == os.environ["REDIS_URL"]
    else:
        assert broker_url.startswith("filesystem://")


def test_healthz_answers_503_when_the_broker_is_unreachable(client, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "broker_url", CLOSED_PORT_REDIS)
    monkeypatch.setitem(celery_app.conf, "broker_write_url", None)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == "ok" and body["cache"] == "ok"
    assert body["broker"].startswith("error:")


def test_healthz_answers_503_when_the_database_cannot_be_reached(client, monkeypatch):
    # The check opens its own connection, from these settings.
    database = connections.settings["default"]
    if database["ENGINE"].endswith("sqlite3"):
        monkeypatch.setitem(database, "NAME", "/nonexistent-folder/healthz.sqlite3")
    else:
        monkeypatch.setitem(database, "PORT", "1")

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["database"].startswith("error:")


def test_a_cache_outage_is_reported_but_the_service_stays_up(client, settings):
    settings.CACHES = redis_cache(CLOSED_PORT_REDIS)

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["cache"].startswith("error:")
    assert body["database"] == "ok" and body["broker"] == "ok"


def test_healthz_answers_within_a_second_when_a_service_hangs(client, settings, silent_server):
    settings.CACHES = redis_cache(f"redis://127.0.0.1:{silent_server}/0")

    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started

    assert elapsed < 1.0
    assert response.json()["cache"] == "error: timeout"


def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405
