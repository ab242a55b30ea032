"""Connecting a store through the browser: the connect form, the marketplace's consent URL, and the
callback (state, denial, code exchange against replayed token endpoints, encrypted tokens)."""

import base64
import hashlib
import hmac
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import respx
from django.db import connection
from django.urls import reverse

from accounts.tests.factories import PASSWORD
from marketplaces.models import StoreAccount
from marketplaces.tests.doubles import (
    EBAY_API,
    ETSY_BASE,
    ETSY_SHOP_ID,
    SHOP,
    ShopifyDouble,
    ebay_account_defaults,
    isolated_cache,
)
from marketplaces.tests.factories import StoreAccountFactory
from marketplaces.tests.spec import spec_route
from marketplaces.views.stores import (
    AUTH_DENIED_MESSAGE,
    OAUTH_SESSION_KEY,
    SHOPIFY_SIGNATURE_MESSAGE,
    STATE_MISMATCH_MESSAGE,
)
from monitoring.models import Alert, AuditLog

pytestmark = pytest.mark.django_db

EBAY_TOKEN_URL = f"{EBAY_API}/identity/v1/oauth2/token"
ETSY_TOKEN_URL = "https://openapi.etsy.com/v3/public/oauth/token"
ACCESS = "v^1.1#i^1#p^3#r^1#fresh-user-access-token-0123456789"
REFRESH = "v^1.1#i^1#p^3#r^1#fresh-user-refresh-token-0123456789"


@pytest.fixture(autouse=True)
def apps(settings):
    isolated_cache(settings, "oauth-views")
    settings.EBAY_CLIENT_ID = "ebay-app-id-PRD-1234"
    settings.EBAY_CLIENT_SECRET = "ebay-cert-secret-5678"
    settings.EBAY_RUNAME = "Seller_Co-SellerCo-App-PRD-abcdefg"
    settings.ETSY_KEYSTRING = "etsy-keystring-123"
    settings.ETSY_SHARED_SECRET = "etsy-shared-secret-456"
    settings.ETSY_REDIRECT_URI = "https://app.example.com/stores/etsy/callback/"
    settings.SHOPIFY_CLIENT_ID = "shopify-client-id"
    settings.SHOPIFY_CLIENT_SECRET = "shopify-client-secret-0123"
    settings.SHOPIFY_REDIRECT_URI = "https://app.example.com/stores/shopify/callback/"


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def connect(client, **data):
    return client.post(reverse("marketplaces:store_connect"), data)


def query_of(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", {
        key: values[0] for key, values in parse_qs(parts.query).items()
    }


def pending(client, marketplace):
    return client.session[OAUTH_SESSION_KEY][marketplace]


