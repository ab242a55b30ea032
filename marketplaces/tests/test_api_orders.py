"""The seller API's orders list and one order through the real URLs: the Orders page's filters,
search, sorting and cursor pages, the page's CSV, a constant query count, the ship-to address in one
order's answer to its own seller only (never in the list or the CSV), and the profit as the order
page shows it."""

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config.tests.api_helpers import problem
from marketplaces.models import ExchangeRate, OrderState, Shipment, ShipmentStatus
from marketplaces.services import OrderProfit
from marketplaces.services.purchases import OUT_OF_STOCK_WARNING
from marketplaces.tests.doubles import (
    BUYER_NAME,
    BUYER_STREET,
    ebay_store,
    isolated_cache,
    live_listing,
    supplier_product,
)
from marketplaces.tests.factories import OrderFactory, SaleFactory, StoreAccountFactory

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
SHIP_TO = {"name": BUYER_NAME, "line1": BUYER_STREET, "city": "Cupertino", "postal_code": "95014", "country": "US"}


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "api-orders")


@pytest.fixture
def store(user):
    return ebay_store(user=user, account_name="my-ebay-shop")


@pytest.fixture
def listing(store):
    product = supplier_product(url="https://www.amazon.com/dp/B0TEST")
    return live_listing(store, product, title="Steel bottle 750 ml", price=Decimal("30.99"))


def an_order(store, *, listing=None, title="Steel bottle 750 ml", days_ago=0, **values):
    values.setdefault("ordered_at", timezone.now() - timedelta(days=days_ago, hours=1))
    order = OrderFactory(store_account=store, **values)
    order.ship_to = SHIP_TO
    order.save(update_fields=["ship_to"])
    SaleFactory(order=order, listing=listing, title=title, line_id=f"{order.marketplace_order_id}-0")
    return order


def ids(seller_api, **params):
    response = seller_api.get(ORDERS, params)
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def detail(order):
    return f"{ORDERS}{order.pk}/"


# --- The list ----------------------------------------------------------------------------------


def test_the_list_has_the_sellers_orders_newest_first_with_lines_and_no_address(seller_api, store, listing, other_user):
    older = an_order(store, listing=listing, days_ago=3, order_number="12-00001-00001")
    newer = an_order(store, title="Gadget nobody listed", days_ago=1, order_number="12-00002-00002")
    an_order(StoreAccountFactory(user=other_user), order_number="99-99999-99999")

    response = seller_api.get(ORDERS)

    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [newer.pk, older.pk]
    assert rows[1]["lines"][0]["listing"] == listing.pk and rows[0]["lines"][0]["listing"] is None
    assert rows[1]["total"] == "30.99" and rows[1]["currency"] == "USD" and rows[1]["store"] == store.pk
    assert rows[1]["ordered_at"].endswith(("Z", "+00:00"))
    text = response.content.decode()
    assert "99-99999-99999" not in text and "ship_to" not in text
    assert BUYER_NAME not in text and BUYER_STREET not in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "to_buy"}, ["to_buy"]),
        ({"state": "bought"}, ["bought"]),
        ({"state": "open"}, ["bought", "to_buy"]),
        ({"state": "overdue"}, ["bought"]),
        ({"q": "12-0000"}, ["bought", "to_buy"]),
        ({"q": "#1001"}, ["shipped"]),
        ({"q": "kettle_fan"}, ["bought"]),
        ({"q": "DESK LAMP"}, ["to_buy"]),
        ({"q": BUYER_NAME}, []),  # the encrypted name is never searched
        ({"q": BUYER_STREET}, []),
    ],
)
def test_the_order_pages_filters_and_search(seller_api, store, query, expected):
    an_order(store, title="Desk lamp", order_number="12-00001-00001", state=OrderState.TO_BUY)
    an_order(
        store,
        order_number="12-00002-00002",
        state=OrderState.BOUGHT,
        buyer_username="kettle_fan",
        ship_by=timezone.now() - timedelta(hours=2),
    )
    an_order(store, order_number="#1001", state=OrderState.SHIPPED, days_ago=2)

    rows = seller_api.get(ORDERS, query).json()["results"]

    assert sorted(row["state"] for row in rows) == expected
    assert all(row["overdue"] == (row["state"] == "bought") for row in rows)


