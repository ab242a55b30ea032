"""Two-factor authentication (allauth.mfa: TOTP and recovery codes): turning it on, off and making
new codes each need the current factor; the seller is told and it is logged; secrets are stored
encrypted; staff must use it for the admin where STAFF_REQUIRE_MFA is on."""

import re

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from accounts.forms import CODE_REQUIRED_MESSAGE, CODE_WRONG_MESSAGE
from accounts.services import RECOVERY_CODES_REGENERATED, TWO_FACTOR_DISABLED, TWO_FACTOR_ENABLED
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import log_in, mails_to, reauthenticate, totp_code, totp_enable
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.mark.django_db(transaction=True)
def test_turning_on_needs_confirming_its_you_then_a_code_from_the_app(seller_client, user):
    response = seller_client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))

    reauthenticate(seller_client)
    page = seller_client.get(reverse("mfa_activate_totp")).content.decode()
    assert 'src="data:image/svg+xml;base64,' in page
    secret = re.search(r'<code class="key">([A-Z2-7]+)</code>', page).group(1)

    wrong = seller_client.post(reverse("mfa_activate_totp"), {"code": _wrong(totp_code(secret))})
    assert wrong.status_code == 200 and "Incorrect code." in wrong.content.decode()
    assert not Authenticator.objects.filter(user=user).exists()

    response = seller_client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)}, follow=True)

    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    page = response.content.decode()
    assert "Recovery codes" in page  # shown right after, to be kept
    codes = re.search(r'<pre class="recovery-codes">(.*?)</pre>', page, re.DOTALL).group(1).split()
    assert len(codes) == 10 and all(re.fullmatch(r"\d{8}", code) for code in codes)
    [notice] = mails_to(user.email)
    assert "activated" in notice.body.lower()
    assert AuditLog.objects.filter(owner=user, action=TWO_FACTOR_ENABLED, user=user).exists()


def test_turning_off_needs_a_current_code(seller_client, user):
    secret, _codes = totp_enable(user)
    reauthenticate(seller_client)

    page = seller_client.get(reverse("mfa_deactivate_totp"))
    assert page.status_code == 200 and "field-error" not in page.content.decode()  # nothing typed yet, no error
    missing = seller_client.post(reverse("mfa_deactivate_totp"), {})
    wrong = seller_client.post(reverse("mfa_deactivate_totp"), {"code": _wrong(totp_code(secret))})

    assert CODE_REQUIRED_MESSAGE in missing.content.decode()
    assert CODE_WRONG_MESSAGE in wrong.content.decode()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()

    response = seller_client.post(reverse("mfa_deactivate_totp"), {"code": totp_code(secret)})

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=user).exists()  # recovery codes go with it
    assert "deactivated" in mails_to(user.email)[-1].body.lower()
    assert AuditLog.objects.filter(owner=user, action=TWO_FACTOR_DISABLED).exists()


def test_turning_off_also_needs_confirming_its_you(seller_client, user):
    secret, _codes = totp_enable(user)

    response = seller_client.post(reverse("mfa_deactivate_totp"), {"code": totp_code(secret)})

    assert response.status_code == 302 and "reauthenticate" in response.url
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


# allauth sends these notices once the change is committed: transactional tests, so they are.
@pytest.mark.django_db(transaction=True)
def test_new_recovery_codes_need_a_current_code_and_replace_the_old_ones(seller_client, user):
    _secret, codes = totp_enable(user)
    reauthenticate(seller_client)

    refused = seller_client.post(reverse("mfa_generate_recovery_codes"), {"code": "00000000"})
    assert CODE_WRONG_MESSAGE in refused.content.decode()

    response = seller_client.post(reverse("mfa_generate_recovery_codes"), {"code": codes[0]})

    assert response.status_code == 302
    new_codes = Authenticator.objects.get(user=user, type="recovery_codes").wrap().get_unused_codes()
    assert not set(codes) & set(new_codes)
    assert mails_to(user.email) and AuditLog.objects.filter(owner=user, action=RECOVERY_CODES_REGENERATED).exists()


def test_the_two_factor_secrets_are_stored_encrypted(user):
    secret, codes = totp_enable(user)

    stored = str(list(Authenticator.objects.filter(user=user).values_list("data", flat=True)))

    assert secret not in stored
    assert not any(code in stored for code in codes)
    totp = Authenticator.objects.get(user=user, type="totp").wrap()
    assert totp.validate_code(totp_code(secret))  # and still read back


def test_staff_without_two_factor_are_refused_by_the_admin_when_required(client, settings):
    settings.STAFF_REQUIRE_MFA = True
    staff = UserFactory(is_staff=True, is_superuser=True)
    log_in(client, staff.email)

    response = client.get(reverse("admin:index"), follow=True)

    assert response.status_code == 403
    assert "Staff accounts must use two-factor authentication" in response.content.decode()
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 302


def test_staff_with_two_factor_reach_the_admin_after_their_code(client, settings):
    settings.STAFF_REQUIRE_MFA = True
    staff = UserFactory(is_staff=True, is_superuser=True)
    secret, _codes = totp_enable(staff)

    response = client.get(reverse("admin:index"), follow=True)  # to allauth's log-in, then back
    login_url = response.redirect_chain[-1][0]
    response = client.post(login_url, {"login": staff.email, "password": PASSWORD})
    assert response.url == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)}, follow=True)

    assert client.session[SESSION_KEY] == str(staff.pk)
    assert response.redirect_chain[-1][0] == reverse("admin:index")
    assert response.status_code == 200 and "Service administration" in response.content.decode()


def test_the_requirement_is_on_by_default_in_production_only(settings):
    from config import settings as project_settings

    assert project_settings.STAFF_REQUIRE_MFA is project_settings.PRODUCTION


def test_the_activation_mail_is_a_notice_not_a_secret(seller_client, user):
    reauthenticate(seller_client)
    page = seller_client.get(reverse("mfa_activate_totp")).content.decode()
    secret = re.search(r'<code class="key">([A-Z2-7]+)</code>', page).group(1)
    seller_client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})

    assert all(secret not in message.body for message in mail.outbox)
