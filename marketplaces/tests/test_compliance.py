"""eBay's account deletion endpoint (challenge, ECDSA signature with a fetched and cached key) and
Shopify's privacy webhooks (HMAC), through the test client."""

import base64
import hashlib
import hmac
import json

import pytest
import respx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse

from marketplaces.compliance import DELETED_EBAY_ACCOUNT_NAME, ebay_challenge_response
from marketplaces.models import StoreAccount
from marketplaces.tests.doubles import BUYER_NAME, BUYER_STREET, EBAY_API, isolated_cache
from marketplaces.tests.factories import ListingFactory, OrderFactory, StoreAccountFactory
from monitoring.models import Alert, AuditLog

pytestmark = pytest.mark.django_db

TOKEN = "abc-123_verification-token-for-tests-0001"
ENDPOINT = "https://app.example.com/marketplaces/ebay/account-deletion/"
KID = "99345b5a36d0d3e6a1ff6bd3c1c4e5c2"
KEY_URL = f"{EBAY_API}/commerce/notification/v1/public_key/{KID}"
TOKEN_URL = f"{EBAY_API}/identity/v1/oauth2/token"
SHOPIFY_SECRET = "shopify-client-secret-0123"


@pytest.fixture(autouse=True)
def configured(settings):
    isolated_cache(settings, "compliance")
    settings.EBAY_VERIFICATION_TOKEN = TOKEN
    settings.EBAY_DELETION_ENDPOINT_URL = ENDPOINT
    settings.EBAY_CLIENT_ID = "ebay-app-id-PRD-1234"
    settings.EBAY_CLIENT_SECRET = "ebay-cert-secret-5678"
    settings.SHOPIFY_CLIENT_SECRET = SHOPIFY_SECRET


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


# --- eBay: the endpoint challenge ------------------------------------------------------------


def test_the_challenge_answer_is_sha256_of_code_token_and_endpoint(client):
    response = client.get(
        reverse("marketplaces:ebay_account_deletion"), {"challenge_code": "a8628072-3d33-45ee-9004-bee86830a22d"}
    )

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    # hex(SHA-256("a8628072-…" + TOKEN + ENDPOINT)), worked out once by hand with hashlib.
    assert response.json() == {"challengeResponse": "202828bc444ec4c779686379a933a42321cb22a4f6893b238e7b45871f4c30c8"}


def test_the_challenge_depends_on_every_part():
    base = ebay_challenge_response("code-1", token=TOKEN, endpoint=ENDPOINT)
    assert base != ebay_challenge_response("code-2", token=TOKEN, endpoint=ENDPOINT)
    assert base != ebay_challenge_response("code-1", token=TOKEN + "x", endpoint=ENDPOINT)
    assert base != ebay_challenge_response("code-1", token=TOKEN, endpoint=ENDPOINT + "x")


def test_no_challenge_answer_until_configured(client, settings):
    settings.EBAY_VERIFICATION_TOKEN = ""
    response = client.get(reverse("marketplaces:ebay_account_deletion"), {"challenge_code": "abc"})
    assert response.status_code == 503


# --- eBay: signed notifications --------------------------------------------------------------


@pytest.fixture(scope="module")
def ebay_key():
    return ec.generate_private_key(ec.SECP256R1())


def one_line_pem(private_key):
    """The public key as eBay's getPublicKey gives it: PEM markers and base64 on one line."""
    pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = "".join(pem.decode().splitlines()[1:-1])
    return f"-----BEGIN PUBLIC KEY-----{body}-----END PUBLIC KEY-----"


def signature_header(private_key, body: bytes, *, kid=KID):
    signature = private_key.sign(body, ec.ECDSA(hashes.SHA1()))
    header = {"alg": "ECDSA", "kid": kid, "signature": base64.b64encode(signature).decode(), "digest": "SHA1"}
    return base64.b64encode(json.dumps(header).encode()).decode()


def notification(username="blue-kettles", user_id="ma8vp1jySJC"):
    payload = {
        "metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION", "schemaVersion": "1.0", "deprecated": False},
        "notification": {
            "notificationId": "49feeaeb-4982-42d9-a377-9645b8479411_33f7e043-fed8-442b-9d44-791923bd9a6d",
            "eventDate": "2026-03-01T20:43:59.462Z",
            "publishDate": "2026-03-01T20:43:59.679Z",
            "publishAttemptCount": 1,
            "data": {
                "username": username,
                "userId": user_id,
                "eiasToken": "nY+sHZ2PrBmdj6wVnY+sEZ2PrA2dj6wJnY+gAZGEpwmdj6x9nY+seQ==",
            },
        },
    }
    return json.dumps(payload, separators=(",", ":")).encode()


@pytest.fixture
def ebay_keys(api, ebay_key):
    token = api.post(TOKEN_URL).respond(
        200, json={"access_token": "v^1.1#i^1#app-token", "expires_in": 7200, "token_type": "Application Access Token"}
    )
    key = api.get(KEY_URL).respond(200, json={"algorithm": "ECDSA", "digest": "SHA1", "key": one_line_pem(ebay_key)})
    return token, key


