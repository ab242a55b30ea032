"""Logging in and out through allauth at /accounts/login/: by email in any case, with the second
factor when it is on, audited, and a new browser told to the seller."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from accounts.models import KnownDevice
from accounts.services import SIGN_IN_FAILED, SIGN_IN_FAILED_PASSWORD, SIGN_IN_FAILED_SECOND_FACTOR, SIGNED_IN
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import log_in, mails_to, totp_code, totp_enable
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db


def test_login_page_asks_for_email_and_password(client):
    response = client.get(reverse("account_login"))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'type="email"' in page and 'name="login"' in page and 'name="password"' in page
    assert f'href="{reverse("account_reset_password")}"' in page
    assert f'href="{reverse("account_signup")}"' in page


def test_login_by_email_any_case_and_spacing(client, user):
    response = log_in(client, f"  {user.email.upper()} ")

    assert response.status_code == 302
    assert response.url == reverse("monitoring:dashboard")
    assert client.session[SESSION_KEY] == str(user.pk)


def test_login_with_wrong_password_shows_an_error_and_is_logged(client, user):
    response = log_in(client, user.email, "wrong")

    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.content.decode()
    assert SESSION_KEY not in client.session
    row = AuditLog.objects.get(owner=user, action=SIGN_IN_FAILED)
    assert (row.user, row.notes, row.ip_address) == (None, SIGN_IN_FAILED_PASSWORD, "127.0.0.1")


def test_login_follows_next(client, user):
    target = reverse("monitoring:job_list")
    response = client.post(f"{reverse('account_login')}?next={target}", {"login": user.email, "password": PASSWORD})

    assert response.url == target


def test_logout_needs_post(client, user):
    log_in(client, user.email)
    page = client.get(reverse("account_logout"))
    assert page.status_code == 200 and SESSION_KEY in client.session  # a confirmation page, not a logout

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert response.url == reverse("account_login")
    assert SESSION_KEY not in client.session


def test_a_login_is_audited(client, user):
    log_in(client, user.email, HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0")

    row = AuditLog.objects.get(owner=user, action=SIGNED_IN)
    assert (row.user, row.resource_type, row.resource_id) == (user, "user", str(user.pk))
    assert "Chrome" in row.user_agent


def test_a_login_from_a_new_browser_is_mailed_but_a_known_one_is_not(client, user, django_user_model):
    first = log_in(client, user.email)
    device_cookie = first.cookies[settings.DEVICE_COOKIE_NAME].value
    assert not mails_to(user.email)  # the account's first browser: nothing to warn about
    client.post(reverse("account_logout"))

    log_in(client, user.email)  # the same browser (it sends its cookie back)
    assert not mails_to(user.email)
    assert KnownDevice.objects.filter(user=user).count() == 1

    from django.test import Client

    other_browser = Client()
    log_in(other_browser, user.email, HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)")

    [notice] = mails_to(user.email)
    assert "New log-in" in notice.subject
    assert "iPhone" in notice.body
    assert KnownDevice.objects.filter(user=user).count() == 2
    assert device_cookie not in str(list(KnownDevice.objects.values_list("token", flat=True)))  # stored hashed


def test_totp_login_asks_for_the_code_and_accepts_one_computed_here(client, user):
    secret, _codes = totp_enable(user)

    response = log_in(client, user.email)

    assert response.status_code == 302 and response.url == reverse("mfa_authenticate")
    assert SESSION_KEY not in client.session
    page = client.get(response.url).content.decode()
    assert "Enter your code" in page
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302 and response.url == reverse("monitoring:dashboard")
    assert client.session[SESSION_KEY] == str(user.pk)
    assert AuditLog.objects.filter(owner=user, action=SIGNED_IN).count() == 1


def test_a_wrong_totp_code_does_not_log_in_and_is_logged(client, user):
    secret, _codes = totp_enable(user)
    log_in(client, user.email)
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("mfa_authenticate"), {"code": wrong})

    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert SESSION_KEY not in client.session
    assert AuditLog.objects.get(owner=user, action=SIGN_IN_FAILED).notes == SIGN_IN_FAILED_SECOND_FACTOR


def test_a_recovery_code_logs_in_once(client, user):
    _secret, codes = totp_enable(user)
    log_in(client, user.email)
    assert client.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 302
    client.post(reverse("account_logout"))

    log_in(client, user.email)
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})

    assert response.status_code == 200 and SESSION_KEY not in client.session


def test_reset_and_confirmation_mails_carry_links_to_this_site(client, user):
    client.post(reverse("account_reset_password"), {"email": user.email})

    assert re.search(r"http://testserver/accounts/password/reset/key/\S+", mail.outbox[0].body)
