"""Password reset by email (throttled, telling nothing about unknown addresses) and password change
(the current password asked, the seller told by email, the change in their security log)."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from accounts.services import PASSWORD_CHANGED, PASSWORD_RESET
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import link_in_mail, log_in, mails_to, unique_ip
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-fresh-Pa55word-for-tests"


def _set_new_password(client, link):
    response = client.get(link)  # allauth swaps the key for a session marker and redirects
    assert response.status_code == 302
    return client.post(response.url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})


def test_password_reset_by_email_end_to_end(client, user):
    response = client.post(reverse("account_reset_password"), {"email": user.email.upper()})
    assert response.status_code == 302
    assert response.url == reverse("account_reset_password_done")
    [message] = mail.outbox
    assert message.to == [user.email]
    mail.outbox.clear()

    response = _set_new_password(client, link_in_mail(message))

    assert response.status_code == 302
    assert response.url == reverse("account_reset_password_from_key_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    [notice] = mail.outbox
    assert notice.to == [user.email] and "password" in notice.subject.lower()
    assert AuditLog.objects.filter(owner=user, action=PASSWORD_RESET).exists()
    assert log_in(client, user.email, NEW_PASSWORD).status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)


def test_password_reset_for_unknown_email_sends_nothing_and_says_the_same(client):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"}, follow=True)

    assert response.status_code == 200
    assert "Check your email" in response.content.decode()
    assert mail.outbox == []


def test_used_reset_link_is_refused(client, user):
    client.post(reverse("account_reset_password"), {"email": user.email})
    link = link_in_mail(mail.outbox[0])
    _set_new_password(client, link)
    client.post(reverse("account_logout"))

    response = client.get(link, follow=True)

    assert "not valid any more" in response.content.decode()


def test_ten_reset_requests_send_three_mails_and_then_say_when_to_try_again(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"reset_password": "20/h/ip,3/15m/key"}
    user = UserFactory(email=f"reset-{unique_ip()}@example.com")
    ip = unique_ip()

    answers = [client.post(reverse("account_reset_password"), {"email": user.email}, REMOTE_ADDR=ip) for _ in range(10)]

    assert len(mails_to(user.email)) == 3
    assert [answer.status_code for answer in answers] == [302] * 3 + [429] * 7
    assert "try again in 15 minutes" in answers[-1].content.decode()


def test_password_change_needs_the_current_password_and_is_told(client, user):
    log_in(client, user.email)
    mail.outbox.clear()

    wrong = client.post(
        reverse("account_change_password"),
        {"oldpassword": "not-it", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200 and "Please type your current password." in wrong.content.decode()

    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.session[SESSION_KEY] == str(user.pk)  # this browser stays logged in
    [notice] = mails_to(user.email)
    assert "changed" in notice.body.lower()
    row = AuditLog.objects.get(owner=user, action=PASSWORD_CHANGED)
    assert row.user == user and NEW_PASSWORD not in str(row.new_value)
