"""Failed logins lock an account and an address (django-axes), with a page that says so."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # the factory's password
LOCKOUT_TEXT = "Too many failed attempts; try again in 15 minutes"


def _login(client, email, password, ip="10.0.0.1"):
    return client.post(reverse("accounts:login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_sixth_bad_login_for_an_account_shows_the_lockout_page(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _login(client, user.email, "wrong-password")
        assert response.status_code == 200
        assert "enter a correct email and password" in response.content.decode()

    _login(client, user.email, "wrong-password")
    response = _login(client, user.email, "wrong-password")

    assert response.status_code == 429
    assert LOCKOUT_TEXT in response.content.decode()


def test_locked_account_refuses_even_the_right_password_from_another_address(client, user, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, user.email, "wrong-password", ip=f"10.0.1.{n + 1}")

    response = _login(client, user.email, PASSWORD, ip="10.0.2.1")

    assert response.status_code == 429
    assert LOCKOUT_TEXT in response.content.decode()
    assert SESSION_KEY not in client.session


def test_lockout_applies_per_address_across_accounts(client, user, other_user, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess{n}@example.com", "wrong-password", ip="10.0.3.3")

    response = _login(client, user.email, PASSWORD, ip="10.0.3.3")
    assert response.status_code == 429
    assert LOCKOUT_TEXT in response.content.decode()
    assert SESSION_KEY not in client.session

    # the account itself is not locked: from another address it logs in
    response = _login(client, user.email, PASSWORD, ip="10.0.4.4")
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)


def test_a_good_login_before_the_limit_resets_the_count(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, user.email, "wrong-password")
    assert _login(client, user.email, PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))

    response = _login(client, user.email, "wrong-password")

    assert response.status_code == 200
