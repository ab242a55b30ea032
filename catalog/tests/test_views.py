import pytest
from django.urls import reverse

from catalog.tests.factories import PriceHistoryFactory, ProductFactory
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory

pytestmark = pytest.mark.django_db


def test_product_list_shows_only_the_sellers_tracked_products(seller_client, user, other_user):
    mine = ProductFactory(title="Blue kettle 1.7 l")
    theirs = ProductFactory(title="Red toaster")
    user.tracked_products.add(mine)
    other_user.tracked_products.add(theirs)

    page = seller_client.get(reverse("catalog:product_list")).content.decode()

    assert "Blue kettle 1.7 l" in page
    assert "Red toaster" not in page


def test_product_list_empty_state(seller_client):
    page = seller_client.get(reverse("catalog:product_list")).content.decode()

    assert "You don't track any products yet." in page


def test_product_list_is_paginated(seller_client, user):
    user.tracked_products.add(*ProductFactory.create_batch(27))

    first = seller_client.get(reverse("catalog:product_list")).context["page_obj"]
    second = seller_client.get(reverse("catalog:product_list"), {"page": 2})

    assert len(first.object_list) == 25
    assert first.paginator.num_pages == 2
    assert len(second.context["page_obj"].object_list) == 2
    assert "Page 2 of 2" in second.content.decode()


def test_product_list_search_by_title_or_id(seller_client, user):
    kettle = ProductFactory(title="Blue kettle")
    toaster = ProductFactory(title="Red toaster", asin="B0TOASTER1")
    user.tracked_products.add(kettle, toaster)

    by_title = seller_client.get(reverse("catalog:product_list"), {"q": "kettle"}).context["page_obj"].object_list
    by_id = seller_client.get(reverse("catalog:product_list"), {"q": "b0toaster1"}).context["page_obj"].object_list

    assert list(by_title) == [kettle]
    assert list(by_id) == [toaster]


def test_product_list_htmx_gets_only_the_table(seller_client, user):
    user.tracked_products.add(ProductFactory(title="Blue kettle"))

    response = seller_client.get(reverse("catalog:product_list"), headers={"HX-Request": "true"})

    page = response.content.decode()
    assert "<html" not in page
    assert 'id="product-table"' in page
    assert "Blue kettle" in page
    assert "HX-Request" in response["Vary"]


def test_product_list_history_restore_gets_the_whole_page(seller_client):
    response = seller_client.get(
        reverse("catalog:product_list"), headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )

    assert "<html" in response.content.decode()


def test_product_detail_shows_history_and_the_sellers_listings(seller_client, user, other_user):
    product = ProductFactory(title="Blue kettle")
    user.tracked_products.add(product)
    PriceHistoryFactory(product=product, old_price="19.99", new_price="24.50")
    ListingFactory(product=product, store_account=StoreAccountFactory(user=user, account_name="my-ebay-shop"))
    ListingFactory(product=product, store_account=StoreAccountFactory(user=other_user, account_name="rival-shop"))

    response = seller_client.get(reverse("catalog:product_detail", args=[product.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "24.50" in page
    assert "my-ebay-shop" in page
    assert "rival-shop" not in page


def test_product_detail_is_404_for_a_product_the_seller_does_not_track(seller_client, other_user):
    product = ProductFactory()
    other_user.tracked_products.add(product)

    response = seller_client.get(reverse("catalog:product_detail", args=[product.pk]))

    assert response.status_code == 404
