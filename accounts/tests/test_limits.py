"""Tier limits that hold on the pages as in the API, with the same words, and the settings page
showing each limit with its usage; the API's call counter and its idempotency keys' retention."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.limits import STORE_LIMIT_MESSAGE, api_call_count, api_calls_today, user_key
from accounts.models import IdempotencyKey
from catalog.tests.factories import ProductFactory
from marketplaces.models import ListingStatus, StoreAccount
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from monitoring.retention import retention_prune

pytestmark = pytest.mark.django_db


@pytest.fixture
def ebay_app(settings):
    settings.EBAY_CLIENT_ID, settings.EBAY_CLIENT_SECRET, settings.EBAY_RUNAME = "app-id", "app-secret", "runame"


def test_connecting_a_store_past_the_tier_limit_is_refused_with_the_reason(seller_client, user, settings, ebay_app):
    settings.TIER_STORE_LIMITS = {**settings.TIER_STORE_LIMITS, "free": 1}
    StoreAccountFactory(user=user, is_connected=True)

    response = seller_client.post(
        reverse("marketplaces:store_connect"), {"marketplace": "ebay", "account_name": "second"}
    )

    assert response.status_code == 200
    assert STORE_LIMIT_MESSAGE.format(tier="Free", limit=1) in response.content.decode()
    assert StoreAccount.objects.filter(user=user).count() == 1


def test_a_disconnected_store_does_not_count_and_reconnecting_a_connected_one_is_not_refused(
    seller_client, user, settings, ebay_app
):
    settings.TIER_STORE_LIMITS = {**settings.TIER_STORE_LIMITS, "free": 1}
    StoreAccountFactory(user=user, is_connected=False)

    response = seller_client.post(reverse("marketplaces:store_connect"), {"marketplace": "ebay", "account_name": "new"})

    assert response.status_code == 302 and response.url.startswith("https://")  # off to eBay's consent page


def test_the_settings_page_shows_every_limit_with_its_usage(seller_client, user):
    product = ProductFactory()
    user.tracked_products.add(product)
    store = StoreAccountFactory(user=user)
    ListingFactory(store_account=store, product=product)
    ListingFactory(store_account=store, status=ListingStatus.ENDED)  # ended: not a live listing
    api_call_count(user_key(user), {"minute": 60, "day": 1000})

    page = seller_client.get(reverse("accounts:settings")).content.decode()

    assert 'id="usage-tracked_products">1 of 50' in page
    assert 'id="usage-stores">1 of 3' in page
    assert 'id="usage-listings">1 of 250' in page
    assert 'id="usage-api_calls_today">1 of 1000' in page
    assert api_calls_today(user) == 1


def test_listed_products_count_toward_the_tracked_products_limit(seller_client, user, settings):
    settings.TIER_PRODUCT_LIMITS = {**settings.TIER_PRODUCT_LIMITS, "free": 1}
    listed = ProductFactory()
    ListingFactory(store_account=StoreAccountFactory(user=user), product=listed)
    user.tracked_products.add(listed)

    response = seller_client.post(reverse("catalog:product_add"), {"links": "B00FLYWNYQ"})

    assert "Your Free plan tracks at most 1 products" in response.content.decode()


def test_prune_forgets_idempotency_keys_past_their_window(user):
    old = IdempotencyKey.objects.create(user=user, key="old", fingerprint="f", status=201, body={})
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    IdempotencyKey.objects.create(user=user, key="new", fingerprint="f", status=201, body={})

    assert retention_prune()["api_idempotency_keys"] == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
