"""The seller API's order actions through the real URLs: bought with what it cost (the order page's
checks as problem documents with field errors), costs corrected, shipped with a carrier and tracking
number pushed to the marketplace (requests and answers checked against the official specs by the
test doubles), refusals in the marketplace's words, and Idempotency-Key on the creating POSTs. No
answer of an action, nor what Idempotency-Key keeps of it, holds the buyer's address."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import respx
from django.utils import timezone

from accounts.models import IdempotencyKey
from config.tests.api_helpers import problem
from marketplaces.models import OrderState, Shipment, ShipmentStatus
from marketplaces.order_api import UNKNOWN_KEY
from marketplaces.order_forms import CURRENCY_INVALID, NO_LINE_MESSAGE, TRACKING_INVALID
from marketplaces.services.purchases import COSTS_CANCELLED_MESSAGE, NO_RATE_MESSAGE, NOT_TO_BUY_MESSAGE
from marketplaces.services.shipping import NOT_OPEN_MESSAGE, SCOPES_MISSING_MESSAGE, WAITING_MESSAGE
from marketplaces.tests.doubles import (
    BUYER_NAME,
    BUYER_STREET,
    ebay_error,
    ebay_ship_route,
    ebay_store,
    etsy_receipt,
    etsy_ship_route,
    etsy_store,
    isolated_cache,
    live_listing,
    supplier_product,
)
from marketplaces.tests.factories import OrderFactory, SaleFactory
from marketplaces.views.orders import SHIP_REFUSED_MESSAGE
from monitoring.models import AnalyticsCache, AuditLog

pytestmark = pytest.mark.django_db

SHIP_TO = {"name": BUYER_NAME, "line1": BUYER_STREET, "city": "Cupertino", "postal_code": "95014", "country": "US"}
COSTS = {"supplier_order_number": "112-7766", "cost_item": "18.00", "cost_shipping": "2.50", "cost_tax": "1.25"}


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "api-order-actions")
    settings.ETSY_KEYSTRING = "etsy-keystring-123"
    settings.ETSY_SHARED_SECRET = "etsy-shared-secret-456"
    settings.ETSY_REQUESTS_PER_SECOND = 100


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def store(user):
    return ebay_store(user=user)


@pytest.fixture
def listing(store):
    return live_listing(store, supplier_product(), title="Steel bottle 750 ml", price=Decimal("30.99"))


def an_order(store, *, lines=1, listing=None, **values):
    order = OrderFactory(store_account=store, **values)
    order.ship_to = SHIP_TO
    order.save(update_fields=["ship_to"])
    for n in range(lines):
        SaleFactory(order=order, listing=listing if n == 0 else None, line_id=f"{order.marketplace_order_id}-{n}")
    return order


def url(order, action):
    return f"/api/v1/orders/{order.pk}/{action}/"


def no_address(response):
    text = response.content.decode()
    return BUYER_NAME not in text and BUYER_STREET not in text


def trail(order):
    return list(AuditLog.objects.filter(resource_type="order", resource_id=str(order.pk)).order_by("timestamp", "pk"))


# --- Buying ------------------------------------------------------------------------------------


def test_buying_records_the_costs_and_the_order_is_bought(seller_api, user, store, listing):
    order = an_order(store, listing=listing)
    AnalyticsCache.objects.create(user=user, metric_type="at_risk", data={}, expires_at=timezone.now() + timedelta(1))

    response = seller_api.post(url(order, "buy"), COSTS)

    body = response.json()
    assert response.status_code == 200 and no_address(response)
    assert body["state"] == "bought" and body["bought_at"]
    assert (body["cost_item"], body["cost_shipping"], body["cost_tax"], body["cost_currency"]) == (
        "18.00",
        "2.50",
        "1.25",
        "USD",  # the store's currency when none is given
    )
    assert body["profit"]["cost"] == "21.75" and body["profit"]["cost_is_actual"] is True
    order.refresh_from_db()
    assert order.state == "bought" and order.supplier_order_number == "112-7766"
    assert [(row.action, row.user) for row in trail(order)] == [("bought", user), ("costs_recorded", user)]
    assert not AnalyticsCache.objects.filter(user=user).exists()  # the dashboard's profit is worked out again


def test_an_order_no_longer_to_buy_is_refused_in_words(seller_api, store):
    order = an_order(store, state=OrderState.SHIPPED)

    response = seller_api.post(url(order, "buy"), COSTS)

    body = problem(response)
    assert response.status_code == 409 and body["code"] == "not_to_buy"
    assert body["detail"] == NOT_TO_BUY_MESSAGE.format(state="shipped")


def test_bad_costs_are_field_errors_and_change_nothing(seller_api, store):
    order = an_order(store)

    response = seller_api.post(
        url(order, "buy"), {"supplier_order_number": "", "cost_item": "-3", "cost_currency": "US1"}
    )

    body = problem(response)
    assert response.status_code == 400 and body["code"] == "validation"
    errors = {error["pointer"]: error["detail"] for error in body["errors"]}
    assert set(errors) == {"#/supplier_order_number", "#/cost_item", "#/cost_currency"}
    assert errors["#/cost_currency"] == CURRENCY_INVALID
    order.refresh_from_db()
    assert order.state == "to_buy" and order.cost_item is None and not trail(order)


def test_a_misspelt_field_is_refused_rather_than_ignored(seller_api, store):
    order = an_order(store)

    response = seller_api.post(url(order, "buy"), {**COSTS, "cost_shiping": "2.50"})

    assert response.status_code == 400
    assert problem(response)["errors"] == [{"pointer": "#/cost_shiping", "detail": UNKNOWN_KEY, "code": "invalid"}]


def test_costs_in_a_currency_without_a_rate_are_a_field_error(seller_api, store):
    order = an_order(store)

    response = seller_api.post(url(order, "buy"), {**COSTS, "cost_currency": "jpy"})

    [error] = problem(response)["errors"]
    assert response.status_code == 400
    assert error == {
        "pointer": "#/cost_currency",
        "detail": NO_RATE_MESSAGE.format(source="JPY", target="USD"),
        "code": "invalid",
    }
    order.refresh_from_db()
    assert order.state == "to_buy"


def test_buying_twice_with_one_idempotency_key_records_it_once(seller_api, user, store, listing):
    order = an_order(store, listing=listing)
    key = {"HTTP_IDEMPOTENCY_KEY": "buy-112-7766"}

    first = seller_api.post(url(order, "buy"), COSTS, **key)
    again = seller_api.post(url(order, "buy"), COSTS, **key)

    assert first.status_code == again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert [row.action for row in trail(order)] == ["bought", "costs_recorded"]
    kept = IdempotencyKey.objects.get(user=user, key="buy-112-7766")
    assert BUYER_NAME not in json.dumps(kept.body) and BUYER_STREET not in json.dumps(kept.body)


def test_costs_are_corrected_without_moving_the_order(seller_api, store):
    order = an_order(store, state=OrderState.SHIPPED)

    response = seller_api.put(url(order, "costs"), {**COSTS, "cost_item": "16.00", "cost_currency": "usd"})

    body = response.json()
    assert response.status_code == 200 and no_address(response)
    assert body["state"] == "shipped" and body["cost_item"] == "16.00" and body["cost_currency"] == "USD"
    assert [row.action for row in trail(order)] == ["costs_recorded"]


def test_a_cancelled_order_has_no_cost_to_record(seller_api, store):
    order = an_order(store, state=OrderState.CANCELLED)

    response = seller_api.put(url(order, "costs"), COSTS)

    assert response.status_code == 409 and problem(response)["detail"] == COSTS_CANCELLED_MESSAGE


# --- Shipping ----------------------------------------------------------------------------------


def test_shipping_sends_the_tracking_number_to_ebay_and_the_order_is_shipped(seller_api, api, user, store, listing):
    order = an_order(store, listing=listing, lines=2, state=OrderState.BOUGHT)
    route = ebay_ship_route(api, order.marketplace_order_id)  # request and answer checked against eBay's spec

    response = seller_api.post(url(order, "ship"), {"carrier": "USPS", "tracking_number": "9400 1118 9922"})

    assert response.status_code == 201 and no_address(response)
    assert response["Location"] == f"/api/v1/orders/{order.pk}/"
    body = response.json()
    assert body["state"] == "shipped" and body["ship_error"] == ""
    [shipment] = body["shipments"]
    assert (shipment["carrier"], shipment["tracking_number"], shipment["status"]) == ("USPS", "9400 1118 9922", "sent")
    assert sorted(shipment["lines"]) == sorted(line.pk for line in order.lines.all())
    assert all(line["shipped"] for line in body["lines"])
    sent = json.loads(route.calls[0].request.content)
    assert sent["trackingNumber"] == "9400 1118 9922" and sent["shippingCarrierCode"] == "USPS"
    assert [item["lineItemId"] for item in sent["lineItems"]] == [f"{order.marketplace_order_id}-{n}" for n in (0, 1)]
    assert trail(order)[-1].action == "shipped" and trail(order)[-1].user == user


def test_shipping_some_lines_keeps_the_order_open_until_the_rest_go(seller_api, api, store, listing):
    order = an_order(store, listing=listing, lines=2, state=OrderState.BOUGHT)
    first, second = order.lines.order_by("pk")
    ebay_ship_route(api, order.marketplace_order_id)

    part = seller_api.post(url(order, "ship"), {"carrier": "UPS", "tracking_number": "1Z999AA1", "lines": [first.pk]})
    again = seller_api.post(url(order, "ship"), {"carrier": "UPS", "tracking_number": "1Z999AA2", "lines": [first.pk]})
    rest = seller_api.post(url(order, "ship"), {"carrier": "UPS", "tracking_number": "1Z999AA2"})

    assert part.status_code == 201 and part.json()["state"] == "bought"
    assert [line["shipped"] for line in part.json()["lines"]] == [True, False]
    assert again.status_code == 400 and problem(again)["errors"][0]["pointer"] == "#/lines"  # already shipped
    assert rest.status_code == 201 and rest.json()["state"] == "shipped"
    assert [s["lines"] for s in rest.json()["shipments"]] == [[first.pk], [second.pk]]


def test_a_refusal_is_a_problem_in_the_marketplaces_words(seller_api, api, store, listing):
    order = an_order(store, listing=listing, state=OrderState.BOUGHT)
    refusal = "Invalid shipment tracking number or carrier"
    ebay_ship_route(api, order.marketplace_order_id, (400, ebay_error(refusal, error_id=32300)))

    response = seller_api.post(url(order, "ship"), {"carrier": "USPS", "tracking_number": "NOPE123"})

    body = problem(response)
    assert response.status_code == 422 and body["code"] == "marketplace_refused" and no_address(response)
    assert body["detail"] == SHIP_REFUSED_MESSAGE.format(marketplace="eBay", error=refusal)
    order.refresh_from_db()
    assert order.state == "bought" and order.ship_error == refusal
    assert Shipment.objects.get(order=order).status == ShipmentStatus.REFUSED
    assert seller_api.get(f"/api/v1/orders/{order.pk}/").json()["shipments"][0]["error"] == refusal


def test_a_busy_marketplace_is_a_202_and_it_is_sent_again_later(seller_api, api, store, listing):
    order = an_order(store, listing=listing, state=OrderState.BOUGHT)
    ebay_ship_route(
        api, order.marketplace_order_id, (500, ebay_error("System error", error_id=30500, category="APPLICATION"))
    )

    response = seller_api.post(url(order, "ship"), {"carrier": "USPS", "tracking_number": "9400111"})

    body = response.json()
    assert response.status_code == 202 and body["state"] == "bought"
    assert body["ship_error"].startswith(WAITING_MESSAGE.split("(")[0].format(marketplace="eBay"))
    [shipment] = body["shipments"]
    assert shipment["status"] == "pending" and shipment["next_attempt_at"]


def test_shipping_twice_with_one_idempotency_key_sends_once(seller_api, api, user, store, listing):
    order = an_order(store, listing=listing, state=OrderState.BOUGHT)
    route = ebay_ship_route(api, order.marketplace_order_id)
    key = {"HTTP_IDEMPOTENCY_KEY": "ship-9400111"}
    sent = {"carrier": "USPS", "tracking_number": "9400111"}

    first = seller_api.post(url(order, "ship"), sent, **key)
    again = seller_api.post(url(order, "ship"), sent, **key)

    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"] and again.json() == first.json()
    assert route.call_count == 1 and Shipment.objects.filter(order=order).count() == 1
    kept = IdempotencyKey.objects.get(user=user, key="ship-9400111")
    assert BUYER_NAME not in json.dumps(kept.body)


def test_a_bad_tracking_number_or_no_line_is_a_field_error_and_nothing_is_sent(seller_api, api, store, listing):
    order = an_order(store, listing=listing, state=OrderState.BOUGHT)
    route = ebay_ship_route(api, order.marketplace_order_id)

    bad_tracking = seller_api.post(url(order, "ship"), {"carrier": "USPS", "tracking_number": "<b>"})
    no_line = seller_api.post(url(order, "ship"), {"carrier": "USPS", "tracking_number": "9400111", "lines": []})
    no_carrier = seller_api.post(url(order, "ship"), {"tracking_number": "9400111"})

    assert problem(bad_tracking)["errors"] == [
        {"pointer": "#/tracking_number", "detail": TRACKING_INVALID, "code": "invalid"}
    ]
    assert problem(no_line)["errors"][0] == {"pointer": "#/lines", "detail": NO_LINE_MESSAGE, "code": "invalid"}
    assert problem(no_carrier)["errors"][0]["pointer"] == "#/carrier"
    assert route.call_count == 0 and not Shipment.objects.exists()


def test_an_order_that_cannot_ship_is_refused_in_words(seller_api, api, user, store):
    cancelled = an_order(store, state=OrderState.CANCELLED)
    shipped = an_order(store, state=OrderState.SHIPPED)
    package = Shipment.objects.create(
        order=shipped, carrier="USPS", tracking_number="1", status="sent", shipped_at=shipped.ordered_at
    )
    package.lines.set(shipped.lines.all())
    etsy_before_shipping = etsy_store(user=user, granted_scopes=["transactions_r"])
    waiting_for_scope = an_order(etsy_before_shipping, state=OrderState.BOUGHT)

    not_open = seller_api.post(url(cancelled, "ship"), {"carrier": "USPS", "tracking_number": "9400111"})
    already = seller_api.post(url(shipped, "ship"), {"carrier": "USPS", "tracking_number": "9400111"})
    no_scope = seller_api.post(url(waiting_for_scope, "ship"), {"carrier": "USPS", "tracking_number": "9400111"})

    assert not_open.status_code == 409 and problem(not_open)["code"] == "not_shippable"
    assert problem(not_open)["detail"] == NOT_OPEN_MESSAGE.format(state="cancelled")
    assert already.status_code == 409 and problem(already)["detail"] == NOT_OPEN_MESSAGE.format(state="shipped")
    assert no_scope.status_code == 409
    assert problem(no_scope)["detail"] == SCOPES_MISSING_MESSAGE.format(store=etsy_before_shipping)


def test_etsy_ships_the_whole_receipt_whatever_lines_are_named(seller_api, api, user):
    store = etsy_store(user=user)
    order = OrderFactory(store_account=store, marketplace_order_id="9001", order_number="9001")
    first = SaleFactory(order=order, line_id="90010")
    SaleFactory(order=order, line_id="90011")
    shipped = etsy_receipt(9001, [(90010, 1, "AM-1", 1, 1999, "Tote")], shipments=[("usps", "9400X")])
    route = etsy_ship_route(api, shipped)

    response = seller_api.post(url(order, "ship"), {"carrier": "usps", "tracking_number": "9400X", "lines": [first.pk]})

    assert response.status_code == 201 and response.json()["state"] == "shipped" and route.call_count == 1
    assert sorted(response.json()["shipments"][0]["lines"]) == sorted(line.pk for line in order.lines.all())
