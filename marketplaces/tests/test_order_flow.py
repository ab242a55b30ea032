"""The whole order flow per marketplace, through the seller's pages against the marketplace doubles:
an order comes in with the buyer's address, the seller buys it, ships it (the tracking number goes
to the marketplace, checked against its spec) and, where the marketplace reports it, it is
delivered on the next sync."""

import json
from urllib.parse import parse_qs

import pytest
import respx
from django.urls import reverse

from marketplaces.models import OrderState
from marketplaces.services import store_orders_sync
from marketplaces.tests.doubles import (
    BUYER_NAME,
    BUYER_STREET,
    EBAY_ORDERS,
    ETSY_SHOP_ID,
    ShopifyDouble,
    ebay_full_order,
    ebay_orders_page,
    ebay_ship_route,
    ebay_store,
    etsy_receipt,
    etsy_ship_route,
    etsy_store,
    isolated_cache,
    live_listing,
    shopify_fulfillment_created,
    shopify_fulfillment_orders,
    shopify_order,
    shopify_orders,
    shopify_store,
    supplier_product,
)
from marketplaces.tests.spec import spec_route

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    isolated_cache(settings, "order-flow")
    settings.ETSY_KEYSTRING = "etsy-keystring-123"
    settings.ETSY_SHARED_SECRET = "etsy-shared-secret-456"
    settings.ETSY_REQUESTS_PER_SECOND = 100


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def buy_and_ship(client, order, *, tracking, carrier="USPS"):
    page = client.get(order.get_absolute_url()).content.decode()
    assert BUYER_NAME in page and BUYER_STREET in page
    bought = client.post(
        reverse("marketplaces:order_buy", args=[order.pk]),
        {"supplier_order_number": "SUP-1", "cost_item": "18.00", "cost_shipping": "1.50", "cost_currency": "USD"},
    )
    assert bought.status_code == 302
    order.refresh_from_db()
    assert order.state == OrderState.BOUGHT
    lines = [line.pk for line in order.lines.all()]
    shipped = client.post(
        reverse("marketplaces:order_ship", args=[order.pk]),
        {"carrier": carrier, "tracking_number": tracking, "lines": lines},
    )
    assert shipped.status_code == 302
    order.refresh_from_db()
    return order


def test_ebay_order_from_import_to_shipped(client, api):
    store = ebay_store()
    listing = live_listing(store, supplier_product())
    line = (listing.external_listing_id, f"AM-{listing.pk}", 1, "30.99", "Steel bottle")
    spec_route(api, "GET", EBAY_ORDERS, status=200, json=ebay_orders_page(ebay_full_order("04-100", [line])))
    ship = ebay_ship_route(api, "04-100")
    client.force_login(store.user)

    store_orders_sync(store)
    order = buy_and_ship(client, store.orders.get(), tracking="9400111899223100012345")

    assert order.state == OrderState.SHIPPED
    assert json.loads(ship.calls[0].request.content)["trackingNumber"] == "9400111899223100012345"


def test_shopify_order_from_import_to_delivered_on_sync(client, api):
    store = shopify_store()
    listing = live_listing(store, supplier_product(), external_listing_id="gid://shopify/Product/7")
    shop = ShopifyDouble(api)
    delivered = [{"status": "SUCCESS", "displayStatus": "DELIVERED", "deliveredAt": "2026-03-06T12:00:00Z"}]
    shop.answer(
        "Orders",
        shopify_orders(shopify_order(1001, sku=f"AM-{listing.pk}", product_id="gid://shopify/Product/7")),
        shopify_orders(
            shopify_order(
                1001,
                sku=f"AM-{listing.pk}",
                product_id="gid://shopify/Product/7",
                fulfillment="FULFILLED",
                fulfillments=delivered,
            )
        ),
    )
    shop.answer("OrderFulfillmentOrders", shopify_fulfillment_orders(1001, [(1, "gid://shopify/LineItem/1001")]))
    shop.answer("FulfillmentCreate", shopify_fulfillment_created(5001))
    client.force_login(store.user)

    store_orders_sync(store)
    order = buy_and_ship(client, store.orders.get(), tracking="1Z999AA10123456784", carrier="UPS")
    assert order.state == OrderState.SHIPPED
    store_orders_sync(store)

    order.refresh_from_db()
    assert order.state == OrderState.DELIVERED
    assert shop.operations() == ["Orders", "OrderFulfillmentOrders", "FulfillmentCreate", "Orders"]


def test_etsy_receipt_from_import_to_shipped(client, api):
    store = etsy_store()
    listing = live_listing(store, supplier_product())
    receipt = etsy_receipt(9001, [(90010, int(listing.external_listing_id), f"AM-{listing.pk}", 1, 1999, "Tote")])
    spec_route(
        api,
        "GET",
        f"https://openapi.etsy.com/v3/application/shops/{ETSY_SHOP_ID}/receipts",
        status=200,
        json={"count": 1, "results": [receipt]},
    )
    ship = etsy_ship_route(api, {**receipt, "is_shipped": True})
    client.force_login(store.user)

    store_orders_sync(store)
    order = buy_and_ship(client, store.orders.get(), tracking="9400X", carrier="usps")

    assert order.state == OrderState.SHIPPED
    assert parse_qs(ship.calls[0].request.content.decode()) == {"tracking_code": ["9400X"], "carrier_name": ["usps"]}