def test_filter_by_store_and_by_sale_days_in_the_sellers_time_zone(seller_api, user, store):
    user.timezone = "Asia/Tokyo"
    user.save(update_fields=["timezone"])
    etsy = StoreAccountFactory(user=user, marketplace="etsy")
    late_evening_utc = an_order(store, ordered_at=datetime(2026, 3, 2, 23, 30, tzinfo=UTC))  # Mar 3 in Tokyo
    on_etsy = an_order(etsy, ordered_at=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))

    assert ids(seller_api, store=etsy.pk) == [on_etsy.pk]
    assert ids(seller_api, start="2026-03-03", end="2026-03-03") == [late_evening_utc.pk]
    assert ids(seller_api, start="2026-03-02", end="2026-03-02") == [on_etsy.pk]


def test_another_sellers_store_as_a_filter_is_a_404(seller_api, other_user):
    rival = StoreAccountFactory(user=other_user)
    an_order(rival)

    response = seller_api.get(ORDERS, {"store": rival.pk})

    assert response.status_code == 404 and problem(response)["code"] == "not_found"


def test_a_bad_filter_value_is_a_problem_naming_the_parameter(seller_api, store):
    response = seller_api.get(ORDERS, {"state": "lost", "start": "yesterday"})

    body = problem(response)
    assert response.status_code == 400 and body["code"] == "validation"
    assert {error["parameter"] for error in body["errors"]} == {"state", "start"}


def test_sorting_by_ship_by_puts_orders_without_one_last_either_way(seller_api, store):
    soon = an_order(store, ship_by=timezone.now() + timedelta(days=1))
    later = an_order(store, ship_by=timezone.now() + timedelta(days=3))
    none = an_order(store)

    assert ids(seller_api, ordering="ship_by") == [soon.pk, later.pk, none.pk]
    assert ids(seller_api, ordering="-ship_by") == [later.pk, soon.pk, none.pk]


def test_sorting_by_total_and_order_number(seller_api, store):
    cheap = an_order(store, total=Decimal("5.00"), order_number="B-2")
    dear = an_order(store, total=Decimal("90.00"), order_number="A-1")

    assert ids(seller_api, ordering="-total") == [dear.pk, cheap.pk]
    assert ids(seller_api, ordering="order_number") == [dear.pk, cheap.pk]
    assert problem(seller_api.get(ORDERS, {"ordering": "buyer_name"}))["errors"][0]["parameter"] == "ordering"


def test_cursor_pages_walk_every_order_once_even_over_equal_sort_values(seller_api, store):
    same_time = timezone.now() - timedelta(hours=5)
    made = {an_order(store, ordered_at=same_time).pk for _ in range(5)} | {an_order(store).pk for _ in range(2)}

    seen, url, pages = [], ORDERS + "?limit=3", 0
    while url:
        body = seller_api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1

    assert sorted(seen) == sorted(made) and len(seen) == len(made) and pages == 3


def test_the_list_costs_the_same_few_queries_for_3_or_25_orders(seller_api, user, store, listing):
    # Lines in other currencies than the store's: their rates are read once per currency, not per row.
    ExchangeRate.objects.create(currency="USD", per_eur=Decimal("1.08"), as_of=timezone.localdate())
    ExchangeRate.objects.create(currency="GBP", per_eur=Decimal("0.85"), as_of=timezone.localdate())

    def add_orders(count):
        for n in range(count):
            order = an_order(store, listing=listing, state=OrderState.BOUGHT)
            second = SaleFactory(order=order, currency=("EUR", "GBP")[n % 2], title="Second line")
            shipment = Shipment.objects.create(
                order=order,
                carrier="USPS",
                tracking_number=f"9400{n}",
                status=ShipmentStatus.SENT,
                shipped_at=order.ordered_at,
            )
            shipment.lines.set([second])

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = seller_api.get(ORDERS, {"limit": 100})
        assert response.status_code == 200
        return len(captured), len(response.json()["results"])

    add_orders(3)
    few = queries()
    add_orders(22)
    many = queries()

    assert (few[1], many[1]) == (3, 25)
    assert few[0] == many[0]
    assert many[0] <= 9  # session, rate counter, orders, lines, their shipments, shipments, their lines, 2 rates


