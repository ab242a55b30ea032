"""The log-in lockout lives in the database: with the cache (Redis) gone, logging in still works and
wrong passwords still lock the account; a second factor falls back to the recovery codes."""

import pytest
from django.conf import settings as project_settings
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.forms import SECOND_FACTOR_UNAVAILABLE_MESSAGE
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import log_in, totp_code, totp_enable

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


def test_a_second_factor_login_says_to_use_a_recovery_code_while_the_cache_is_down(client, user, redis_down):
    secret, codes = totp_enable(user)
    log_in(client, user.email)

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})

    assert response.status_code == 200 and SECOND_FACTOR_UNAVAILABLE_MESSAGE in response.content.decode()
    assert SESSION_KEY not in client.session
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert response.status_code == 302 and client.session[SESSION_KEY] == str(user.pk)
