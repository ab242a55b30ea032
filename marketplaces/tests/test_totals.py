"""The performance totals (StoreDayTotal, ListingPeriodTotal) follow every write of MarketplaceData."""

import datetime
import importlib
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.apps import apps

from marketplaces.models import Listing, ListingPeriodTotal, MarketplaceData, Sale, StoreDayTotal
from marketplaces.services.performance import listing_day_money_refresh
from marketplaces.services.totals import KEPT_DAYS, totals_refresh
from marketplaces.tests.factories import ListingFactory, MarketplaceDataFactory, StoreAccountFactory
from monitoring.tests.admin_helpers import admin_form_data, admin_url

pytestmark = pytest.mark.django_db

NEWEST = datetime.date(2026, 11, 30)


def day(days_ago: int) -> datetime.date:
    return NEWEST - datetime.timedelta(days=days_ago)


def expected_day_totals(store) -> dict:
    """What the store's day totals must be: its rows summed by hand."""
    totals = defaultdict(lambda: [0, Decimal("0"), Decimal("0")])
    for row in MarketplaceData.objects.filter(listing__store_account=store):
        total = totals[row.date]
        total[0] += row.sales
        total[1] += row.revenue
        total[2] += row.profit
    return {date: tuple(values) for date, values in totals.items()}


def day_totals(store) -> dict:
    return {row.date: (row.sales, row.revenue, row.profit) for row in StoreDayTotal.objects.filter(store_account=store)}


def expected_period_totals(store) -> dict:
    """(listing, days) → (end, sales, revenue, profit) summed by hand up to the store's newest day."""
    rows = list(MarketplaceData.objects.filter(listing__store_account=store))
    if not rows:
        return {}
    end = max(row.date for row in rows)
    totals = {}
    for days in KEPT_DAYS:
        start = end - datetime.timedelta(days=days - 1)
        for row in rows:
            if start <= row.date <= end:
                _, sales, revenue, profit = totals.get((row.listing_id, days), (end, 0, Decimal("0"), Decimal("0")))
                totals[(row.listing_id, days)] = (end, sales + row.sales, revenue + row.revenue, profit + row.profit)
    return totals


def period_totals(store) -> dict:
    return {
        (row.listing_id, row.days): (row.end, row.sales, row.revenue, row.profit)
        for row in ListingPeriodTotal.objects.filter(store_account=store)
    }


def assert_totals_right(*stores):
    for store in stores:
        assert day_totals(store) == expected_day_totals(store)
        assert period_totals(store) == expected_period_totals(store)


def random_rows(store, listings, rng, days=120):
    for listing in listings:
        for days_ago in rng.sample(range(days), 40):
            revenue = Decimal(rng.randint(0, 9000)) / 100
            cost = Decimal(rng.randint(0, 9000)) / 100
            MarketplaceData.objects.create(
                listing=listing,
                date=day(days_ago),
                sales=rng.randint(0, 4),
                revenue=revenue,
                cost_of_goods_sold=cost,
                profit=revenue - cost,
            )


def test_a_full_refresh_sums_every_day_and_every_period_and_the_windows_end_on_the_newest_day():
    rng = random.Random(7)
    store, other = StoreAccountFactory(), StoreAccountFactory()
    listings = ListingFactory.create_batch(4, store_account=store)
    random_rows(store, listings, rng)
    random_rows(other, ListingFactory.create_batch(2, store_account=other), rng)
    totals_refresh(store.pk)
    totals_refresh(other.pk)
    assert_totals_right(store, other)
    assert {row.end for row in ListingPeriodTotal.objects.all()} == {NEWEST}
    # Day 90 before the newest is outside the 90-day period; day 89 is its first day.
    listing = listings[0]
    ListingPeriodTotal.objects.all().delete()
    MarketplaceData.objects.filter(listing=listing).delete()
    MarketplaceData.objects.create(listing=listing, date=day(0), revenue=Decimal("1.00"), profit=Decimal("1.00"))
    MarketplaceData.objects.create(listing=listing, date=day(89), revenue=Decimal("2.00"), profit=Decimal("2.00"))
    MarketplaceData.objects.create(listing=listing, date=day(90), revenue=Decimal("4.00"), profit=Decimal("4.00"))
    totals_refresh(store.pk)
    assert ListingPeriodTotal.objects.get(listing=listing, days=90).revenue == Decimal("3.00")
    assert ListingPeriodTotal.objects.get(listing=listing, days=7).revenue == Decimal("1.00")
    assert_totals_right(store)