def post_notification(client, body, header):
    headers = {"X-EBAY-SIGNATURE": header} if header is not None else {}
    return client.post(
        reverse("marketplaces:ebay_account_deletion"), body, content_type="application/json", headers=headers
    )


def test_a_signed_deletion_forgets_that_ebay_users_stores(client, ebay_key, ebay_keys, user, other_user):
    token_route, key_route = ebay_keys
    deleted = StoreAccountFactory(user=user, marketplace="ebay", account_name="Blue-Kettles", api_key="ebay-key-42")
    listing = ListingFactory(store_account=deleted)
    by_id = StoreAccountFactory(user=other_user, marketplace="ebay", account_name="ma8vp1jySJC")
    untouched = StoreAccountFactory(user=user, marketplace="ebay", account_name="someone-else")
    shopify_namesake = StoreAccountFactory(user=user, marketplace="shopify", account_name="blue-kettles")
    body = notification()

    response = post_notification(client, body, signature_header(ebay_key, body))

    assert response.status_code == 204
    for store in (deleted, by_id):
        store = StoreAccount.objects.get(pk=store.pk)
        assert (store.oauth_token, store.oauth_refresh_token, store.api_key) == (None, None, None)
        assert not store.is_connected and store.account_name == DELETED_EBAY_ACCOUNT_NAME
    for store in (untouched, shopify_namesake):
        store = StoreAccount.objects.get(pk=store.pk)
        assert store.is_connected and store.oauth_token
    assert listing.__class__.objects.filter(pk=listing.pk).exists()  # the seller's history stays
    assert AuditLog.objects.filter(action="credentials_erased", resource_id=str(deleted.pk), user=None).exists()
    auth = token_route.calls.last.request
    assert (
        auth.headers["Authorization"]
        == "Basic " + base64.b64encode(b"ebay-app-id-PRD-1234:ebay-cert-secret-5678").decode()
    )
    assert key_route.calls.last.request.headers["Authorization"] == "Bearer v^1.1#i^1#app-token"


def test_a_signed_deletion_is_handled_while_the_cache_is_down(client, ebay_key, ebay_keys, user, cache_down):
    store = StoreAccountFactory(user=user, marketplace="ebay", account_name="blue-kettles")
    body = notification()

    for _ in range(2):  # the key cannot be kept: it is fetched again each time
        response = post_notification(client, body, signature_header(ebay_key, body))
        assert response.status_code == 204

    store.refresh_from_db()
    assert store.account_name == DELETED_EBAY_ACCOUNT_NAME and not store.is_connected
    assert ebay_keys[1].call_count == 2


def test_the_public_key_is_fetched_once_and_cached(client, ebay_key, ebay_keys):
    token_route, key_route = ebay_keys
    for name in ("first-user", "second-user"):
        body = notification(username=name, user_id=name)
        assert post_notification(client, body, signature_header(ebay_key, body)).status_code == 204
    assert (token_route.call_count, key_route.call_count) == (1, 1)


@pytest.mark.parametrize("case", ["other_key", "changed_body", "garbage", "missing"])
def test_a_bad_signature_is_412_and_nothing_is_erased(client, ebay_key, ebay_keys, user, case):
    store = StoreAccountFactory(user=user, marketplace="ebay", account_name="blue-kettles")
    body = notification()
    header = {
        "other_key": signature_header(ec.generate_private_key(ec.SECP256R1()), body),
        "changed_body": signature_header(ebay_key, notification(username="someone-else")),
        "garbage": "bm90IGpzb24=",
        "missing": None,
    }[case]

    response = post_notification(client, body, header)

    assert response.status_code == 412
    store.refresh_from_db()
    assert store.is_connected and store.account_name == "blue-kettles"


def test_when_ebays_key_cannot_be_had_the_answer_is_500_so_ebay_retries(client, api, ebay_key, user):
    api.post(TOKEN_URL).respond(200, json={"access_token": "app-token", "expires_in": 7200})
    api.get(KEY_URL).respond(503)
    store = StoreAccountFactory(user=user, marketplace="ebay", account_name="blue-kettles")
    body = notification()

    assert post_notification(client, body, signature_header(ebay_key, body)).status_code == 500
    store.refresh_from_db()
    assert store.is_connected


def test_the_endpoint_needs_no_login_or_csrf_token(ebay_key, ebay_keys):
    from django.test import Client

    body = notification(username="nobody-here")
    response = post_notification(Client(enforce_csrf_checks=True), body, signature_header(ebay_key, body))
    assert response.status_code == 204


# --- Shopify: privacy webhooks ---------------------------------------------------------------


