"""eBay: OAuth (authorization code with RuName), Sell Inventory, Fulfillment and Analytics APIs.

Paths and shapes follow eBay's OpenAPI specs (shared/contracts/ebay). The listing's SKU is the
key: the inventory item PUT is idempotent, an existing offer for the SKU is reused, so a retried
publish never creates a second listing. Our external id is eBay's listing id.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.utils.dateparse import parse_datetime

from . import (
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
    Rejected,
    RemoteOrder,
    RemoteState,
    RemoteStatus,
    Retryable,
    ShipmentRequest,
    ShipTo,
    TokenSet,
    TrafficRow,
    expires_at_from,
    usage_count,
)

INVENTORY = "/sell/inventory/v1"
ACCOUNT = "/sell/account/v1"
FULFILLMENT = "/sell/fulfillment/v1"
ANALYTICS = "/sell/analytics/v1"
TOKEN_PATH = "/identity/v1/oauth2/token"
TRAFFIC_USAGE = "ebay:traffic_report"
TRAFFIC_MAX_LISTINGS = 200  # listing_ids filter limit per call
ORDERS_PAGE = 200
REQUIRED_PUBLISH_SETTINGS = (
    "category_id",
    "merchant_location_key",
    "fulfillment_policy_id",
    "payment_policy_id",
    "return_policy_id",
)
MISSING_SETTINGS_MESSAGE = "eBay needs these store defaults before publishing: {names}."
NO_OFFER_MESSAGE = "eBay has no offer for SKU {sku}."
OFFER_EXISTS_ERROR_ID = 25002
TRAFFIC_METRICS = (
    "LISTING_IMPRESSION_TOTAL",
    "LISTING_VIEWS_TOTAL",
    "LISTING_VIEWS_SOURCE_SEARCH_RESULTS_PAGE",
    "CLICK_THROUGH_RATE",
)
TWO_PLACES = Decimal("0.01")
# (publish setting, Account API path, list key, id key) of the business policies a listing needs.
POLICY_KINDS = (
    ("fulfillment_policy_id", "/fulfillment_policy", "fulfillmentPolicies", "fulfillmentPolicyId"),
    ("payment_policy_id", "/payment_policy", "paymentPolicies", "paymentPolicyId"),
    ("return_policy_id", "/return_policy", "returnPolicies", "returnPolicyId"),
)
NON_MOTORS = "ALL_EXCLUDING_MOTORS_VEHICLES"
# eBay's shipping carrier codes (GeteBayDetails ShippingCarrierDetails) for the names sellers type.
CARRIER_CODES = {
    "usps": "USPS",
    "ups": "UPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "dhl express": "DHL",
    "royal mail": "RoyalMail",
    "canada post": "CanadaPost",
    "deutsche post": "DeutschePost",
    "hermes": "Hermes",
    "evri": "Hermes",
    "australia post": "AustraliaPost",
    "yanwen": "Yanwen",
    "china post": "ChinaPost",
    "4px": "FourPX",
    "cainiao": "Cainiao",
}
REFUNDED_PAYMENT_STATUS = "FULLY_REFUNDED"
FULFILLED_STATUS = "FULFILLED"


def carrier_code(carrier: str) -> str:
    """eBay's code for a carrier name a seller typed ("Royal Mail" → RoyalMail); other names as typed."""
    return CARRIER_CODES.get(" ".join(carrier.lower().split()), carrier.strip())


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(TWO_PLACES))


def _amount(obj) -> Decimal | None:
    if not obj or obj.get("value") in (None, ""):
        return None
    return Decimal(str(obj["value"]))


