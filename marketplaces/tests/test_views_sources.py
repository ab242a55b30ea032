"""A listing's backup sources on its page: listed in order with the active one, added from the seller's
tracked products (matched on GTIN or brand + MPN, else confirmed with both products side by side),
moved, removed, the maximum price; another seller's listing or product is a 404. The store page takes
the failover percentage."""

import html
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from marketplaces.models import ListingSource
from marketplaces.services import NOT_SAME_ITEM, listing_create
from marketplaces.services.sources import SAME_ITEM_CONFIRMED
from marketplaces.tests.doubles import ebay_store, isolated_cache, supplier_product
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "listing-sources")


@pytest.fixture
def store(user):
    return ebay_store(user=user)


def tracked(user, **values):
    values = {"price": Decimal("22.00"), "last_scraped_at": timezone.now(), **values}
    product = supplier_product(**values)
    user.tracked_products.add(product)
    return product


@pytest.fixture
def product(user):
    return tracked(user, title="Steel water bottle 750ml", price=Decimal("20.00"), gtin="0012345678905")


@pytest.fixture
def listing(store, product):
    return listing_create(user=store.user, product=product, store=store, acting_user=store.user)


def add(client, listing, product, **data):
    return client.post(reverse("marketplaces:listing_source_add", args=[listing.pk]), {"product": product.pk, **data})


def page(client, listing):
    return client.get(reverse("marketplaces:listing_detail", args=[listing.pk])).content.decode()


def test_a_product_with_the_same_gtin_is_added_without_confirmation(seller_client, user, listing):
    other = tracked(user, title="Bottle, steel, 0.75 l", gtin="12345678905", images=["https://img.example.com/b.jpg"])

    response = add(seller_client, listing, other)

    assert response.status_code == 302 and response["Location"].endswith("#sources")
    row = listing.sources.get()
    assert (row.product, row.position, row.confirmed_by_seller) == (other, 1, False)
    assert row.same_item == "same GTIN 12345678905"
    audit = AuditLog.objects.get(resource_type="listing", resource_id=str(listing.pk), action="source_added")
    assert audit.user == user and audit.new_value == {"backup_sources": [other.pk]}
    body = page(seller_client, listing)
    assert "Backup sources" in body and "Bottle, steel, 0.75 l" in body and "same GTIN 12345678905" in body


def test_the_same_brand_and_mpn_also_match(seller_client, user, listing, product):
    product.brand, product.mpn = "Acme", "WB-750"
    product.save()
    other = tracked(user, brand="ACME", mpn="wb-750")

    add(seller_client, listing, other)

    assert listing.sources.get().same_item == "same brand and MPN ACME wb-750"


def test_without_matching_identifiers_the_seller_compares_both_and_confirms(seller_client, user, listing):
    other = tracked(user, title="<b>Bottle</b> from another shop", images=["https://img.example.com/other.jpg"])

    response = add(seller_client, listing, other)

    assert response.status_code == 200 and not listing.sources.exists()
    body = response.content.decode()
    assert html.escape(NOT_SAME_ITEM) in body
    assert "Steel water bottle 750ml" in body and "&lt;b&gt;Bottle&lt;/b&gt; from another shop" in body
    assert 'src="https://img.example.com/other.jpg"' in body  # both pictures, side by side
    assert f'<option value="{other.pk}" selected>' in body  # the choice is kept

    response = add(seller_client, listing, other, confirm_same_item="on")

    assert response.status_code == 302
    row = listing.sources.get()
    assert row.confirmed_by_seller and row.same_item == SAME_ITEM_CONFIRMED


