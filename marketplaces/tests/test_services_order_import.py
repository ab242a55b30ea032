"""Importing orders: one Order per marketplace order with its lines, the ship-to address encrypted,
lines not listed here kept, and the states the marketplace reports (audited as the system)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from marketplaces.models import Order, OrderState, Sale
from marketplaces.services import store_orders_sync
from marketplaces.tests.doubles import (
    BUYER_NAME,
    BUYER_STREET,
    EBAY_ORDERS,
    ShopifyDouble,
    ebay_full_order,
    ebay_orders_page,
    isolated_cache,
    live_listing,
    shopify_order,
    shopify_orders,
    shopify_store,
    supplier_product,
)
from marketplaces.tests.spec import spec_route
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "order-import")


def import_ebay(api, store, *orders):
    spec_route(api, "GET", EBAY_ORDERS, status=200, json=ebay_orders_page(*orders))
    store.orders_synced_at = None
    return store_orders_sync(store)


def test_an_order_is_kept_with_its_lines_ship_by_buyer_and_encrypted_address(api, ebay, store, listing):
    order = ebay_full_order(
        "04-1",
        [
            (listing.external_listing_id, f"AM-{listing.pk}", 2, "61.98", "Steel bottle"),
            ("999", "XYZ-1", 1, "5.00", "Someone else's widget"),
        ],
    )

    result = import_ebay(api, store, order)

    [kept] = Order.objects.all()
    assert (kept.user, kept.store_account, kept.order_number, kept.state) == (store.user, store, "04-1", "to_buy")
    assert (kept.buyer_username, kept.total, kept.currency) == ("jordan_e", Decimal("66.98"), "USD")
    assert kept.ship_by == datetime(2026, 3, 5, 23, 59, 59, tzinfo=UTC)
    assert kept.ship_to["name"] == BUYER_NAME and kept.ship_to["line1"] == BUYER_STREET
    listed, not_listed = kept.lines.order_by("line_id")
    assert (listed.listing, listed.title, not_listed.listing, not_listed.title) == (
        listing,
        "Steel bottle",
        None,
        "Someone else's widget",
    )
    assert (result.new_orders, result.new_sales, result.unmatched) == (1, 2, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT ship_to FROM marketplaces_order WHERE id = %s", [kept.pk])
        raw = bytes(cursor.fetchone()[0])
    assert BUYER_NAME.encode() not in raw and BUYER_STREET.encode() not in raw


def test_a_second_import_updates_rather_than_duplicates(api, ebay, store, listing):
    line = (listing.external_listing_id, f"AM-{listing.pk}", 1, "30.99", "Steel bottle")
    import_ebay(api, store, ebay_full_order("04-2", [line]))
    later = ebay_full_order("04-2", [line], ship_by="2026-03-07T23:59:59.000Z")

    result = import_ebay(api, store, later)

    [order] = Order.objects.all()
    assert order.ship_by == datetime(2026, 3, 7, 23, 59, 59, tzinfo=UTC)
    assert Sale.objects.count() == 1 and result.new_orders == 0


@pytest.mark.parametrize(
    ("report", "state", "stamp"),
    [
        ({"cancelled": True}, OrderState.CANCELLED, "cancelled_at"),
        ({"payment": "FULLY_REFUNDED"}, OrderState.REFUNDED, "refunded_at"),
        ({"fulfillment": "FULFILLED"}, OrderState.SHIPPED, "shipped_at"),
    ],
)
def test_what_ebay_reports_at_the_next_sync_moves_the_order_and_is_audited(
    api, ebay, store, listing, report, state, stamp
):
    line = (listing.external_listing_id, f"AM-{listing.pk}", 1, "30.99", "Steel bottle")
    import_ebay(api, store, ebay_full_order("04-3", [line]))

    result = import_ebay(api, store, ebay_full_order("04-3", [line], **report))

    order = Order.objects.get()
    assert order.state == state and getattr(order, stamp) is not None and result.state_changes == 1
    row = AuditLog.objects.get(resource_type="order", resource_id=str(order.pk))
    assert (row.user, row.owner, row.action) == (None, store.user, state)
    assert (row.old_value, row.new_value) == ({"state": "to_buy"}, {"state": state})
    assert "eBay reports the order" in row.notes
    assert BUYER_NAME not in str(row.old_value) + str(row.new_value) + row.notes


def test_a_sync_never_undoes_a_later_state(api, ebay, store, listing):
    line = (listing.external_listing_id, f"AM-{listing.pk}", 1, "30.99", "Steel bottle")
    import_ebay(api, store, ebay_full_order("04-4", [line], payment="FULLY_REFUNDED"))

    import_ebay(api, store, ebay_full_order("04-4", [line], fulfillment="FULFILLED"))

    assert Order.objects.get().state == OrderState.REFUNDED


def test_shopify_reports_delivery_on_the_next_sync(api):
    store = shopify_store()
    product = supplier_product()
    listing = live_listing(store, product, external_listing_id="gid://shopify/Product/7")
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
    store_orders_sync(store)
    Order.objects.update(state=OrderState.SHIPPED)

    store_orders_sync(store)

    order = Order.objects.get()
    assert order.state == OrderState.DELIVERED
    assert order.delivered_at == datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
    assert order.order_number == "#1001" and order.lines.get().listing == listing


def test_an_erased_address_is_never_brought_back_by_a_later_sync(api, ebay, store, listing):
    line = (listing.external_listing_id, f"AM-{listing.pk}", 1, "30.99", "Steel bottle")
    import_ebay(api, store, ebay_full_order("04-5", [line]))
    Order.objects.update(ship_to=None, ship_to_erased_at=datetime(2026, 3, 9, tzinfo=UTC))

    import_ebay(api, store, ebay_full_order("04-5", [line]))

    assert Order.objects.get().ship_to is None


def test_an_order_first_seen_already_closed_starts_in_that_state(api, ebay, store, listing):
    line = (listing.external_listing_id, f"AM-{listing.pk}", 1, "30.99", "Steel bottle")

    import_ebay(api, store, ebay_full_order("04-6", [line], cancelled=True))

    order = Order.objects.get()
    assert order.state == OrderState.CANCELLED and order.cancelled_at is not None
    assert not AuditLog.objects.filter(resource_type="order").exists()
