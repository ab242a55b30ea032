from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.helpers import reauthenticate
from monitoring.forms import CHANNEL_DUPLICATE, EMAIL_INVALID, PHONE_INVALID, WEBHOOK_INVALID, WEBHOOK_UNRESOLVED
from monitoring.models import AlertSettings, AuditLog, NotificationChannel
from monitoring.preferences import (
    THRESHOLD_LIMITS,
    WEBHOOK_SECRET_PREFIX,
    AlertSettingsError,
    alert_settings_for,
    alert_settings_update,
    secret_masked,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PAGE = reverse("monitoring:notification_settings")
ADD = reverse("monitoring:notification_channel_add")
REGENERATE = reverse("monitoring:webhook_secret_regenerate")
THRESHOLDS = {
    "price_drop_percent": "12.5",
    "low_stock_quantity": "3",
    "min_margin_percent": "8",
    "order_buy_hours": "12",
    "order_ship_warning_hours": "36",
    "daily_digest": "on",
}


def channel_data(**overrides):
    return {"channel": "email", "address": "alerts@example.com", "min_severity": "warning", **overrides}


def test_settings_page_needs_a_signed_in_seller(client):
    assert client.get(PAGE).status_code == 302


def test_first_visit_makes_settings_with_defaults(seller_client, user):
    response = seller_client.get(PAGE)

    settings_row = AlertSettings.objects.get(user=user)
    assert response.status_code == 200
    assert (settings_row.price_drop_percent, settings_row.low_stock_quantity) == (Decimal("10"), 5)
    assert response.context["settings_form"]["price_drop_percent"].value() == settings_row.price_drop_percent
    assert seller_client.get(PAGE).status_code == 200 and AlertSettings.objects.filter(user=user).count() == 1


def test_accounts_settings_links_here(seller_client):
    page = seller_client.get(reverse("accounts:settings")).content.decode()
    assert PAGE in page and reverse("monitoring:audit_list") in page


# ---- Thresholds ----------------------------------------------------------------------------


def test_saving_thresholds_changes_them_and_is_audited(seller_client, user):
    response = seller_client.post(PAGE, THRESHOLDS)

    assert response.status_code == 302
    settings_row = AlertSettings.objects.get(user=user)
    assert settings_row.price_drop_percent == Decimal("12.5")
    assert settings_row.low_stock_quantity == 3
    assert settings_row.min_margin_percent == Decimal("8")
    assert (settings_row.order_buy_hours, settings_row.order_ship_warning_hours) == (12, 36)
    assert settings_row.daily_digest is True
    audit = AuditLog.objects.get(owner=user, resource_type="alertsettings")
    assert audit.user == user and audit.new_value["low_stock_quantity"] == 3
    assert audit.old_value["low_stock_quantity"] == 5


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price_drop_percent", "0", THRESHOLD_LIMITS["price_drop_percent"][2]),
        ("price_drop_percent", "150", THRESHOLD_LIMITS["price_drop_percent"][2]),
        ("low_stock_quantity", "-1", THRESHOLD_LIMITS["low_stock_quantity"][2]),
        ("low_stock_quantity", "2000000", THRESHOLD_LIMITS["low_stock_quantity"][2]),
        ("min_margin_percent", "100", THRESHOLD_LIMITS["min_margin_percent"][2]),
        ("min_margin_percent", "abc", "Enter a number."),
        ("order_buy_hours", "0", THRESHOLD_LIMITS["order_buy_hours"][2]),
        ("order_ship_warning_hours", "x", "Enter a whole number."),
    ],
)
def test_bad_thresholds_re_render_with_the_input_and_the_allowed_range(seller_client, user, field, value, message):
    response = seller_client.post(PAGE, {**THRESHOLDS, field: value})

    assert response.status_code == 200
    form = response.context["settings_form"]
    assert form.errors[field] == [message]
    assert form[field].value() == value
    assert f'value="{value}"' in response.content.decode()
    assert AlertSettings.objects.get(user=user).price_drop_percent == Decimal("10")  # nothing saved
    assert not AuditLog.objects.filter(owner=user).exists()


