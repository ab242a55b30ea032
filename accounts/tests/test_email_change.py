"""Changing the email (allauth at /accounts/email/): confirm it's you first, the new address must be
confirmed before it replaces the old one, and both addresses are told."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from accounts.services import EMAIL_CHANGED
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import link_in_mail, log_in, mails_to
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db


def test_changing_the_email_needs_confirming_its_you_then_the_new_address(client, user):
    old = user.email
    log_in(client, old)
    mail.outbox.clear()

    asked = client.post(reverse("account_email"), {"action_add": "", "email": "Renamed@Example.COM"})
    assert asked.status_code == 302 and asked.url.startswith(reverse("account_reauthenticate"))
    assert not EmailAddress.objects.filter(email__iexact="renamed@example.com").exists()

    client.post(asked.url, {"password": PASSWORD})  # the change goes on after the password

    pending = EmailAddress.objects.get(user=user, email="renamed@example.com")
    assert not pending.verified
    user.refresh_from_db()
    assert user.email == old  # unchanged until the new address is confirmed
    [confirmation] = mails_to("renamed@example.com")
    page = client.get(reverse("account_email")).content.decode()
    assert "Changing to <strong>renamed@example.com</strong>" in page

    client.post(link_in_mail(confirmation))

    user.refresh_from_db()
    assert user.email == "renamed@example.com"
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified", "primary")) == [
        ("renamed@example.com", True, True)
    ]
    assert any("renamed@example.com" in message.body for message in mails_to(old))  # the old address is told
    assert len(mails_to("renamed@example.com")) == 2  # the link, then the notice
    row = AuditLog.objects.get(owner=user, action=EMAIL_CHANGED)
    assert (row.old_value, row.new_value) == ({"email": old}, {"email": "renamed@example.com"})


def test_an_address_another_account_uses_is_not_revealed_nor_taken(client, user, other_user):
    log_in(client, user.email)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    fresh = client.post(reverse("account_email"), {"action_add": "", "email": "fresh@example.com"})
    mail.outbox.clear()

    response = client.post(reverse("account_email"), {"action_add": "", "email": other_user.email.upper()})

    assert (response.status_code, response.url) == (fresh.status_code, fresh.url)
    for message in mails_to(other_user.email):  # whatever the owner receives cannot move the address
        if "/accounts/confirm-email/" in message.body:
            client.post(link_in_mail(message))
    user.refresh_from_db()
    assert user.email != other_user.email
    assert EmailAddress.objects.get(user=other_user, email=other_user.email).verified
    assert not EmailAddress.objects.filter(user=user, email__iexact=other_user.email, verified=True).exists()
