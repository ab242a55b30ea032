"""Etsy Open API v3: OAuth 2 with PKCE (S256) and the shop's listings, inventory and receipts.

Every request carries `x-api-key: <keystring>:<shared secret>`; calls that need a scope add the
seller's Bearer token. Paths and shapes follow the official spec (shared/contracts/etsy). Our
external id is Etsy's listing id; the SKU lives on the listing's inventory, so a retried publish
looks the SKU up in the shop's listings before creating a draft.

Etsy's limits are per application: a per-second limit (kept client-side, across processes,
in the shared cache) and a daily quota (its `x-remaining-today` header is remembered so the
services can spend what is left by priority: `daily_quota_remaining()`).

Etsy takes no image URLs: a listing needs at least one uploaded image before it can go active,
so publish downloads the product's images itself and uploads them (uploadListingImage). The
downloads go through the catalog's guarded transport, which connects only to public addresses
(checked when the socket opens, on every redirect hop), and keep only real images of a bounded size.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.core.cache import cache

from catalog.fetching import transport
from catalog.fetching.results import FetchError

from . import (
    QUOTA_EXHAUSTED_MESSAGE,
    AuthorizationRequest,
    ItemResult,
    ListingData,
    ListingRef,
    MarketplaceClient,
    MarketplaceError,
    NeedsReauth,
    NotFound,
    OrderLine,
    PriceQuantity,
    QuotaExhausted,
    Rejected,
    RemoteOrder,
    RemoteState,
    RemoteStatus,
    ShipmentRequest,
    ShipTo,
    TokenSet,
    TrafficRow,
    expires_at_from,
    pkce_pair,
    usage_count,
)

API = "/v3/application"
USAGE = "etsy:requests"
REMAINING_TODAY_KEY = "marketplaces:etsy:remaining_today"
PAGE = 100
REQUIRED_PUBLISH_SETTINGS = ("taxonomy_id", "shipping_profile_id", "readiness_state_id", "who_made", "when_made")
MISSING_SETTINGS_MESSAGE = "Etsy needs these store defaults before publishing: {names}."
STATE_MAP = {
    "active": RemoteStatus.ACTIVE,
    "sold_out": RemoteStatus.ACTIVE,
    "inactive": RemoteStatus.PAUSED,
    "draft": RemoteStatus.DRAFT,
    "expired": RemoteStatus.ENDED,
}
LOOKUP_STATES = ("draft", "inactive", "active")
IMAGE_LIMIT = 10  # Etsy shows at most 10 images a listing
IMAGE_MAX_BYTES = 10 * 1024 * 1024  # the transport also stops reading at SCRAPER_MAX_RESPONSE_BYTES
IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
NO_IMAGES_MESSAGE = "Etsy needs at least one image: none of the product's images could be fetched"

logger = logging.getLogger(__name__)


def daily_quota_remaining() -> int | None:
    """Requests left today for our Etsy application, as Etsy last said (None: not known yet)."""
    return cache.get(REMAINING_TODAY_KEY)


def _image_type(content: bytes) -> str | None:
    """The image type the bytes really are (by signature), so an error page labelled image/jpeg is not uploaded."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def fetch_image(url: str) -> tuple[str, bytes] | None:
    """Download one product image safely: (content type, bytes), or None when it is not usable.

    Only public addresses are contacted (catalog.netsafety, enforced by the transport when it
    connects and on each redirect); the answer must be HTTP 200, declare a JPEG, PNG, GIF or WebP
    type, carry that type's bytes, and stay under IMAGE_MAX_BYTES.
    """
    headers = {"User-Agent": settings.SCRAPER_USER_AGENT, "Accept": ", ".join(IMAGE_TYPES)}
    try:
        raw = transport.send(url, headers=headers, max_bytes=IMAGE_MAX_BYTES)
    except (FetchError, httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # UnsafeURL is a ValueError
        logger.info("Etsy image skipped, %s could not be fetched: %s", url, exc)
        return None
    declared = raw.headers.get("content-type", "").split(";")[0].strip().lower()
    actual = _image_type(raw.content)
    if raw.status_code != 200 or declared not in IMAGE_TYPES or actual != declared:
        logger.info("Etsy image skipped, %s is not an image (HTTP %s, %s)", url, raw.status_code, declared)
        return None
    return declared, raw.content


def _money(value) -> Decimal | None:
    """Etsy Money {amount, divisor} → Decimal."""
    if not value:
        return None
    return Decimal(value["amount"]) / Decimal(value["divisor"] or 1)


class EtsyClient(MarketplaceClient):
    """One seller's Etsy shop."""

    marketplace = "etsy"
    app_secret_settings = ("ETSY_SHARED_SECRET",)

    def __init__(self, store, *, shop_id: int | None = None, **kwargs):
        super().__init__(store, **kwargs)
        self.base = settings.ETSY_API_BASE_URL.rstrip("/")
        self._shop_id = shop_id

    # --- OAuth ------------------------------------------------------------------------------

    def authorization_url(self, *, state: str | None = None) -> AuthorizationRequest:
        """Consent URL with a PKCE challenge; keep the returned code_verifier for the exchange."""
        state = state or secrets.token_urlsafe(24)
        verifier, challenge = pkce_pair()
        query = {
            "response_type": "code",
            "client_id": settings.ETSY_KEYSTRING,
            "redirect_uri": settings.ETSY_REDIRECT_URI,
            "scope": " ".join(settings.ETSY_SCOPES),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return AuthorizationRequest(
            url=f"{settings.ETSY_AUTHORIZE_URL}?{urlencode(query)}", state=state, code_verifier=verifier
        )

    def exchange_code(self, code: str, *, code_verifier: str | None = None) -> TokenSet:
        if not code_verifier:
            raise ValueError("Etsy's code exchange needs the PKCE code_verifier of the authorization request.")
        return self._token_request(
            {
                "grant_type": "authorization_code",
                "client_id": settings.ETSY_KEYSTRING,
                "redirect_uri": settings.ETSY_REDIRECT_URI,
                "code": code,
                "code_verifier": code_verifier,
            }
        )

    def refresh_tokens(self) -> TokenSet:
        if not self.store.oauth_refresh_token:
            raise NeedsReauth()
        return self._token_request(
            {
                "grant_type": "refresh_token",
                "client_id": settings.ETSY_KEYSTRING,
                "refresh_token": self.store.oauth_refresh_token,
            }
        )

    def _token_request(self, form: dict) -> TokenSet:
        self._throttle()
        response = self._send("POST", settings.ETSY_TOKEN_URL, data=form, headers={"x-api-key": self._api_key()})
        self._note_limits(response)
        body = self._json(response) or {}
        if response.status_code in (400, 401) and body.get("error") in ("invalid_grant", "invalid_token"):
            raise NeedsReauth()
        self._raise_for_status(response)
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),  # rotates on every refresh
            expires_at=expires_at_from(body.get("expires_in")),
        )

    # --- Requests ---------------------------------------------------------------------------

    @staticmethod
    def _api_key() -> str:
        return f"{settings.ETSY_KEYSTRING}:{settings.ETSY_SHARED_SECRET}"

    def _headers(self) -> dict:
        return {
            "x-api-key": self._api_key(),
            "Authorization": f"Bearer {self.store.oauth_token}",
            "Accept": "application/json",
        }

    def _throttle(self) -> None:
        """Keep under ETSY_REQUESTS_PER_SECOND across every process (shared per-second counter)."""
        limit = settings.ETSY_REQUESTS_PER_SECOND
        while True:
            now = self.clock()
            key = f"marketplaces:etsy:second:{math.floor(now)}"
            cache.add(key, 0, timeout=5)
            try:
                used = cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=5)
                used = 1
            if used <= limit:
                return
            self.sleep(math.floor(now) + 1 - now)

    def _note_limits(self, response: httpx.Response) -> None:
        usage_count(USAGE, add=1)
        remaining = response.headers.get("x-remaining-today")
        if remaining is not None and remaining.strip().lstrip("-").isdigit():
            cache.set(REMAINING_TODAY_KEY, int(remaining), timeout=86400)

    def _call(self, method: str, path: str, *, allowed: Sequence[int] = (), **kwargs) -> httpx.Response:
        self._throttle()
        response = self._authorized(method, f"{self.base}{API}{path}", headers=self._headers, **kwargs)
        self._note_limits(response)
        if response.status_code == 429 and response.headers.get("x-remaining-today", "").strip() == "0":
            raise QuotaExhausted(QUOTA_EXHAUSTED_MESSAGE, retry_after=_seconds_to_midnight_utc())
        self._raise_for_status(response, allowed=allowed)
        return response

    def _rejection(self, response: httpx.Response) -> MarketplaceError:
        body = self._json(response)
        message = body.get("error") if isinstance(body, dict) else None
        message = message or f"Etsy refused the request (HTTP {response.status_code})."
        cls = NotFound if response.status_code == 404 else Rejected
        return cls(message, status=response.status_code, errors=[body] if isinstance(body, dict) else [])

    @property
    def shop_id(self) -> int:
        """The seller's shop id (getMe), remembered per store."""
        if self._shop_id is None:
            key = f"marketplaces:etsy:shop_id:{self.store.pk}"
            self._shop_id = cache.get(key) if self.store.pk else None
            if self._shop_id is None:
                self._shop_id = int(self._call("GET", "/users/me").json()["shop_id"])
                if self.store.pk:
                    cache.set(key, self._shop_id, timeout=None)
        return self._shop_id

    # --- Listing lifecycle ------------------------------------------------------------------

    def find_by_sku(self, sku: str) -> dict | None:
        """The shop's listing (draft, inactive or active) whose inventory carries our SKU."""
        for state in LOOKUP_STATES:
            for page in range(settings.ETSY_SKU_LOOKUP_PAGES):
                params = {
                    "state": state,
                    "limit": PAGE,
                    "offset": page * PAGE,
                    "includes": "Inventory",
                    "sort_on": "created",
                    "sort_order": "desc",
                }
                body = self._call("GET", f"/shops/{self.shop_id}/listings", params=params).json()
                results = body.get("results") or []
                for listing in results:
                    inventory_skus = [p.get("sku") for p in (listing.get("inventory") or {}).get("products") or []]
                    if sku in (listing.get("skus") or []) or sku in inventory_skus:
                        return listing
                if len(results) < PAGE:
                    break
        return None

    def _inventory_body(self, listing: ListingData) -> dict:
        return {
            "products": [
                {
                    "sku": listing.sku,
                    "property_values": [],
                    "offerings": [
                        {
                            "price": float(listing.price),
                            "quantity": listing.quantity,
                            "is_enabled": True,
                            "readiness_state_id": int(listing.publish_settings["readiness_state_id"]),
                        }
                    ],
                }
            ],
            "price_on_property": [],
            "quantity_on_property": [],
            "sku_on_property": [],
        }

    def publish(self, listing: ListingData) -> str:
        """Find by SKU or createDraftListing, set the inventory (SKU, price, quantity), upload the
        product's images to a draft that has none (unless `image_ids` are given), activate."""
        s = listing.publish_settings
        missing = [name for name in REQUIRED_PUBLISH_SETTINGS if not s.get(name)]
        if missing:
            raise Rejected(MISSING_SETTINGS_MESSAGE.format(names=", ".join(missing)))
        existing = self.find_by_sku(listing.sku)
        created = existing is None
        if created:
            form = {
                "quantity": listing.quantity,
                "title": listing.title[:140],
                "description": listing.description or listing.title,
                "price": str(listing.price),
                "who_made": s["who_made"],
                "when_made": s["when_made"],
                "taxonomy_id": int(s["taxonomy_id"]),
                "shipping_profile_id": int(s["shipping_profile_id"]),
                "readiness_state_id": int(s["readiness_state_id"]),
                "is_supply": bool(s.get("is_supply", False)),
            }
            if s.get("return_policy_id"):
                form["return_policy_id"] = int(s["return_policy_id"])
            if s.get("image_ids"):
                form["image_ids"] = ",".join(str(i) for i in s["image_ids"])
            draft = self._call("POST", f"/shops/{self.shop_id}/listings", data=form).json()
            listing_id, state = draft["listing_id"], draft.get("state", "draft")
        else:
            listing_id, state = existing["listing_id"], existing.get("state")
        try:
            self._call("PUT", f"/listings/{listing_id}/inventory", json=self._inventory_body(listing))
            if state == "draft" and not s.get("image_ids") and (created or not self._has_images(listing_id)):
                self._upload_images(listing_id, listing.image_urls)
        except MarketplaceError:
            if created:
                self._discard_draft(listing_id)  # a draft without our SKU (or images) is not left behind
            raise
        if state != "active":
            self._set_state(listing_id, "active")
        return str(listing_id)

    def _has_images(self, listing_id) -> bool:
        """A draft found again by SKU may already have its images (a publish interrupted after uploading)."""
        return bool(self._call("GET", f"/listings/{listing_id}/images").json().get("results"))

    def _upload_images(self, listing_id, urls: Sequence[str]) -> None:
        """uploadListingImage for each of the product's first IMAGE_LIMIT image URLs that can be
        fetched, ranked 1, 2, … in the product's order; Rejected when none could (a draft cannot go
        active without an image)."""
        rank = 0
        for url in list(dict.fromkeys(urls))[:IMAGE_LIMIT]:
            image = fetch_image(url)
            if image is None:
                continue
            content_type, content = image
            rank += 1
            self._call(
                "POST",
                f"/shops/{self.shop_id}/listings/{listing_id}/images",
                data={"rank": rank},
                files={"image": (f"image-{rank}.{IMAGE_TYPES[content_type]}", content, content_type)},
            )
        if rank == 0:
            raise Rejected(NO_IMAGES_MESSAGE)

    def _discard_draft(self, listing_id) -> None:
        with contextlib.suppress(MarketplaceError):
            self._call("DELETE", f"/listings/{listing_id}")

    def _set_state(self, listing_id, state: str) -> dict:
        return self._call("PATCH", f"/shops/{self.shop_id}/listings/{listing_id}", data={"state": state}).json()

    def update_price_quantity(self, items: Sequence[PriceQuantity]) -> list[ItemResult]:
        """updateListingInventory per listing (the API has no batch): read, change, write back."""
        return self._each_item(items, self._update_inventory)

    def _update_inventory(self, item: PriceQuantity) -> None:
        listing_id = item.ref.external_id
        current = self._call("GET", f"/listings/{listing_id}/inventory").json()
        products = []
        for product in current.get("products") or []:
            if product.get("is_deleted"):
                continue
            offerings = []
            for offering in product.get("offerings") or []:
                if offering.get("is_deleted"):
                    continue
                price = item.price if item.price is not None else _money(offering.get("price"))
                offerings.append(
                    {
                        "price": float(price),
                        "quantity": item.quantity if item.quantity is not None else offering.get("quantity", 0),
                        "is_enabled": offering.get("is_enabled", True),
                        "readiness_state_id": offering.get("readiness_state_id"),
                    }
                )
            values = [
                {key: value[key] for key in ("property_id", "value_ids", "values", "scale_id") if key in value}
                for value in product.get("property_values") or []
            ]
            products.append({"sku": product.get("sku"), "property_values": values, "offerings": offerings})
        body = {
            "products": products,
            "price_on_property": current.get("price_on_property") or [],
            "quantity_on_property": current.get("quantity_on_property") or [],
            "sku_on_property": current.get("sku_on_property") or [],
        }
        self._call("PUT", f"/listings/{listing_id}/inventory", json=body)

    def pause(self, ref: ListingRef) -> None:
        """Pause = state inactive: the listing stays in the shop, hidden from buyers."""
        self._set_state(ref.external_id, "inactive")

    def resume(self, ref: ListingRef, *, quantity: int) -> str:
        self._update_inventory(PriceQuantity(ref=ref, quantity=quantity))
        self._set_state(ref.external_id, "active")
        return str(ref.external_id)

    def end(self, ref: ListingRef) -> None:
        """End = deleteListing (pause already uses inactive); a listing already gone counts as ended."""
        self._call("DELETE", f"/listings/{ref.external_id}", allowed=(404,))

    def get_remote_state(self, ref: ListingRef) -> RemoteState:
        response = self._call("GET", f"/listings/{ref.external_id}", allowed=(404,))
        if response.status_code == 404:
            return RemoteState(status=RemoteStatus.MISSING, external_id=str(ref.external_id))
        listing = response.json()
        price = listing.get("price") or {}
        state = listing.get("state", "")
        return RemoteState(
            status=STATE_MAP.get(state, RemoteStatus.ENDED),
            external_id=str(listing["listing_id"]),
            price=_money(price),
            quantity=0 if state == "sold_out" else listing.get("quantity"),
            currency=price.get("currency_code"),
            raw_status=state,
        )

    # --- Store defaults ---------------------------------------------------------------------

    def fetch_publish_defaults(self) -> dict:
        """The shop's first shipping profile and processing profile (readiness state) as publish
        settings. Taxonomy, who_made and when_made describe the goods: the seller's choice."""
        defaults: dict = {}
        profiles = self._call("GET", f"/shops/{self.shop_id}/shipping-profiles").json().get("results") or []
        live = [p for p in profiles if not p.get("is_deleted")]
        if live:
            defaults["shipping_profile_id"] = int(live[0]["shipping_profile_id"])
        readiness = self._call(
            "GET", f"/shops/{self.shop_id}/readiness-state-definitions", params={"limit": 25, "offset": 0}
        ).json()
        states = readiness.get("results") or []
        if states and states[0].get("readiness_state_id"):
            defaults["readiness_state_id"] = int(states[0]["readiness_state_id"])
        return defaults

    # --- Orders and traffic -----------------------------------------------------------------

    def fetch_remote_orders(self, since: datetime) -> list[RemoteOrder]:
        """Receipts modified since `since`, one line per transaction. Fees are not in receipts."""
        params = {"min_last_modified": int(since.timestamp()), "limit": PAGE, "offset": 0}
        orders: list[RemoteOrder] = []
        while True:
            body = self._call("GET", f"/shops/{self.shop_id}/receipts", params=params).json()
            receipts = body.get("results") or []
            orders.extend(_remote_order(receipt) for receipt in receipts)
            params = {**params, "offset": params["offset"] + PAGE}
            if len(receipts) < PAGE or params["offset"] >= (body.get("count") or 0):
                return orders

    def ship(self, shipment: ShipmentRequest) -> str:
        """createReceiptShipment: the whole receipt ships with one tracking code (Etsy emails the buyer)."""
        form = {"tracking_code": shipment.tracking_number, "carrier_name": shipment.carrier}
        body = self._call("POST", f"/shops/{self.shop_id}/receipts/{shipment.order_id}/tracking", data=form).json()
        ours = [s for s in (body or {}).get("shipments") or [] if s.get("tracking_code") == shipment.tracking_number]
        return str(ours[-1].get("receipt_shipping_id") or "") if ours else ""

    def fetch_traffic(self, external_ids: Sequence[str], day: date) -> list[TrafficRow]:
        """Each listing's cumulative views (getListingsByListingIds, 100 a call); the day's
        views are the difference from the previous day's snapshot (source etsy_views_delta)."""
        rows = []
        ids = [str(i) for i in external_ids]
        for start in range(0, len(ids), PAGE):
            chunk = ids[start : start + PAGE]
            body = self._call("GET", "/listings/batch", params={"listing_ids": ",".join(chunk)}).json()
            for listing in body.get("results") or []:
                views = listing.get("views")
                rows.append(
                    TrafficRow(
                        external_id=str(listing["listing_id"]),
                        date=day,
                        views=None if views is None else int(views),
                        clicks=None,
                        source="etsy_views_delta",
                        cumulative=True,
                    )
                )
        return rows