def raw_column(store, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM marketplaces_store_account WHERE id = %s", [store.pk])
        value = cursor.fetchone()[0]
    return bytes(value) if isinstance(value, memoryview) else value


# --- Starting a connection -------------------------------------------------------------------


def test_connecting_an_ebay_store_sends_the_seller_to_ebays_consent_page(seller_client, user, settings):
    response = connect(seller_client, marketplace="ebay", account_name="blue-kettles", environment="sandbox")

    endpoint, query = query_of(response.url)
    assert response.status_code == 302 and endpoint == "https://auth.sandbox.ebay.com/oauth2/authorize"
    assert query["client_id"] == "ebay-app-id-PRD-1234"
    assert query["redirect_uri"] == "Seller_Co-SellerCo-App-PRD-abcdefg"  # the RuName, not a URL
    assert query["response_type"] == "code"
    assert query["scope"].split(" ") == settings.EBAY_SCOPES
    assert query["state"] == pending(seller_client, "ebay")["state"] and len(query["state"]) >= 32
    store = StoreAccount.objects.get(user=user)
    assert (store.marketplace, store.account_name, store.environment, store.is_connected) == (
        "ebay",
        "blue-kettles",
        "sandbox",
        False,
    )
    assert (store.fee_percent, store.fee_fixed) == (Decimal("13.60"), Decimal("0.40"))  # documented defaults
    assert pending(seller_client, "ebay")["store_id"] == store.pk


def test_etsy_needs_the_policy_acknowledged_and_uses_pkce(seller_client, user):
    refused = connect(seller_client, marketplace="etsy", account_name="LinenWorks")
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "reselling" in page and "Tick the box" in page and 'value="LinenWorks"' in page
    assert not StoreAccount.objects.exists()

    response = connect(seller_client, marketplace="etsy", account_name="LinenWorks", etsy_policy_understood="on")

    endpoint, query = query_of(response.url)
    assert endpoint == "https://www.etsy.com/oauth/connect"
    assert query["client_id"] == "etsy-keystring-123"
    assert query["redirect_uri"] == "https://app.example.com/stores/etsy/callback/"
    assert {"listings_w", "shops_r", "transactions_r"} <= set(query["scope"].split(" "))
    saved = pending(seller_client, "etsy")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(saved["code_verifier"].encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == challenge.decode() and query["code_challenge_method"] == "S256"
    assert query["state"] == saved["state"]
    assert "code_verifier" not in response.url


def test_shopify_takes_the_shops_myshopify_address(seller_client, user):
    bad = connect(seller_client, marketplace="shopify", account_name="Demo", shop_domain="demo-store.com")
    assert bad.status_code == 200 and "your-store.myshopify.com" in bad.content.decode()

    response = connect(
        seller_client, marketplace="shopify", account_name="Demo", shop_domain="https://Demo-Store.myshopify.com/"
    )

    endpoint, query = query_of(response.url)
    assert endpoint == "https://demo-store.myshopify.com/admin/oauth/authorize"
    assert query["client_id"] == "shopify-client-id"
    assert query["redirect_uri"] == "https://app.example.com/stores/shopify/callback/"
    assert "write_products" in query["scope"].split(",")
    assert query["state"] == pending(seller_client, "shopify")["state"]
    assert StoreAccount.objects.get(user=user).shop_domain == "demo-store.myshopify.com"


def test_a_disconnected_store_is_reused_and_a_connected_one_refused(seller_client, user):
    old = StoreAccountFactory(user=user, marketplace="ebay", account_name="blue-kettles", is_connected=False)
    connect(seller_client, marketplace="ebay", account_name="Blue-Kettles", environment="production")
    assert StoreAccount.objects.count() == 1 and pending(seller_client, "ebay")["store_id"] == old.pk

    old.is_connected = True
    old.save()
    again = connect(seller_client, marketplace="ebay", account_name="blue-kettles", environment="production")
    assert again.status_code == 200 and "is already connected" in again.content.decode()


def test_without_our_app_credentials_nothing_is_created(seller_client, settings):
    settings.EBAY_CLIENT_ID = ""
    response = connect(seller_client, marketplace="ebay", account_name="blue-kettles", environment="production")
    assert response.status_code == 200 and "not set up on this site yet" in response.content.decode()
    assert not StoreAccount.objects.exists()


# --- The callback ----------------------------------------------------------------------------


@pytest.fixture
def ebay_pending(seller_client, user):
    connect(seller_client, marketplace="ebay", account_name="blue-kettles", environment="production")
    return StoreAccount.objects.get(user=user), pending(seller_client, "ebay")["state"]


def callback(client, marketplace, **params):
    return client.get(reverse(f"marketplaces:oauth_callback_{marketplace}"), params, follow=True)


def ebay_token_answer(api, status=200, json=None):
    body = json or {
        "access_token": ACCESS,
        "expires_in": 7200,
        "refresh_token": REFRESH,
        "refresh_token_expires_in": 47304000,
        "token_type": "User Access Token",
    }
    return api.post(EBAY_TOKEN_URL).respond(status, json=body)


def test_a_wrong_state_stores_nothing(seller_client, ebay_pending, api):
    store, state = ebay_pending
    token = ebay_token_answer(api)

    response = callback(seller_client, "ebay", code="auth-code", state=state + "x")

    assert STATE_MISMATCH_MESSAGE.format(marketplace="eBay") in response.content.decode()
    assert token.call_count == 0
    store.refresh_from_db()
    assert not store.is_connected and store.oauth_token is None
    assert pending(seller_client, "ebay")["state"] == state  # the real answer can still arrive


def test_a_callback_without_a_connection_in_progress_stores_nothing(seller_client, user, api):
    token = ebay_token_answer(api)
    response = callback(seller_client, "ebay", code="auth-code", state="made-up")
    assert STATE_MISMATCH_MESSAGE.format(marketplace="eBay") in response.content.decode()
    assert token.call_count == 0 and not StoreAccount.objects.exists()


def test_ebay_callback_exchanges_the_code_and_keeps_the_tokens_encrypted(seller_client, ebay_pending, api):
    store, state = ebay_pending
    token = ebay_token_answer(api)
    ebay_account_defaults(api)

    response = callback(seller_client, "ebay", code="v^1.1#i^1#auth-code", state=state)

    assert response.redirect_chain[-1][0] == reverse("marketplaces:store_detail", args=[store.pk])
    page = response.content.decode()
    assert "blue-kettles is connected." in page.replace("eBay · ", "")
    assert ACCESS not in page and REFRESH not in page
    sent = token.calls.last.request
    assert parse_qs(sent.content.decode()) == {
        "grant_type": ["authorization_code"],
        "code": ["v^1.1#i^1#auth-code"],
        "redirect_uri": ["Seller_Co-SellerCo-App-PRD-abcdefg"],
    }
    assert (
        sent.headers["Authorization"]
        == "Basic " + base64.b64encode(b"ebay-app-id-PRD-1234:ebay-cert-secret-5678").decode()
    )
    store = StoreAccount.objects.get(pk=store.pk)
    assert store.is_connected and (store.oauth_token, store.oauth_refresh_token) == (ACCESS, REFRESH)
    assert store.publish_defaults["merchant_location_key"] == "WH1"
    for column, secret in (("oauth_token", ACCESS), ("oauth_refresh_token", REFRESH)):
        stored = raw_column(store, column)
        assert stored and secret.encode() not in (stored if isinstance(stored, bytes) else stored.encode())
    assert "ebay" not in seller_client.session[OAUTH_SESSION_KEY]
    assert AuditLog.objects.filter(resource_type="storeaccount", action="connected").exists()


def test_a_replayed_callback_finds_nothing(seller_client, ebay_pending, api):
    store, state = ebay_pending
    token = ebay_token_answer(api)
    ebay_account_defaults(api)
    callback(seller_client, "ebay", code="auth-code", state=state)

    response = callback(seller_client, "ebay", code="auth-code", state=state)

    assert STATE_MISMATCH_MESSAGE.format(marketplace="eBay") in response.content.decode()
    assert token.call_count == 1


def test_a_denied_authorisation_shows_on_the_store_and_alerts(seller_client, ebay_pending, api):
    store, state = ebay_pending

    response = callback(seller_client, "ebay", error="access_denied", state=state)

    message = AUTH_DENIED_MESSAGE.format(marketplace="eBay")
    assert message in response.content.decode() and not api.calls
    store.refresh_from_db()
    assert store.last_error == message and not store.is_connected
    [alert] = Alert.objects.filter(user=store.user, type="store_auth")
    assert (alert.subject, alert.severity, alert.cleared_at) == (f"store:{store.pk}", "warning", None)
    stores_page = seller_client.get(reverse("marketplaces:store_list")).content.decode()
    assert 'data-state="denied"' in stores_page and "Authorisation denied" in stores_page


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (400, {"error": "invalid_grant", "error_description": "the code expired"}, "no longer accepts"),
        (503, {"errors": []}, "temporary error"),
        (400, {"errors": [{"errorId": 1, "category": "REQUEST", "message": "Bad RuName"}]}, "Bad RuName"),
    ],
)
def test_a_failed_exchange_is_a_clear_message_never_a_crash(seller_client, ebay_pending, api, status, body, expected):
    store, state = ebay_pending
    ebay_token_answer(api, status=status, json=body)

    response = callback(seller_client, "ebay", code="auth-code", state=state)

    assert response.status_code == 200 and expected in response.content.decode()
    store.refresh_from_db()
    assert not store.is_connected and store.oauth_token is None and expected in store.last_error


