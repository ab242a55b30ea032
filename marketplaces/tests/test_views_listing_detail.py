"""One listing's page: price against supplier cost, daily performance with CSV, sync log, price
lock, publishing and the listing's own publish settings."""

import csv
import html
import io
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import respx
from django.urls import reverse
from django.utils import timezone

from catalog.tests.factories import PriceHistoryFactory
from marketplaces.models import ExchangeRate
from marketplaces.services import listing_create
from marketplaces.services.listings import PRICE_LOCK_RANGE
from marketplaces.tests.doubles import EBAY_INV, ebay_error, ebay_store, isolated_cache, supplier_product
from marketplaces.tests.factories import ListingFactory, MarketplaceDataFactory
from marketplaces.tests.spec import spec_route
from monitoring.models import AuditLog
from monitoring.records import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "listing-detail")


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def store(user):
    return ebay_store(user=user)


@pytest.fixture
def product(user):
    product = supplier_product(title="Steel water bottle 750ml", price=Decimal("20.00"))
    user.tracked_products.add(product)
    return product


@pytest.fixture
def pending(store, product):
    return listing_create(user=store.user, product=product, store=store, acting_user=store.user)


def detail(client, listing):
    return client.get(reverse("marketplaces:listing_detail", args=[listing.pk]))


def charts(page):
    return [json.loads(html.unescape(raw)) for raw in re.findall(r'data-chart="([^"]*)"', page)]


def at(day, hour=12):
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def test_price_chart_sets_the_listing_price_against_the_converted_supplier_cost(client, user, store, product):
    user.timezone = "Europe/Berlin"
    user.save(update_fields=["timezone"])
    client.force_login(user)
    ExchangeRate.objects.create(currency="USD", per_eur=Decimal("1.10"), as_of=date(2026, 3, 1))
    product.currency = "EUR"
    product.price = Decimal("21.00")
    product.save()
    listing = ListingFactory(store_account=store, product=product, price=Decimal("33.99"))
    listing.created_at = at(2)
    listing.save(update_fields=["created_at"])
    PriceHistoryFactory(product=product, new_price=Decimal("19.00"), currency="EUR", recorded_at=at(1))
    PriceHistoryFactory(product=product, new_price=Decimal("21.00"), currency="EUR", recorded_at=at(4))
    for day, price in ((2, "30.99"), (3, "30.99"), (5, "33.99")):
        row = audit_record(
            acting_user=None, owner=user, action="repriced", resource=listing, new_value={"price": Decimal(price)}
        )
        AuditLog.objects.filter(pk=row.pk).update(timestamp=at(day))

    page = detail(client, listing).content.decode()

    price_chart = charts(page)[0]
    assert price_chart["timeAxis"] == {"timeZone": "Europe/Berlin"}  # dates in the seller's zone, spaced by time
    yours, cost = price_chart["data"]["datasets"]
    ms = [int(at(day).timestamp() * 1000) for day in (2, 4, 5)]
    assert [(p["x"], p["y"]) for p in yours["data"][:-1]] == [(ms[0], 30.99), (ms[2], 33.99)]  # no repeated price
    assert [(p["x"], p["y"]) for p in cost["data"][:-1]] == [(ms[0], 20.9), (ms[1], 23.1)]  # 19 and 21 EUR at 1.10
    assert yours["data"][-1]["y"] == 33.99 and cost["data"][-1]["y"] == 23.1  # carried on to now
    assert yours["data"][-1]["x"] > ms[2]
    assert "converted to USD at the exchange rates kept today" in page