def test_the_csv_is_the_orders_pages_download_without_name_or_address(seller_api, seller_client, user, store, listing):
    user.timezone = "Asia/Tokyo"
    user.save(update_fields=["timezone"])
    order = an_order(store, listing=listing, order_number="=cmd|' /C calc'!A0", buyer_username="jordan_e")
    SaleFactory(order=order, title="Extra item", quantity=2)
    an_order(store, buyer_username="someone_else")

    response = seller_api.get(ORDERS, {"q": "jordan_e"}, HTTP_ACCEPT="text/csv")
    page = seller_client.get(reverse("marketplaces:order_list_csv"), {"q": "jordan_e"})

    text = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.content == page.content  # the same file, times in the seller's time zone
    lines = text.strip().splitlines()
    assert len(lines) == 3 and lines[1].startswith("'=cmd") and "+09:00" in lines[1]
    assert "someone_else" not in text
    assert BUYER_NAME not in text and BUYER_STREET not in text


# --- One order ---------------------------------------------------------------------------------


def test_one_order_shows_the_ship_to_address_to_its_seller(seller_api, store, listing, caplog):
    caplog.set_level(logging.DEBUG)
    order = an_order(store, listing=listing, ship_by=timezone.now() + timedelta(days=2))

    response = seller_api.get(detail(order))

    body = response.json()
    assert response.status_code == 200
    assert body["ship_to"]["name"] == BUYER_NAME and body["ship_to"]["line1"] == BUYER_STREET
    assert body["ship_to"]["company"] == "" and body["ship_to_erased_at"] is None
    assert body["to_buy"] == [
        {
            "line": order.lines.get().pk,
            "supplier_url": "https://www.amazon.com/dp/B0TEST",
            "quantity": 1,
            "warnings": [],
        }
    ]
    assert BUYER_NAME not in caplog.text and BUYER_STREET not in caplog.text


def test_an_address_wiped_is_null_with_when(seller_api, store):
    order = an_order(store, state=OrderState.SHIPPED)
    order.ship_to, order.ship_to_erased_at = None, timezone.now()
    order.save(update_fields=["ship_to", "ship_to_erased_at"])

    body = seller_api.get(detail(order)).json()

    assert body["ship_to"] is None and body["ship_to_erased_at"] and body["to_buy"] == []


def test_what_to_buy_warns_when_the_supplier_is_out_of_stock(seller_api, store, listing):
    order = an_order(store, listing=listing)
    listing.product.availability = "out_of_stock"
    listing.product.save(update_fields=["availability"])

    [line] = seller_api.get(detail(order)).json()["to_buy"]

    assert line["warnings"] == [OUT_OF_STOCK_WARNING.format(title=listing.title)]


def test_another_sellers_order_is_a_404_without_their_address(seller_api, other_user):
    theirs = an_order(StoreAccountFactory(user=other_user))

    response = seller_api.get(detail(theirs))

    assert response.status_code == 404 and problem(response)["code"] == "not_found"
    assert BUYER_NAME not in response.content.decode()


def test_the_profit_is_the_order_pages_estimate_then_what_was_paid(seller_api, seller_client, store, listing):
    order = an_order(store, listing=listing, state=OrderState.BOUGHT)

    def both():
        api = seller_api.get(detail(order)).json()["profit"]
        page = seller_client.get(order.get_absolute_url()).context["profit"]
        return api, page

    api, page = both()
    assert api == {
        "currency": "USD",
        "revenue": "30.99",
        "cost": "20.00",
        "cost_is_actual": False,
        "fees": f"{page.fees:.2f}",
        "marketplace_fees": f"{page.marketplace_fees:.2f}",
        "payment_fees": f"{page.payment_fees:.2f}",
        "returns_allowance": f"{page.returns_allowance:.2f}",
        "profit": f"{page.profit:.2f}",
        "margin_percent": f"{page.margin_percent:.2f}",
    }
    seller_api.put(
        detail(order) + "costs/", {"supplier_order_number": "112-1", "cost_item": "18.00", "cost_shipping": "1.00"}
    )
    api, page = both()
    assert api["cost"] == "19.00" and api["cost_is_actual"] is True
    assert Decimal(api["profit"]) == page.profit and Decimal(api["margin_percent"]) == page.margin_percent


def test_every_part_of_the_orders_profit_is_in_the_api(seller_api, store):
    order = an_order(store)

    profit = seller_api.get(detail(order)).json()["profit"]
    listed = seller_api.get(ORDERS).json()["results"][0]["profit"]

    parts = {field.name for field in dataclasses.fields(OrderProfit)} | {"margin_percent"}
    assert set(profit) == parts and listed == profit
