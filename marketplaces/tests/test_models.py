import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection

from marketplaces.models import Listing, MarketplaceData
from marketplaces.tests.factories import ListingFactory, MarketplaceDataFactory, StoreAccountFactory

pytestmark = pytest.mark.django_db

SECRETS = {
    "api_key": "ebay-app-key-VISIBLE",
    "api_secret": "ebay-app-secret-VISIBLE",
    "oauth_token": "v^1.1#i^1#access-VISIBLE",
    "oauth_refresh_token": "v^1.1#r^1#refresh-VISIBLE",
}


def test_a_product_is_listed_at_most_once_per_store():
    listing = ListingFactory()
    with pytest.raises(IntegrityError):
        ListingFactory(product=listing.product, store_account=listing.store_account)


def test_one_performance_row_per_listing_and_day():
    row = MarketplaceDataFactory()
    with pytest.raises(IntegrityError):
        MarketplaceDataFactory(listing=row.listing, date=row.date)


@pytest.mark.parametrize("field", ["revenue", "cost_of_goods_sold", "fees"])
def test_money_in_performance_rows_is_never_negative(field):
    row = MarketplaceDataFactory()
    with pytest.raises(IntegrityError):
        MarketplaceData.objects.filter(pk=row.pk).update(**{field: Decimal("-0.01")})


@pytest.mark.parametrize("field", ["views", "clicks", "sales", "customer_feedbacks"])
def test_counters_are_never_negative(field):
    row = MarketplaceDataFactory()
    with pytest.raises(IntegrityError):
        MarketplaceData.objects.filter(pk=row.pk).update(**{field: -1})


def test_profit_may_be_negative():
    row = MarketplaceDataFactory(
        revenue=Decimal("10.00"), cost_of_goods_sold=Decimal("12.00"), fees=Decimal("1.50"), profit=Decimal("-3.50")
    )
    row.refresh_from_db()
    assert row.profit == Decimal("-3.50") == MarketplaceData.profit_of(row.revenue, row.cost_of_goods_sold, row.fees)


def test_views_and_clicks_may_be_unknown():
    row = MarketplaceDataFactory(views=None, clicks=None, source="none", date=datetime.date(2026, 3, 1))
    row.refresh_from_db()
    assert row.views is None and row.clicks is None


@pytest.mark.parametrize("field, value", [("price", Decimal("-1")), ("quantity_available", -1), ("status", "bogus")])
def test_listing_values_out_of_range_are_refused(field, value):
    listing = ListingFactory()
    with pytest.raises(IntegrityError):
        Listing.objects.filter(pk=listing.pk).update(**{field: value})


def test_store_credentials_are_unreadable_in_the_raw_row_and_read_back():
    store = StoreAccountFactory(**SECRETS)
    columns = ", ".join(SECRETS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM marketplaces_store_account WHERE id = %s", [store.pk])
        raw_values = [bytes(value) for value in cursor.fetchone()]
    for clear, raw in zip(SECRETS.values(), raw_values, strict=True):
        assert clear.encode() not in raw
        assert b"VISIBLE" not in raw
    store.refresh_from_db()
    for name, clear in SECRETS.items():
        assert getattr(store, name) == clear
