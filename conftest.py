"""Shared fixtures. Tests run on whatever DATABASE_URL / REDIS_URL the test command chose."""

import itertools
import os
import uuid

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
# The 15 models of ../shared/MODELS.md, by app label.
CORE_MODELS = [
    "accounts.User",
    "accounts.Session",
    "catalog.Supplier",
    "catalog.Product",
    "catalog.PriceHistory",
    "catalog.StockHistory",
    "catalog.ProxyPool",
    "marketplaces.StoreAccount",
    "marketplaces.Listing",
    "marketplaces.MarketplaceData",
    "monitoring.Alert",
    "monitoring.Notification",
    "monitoring.Job",
    "monitoring.AnalyticsCache",
    "monitoring.AuditLog",
]


def skip_or_fail(reason: str):
    """Skip a test whose service is absent, except under CI=true where every service must be there."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: no test may skip for a missing service)")
    pytest.skip(reason)


def shared_material(relpath: str):
    """The path of a file of the shared material (config/material.py); a test that needs it skips
    with one line saying what is missing and how to get it (under CI=true it fails instead)."""
    from config.material import MaterialMissing, material_path

    try:
        return material_path(relpath)
    except MaterialMissing as exc:
        skip_or_fail(str(exc))


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.AXES_ENABLED = True
    # allauth keeps its rate limits in the cache, which outlives a test: off unless a test turns them on.
    settings.ACCOUNT_RATE_LIMITS = False
    # API calls counted in Redis outlive a test too: each test counts under keys of its own.
    settings.API_RATE_LIMIT_KEY_PREFIX = f"test:{uuid.uuid4().hex}:ratelimit:api:"
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    from catalog.fetching.transport import connections_close
    from catalog.proxies import active_proxies_forget

    active_proxies_forget()  # each test sees the proxies it made
    yield
    connections_close()  # no connection to a test's server outlives the test


CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once
_outages = itertools.count(1)


@pytest.fixture
def broker_down(monkeypatch):
    """Celery sends to a broker URL nobody answers at (no eager execution), as in an outage.

    Use it with real commits (django_db(transaction=True)): enqueueing happens after commit.
    """
    from config.celery import app

    monkeypatch.setitem(app.conf, "broker_url", CLOSED_PORT_REDIS)
    monkeypatch.setitem(app.conf, "broker_write_url", None)
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    # The connection and producer pools were made for the real broker: start new ones.
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)


@pytest.fixture
def cache_down(settings):
    """The cache is Redis at a URL nobody answers at, as in an outage (whatever the test run uses).

    A new database number each time: the cache remembers an outage per location for a few seconds.
    """
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ForgivingRedisCache",
            "LOCATION": f"{CLOSED_PORT_REDIS[: -len('/0')]}/{next(_outages)}",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@pytest.fixture
def user(db):
    from accounts.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def other_user(db):
    from accounts.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def seller_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def supplier_families(transactional_db):
    """The supplier family rows the data migrations make, for transactional tests (whose database
    is emptied between tests, so migration-made rows are gone)."""
    import importlib

    from django.apps import apps

    for module, function in (
        ("catalog.migrations.0002_supplier_families", "create_families"),
        ("catalog.migrations.0005_family_selectors", "write_configs"),
        ("catalog.migrations.0009_family_selectors_buy_box_layouts", "add_selectors"),
        ("catalog.migrations.0012_family_selectors_shipping", "add_selectors"),
    ):
        getattr(importlib.import_module(module), function)(apps, None)


BREAKS_EXTRACTION = "<!-- a page this test makes the extractor fail on -->"


@pytest.fixture
def breaking_extraction(monkeypatch):
    """Reading a page that holds BREAKS_EXTRACTION raises, as a bug in the extractor would: the
    extractor never raises on page content by design, so the fault-isolation tests stand in for one."""
    from catalog import services

    real = services.extract

    def extract(html, **kwargs):
        text = html if isinstance(html, str) else bytes(html).decode("utf-8", "replace")
        if BREAKS_EXTRACTION in text:
            raise RuntimeError("the extractor broke")
        return real(html, **kwargs)

    monkeypatch.setattr(services, "extract", extract)


@pytest.fixture
def api_client(db):
    """A client for /api/v1/ without a token; every answer is checked against the schema."""
    from config.tests.api_helpers import ApiClient

    return ApiClient()


@pytest.fixture
def api_key(user):
    """The seller's API key in clear (made as the settings page makes it)."""
    return user.api_key_generate()


@pytest.fixture
def api_tokens(user, api_key):
    """An API session of the seller, as POST /api/v1/auth/token/ makes it."""
    from accounts.tokens import api_session_create

    return api_session_create(user=user, name="tests")


@pytest.fixture
def seller_api(api_tokens):
    """The seller's script: a client sending their access token; answers checked against the schema."""
    from config.tests.api_helpers import ApiClient

    return ApiClient(token=api_tokens.access_token)
