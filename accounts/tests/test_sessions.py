"""The sessions page: every browser the seller is logged in on (device, address, last seen), and
signing out one of them or all the others."""

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.services import SESSIONS_ENDED
from accounts.tests.factories import SessionFactory
from accounts.tests.helpers import log_in
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile Safari/604.1"
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def _browsers(user, count=2):
    clients = []
    for n, agent in enumerate([WINDOWS, IPHONE][:count]):
        browser = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=f"203.0.113.{n + 10}")
        assert log_in(browser, user.email).status_code == 302
        clients.append(browser)
    return clients


def test_the_page_lists_each_browser_with_device_address_and_last_seen(user):
    desktop, phone = _browsers(user)

    page = desktop.get(reverse("accounts:session_list")).content.decode()

    assert "Chrome 131 on Windows 10" in page and "This browser" in page
    assert "Mobile Safari 17 on iPhone" in page
    assert "203.0.113.10" in page and "203.0.113.11" in page
    assert page.count('action="/accounts/sessions/') == 2  # one "Sign out" (the phone) and "all others"


def test_signing_out_another_browser_ends_its_session(user):
    desktop, phone = _browsers(user)
    phone_row = UserSession.objects.get(user=user, user_agent=IPHONE)

    response = desktop.post(reverse("accounts:session_end", args=[phone_row.pk]), follow=True)

    assert "Signed out Mobile Safari 17 on iPhone." in response.content.decode()
    assert phone.get(reverse("monitoring:dashboard")).status_code == 302  # back to log in
    assert SESSION_KEY in desktop.session
    row = AuditLog.objects.get(owner=user, action=SESSIONS_ENDED)
    assert "203.0.113.11" in str(row.new_value)


def test_signing_out_all_others_keeps_this_browser(user):
    desktop, phone = _browsers(user)
    third = Client(HTTP_USER_AGENT="curl/8.0")
    log_in(third, user.email)

    response = desktop.post(reverse("accounts:sessions_end_others"), follow=True)

    assert "Signed out 2 other browser(s)." in response.content.decode()
    assert phone.get(reverse("monitoring:dashboard")).status_code == 302
    assert third.get(reverse("monitoring:dashboard")).status_code == 302
    assert desktop.get(reverse("monitoring:dashboard")).status_code == 200
    assert list(UserSession.objects.filter(user=user).values_list("user_agent", flat=True)) == [WINDOWS]


def test_another_sellers_session_is_404(user, other_user):
    (desktop,) = _browsers(user, count=1)
    (theirs,) = _browsers(other_user, count=1)
    row = UserSession.objects.get(user=other_user)

    assert desktop.post(reverse("accounts:session_end", args=[row.pk])).status_code == 404
    assert theirs.get(reverse("monitoring:dashboard")).status_code == 200


def test_the_current_browser_is_not_signed_out_from_the_list(user):
    (desktop,) = _browsers(user, count=1)
    row = UserSession.objects.get(user=user)

    response = desktop.post(reverse("accounts:session_end", args=[row.pk]), follow=True)

    assert "log out instead" in response.content.decode()
    assert SESSION_KEY in desktop.session


def test_a_session_made_without_allauth_shows_too(seller_client, user):
    page = seller_client.get(reverse("accounts:session_list")).content.decode()

    assert "This browser" in page
    assert UserSession.objects.filter(user=user).count() == 1


def test_live_api_sessions_have_their_place_on_the_page(seller_client, user):
    SessionFactory(user=user, name="Repricing script", ip_address="198.51.100.7")
    SessionFactory(name="Someone else's")

    page = seller_client.get(reverse("accounts:session_list")).content.decode()

    assert "Repricing script" in page and "198.51.100.7" in page
    assert "Someone else" not in page


def test_the_sessions_page_needs_login(client):
    response = client.get(reverse("accounts:session_list"))

    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
