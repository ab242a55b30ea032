"""Orders: Sale rows deduplicated by order line, the cost at the time of sale, and cross-listing."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.tests.factories import PriceHistoryFactory
from marketplaces.clients import NeedsReauth
from marketplaces.models import AutomationSwitch, ExchangeRate, Sale
from marketplaces.services import store_orders_sync, unit_cost_at
from marketplaces.tests.doubles import (
    EBAY_API,
    bulk_request,
    ebay_error,
    ebay_store,
    isolated_cache,
    live_listing,
)
from marketplaces.tests.spec import spec_route
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db

ORDERS = f"{EBAY_API}/sell/fulfillment/v1/order"
ORDERED_AT = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "orders")


def ebay_order(order_id, lines, *, fee="4.10", cancelled=False):
    return {
        "orderId": order_id,
        "creationDate": "2026-03-02T10:15:00.000Z",
        "lastModifiedDate": "2026-03-02T11:00:00.000Z",
        "orderPaymentStatus": "PAID",
        "orderFulfillmentStatus": "NOT_STARTED",
        "cancelStatus": {"cancelState": "CANCELED" if cancelled else "NONE_REQUESTED", "cancelRequests": []},
        "pricingSummary": {"total": {"value": "61.98", "currency": "USD"}},
        "totalMarketplaceFee": {"value": fee, "currency": "USD"},
        "lineItems": [
            {
                "lineItemId": f"{order_id}-{n}",
                "legacyItemId": external_id,
                "sku": sku,
                "quantity": quantity,
                "lineItemCost": {"value": cost, "currency": "USD"},
                "total": {"value": cost, "currency": "USD"},
            }
            for n, (external_id, sku, quantity, cost) in enumerate(lines)
        ],
    }


def orders_page(*orders):
    return {"href": ORDERS, "limit": 200, "offset": 0, "total": len(orders), "orders": list(orders)}


def test_orders_become_sales_once_and_a_cancellation_is_flagged(api, ebay, store, listing):
    order = ebay_order(
        "04-1", [(listing.external_listing_id, f"AM-{listing.pk}", 2, "61.98"), ("999", "XYZ-1", 1, "5")]
    )
    cancelled = ebay_order("04-1", [(listing.external_listing_id, f"AM-{listing.pk}", 2, "61.98")], cancelled=True)
    route = spec_route(
        api, "GET", ORDERS, (200, orders_page(order)), (200, orders_page(order)), (200, orders_page(cancelled))
    )

    first = store_orders_sync(store)
    second = store_orders_sync(store)
    third = store_orders_sync(store)

    sale, not_listed = Sale.objects.order_by("line_id")
    assert (sale.listing, sale.marketplace_order_id, sale.line_id, sale.quantity) == (listing, "04-1", "04-1-0", 2)
    assert (sale.unit_price, sale.unit_cost, sale.currency) == (Decimal("30.99"), Decimal("20.00"), "USD")
    assert sale.ordered_at == ORDERED_AT and sale.cancelled
    # The line that matches none of the seller's listings is kept too, without a listing or a cost.
    assert (not_listed.listing, not_listed.sku, not_listed.unit_cost) == (None, "XYZ-1", None)
    assert not not_listed.cancelled
    assert sale.order == not_listed.order and sale.order.state == "cancelled"
    assert (first.new_sales, first.unmatched, second.new_sales, second.updated_sales) == (2, 1, 0, 0)
    assert (third.updated_sales, third.cancelled) == (1, 1)
    store.refresh_from_db()
    assert store.orders_synced_at is not None and store.last_synced_at is not None
    # The first sync looks two days back; the next ones from the last, with a small overlap.
    filters = [call.request.url.params["filter"] for call in route.calls]
    assert len(set(filters)) == 3


def test_the_first_sync_looks_two_days_back(api, ebay, store):
    route = spec_route(api, "GET", ORDERS, status=200, json=orders_page())
    now = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)

    result = store_orders_sync(store, now=now)

    assert result.since == now - timedelta(days=2)
    assert route.calls[0].request.url.params["filter"] == "lastmodifieddate:[2026-03-03T12:00:00.000Z..]"
    store.refresh_from_db()
    assert store.orders_synced_at == now


def test_a_new_sale_lowers_the_sellers_other_listings_of_the_product_at_once(api, ebay, store, product, listing):
    other_store = ebay_store(user=store.user)
    other = live_listing(other_store, product, price=Decimal("31.99"), quantity_available=10)
    someone_else = live_listing(ebay_store(), product, price=Decimal("31.99"), quantity_available=10)
    order = ebay_order("04-7", [(listing.external_listing_id, f"AM-{listing.pk}", 3, "92.97")])
    spec_route(api, "GET", ORDERS, status=200, json=orders_page(order))

    result = store_orders_sync(store)
    store_orders_sync(store)  # the same order again: nothing more is sent

    assert ebay.bulk_bodies == [bulk_request(f"AM-{other.pk}", offer_id=f"9{other.pk}", quantity=7)]
    other.refresh_from_db()
    listing.refresh_from_db()
    someone_else.refresh_from_db()
    assert (other.quantity_available, listing.quantity_available, someone_else.quantity_available) == (7, 7, 10)
    [change] = result.cross_listing
    assert (change.listing_id, change.action, change.pushed, change.new_quantity) == (other.pk, "quantity", True, 7)
    row = AuditLog.objects.get(resource_type="listing", resource_id=str(other.pk))
    assert row.action == "quantity_changed" and row.user is None
    assert row.notes.startswith(f"sold 3 on {store} (order 04-7): quantity 10 → 7")


def test_cross_listing_waits_while_staff_paused_every_push(api, ebay, store, product, listing):
    other = live_listing(ebay_store(user=store.user), product, quantity_available=10)
    AutomationSwitch.objects.update_or_create(pk=1, defaults={"pushes_paused": True})
    order = ebay_order("04-8", [(listing.external_listing_id, f"AM-{listing.pk}", 1, "30.99")])
    spec_route(api, "GET", ORDERS, status=200, json=orders_page(order))

    [change] = store_orders_sync(store).cross_listing

    assert change.action == "held" and ebay.bulk.call_count == 0
    other.refresh_from_db()
    assert other.quantity_available == 10 and other.pending_changes["quantity"] == 9


def test_a_refused_authorisation_flags_the_store(api, store):
    store.oauth_refresh_token = None
    store.save()
    spec_route(api, "GET", ORDERS, status=401, json=ebay_error("Invalid token", error_id=1001))

    with pytest.raises(NeedsReauth):
        store_orders_sync(store)

    store.refresh_from_db()
    assert store.needs_reauth and store.orders_synced_at is None


def test_unit_cost_is_the_supplier_price_at_the_time_of_sale(product):
    PriceHistoryFactory(
        product=product,
        old_price=Decimal("15.00"),
        new_price=Decimal("18.00"),
        recorded_at=ORDERED_AT - timedelta(days=1),
    )
    PriceHistoryFactory(
        product=product,
        old_price=Decimal("18.00"),
        new_price=Decimal("20.00"),
        recorded_at=ORDERED_AT + timedelta(days=1),
    )

    assert unit_cost_at(product, at=ORDERED_AT, currency="USD") == Decimal("18.00")
    assert unit_cost_at(product, at=ORDERED_AT - timedelta(days=3), currency="USD") == Decimal("15.00")
    assert unit_cost_at(product, at=timezone.now(), currency="USD") == Decimal("20.00")


def test_unit_cost_is_converted_to_the_store_currency(product):
    product.currency = "EUR"
    product.save()
    assert unit_cost_at(product, at=ORDERED_AT, currency="USD") is None
    ExchangeRate.objects.create(currency="USD", per_eur=Decimal("1.10"), as_of=date(2026, 3, 2))
    assert unit_cost_at(product, at=ORDERED_AT, currency="USD") == Decimal("22.00")
