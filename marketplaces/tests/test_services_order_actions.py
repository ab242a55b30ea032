"""The seller's work on an order: buying it (warnings first, then what it really cost, which the
day's performance and the profit follow) and shipping it with a tracking number pushed to the
marketplace (refusals shown, temporary failures sent again), one order or many from a CSV."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplaces.models import ExchangeRate, OrderState, ShipmentStatus
from marketplaces.services import (
    OrderActionError,
    order_buy,
    order_buy_lines,
    order_costs_record,
    order_profit,
    order_ship,
    ship_csv_read,
    ship_csv_start,
    shipments_retry,
)
from marketplaces.services.purchases import NO_RATE_MESSAGE, NOT_TO_BUY_MESSAGE
from marketplaces.services.shipping import (
    CSV_AMBIGUOUS,
    CSV_NO_ORDER,
    CSV_ROW_SHAPE,
    PENDING_MESSAGE,
    SCOPES_MISSING_MESSAGE,
    WHOLE_RECEIPT_MESSAGE,
)
from marketplaces.tests.doubles import (
    ShopifyDouble,
    ebay_error,
    ebay_ship_route,
    ebay_store,
    etsy_receipt,
    etsy_ship_route,
    etsy_store,
    isolated_cache,
    shopify_fulfillment_created,
    shopify_fulfillment_orders,
    shopify_store,
)
from marketplaces.tests.factories import MarketplaceDataFactory, OrderFactory, SaleFactory
from monitoring.models import AuditLog, Job, JobStatus

pytestmark = pytest.mark.django_db

SOLD_AT = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "order-actions")
    settings.ETSY_KEYSTRING = "etsy-keystring-123"
    settings.ETSY_SHARED_SECRET = "etsy-shared-secret-456"
    settings.ETSY_REQUESTS_PER_SECOND = 100


def order_of(store, *, lines=1, listing=None, **values):
    order = OrderFactory(store_account=store, ordered_at=SOLD_AT, **values)
    for n in range(lines):
        SaleFactory(order=order, listing=listing if n == 0 else None, line_id=f"{order.marketplace_order_id}-{n}")
    return order


def trail(order):
    return list(AuditLog.objects.filter(resource_type="order", resource_id=str(order.pk)).order_by("timestamp", "pk"))


# --- Buying ------------------------------------------------------------------------------------


def test_buying_records_what_it_cost_moves_it_to_bought_and_recomputes_its_day(store, listing):
    order = order_of(store, listing=listing)
    day = MarketplaceDataFactory(
        listing=listing,
        date=SOLD_AT.date(),
        sales=1,
        revenue=Decimal("30.99"),
        cost_of_goods_sold=Decimal("20.00"),
        fees=Decimal("4.41"),
    )

    order_buy(
        order,
        supplier_order_number="112-7654321-0000001",
        cost_item=Decimal("18.50"),
        cost_shipping=Decimal("2.00"),
        cost_tax=Decimal("1.25"),
        cost_currency="usd",
        acting_user=store.user,
    )

    order.refresh_from_db()
    assert (order.state, order.supplier_order_number, order.cost_currency) == ("bought", "112-7654321-0000001", "USD")
    assert order.actual_cost() == Decimal("21.75") and order.bought_at is not None
    assert order.lines.get().actual_cost == Decimal("21.75")
    day.refresh_from_db()
    assert (day.cost_of_goods_sold, day.profit) == (Decimal("21.75"), Decimal("30.99") - Decimal("21.75") - day.fees)
    bought, costs = trail(order)
    assert (bought.action, bought.user, bought.old_value, bought.new_value) == (
        "bought",
        store.user,
        {"state": "to_buy"},
        {"state": "bought"},
    )
    assert costs.action == "costs_recorded" and costs.new_value["cost_item"] == "18.50"


def test_costs_are_split_over_the_lines_by_what_they_sold_for(store, listing):
    order = OrderFactory(store_account=store, ordered_at=SOLD_AT)
    first = SaleFactory(order=order, listing=listing, unit_price=Decimal("30.00"), quantity=1)
    second = SaleFactory(order=order, unit_price=Decimal("10.00"), quantity=1)
    cancelled = SaleFactory(order=order, unit_price=Decimal("50.00"), cancelled=True)

    order_buy(order, supplier_order_number="A-1", cost_item=Decimal("20.01"), acting_user=store.user)

    for line in (first, second, cancelled):
        line.refresh_from_db()
    assert (first.actual_cost, second.actual_cost, cancelled.actual_cost) == (Decimal("15.01"), Decimal("5.00"), None)


def test_costs_in_another_currency_are_converted_and_without_a_rate_refused(store, listing):
    ExchangeRate.objects.create(currency="USD", per_eur=Decimal("1.10"), as_of=SOLD_AT.date())
    order = order_of(store, listing=listing)

    order_buy(order, supplier_order_number="DE-1", cost_item=Decimal("20.00"), cost_currency="EUR", acting_user=None)
    assert order.lines.get().actual_cost == Decimal("22.00")

    with pytest.raises(OrderActionError) as caught:
        order_costs_record(
            order, supplier_order_number="DE-1", cost_item=Decimal("20.00"), cost_currency="GBP", acting_user=None
        )
    assert caught.value.message == NO_RATE_MESSAGE.format(source="GBP", target="USD")
    assert order.lines.get().actual_cost == Decimal("22.00")  # nothing changed


def test_only_an_order_to_buy_can_be_bought_but_costs_can_be_corrected_later(store, listing):
    order = order_of(store, listing=listing, state=OrderState.SHIPPED)

    with pytest.raises(OrderActionError) as caught:
        order_buy(order, supplier_order_number="X", cost_item=Decimal("1"), acting_user=store.user)
    assert caught.value.message == NOT_TO_BUY_MESSAGE.format(state="shipped")

    order_costs_record(order, supplier_order_number="X", cost_item=Decimal("19.00"), acting_user=store.user)
    order.refresh_from_db()
    assert order.state == "shipped" and order.cost_item == Decimal("19.00")
    assert [row.action for row in trail(order)] == ["costs_recorded"]


def test_buy_lines_warn_when_the_supplier_is_out_of_stock_or_costs_more_than_assumed(store, listing):
    order = order_of(store, listing=listing, lines=2)
    listing.product.price, listing.product.availability = Decimal("23.10"), "out_of_stock"
    listing.product.url = "https://www.amazon.com/dp/B0TEST"
    listing.product.save()

    matched, not_listed = order_buy_lines(order, list(order.lines.select_related("listing__product").order_by("pk")))

    assert matched.product_url == "https://www.amazon.com/dp/B0TEST" and matched.quantity == 1
    assert any("out of stock" in warning for warning in matched.warnings)
    assert any("23.10 USD" in warning and "20.00 USD" in warning for warning in matched.warnings)
    assert (not_listed.product_url, not_listed.warnings) == ("", ())


def test_a_supplier_page_that_is_not_a_web_address_is_never_linked(store, listing):
    order = order_of(store, listing=listing)
    listing.product.url = "javascript:alert(1)"
    listing.product.save()

    [item] = order_buy_lines(order, list(order.lines.select_related("listing__product")))

    assert item.product_url == "" and item.warnings


# --- Profit ------------------------------------------------------------------------------------


def test_profit_uses_the_supplier_price_until_the_seller_records_what_they_paid(store, listing):
    order = order_of(store, listing=listing)
    lines = list(order.lines.all())

    estimate = order_profit(order, lines)
    # 30.99 − 20.00 (supplier price when sold) − (30.99 × 13.25% + 0.30 = 4.41)
    assert (estimate.revenue, estimate.cost, estimate.fees) == (Decimal("30.99"), Decimal("20.00"), Decimal("4.41"))
    assert estimate.profit == Decimal("6.58") and not estimate.cost_is_actual

    order_buy(order, supplier_order_number="A", cost_item=Decimal("25.00"), acting_user=store.user)
    order.refresh_from_db()
    actual = order_profit(order, list(order.lines.all()))
    assert actual.cost_is_actual and actual.profit == Decimal("1.58")


def test_the_marketplaces_own_fee_is_used_when_it_gives_one(store, listing):
    order = OrderFactory(store_account=store, ordered_at=SOLD_AT)
    SaleFactory(order=order, listing=listing, fees=Decimal("3.10"))

    assert order_profit(order, list(order.lines.all())).fees == Decimal("3.10")


# --- Shipping: each marketplace ----------------------------------------------------------------


def test_ebay_shipping_pushes_every_line_and_the_order_is_shipped(api, store, listing):
    order = order_of(store, listing=listing, lines=2, state=OrderState.BOUGHT)
    route = ebay_ship_route(api, order.marketplace_order_id)

    shipment = order_ship(order, carrier="USPS", tracking_number="9400111899223100012345", acting_user=store.user)

    assert shipment.status == ShipmentStatus.SENT and shipment.remote_id == "9405509699937003457459"
    assert [item["lineItemId"] for item in json.loads(route.calls[0].request.content)["lineItems"]] == [
        f"{order.marketplace_order_id}-0",
        f"{order.marketplace_order_id}-1",
    ]
    order.refresh_from_db()
    assert order.state == "shipped" and order.shipped_at is not None
    [row] = trail(order)
    assert (row.action, row.user, row.notes) == ("shipped", store.user, "USPS 9400111899223100012345 accepted by eBay.")


def test_ebay_shipping_some_lines_keeps_the_order_open_until_the_rest_ship(api, store, listing):
    order = order_of(store, listing=listing, lines=2, state=OrderState.BOUGHT)
    first, second = order.lines.order_by("pk")
    ebay_ship_route(api, order.marketplace_order_id)

    order_ship(order, carrier="UPS", tracking_number="1Z999AA1", line_ids=[first.pk], acting_user=store.user)
    order.refresh_from_db()
    assert order.state == "bought" and [row.action for row in trail(order)] == ["shipment_sent"]

    order_ship(order, carrier="UPS", tracking_number="1Z999AA2", acting_user=store.user)
    order.refresh_from_db()
    assert order.state == "shipped"
    assert {line.pk for line in order.lines.filter(shipments__status=ShipmentStatus.SENT)} == {first.pk, second.pk}


def test_shopify_shipping_fulfils_the_orders_fulfillment_orders(api):
    store = shopify_store()
    order = OrderFactory(store_account=store, marketplace_order_id="gid://shopify/Order/1001", order_number="#1001")
    SaleFactory(order=order, line_id="gid://shopify/LineItem/1", quantity=2)
    shop = ShopifyDouble(api)
    shop.answer("OrderFulfillmentOrders", shopify_fulfillment_orders(1001, [(2, "gid://shopify/LineItem/1")]))
    shop.answer("FulfillmentCreate", shopify_fulfillment_created(5001))

    shipment = order_ship(order, carrier="DHL Express", tracking_number="JD0146000012345678", acting_user=store.user)

    assert shipment.status == ShipmentStatus.SENT and shipment.remote_id == "gid://shopify/Fulfillment/5001"
    assert shop.calls[1][1]["fulfillment"]["trackingInfo"] == {"company": "DHL Express", "number": "JD0146000012345678"}
    order.refresh_from_db()
    assert order.state == "shipped"


def test_etsy_ships_a_whole_receipt(api):
    store = etsy_store()
    order = OrderFactory(store_account=store, marketplace_order_id="9001", order_number="9001")
    first = SaleFactory(order=order, line_id="90010")
    SaleFactory(order=order, line_id="90011")
    shipped = etsy_receipt(9001, [(90010, 1, "AM-1", 1, 1999, "Tote")], shipments=[("usps", "9400X")])
    route = etsy_ship_route(api, shipped)

    with pytest.raises(OrderActionError) as caught:
        order_ship(order, carrier="usps", tracking_number="9400X", line_ids=[first.pk], acting_user=store.user)
    assert caught.value.message == WHOLE_RECEIPT_MESSAGE

    shipment = order_ship(order, carrier="usps", tracking_number="9400X", acting_user=store.user)
    assert shipment.status == ShipmentStatus.SENT and shipment.remote_id == "700" and route.call_count == 1
    order.refresh_from_db()
    assert order.state == "shipped"


# --- Shipping: refusals, waits, retries ---------------------------------------------------------


def test_a_refusal_is_kept_in_the_marketplaces_words_and_never_sent_again(api, store, listing):
    order = order_of(store, listing=listing, state=OrderState.BOUGHT)
    route = ebay_ship_route(
        api,
        order.marketplace_order_id,
        (400, ebay_error("Invalid shipment tracking number or carrier", error_id=32300)),
    )

    shipment = order_ship(order, carrier="USPS", tracking_number="NOPE123", acting_user=store.user)

    assert shipment.status == ShipmentStatus.REFUSED and shipment.error == "Invalid shipment tracking number or carrier"
    order.refresh_from_db()
    assert order.state == "bought" and order.ship_error == shipment.error
    shipments_retry(now=timezone.now() + timedelta(days=2))
    assert route.call_count == 1

    # Corrected, the same lines can be shipped again (and the refusal goes away).
    ebay_ship_route(api, order.marketplace_order_id)
    assert order_ship(order, carrier="USPS", tracking_number="9400111", acting_user=store.user).status == "sent"
    order.refresh_from_db()
    assert order.ship_error == "" and order.state == "shipped"


def test_a_busy_marketplace_gets_it_again_later_and_then_the_order_ships(api, store, listing):
    order = order_of(store, listing=listing, state=OrderState.BOUGHT)
    route = ebay_ship_route(
        api,
        order.marketplace_order_id,
        (500, ebay_error("System error", error_id=30500, category="APPLICATION")),
        (201, {}, {"Location": "https://api.ebay.com/x/shipping_fulfillment/77"}),
    )

    shipment = order_ship(order, carrier="USPS", tracking_number="9400111", acting_user=store.user)
    assert shipment.status == ShipmentStatus.PENDING and shipment.next_attempt_at is not None
    assert shipments_retry(now=timezone.now()) == []  # not due yet

    with pytest.raises(OrderActionError) as caught:
        order_ship(order, carrier="USPS", tracking_number="other", acting_user=store.user)
    assert caught.value.message == PENDING_MESSAGE

    [retried] = shipments_retry(now=shipment.next_attempt_at + timedelta(seconds=1))
    assert retried.status == ShipmentStatus.SENT and retried.remote_id == "77" and route.call_count == 2
    order.refresh_from_db()
    assert order.state == "shipped"
    assert trail(order)[-1].user == store.user  # who entered the tracking number


def test_a_store_to_reconnect_holds_the_tracking_number_until_it_is(api, store, listing):
    order = order_of(store, listing=listing, state=OrderState.BOUGHT)
    store.needs_reauth = True
    store.save()
    route = ebay_ship_route(api, order.marketplace_order_id)

    shipment = order_ship(order, carrier="USPS", tracking_number="9400111", acting_user=store.user)

    assert shipment.status == ShipmentStatus.PENDING and "Connect" in shipment.error and route.call_count == 0
    assert shipments_retry(now=timezone.now() + timedelta(days=1)) == []
    store.needs_reauth = False
    store.save()
    [sent] = shipments_retry(now=timezone.now() + timedelta(days=1))
    assert sent.status == ShipmentStatus.SENT and route.call_count == 1


def test_a_store_connected_before_shipping_must_reconnect(api):
    store = etsy_store(granted_scopes=["listings_r", "listings_w", "shops_r", "transactions_r"])
    order = order_of(store)

    with pytest.raises(OrderActionError) as caught:
        order_ship(order, carrier="usps", tracking_number="9400X", acting_user=store.user)

    assert caught.value.message == SCOPES_MISSING_MESSAGE.format(store=store)
    assert store.shipping_scopes_missing() == ["transactions_w"]


def test_a_shopify_write_scope_covers_its_read_scope():
    store = shopify_store(granted_scopes=["write_merchant_managed_fulfillment_orders"])
    assert store.shipping_scopes_missing() == []


def test_a_demo_store_ships_here_without_calling_the_marketplace(api, store, listing):
    store.user.is_demo = True
    store.user.save()
    order = order_of(store, listing=listing, state=OrderState.BOUGHT)

    shipment = order_ship(order, carrier="USPS", tracking_number="9400111", acting_user=store.user)

    assert shipment.status == ShipmentStatus.SENT and not api.calls
    order.refresh_from_db()
    assert order.state == "shipped"


def test_a_cancelled_order_cannot_be_shipped(store, listing):
    order = order_of(store, listing=listing, state=OrderState.CANCELLED)
    with pytest.raises(OrderActionError):
        order_ship(order, carrier="USPS", tracking_number="9400111", acting_user=store.user)


# --- Many at once ------------------------------------------------------------------------------


def test_a_shipping_csv_is_matched_to_the_sellers_orders_with_a_reason_for_each_bad_row(store, listing):
    ebay_order = order_of(store, listing=listing, marketplace_order_id="12-34567-89012", state=OrderState.BOUGHT)
    shopify = shopify_store(user=store.user)
    shopify_order = order_of(shopify, marketplace_order_id="gid://shopify/Order/1001", order_number="#1001")
    order_of(ebay_store(), marketplace_order_id="99-99999-99999")  # another seller's
    order_of(shopify, marketplace_order_id="gid://shopify/Order/7", order_number="#77")
    order_of(store, marketplace_order_id="77")
    content = (
        b"Order number,Carrier,Tracking\n"
        b"12-34567-89012,USPS,9400111\n"
        b"1001,UPS,1Z1\n"
        b"99-99999-99999,USPS,9400222\n"
        b"77,USPS,9400333\n"
        b"12-34567-89012,USPS,9400444\n"
        b"only-two,cells\n"
    )

    rows, errors = ship_csv_read(user=store.user, content=content)

    assert [(row.line, row.order, row.carrier, row.tracking_number) for row in rows] == [
        (2, ebay_order, "USPS", "9400111"),
        (3, shopify_order, "UPS", "1Z1"),
    ]
    assert errors == [
        CSV_ROW_SHAPE.format(line=7),
        CSV_NO_ORDER.format(line=4, number="99-99999-99999"),
        CSV_AMBIGUOUS.format(line=5, number="77"),
        "Line 6: order 12-34567-89012 is already on line 2.",
    ]


def test_a_shipping_csv_sends_every_order_as_a_job_with_progress(
    api, store, listing, django_capture_on_commit_callbacks
):
    first = order_of(store, listing=listing, marketplace_order_id="12-00001-00001", state=OrderState.BOUGHT)
    second = order_of(store, marketplace_order_id="12-00002-00002")
    ebay_ship_route(api, "12-00001-00001")
    ebay_ship_route(
        api, "12-00002-00002", (400, ebay_error("Invalid shipment tracking number or carrier", error_id=32300))
    )
    rows, _ = ship_csv_read(user=store.user, content=b"12-00001-00001,USPS,9400111\n12-00002-00002,USPS,BAD1\n")

    with django_capture_on_commit_callbacks(execute=True):
        job, errors = ship_csv_start(user=store.user, rows=rows, acting_user=store.user)

    assert errors == []
    job.refresh_from_db()
    assert (job.status, job.type, job.progress_done, job.progress_total) == (JobStatus.SUCCESS, "ship_orders", 2, 2)
    assert job.result == {
        "sent": ["12-00001-00001"],
        "refused": {"12-00002-00002": "Invalid shipment tracking number or carrier"},
        "waiting": {},
    }
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state, second.ship_error) == (
        "shipped",
        "to_buy",
        job.result["refused"]["12-00002-00002"],
    )


def test_a_shipping_csv_with_an_order_that_cannot_ship_sends_nothing(store, listing):
    open_order = order_of(store, listing=listing, marketplace_order_id="12-00003-00003")
    order_of(store, marketplace_order_id="12-00004-00004", state=OrderState.CANCELLED)
    rows, _ = ship_csv_read(user=store.user, content=b"12-00003-00003,USPS,9400111\n12-00004-00004,USPS,9400222\n")

    job, errors = ship_csv_start(user=store.user, rows=rows, acting_user=store.user)

    assert job is None and errors == [
        "Line 2: order 12-00004-00004: This order is cancelled: there is nothing to ship."
    ]
    assert not open_order.shipments.exists() and not Job.objects.exists()