def _epoch(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _remote_order(receipt: dict) -> RemoteOrder:
    ordered_at = datetime.fromtimestamp(receipt.get("created_timestamp") or 0, tz=UTC)
    status = receipt.get("status") or ""
    cancelled = status == "canceled"
    lines = []
    for transaction in receipt.get("transactions") or []:
        price = transaction.get("price") or {}
        lines.append(
            OrderLine(
                order_id=str(receipt["receipt_id"]),
                line_id=str(transaction["transaction_id"]),
                sku=transaction.get("sku"),
                external_id=str(transaction["listing_id"]) if transaction.get("listing_id") else None,
                quantity=int(transaction.get("quantity") or 0),
                unit_price=_money(price) or Decimal("0"),
                currency=price.get("currency_code", ""),
                ordered_at=ordered_at,
                fees=None,
                cancelled=cancelled,
                title=transaction.get("title") or "",
                ship_by=_epoch(transaction.get("expected_ship_date")),
            )
        )
    ship_by = [line.ship_by for line in lines if line.ship_by is not None]
    ship_to = ShipTo(
        name=receipt.get("name") or "",
        line1=receipt.get("first_line") or "",
        line2=receipt.get("second_line") or "",
        city=receipt.get("city") or "",
        state=receipt.get("state") or "",
        postal_code=receipt.get("zip") or "",
        country=receipt.get("country_iso") or "",
    )
    return RemoteOrder(
        order_id=str(receipt["receipt_id"]),
        number=str(receipt["receipt_id"]),
        ordered_at=ordered_at,
        currency=next((line.currency for line in lines if line.currency), ""),
        lines=lines,
        buyer_username=str(receipt.get("buyer_user_id") or ""),
        ship_by=min(ship_by) if ship_by else None,
        ship_to=None if ship_to.is_empty else ship_to,
        cancelled=cancelled,
        refunded=status == "fully refunded",
        shipped=bool(receipt.get("is_shipped")),
    )


def _seconds_to_midnight_utc() -> float:
    now = datetime.now(tz=UTC)
    tomorrow = datetime(now.year, now.month, now.day, tzinfo=UTC).timestamp() + 86400
    return max(60.0, tomorrow - now.timestamp())