def test_a_new_newest_day_moves_every_listings_periods_not_only_the_listing_written():
    store = StoreAccountFactory()
    first, second = ListingFactory.create_batch(2, store_account=store)
    MarketplaceDataFactory(listing=first, date=day(10), revenue=Decimal("5.00"))
    MarketplaceDataFactory(listing=second, date=day(8), revenue=Decimal("7.00"))
    assert period_totals(store)[(second.pk, 7)][0] == day(8)
    MarketplaceDataFactory(listing=first, date=day(0), revenue=Decimal("1.00"))  # only `first` written
    assert_totals_right(store)
    assert (second.pk, 7) not in period_totals(store)  # day 8 ago is now out of its 7 days
    assert period_totals(store)[(second.pk, 30)][0] == NEWEST


def test_a_listing_day_worked_out_again_keeps_the_totals():
    listing = ListingFactory()
    store = listing.store_account
    MarketplaceDataFactory(listing=listing, date=day(0), revenue=Decimal("50.00"), cost_of_goods_sold=Decimal("9.00"))
    line = Sale.objects.create(
        listing=listing,
        store_account=store,
        marketplace_order_id="O-1",
        line_id="L-1",
        quantity=2,
        unit_price=Decimal("20.00"),
        unit_cost=Decimal("8.00"),
        currency="USD",
        ordered_at=datetime.datetime.combine(day(0), datetime.time(12), tzinfo=datetime.UTC),
    )
    listing_day_money_refresh(listing, day(0))  # e.g. the seller recorded what the order cost
    row = MarketplaceData.objects.get()
    assert (row.sales, row.revenue) == (2, Decimal("40.00"))
    assert_totals_right(store)
    line.actual_cost = Decimal("15.00")
    line.save()
    listing_day_money_refresh(listing, day(0))
    assert ListingPeriodTotal.objects.get(listing=listing, days=7).profit == MarketplaceData.objects.get().profit
    assert_totals_right(store)


def test_staff_edits_and_deletes_in_the_admin_keep_the_totals(admin_client):
    store, other = StoreAccountFactory(), StoreAccountFactory()
    first, second = ListingFactory.create_batch(2, store_account=store)
    edited = MarketplaceDataFactory(listing=first, date=day(1), revenue=Decimal("10.00"))
    MarketplaceDataFactory(listing=second, date=day(1), revenue=Decimal("4.00"))
    MarketplaceDataFactory(listing=second, date=day(0), revenue=Decimal("6.00"))

    url = admin_url(MarketplaceData, "change", edited.pk)
    data = admin_form_data(admin_client.get(url))
    data["revenue"] = "25.00"
    assert admin_client.post(url, data).status_code == 302
    assert day_totals(store)[day(1)][1] == Decimal("29.00")
    assert_totals_right(store)

    url = admin_url(Listing, "change", second.pk)
    data = admin_form_data(admin_client.get(url))
    data.update(
        {"store_account": other.pk, "user": other.user.pk, "sources-TOTAL_FORMS": 0, "sources-INITIAL_FORMS": 0}
    )
    assert admin_client.post(url, data).status_code == 302
    assert_totals_right(store, other)  # its rows now count in the other store's days
    assert day_totals(other) and day(0) not in day_totals(store)

    delete = admin_url(Listing, "delete", first.pk)
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert_totals_right(store, other)
    assert not StoreDayTotal.objects.filter(store_account=store).exists()


def test_the_migration_works_out_the_totals_of_rows_already_there():
    store = StoreAccountFactory()
    listing = ListingFactory(store_account=store)
    for days_ago in (0, 3, 40):
        MarketplaceData.objects.create(listing=listing, date=day(days_ago), revenue=Decimal("3.00"), sales=1)
    assert not StoreDayTotal.objects.exists()
    migration = importlib.import_module("marketplaces.migrations.0012_performance_totals")
    migration.totals_from_rows(apps, None)
    migration.totals_from_rows(apps, None)  # running it again changes nothing
    assert_totals_right(store)
    assert ListingPeriodTotal.objects.get(listing=listing, days=30).revenue == Decimal("6.00")
