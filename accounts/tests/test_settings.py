import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User, token_hash
from accounts.services import API_KEY_REPLACED, API_KEY_REVOKED
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import reauthenticate
from accounts.views import SETTINGS_SAVED_MESSAGE
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db


def _settings_data(user, **overrides):
    data = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "timezone": user.timezone,
        "amazon_site": user.amazon_site,
        "currency": user.currency,
    }
    data.update(overrides)
    return data


def test_settings_page_shows_the_account(seller_client, user):
    user.tier = "pro"
    user.save(update_fields=["tier"])

    response = seller_client.get(reverse("accounts:settings"))

    page = response.content.decode()
    assert response.status_code == 200
    assert user.email in page and f'value="{user.email}"' not in page  # shown; changed on its own page
    assert "<strong>Pro</strong>" in page
    assert 'name="tier"' not in page  # shown, never editable
    assert '<option value="Europe/Berlin">' in page


def test_valid_change_is_saved_and_audited(seller_client, user):
    old_first_name = user.first_name
    response = seller_client.post(
        reverse("accounts:settings"),
        _settings_data(user, first_name="Zed", timezone="Europe/Berlin", amazon_site="amazon.de", currency="EUR"),
        follow=True,
    )

    assert SETTINGS_SAVED_MESSAGE in response.content.decode()
    user.refresh_from_db()
    assert (user.first_name, user.timezone, user.amazon_site, user.currency) == (
        "Zed",
        "Europe/Berlin",
        "amazon.de",
        "EUR",
    )
    audit = AuditLog.objects.get()
    assert audit.user == user and audit.owner == user
    assert audit.action == "updated"
    assert (audit.resource_type, audit.resource_id) == ("user", str(user.pk))
    assert audit.old_value == {
        "first_name": old_first_name,
        "timezone": "UTC",
        "amazon_site": "amazon.com",
        "currency": "USD",
    }
    assert audit.new_value == {
        "first_name": "Zed",
        "timezone": "Europe/Berlin",
        "amazon_site": "amazon.de",
        "currency": "EUR",
    }
    assert audit.ip_address == "127.0.0.1"


def test_unchanged_settings_write_no_audit_row(seller_client, user):
    seller_client.post(reverse("accounts:settings"), _settings_data(user))

    assert not AuditLog.objects.exists()


def test_the_settings_form_cannot_change_the_email(seller_client, user):
    email = user.email
    seller_client.post(reverse("accounts:settings"), _settings_data(user, email="Renamed@Example.COM"))

    user.refresh_from_db()
    assert user.email == email


def test_invalid_input_re_renders_with_the_input_and_errors(seller_client, user, other_user):
    response = seller_client.post(
        reverse("accounts:settings"),
        _settings_data(user, first_name="Kept", timezone="Mars/Olympus_Mons"),
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice" in page
    assert 'value="Kept"' in page
    assert 'aria-invalid="true"' in page
    # nothing saved, nothing audited, and the header still shows the real account
    user.refresh_from_db()
    assert user.first_name != "Kept"
    assert user.timezone == "UTC"
    assert not AuditLog.objects.exists()
    assert f'title="Logged in as {user.email}"' in page


def test_times_are_shown_in_the_sellers_time_zone(seller_client, user):
    user.timezone = "Asia/Tokyo"
    user.save(update_fields=["timezone"])

    page = seller_client.get(reverse("accounts:settings")).content.decode()

    assert "JST" in page


def test_api_key_needs_confirming_its_you_then_goes_on(seller_client, user):
    response = seller_client.post(reverse("accounts:api_key_regenerate"))

    assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
    user.refresh_from_db()
    assert user.api_key == ""
    response = seller_client.post(response.url, {"password": PASSWORD})  # the request goes on after

    assert response.status_code == 200
    raw_key = re.search(r"data-api-key>([^<]+)<", response.content.decode()).group(1)
    user.refresh_from_db()
    assert user.api_key_matches(raw_key)


def test_a_new_api_key_is_mailed_to_the_seller_without_the_key(seller_client, user):
    reauthenticate(seller_client)

    response = seller_client.post(reverse("accounts:api_key_regenerate"))

    raw_key = re.search(r"data-api-key>([^<]+)<", response.content.decode()).group(1)
    [notice] = mail.outbox
    assert notice.to == [user.email] and "API key" in notice.subject
    user.refresh_from_db()
    assert user.api_key_prefix in notice.body and raw_key not in notice.body


def test_api_key_is_shown_once_and_stored_hashed(seller_client, user):
    reauthenticate(seller_client)
    response = seller_client.post(reverse("accounts:api_key_regenerate"))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw_key = re.search(r"<code class=\"key\" data-api-key>([^<]+)</code>", response.content.decode()).group(1)
    user.refresh_from_db()
    assert user.api_key == token_hash(raw_key)
    assert user.api_key_matches(raw_key)
    assert not User.objects.filter(api_key=raw_key).exists()
    assert raw_key.startswith(user.api_key_prefix)

    later = seller_client.get(reverse("accounts:settings")).content.decode()
    assert raw_key not in later
    assert f"{user.api_key_prefix}…" in later


def test_api_key_regeneration_replaces_the_old_key_and_audits_without_the_key(seller_client, user):
    first = user.api_key_generate()
    reauthenticate(seller_client)

    response = seller_client.post(reverse("accounts:api_key_regenerate"))

    raw_key = re.search(r"data-api-key>([^<]+)<", response.content.decode()).group(1)
    user.refresh_from_db()
    assert raw_key != first
    assert not user.api_key_matches(first)
    audit = AuditLog.objects.get(action=API_KEY_REPLACED)
    assert audit.new_value == {"api_key_prefix": user.api_key_prefix}
    stored = str(audit.old_value) + str(audit.new_value) + str(audit.notes)
    assert raw_key not in stored and user.api_key not in stored


def test_api_key_needs_post(seller_client, user):
    assert seller_client.get(reverse("accounts:api_key_regenerate")).status_code == 405
    user.refresh_from_db()
    assert user.api_key == ""


def test_settings_need_login(client):
    response = client.get(reverse("accounts:settings"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_revoking_the_api_key_needs_confirming_its_you_and_stops_it(seller_client, user):
    raw = user.api_key_generate()
    asked = seller_client.post(reverse("accounts:api_key_revoke"))
    assert asked.url.startswith(reverse("account_reauthenticate"))
    user.refresh_from_db()
    assert user.api_key_matches(raw)

    response = seller_client.post(asked.url, {"password": PASSWORD}, follow=True)

    assert "API key revoked" in response.content.decode()
    user.refresh_from_db()
    assert not user.api_key_matches(raw) and user.api_key_prefix == ""
    row = AuditLog.objects.get(owner=user, action=API_KEY_REVOKED)
    assert raw not in str(row.old_value) and row.new_value == {"api_key_prefix": None}
