"""Test doubles of the marketplaces for the service tests: respx routes whose requests and answers
are checked against the official specs (eBay, Etsy) or the documented GraphQL shapes (Shopify)."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
from django.core.cache import cache
from graphql import parse

from catalog.tests.factories import ProductFactory
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from marketplaces.tests.spec import (
    check_graphql_request,
    check_graphql_response,
    check_request,
    check_response,
    spec_route,
)

EBAY_API = "https://api.ebay.com"
EBAY_INV = f"{EBAY_API}/sell/inventory/v1"
ETSY_BASE = "https://openapi.etsy.com/v3/application"
ETSY_SHOP_ID = 5550001
SHOP = "https://demo-store.myshopify.com"
SHOPIFY_GRAPHQL = f"{SHOP}/admin/api/2026-07/graphql.json"
EBAY_PUBLISH_DEFAULTS = {
    "category_id": "20625",
    "merchant_location_key": "WH1",
    "fulfillment_policy_id": "6196932000",
    "payment_policy_id": "6196936000",
    "return_policy_id": "6196940000",
}


def isolated_cache(settings, name: str) -> None:
    """A private in-memory cache: usage counters, quotas and locks start at zero."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": name}}
    cache.clear()


def ebay_error(message="This Offer is not available.", *, error_id=25713, category="REQUEST"):
    return {"errors": [{"errorId": error_id, "domain": "API_INVENTORY", "category": category, "message": message}]}


def ebay_offer(sku, *, offer_id, listing_id, status="PUBLISHED", quantity=5):
    body = {
        "offerId": offer_id,
        "sku": sku,
        "marketplaceId": "EBAY_US",
        "format": "FIXED_PRICE",
        "availableQuantity": quantity,
        "categoryId": "20625",
        "listingDuration": "GTC",
        "merchantLocationKey": "WH1",
        "pricingSummary": {"price": {"value": "19.99", "currency": "USD"}},
        "listingPolicies": {
            "fulfillmentPolicyId": "6196932000",
            "paymentPolicyId": "6196936000",
            "returnPolicyId": "6196940000",
        },
        "status": status,
    }
    if listing_id:
        body["listing"] = {"listingId": listing_id, "listingStatus": "ACTIVE", "soldQuantity": 0}
    return body


class EbayDouble:
    """eBay's Inventory API for listings we published: every SKU AM-<n> has offer 9<n> on listing 11<n>.

    Records each bulkUpdatePriceQuantity body; `bulk_answers` queues other answers (status, json, headers).
    """

    def __init__(self, api):
        self.bulk_bodies: list[dict] = []
        self.bulk_answers: list[tuple] = []
        self.offer_lookups = api.get(f"{EBAY_INV}/offer").mock(side_effect=self._offers)
        self.bulk = api.post(f"{EBAY_INV}/bulk_update_price_quantity").mock(side_effect=self._bulk)
        self.withdraw = api.post(url__regex=rf"{EBAY_INV}/offer/\d+/withdraw").mock(side_effect=self._withdraw)

    @staticmethod
    def offer_id(sku: str) -> str:
        return f"9{sku.split('-')[1]}"

    def _offers(self, request):
        check_request(request)
        sku = request.url.params["sku"]
        number = sku.split("-")[1]
        offer = ebay_offer(sku, offer_id=self.offer_id(sku), listing_id=f"11{number}")
        body = {"href": str(request.url), "limit": 100, "offers": [offer], "size": 1, "total": 1}
        check_response("GET", str(request.url), 200, body)
        return httpx.Response(200, json=body)

    def _bulk(self, request):
        check_request(request)
        body = json.loads(request.content)
        self.bulk_bodies.append(body)
        if self.bulk_answers:
            status, answer, headers = (*self.bulk_answers.pop(0), {})[:3]
        else:
            sku = body["requests"][0]["sku"]
            status, headers = 200, {}
            answer = {"responses": [{"offerId": self.offer_id(sku), "sku": sku, "statusCode": 200, "warnings": []}]}
        check_response("POST", str(request.url), status, answer)
        return httpx.Response(status, json=answer, headers=headers)

    def _withdraw(self, request):
        check_request(request)
        body = {"listingId": "110", "warnings": []}
        check_response("POST", str(request.url), 200, body)
        return httpx.Response(200, json=body)


