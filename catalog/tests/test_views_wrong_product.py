"""The product page shows a wrong-product reading with both identities and lets the seller stop
following the product; nothing a seller clicks rewrites the shared product."""

import pytest
from django.urls import reverse

from catalog.models import HeldReading
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(user):
    product = ProductFactory(asin="B07CLN88MV", title="Chiffon top, parent", wrong_product_count=2)
    user.tracked_products.add(product)
    HeldReading.objects.create(
        product=product,
        kind=HeldReading.Kind.WRONG_PRODUCT,
        reason="The supplier link now shows another product: the page is for item B07CL39Z8Q, ours is B07CLN88MV.",
        reading={"title": "Palarn <b>Women</b> Tops", "price": "2.27", "currency": "USD"},
        identity={
            "by": "page id",
            "ours": {"title": product.title, "id": "B07CLN88MV", "url": product.url},
            "page": {"title": "Palarn <b>Women</b> Tops", "id": "B07CL39Z8Q", "url": product.url},
        },
    )
    return product


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx-summary"])
def test_the_product_page_shows_both_identities_and_the_way_out(seller_client, product, htmx):
    headers = {"HX-Request": "true", "HX-Target": "product-summary"} if htmx else {}
    page = seller_client.get(reverse("catalog:product_detail", args=[product.pk]), headers=headers).content.decode()

    assert (
        "The supplier link now shows another product: “Palarn &lt;b&gt;Women&lt;/b&gt; Tops” (B07CL39Z8Q) "
        "instead of “Chiffon top, parent” (B07CLN88MV). Nothing of it is applied." in page
    )
    assert "2 such readings in a row" in page
    assert reverse("catalog:product_drop", args=[product.pk]) in page
    assert "End its listings and stop tracking" in page
    assert ("<html" in page) is not htmx


def test_another_seller_cannot_see_or_drop_it(client, other_user, product):
    client.force_login(other_user)
    assert client.get(reverse("catalog:product_detail", args=[product.pk])).status_code == 404
    assert client.post(reverse("catalog:product_drop", args=[product.pk])).status_code == 404


def test_stopping_to_follow_a_product_without_listings_untracks_it(seller_client, user, product):
    response = seller_client.post(reverse("catalog:product_drop", args=[product.pk]))
    assert response.status_code == 302
    assert not user.tracked_products.filter(pk=product.pk).exists()
    product.refresh_from_db()
    assert product.asin == "B07CLN88MV" and product.title == "Chiffon top, parent"  # the shared product stays


def test_the_product_list_flags_a_link_that_shows_another_product(seller_client, product):
    page = seller_client.get(reverse("catalog:product_list")).content.decode()
    assert "Link shows another product" in page
