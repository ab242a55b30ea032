"""Data migrations of the marketplaces app, run on today's models."""

import importlib

import pytest
from django.apps import apps

from accounts.tests.factories import UserFactory
from catalog.services import products_due
from catalog.tests.factories import ProductFactory
from marketplaces.tests.factories import ListingFactory

pytestmark = pytest.mark.django_db


def test_products_kept_alive_only_by_a_listing_join_their_sellers_tracked_set_above_the_limit(settings):
    settings.TIER_PRODUCT_LIMITS = {"free": 1, "pro": 2000, "enterprise": None}
    seller = UserFactory(tier="free")
    seller.tracked_products.add(ProductFactory())  # already at the free plan's limit
    live = ListingFactory(store_account__user=seller, product=ProductFactory(last_scraped_at=None), status="paused")
    ended = ListingFactory(store_account__user=seller, product=ProductFactory(last_scraped_at=None), status="ended")
    tracked_and_listed = ListingFactory(store_account__user=seller, status="active")
    seller.tracked_products.add(tracked_and_listed.product)

    migration = importlib.import_module("marketplaces.migrations.0004_listed_products_tracked")
    migration.track_listed_products(apps, None)
    migration.track_listed_products(apps, None)  # running it again changes nothing

    tracked = set(seller.tracked_products.values_list("pk", flat=True))
    assert live.product_id in tracked and ended.product_id not in tracked
    assert seller.tracked_products.count() == 3  # grandfathered above the limit of 1
    assert live.product in products_due()


def test_stores_on_the_combined_fee_defaults_get_them_split_and_the_others_keep_what_they_typed():
    from decimal import Decimal

    from marketplaces.tests.factories import StoreAccountFactory

    def store(marketplace, percent, fixed):
        return StoreAccountFactory(marketplace=marketplace, fee_percent=Decimal(percent), fee_fixed=Decimal(fixed))

    shopify_default = store("shopify", "2.90", "0.30")
    etsy_default = store("etsy", "9.50", "0.45")
    ebay_default = store("ebay", "13.60", "0.40")
    shopify_typed = store("shopify", "2.40", "0.30")
    etsy_typed = store("etsy", "8.00", "0.45")

    migration = importlib.import_module("marketplaces.migrations.0009_split_fee_defaults")
    migration.split_fee_defaults(apps, None)
    migration.split_fee_defaults(apps, None)  # running it again changes nothing

    def fees(row):
        row.refresh_from_db()
        return [str(row.fee_percent), str(row.fee_fixed), str(row.payment_fee_percent), str(row.payment_fee_fixed)]

    assert fees(shopify_default) == ["0.00", "0.00", "2.90", "0.30"]
    assert fees(etsy_default) == ["6.50", "0.20", "3.00", "0.25"]
    assert fees(ebay_default) == ["13.60", "0.40", "0.00", "0.00"]  # eBay's fee includes payment processing
    assert fees(shopify_typed) == ["2.40", "0.30", "0.00", "0.00"]  # the seller's own figure: a marketplace fee
    assert fees(etsy_typed) == ["8.00", "0.45", "0.00", "0.00"]
    assert {row.returns_percent for row in (shopify_default, etsy_typed)} == {Decimal("0.00")}

    migration.merge_fees(apps, None)  # going back adds the payment fee into the one fee again

    assert fees(etsy_default) == ["9.50", "0.45", "0.00", "0.00"]
    assert fees(shopify_default) == ["2.90", "0.30", "0.00", "0.00"]