class ShopifyDouble:
    """The shop's GraphQL endpoint: answers by operation name, checking documents and answers."""

    def __init__(self, api):
        self.answers: dict[str, list] = {}
        self.calls: list[tuple[str, dict]] = []
        self.route = api.post(SHOPIFY_GRAPHQL).mock(side_effect=self._respond)

    def answer(self, operation, *answers):
        self.answers.setdefault(operation, []).extend(answers)

    def operations(self):
        return [operation for operation, _ in self.calls]

    def _respond(self, request):
        payload = json.loads(request.content)
        query, variables = payload["query"], payload["variables"]
        check_graphql_request(query, variables)
        operation = parse(query).definitions[0].name.value
        self.calls.append((operation, variables))
        queue = self.answers[operation]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(answer):
            answer = answer(variables)
        check_graphql_response(query, variables, answer)
        cost = {"requestedQueryCost": 10, "actualQueryCost": 10}
        cost["throttleStatus"] = {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}
        return httpx.Response(200, json={"data": answer, "extensions": {"cost": cost}})


def ebay_store(**values):
    values = {"marketplace": "ebay", "currency": "USD", "publish_defaults": dict(EBAY_PUBLISH_DEFAULTS), **values}
    return StoreAccountFactory(**values)


def supplier_product(**values):
    values = {"price": Decimal("20.00"), "currency": "USD", "stock": 50, "availability": "in_stock", **values}
    return ProductFactory(**values)


def live_listing(store, product, **values):
    """A published listing whose external id matches what EbayDouble answers (11<pk>)."""
    listing = ListingFactory(store_account=store, product=product, **values)
    if "external_listing_id" not in values:
        listing.external_listing_id = f"11{listing.pk}"
        listing.save(update_fields=["external_listing_id"])
    return listing


def bulk_request(sku: str, *, offer_id: str, price: str | None = None, quantity: int | None = None) -> dict:
    """The body eBay's bulkUpdatePriceQuantity should receive for one SKU."""
    request: dict = {"sku": sku}
    offer: dict = {"offerId": offer_id}
    if quantity is not None:
        request["shipToLocationAvailability"] = {"quantity": quantity}
        offer["availableQuantity"] = quantity
    if price is not None:
        offer["price"] = {"value": price, "currency": "USD"}
    request["offers"] = [offer]
    return {"requests": [request]}


def etsy_shop_listing(listing_id, *, state="active", views=None):
    """A ShopListing as Etsy's v3 spec describes it."""
    body = {
        "listing_id": listing_id,
        "user_id": 12345678,
        "shop_id": ETSY_SHOP_ID,
        "title": "Linen tote bag",
        "description": "Hand-finished linen tote.",
        "state": state,
        "quantity": 5,
        "url": f"https://www.etsy.com/listing/{listing_id}",
        "listing_type": "physical",
        "who_made": "someone_else",
        "when_made": "2020_2025",
        "is_supply": False,
        "taxonomy_id": 1296,
        "shipping_profile_id": 206001,
        "readiness_state_id": None,
        "price": {"amount": 1999, "divisor": 100, "currency_code": "USD"},
    }
    if views is not None:
        body["views"] = views
    return body


def etsy_store(**values):
    """An Etsy store whose shop id is already known (no getMe call)."""
    store = StoreAccountFactory(marketplace="etsy", **values)
    cache.set(f"marketplaces:etsy:shop_id:{store.pk}", ETSY_SHOP_ID, timeout=None)
    return store


