from decimal import Decimal

import pytest
from django.urls import reverse

from marketplaces.tests.factories import ListingFactory, MarketplaceDataFactory, StoreAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(user):
    return StoreAccountFactory(user=user, account_name="my-ebay-shop")


def test_listing_list_shows_only_the_sellers_listings(seller_client, store, other_user):
    ListingFactory(store_account=store, title="Blue kettle listing")
    ListingFactory(store_account=StoreAccountFactory(user=other_user), title="Rival listing")

    page = seller_client.get(reverse("marketplaces:listing_list")).content.decode()

    assert "Blue kettle listing" in page
    assert "Rival listing" not in page


def test_listing_list_filters_by_status_and_keeps_the_filter_in_pagination(seller_client, store):
    ListingFactory.create_batch(26, store_account=store, status="paused")
    ListingFactory(store_account=store, status="active", title="The active one")

    response = seller_client.get(reverse("marketplaces:listing_list"), {"status": "paused"})

    page_obj = response.context["page_obj"]
    assert page_obj.paginator.count == 26
    assert {listing.status for listing in page_obj.object_list} == {"paused"}
    assert "?status=paused&amp;page=2" in response.content.decode()


def test_listing_list_ignores_another_sellers_store_in_the_filter(seller_client, store, other_user):
    ListingFactory(store_account=store)
    rival_store = StoreAccountFactory(user=other_user)
    ListingFactory(store_account=rival_store)

    response = seller_client.get(reverse("marketplaces:listing_list"), {"store": rival_store.pk})

    assert [listing.user_id for listing in response.context["page_obj"].object_list] == [store.user_id]


def test_listing_list_htmx_gets_only_the_table(seller_client, store):
    ListingFactory(store_account=store, title="Blue kettle listing")

    response = seller_client.get(reverse("marketplaces:listing_list"), headers={"HX-Request": "true"})

    page = response.content.decode()
    assert "<html" not in page
    assert page.lstrip().startswith('<div id="listing-table"')
    assert "Blue kettle listing" in page


def test_listing_list_empty_state(seller_client):
    page = seller_client.get(reverse("marketplaces:listing_list")).content.decode()

    assert "You have no listings yet." in page


def test_listing_detail_shows_performance(seller_client, store):
    listing = ListingFactory(store_account=store)
    MarketplaceDataFactory(listing=listing, views=None, revenue=Decimal("71.25"))

    response = seller_client.get(reverse("marketplaces:listing_detail", args=[listing.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "71.25" in page
    assert "n/a" in page  # views not reported is not 0


def test_listing_detail_is_404_for_another_seller(seller_client, other_user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=other_user))

    assert seller_client.get(reverse("marketplaces:listing_detail", args=[listing.pk])).status_code == 404


def test_store_list_counts_listings(seller_client, store, other_user):
    ListingFactory.create_batch(2, store_account=store, status="active")
    ListingFactory(store_account=store, status="paused")
    StoreAccountFactory(user=other_user, account_name="rival-shop")

    response = seller_client.get(reverse("marketplaces:store_list"))

    page = response.content.decode()
    assert "my-ebay-shop" in page
    assert "rival-shop" not in page
    assert "2 active / 3" in page


def test_store_list_htmx_gets_only_the_table(seller_client, store):
    response = seller_client.get(reverse("marketplaces:store_list"), headers={"HX-Request": "true"})

    page = response.content.decode()
    assert "<html" not in page
    assert "my-ebay-shop" in page


def test_store_detail_never_shows_credentials(seller_client, store):
    ListingFactory(store_account=store, title="Blue kettle listing")

    response = seller_client.get(reverse("marketplaces:store_detail", args=[store.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Blue kettle listing" in page
    assert store.oauth_token not in page
    assert store.oauth_refresh_token not in page


def test_store_detail_is_404_for_another_seller(seller_client, other_user):
    store = StoreAccountFactory(user=other_user)

    assert seller_client.get(reverse("marketplaces:store_detail", args=[store.pk])).status_code == 404
