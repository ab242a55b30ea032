"""What the marketplaces require of an app that holds their users' data.

- eBay's marketplace account deletion notifications: answer the endpoint challenge, verify each
  notification's X-EBAY-SIGNATURE (ECDSA, with eBay's public key fetched from its Notification
  API and cached), then forget that eBay user: a seller's store credentials, a buyer's ship-to
  address and user name on the orders we hold.
- Shopify's mandatory privacy webhooks (customers/data_request, customers/redact, shop/redact):
  verify X-Shopify-Hmac-Sha256 in constant time; customers/redact wipes the named orders' ship-to
  address, customers/data_request tells the shop's seller which orders hold the customer's data,
  shop/redact forgets that shop's credentials.

The buyer's personal data we hold is the ship-to name and address of an order (encrypted) and
their marketplace user name (marketplaces.services.privacy).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass

import httpx
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from marketplaces.models import Marketplace, StoreAccount
from marketplaces.services.privacy import ebay_buyer_erase, shopify_customer_data_request, shopify_customer_redact
from marketplaces.services.stores import store_credentials_erase

logger = logging.getLogger(__name__)

ACCOUNT_DELETION_TOPIC = "MARKETPLACE_ACCOUNT_DELETION"
PUBLIC_KEY_PATH = "/commerce/notification/v1/public_key/{kid}"
TOKEN_PATH = "/identity/v1/oauth2/token"
APP_SCOPE = "https://api.ebay.com/oauth/api_scope"
APP_TOKEN_CACHE_KEY = "marketplaces:ebay:app_token:{environment}"
PUBLIC_KEY_CACHE_KEY = "marketplaces:ebay:notification_key:{environment}:{kid}"
KID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
PEM_RE = re.compile(r"-----BEGIN PUBLIC KEY-----(.+?)-----END PUBLIC KEY-----", re.DOTALL)
DIGESTS = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256}

DELETED_EBAY_ACCOUNT_NAME = "Deleted eBay account"
EBAY_ACCOUNT_DELETED_MESSAGE = "eBay told us this eBay account was deleted: its connection was removed."
SHOP_REDACTED_MESSAGE = "Shopify asked us to erase this shop's data after the app was uninstalled."

SHOPIFY_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


class NotificationKeyUnavailable(Exception):
    """eBay's public key could not be fetched now (eBay will send the notification again)."""


@dataclass(frozen=True)
class EbaySignature:
    """The decoded X-EBAY-SIGNATURE header."""

    kid: str
    signature: bytes
    digest: str
    alg: str


# --- eBay: account deletion ------------------------------------------------------------------


def ebay_challenge_response(challenge_code: str, *, token: str | None = None, endpoint: str | None = None) -> str:
    """eBay's endpoint check: hex SHA-256 of challenge code + verification token + endpoint URL."""
    token = settings.EBAY_VERIFICATION_TOKEN if token is None else token
    endpoint = settings.EBAY_DELETION_ENDPOINT_URL if endpoint is None else endpoint
    digest = hashlib.sha256()
    for part in (challenge_code, token, endpoint):
        digest.update(part.encode("utf-8"))
    return digest.hexdigest()


def ebay_signature_decode(header: str | None) -> EbaySignature | None:
    """The signature header (base64 of a JSON object with kid, signature, digest, alg), or None."""
    if not header:
        return None
    try:
        data = json.loads(base64.b64decode(header, validate=False))
        signature = base64.b64decode(data["signature"])
        kid = str(data["kid"])
    except (ValueError, TypeError, KeyError, binascii.Error):
        return None
    if not isinstance(data, dict) or not KID_RE.match(kid) or not signature:
        return None
    return EbaySignature(
        kid=kid,
        signature=signature,
        digest=str(data.get("digest") or "SHA1").upper(),
        alg=str(data.get("alg") or "ECDSA").upper(),
    )


