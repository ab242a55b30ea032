"""The seller API's backup sources of a listing, through the real URLs and checked against the schema:
the list in order with the active one, adding (matched or confirmed), moving, removing, the listing's
maximum price and active source on the listing itself, idempotent adds, another seller's 404s."""

from decimal import Decimal

import pytest
from django.utils import timezone

from config.tests.api_helpers import problem
from marketplaces.models import ListingSource
from marketplaces.services import NOT_SAME_ITEM, listing_create, listings_follow
from marketplaces.services.sources import SOURCE_ALREADY
from marketplaces.tests.doubles import ebay_store, isolated_cache, supplier_product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "api-sources")


def tracked(user, **values):
    values = {"price": Decimal("22.00"), "last_scraped_at": timezone.now(), **values}
    product = supplier_product(**values)
    user.tracked_products.add(product)
    return product


@pytest.fixture
def product(user):
    return tracked(user, price=Decimal("20.00"), gtin="4006381333931")


@pytest.fixture
def listing(user, product):
    store = ebay_store(user=user)
    return listing_create(user=user, product=product, store=store, acting_user=user)


def url(listing, source_id=None):
    base = f"/api/v1/listings/{listing.pk}/sources/"
    return base if source_id is None else f"{base}{source_id}/"


def test_the_list_starts_with_the_own_product_and_flags_the_active_source(seller_api, user, listing, product):
    other = tracked(user, gtin="4006381333931")
    ListingSource.objects.create(listing=listing, product=other, position=1, same_item="same GTIN")
    product.stock, product.availability = 0, "out_of_stock"
    product.save()
    listings_follow(product=product)

    response = seller_api.get(url(listing))

    assert response.status_code == 200
    data = response.json()
    assert data["active_product"] == other.pk and data["active_since"] is not None
    assert [(s["position"], s["product"], s["active"], s["qualifies"]) for s in data["sources"]] == [
        (0, product.pk, False, False),
        (1, other.pk, True, True),
    ]
    assert data["sources"][0]["problem"] == "out of stock" and data["sources"][1]["price"] == "33.99"
    on_listing = seller_api.get(f"/api/v1/listings/{listing.pk}/").json()
    assert on_listing["active_product"] == other.pk
    assert on_listing["margin"]["unit_cost"] == "22.00"  # the backup's cost, not the own product's 20.00


def test_adding_a_matching_product_is_201_and_an_unmatched_one_needs_confirmation(seller_api, user, listing):
    matching = tracked(user, gtin="4006381333931")
    unmatched = tracked(user)

    created = seller_api.post(url(listing), {"product_id": matching.pk})
    refused = seller_api.post(url(listing), {"product_id": unmatched.pk})
    confirmed = seller_api.post(url(listing), {"product_id": unmatched.pk, "confirm_same_item": True})
    again = seller_api.post(url(listing), {"product_id": unmatched.pk, "confirm_same_item": True})

    assert created.status_code == 201
    row = listing.sources.get(product=matching)
    assert created["Location"] == url(listing, row.pk) and row.same_item == "same GTIN 4006381333931"
    assert refused.status_code == 400
    assert problem(refused)["errors"][0]["detail"] == NOT_SAME_ITEM
    assert confirmed.status_code == 201 and listing.sources.get(product=unmatched).confirmed_by_seller
    assert [s["product"] for s in confirmed.json()["sources"]] == [listing.product_id, matching.pk, unmatched.pk]
    assert again.status_code == 409 and problem(again)["detail"] == SOURCE_ALREADY


def test_an_add_retried_with_the_same_key_adds_once(seller_api, user, listing):
    other = tracked(user, gtin="4006381333931")

    first = seller_api.post(url(listing), {"product_id": other.pk}, HTTP_IDEMPOTENCY_KEY="add-1")
    second = seller_api.post(url(listing), {"product_id": other.pk}, HTTP_IDEMPOTENCY_KEY="add-1")

    assert first.status_code == second.status_code == 201
    assert listing.sources.count() == 1


def test_a_source_is_moved_and_removed(seller_api, user, listing):
    first, second = tracked(user, gtin="4006381333931"), tracked(user, gtin="4006381333931")
    seller_api.post(url(listing), {"product_id": first.pk})
    seller_api.post(url(listing), {"product_id": second.pk})
    row = listing.sources.get(product=second)

    moved = seller_api.patch(url(listing, row.pk), {"position": 1})

    assert moved.status_code == 200
    assert [s["product"] for s in moved.json()["sources"][1:]] == [second.pk, first.pk]
    assert seller_api.patch(url(listing, row.pk), {"position": 0}).status_code == 400

    removed = seller_api.delete(url(listing, row.pk))

    assert removed.status_code == 204
    assert list(listing.sources.values_list("product", "position")) == [(first.pk, 1)]


def test_the_maximum_price_is_set_on_the_listing(seller_api, listing):
    response = seller_api.patch(f"/api/v1/listings/{listing.pk}/", {"max_price": "44.50"})

    assert response.status_code == 200 and response.json()["max_price"] == "44.50"
    listing.refresh_from_db()
    assert listing.max_price == Decimal("44.50")
    assert seller_api.patch(f"/api/v1/listings/{listing.pk}/", {"max_price": None}).json()["max_price"] is None


def test_another_sellers_listing_source_or_product_is_404(seller_api, user, other_user, listing):
    their_product = tracked(other_user)
    theirs = listing_create(
        user=other_user, product=their_product, store=ebay_store(user=other_user), acting_user=other_user
    )
    their_row = ListingSource.objects.create(listing=theirs, product=tracked(other_user), position=1)
    mine = tracked(user, gtin="4006381333931")

    answers = [
        seller_api.get(url(theirs)),
        seller_api.post(url(theirs), {"product_id": mine.pk}),
        seller_api.post(url(listing), {"product_id": their_product.pk, "confirm_same_item": True}),
        seller_api.patch(url(theirs, their_row.pk), {"position": 1}),
        seller_api.delete(url(theirs, their_row.pk)),
        seller_api.delete(url(listing, their_row.pk)),
    ]

    assert [answer.status_code for answer in answers] == [404] * 6
    assert ListingSource.objects.filter(pk=their_row.pk).exists() and not listing.sources.exists()