class EbayClient(MarketplaceClient):
    """One seller's eBay store (production or sandbox host from `store.environment`)."""

    marketplace = "ebay"
    app_secret_settings = ("EBAY_CLIENT_SECRET",)

    def __init__(self, store, *, marketplace_id: str | None = None, **kwargs):
        super().__init__(store, **kwargs)
        env = store.environment or "production"
        self.api_base = settings.EBAY_API_BASE_URLS[env].rstrip("/")
        self.auth_base = settings.EBAY_AUTH_BASE_URLS[env].rstrip("/")
        self.marketplace_id = marketplace_id or settings.EBAY_MARKETPLACE_ID
        self._offers: dict[str, dict | None] = {}

    # --- OAuth ------------------------------------------------------------------------------

    def authorization_url(self, *, state: str | None = None, prompt_login: bool = False) -> AuthorizationRequest:
        state = state or secrets.token_urlsafe(24)
        query = {
            "client_id": settings.EBAY_CLIENT_ID,
            "redirect_uri": settings.EBAY_RUNAME,
            "response_type": "code",
            "scope": " ".join(settings.EBAY_SCOPES),
            "state": state,
        }
        if prompt_login:
            query["prompt"] = "login"
        return AuthorizationRequest(url=f"{self.auth_base}/oauth2/authorize?{urlencode(query)}", state=state)

    def exchange_code(self, code: str, *, code_verifier: str | None = None) -> TokenSet:
        return self._token_request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": settings.EBAY_RUNAME}
        )

    def refresh_tokens(self) -> TokenSet:
        if not self.store.oauth_refresh_token:
            raise NeedsReauth()
        return self._token_request(
            {
                "grant_type": "refresh_token",
                "refresh_token": self.store.oauth_refresh_token,
                "scope": " ".join(settings.EBAY_SCOPES),
            }
        )

    def _token_request(self, form: dict) -> TokenSet:
        basic = base64.b64encode(f"{settings.EBAY_CLIENT_ID}:{settings.EBAY_CLIENT_SECRET}".encode()).decode()
        response = self._send(
            "POST",
            f"{self.api_base}{TOKEN_PATH}",
            data=form,
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        body = self._json(response) or {}
        if response.status_code == 400 and body.get("error") == "invalid_grant":
            raise NeedsReauth()
        self._raise_for_status(response)
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),  # eBay does not rotate it on refresh
            expires_at=expires_at_from(body.get("expires_in")),
            refresh_expires_at=expires_at_from(body.get("refresh_token_expires_in")),
        )

    # --- Requests ---------------------------------------------------------------------------

    def _headers(self, *, content_language: bool = False, json_body: bool = False) -> dict:
        headers = {"Authorization": f"Bearer {self.store.oauth_token}", "Accept": "application/json"}
        if json_body:
            headers["Content-Type"] = "application/json"
        if content_language:
            headers["Content-Language"] = settings.EBAY_CONTENT_LANGUAGE
        return headers

    def _call(
        self,
        method: str,
        path: str,
        *,
        params=None,
        json=None,
        content_language=False,
        allowed: Sequence[int] = (),
    ) -> httpx.Response:
        response = self._authorized(
            method,
            f"{self.api_base}{path}",
            headers=lambda: self._headers(content_language=content_language, json_body=json is not None),
            params=params,
            json=json,
        )
        self._raise_for_status(response, allowed=allowed)
        return response

    def _rejection(self, response: httpx.Response) -> MarketplaceError:
        errors = (self._json(response) or {}).get("errors") or []
        status = response.status_code
        if errors and all(e.get("category") == "APPLICATION" for e in errors):
            return Retryable(errors[0].get("message") or "eBay had a temporary error.")
        message = "; ".join(e.get("longMessage") or e.get("message") or "" for e in errors if isinstance(e, dict))
        message = message or f"eBay refused the request (HTTP {status})."
        cls = NotFound if status == 404 else Rejected
        return cls(message, status=status, errors=errors)

    # --- Offers -----------------------------------------------------------------------------

    def find_offer(self, sku: str) -> dict | None:
        """The offer of this SKU on our marketplace (getOffers by sku), or None."""
        if sku in self._offers:
            return self._offers[sku]
        response = self._call(
            "GET", f"{INVENTORY}/offer", params={"sku": sku, "marketplace_id": self.marketplace_id}, allowed=(404,)
        )
        offers = [] if response.status_code == 404 else (self._json(response) or {}).get("offers") or []
        offer = next((o for o in offers if o.get("marketplaceId", self.marketplace_id) == self.marketplace_id), None)
        self._offers[sku] = offer
        return offer

    def _require_offer(self, sku: str) -> dict:
        offer = self.find_offer(sku)
        if offer is None:
            raise NotFound(NO_OFFER_MESSAGE.format(sku=sku), status=404)
        return offer

    def _offer_body(self, listing: ListingData) -> dict:
        s = listing.publish_settings
        return {
            "sku": listing.sku,
            "marketplaceId": s.get("marketplace_id") or self.marketplace_id,
            "format": "FIXED_PRICE",
            "availableQuantity": listing.quantity,
            "categoryId": str(s["category_id"]),
            "listingDescription": listing.description,
            "listingDuration": "GTC",
            "merchantLocationKey": s["merchant_location_key"],
            "pricingSummary": {"price": {"value": _money(listing.price), "currency": listing.currency}},
            "listingPolicies": {
                "fulfillmentPolicyId": str(s["fulfillment_policy_id"]),
                "paymentPolicyId": str(s["payment_policy_id"]),
                "returnPolicyId": str(s["return_policy_id"]),
            },
        }

    def _inventory_item_body(self, listing: ListingData) -> dict:
        product = {"title": listing.title[:80], "description": listing.description}
        if listing.aspects:
            product["aspects"] = {name: list(values) for name, values in listing.aspects.items()}
        if listing.image_urls:
            product["imageUrls"] = list(listing.image_urls)
        return {
            "availability": {"shipToLocationAvailability": {"quantity": listing.quantity}},
            "condition": listing.condition,
            "product": product,
        }

    # --- Listing lifecycle ------------------------------------------------------------------

    def publish(self, listing: ListingData) -> str:
        """Create or replace the inventory item, reuse or create its offer, publish it; the listing id."""
        missing = [name for name in REQUIRED_PUBLISH_SETTINGS if not listing.publish_settings.get(name)]
        if missing:
            raise Rejected(MISSING_SETTINGS_MESSAGE.format(names=", ".join(missing)))
        self._call(
            "PUT",
            f"{INVENTORY}/inventory_item/{listing.sku}",
            json=self._inventory_item_body(listing),
            content_language=True,
        )
        offer_body = self._offer_body(listing)
        offer = self.find_offer(listing.sku)
        if offer is None:
            try:
                response = self._call("POST", f"{INVENTORY}/offer", json=offer_body, content_language=True)
                offer_id = self._json(response)["offerId"]
            except Rejected as exc:
                if not any(e.get("errorId") == OFFER_EXISTS_ERROR_ID for e in exc.errors):
                    raise
                self._offers.pop(listing.sku, None)  # created by a concurrent try: reuse it
                offer = self._require_offer(listing.sku)
        if offer is not None:
            offer_id = offer["offerId"]
            listing_info = offer.get("listing") or {}
            if offer.get("status") == "PUBLISHED" and listing_info.get("listingId"):
                self._update_offer(offer_id, offer_body)
                return listing_info["listingId"]
            self._update_offer(offer_id, offer_body)
        response = self._call("POST", f"{INVENTORY}/offer/{offer_id}/publish")
        self._offers.pop(listing.sku, None)
        return self._json(response)["listingId"]

    def _update_offer(self, offer_id: str, body: dict) -> None:
        body = {key: value for key, value in body.items() if key not in ("sku", "marketplaceId", "format")}
        self._call("PUT", f"{INVENTORY}/offer/{offer_id}", json=body, content_language=True)

    def update_price_quantity(self, items: Sequence[PriceQuantity]) -> list[ItemResult]:
        """One bulkUpdatePriceQuantity call per SKU (the API takes the offers of ONE SKU per call).

        A 429 stops the round: the items not sent yet come back as Retryable, not as calls
        that would be refused too. NeedsReauth stops everything.
        """
        return self._each_item(items, self._bulk_update)

    def _bulk_update(self, item: PriceQuantity) -> None:
        request: dict = {"sku": item.ref.sku}
        if item.quantity is not None:
            request["shipToLocationAvailability"] = {"quantity": item.quantity}
        if item.price is not None or item.quantity is not None:
            offer = self._require_offer(item.ref.sku)
            entry: dict = {"offerId": offer["offerId"]}
            if item.quantity is not None:
                entry["availableQuantity"] = item.quantity
            if item.price is not None:
                entry["price"] = {"value": _money(item.price), "currency": item.currency}
            request["offers"] = [entry]
        response = self._call("POST", f"{INVENTORY}/bulk_update_price_quantity", json={"requests": [request]})
        self._offers.pop(item.ref.sku, None)
        failures = [r for r in (self._json(response) or {}).get("responses", []) if r.get("statusCode", 200) >= 300]
        if failures:
            errors = [e for r in failures for e in r.get("errors") or []]
            message = self.redact("; ".join(e.get("longMessage") or e.get("message") or "" for e in errors))
            if errors and all(e.get("category") == "APPLICATION" for e in errors):
                raise Retryable(message or "eBay had a temporary error.")
            raise Rejected(message or "eBay refused the price/quantity update.", status=failures[0].get("statusCode"))

    def pause(self, ref: ListingRef) -> None:
        """Pause = quantity 0: the listing stays, nothing can be bought."""
        self._bulk_update(PriceQuantity(ref=ref, quantity=0))

    def resume(self, ref: ListingRef, *, quantity: int) -> str:
        """Give the listing its quantity back; an ended (withdrawn) offer is published again."""
        offer = self._require_offer(ref.sku)
        self._bulk_update(PriceQuantity(ref=ref, quantity=quantity))
        listing_info = offer.get("listing") or {}
        if offer.get("status") == "PUBLISHED" and listing_info.get("listingId"):
            return listing_info["listingId"]
        response = self._call("POST", f"{INVENTORY}/offer/{offer['offerId']}/publish")
        return self._json(response)["listingId"]

    def end(self, ref: ListingRef) -> None:
        """withdrawOffer: the listing ends, the offer stays (publishing it again relists)."""
        offer = self._require_offer(ref.sku)
        self._call("POST", f"{INVENTORY}/offer/{offer['offerId']}/withdraw")
        self._offers.pop(ref.sku, None)

    def get_remote_state(self, ref: ListingRef) -> RemoteState:
        self._offers.pop(ref.sku, None)
        offer = self.find_offer(ref.sku)
        if offer is None:
            return RemoteState(status=RemoteStatus.MISSING, external_id=ref.external_id)
        listing_info = offer.get("listing") or {}
        listing_status = listing_info.get("listingStatus") or ""
        if offer.get("status") == "PUBLISHED" and listing_status in ("", "ACTIVE", "OUT_OF_STOCK"):
            status = RemoteStatus.ACTIVE
        elif listing_info.get("listingId") or listing_status:
            status = RemoteStatus.ENDED
        else:
            status = RemoteStatus.DRAFT
        price = (offer.get("pricingSummary") or {}).get("price") or {}
        return RemoteState(
            status=status,
            external_id=listing_info.get("listingId") or ref.external_id,
            price=_amount(price),
            quantity=offer.get("availableQuantity"),
            currency=price.get("currency"),
            raw_status=listing_status or offer.get("status", ""),
        )

    # --- Store defaults ---------------------------------------------------------------------

    def fetch_publish_defaults(self) -> dict:
        """The seller's business policies (one of each kind, for non-vehicle categories) and first
        enabled inventory location, as publish settings. The category is the seller's choice."""
        defaults: dict = {}
        for setting, path, list_key, id_key in POLICY_KINDS:
            body = self._json(self._call("GET", f"{ACCOUNT}{path}", params={"marketplace_id": self.marketplace_id}))
            policies = (body or {}).get(list_key) or []
            suitable = [
                p
                for p in policies
                if not p.get("categoryTypes") or any(c.get("name") == NON_MOTORS for c in p["categoryTypes"])
            ]
            chosen = (suitable or policies or [None])[0]
            if chosen and chosen.get(id_key):
                defaults[setting] = str(chosen[id_key])
        body = self._json(self._call("GET", f"{INVENTORY}/location", params={"limit": 100, "offset": 0})) or {}
        enabled = [
            location
            for location in body.get("locations") or []
            if location.get("merchantLocationStatus", "ENABLED") == "ENABLED" and location.get("merchantLocationKey")
        ]
        if enabled:
            defaults["merchant_location_key"] = enabled[0]["merchantLocationKey"]
        return defaults

    # --- Orders -----------------------------------------------------------------------------

    def fetch_remote_orders(self, since: datetime) -> list[RemoteOrder]:
        """Orders modified since `since` (getOrders, 200 a page), with each line's share of the fee."""
        params = {"filter": f"lastmodifieddate:[{_iso_z(since)}..]", "limit": ORDERS_PAGE, "offset": 0}
        orders: list[RemoteOrder] = []
        while True:
            body = self._json(self._call("GET", f"{FULFILLMENT}/order", params=params)) or {}
            for order in body.get("orders") or []:
                orders.append(_remote_order(order))
            if not body.get("next") or not body.get("orders"):
                return orders
            params = {**params, "offset": params["offset"] + ORDERS_PAGE}

    def ship(self, shipment: ShipmentRequest) -> str:
        """createShippingFulfillment for the lines (one package); the fulfillment id from Location."""
        body = {
            "lineItems": [{"lineItemId": line_id, "quantity": quantity} for line_id, quantity in shipment.lines],
            "shippedDate": _iso_z(shipment.shipped_at),
            "shippingCarrierCode": carrier_code(shipment.carrier),
            "trackingNumber": shipment.tracking_number,
        }
        response = self._call("POST", f"{FULFILLMENT}/order/{shipment.order_id}/shipping_fulfillment", json=body)
        return response.headers.get("location", "").rstrip("/").rpartition("/")[2]

    # --- Traffic ----------------------------------------------------------------------------

    def fetch_traffic(self, external_ids: Sequence[str], day: date) -> list[TrafficRow]:
        """Per-listing views/impressions/clicks of one day: one getTrafficReport per 200 listings.

        eBay has no clicks metric: clicks are the views that came from a search results page
        (a click-through); when that is not applicable, CTR × impressions.
        """
        rows: list[TrafficRow] = []
        ids = [str(i) for i in external_ids]
        stamp = day.strftime("%Y%m%d")
        for start in range(0, len(ids), TRAFFIC_MAX_LISTINGS):
            chunk = ids[start : start + TRAFFIC_MAX_LISTINGS]
            params = {
                "dimension": "LISTING",
                "metric": ",".join(TRAFFIC_METRICS),
                "filter": (
                    f"marketplace_ids:{{{self.marketplace_id}}},"
                    f"date_range:[{stamp}..{stamp}],listing_ids:{{{'|'.join(chunk)}}}"
                ),
            }
            usage_count(TRAFFIC_USAGE, add=1)
            report = self._json(self._call("GET", f"{ANALYTICS}/traffic_report", params=params)) or {}
            rows.extend(_traffic_rows(report, day))
        return rows