def _pem(key_text: str) -> bytes:
    """eBay sends the PEM on one line; put the base64 body back on 64-character lines."""
    match = PEM_RE.search(key_text or "")
    if not match:
        raise NotificationKeyUnavailable("eBay's answer held no public key.")
    body = "".join(match.group(1).split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n").encode("ascii")


def _api_base(environment: str) -> str:
    return settings.EBAY_API_BASE_URLS[environment].rstrip("/")


def ebay_application_token(*, http: httpx.Client, environment: str) -> str:
    """An application access token (client credentials grant), kept in the cache until it expires."""
    key = APP_TOKEN_CACHE_KEY.format(environment=environment)
    token = cache.get(key)
    if token:
        return token
    if not (settings.EBAY_CLIENT_ID and settings.EBAY_CLIENT_SECRET):
        raise NotificationKeyUnavailable("EBAY_CLIENT_ID and EBAY_CLIENT_SECRET are not set.")
    basic = base64.b64encode(f"{settings.EBAY_CLIENT_ID}:{settings.EBAY_CLIENT_SECRET}".encode()).decode()
    try:
        response = http.post(
            f"{_api_base(environment)}{TOKEN_PATH}",
            data={"grant_type": "client_credentials", "scope": APP_SCOPE},
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        )
    except httpx.HTTPError as exc:
        raise NotificationKeyUnavailable(f"eBay's token endpoint could not be reached ({type(exc).__name__}).")
    if response.status_code != 200:
        raise NotificationKeyUnavailable(f"eBay refused an application token (HTTP {response.status_code}).")
    try:
        body = response.json()
        token = body["access_token"]
    except (ValueError, KeyError, TypeError):
        raise NotificationKeyUnavailable("eBay's token answer could not be read.")
    expires_in = int(body.get("expires_in") or 7200)
    cache.set(key, token, timeout=max(60, expires_in - 120))
    return token


def ebay_notification_public_key(kid: str, *, http: httpx.Client | None = None, environment: str | None = None):
    """eBay's public key `kid` (from the Notification API's getPublicKey), cached for a while.

    Returns (key, digest name). Raises NotificationKeyUnavailable when it cannot be had now.
    """
    environment = environment or settings.EBAY_NOTIFICATION_ENVIRONMENT
    if not KID_RE.match(kid or ""):
        raise NotificationKeyUnavailable("Not a key id.")
    cache_key = PUBLIC_KEY_CACHE_KEY.format(environment=environment, kid=kid)
    cached = cache.get(cache_key)
    if cached is None:
        client = http or httpx.Client(timeout=httpx.Timeout(settings.MARKETPLACE_HTTP_TIMEOUT))
        try:
            token = ebay_application_token(http=client, environment=environment)
            try:
                response = client.get(
                    f"{_api_base(environment)}{PUBLIC_KEY_PATH.format(kid=kid)}",
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                )
            except httpx.HTTPError as exc:
                raise NotificationKeyUnavailable(
                    f"eBay's Notification API could not be reached ({type(exc).__name__})."
                )
            if response.status_code != 200:
                raise NotificationKeyUnavailable(f"eBay did not give public key {kid} (HTTP {response.status_code}).")
            try:
                body = response.json()
                cached = {"key": body["key"], "digest": str(body.get("digest") or "SHA1").upper()}
            except (ValueError, KeyError, TypeError):
                raise NotificationKeyUnavailable("eBay's public key answer could not be read.")
        finally:
            if http is None:
                client.close()
        _pem(cached["key"])  # refuse to keep something that is not a key
        cache.set(cache_key, cached, timeout=settings.EBAY_NOTIFICATION_KEY_CACHE_SECONDS)
    try:
        key = serialization.load_pem_public_key(_pem(cached["key"]))
    except (ValueError, UnsupportedAlgorithm):
        cache.delete(cache_key)
        raise NotificationKeyUnavailable(f"eBay's public key {kid} could not be loaded.")
    return key, cached["digest"]


def _signed_texts(raw_body: bytes) -> list[bytes]:
    """What eBay may have signed: the body as received, else its compact JSON form (eBay's own
    SDKs verify the re-serialised message; the two are the same for eBay's compact bodies)."""
    texts = [raw_body]
    try:
        compact = json.dumps(json.loads(raw_body), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except ValueError:
        return texts
    if compact != raw_body:
        texts.append(compact)
    return texts


def ebay_notification_verify(raw_body: bytes, header: str | None, *, http: httpx.Client | None = None) -> bool:
    """True when X-EBAY-SIGNATURE is eBay's ECDSA signature of the body.

    False for a missing, malformed or wrong signature; NotificationKeyUnavailable when eBay's
    key cannot be fetched now (the caller answers 500 so that eBay tries again later).
    """
    signature = ebay_signature_decode(header)
    if signature is None or signature.alg not in ("ECDSA", "ES256", "EC"):
        return False
    key, key_digest = ebay_notification_public_key(signature.kid, http=http)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    digest = DIGESTS.get(signature.digest) or DIGESTS.get(key_digest)
    if digest is None:
        return False
    for text in _signed_texts(raw_body):
        try:
            key.verify(signature.signature, text, ec.ECDSA(digest()))
        except InvalidSignature:
            continue
        return True
    return False


def ebay_deleted_user(payload) -> dict | None:
    """{username, user_id, eias_token} of an account deletion notification, or None."""
    if not isinstance(payload, dict):
        return None
    topic = (payload.get("metadata") or {}).get("topic")
    data = (payload.get("notification") or {}).get("data") or {}
    if topic != ACCOUNT_DELETION_TOPIC or not isinstance(data, dict):
        return None
    user = {
        "username": str(data.get("username") or "").strip(),
        "user_id": str(data.get("userId") or "").strip(),
        "eias_token": str(data.get("eiasToken") or "").strip(),
    }
    return user if user["username"] or user["user_id"] else None


def ebay_account_erase(user: dict) -> list[int]:
    """Forget what we hold of a deleted eBay account: every eBay store named after its user name
    or user id loses its credentials and its name, and every eBay order it bought loses the ship-to
    address and the buyer's user name. Returns the store ids."""
    match = Q()
    if user.get("username"):
        match |= Q(account_name__iexact=user["username"])
    if user.get("user_id"):
        match |= Q(account_name=user["user_id"])
    stores = list(StoreAccount.objects.filter(match, marketplace=Marketplace.EBAY).select_related("user"))
    for store in stores:
        store_credentials_erase(store, reason=EBAY_ACCOUNT_DELETED_MESSAGE, account_name=DELETED_EBAY_ACCOUNT_NAME)
    if stores:
        logger.info("eBay account deletion: credentials of %d store(s) erased", len(stores))
    orders = ebay_buyer_erase(username=user.get("username", ""))
    if orders:
        logger.info("eBay account deletion: buyer data of %d order(s) erased", len(orders))
    return [store.pk for store in stores]


# --- Shopify: privacy webhooks ---------------------------------------------------------------


def shopify_webhook_verify(raw_body: bytes, header: str | None, *, secret: str | None = None) -> bool:
    """True when X-Shopify-Hmac-Sha256 is base64(HMAC-SHA256(app client secret, raw body))."""
    secret = settings.SHOPIFY_CLIENT_SECRET if secret is None else secret
    if not secret or not header:
        return False
    expected = base64.b64encode(hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, header.strip().encode("ascii", "replace"))


def shopify_customer_topic(topic: str, payload: dict) -> list[int]:
    """customers/redact wipes the named orders' addresses; customers/data_request tells the shop's
    seller which orders hold the customer's data. Returns the orders concerned."""
    shop = str(payload.get("shop_domain") or "")
    if topic == "customers/redact":
        erased = shopify_customer_redact(shop_domain=shop, order_ids=payload.get("orders_to_redact") or [])
        logger.info("Shopify customers/redact: buyer data of %d order(s) erased", len(erased))
        return erased
    request_id = (
        (payload.get("data_request") or {}).get("id") if isinstance(payload.get("data_request"), dict) else None
    )
    return shopify_customer_data_request(
        shop_domain=shop, order_ids=payload.get("orders_requested") or [], request_id=request_id
    )


def shopify_shop_erase(shop_domain: str) -> list[int]:
    """shop/redact: forget the credentials of every store of that shop. Returns the store ids."""
    shop = (shop_domain or "").strip().lower()
    if not shop:
        return []
    stores = list(
        StoreAccount.objects.filter(marketplace=Marketplace.SHOPIFY, shop_domain__iexact=shop).select_related("user")
    )
    for store in stores:
        store_credentials_erase(store, reason=SHOP_REDACTED_MESSAGE)
    return [store.pk for store in stores]