def test_performance_table_chart_and_csv(seller_client, store, product):
    listing = ListingFactory(store_account=store, product=product)
    MarketplaceDataFactory(
        listing=listing,
        date=date(2026, 3, 1),
        views=None,
        clicks=None,
        sales=2,
        revenue=Decimal("61.98"),
        cost_of_goods_sold=Decimal("40.00"),
        fees=Decimal("8.82"),
        profit=Decimal("13.16"),
    )
    MarketplaceDataFactory(
        listing=listing,
        date=date(2026, 3, 2),
        views=40,
        clicks=4,
        sales=0,
        revenue=Decimal("0"),
        cost_of_goods_sold=Decimal("0"),
        fees=Decimal("0"),
        profit=Decimal("0"),
    )

    page = detail(seller_client, listing).content.decode()

    assert "n/a" in page and "61.98" in page and "13.16" in page
    performance = charts(page)[-1]
    assert performance["data"]["labels"] == ["2026-03-01", "2026-03-02"]
    assert performance["data"]["datasets"][0]["data"] == [61.98, 0.0]
    response = seller_client.get(reverse("marketplaces:listing_performance_csv", args=[listing.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="listing-{listing.pk}-performance.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["date", "views", "clicks", "sales", "revenue", "cost_of_goods_sold", "fees", "profit", "currency", "source"],
        ["2026-03-01", "", "", "2", "61.98", "40.00", "8.82", "13.16", "USD", "ebay_traffic_report"],
        ["2026-03-02", "40", "4", "0", "0.00", "0.00", "0.00", "0.00", "USD", "ebay_traffic_report"],
    ]


def test_sync_log_shows_rule_change_and_who(seller_client, user, pending):
    audit_record(
        acting_user=None,
        owner=user,
        action="repriced",
        resource=pending,
        old_value={"price": Decimal("30.99")},
        new_value={"price": Decimal("32.99")},
        notes="supplier price up 20.00 → 21.50: repriced by markup rule",
    )

    page = detail(seller_client, pending).content.decode()

    log = page[page.index('id="sync-log"') :]
    assert "supplier price up 20.00 → 21.50: repriced by markup rule" in log
    assert "price: 30.99 → 32.99" in log
    assert "System" in log and "You" in log  # the repricing, and the seller who created the listing


def test_price_lock_sets_and_keeps_a_price(seller_client, pending):
    response = seller_client.post(
        reverse("marketplaces:listing_price_lock", args=[pending.pk]), {"locked": "on", "price": "27.50"}, follow=True
    )

    assert "Price fixed at 27.50 USD" in response.content.decode()
    pending.refresh_from_db()
    assert (pending.price_locked, pending.price) == (True, Decimal("27.50"))

    seller_client.post(reverse("marketplaces:listing_price_lock", args=[pending.pk]), {"price": "27.50"})

    pending.refresh_from_db()
    assert not pending.price_locked and pending.price == Decimal("30.99")  # back to the markup rule


def test_a_negative_locked_price_comes_back_with_the_reason(seller_client, pending):
    response = seller_client.post(
        reverse("marketplaces:listing_price_lock", args=[pending.pk]), {"locked": "on", "price": "-3"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "A price cannot be negative." in page and 'value="-3"' in page
    pending.refresh_from_db()
    assert not pending.price_locked


def test_a_price_lock_of_zero_comes_back_with_the_allowed_range(seller_client, pending):
    response = seller_client.post(
        reverse("marketplaces:listing_price_lock", args=[pending.pk]), {"locked": "on", "price": "0"}
    )

    page = response.content.decode()
    assert response.status_code == 200 and PRICE_LOCK_RANGE in page and 'value="0"' in page
    pending.refresh_from_db()
    assert not pending.price_locked


def ebay_publish_routes(api, listing, listing_id="110551990"):
    spec_route(api, "PUT", f"{EBAY_INV}/inventory_item/AM-{listing.pk}", status=204)
    spec_route(api, "GET", f"{EBAY_INV}/offer", status=404, json=ebay_error())
    create = spec_route(api, "POST", f"{EBAY_INV}/offer", status=201, json={"offerId": "9876", "warnings": []})
    spec_route(api, "POST", f"{EBAY_INV}/offer/9876/publish", status=200, json={"listingId": listing_id})
    return create


def test_publish_button_publishes_a_pending_listing(seller_client, pending, api):
    page = detail(seller_client, pending).content.decode()
    assert reverse("marketplaces:listing_publish", args=[pending.pk]) in page
    ebay_publish_routes(api, pending)

    response = seller_client.post(reverse("marketplaces:listing_publish", args=[pending.pk]), follow=True)

    assert "Published on" in response.content.decode()
    pending.refresh_from_db()
    assert (pending.status, pending.external_listing_id) == ("active", "110551990")
    assert (
        reverse("marketplaces:listing_publish", args=[pending.pk])
        not in detail(seller_client, pending).content.decode()
    )


def test_a_refused_publish_says_why_and_can_be_tried_again(seller_client, pending, api):
    spec_route(
        api, "PUT", f"{EBAY_INV}/inventory_item/AM-{pending.pk}", status=400, json=ebay_error("The title is too long.")
    )

    response = seller_client.post(reverse("marketplaces:listing_publish", args=[pending.pk]), follow=True)

    page = response.content.decode()
    assert "Not published: The title is too long." in page and "Try publishing again" in page
    pending.refresh_from_db()
    assert (pending.status, pending.status_reason) == ("pending", "publish_failed")


def test_the_listings_own_publish_settings_override_the_store(seller_client, pending, api):
    response = seller_client.post(
        reverse("marketplaces:listing_publish_settings", args=[pending.pk]),
        {"category_id": "11450", "merchant_location_key": ""},
    )

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.publish_settings == {"category_id": "11450"}
    assert AuditLog.objects.filter(action="publish_settings_updated", resource_id=str(pending.pk)).exists()
    page = detail(seller_client, pending).content.decode()
    assert 'placeholder="store default: WH1"' in page
    create = ebay_publish_routes(api, pending)
    seller_client.post(reverse("marketplaces:listing_publish", args=[pending.pk]))
    assert json.loads(create.calls.last.request.content)["categoryId"] == "11450"


def test_detail_shows_held_changes_and_last_refusal(seller_client, store, product):
    listing = ListingFactory(
        store_account=store,
        product=product,
        pending_changes={"price": "31.99", "reason": "Held: automation is paused for this store", "rule": "price up"},
        last_error="eBay is busy.",
        last_pushed_at=timezone.now(),
    )
    page = detail(seller_client, listing).content.decode()
    assert "Held, not sent yet" in page and "31.99" in page and "eBay is busy." in page
