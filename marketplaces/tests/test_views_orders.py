"""The Orders pages through the test client: the list (filters, search, sorting, pagination, CSV,
HTMX), one order's page (address for its seller only, buying, shipping, costs) and the CSV upload;
another seller gets a 404 and the buyer's name and address never reach a list or an export."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import respx
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from marketplaces.models import OrderState
from marketplaces.tests.doubles import (
    BUYER_NAME,
    BUYER_STREET,
    ebay_error,
    ebay_ship_route,
    isolated_cache,
    live_listing,
    supplier_product,
)
from marketplaces.tests.factories import OrderFactory, SaleFactory, StoreAccountFactory
from monitoring.models import AnalyticsCache, AuditLog

pytestmark = pytest.mark.django_db

LIST = reverse("marketplaces:order_list")
SHIP_TO = {"name": BUYER_NAME, "line1": BUYER_STREET, "city": "Cupertino", "postal_code": "95014", "country": "US"}


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "order-views")


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def store(user):
    return StoreAccountFactory(user=user, account_name="my-ebay-shop")


@pytest.fixture
def listing(store):
    return live_listing(store, supplier_product(url="https://www.amazon.com/dp/B0TEST"), title="Steel bottle 750 ml")


def an_order(store, *, listing=None, title="Steel bottle 750 ml", days_ago=0, **values):
    values.setdefault("ordered_at", timezone.now() - timedelta(days=days_ago, hours=1))
    order = OrderFactory(store_account=store, **values)
    order.ship_to = SHIP_TO
    order.save(update_fields=["ship_to"])
    SaleFactory(order=order, listing=listing, title=title, line_id=f"{order.marketplace_order_id}-0")
    return order


def listed(response):
    return [order.pk for order in response.context["page_obj"].object_list]


# --- The list ----------------------------------------------------------------------------------


def test_the_list_shows_the_sellers_orders_newest_first_without_any_address(seller_client, store, listing, other_user):
    older = an_order(store, listing=listing, days_ago=3, order_number="12-00001-00001")
    newer = an_order(store, title="Gadget nobody listed", days_ago=1, order_number="12-00002-00002")
    an_order(StoreAccountFactory(user=other_user), order_number="99-99999-99999")

    response = seller_client.get(LIST)

    page = response.content.decode()
    assert listed(response) == [newer.pk, older.pk]
    assert "12-00001-00001" in page and "99-99999-99999" not in page
    assert "Gadget nobody listed" in page and "not listed here" in page
    assert BUYER_NAME not in page and BUYER_STREET not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "to_buy"}, ["to buy"]),
        ({"state": "bought"}, ["bought"]),
        ({"state": "open"}, ["to buy", "bought"]),
        ({"state": "overdue"}, ["bought"]),
        ({"q": "12-0000"}, ["to buy", "bought"]),
        ({"q": "#1001"}, ["shipped"]),
        ({"q": "kettle_fan"}, ["bought"]),
        ({"q": "DESK LAMP"}, ["to buy"]),
        ({"q": BUYER_NAME}, []),  # the encrypted name is never searched
    ],
)
def test_filters_and_search(seller_client, store, query, expected):
    an_order(store, title="Desk lamp", order_number="12-00001-00001", state=OrderState.TO_BUY)
    an_order(
        store,
        order_number="12-00002-00002",
        state=OrderState.BOUGHT,
        buyer_username="kettle_fan",
        ship_by=timezone.now() - timedelta(hours=2),
    )
    an_order(store, order_number="#1001", state=OrderState.SHIPPED, days_ago=2)

    response = seller_client.get(LIST, query)

    states = [order.get_state_display().lower() for order in response.context["page_obj"].object_list]
    assert sorted(states) == sorted(expected)


def test_filter_by_store_and_sold_dates(seller_client, store, user):
    other_store = StoreAccountFactory(user=user, marketplace="etsy")
    first = an_order(store, days_ago=10)
    second = an_order(other_store, days_ago=2)
    third = an_order(store, days_ago=1)

    by_store = seller_client.get(LIST, {"store": other_store.pk})
    start = (timezone.localdate() - timedelta(days=5)).isoformat()
    by_date = seller_client.get(LIST, {"start": start, "end": timezone.localdate().isoformat()})

    assert listed(by_store) == [second.pk]
    assert listed(by_date) == [third.pk, second.pk] and first.pk not in listed(by_date)


def test_another_sellers_store_is_not_a_filter_choice(seller_client, store, other_user):
    rival = StoreAccountFactory(user=other_user)
    response = seller_client.get(LIST, {"store": rival.pk})
    assert response.context["filter"].errors  # not a choice: the list stays the seller's own


def test_sorting_by_ship_by_puts_orders_without_one_last(seller_client, store):
    soon = an_order(store, ship_by=timezone.now() + timedelta(days=1))
    later = an_order(store, ship_by=timezone.now() + timedelta(days=3))
    none = an_order(store)

    assert listed(seller_client.get(LIST, {"ordering": "ship_by"})) == [soon.pk, later.pk, none.pk]
    assert listed(seller_client.get(LIST, {"ordering": "-ship_by"})) == [later.pk, soon.pk, none.pk]


def test_the_list_is_paginated_and_an_htmx_request_gets_only_the_table(seller_client, store):
    for n in range(30):
        an_order(store, order_number=f"12-{n:05d}-00000")

    first = seller_client.get(LIST)
    second = seller_client.get(LIST, {"page": 2}, headers={"HX-Request": "true"})

    assert len(listed(first)) == 25 and len(listed(second)) == 5
    assert "<html" not in second.content.decode() and 'id="order-table"' in second.content.decode()


def test_overdue_orders_are_marked(seller_client, store):
    an_order(store, state=OrderState.BOUGHT, ship_by=timezone.now() - timedelta(hours=3))
    page = seller_client.get(LIST).content.decode()
    assert 'class="overdue"' in page and "Overdue" in page


def test_the_list_needs_a_fixed_number_of_queries(seller_client, store, listing):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert seller_client.get(LIST).status_code == 200
        return len(captured)

    for _ in range(3):
        an_order(store, listing=listing)
    queries()  # a session's first request also records its browser for the sessions page
    few = queries()
    for _ in range(20):
        order = an_order(store, listing=listing)
        SaleFactory(order=order, title="Second line")
    assert queries() == few


def test_the_csv_has_one_row_per_line_and_no_name_or_address(seller_client, store, listing):
    order = an_order(store, listing=listing, order_number="=cmd|' /C calc'!A0", buyer_username="jordan_e")
    SaleFactory(order=order, title="Extra item", quantity=2)

    response = seller_client.get(reverse("marketplaces:order_list_csv"), {"q": "jordan_e"})

    text = response.content.decode()
    lines = text.strip().splitlines()
    assert response["Content-Type"].startswith("text/csv") and len(lines) == 3
    assert lines[0].startswith("order_number,store,marketplace,state")
    assert lines[1].startswith("'=cmd")  # a formula is neutralised
    assert "Extra item" in text and "yes" in lines[1]
    assert BUYER_NAME not in text and BUYER_STREET not in text


# --- One order ---------------------------------------------------------------------------------


def test_the_order_page_shows_the_address_with_copy_buttons_to_its_seller_only(
    seller_client, client, store, listing, other_user
):
    order = an_order(store, listing=listing)

    page = seller_client.get(order.get_absolute_url()).content.decode()
    client.force_login(other_user)

    assert BUYER_NAME in page and BUYER_STREET in page and f'data-copy="{BUYER_STREET}"' in page
    assert 'href="https://www.amazon.com/dp/B0TEST"' in page and 'rel="noopener noreferrer"' in page
    assert client.get(order.get_absolute_url()).status_code == 404
    for name in ("order_buy", "order_costs", "order_ship"):
        assert client.post(reverse(f"marketplaces:{name}", args=[order.pk]), {}).status_code == 404


def test_the_buy_section_warns_before_the_supplier_link(seller_client, store, listing):
    order = an_order(store, listing=listing)
    listing.product.availability = "out_of_stock"
    listing.product.save()

    page = seller_client.get(order.get_absolute_url()).content.decode()

    assert "out of stock" in page
    assert page.index("out of stock") < page.index("Open the supplier")


def test_buying_through_the_page_records_it_and_forgets_the_cached_dashboard(seller_client, user, store, listing):
    order = an_order(store, listing=listing)
    AnalyticsCache.objects.create(user=user, metric_type="at_risk", data={}, expires_at=timezone.now() + timedelta(1))

    response = seller_client.post(
        reverse("marketplaces:order_buy", args=[order.pk]),
        {"supplier_order_number": "112-1", "cost_item": "18.00", "cost_shipping": "2.50", "cost_currency": "USD"},
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == "bought" and order.actual_cost() == Decimal("20.50")
    assert not AnalyticsCache.objects.filter(user=user).exists()
    assert AuditLog.objects.filter(resource_type="order", resource_id=str(order.pk), user=user).exists()


def test_bad_costs_re_render_with_the_input_and_errors(seller_client, store, listing):
    order = an_order(store, listing=listing)

    response = seller_client.post(
        reverse("marketplaces:order_buy", args=[order.pk]),
        {"supplier_order_number": "112-1", "cost_item": "-3", "cost_currency": "dollars"},
    )

    form = response.context["costs_form"]
    assert response.status_code == 200 and {"cost_item", "cost_currency"} <= set(form.errors)
    assert 'value="112-1"' in response.content.decode()
    order.refresh_from_db()
    assert order.state == "to_buy"


def test_shipping_through_the_page_pushes_to_ebay(seller_client, api, store, listing):
    order = an_order(store, listing=listing, state=OrderState.BOUGHT)
    line = order.lines.get()
    ebay_ship_route(api, order.marketplace_order_id)

    response = seller_client.post(
        reverse("marketplaces:order_ship", args=[order.pk]),
        {"carrier": "USPS", "tracking_number": "9400 1118 9922", "lines": [line.pk]},
        follow=True,
    )

    order.refresh_from_db()
    assert order.state == "shipped"
    assert "eBay accepted tracking number 9400 1118 9922." in response.content.decode()


def test_a_refusal_is_shown_on_the_order_in_words(seller_client, api, store, listing):
    order = an_order(store, listing=listing, state=OrderState.BOUGHT)
    ebay_ship_route(
        api,
        order.marketplace_order_id,
        (400, ebay_error("Invalid shipment tracking number or carrier", error_id=32300)),
    )

    response = seller_client.post(
        reverse("marketplaces:order_ship", args=[order.pk]),
        {"carrier": "USPS", "tracking_number": "NOPE123", "lines": [order.lines.get().pk]},
        follow=True,
    )

    assert response.content.decode().count("Invalid shipment tracking number or carrier") >= 2  # message and order


def test_a_store_connected_before_shipping_shows_reconnect(seller_client, user):
    store = StoreAccountFactory(user=user, marketplace="etsy", granted_scopes=["transactions_r"])
    order = an_order(store, state=OrderState.BOUGHT)

    page = seller_client.get(order.get_absolute_url()).content.decode()

    assert "Reconnect to enable shipping" in page


def test_a_bad_tracking_number_keeps_what_was_typed(seller_client, store, listing):
    order = an_order(store, listing=listing, state=OrderState.BOUGHT)

    response = seller_client.post(
        reverse("marketplaces:order_ship", args=[order.pk]), {"carrier": "Royal Mail", "tracking_number": "<b>"}
    )

    assert response.status_code == 200 and "tracking_number" in response.context["ship_form"].errors
    assert 'value="Royal Mail"' in response.content.decode()


# --- Many from a CSV ---------------------------------------------------------------------------


def test_a_csv_with_a_wrong_row_ships_nothing_and_says_why(seller_client, store, listing):
    an_order(store, listing=listing, marketplace_order_id="12-1", order_number="12-1")
    upload = SimpleUploadedFile("ship.csv", b"12-1,USPS,9400111\n12-404,USPS,9400222\n", content_type="text/csv")

    response = seller_client.post(reverse("marketplaces:order_ship_csv"), {"file": upload})

    page = response.content.decode()
    assert response.status_code == 200 and "Line 2: no order 12-404 in your stores." in page
    assert "Nothing was sent" in page


def test_a_good_csv_starts_a_job(seller_client, api, store, listing, django_capture_on_commit_callbacks):
    an_order(store, listing=listing, marketplace_order_id="12-1", order_number="12-1", state=OrderState.BOUGHT)
    ebay_ship_route(api, "12-1")
    upload = SimpleUploadedFile("ship.csv", b"order,carrier,tracking\n12-1,USPS,9400111\n", content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = seller_client.post(reverse("marketplaces:order_ship_csv"), {"file": upload})

    assert response.status_code == 302 and "/jobs/" in response["Location"]


def test_the_orders_link_is_in_the_navigation_beside_listings(seller_client):
    page = seller_client.get(LIST).content.decode()
    assert page.index(reverse("marketplaces:listing_list")) < page.index(f'href="{LIST}"')


def test_dates_show_in_the_sellers_time_zone(seller_client, user, store):
    user.timezone = "Asia/Tokyo"
    user.save()
    an_order(store, ordered_at=datetime(2026, 3, 2, 23, 30, tzinfo=UTC))

    page = seller_client.get(LIST).content.decode()

    assert "Mar 3, 08:30" in page


def test_the_stores_pages_say_reconnect_to_enable_shipping_until_the_grant_has_it(seller_client, user):
    before = StoreAccountFactory(
        user=user, marketplace="shopify", shop_domain="a.myshopify.com", granted_scopes=["read_orders"]
    )
    after = StoreAccountFactory(user=user, marketplace="shopify", shop_domain="b.myshopify.com")

    listing_page = seller_client.get(reverse("marketplaces:store_list")).content.decode()

    assert listing_page.count("Reconnect to enable shipping") == 1
    assert "Reconnect to enable shipping" in seller_client.get(before.get_absolute_url()).content.decode()
    assert "Reconnect to enable shipping" not in seller_client.get(after.get_absolute_url()).content.decode()
