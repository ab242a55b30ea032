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