def ebay_traffic_report(rows):
    """A getTrafficReport answer: rows of (listing id, impressions, views, search-page views)."""
    metrics = [
        ("LISTING_IMPRESSION_TOTAL", "INTEGER"),
        ("LISTING_VIEWS_TOTAL", "INTEGER"),
        ("LISTING_VIEWS_SOURCE_SEARCH_RESULTS_PAGE", "INTEGER"),
        ("CLICK_THROUGH_RATE", "PERCENTAGE"),
    ]
    return {
        "header": {
            "dimensionKeys": [{"key": "LISTING_ID", "localizedName": "Listing ID", "dataType": "STRING"}],
            "metrics": [{"key": key, "localizedName": key.title(), "dataType": kind} for key, kind in metrics],
        },
        "records": [
            {
                "dimensionValues": [{"value": listing_id, "applicable": True}],
                "metricValues": [
                    {"value": impressions, "applicable": True},
                    {"value": views, "applicable": True},
                    {"value": clicks, "applicable": True},
                    {"value": 2.5, "applicable": True},
                ],
            }
            for listing_id, impressions, views, clicks in rows
        ],
        "startDate": "2026-03-02T08:00:00Z",
        "endDate": "2026-03-03T07:59:59Z",
        "lastUpdatedDate": "2026-03-03T07:59:59Z",
    }


ECB_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
# The shape of the ECB's eurofxref-daily.xml (a few currencies of it).
ECB_DAILY_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time='2026-03-02'>
\t\t\t<Cube currency='USD' rate='1.0812'/>
\t\t\t<Cube currency='JPY' rate='162.35'/>
\t\t\t<Cube currency='GBP' rate='0.85513'/>
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>
"""


def shopify_store(**values):
    return StoreAccountFactory(marketplace="shopify", shop_domain="demo-store.myshopify.com", **values)


def shopify_orders(*orders):
    """An `Orders` answer of one page."""
    return {"orders": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": list(orders)}}


SHOPIFY_SHIP_TO = {
    "name": "Jordan Example",
    "company": None,
    "address1": "1 Infinite Loop",
    "address2": "Apt 4",
    "city": "Cupertino",
    "province": "California",
    "zip": "95014",
    "countryCodeV2": "US",
    "phone": "+14085550100",
}


def shopify_order(
    number,
    *,
    sku,
    product_id,
    quantity=1,
    price="30.99",
    created="2026-03-02T10:15:00Z",
    title="Linen tote bag",
    ship_to=SHOPIFY_SHIP_TO,
    financial="PAID",
    fulfillment="UNFULFILLED",
    fulfillments=(),
    fulfill_by=None,
    fulfillment_orders=True,
    cancelled=None,
):
    """An order as the `Orders` document selects it (fulfillmentOrders only for a store that granted
    the fulfillment-order scopes; `ship_to=False` for an app without protected customer data)."""
    order = {
        "id": f"gid://shopify/Order/{number}",
        "name": f"#{number}",
        "createdAt": created,
        "cancelledAt": cancelled,
        "test": False,
        "displayFinancialStatus": financial,
        "displayFulfillmentStatus": fulfillment,
        "fulfillments": list(fulfillments),
        "lineItems": {
            "nodes": [
                {
                    "id": f"gid://shopify/LineItem/{number}",
                    "sku": sku,
                    "title": title,
                    "quantity": quantity,
                    "currentQuantity": quantity,
                    "product": {"id": product_id} if product_id else None,
                    "originalUnitPriceSet": {"shopMoney": {"amount": price, "currencyCode": "USD"}},
                }
            ]
        },
    }
    if ship_to is not False:
        order["shippingAddress"] = ship_to
    if fulfillment_orders:
        order["fulfillmentOrders"] = {"nodes": [{"status": "OPEN", "fulfillBy": fulfill_by}]}
    return order


def audit_rows(listing):
    """The audit trail of one listing, oldest first."""
    from monitoring.models import AuditLog

    return AuditLog.objects.filter(resource_type="listing", resource_id=str(listing.pk)).order_by("timestamp", "pk")


def price_rise(product, new_price):
    """Move the supplier price as a refresh would, returning the refresh's outcome."""
    from catalog.services import RefreshOutcome

    outcome = RefreshOutcome(
        product_id=product.pk,
        status="updated",
        price_changed=True,
        old_price=product.price,
        new_price=new_price,
        currency=product.currency,
    )
    product.price = new_price
    product.save(update_fields=["price"])
    return outcome


