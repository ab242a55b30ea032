"""The seller's security log on the activity page: their log-ins, failed attempts, password,
two-factor and API key changes, each with where it came from; nobody else's."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.helpers import log_in, reauthenticate, totp_code

pytestmark = pytest.mark.django_db

WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
SECURITY_LOG = reverse("monitoring:audit_list") + "?resource_type=user"


@pytest.mark.django_db(transaction=True)  # allauth tells of a new second factor once it is committed
def test_the_activity_page_shows_the_sellers_account_events(user, other_user):
    attacker = Client(HTTP_USER_AGENT="curl/8.0", REMOTE_ADDR="198.51.100.66")
    log_in(attacker, user.email, "guessing")
    browser = Client(HTTP_USER_AGENT=WINDOWS, REMOTE_ADDR="203.0.113.5")
    log_in(browser, user.email)
    reauthenticate(browser)
    browser.post(reverse("accounts:api_key_regenerate"))
    log_in(Client(), other_user.email, "guessing")
    activation = browser.get(reverse("mfa_activate_totp")).content.decode()
    secret = re.search(r'<code class="key">([A-Z2-7]+)</code>', activation).group(1)
    browser.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})

    page = browser.get(SECURITY_LOG).content.decode()

    assert "Signed in" in page and "From 203.0.113.5 · Chrome 131 on Windows 10" in page
    assert "Sign in failed" in page and "From 198.51.100.66 · curl 8" in page and "Someone" in page
    assert "Api key created" in page
    assert "Two factor enabled" in page
    assert other_user.email not in page


def test_the_settings_page_links_to_the_security_log(seller_client):
    page = seller_client.get(reverse("accounts:settings")).content.decode()

    assert 'href="/activity/?resource_type=user"' in page
    assert f'href="{reverse("mfa_index")}"' in page
    assert f'href="{reverse("accounts:session_list")}"' in page
    assert f'href="{reverse("account_email")}"' in page
    assert f'href="{reverse("accounts:account_delete")}"' in page