def test_etsy_callback_sends_the_pkce_verifier(seller_client, user, api):
    connect(seller_client, marketplace="etsy", account_name="LinenWorks", etsy_policy_understood="on")
    saved = pending(seller_client, "etsy")
    token = api.post(ETSY_TOKEN_URL).respond(
        200,
        json={
            "access_token": "12345678.access",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "12345678.refresh",
        },
    )
    spec_route(api, "GET", f"{ETSY_BASE}/users/me", status=200, json={"user_id": 12345678, "shop_id": ETSY_SHOP_ID})
    spec_route(
        api, "GET", f"{ETSY_BASE}/shops/{ETSY_SHOP_ID}/shipping-profiles", status=200, json={"count": 0, "results": []}
    )
    spec_route(
        api,
        "GET",
        f"{ETSY_BASE}/shops/{ETSY_SHOP_ID}/readiness-state-definitions",
        status=200,
        json={"count": 0, "results": []},
    )

    callback(seller_client, "etsy", code="etsy-code", state=saved["state"])

    form = parse_qs(token.calls.last.request.content.decode())
    assert form["code_verifier"] == [saved["code_verifier"]] and form["code"] == ["etsy-code"]
    store = StoreAccount.objects.get(user=user)
    assert store.is_connected and store.oauth_token == "12345678.access"