def ebay_account_defaults(api):
    """eBay's answers for a store's business policies (one of each kind) and its enabled location."""
    for path, key, id_key, policy_id in (
        ("fulfillment_policy", "fulfillmentPolicies", "fulfillmentPolicyId", "6196932000"),
        ("payment_policy", "paymentPolicies", "paymentPolicyId", "6196936000"),
        ("return_policy", "returnPolicies", "returnPolicyId", "6196940000"),
    ):
        body = {key: [{id_key: policy_id, "name": "Default", "marketplaceId": "EBAY_US"}], "total": 1}
        spec_route(api, "GET", f"{EBAY_API}/sell/account/v1/{path}", status=200, json=body)
    spec_route(
        api,
        "GET",
        f"{EBAY_API}/sell/inventory/v1/location",
        status=200,
        json={"locations": [{"merchantLocationKey": "WH1", "merchantLocationStatus": "ENABLED"}], "total": 1},
    )


# --- Orders: imports with the buyer's address, and the tracking pushes ----------------------

EBAY_FULFILLMENT = f"{EBAY_API}/sell/fulfillment/v1"
EBAY_ORDERS = f"{EBAY_FULFILLMENT}/order"
# The buyer's name and a street of the address: tests look for them where they must never be.
BUYER_NAME = "Jordan Example"
BUYER_STREET = "1 Infinite Loop"
EBAY_SHIP_TO = {
    "fullName": BUYER_NAME,
    "contactAddress": {
        "addressLine1": BUYER_STREET,
        "addressLine2": "Apt 4",
        "city": "Cupertino",
        "stateOrProvince": "CA",
        "postalCode": "95014",
        "countryCode": "US",
    },
    "primaryPhone": {"phoneNumber": "4085550100"},
}


def ebay_full_order(
    order_id,
    lines,
    *,
    buyer="jordan_e",
    ship_by="2026-03-05T23:59:59.000Z",
    ship_to=EBAY_SHIP_TO,
    fulfillment="NOT_STARTED",
    payment="PAID",
    cancelled=False,
    fee="4.10",
    created="2026-03-02T10:15:00.000Z",
):
    """A getOrders order with what fulfilment needs; `lines` are (legacy item id, sku, quantity,
    line cost, title)."""
    order = {
        "orderId": order_id,
        "creationDate": created,
        "lastModifiedDate": created,
        "orderPaymentStatus": payment,
        "orderFulfillmentStatus": fulfillment,
        "buyer": {"username": buyer},
        "cancelStatus": {"cancelState": "CANCELED" if cancelled else "NONE_REQUESTED", "cancelRequests": []},
        "pricingSummary": {"total": {"value": "61.98", "currency": "USD"}},
        "totalMarketplaceFee": {"value": fee, "currency": "USD"},
        "fulfillmentStartInstructions": [
            {
                "fulfillmentInstructionsType": "SHIP_TO",
                "shippingStep": {"shipTo": ship_to, "shippingCarrierCode": "USPS"},
            }
        ]
        if ship_to
        else [],
        "lineItems": [
            {
                "lineItemId": f"{order_id}-{n}",
                "legacyItemId": external_id,
                "sku": sku,
                "title": title,
                "quantity": quantity,
                "lineItemCost": {"value": cost, "currency": "USD"},
                "total": {"value": cost, "currency": "USD"},
                "lineItemFulfillmentInstructions": {"shipByDate": ship_by, "guaranteedDelivery": False},
            }
            for n, (external_id, sku, quantity, cost, title) in enumerate(lines)
        ],
    }
    return order


