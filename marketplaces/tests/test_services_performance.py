"""Daily performance: money from Sale rows, views from each marketplace, quotas spent last on statistics."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import respx
from django.core.cache import cache

from marketplaces.clients import usage_count
from marketplaces.clients.ebay import TRAFFIC_USAGE
from marketplaces.clients.etsy import REMAINING_TODAY_KEY
from marketplaces.models import Listing, ListingPeriodTotal, MarketplaceData, Sale, StoreDayTotal
from marketplaces.pricing import fees_for
from marketplaces.services import EBAY_TRAFFIC_WAIT, ETSY_STATS_WAIT, store_performance_import
from marketplaces.services.performance import store_statistics_catch_up
from marketplaces.services.totals import KEPT_DAYS
from marketplaces.tests.doubles import (
    EBAY_API,
    ETSY_BASE,
    ebay_store,
    ebay_traffic_report,
    etsy_shop_listing,
    etsy_store,
    isolated_cache,
    live_listing,
    supplier_product,
)
from marketplaces.tests.factories import StoreAccountFactory
from marketplaces.tests.spec import spec_route

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)
NEXT_MORNING = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)
TRAFFIC = f"{EBAY_API}/sell/analytics/v1/traffic_report"


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "performance")
    settings.ETSY_KEYSTRING, settings.ETSY_SHARED_SECRET = "etsy-keystring-123", "etsy-shared-secret-456"


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def listed_before(listing, when=datetime(2026, 3, 1, tzinfo=UTC)):
    Listing.objects.filter(pk=listing.pk).update(created_at=when)
    listing.refresh_from_db()
    return listing


def sale(listing, line, *, quantity, price="30.99", cost="20.00", fees=None, at=datetime(2026, 3, 2, 15, tzinfo=UTC)):
    return Sale.objects.create(
        listing=listing,
        store_account=listing.store_account,
        marketplace_order_id=f"O-{line}",
        line_id=f"L-{line}",
        quantity=quantity,
        unit_price=Decimal(price),
        unit_cost=Decimal(cost),
        fees=None if fees is None else Decimal(fees),
        currency="USD",
        ordered_at=at,
    )


@pytest.fixture
def ebay_listing():
    return listed_before(live_listing(ebay_store(), supplier_product(), price=Decimal("30.99")))


def test_ebay_day_has_money_from_sales_and_views_from_the_traffic_report(api, ebay_listing):
    sale(ebay_listing, 1, quantity=2, fees="8.20")  # eBay's own fee for the line
    sale(ebay_listing, 2, quantity=1)  # no fee given: the store's fee settings
    sale(ebay_listing, 3, quantity=5, at=datetime(2026, 3, 3, 0, 30, tzinfo=UTC))  # the next day
    cancelled = sale(ebay_listing, 4, quantity=1)
    cancelled.cancelled = True
    cancelled.save()
    report = ebay_traffic_report([(ebay_listing.external_listing_id, 400, 30, 12)])
    route = spec_route(api, "GET", TRAFFIC, status=200, json=report)
    store = ebay_listing.store_account

    result = store_performance_import(store, DAY)

    row = MarketplaceData.objects.get(listing=ebay_listing, date=DAY)
    fees = Decimal("8.20") + fees_for(Decimal("30.99"), store)
    assert (row.sales, row.revenue, row.cost_of_goods_sold, row.fees) == (
        3,
        Decimal("92.97"),
        Decimal("60.00"),
        fees,
    )
    assert row.profit == Decimal("92.97") - Decimal("60.00") - fees
    assert (row.views, row.clicks, row.source) == (30, 12, "ebay_traffic_report")
    assert "date_range:[20260302..20260302]" in route.calls[0].request.url.params["filter"]
    assert (result.created, result.sales, result.source, result.waiting) == (1, 3, "ebay_traffic_report", "")
    store.refresh_from_db()
    assert (store.stats_synced_on, store.stats_waiting_reason) == (DAY, "")
    # The dashboard's totals follow: the store's day, the listing's periods up to it.
    day_total = StoreDayTotal.objects.get(store_account=store, date=DAY)
    assert (day_total.sales, day_total.revenue, day_total.profit) == (3, row.revenue, row.profit)
    periods = ListingPeriodTotal.objects.filter(listing=ebay_listing)
    assert {(total.days, total.end, total.profit) for total in periods} == {(d, DAY, row.profit) for d in KEPT_DAYS}


def test_importing_a_day_twice_gives_the_same_rows(api, ebay_listing):
    sale(ebay_listing, 1, quantity=2)
    report = ebay_traffic_report([(ebay_listing.external_listing_id, 400, 30, 12)])
    spec_route(api, "GET", TRAFFIC, status=200, json=report)
    store = ebay_listing.store_account

    store_performance_import(store, DAY)
    first = list(MarketplaceData.objects.values())
    second = store_performance_import(store, DAY)

    rows = list(MarketplaceData.objects.values())
    assert len(rows) == 1 and (second.created, second.updated) == (0, 1)
    ignore = {"updated_at"}
    assert [{k: v for k, v in r.items() if k not in ignore} for r in rows] == [
        {k: v for k, v in r.items() if k not in ignore} for r in first
    ]


def test_spent_ebay_traffic_allowance_makes_statistics_wait(api, ebay_listing, settings):
    settings.EBAY_TRAFFIC_DAILY_CALLS = 100
    sale(ebay_listing, 1, quantity=1)
    usage_count(TRAFFIC_USAGE, add=100)
    route = spec_route(api, "GET", TRAFFIC, status=200, json=ebay_traffic_report([]))
    store = ebay_listing.store_account

    result = store_performance_import(store, DAY)

    assert route.call_count == 0
    row = MarketplaceData.objects.get(listing=ebay_listing, date=DAY)
    assert (row.sales, row.views, row.clicks, row.source) == (1, None, None, "none")
    store.refresh_from_db()
    assert store.stats_waiting_reason == EBAY_TRAFFIC_WAIT == result.waiting
    assert store.stats_waiting_reason == "eBay's daily traffic-report allowance is used up; statistics resume tomorrow"
    assert store.stats_synced_on is None


def test_views_already_imported_are_kept_while_statistics_wait(api, ebay_listing, settings):
    settings.EBAY_TRAFFIC_DAILY_CALLS = 1
    spec_route(api, "GET", TRAFFIC, status=200, json=ebay_traffic_report([(ebay_listing.external_listing_id, 9, 8, 7)]))
    store = ebay_listing.store_account
    store_performance_import(store, DAY)

    store_performance_import(store, DAY)  # the allowance is spent now

    row = MarketplaceData.objects.get(listing=ebay_listing, date=DAY)
    assert (row.views, row.clicks, row.source) == (8, 7, "ebay_traffic_report")
    store.refresh_from_db()
    assert store.stats_waiting_reason == EBAY_TRAFFIC_WAIT


def test_a_day_that_waited_is_imported_by_the_next_daily_run(api, ebay_listing, settings):
    settings.EBAY_TRAFFIC_DAILY_CALLS = 100
    store = ebay_listing.store_account
    store.stats_synced_on = date(2026, 3, 1)
    store.save()
    route = spec_route(api, "GET", TRAFFIC, status=200, json=ebay_traffic_report([]))

    imports = store_statistics_catch_up(store, until=date(2026, 3, 3))

    assert [item.day for item in imports] == [date(2026, 3, 2), date(2026, 3, 3)]
    assert route.call_count == 2
    assert store_statistics_catch_up(store, until=date(2026, 3, 3)) == []


def test_etsy_views_are_the_difference_of_the_cumulative_count(api):
    store = etsy_store()
    listing = listed_before(live_listing(store, supplier_product(), external_listing_id="1800001"))
    route = spec_route(
        api,
        "GET",
        f"{ETSY_BASE}/listings/batch",
        (200, {"count": 1, "results": [etsy_shop_listing(1800001, views=100)]}),
        (200, {"count": 1, "results": [etsy_shop_listing(1800001, views=130)]}),
    )

    store_performance_import(store, date(2026, 3, 1), now=datetime(2026, 3, 2, 4, tzinfo=UTC))
    store_performance_import(store, DAY, now=NEXT_MORNING)

    first, second = MarketplaceData.objects.filter(listing=listing).order_by("date")
    assert (first.views, first.views_cumulative, first.source) == (None, 100, "none")  # no day before to compare
    assert (second.views, second.views_cumulative, second.clicks, second.source) == (30, 130, None, "etsy_views_delta")
    assert route.call_count == 2


def test_etsy_statistics_wait_when_the_quota_is_kept_for_pushes(api, settings):
    settings.ETSY_STATS_QUOTA_RESERVE = 500
    cache.set(REMAINING_TODAY_KEY, 499)
    store = etsy_store()
    listing = listed_before(live_listing(store, supplier_product(), external_listing_id="1800001"))
    route = spec_route(api, "GET", f"{ETSY_BASE}/listings/batch", status=200, json={"count": 0, "results": []})

    store_performance_import(store, DAY, now=NEXT_MORNING)

    assert route.call_count == 0
    store.refresh_from_db()
    assert store.stats_waiting_reason == ETSY_STATS_WAIT
    assert MarketplaceData.objects.get(listing=listing).views is None


def test_shopify_has_no_views_or_clicks(api):
    store = StoreAccountFactory(marketplace="shopify", shop_domain="demo-store.myshopify.com")
    listing = listed_before(live_listing(store, supplier_product(), external_listing_id="gid://shopify/Product/1"))
    sale(listing, 1, quantity=1)

    result = store_performance_import(store, DAY)

    row = MarketplaceData.objects.get(listing=listing)
    assert (row.views, row.clicks, row.source, row.sales) == (None, None, "none", 1)
    assert not api.calls and result.waiting == ""


def test_listings_created_after_the_day_or_ended_before_it_get_no_row(api):
    store = StoreAccountFactory(marketplace="shopify", shop_domain="demo-store.myshopify.com")
    listed_before(live_listing(store, supplier_product()), when=datetime(2026, 3, 5, tzinfo=UTC))
    ended = listed_before(live_listing(store, supplier_product(), status="ended"))
    Listing.objects.filter(pk=ended.pk).update(ended_at=datetime(2026, 3, 1, 12, tzinfo=UTC))

    assert store_performance_import(store, DAY).listings == 0
    assert not MarketplaceData.objects.exists()