def _iso_z(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _moment(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _ship_to(order: dict) -> ShipTo | None:
    """The buyer's ship-to contact of the order's shipping step, if eBay gives it."""
    for instruction in order.get("fulfillmentStartInstructions") or []:
        contact = (instruction.get("shippingStep") or {}).get("shipTo")
        if not contact:
            continue
        address = contact.get("contactAddress") or {}
        return ShipTo(
            name=contact.get("fullName") or "",
            company=contact.get("companyName") or "",
            line1=address.get("addressLine1") or "",
            line2=address.get("addressLine2") or "",
            city=address.get("city") or "",
            state=address.get("stateOrProvince") or "",
            postal_code=address.get("postalCode") or "",
            country=address.get("countryCode") or "",
            phone=(contact.get("primaryPhone") or {}).get("phoneNumber") or "",
        )
    return None


def _remote_order(order: dict) -> RemoteOrder:
    lines = _order_lines(order)
    ship_by = [line.ship_by for line in lines if line.ship_by is not None]
    currency = next((line.currency for line in lines if line.currency), "")
    return RemoteOrder(
        order_id=order["orderId"],
        number=order["orderId"],
        ordered_at=parse_datetime(order.get("creationDate") or ""),
        currency=currency or (order.get("totalMarketplaceFee") or {}).get("currency", ""),
        lines=lines,
        buyer_username=(order.get("buyer") or {}).get("username") or "",
        ship_by=min(ship_by) if ship_by else None,
        ship_to=_ship_to(order),
        fees=_amount(order.get("totalMarketplaceFee")),
        cancelled=(order.get("cancelStatus") or {}).get("cancelState") == "CANCELED",
        refunded=order.get("orderPaymentStatus") == REFUNDED_PAYMENT_STATUS,
        shipped=order.get("orderFulfillmentStatus") == FULFILLED_STATUS,
    )


def _order_lines(order: dict) -> list[OrderLine]:
    items = order.get("lineItems") or []
    ordered_at = parse_datetime(order.get("creationDate") or "")
    fee = _amount(order.get("totalMarketplaceFee"))
    cancelled = (order.get("cancelStatus") or {}).get("cancelState") == "CANCELED"
    totals = [(_amount(item.get("lineItemCost")) or Decimal("0")) for item in items]
    shares = _split(fee, totals) if fee is not None else [None] * len(items)
    lines = []
    for item, total, share in zip(items, totals, shares, strict=True):
        quantity = int(item.get("quantity") or 0)
        cost = item.get("lineItemCost") or {}
        unit = (total / quantity).quantize(TWO_PLACES, ROUND_HALF_UP) if quantity else total
        instructions = item.get("lineItemFulfillmentInstructions") or {}
        lines.append(
            OrderLine(
                order_id=order["orderId"],
                line_id=item.get("lineItemId", ""),
                sku=item.get("sku"),
                external_id=item.get("legacyItemId"),
                quantity=quantity,
                unit_price=unit,
                currency=cost.get("currency") or (order.get("totalMarketplaceFee") or {}).get("currency", ""),
                ordered_at=ordered_at,
                fees=share,
                cancelled=cancelled,
                title=item.get("title") or "",
                ship_by=_moment(instructions.get("shipByDate")),
            )
        )
    return lines


def _split(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` pro rata to `weights` in cents; the last share takes the rounding rest."""
    if not weights:
        return []
    whole = sum(weights)
    shares = []
    for weight in weights[:-1]:
        part = (total * weight / whole).quantize(TWO_PLACES, ROUND_HALF_UP) if whole else Decimal("0.00")
        shares.append(part)
    shares.append((total - sum(shares, Decimal("0"))).quantize(TWO_PLACES))
    return shares


def _metric(values: dict, key: str):
    value = values.get(key)
    if value is None or not value.get("applicable", True) or value.get("value") is None:
        return None
    return value["value"]


def _traffic_rows(report: dict, day: date) -> list[TrafficRow]:
    metrics = (report.get("header") or {}).get("metrics") or []
    keys = [m.get("key") for m in metrics]
    ctr_is_percent = any(m.get("key") == "CLICK_THROUGH_RATE" and m.get("dataType") == "PERCENTAGE" for m in metrics)
    rows = []
    for record in report.get("records") or []:
        dimension = (record.get("dimensionValues") or [{}])[0]
        values = dict(zip(keys, record.get("metricValues") or [], strict=False))
        views = _metric(values, "LISTING_VIEWS_TOTAL")
        impressions = _metric(values, "LISTING_IMPRESSION_TOTAL")
        clicks = _metric(values, "LISTING_VIEWS_SOURCE_SEARCH_RESULTS_PAGE")
        ctr = _metric(values, "CLICK_THROUGH_RATE")
        if clicks is None and ctr is not None and impressions is not None:
            rate = Decimal(str(ctr))
            rate = rate / 100 if ctr_is_percent else rate
            clicks = int((rate * int(impressions)).to_integral_value(ROUND_HALF_UP))
        rows.append(
            TrafficRow(
                external_id=str(dimension.get("value")),
                date=day,
                views=None if views is None else int(views),
                clicks=None if clicks is None else int(clicks),
                impressions=None if impressions is None else int(impressions),
                source="ebay_traffic_report",
            )
        )
    return rows