def ebay_orders_page(*orders):
    return {"href": EBAY_ORDERS, "limit": 200, "offset": 0, "total": len(orders), "orders": list(orders)}


def ebay_ship_route(api, order_id, *answers):
    """createShippingFulfillment of one order: 201 with the new fulfillment's Location by default."""
    url = f"{EBAY_ORDERS}/{order_id}/shipping_fulfillment"
    answers = answers or ((201, {}, {"Location": f"{url}/9405509699937003457459"}),)
    return spec_route(api, "POST", url, *answers)


ETSY_RECEIPTS = f"{ETSY_BASE}/shops/{ETSY_SHOP_ID}/receipts"


def etsy_receipt(
    receipt_id,
    transactions,
    *,
    status="paid",
    is_shipped=False,
    expected_ship=1772700000,
    shipments=(),
    buyer_user_id=3010001,
    created=1772446500,
):
    """A ShopReceipt; `transactions` are (transaction id, listing id, sku, quantity, cents, title)."""
    return {
        "receipt_id": receipt_id,
        "status": status,
        "is_paid": True,
        "is_shipped": is_shipped,
        "buyer_user_id": buyer_user_id,
        "name": BUYER_NAME,
        "first_line": BUYER_STREET,
        "second_line": None,
        "city": "Cupertino",
        "state": "CA",
        "zip": "95014",
        "country_iso": "US",
        "created_timestamp": created,
        "updated_timestamp": created + 60,
        "shipments": [
            {
                "receipt_shipping_id": 700 + n,
                "shipment_notification_timestamp": created + 3600,
                "carrier_name": carrier,
                "tracking_code": code,
            }
            for n, (carrier, code) in enumerate(shipments)
        ],
        "transactions": [
            {
                "transaction_id": transaction_id,
                "receipt_id": receipt_id,
                "listing_id": listing_id,
                "sku": sku,
                "title": title,
                "quantity": quantity,
                "price": {"amount": cents, "divisor": 100, "currency_code": "USD"},
                "shipping_cost": {"amount": 0, "divisor": 100, "currency_code": "USD"},
                "expected_ship_date": expected_ship,
            }
            for transaction_id, listing_id, sku, quantity, cents, title in transactions
        ],
        "refunds": [],
    }


def etsy_ship_route(api, receipt, *answers):
    """createReceiptShipment: Etsy answers with the receipt, now holding the shipment."""
    url = f"{ETSY_RECEIPTS}/{receipt['receipt_id']}/tracking"
    return spec_route(api, "POST", url, *(answers or ((200, receipt),)))


def shopify_fulfillment_orders(order_number, items, *, status="OPEN"):
    """An `OrderFulfillmentOrders` answer: one fulfillment order with (remaining quantity, line item id) items."""
    return {
        "order": {
            "id": f"gid://shopify/Order/{order_number}",
            "fulfillmentOrders": {
                "nodes": [
                    {
                        "id": f"gid://shopify/FulfillmentOrder/{order_number}",
                        "status": status,
                        "lineItems": {
                            "nodes": [
                                {
                                    "id": f"gid://shopify/FulfillmentOrderLineItem/{n}{order_number}",
                                    "remainingQuantity": remaining,
                                    "lineItem": {"id": line_id},
                                }
                                for n, (remaining, line_id) in enumerate(items)
                            ]
                        },
                    }
                ]
            },
        }
    }


def shopify_fulfillment_created(number=5001, errors=()):
    payload = {"fulfillment": None if errors else {"id": f"gid://shopify/Fulfillment/{number}", "status": "SUCCESS"}}
    return {"fulfillmentCreate": {**payload, "userErrors": [{"field": ["fulfillment"], "message": m} for m in errors]}}
