"""The Products page: a CSV of the tracked products (with the page's filters) and each
product's picture in its row."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
EXPORT = reverse("catalog:product_export_csv")


def test_the_csv_holds_the_sellers_products_with_the_pages_filters(seller_client, user, other_user):
    lamp = ProductFactory(title="Desk lamp", price=Decimal("19.50"), availability="in_stock")
    ProductFactory(title="+SUM(A1)", price=Decimal("5.00"), availability="out_of_stock")
    user.tracked_products.add(lamp, *user.tracked_products.model.objects.filter(title="+SUM(A1)"))
    other_user.tracked_products.add(ProductFactory(title="Not mine"))

    rows = list(csv.DictReader(io.StringIO(seller_client.get(EXPORT).content.decode())))
    cheap = list(csv.DictReader(io.StringIO(seller_client.get(EXPORT, {"price_max": "10"}).content.decode())))

    assert sorted(row["title"] for row in rows) == ["'+SUM(A1)", "Desk lamp"]
    row = next(row for row in rows if row["title"] == "Desk lamp")
    assert (row["price"], row["currency"], row["availability"], row["supplier"]) == (
        "19.50",
        "USD",
        "In stock",
        str(lamp.supplier),
    )
    assert [row["title"] for row in cheap] == ["'+SUM(A1)"]
    assert f'href="{EXPORT}"' in seller_client.get(reverse("catalog:product_list")).content.decode()


def test_each_row_shows_the_products_picture_or_a_placeholder(seller_client, user):
    user.tracked_products.add(
        ProductFactory(images=["https://img.example.com/lamp.jpg"]), ProductFactory(images=["data:image/png,x"])
    )

    page = seller_client.get(reverse("catalog:product_list")).content.decode()

    assert 'src="https://img.example.com/lamp.jpg"' in page
    assert "img/no-image.svg" in page and "data:image/png" not in page
