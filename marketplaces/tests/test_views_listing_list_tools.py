"""The Listings page's tools: a CSV of the listings (with the page's filters), select-all, a
picture of each product, the price lock as an icon, a new listing from the page itself."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.tests.factories import ProductFactory
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory

pytestmark = pytest.mark.django_db
LIST = reverse("marketplaces:listing_list")
EXPORT = reverse("marketplaces:listing_export_csv")


@pytest.fixture
def store(user):
    return StoreAccountFactory(user=user, account_name="my-ebay")


def _rows(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_csv_holds_the_sellers_listings_with_the_pages_filters(seller_client, store, other_user):
    ListingFactory(store_account=store, title="Lamp", price=Decimal("31.99"), status="active")
    ListingFactory(store_account=store, title="=HYPERLINK(1)", status="paused", status_reason="out_of_stock")
    ListingFactory(store_account=StoreAccountFactory(user=other_user), title="Someone else's")

    everything = _rows(seller_client.get(EXPORT))
    paused = _rows(seller_client.get(EXPORT, {"status": "paused"}))

    assert sorted(row["title"] for row in everything) == ["'=HYPERLINK(1)", "Lamp"]  # a formula is neutralised
    lamp = next(row for row in everything if row["title"] == "Lamp")
    assert (lamp["price"], lamp["currency"], lamp["store"], lamp["status"]) == ("31.99", "USD", "my-ebay", "Active")
    assert [row["status_reason"] for row in paused] == ["Supplier out of stock"]
    assert f'href="{EXPORT}"' in seller_client.get(LIST).content.decode()


def test_rows_have_a_select_all_box_the_product_picture_and_a_lock_icon(seller_client, store):
    product = ProductFactory(images=["javascript:alert(1)", "https://img.example.com/lamp.jpg"])
    ListingFactory(store_account=store, product=product, price_locked=True)
    ListingFactory(store_account=store, product=ProductFactory(images=[]))

    page = seller_client.get(LIST).content.decode()

    assert 'data-select-all="ids"' in page
    assert 'src="https://img.example.com/lamp.jpg"' in page and "javascript:" not in page
    assert "img/no-image.svg" in page  # a product without a picture gets the placeholder
    assert "img/lock.svg" in page and "🔒" not in page