def shopify_post(client, topic, payload, *, secret=SHOPIFY_SECRET, signature=None):
    body = json.dumps(payload).encode()
    if signature is None:
        signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return client.post(
        reverse("marketplaces:shopify_privacy_webhook"),
        body,
        content_type="application/json",
        headers={
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": payload.get("shop_domain", ""),
        },
    )


def test_shop_redact_forgets_the_shops_credentials(client, user):
    store = StoreAccountFactory(user=user, marketplace="shopify", shop_domain="demo-store.myshopify.com")
    other = StoreAccountFactory(user=user, marketplace="shopify", shop_domain="other-store.myshopify.com")

    response = shopify_post(client, "shop/redact", {"shop_id": 954889, "shop_domain": "demo-store.myshopify.com"})

    assert response.status_code == 200
    store.refresh_from_db()
    other.refresh_from_db()
    assert store.oauth_token is None and not store.is_connected
    assert other.oauth_token and other.is_connected


def shopify_orders_of(user, *numbers, shop="demo-store.myshopify.com"):
    store = StoreAccountFactory(user=user, marketplace="shopify", shop_domain=shop)
    orders = []
    for number in numbers:
        order = OrderFactory(
            store_account=store,
            marketplace_order_id=f"gid://shopify/Order/{number}",
            order_number=f"#{number}",
            buyer_username=f"buyer-{number}",
        )
        order.ship_to = {"name": BUYER_NAME, "line1": BUYER_STREET}
        order.save(update_fields=["ship_to"])
        orders.append(order)
    return store, orders


def test_customers_redact_wipes_the_named_orders_addresses_only(client, user):
    store, (named, other) = shopify_orders_of(user, 299938, 111111)
    _, (elsewhere,) = shopify_orders_of(user, 299938, shop="other-store.myshopify.com")
    payload = {
        "shop_id": 954889,
        "shop_domain": "demo-store.myshopify.com",
        "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
        "orders_to_redact": [299938, 280263],
    }

    assert shopify_post(client, "customers/redact", payload).status_code == 200

    for order in (named, other, elsewhere):
        order.refresh_from_db()
    assert (named.ship_to, named.buyer_username) == (None, "") and named.ship_to_erased_at is not None
    assert other.ship_to["name"] == BUYER_NAME and elsewhere.ship_to["name"] == BUYER_NAME
    row = AuditLog.objects.get(action="buyer_data_erased", resource_id=str(named.pk))
    assert row.user is None and BUYER_NAME not in str(row.new_value)
    store.refresh_from_db()
    assert store.is_connected


def test_customers_data_request_tells_the_seller_which_orders_hold_the_data(client, user):
    store, (named, _) = shopify_orders_of(user, 299938, 111111)
    payload = {
        "shop_id": 954889,
        "shop_domain": "demo-store.myshopify.com",
        "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
        "orders_requested": [299938, 280263],
        "data_request": {"id": 9999},
    }

    assert shopify_post(client, "customers/data_request", payload).status_code == 200

    [alert] = Alert.objects.filter(user=user, type="customer_data_request")
    assert "#299938" in alert.message and "#111111" not in alert.message
    assert alert.data["order_ids"] == [named.pk] and alert.data["path"] == named.get_absolute_url()
    assert BUYER_NAME not in alert.message + json.dumps(alert.data)
    named.refresh_from_db()
    assert named.ship_to["name"] == BUYER_NAME  # handing it over is not erasing it


def test_a_deleted_ebay_buyer_loses_address_and_user_name_on_every_ebay_order(client, ebay_key, ebay_keys, user):
    store = StoreAccountFactory(user=user, marketplace="ebay")
    bought = OrderFactory(store_account=store, buyer_username="Blue-Kettles")
    bought.ship_to = {"name": BUYER_NAME, "line1": BUYER_STREET}
    bought.save(update_fields=["ship_to"])
    other = OrderFactory(store_account=store, buyer_username="someone-else")
    other.ship_to = {"name": "Another Buyer"}
    other.save(update_fields=["ship_to"])
    body = notification()

    assert post_notification(client, body, signature_header(ebay_key, body)).status_code == 204

    bought.refresh_from_db()
    other.refresh_from_db()
    assert (bought.ship_to, bought.buyer_username) == (None, "") and bought.ship_to_erased_at is not None
    assert other.ship_to == {"name": "Another Buyer"} and other.buyer_username == "someone-else"


@pytest.mark.parametrize(
    "secret, signature", [("another-secret", None), (SHOPIFY_SECRET, ""), (SHOPIFY_SECRET, "AAAA")]
)
def test_a_wrong_hmac_is_401_and_nothing_is_erased(client, user, secret, signature):
    store = StoreAccountFactory(user=user, marketplace="shopify", shop_domain="demo-store.myshopify.com")
    response = shopify_post(
        client,
        "shop/redact",
        {"shop_id": 1, "shop_domain": "demo-store.myshopify.com"},
        secret=secret,
        signature=signature,
    )
    assert response.status_code == 401
    store.refresh_from_db()
    assert store.is_connected and store.oauth_token
