"""Store connections: tokens in with publish defaults, tokens out, re-authorisation, fee defaults."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import respx
from django.test import RequestFactory
from django.utils import timezone

from marketplaces.clients import TokenSet
from marketplaces.models import StoreAccount
from marketplaces.services import (
    StoreSettingsError,
    automation_switch_set,
    listings_follow,
    store_connect_finish,
    store_disconnect,
    store_fee_defaults,
    store_mark_needs_reauth,
    store_settings_update,
)
from marketplaces.services.stores import DEFAULTS_UNAVAILABLE_MESSAGE, PRICING_LIMITS
from marketplaces.tests.doubles import (
    EBAY_API,
    SHOP,
    EbayDouble,
    bulk_request,
    ebay_account_defaults,
    ebay_store,
    isolated_cache,
    live_listing,
    supplier_product,
)
from marketplaces.tests.factories import StoreAccountFactory
from marketplaces.tests.spec import spec_route
from monitoring.models import Alert, AuditLog, Job

pytestmark = pytest.mark.django_db

ACCOUNT = f"{EBAY_API}/sell/account/v1"
NEW_ACCESS = "v^1.1#i^1#new-access-token-0123456789"
NEW_REFRESH = "v^1.1#r^1#new-refresh-token-0123456789"


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "stores")


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def tokens():
    return TokenSet(
        access_token=NEW_ACCESS,
        refresh_token=NEW_REFRESH,
        expires_at=timezone.now() + timedelta(hours=2),
        refresh_expires_at=timezone.now() + timedelta(days=540),
    )


def audit_text(store):
    rows = AuditLog.objects.filter(resource_type="storeaccount", resource_id=str(store.pk))
    return json.dumps([[row.old_value, row.new_value, row.notes] for row in rows], default=str)


def test_fee_defaults_follow_the_marketplaces_documented_fees_split_into_marketplace_and_payment():
    ebay, shopify, etsy = (store_fee_defaults(m) for m in ("ebay", "shopify", "etsy"))

    def parts(fees):
        return fees.fee_percent, fees.fee_fixed, fees.payment_fee_percent, fees.payment_fee_fixed

    # eBay's final value fee includes payment processing; Shopify takes nothing per sale itself and
    # Shopify Payments 2.9 % + 30¢; Etsy 6.5 % + the 20¢ listing renewal, payment 3 % + 25¢.
    assert parts(ebay) == (Decimal("13.60"), Decimal("0.40"), Decimal("0.00"), Decimal("0.00"))
    assert parts(shopify) == (Decimal("0.00"), Decimal("0.00"), Decimal("2.90"), Decimal("0.30"))
    assert parts(etsy) == (Decimal("6.50"), Decimal("0.20"), Decimal("3.00"), Decimal("0.25"))
    assert ebay.as_of and "per-order fee" in ebay.note
    with pytest.raises(ValueError):
        store_fee_defaults("amazon")


def test_finishing_a_connection_stores_tokens_and_publish_defaults(api):
    store = StoreAccountFactory(
        marketplace="ebay", is_connected=False, needs_reauth=True, publish_defaults={"category_id": "20625"}
    )
    store_mark_needs_reauth(store, "eBay refused the token.")
    ebay_account_defaults(api)
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="Safari/19")

    store_connect_finish(store=store, tokens=tokens(), acting_user=store.user, request=request)

    store = StoreAccount.objects.get(pk=store.pk)
    assert (store.oauth_token, store.oauth_refresh_token) == (NEW_ACCESS, NEW_REFRESH)
    assert store.is_connected and not store.needs_reauth and store.last_error == ""
    assert store.refresh_token_expires_at is not None
    assert store.publish_defaults == {
        "category_id": "20625",
        "fulfillment_policy_id": "6196932000",
        "payment_policy_id": "6196936000",
        "return_policy_id": "6196940000",
        "merchant_location_key": "WH1",
    }
    assert not Alert.objects.filter(type="store_auth", cleared_at__isnull=True).exists()
    row = AuditLog.objects.get(resource_type="storeaccount", action="connected")
    assert (row.user, row.owner, row.ip_address, row.user_agent) == (
        store.user,
        store.user,
        "198.51.100.4",
        "Safari/19",
    )
    assert NEW_ACCESS not in audit_text(store) and NEW_REFRESH not in audit_text(store)


def test_defaults_the_marketplace_will_not_give_leave_a_note_not_a_failure(api):
    store = StoreAccountFactory(marketplace="ebay", is_connected=False)
    refusal = {
        "errors": [
            {"errorId": 20403, "domain": "API_ACCOUNT", "category": "REQUEST", "message": "User is not eligible."}
        ]
    }
    spec_route(api, "GET", f"{ACCOUNT}/fulfillment_policy", status=400, json=refusal)

    store_connect_finish(store=store, tokens=tokens(), acting_user=store.user)

    store.refresh_from_db()
    assert store.is_connected and store.publish_defaults == {}
    assert store.last_error == DEFAULTS_UNAVAILABLE_MESSAGE.format(reason="User is not eligible.")


def test_disconnecting_revokes_at_shopify_and_forgets_every_secret(api):
    store = StoreAccountFactory(
        marketplace="shopify",
        shop_domain="demo-store.myshopify.com",
        api_key="shop-api-key-123456",
        api_secret="shop-api-secret-123456",
        oauth_expires_at=timezone.now() + timedelta(hours=1),
    )
    token = store.oauth_token
    revoke = api.delete(f"{SHOP}/admin/api_permissions/current.json").respond(200, json={})

    store_disconnect(store=store, acting_user=store.user)

    assert revoke.call_count == 1
    assert revoke.calls[0].request.headers["X-Shopify-Access-Token"] == token
    store = StoreAccount.objects.get(pk=store.pk)
    assert (store.api_key, store.api_secret, store.oauth_token, store.oauth_refresh_token) == (None, None, None, None)
    assert store.oauth_expires_at is None and not store.is_connected
    row = AuditLog.objects.get(resource_type="storeaccount", action="disconnected")
    assert row.new_value == {"is_connected": False, "revoked_at_marketplace": True}
    for secret in (token, "shop-api-key-123456", "shop-api-secret-123456"):
        assert secret not in audit_text(store)


def test_disconnecting_an_ebay_store_needs_no_call(api):
    store = StoreAccountFactory(marketplace="ebay")
    store_disconnect(store=store, acting_user=store.user)
    store.refresh_from_db()
    assert not store.is_connected and store.oauth_token is None
    assert not api.calls


def test_a_store_needing_reauthorisation_is_flagged_and_its_seller_alerted():
    store = StoreAccountFactory(marketplace="etsy")

    store_mark_needs_reauth(store, "Etsy refused the refresh token.")
    store_mark_needs_reauth(store, "Etsy refused the refresh token.")

    store.refresh_from_db()
    assert store.needs_reauth and store.last_error == "Etsy refused the refresh token."
    [alert] = Alert.objects.filter(user=store.user, type="store_auth")
    assert (alert.subject, alert.severity) == (f"store:{store.pk}", "critical")
    assert "Etsy refused the refresh token." in alert.message


def test_a_pricing_change_is_audited_and_reprices_the_stores_listings(api, django_capture_on_commit_callbacks):
    ebay = EbayDouble(api)
    store = ebay_store()
    product = supplier_product(price=Decimal("20.00"), stock=50)
    listing = live_listing(store, product, price=Decimal("30.99"), quantity_available=10)
    old_name = store.account_name

    with django_capture_on_commit_callbacks(execute=True):
        store_settings_update(
            store=store, changes={"markup_percent": Decimal("50.00"), "account_name": "Main"}, acting_user=store.user
        )

    # ((20 × 1.5) + 0.30) / 0.8675 = 34.93 → 34.99
    assert ebay.bulk_bodies == [bulk_request(f"AM-{listing.pk}", offer_id=f"9{listing.pk}", price="34.99")]
    row = AuditLog.objects.get(resource_type="storeaccount", action="settings_updated")
    assert row.old_value == {"markup_percent": "30.00", "account_name": old_name}
    assert row.new_value == {"markup_percent": "50.00", "account_name": "Main"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fee_percent", Decimal("100")),
        ("markup_percent", Decimal("-150")),
        ("markup_percent", Decimal("-50")),
        ("markup_fixed", Decimal("-5")),
        ("min_margin_percent", Decimal("120")),
    ],
)
def test_settings_out_of_range_are_refused_by_the_service_and_nothing_changes(field, value):
    store = StoreAccountFactory(marketplace="ebay")
    before = getattr(store, field)

    with pytest.raises(StoreSettingsError) as error:
        store_settings_update(store=store, changes={field: value}, acting_user=store.user)

    assert PRICING_LIMITS[field].message in error.value.errors[field]
    store.refresh_from_db()
    assert getattr(store, field) == before
    assert not AuditLog.objects.filter(action="settings_updated").exists()
    assert not Job.objects.exists()  # nothing repriced


def test_switching_pushes_back_on_sends_what_was_held(api, django_capture_on_commit_callbacks):
    ebay = EbayDouble(api)
    store = ebay_store()
    product = supplier_product(price=Decimal("24.00"), stock=50)
    listing = live_listing(store, product, price=Decimal("30.99"), quantity_available=10)
    automation_switch_set(pushes_paused=True, reason="eBay incident")
    listings_follow(product=product)
    assert ebay.bulk.call_count == 0

    with django_capture_on_commit_callbacks(execute=True):
        automation_switch_set(pushes_paused=False)

    assert ebay.bulk.call_count == 1
    listing.refresh_from_db()
    assert listing.price == Decimal("36.99") and listing.pending_changes == {}


def test_connecting_again_records_the_grant_so_shipping_is_enabled(api, settings):
    store = StoreAccountFactory(marketplace="etsy", granted_scopes=["listings_r", "transactions_r"])
    assert store.shipping_scopes_missing() == ["transactions_w"]
    spec_route(
        api,
        "GET",
        "https://openapi.etsy.com/v3/application/users/me",
        status=200,
        json={"user_id": 12345678, "shop_id": 5550001},
    )
    api.route(host="openapi.etsy.com").respond(404, json={"error": "Not found"})  # publish defaults: a note

    store_connect_finish(store=store, tokens=tokens(), acting_user=store.user)

    store.refresh_from_db()
    assert store.granted_scopes == settings.ETSY_SCOPES and store.shipping_scopes_missing() == []


def test_shopify_says_which_scopes_it_granted():
    from marketplaces.services.stores import granted_scopes

    said = TokenSet(access_token="x", scope="write_products,read_orders")
    assert granted_scopes("shopify", said) == ["write_products", "read_orders"]