def test_sources_move_up_and_down_and_are_removed(seller_client, user, listing):
    first, second, third = (tracked(user, gtin="12345678905") for _ in range(3))
    for product in (first, second, third):
        add(seller_client, listing, product)
    row = listing.sources.get(product=third)

    seller_client.post(reverse("marketplaces:listing_source_move", args=[listing.pk, row.pk]), {"direction": "up"})
    assert list(listing.sources.order_by("position").values_list("product", flat=True)) == [
        first.pk,
        third.pk,
        second.pk,
    ]
    row = listing.sources.get(product=first)
    seller_client.post(reverse("marketplaces:listing_source_move", args=[listing.pk, row.pk]), {"direction": "down"})
    assert list(listing.sources.order_by("position").values_list("product", flat=True)) == [
        third.pk,
        first.pk,
        second.pk,
    ]

    response = seller_client.post(reverse("marketplaces:listing_source_remove", args=[listing.pk, row.pk]))

    assert response.status_code == 302
    assert list(listing.sources.order_by("position").values_list("product", "position")) == [
        (third.pk, 1),
        (second.pk, 2),
    ]
    assert user.tracked_products.filter(pk=first.pk).exists()  # the product stays tracked
    actions = AuditLog.objects.filter(resource_type="listing", resource_id=str(listing.pk)).values_list(
        "action", flat=True
    )
    assert {"source_moved", "source_removed"} <= set(actions)


def test_the_page_shows_which_source_is_active_since_when_and_why_others_are_not_usable(
    seller_client, user, listing, product
):
    other = tracked(user, gtin="12345678905", title="The other shop's bottle")
    add(seller_client, listing, other)
    product.stock, product.availability = 0, "out_of_stock"
    product.save()
    from marketplaces.services import listings_follow

    listings_follow(product=product)

    body = page(seller_client, listing)
    listing.refresh_from_db()
    assert listing.active_product == other
    assert "Not usable: out of stock" in body and "<strong>Active</strong>" in body
    assert 'a <a href="#sources">backup source</a>, since' in body


def test_the_maximum_price_is_saved_cleared_and_refused_when_negative(seller_client, listing):
    url = reverse("marketplaces:listing_max_price", args=[listing.pk])

    assert seller_client.post(url, {"max_price": "45.00"}).status_code == 302
    listing.refresh_from_db()
    assert listing.max_price == Decimal("45.00")

    response = seller_client.post(url, {"max_price": "-1"})
    assert response.status_code == 200 and 'value="-1"' in response.content.decode()
    listing.refresh_from_db()
    assert listing.max_price == Decimal("45.00")

    seller_client.post(url, {"max_price": ""})
    listing.refresh_from_db()
    assert listing.max_price is None


def test_another_sellers_listing_and_product_are_404(seller_client, user, other_user, listing):
    their_store = ebay_store(user=other_user)
    their_product = supplier_product()
    other_user.tracked_products.add(their_product)
    theirs = listing_create(user=other_user, product=their_product, store=their_store, acting_user=other_user)
    their_row = ListingSource.objects.create(listing=theirs, product=ProductFactory(), position=1)
    mine = tracked(user, gtin="12345678905")

    assert add(seller_client, theirs, mine).status_code == 404
    assert add(seller_client, listing, their_product, confirm_same_item="on").status_code == 404
    for name, data in (("listing_source_move", {"direction": "up"}), ("listing_source_remove", {})):
        assert (
            seller_client.post(reverse(f"marketplaces:{name}", args=[theirs.pk, their_row.pk]), data).status_code == 404
        )
        # Their source under my listing's address is not mine either.
        assert (
            seller_client.post(reverse(f"marketplaces:{name}", args=[listing.pk, their_row.pk]), data).status_code
            == 404
        )
    response = seller_client.post(reverse("marketplaces:listing_max_price", args=[theirs.pk]), {"max_price": "1"})
    assert response.status_code == 404
    assert ListingSource.objects.filter(pk=their_row.pk).exists() and not listing.sources.exists()
    theirs.refresh_from_db()
    assert theirs.max_price is None


def test_the_store_page_takes_the_failover_percentage(seller_client, store):
    from marketplaces.forms import StorePricingForm

    data = {**StorePricingForm.initial_for(store), "failover_max_increase_percent": "35.50"}
    data = {key: "" if value is None else value for key, value in data.items()}

    response = seller_client.post(reverse("marketplaces:store_settings", args=[store.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    store.refresh_from_db()
    assert store.failover_max_increase_percent == Decimal("35.50")

    data["failover_max_increase_percent"] = "-5"
    response = seller_client.post(reverse("marketplaces:store_settings", args=[store.pk]), data)
    assert response.status_code == 200 and "A backup source may raise the price" in response.content.decode()
