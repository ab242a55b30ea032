"""The log-in lockout lives in the database: with the cache (Redis) gone, logging in still works and
wrong passwords still lock the account."""

import pytest
from django.conf import settings as project_settings
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import log_in

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.fixture
def redis_down(settings):
    from config import settings as config

    settings.CACHES = UNREACHABLE_REDIS
    settings.ACCOUNT_RATE_LIMITS = config.ACCOUNT_RATE_LIMITS  # as in production
    from django.core.cache import cache

    with pytest.raises(Exception):  # noqa: B017, PT011 - any connection error will do
        cache.get("probe")


def test_logging_in_works_while_the_cache_is_down(client, user, redis_down):
    response = log_in(client, user.email.upper())

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.get(reverse("monitoring:dashboard")).status_code == 200


def test_the_lockout_holds_while_the_cache_is_down(client, user, redis_down):
    for n in range(project_settings.AXES_FAILURE_LIMIT):
        log_in(client, user.email if n % 2 else user.email.upper(), "wrong-password")

    response = log_in(client, user.email, PASSWORD)

    assert response.status_code == 429
    assert SESSION_KEY not in client.session
