"""Sign-up with a confirmed email (allauth at /accounts/signup/): no sign-in until the link is
opened, nothing told about existing accounts, and unconfirmed accounts kept out of what matters."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from accounts.models import User
from accounts.ratelimits import TRY_AGAIN_MESSAGE
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import link_in_mail, log_in, mails_to, unique_ip
from accounts.views import RESEND_SENT_MESSAGE

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-fresh-Pa55word-for-tests"


def _signup_data(**overrides):
    data = {
        "email": "New.Seller@Example.com",
        "first_name": "Nia",
        "last_name": "Seller",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


def test_signup_makes_an_unconfirmed_account_and_mails_the_link_without_logging_in(client):
    response = client.post(reverse("account_signup"), _signup_data())

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(email="new.seller@example.com")
    assert (user.first_name, user.tier) == ("Nia", "free")
    assert user.check_password(NEW_PASSWORD)
    assert SESSION_KEY not in client.session
    assert not EmailAddress.objects.get(user=user).verified
    [message] = mail.outbox
    assert message.to == ["new.seller@example.com"]
    assert "/accounts/confirm-email/" in message.body
    page = client.get(response.url).content.decode()
    assert "Confirm your email" in page and "Send the link again" in page


def test_opening_the_link_confirms_the_email_and_logs_in(client):
    client.post(reverse("account_signup"), _signup_data())
    link = link_in_mail(mail.outbox[0])

    page = client.get(link)
    assert page.status_code == 200 and "new.seller@example.com" in page.content.decode()
    assert SESSION_KEY not in client.session  # a mail scanner's GET confirms nothing
    response = client.post(link, follow=True)

    user = User.objects.get(email="new.seller@example.com")
    assert EmailAddress.objects.get(user=user).verified
    assert client.session[SESSION_KEY] == str(user.pk)
    assert response.redirect_chain[-1][0] == reverse("monitoring:dashboard")


def test_signup_name_is_optional(client):
    client.post(reverse("account_signup"), _signup_data(first_name="", last_name=""))

    assert User.objects.filter(email="new.seller@example.com", first_name="").exists()


def test_signup_with_mismatched_passwords_keeps_the_input_and_says_why(client):
    response = client.post(reverse("account_signup"), _signup_data(password2="something-else-entirely"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "You must type the same password each time." in page
    assert 'value="New.Seller@Example.com"' in page
    assert 'value="Nia"' in page
    assert not User.objects.exists()


def test_signup_rejects_a_weak_password(client):
    response = client.post(reverse("account_signup"), _signup_data(password1="12345678", password2="12345678"))

    assert "too common" in response.content.decode()
    assert not User.objects.exists()


def test_signup_with_a_taken_email_looks_the_same_and_mails_the_owner_instead(client):
    owner = UserFactory(email="taken@example.com")
    fresh = client.post(reverse("account_signup"), _signup_data(email="fresh@example.com"))
    mail.outbox.clear()

    response = client.post(reverse("account_signup"), _signup_data(email="TAKEN@example.com"))

    assert (response.status_code, response.url) == (fresh.status_code, fresh.url)
    page = client.get(response.url).content.decode()
    assert "already" not in page.lower()
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
    [message] = mail.outbox
    assert message.to == ["taken@example.com"]
    assert "already exists" in message.body and "/accounts/password/reset/" in message.body


def test_an_unconfirmed_account_cannot_log_in_and_is_sent_the_link(client):
    user = UserFactory(verified_email=False)

    response = log_in(client, user.email.upper())

    assert response.status_code == 302 and response.url == reverse("account_email_verification_sent")
    assert SESSION_KEY not in client.session
    assert mails_to(user.email) and "/accounts/confirm-email/" in mails_to(user.email)[0].body


@pytest.mark.parametrize(
    ("method", "name", "data"),
    [
        ("get", "catalog:product_add", None),
        ("post", "catalog:product_add", {"links": "B00TESTAS1"}),
        ("post", "catalog:product_import", {}),
        ("get", "marketplaces:store_connect", None),
        ("post", "marketplaces:store_connect", {"marketplace": "ebay", "account_name": "x", "environment": "sandbox"}),
        ("post", "accounts:api_key_regenerate", {}),
    ],
)
def test_an_unconfirmed_account_cannot_add_products_connect_stores_or_make_an_api_key(client, method, name, data):
    user = UserFactory(verified_email=False)
    client.force_login(user)

    response = getattr(client, method)(reverse(name), data)

    assert response.status_code == 403
    page = response.content.decode()
    assert "Confirm your email first" in page and "Send the link again" in page
    assert not user.tracked_products.exists()
    assert not user.store_accounts.exists()
    user.refresh_from_db()
    assert user.api_key == ""


def test_an_unconfirmed_account_cannot_add_a_product_even_by_htmx(client):
    user = UserFactory(verified_email=False)
    client.force_login(user)

    response = client.post(reverse("catalog:product_add"), {"links": "B00TESTAS1"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 403
    assert not user.tracked_products.exists()
    from monitoring.models import Job

    assert not Job.objects.filter(user=user).exists()


def test_the_link_can_be_sent_again_and_the_page_never_tells_whether_the_account_exists(client):
    user = UserFactory(verified_email=False)

    known = client.post(reverse("accounts:verification_resend"), {"email": user.email.upper()}, follow=True)
    unknown = client.post(reverse("accounts:verification_resend"), {"email": "nobody@example.com"}, follow=True)

    assert RESEND_SENT_MESSAGE.format(email=user.email) in known.content.decode()
    assert RESEND_SENT_MESSAGE.format(email="nobody@example.com") in unknown.content.decode()
    assert len(mails_to(user.email)) == 1 and not mails_to("nobody@example.com")


def test_resending_too_soon_says_when_to_try_again(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"confirm_email": "1/3m/key"}
    user = UserFactory(verified_email=False, email=f"waiting-{unique_ip()}@example.com")
    ip = unique_ip()

    client.post(reverse("accounts:verification_resend"), {"email": user.email}, REMOTE_ADDR=ip)
    again = client.post(reverse("accounts:verification_resend"), {"email": user.email}, REMOTE_ADDR=ip)

    assert again.status_code == 200
    assert TRY_AGAIN_MESSAGE.format(minutes=3, s="s") in again.content.decode()
    assert len(mails_to(user.email)) == 1


def test_signup_is_limited_per_client_address_with_a_clear_wait(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"signup": "2/h/ip"}
    ip = unique_ip()
    for n in range(2):
        response = client.post(reverse("account_signup"), _signup_data(email=f"s{n}-{ip}@example.com"), REMOTE_ADDR=ip)
        assert response.status_code == 302
        client.logout()

    response = client.post(reverse("account_signup"), _signup_data(email=f"s3-{ip}@example.com"), REMOTE_ADDR=ip)

    assert response.status_code == 429
    assert "Too many attempts for now: try again in 60 minutes." in response.content.decode()
    assert not User.objects.filter(email=f"s3-{ip}@example.com").exists()