def shopify_params(**params):
    message = "&".join(f"{key}={value}" for key, value in sorted(params.items()))
    signature = hmac.new(b"shopify-client-secret-0123", message.encode(), hashlib.sha256).hexdigest()
    return {**params, "hmac": signature}


def test_shopify_callback_checks_the_hmac_and_the_state(seller_client, user, api):
    connect(seller_client, marketplace="shopify", account_name="Demo", shop_domain="demo-store.myshopify.com")
    state = pending(seller_client, "shopify")["state"]
    token = api.post(f"{SHOP}/admin/oauth/access_token").respond(
        200, json={"access_token": "shpat_fresh_0123456789", "scope": "write_products", "expires_in": 3600}
    )
    ShopifyDouble(api).answer(
        "Locations", {"locations": {"nodes": [{"id": "gid://shopify/Location/7", "name": "Main"}]}}
    )
    params = shopify_params(code="c0de", shop="demo-store.myshopify.com", state=state, timestamp="1767225600")

    forged = callback(seller_client, "shopify", **{**params, "code": "other"})
    assert SHOPIFY_SIGNATURE_MESSAGE in forged.content.decode() and token.call_count == 0

    wrong_state = shopify_params(code="c0de", shop="demo-store.myshopify.com", state="nope", timestamp="1767225600")
    assert (
        STATE_MISMATCH_MESSAGE.format(marketplace="Shopify")
        in callback(seller_client, "shopify", **wrong_state).content.decode()
    )
    assert token.call_count == 0

    callback(seller_client, "shopify", **params)

    store = StoreAccount.objects.get(user=user)
    assert store.is_connected and store.oauth_token == "shpat_fresh_0123456789"
    assert store.publish_defaults == {"location_id": "gid://shopify/Location/7"}


# --- Reconnect and disconnect ----------------------------------------------------------------


def test_connect_again_reuses_the_store(seller_client, user):
    store = StoreAccountFactory(user=user, marketplace="ebay", needs_reauth=True)
    response = seller_client.post(reverse("marketplaces:store_reconnect", args=[store.pk]))
    assert response.url.startswith("https://auth.ebay.com/oauth2/authorize?")
    assert pending(seller_client, "ebay")["store_id"] == store.pk


def test_disconnect_asks_first_then_forgets_the_tokens(seller_client, user):
    store = StoreAccountFactory(user=user, marketplace="ebay", account_name="blue-kettles")

    confirm = seller_client.get(reverse("marketplaces:store_disconnect", args=[store.pk]))
    assert confirm.status_code == 200 and "Yes, disconnect" in confirm.content.decode()
    store.refresh_from_db()
    assert store.is_connected

    asked = seller_client.post(reverse("marketplaces:store_disconnect", args=[store.pk]))
    assert asked.url.startswith(reverse("account_reauthenticate"))  # confirm it's you first
    store.refresh_from_db()
    assert store.is_connected

    response = seller_client.post(asked.url, {"password": PASSWORD}, follow=True)  # then it goes on

    assert "is disconnected" in response.content.decode()
    store.refresh_from_db()
    assert not store.is_connected and store.oauth_token is None and store.oauth_refresh_token is None


def test_a_query_string_is_not_a_state(seller_client, ebay_pending):
    store, state = ebay_pending
    url = reverse("marketplaces:oauth_callback_ebay") + "?" + urlencode({"code": "x", "state": ""})
    response = seller_client.get(url, follow=True)
    assert STATE_MISMATCH_MESSAGE.format(marketplace="eBay") in response.content.decode()