def test_the_service_refuses_thresholds_out_of_range_too(user):
    alert_settings = alert_settings_for(user=user)

    with pytest.raises(AlertSettingsError) as error:
        alert_settings_update(
            alert_settings=alert_settings, changes={"min_margin_percent": Decimal("150")}, acting_user=user
        )

    assert error.value.errors == {"min_margin_percent": THRESHOLD_LIMITS["min_margin_percent"][2]}
    assert AlertSettings.objects.get(user=user).min_margin_percent == Decimal("10")


# ---- Channels ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "typed", "stored"),
    [
        ("email", "Alerts@Example.com", "alerts@example.com"),
        ("sms", "+1 (415) 555-0123", "+14155550123"),
        ("sms", "0044 20 7946 0958", "+442079460958"),
        ("webhook", "https://hooks.example.com/arbitrage", "https://hooks.example.com/arbitrage"),
        ("webhook", "https://93.184.215.14/hook", "https://93.184.215.14/hook"),
    ],
)
def test_add_a_channel(seller_client, user, channel, typed, stored):
    response = seller_client.post(ADD, channel_data(channel=channel, address=typed, alert_types=["low_stock"]))

    assert response.status_code in (200, 302)
    row = NotificationChannel.objects.get(user=user)
    assert (row.channel, row.address, row.alert_types, row.is_active) == (channel, stored, ["low_stock"], True)
    assert AuditLog.objects.filter(owner=user, action="created", resource_type="notificationchannel").exists()


@pytest.mark.parametrize(
    ("channel", "address", "message"),
    [
        ("email", "not-an-address", EMAIL_INVALID),
        ("sms", "4155550123", PHONE_INVALID),
        ("sms", "+0123", PHONE_INVALID),
        ("sms", "+1234567890123456", PHONE_INVALID),
        ("webhook", "ftp://files.example.com/hook", WEBHOOK_INVALID),
        ("webhook", "hooks.example.com", WEBHOOK_INVALID),
    ],
)
def test_a_bad_address_is_refused_with_a_message_and_kept_in_the_form(seller_client, user, channel, address, message):
    response = seller_client.post(ADD, channel_data(channel=channel, address=address))

    assert response.status_code == 200
    assert message in response.context["channel_form"].errors["address"]
    assert response.context["channel_form"]["address"].value() == address
    assert not NotificationChannel.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("http://10.0.0.5:8080/hook", "private"),
        ("http://127.0.0.1/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local / cloud metadata"),
        ("http://[::1]:9000/hook", "loopback"),
        ("http://[fe80::1]/hook", "link-local"),
    ],
)
def test_a_webhook_to_a_private_address_is_refused_when_saved(seller_client, user, address, why):
    response = seller_client.post(ADD, channel_data(channel="webhook", address=address))

    assert response.status_code == 200
    [error] = response.context["channel_form"].errors["address"]
    assert error.startswith("This address cannot receive webhooks:") and why in error
    assert not NotificationChannel.objects.filter(user=user).exists()


def test_a_webhook_host_that_resolves_to_a_private_address_is_refused(seller_client, user, monkeypatch):
    from catalog import netsafety

    monkeypatch.setattr(netsafety.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("192.168.1.20", 0))])

    response = seller_client.post(ADD, channel_data(channel="webhook", address="https://intranet.example.com/x"))

    assert "192.168.1.20" in response.context["channel_form"].errors["address"][0]
    assert not NotificationChannel.objects.filter(user=user).exists()


