"""Failed logins lock an account and an address (django-axes, in the database), counting the email
folded (case, spaces) at the password step and the second-factor step alike, with a page that says so."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import totp_code, totp_enable

pytestmark = pytest.mark.django_db

LOCKOUT_TEXT = "Too many failed attempts; try again in 15 minutes"


def _login(client, email, password, ip="10.0.0.1"):
    return client.post(reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip)


def _wrong_code(secret):
    return f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"


def test_sixth_bad_login_for_an_account_shows_the_lockout_page(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _login(client, user.email, "wrong-password")
        assert response.status_code == 200
        assert "are not correct" in response.content.decode()

    _login(client, user.email, "wrong-password")
    response = _login(client, user.email, "wrong-password")

    assert response.status_code == 429
    assert LOCKOUT_TEXT in response.content.decode()


def test_case_and_space_variants_of_one_email_lock_together(client, user, settings):
    """The old bypass: 24 wrong guesses across 6 spellings from 6 addresses, then the right password."""
    local, domain = user.email.split("@")
    spellings = [
        user.email,
        user.email.upper(),
        f"{local.capitalize()}@{domain}",
        f" {user.email} ",
        f"{local}@{domain.upper()}",
        f"{local.upper()}@{domain}",
    ]
    for n, spelling in enumerate(spellings):
        for _ in range(4):
            _login(client, spelling, "wrong-password", ip=f"10.0.5.{n + 1}")

    response = _login(client, user.email, PASSWORD, ip="10.0.6.1")

    assert response.status_code == 429
    assert LOCKOUT_TEXT in response.content.decode()
    assert SESSION_KEY not in client.session
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {user.email}


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
    client.post(reverse("account_logout"))

    response = _login(client, user.email, "wrong-password")

    assert response.status_code == 200


def test_wrong_second_factor_codes_lock_the_account_too(client, user, settings):
    secret, _codes = totp_enable(user)
    _login(client, user.email, PASSWORD, ip="10.0.7.1")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("mfa_authenticate"), {"code": _wrong_code(secret)}, REMOTE_ADDR="10.0.7.1")
        assert response.status_code == 200

    response = client.post(reverse("mfa_authenticate"), {"code": _wrong_code(secret)}, REMOTE_ADDR="10.0.7.1")

    assert response.status_code == 429
    assert LOCKOUT_TEXT in response.content.decode()
    # Locked now: the password step refuses the account, from any browser and address.
    other_browser = Client()
    response = _login(other_browser, user.email.upper(), PASSWORD, ip="10.0.8.1")
    assert response.status_code == 429
    assert SESSION_KEY not in other_browser.session


def test_the_second_factor_step_refuses_a_locked_account_even_with_the_right_code(client, user, settings):
    secret, _codes = totp_enable(user)
    _login(client, user.email, PASSWORD, ip="10.0.9.1")  # the password step passes first
    attacker = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(attacker, user.email, "wrong-password", ip=f"10.0.10.{n + 1}")  # then others lock it

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)}, REMOTE_ADDR="10.0.9.1")

    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_the_admin_logs_in_through_the_same_guarded_page(client):
    response = client.get(reverse("admin:login"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert client.post(reverse("admin:login"), {"username": "x", "password": "y"}).status_code == 302
