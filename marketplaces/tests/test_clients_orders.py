"""The adapters' orders with what fulfilment needs (ship-by date, ship-to address, buyer, state) and
their tracking pushes: eBay createShippingFulfillment, Shopify fulfillmentCreate on the order's
fulfillment orders, Etsy createReceiptShipment. Requests and answers are checked against the
official specs (eBay, Etsy) and the documented GraphQL shapes (Shopify)."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from graphql import parse

from marketplaces.clients import Rejected, Retryable, ShipmentRequest, adapter_for
from marketplaces.clients import shopify_queries as q
from marketplaces.tests.doubles import (
    BUYER_NAME,
    BUYER_STREET,
    EBAY_ORDERS,
    ShopifyDouble,
    ebay_error,
    ebay_full_order,
    ebay_orders_page,
    ebay_ship_route,
    ebay_store,
    etsy_receipt,
    etsy_ship_route,
    etsy_store,
    isolated_cache,
    shopify_fulfillment_created,
    shopify_fulfillment_orders,
    shopify_order,
    shopify_orders,
    shopify_store,
)
from marketplaces.tests.spec import spec_route

pytestmark = pytest.mark.django_db

SINCE = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SHIPPED_AT = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)
ETSY_RECEIPTS_URL = "https://openapi.etsy.com/v3/application/shops/5550001/receipts"


@pytest.fixture(autouse=True)
def _keys(settings):
    isolated_cache(settings, "clients-orders")
    settings.ETSY_KEYSTRING = "etsy-keystring-123"
    settings.ETSY_SHARED_SECRET = "etsy-shared-secret-456"
    settings.ETSY_REQUESTS_PER_SECOND = 100


def shipment(order_id, lines=(("L-1", 1),), carrier="USPS", tracking="9400111899223100012345"):
    return ShipmentRequest(
        order_id=order_id, lines=tuple(lines), carrier=carrier, tracking_number=tracking, shipped_at=SHIPPED_AT
    )


# --- eBay ------------------------------------------------------------------------------------


def test_ebay_orders_carry_ship_by_ship_to_buyer_and_state(api):
    order = ebay_full_order(
        "04-1",
        [("110", "AM-1", 2, "30.00", "Steel bottle"), ("111", "AM-2", 1, "10.00", "Desk lamp")],
        payment="FULLY_REFUNDED",
        fulfillment="FULFILLED",
    )
    order["lineItems"][1]["lineItemFulfillmentInstructions"]["shipByDate"] = "2026-03-04T23:59:59.000Z"
    spec_route(api, "GET", EBAY_ORDERS, status=200, json=ebay_orders_page(order))

    [remote] = adapter_for(ebay_store()).fetch_remote_orders(SINCE)

    assert (remote.order_id, remote.number, remote.buyer_username) == ("04-1", "04-1", "jordan_e")
    assert remote.ship_by == datetime(2026, 3, 4, 23, 59, 59, tzinfo=UTC)  # the earliest line's
    assert (remote.refunded, remote.shipped, remote.cancelled, remote.fees) == (True, True, False, Decimal("4.10"))
    assert remote.ship_to.as_dict() == {
        "name": BUYER_NAME,
        "line1": BUYER_STREET,
        "line2": "Apt 4",
        "city": "Cupertino",
        "state": "CA",
        "postal_code": "95014",
        "country": "US",
        "phone": "4085550100",
    }
    assert BUYER_NAME not in repr(remote) and BUYER_STREET not in repr(remote.ship_to)
    assert [(line.title, line.quantity) for line in remote.lines] == [("Steel bottle", 2), ("Desk lamp", 1)]


def test_ebay_shipping_fulfillment_carries_lines_carrier_code_and_tracking(api):
    route = ebay_ship_route(api, "04-1")

    remote_id = adapter_for(ebay_store()).ship(
        shipment("04-1", lines=[("04-1-0", 2), ("04-1-1", 1)], carrier="Royal  mail", tracking="AB123456789GB")
    )

    assert remote_id == "9405509699937003457459"
    assert json.loads(route.calls[0].request.content) == {
        "lineItems": [{"lineItemId": "04-1-0", "quantity": 2}, {"lineItemId": "04-1-1", "quantity": 1}],
        "shippedDate": "2026-03-03T14:30:00.000Z",
        "shippingCarrierCode": "RoyalMail",
        "trackingNumber": "AB123456789GB",
    }


def test_ebay_refusing_a_tracking_number_is_rejected_in_its_words(api):
    refusal = ebay_error("Invalid shipment tracking number or carrier", error_id=32300)
    ebay_ship_route(api, "04-1", (400, refusal))

    with pytest.raises(Rejected) as caught:
        adapter_for(ebay_store()).ship(shipment("04-1"))

    assert caught.value.message == "Invalid shipment tracking number or carrier"
    assert not isinstance(caught.value, Retryable)


def test_ebay_system_error_on_shipping_is_retryable(api):
    ebay_ship_route(api, "04-1", (500, ebay_error("System error", error_id=30500, category="APPLICATION")))

    with pytest.raises(Retryable):
        adapter_for(ebay_store()).ship(shipment("04-1"))


# --- Shopify ---------------------------------------------------------------------------------


@pytest.fixture
def shop(api):
    return ShopifyDouble(api)


def test_shopify_orders_carry_address_fulfil_by_and_delivery(shop):
    delivered = [{"status": "SUCCESS", "displayStatus": "DELIVERED", "deliveredAt": "2026-03-06T12:00:00Z"}]
    shop.answer(
        "Orders",
        shopify_orders(
            shopify_order(
                1001,
                sku="AM-7",
                product_id="gid://shopify/Product/7",
                fulfillment="FULFILLED",
                fulfillments=delivered,
                fulfill_by="2026-03-05T00:00:00Z",
            )
        ),
    )

    [remote] = adapter_for(shopify_store()).fetch_remote_orders(SINCE)

    assert (remote.number, remote.shipped, remote.refunded) == ("#1001", True, False)
    assert remote.delivered_at == datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
    assert remote.ship_by == datetime(2026, 3, 5, tzinfo=UTC)
    assert (remote.ship_to.name, remote.ship_to.line1, remote.ship_to.country) == (BUYER_NAME, BUYER_STREET, "US")
    assert remote.lines[0].title == "Linen tote bag"


def test_a_shopify_store_connected_before_shipping_is_not_asked_for_fulfillment_orders(shop):
    shop.answer("Orders", shopify_orders(shopify_order(1002, sku="AM-7", product_id=None, fulfillment_orders=False)))
    store = shopify_store(granted_scopes=["read_products", "write_products", "read_orders"])

    [remote] = adapter_for(store).fetch_remote_orders(SINCE)

    [(_, variables)] = shop.calls
    assert remote.ship_by is None and remote.ship_to is not None
    sent = shop.route.calls[0].request
    assert "fulfillmentOrders" not in json.loads(sent.content)["query"]


def test_without_protected_customer_data_approval_no_address_is_asked(shop, settings):
    settings.SHOPIFY_PROTECTED_CUSTOMER_DATA = False
    shop.answer("Orders", shopify_orders(shopify_order(1003, sku="AM-7", product_id=None, ship_to=False)))

    [remote] = adapter_for(shopify_store()).fetch_remote_orders(SINCE)

    assert remote.ship_to is None
    assert "shippingAddress" not in json.loads(shop.route.calls[0].request.content)["query"]


def test_shopify_refund_is_reported():
    from marketplaces.clients.shopify import _remote_order

    remote = _remote_order(shopify_order(1004, sku="AM-7", product_id=None, financial="REFUNDED"))
    assert remote.refunded and not remote.shipped and remote.delivered_at is None


def test_shopify_fulfillment_is_created_on_the_fulfillment_orders_of_the_chosen_lines(shop):
    shop.answer(
        "OrderFulfillmentOrders",
        shopify_fulfillment_orders(1001, [(2, "gid://shopify/LineItem/1"), (1, "gid://shopify/LineItem/2")]),
    )
    shop.answer("FulfillmentCreate", shopify_fulfillment_created(5001))

    remote_id = adapter_for(shopify_store()).ship(
        shipment("gid://shopify/Order/1001", lines=[("gid://shopify/LineItem/1", 2)], carrier="UPS", tracking="1Z99")
    )

    assert remote_id == "gid://shopify/Fulfillment/5001"
    assert shop.operations() == ["OrderFulfillmentOrders", "FulfillmentCreate"]
    assert shop.calls[1][1] == {
        "fulfillment": {
            "lineItemsByFulfillmentOrder": [
                {
                    "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1001",
                    "fulfillmentOrderLineItems": [
                        {"id": "gid://shopify/FulfillmentOrderLineItem/01001", "quantity": 2}
                    ],
                }
            ],
            "notifyCustomer": True,
            "trackingInfo": {"company": "UPS", "number": "1Z99"},
        }
    }


def test_lines_shopify_already_fulfilled_count_as_shipped_without_a_second_fulfillment(shop):
    shop.answer("OrderFulfillmentOrders", shopify_fulfillment_orders(1001, [(0, "gid://shopify/LineItem/1")]))

    remote_id = adapter_for(shopify_store()).ship(
        shipment("gid://shopify/Order/1001", lines=[("gid://shopify/LineItem/1", 1)])
    )

    assert remote_id == "" and shop.operations() == ["OrderFulfillmentOrders"]


def test_shopify_user_errors_refuse_the_fulfillment_in_its_words(shop):
    shop.answer("OrderFulfillmentOrders", shopify_fulfillment_orders(1001, [(1, "gid://shopify/LineItem/1")]))
    shop.answer("FulfillmentCreate", shopify_fulfillment_created(errors=["Tracking number is invalid"]))

    with pytest.raises(Rejected) as caught:
        adapter_for(shopify_store()).ship(shipment("gid://shopify/Order/1001", lines=[("gid://shopify/LineItem/1", 1)]))

    assert caught.value.message == "Tracking number is invalid"


def test_a_fulfillment_order_on_hold_cannot_be_fulfilled(shop):
    shop.answer(
        "OrderFulfillmentOrders", shopify_fulfillment_orders(1001, [(1, "gid://shopify/LineItem/1")], status="ON_HOLD")
    )

    with pytest.raises(Rejected):
        adapter_for(shopify_store()).ship(shipment("gid://shopify/Order/1001", lines=[("gid://shopify/LineItem/1", 1)]))
    assert shop.operations() == ["OrderFulfillmentOrders"]


def test_every_order_document_fits_the_documented_schema():
    from marketplaces.tests.spec import check_graphql_request

    for addresses in (True, False):
        for fulfillment_orders in (True, False):
            document = q.orders_query(addresses=addresses, fulfillment_orders=fulfillment_orders)
            check_graphql_request(document, {"first": 100, "after": None, "query": "updated_at:>='x'"})
            assert parse(document).definitions[0].name.value == "Orders"
    check_graphql_request(q.ORDER_FULFILLMENT_ORDERS, {"id": "gid://shopify/Order/1"})


# --- Etsy ------------------------------------------------------------------------------------


def test_etsy_receipts_carry_ship_to_buyer_and_expected_ship_date(api):
    receipt = etsy_receipt(9001, [(90010, 1800001, "AM-7", 2, 1999, "Linen tote")], status="fully refunded")
    spec_route(api, "GET", ETSY_RECEIPTS_URL, status=200, json={"count": 1, "results": [receipt]})

    [remote] = adapter_for(etsy_store()).fetch_remote_orders(SINCE)

    assert (remote.number, remote.buyer_username, remote.refunded) == ("9001", "3010001", True)
    assert remote.ship_by == datetime.fromtimestamp(1772700000, tz=UTC)
    assert (remote.ship_to.name, remote.ship_to.line1, remote.ship_to.postal_code) == (
        BUYER_NAME,
        BUYER_STREET,
        "95014",
    )
    assert remote.lines[0].title == "Linen tote"


def test_etsy_receipt_shipment_sends_tracking_code_and_carrier(api):
    shipped = etsy_receipt(9001, [(90010, 1800001, "AM-7", 1, 1999, "Linen tote")], shipments=[("usps", "9400X")])
    route = etsy_ship_route(api, shipped)

    remote_id = adapter_for(etsy_store()).ship(shipment("9001", carrier="usps", tracking="9400X"))

    assert remote_id == "700"
    form = parse_qs(route.calls[0].request.content.decode())
    assert form == {"tracking_code": ["9400X"], "carrier_name": ["usps"]}


def test_etsy_refusal_is_rejected_in_its_words(api):
    receipt = etsy_receipt(9001, [(90010, 1800001, "AM-7", 1, 1999, "Linen tote")])
    etsy_ship_route(api, receipt, (409, {"error": "This receipt has already been shipped."}))

    with pytest.raises(Rejected) as caught:
        adapter_for(etsy_store()).ship(shipment("9001"))

    assert caught.value.message == "This receipt has already been shipped."