def test_a_webhook_host_that_does_not_resolve_now_is_kept_with_a_warning(seller_client, user, monkeypatch):
    import socket

    from catalog import netsafety

    def unresolvable(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(netsafety.socket, "getaddrinfo", unresolvable)

    response = seller_client.post(
        ADD, channel_data(channel="webhook", address="https://hooks.not-yet.example/x"), follow=True
    )

    assert NotificationChannel.objects.filter(user=user, address="https://hooks.not-yet.example/x").exists()
    assert WEBHOOK_UNRESOLVED.format(host="hooks.not-yet.example") in response.content.decode()


def test_the_same_address_twice_is_refused(seller_client, user):
    seller_client.post(ADD, channel_data())
    response = seller_client.post(ADD, channel_data(address="ALERTS@example.com"))

    assert CHANNEL_DUPLICATE in response.context["channel_form"].errors["address"]
    assert NotificationChannel.objects.filter(user=user).count() == 1


def test_another_seller_may_use_the_same_address(seller_client, user, other_user):
    NotificationChannel.objects.create(user=other_user, channel="email", address="alerts@example.com")

    assert seller_client.post(ADD, channel_data()).status_code == 302
    assert NotificationChannel.objects.filter(user=user).count() == 1


def test_toggle_a_channel_over_htmx_returns_the_list(seller_client, user):
    row = NotificationChannel.objects.create(user=user, channel="email", address="me@example.com")
    url = reverse("monitoring:notification_channel_toggle", args=[row.pk])

    response = seller_client.post(url, **HTMX)

    row.refresh_from_db()
    assert row.is_active is False
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="channel-list"') and "Resume" in page and "Paused" in page
    assert AuditLog.objects.filter(owner=user, action="paused").exists()

    assert seller_client.post(url).status_code == 302  # without HTMX: back to the page
    row.refresh_from_db()
    assert row.is_active is True


def test_remove_a_channel(seller_client, user):
    row = NotificationChannel.objects.create(
        user=user, channel="webhook", address="https://hooks.example.com/T0/B0/s3cr3t"
    )

    response = seller_client.post(reverse("monitoring:notification_channel_delete", args=[row.pk]), **HTMX)

    assert response.status_code == 200 and "No channels yet" in response.content.decode()
    assert not NotificationChannel.objects.filter(pk=row.pk).exists()
    audit = AuditLog.objects.get(owner=user, action="deleted")
    assert "s3cr3t" not in str(audit.old_value)  # a webhook URL's path may be its credential
    assert audit.old_value["address"] == "https://hooks.example.com/…"


def test_another_sellers_channel_cannot_be_touched(seller_client, other_user):
    row = NotificationChannel.objects.create(user=other_user, channel="email", address="rival@example.com")

    for name in ("notification_channel_toggle", "notification_channel_delete"):
        assert seller_client.post(reverse(f"monitoring:{name}", args=[row.pk])).status_code == 404
    row.refresh_from_db()
    assert row.is_active is True
    assert "rival@example.com" not in seller_client.get(PAGE).content.decode()


def test_channel_actions_need_post(seller_client, user):
    row = NotificationChannel.objects.create(user=user, channel="email", address="me@example.com")
    assert seller_client.get(reverse("monitoring:notification_channel_delete", args=[row.pk])).status_code == 405
    assert seller_client.get(REGENERATE).status_code == 405


# ---- Webhook secret ------------------------------------------------------------------------


def test_regenerate_needs_confirming_its_you(seller_client, user):
    AlertSettings.objects.create(user=user, webhook_secret="whsec_old-secret-1234")

    response = seller_client.post(REGENERATE)

    assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
    assert AlertSettings.objects.get(user=user).webhook_secret == "whsec_old-secret-1234"


def test_regenerate_shows_the_new_secret_once_then_only_masked(seller_client, user):
    AlertSettings.objects.create(user=user, webhook_secret="whsec_old-secret-1234")
    reauthenticate(seller_client)

    response = seller_client.post(REGENERATE)

    secret = AlertSettings.objects.get(user=user).webhook_secret
    assert secret.startswith(WEBHOOK_SECRET_PREFIX) and secret != "whsec_old-secret-1234"
    assert secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    later = seller_client.get(PAGE).content.decode()
    assert secret not in later and secret_masked(secret) in later and secret[-4:] in later
    audit = AuditLog.objects.get(owner=user, resource_type="alertsettings")
    assert secret not in str(audit.new_value) and "old-secret" not in str(audit.old_value)


def test_the_first_webhook_gets_a_secret_shown_once(seller_client, user):
    response = seller_client.post(ADD, channel_data(channel="webhook", address="https://hooks.example.com/x"))

    secret = AlertSettings.objects.get(user=user).webhook_secret
    assert secret and secret in response.content.decode()
    second = seller_client.post(ADD, channel_data(channel="webhook", address="https://hooks.example.com/y"))
    assert second.status_code == 302 and AlertSettings.objects.get(user=user).webhook_secret == secret


def test_secret_masked_keeps_only_prefix_and_last_four():
    assert secret_masked("") == ""
    masked = secret_masked("whsec_abcdefghijklmnop")
    assert masked.startswith("whsec_") and masked.endswith("mnop") and "abcdefghijkl" not in masked
