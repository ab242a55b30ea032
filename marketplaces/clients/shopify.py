"""Shopify: authorization-code grant with expiring offline tokens, and the Admin GraphQL API.

A standalone (non-embedded) app on a pinned API version (settings.SHOPIFY_API_VERSION). Our
external id is the product's GID; the SKU is set on its single variant, so a retried publish
finds the product by SKU and updates it instead of creating another. Every document we send is
in `shopify_queries`. The cost-based throttle is respected before each call from the last
`extensions.cost.throttleStatus` seen for the shop (kept in the shared cache).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.utils.dateparse import parse_datetime

from . import (
    AuthorizationRequest,
    ItemResult,
    ListingData,
    ListingRef,
    MarketplaceClient,
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
)
from . import shopify_queries as q

SHOP_DOMAIN_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
INVALID_SHOP_MESSAGE = "A Shopify store address looks like your-store.myshopify.com."
MISSING_LOCATION_MESSAGE = "Choose the Shopify location that holds the stock before publishing."
NOT_FOUND_MESSAGE = "Shopify has no product {id}."
THROTTLED_MESSAGE = "Shopify's rate limit is reached for this store."
ORDERS_PAGE = 100
NOTHING_TO_FULFIL_MESSAGE = "Shopify has no open fulfillment order for these lines."
REFUNDED_STATUS = "REFUNDED"
FULFILLED_STATUS = "FULFILLED"
DELIVERED_STATUS = "DELIVERED"
FULFILLABLE_STATUSES = ("OPEN", "IN_PROGRESS")
STATUS_MAP = {
    "ACTIVE": RemoteStatus.ACTIVE,
    "UNLISTED": RemoteStatus.ACTIVE,
    "DRAFT": RemoteStatus.PAUSED,
    "ARCHIVED": RemoteStatus.ENDED,
}


def normalize_shop_domain(value: str) -> str:
    """`x.myshopify.com` from what a seller typed; anything else is refused (no other hosts)."""
    shop = (value or "").strip().lower()
    shop = re.sub(r"^https?://", "", shop).rstrip("/")
    if not SHOP_DOMAIN_RE.match(shop):
        raise Rejected(INVALID_SHOP_MESSAGE)
    return shop


def verify_callback(params: Mapping[str, str]) -> bool:
    """True when the OAuth callback's `hmac` is Shopify's signature of the other parameters.

    (Checking `state` against the session is the view's part.)
    """
    given = params.get("hmac", "")
    message = "&".join(f"{key}={value}" for key, value in sorted(params.items()) if key not in ("hmac", "signature"))
    expected = hmac.new(settings.SHOPIFY_CLIENT_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return bool(given) and hmac.compare_digest(expected, given)


def _user_errors_message(errors) -> str:
    return "; ".join(e.get("message", "") for e in errors)


class ShopifyClient(MarketplaceClient):
    """One seller's Shopify store (`store.shop_domain`)."""

    marketplace = "shopify"
    app_secret_settings = ("SHOPIFY_CLIENT_SECRET",)

    def __init__(self, store, **kwargs):
        super().__init__(store, **kwargs)
        self.shop = normalize_shop_domain(store.shop_domain)
        self.base = settings.SHOPIFY_SHOP_BASE_URL.format(shop=self.shop).rstrip("/")
        self.graphql_url = f"{self.base}/admin/api/{settings.SHOPIFY_API_VERSION}/graphql.json"

    # --- OAuth ------------------------------------------------------------------------------

    def authorization_url(self, *, state: str | None = None) -> AuthorizationRequest:
        state = state or secrets.token_urlsafe(24)
        query = {
            "client_id": settings.SHOPIFY_CLIENT_ID,
            "scope": ",".join(settings.SHOPIFY_SCOPES),
            "redirect_uri": settings.SHOPIFY_REDIRECT_URI,
            "state": state,
        }
        return AuthorizationRequest(url=f"{self.base}/admin/oauth/authorize?{urlencode(query)}", state=state)

    def exchange_code(self, code: str, *, code_verifier: str | None = None) -> TokenSet:
        return self._token_request({"code": code, "expiring": 1})

    def refresh_tokens(self) -> TokenSet:
        if not self.store.oauth_refresh_token:
            raise NeedsReauth()
        return self._token_request({"grant_type": "refresh_token", "refresh_token": self.store.oauth_refresh_token})

    def _token_request(self, fields: dict) -> TokenSet:
        body = {"client_id": settings.SHOPIFY_CLIENT_ID, "client_secret": settings.SHOPIFY_CLIENT_SECRET, **fields}
        response = self._send("POST", f"{self.base}/admin/oauth/access_token", json=body)
        data = self._json(response) or {}
        if response.status_code in (400, 401) and data.get("error") in ("invalid_grant", "invalid_request"):
            raise NeedsReauth()
        self._raise_for_status(response)
        return TokenSet(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            expires_at=expires_at_from(data.get("expires_in")),
            refresh_expires_at=expires_at_from(data.get("refresh_token_expires_in")),
            scope=data.get("scope", ""),
        )

    def revoke(self) -> bool:
        """Uninstall the app from the shop (REST api_permissions/current), which revokes its tokens."""
        response = self._authorized("DELETE", f"{self.base}/admin/api_permissions/current.json", headers=self._headers)
        self._raise_for_status(response)
        return True

    # --- GraphQL ----------------------------------------------------------------------------

    def _headers(self) -> dict:
        return {
            "X-Shopify-Access-Token": self.store.oauth_token or "",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    @property
    def _bucket_key(self) -> str:
        return f"marketplaces:shopify:bucket:{self.shop}"

    def _wait_for_bucket(self) -> None:
        """Sleep until the shop's leaky bucket is back above SHOPIFY_MIN_AVAILABLE_POINTS."""
        state = cache.get(self._bucket_key)
        if not state or state["restore"] <= 0:
            return
        elapsed = max(0.0, self.clock() - state["at"])
        available = min(state["maximum"], state["available"] + elapsed * state["restore"])
        wanted = min(settings.SHOPIFY_MIN_AVAILABLE_POINTS, state["maximum"])
        if available < wanted:
            self.sleep((wanted - available) / state["restore"])

    def _remember_bucket(self, extensions: dict) -> dict | None:
        status = ((extensions or {}).get("cost") or {}).get("throttleStatus")
        if not status:
            return None
        state = {
            "available": float(status["currentlyAvailable"]),
            "maximum": float(status["maximumAvailable"]),
            "restore": float(status["restoreRate"]),
            "at": self.clock(),
        }
        cache.set(self._bucket_key, state, timeout=300)
        return state

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """Run one document; returns `data`. Maps throttling, auth and request errors."""
        self._wait_for_bucket()
        response = self._authorized(
            "POST", self.graphql_url, headers=self._headers, json={"query": query, "variables": variables or {}}
        )
        body = self._json(response) or {}
        state = self._remember_bucket(body.get("extensions"))
        if response.status_code == 403:
            raise NeedsReauth()
        errors = body.get("errors") or []
        if isinstance(errors, list) and any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
            raise Retryable(THROTTLED_MESSAGE, retry_after=self._throttle_wait(body, state))
        self._raise_for_status(response)
        if errors:
            if isinstance(errors, str):
                raise Rejected(self.redact(errors), status=response.status_code)
            if any((e.get("extensions") or {}).get("code") == "ACCESS_DENIED" for e in errors):
                raise NeedsReauth()
            raise Rejected(self.redact(_user_errors_message(errors)), status=response.status_code, errors=errors)
        return body.get("data") or {}

    @staticmethod
    def _throttle_wait(body: dict, state: dict | None) -> float | None:
        if not state or state["restore"] <= 0:
            return None
        requested = float(((body.get("extensions") or {}).get("cost") or {}).get("requestedQueryCost") or 0)
        return max(1.0, (requested - state["available"]) / state["restore"])

    def _rejection(self, response):
        body = self._json(response) or {}
        message = body.get("errors") if isinstance(body, dict) else None
        if isinstance(message, list):
            message = _user_errors_message(message)
        if not isinstance(message, str) or not message:
            message = f"Shopify refused the request (HTTP {response.status_code})."
        cls = NotFound if response.status_code == 404 else Rejected
        return cls(message, status=response.status_code)

    @staticmethod
    def _check_user_errors(payload: dict | None) -> dict:
        if payload is None:
            raise Rejected("Shopify returned no result.")
        if payload.get("userErrors"):
            raise Rejected(_user_errors_message(payload["userErrors"]), errors=payload["userErrors"])
        return payload

    # --- Listing lifecycle ------------------------------------------------------------------

    def find_by_sku(self, sku: str) -> dict | None:
        """The variant carrying our SKU, with its product, or None."""
        data = self.graphql(q.PRODUCT_BY_SKU, {"query": f'sku:"{sku}"'})
        nodes = data["productVariants"]["nodes"]
        return next((n for n in nodes if n.get("sku") == sku), None)

    def publish(self, listing: ListingData) -> str:
        """productSet with our SKU, updating the product found by that SKU if there is one."""
        location_id = listing.publish_settings.get("location_id")
        if not location_id:
            raise Rejected(MISSING_LOCATION_MESSAGE)
        existing = self.find_by_sku(listing.sku)
        variant = {
            "optionValues": [{"optionName": "Title", "name": "Default Title"}],
            "price": str(listing.price),
            "sku": listing.sku,
            "inventoryItem": {"tracked": True, **({"cost": str(listing.cost)} if listing.cost is not None else {})},
            "inventoryQuantities": [{"locationId": location_id, "name": "available", "quantity": listing.quantity}],
        }
        if existing:
            variant["id"] = existing["id"]
        product = {
            "title": listing.title,
            "descriptionHtml": listing.description,
            "status": "ACTIVE",
            "productOptions": [{"name": "Title", "values": [{"name": "Default Title"}]}],
            "variants": [variant],
        }
        for key, name in (("vendor", "vendor"), ("product_type", "productType")):
            if listing.publish_settings.get(key):
                product[name] = listing.publish_settings[key]
        if listing.image_urls:
            product["files"] = [{"originalSource": url, "contentType": "IMAGE"} for url in listing.image_urls]
        variables = {"input": product, "identifier": {"id": existing["product"]["id"]} if existing else None}
        payload = self._check_user_errors(self.graphql(q.PRODUCT_SET, variables)["productSet"])
        return payload["product"]["id"]

    def _update_targets(self, product_ids: Sequence[str]) -> dict[str, dict]:
        """Variant, inventory item and location of each product (one read for the whole round)."""
        data = self.graphql(q.PRODUCTS_FOR_UPDATE, {"ids": list(product_ids)})
        targets = {}
        for node in data["nodes"]:
            if not node or node.get("__typename") != "Product":
                continue
            variant = (node["variants"]["nodes"] or [None])[0]
            if variant is None:
                continue
            levels = variant["inventoryItem"]["inventoryLevels"]["nodes"]
            targets[node["id"]] = {
                "variant_id": variant["id"],
                "inventory_item_id": variant["inventoryItem"]["id"],
                "location_id": levels[0]["location"]["id"] if levels else None,
            }
        return targets

    def update_price_quantity(self, items: Sequence[PriceQuantity]) -> list[ItemResult]:
        """Every price (productVariantsBulkUpdate per product, aliased) and every quantity (one
        inventorySetQuantities) of the round in a single mutation: one read, one write."""
        ids = list(dict.fromkeys(item.ref.external_id for item in items if item.ref.external_id))
        targets = self._update_targets(ids) if ids else {}
        errors: dict[int, Rejected] = {}
        variables: dict = {}
        price_aliases: dict[str, list[int]] = {}
        quantities, quantity_items = [], []
        for index, item in enumerate(items):
            target = targets.get(item.ref.external_id or "")
            if target is None:
                errors[index] = NotFound(NOT_FOUND_MESSAGE.format(id=item.ref.external_id), status=404)
                continue
            if item.price is not None:
                alias = f"p{len(price_aliases)}"
                variables[alias] = item.ref.external_id
                variables[f"v{len(price_aliases)}"] = [{"id": target["variant_id"], "price": str(item.price)}]
                price_aliases[alias] = [index]
            if item.quantity is not None:
                if target["location_id"] is None:
                    errors[index] = Rejected(MISSING_LOCATION_MESSAGE)
                    continue
                quantities.append(
                    {
                        "inventoryItemId": target["inventory_item_id"],
                        "locationId": target["location_id"],
                        "quantity": item.quantity,
                        "changeFromQuantity": None,
                    }
                )
                quantity_items.append(index)
        if price_aliases or quantities:
            if quantities:
                variables["inventory"] = {"name": "available", "reason": "correction", "quantities": quantities}
                variables["idempotencyKey"] = str(uuid.uuid4())
            data = self.graphql(q.price_quantity_mutation(len(price_aliases), bool(quantities)), variables)
            for alias, indexes in price_aliases.items():
                user_errors = (data.get(alias) or {}).get("userErrors") or []
                for index in indexes:
                    if user_errors:
                        errors[index] = Rejected(_user_errors_message(user_errors), errors=user_errors)
            inventory_errors = (data.get("inventory") or {}).get("userErrors") or []
            if inventory_errors:
                for index in quantity_items:
                    errors.setdefault(index, Rejected(_user_errors_message(inventory_errors), errors=inventory_errors))
        return [ItemResult(item.ref, errors.get(index)) for index, item in enumerate(items)]

    def _set_status(self, ref: ListingRef, status: str) -> None:
        data = self.graphql(q.PRODUCT_UPDATE_STATUS, {"product": {"id": ref.external_id, "status": status}})
        self._check_user_errors(data["productUpdate"])

    def pause(self, ref: ListingRef) -> None:
        """Pause = status DRAFT: the product stays, off every sales channel."""
        self._set_status(ref, "DRAFT")

    def resume(self, ref: ListingRef, *, quantity: int) -> str:
        self._set_status(ref, "ACTIVE")
        result = self.update_price_quantity([PriceQuantity(ref=ref, quantity=quantity)])[0]
        if result.error:
            raise result.error
        return ref.external_id

    def end(self, ref: ListingRef) -> None:
        """End = status ARCHIVED: off sale, kept with its order history (not deleted)."""
        self._set_status(ref, "ARCHIVED")

    def get_remote_state(self, ref: ListingRef) -> RemoteState:
        product = self.graphql(q.PRODUCT_STATE, {"id": ref.external_id})["product"]
        if product is None:
            return RemoteState(status=RemoteStatus.MISSING, external_id=ref.external_id)
        variant = (product["variants"]["nodes"] or [{}])[0]
        return RemoteState(
            status=STATUS_MAP.get(product["status"], RemoteStatus.ACTIVE),
            external_id=product["id"],
            price=Decimal(variant["price"]) if variant.get("price") is not None else None,
            quantity=variant.get("inventoryQuantity"),
            currency=getattr(self.store, "currency", None),
            raw_status=product["status"],
        )

    # --- Store defaults ---------------------------------------------------------------------

    def fetch_publish_defaults(self) -> dict:
        """The shop's first active location: where published products keep their stock."""
        nodes = self.graphql(q.LOCATIONS, {"first": 5})["locations"]["nodes"]
        return {"location_id": nodes[0]["id"]} if nodes else {}

    # --- Orders and traffic -----------------------------------------------------------------

    def has_scopes(self, names) -> bool:
        """Whether the store's grant covers `names` (a write scope implies its read scope)."""
        granted = set(getattr(self.store, "granted_scopes", None) or [])
        return all(name in granted or f"write_{name.removeprefix('read_')}" in granted for name in names)

    def fetch_remote_orders(self, since: datetime) -> list[RemoteOrder]:
        """Orders updated since `since` (read_orders covers the last 60 days). Test orders are left out.

        The ship-to address is asked for only when the app is approved for protected customer data
        (SHOPIFY_PROTECTED_CUSTOMER_DATA), the fulfil-by dates only when the store granted the
        fulfillment-order scopes: a field the app may not read makes Shopify refuse the whole query.
        """
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        variables = {"first": ORDERS_PAGE, "after": None, "query": f"updated_at:>='{stamp}'"}
        document = q.orders_query(
            addresses=settings.SHOPIFY_PROTECTED_CUSTOMER_DATA,
            fulfillment_orders=self.has_scopes(settings.MARKETPLACE_SHIPPING_SCOPES["shopify"]),
        )
        orders: list[RemoteOrder] = []
        while True:
            page = self.graphql(document, variables)["orders"]
            orders.extend(_remote_order(order) for order in page["nodes"] if not order.get("test"))
            info = page["pageInfo"]
            if not info["hasNextPage"]:
                return orders
            variables = {**variables, "after": info["endCursor"]}

    def ship(self, shipment: ShipmentRequest) -> str:
        """fulfillmentCreate on the order's open fulfillment orders holding these lines, with the
        tracking number (the buyer is notified). Lines Shopify already holds as fulfilled (a retry
        after a lost answer, or fulfilled in Shopify's admin) count as shipped: "" is returned."""
        wanted = dict(shipment.lines)
        order = self.graphql(q.ORDER_FULFILLMENT_ORDERS, {"id": shipment.order_id})["order"]
        if order is None:
            raise NotFound(f"Shopify has no order {shipment.order_id}.", status=404)
        groups, remaining = [], 0
        for fulfillment_order in order["fulfillmentOrders"]["nodes"]:
            items = [
                {"id": item["id"], "quantity": min(item["remainingQuantity"], wanted[item["lineItem"]["id"]])}
                for item in fulfillment_order["lineItems"]["nodes"]
                if item["lineItem"]["id"] in wanted and item["remainingQuantity"] > 0
            ]
            if items and fulfillment_order["status"] in FULFILLABLE_STATUSES:
                groups.append({"fulfillmentOrderId": fulfillment_order["id"], "fulfillmentOrderLineItems": items})
            remaining += sum(item["quantity"] for item in items)
        if not remaining:
            return ""
        if not groups:
            raise Rejected(NOTHING_TO_FULFIL_MESSAGE)
        variables = {
            "fulfillment": {
                "lineItemsByFulfillmentOrder": groups,
                "notifyCustomer": True,
                "trackingInfo": {"company": shipment.carrier, "number": shipment.tracking_number},
            }
        }
        payload = self._check_user_errors(self.graphql(q.FULFILLMENT_CREATE, variables)["fulfillmentCreate"])
        return (payload.get("fulfillment") or {}).get("id") or ""

    def fetch_traffic(self, external_ids: Sequence[str], day: date) -> list[TrafficRow]:
        """The Admin API has no per-product views or clicks: nothing to report."""
        return []


def _ship_to(address: dict | None) -> ShipTo | None:
    if not address:
        return None
    return ShipTo(
        name=address.get("name") or "",
        company=address.get("company") or "",
        line1=address.get("address1") or "",
        line2=address.get("address2") or "",
        city=address.get("city") or "",
        state=address.get("province") or "",
        postal_code=address.get("zip") or "",
        country=address.get("countryCodeV2") or "",
        phone=address.get("phone") or "",
    )


def _delivered_at(order: dict) -> datetime | None:
    """When the last package arrived, once every successful fulfillment is delivered and the order is fulfilled."""
    if order.get("displayFulfillmentStatus") != FULFILLED_STATUS:
        return None
    done = [f for f in order.get("fulfillments") or [] if f.get("status") == "SUCCESS"]
    if not done or any(f.get("displayStatus") != DELIVERED_STATUS or not f.get("deliveredAt") for f in done):
        return None
    return max(parse_datetime(f["deliveredAt"]) for f in done)


def _remote_order(order: dict) -> RemoteOrder:
    ordered_at = parse_datetime(order["createdAt"])
    fulfil_by = [
        parse_datetime(node["fulfillBy"])
        for node in (order.get("fulfillmentOrders") or {}).get("nodes") or []
        if node.get("fulfillBy") and node.get("status") not in ("CANCELLED", "CLOSED")
    ]
    ship_by = min(fulfil_by) if fulfil_by else None
    cancelled = order.get("cancelledAt") is not None
    lines = []
    for item in order["lineItems"]["nodes"]:
        money = item["originalUnitPriceSet"]["shopMoney"]
        lines.append(
            OrderLine(
                order_id=order["id"],
                line_id=item["id"],
                sku=item.get("sku"),
                external_id=(item.get("product") or {}).get("id"),
                quantity=item.get("currentQuantity", item["quantity"]),
                unit_price=Decimal(money["amount"]),
                currency=money["currencyCode"],
                ordered_at=ordered_at,
                fees=None,  # payment fees are not in the order (no per-order commission)
                cancelled=cancelled,
                title=item.get("title") or "",
                ship_by=ship_by,
            )
        )
    return RemoteOrder(
        order_id=order["id"],
        number=order.get("name") or order["id"],
        ordered_at=ordered_at,
        currency=lines[0].currency if lines else "",
        lines=lines,
        ship_by=ship_by,
        ship_to=_ship_to(order.get("shippingAddress")),
        cancelled=cancelled,
        refunded=order.get("displayFinancialStatus") == REFUNDED_STATUS,
        shipped=order.get("displayFulfillmentStatus") == FULFILLED_STATUS,
        delivered_at=_delivered_at(order),
    )
