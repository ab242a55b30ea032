"""The seller's product list: only their products, filters, sorting, pagination, HTMX fragments."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.filters import PRICE_RANGE_REVERSED
from catalog.models import Product, Supplier
from catalog.tests.factories import ProductFactory, SupplierFactory

pytestmark = pytest.mark.django_db
LIST = reverse("catalog:product_list")


def listed(client, **params):
    return list(client.get(LIST, params).context["page_obj"].object_list)


def test_product_list_shows_only_the_sellers_tracked_products(seller_client, user, other_user):
    mine = ProductFactory(title="Blue kettle 1.7 l")
    theirs = ProductFactory(title="Red toaster")
    user.tracked_products.add(mine)
    other_user.tracked_products.add(theirs)

    page = seller_client.get(LIST).content.decode()

    assert "Blue kettle 1.7 l" in page
    assert "Red toaster" not in page


def test_another_sellers_products_never_match_any_filter(seller_client, other_user):
    other_user.tracked_products.add(ProductFactory(title="Red toaster", price=Decimal("5.00")))

    assert listed(seller_client) == []
    assert listed(seller_client, q="toaster") == []
    assert listed(seller_client, price_max="10") == []


def test_supplier_choices_come_only_from_the_sellers_products(seller_client, user, other_user):
    user.tracked_products.add(ProductFactory(supplier=SupplierFactory(name="mine-example-com")))
    other_user.tracked_products.add(ProductFactory(supplier=SupplierFactory(name="secret-shop-example-com")))

    page = seller_client.get(LIST).content.decode()

    assert "mine-example-com" in page
    assert "secret-shop-example-com" not in page


def test_empty_state_offers_adding_and_importing(seller_client):
    page = seller_client.get(LIST).content.decode()

    assert "You don't track any products yet." in page
    assert reverse("catalog:product_add") in page
    assert reverse("catalog:product_import") in page


def test_product_list_is_paginated(seller_client, user):
    user.tracked_products.add(*ProductFactory.create_batch(27))

    first = seller_client.get(LIST).context["page_obj"]
    second = seller_client.get(LIST, {"page": 2})

    assert len(first.object_list) == 25
    assert first.paginator.num_pages == 2
    assert len(second.context["page_obj"].object_list) == 2
    assert "Page 2 of 2" in second.content.decode()
    assert set(first.object_list).isdisjoint(second.context["page_obj"].object_list)


def test_text_search_matches_title_product_id_and_link(seller_client, user):
    kettle = ProductFactory(title="Blue kettle", asin="B0KETTLE01")
    toaster = ProductFactory(title="Red toaster", asin="B0TOASTER1")
    lamp = ProductFactory(title="Desk lamp", url="https://lamps.example.com/products/brass-reader")
    user.tracked_products.add(kettle, toaster, lamp)

    assert listed(seller_client, q="kettle") == [kettle]
    assert listed(seller_client, q="b0toaster1") == [toaster]
    assert listed(seller_client, q="brass-reader") == [lamp]


def test_filter_by_supplier_family_takes_every_site_of_it(seller_client, user):
    amazon = Supplier.objects.get(name="amazon")
    amazon_de = SupplierFactory(name="amazon-de", family=amazon, base_url="https://www.amazon.de", currency="EUR")
    us = ProductFactory(supplier=amazon)
    de = ProductFactory(supplier=amazon_de)
    shop = ProductFactory(supplier=SupplierFactory(name="shop-example-com"))
    user.tracked_products.add(us, de, shop)

    assert set(listed(seller_client, family="amazon")) == {us, de}
    assert listed(seller_client, family="generic") == [shop]
    assert listed(seller_client, supplier="amazon-de") == [de]
    assert listed(seller_client, supplier="amazon") == [us]


def test_filter_by_availability_and_price_range(seller_client, user):
    cheap = ProductFactory(price=Decimal("5.00"), availability="in_stock")
    middle = ProductFactory(price=Decimal("15.00"), availability="out_of_stock")
    dear = ProductFactory(price=Decimal("50.00"), availability="in_stock")
    unknown = ProductFactory(price=None, availability="unknown")
    user.tracked_products.add(cheap, middle, dear, unknown)

    assert set(listed(seller_client, availability="in_stock")) == {cheap, dear}
    assert listed(seller_client, availability="out_of_stock") == [middle]
    assert set(listed(seller_client, price_min="10", price_max="50")) == {middle, dear}
    assert set(listed(seller_client, price_max="15.00")) == {cheap, middle}
    assert listed(seller_client, price_min="10", availability="in_stock") == [dear]


def test_a_reversed_price_range_is_explained_and_kept_in_the_form(seller_client, user):
    user.tracked_products.add(ProductFactory(price=Decimal("5.00")))

    response = seller_client.get(LIST, {"price_min": "40", "price_max": "10"})

    page = response.content.decode()
    assert response.status_code == 200
    assert PRICE_RANGE_REVERSED in page
    assert 'value="40"' in page and 'value="10"' in page


def test_a_price_that_is_not_a_number_is_explained(seller_client, user):
    user.tracked_products.add(ProductFactory())

    response = seller_client.get(LIST, {"price_min": "cheap"})

    assert response.status_code == 200
    assert "Enter a number." in response.content.decode()
    assert 'value="cheap"' in response.content.decode()


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("title", ["Apple", "Banana", "Cherry"]),
        ("-title", ["Cherry", "Banana", "Apple"]),
        ("price", ["Banana", "Cherry", "Apple"]),
        ("-price", ["Cherry", "Banana", "Apple"]),
        ("availability", ["Cherry", "Apple", "Banana"]),
        ("last_scraped_at", ["Banana", "Cherry", "Apple"]),
        ("-last_scraped_at", ["Cherry", "Banana", "Apple"]),
    ],
)
def test_ordering_sorts_with_unknown_values_last(seller_client, user, ordering, expected):
    now = timezone.now()
    user.tracked_products.add(
        ProductFactory(title="Apple", price=None, availability="low_stock", last_scraped_at=None),
        ProductFactory(
            title="Banana", price=Decimal("3.00"), availability="out_of_stock", last_scraped_at=now - timedelta(days=2)
        ),
        ProductFactory(
            title="Cherry", price=Decimal("9.00"), availability="in_stock", last_scraped_at=now - timedelta(hours=1)
        ),
    )

    assert [product.title for product in listed(seller_client, ordering=ordering)] == expected


def test_ordering_by_last_change(seller_client, user):
    older, newer = ProductFactory(title="Older"), ProductFactory(title="Newer")
    Product.objects.filter(pk=older.pk).update(updated_at=timezone.now() - timedelta(days=3))
    user.tracked_products.add(older, newer)

    assert [p.title for p in listed(seller_client, ordering="-updated_at")] == ["Newer", "Older"]
    assert [p.title for p in listed(seller_client, ordering="updated_at")] == ["Older", "Newer"]


def test_sort_header_links_toggle_direction_and_keep_filters(seller_client, user):
    user.tracked_products.add(ProductFactory(title="Apple", availability="in_stock"))

    page = seller_client.get(LIST, {"availability": "in_stock", "ordering": "title", "page": "1"}).content.decode()

    assert 'href="?availability=in_stock&amp;ordering=-title"' in page
    assert 'href="?availability=in_stock&amp;ordering=price"' in page


def test_htmx_gets_only_the_table_with_the_ordering_kept_for_the_filter_form(seller_client, user):
    user.tracked_products.add(ProductFactory(title="Blue kettle"))

    response = seller_client.get(LIST, {"ordering": "-price"}, headers={"HX-Request": "true"})

    page = response.content.decode()
    assert "<html" not in page
    assert 'id="product-table"' in page
    assert "Blue kettle" in page
    assert 'id="filter-ordering" hx-swap-oob="true"' in page and 'value="-price"' in page
    assert "HX-Request" in response["Vary"]


def test_the_whole_page_has_a_filter_form_that_works_without_javascript(seller_client, user):
    user.tracked_products.add(ProductFactory(title="Blue kettle"))

    page = seller_client.get(LIST).content.decode()

    assert f'<form method="get" action="{LIST}"' in page
    assert 'name="q"' in page and 'name="price_min"' in page and 'name="availability"' in page
    assert "hx-swap-oob" not in page


def test_history_restore_gets_the_whole_page(seller_client):
    response = seller_client.get(LIST, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})

    assert "<html" in response.content.decode()


def test_a_scripted_title_is_shown_as_text(seller_client, user):
    user.tracked_products.add(ProductFactory(title="<script>alert(1)</script>"))

    page = seller_client.get(LIST).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_price_is_shown_with_its_currency_and_times_in_the_sellers_zone(client, user):
    user.timezone = "Asia/Tokyo"
    user.save(update_fields=["timezone"])
    client.force_login(user)
    checked = datetime(2024, 3, 1, 23, 30, tzinfo=UTC)
    user.tracked_products.add(ProductFactory(price=Decimal("24.50"), currency="EUR", last_scraped_at=checked))

    page = client.get(LIST).content.decode()

    assert "24.50 EUR" in page
    assert "Mar 2, 08:30" in page  # 23:30 UTC is 08:30 the next day in Tokyo


def test_a_product_that_cannot_be_read_is_flagged_in_the_list(seller_client, user, settings):
    settings.SCRAPE_FAILURE_THRESHOLD = 3
    user.tracked_products.add(
        ProductFactory(title="Failing", failure_count=3, last_error="HTTP 503"),
        ProductFactory(title="Fine", failure_count=2),
    )

    page = seller_client.get(LIST).content.decode()

    assert page.count("Not readable") == 1
