"""What buying a product costs beyond its price, on the catalog's side: the supplier site's default
shipping and sales tax (staff, validated), the shipping hint a page states (checked, stored, shown,
never a cost), and the product page showing which shipping is in force."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from catalog.extraction import Extraction
from catalog.models import SUPPLIER_SHIPPING_NEGATIVE, SUPPLIER_TAX_RANGE, Product, Supplier
from catalog.readings import SHIPPING_DROPPED, reading_clean
from catalog.services import page_extract, product_apply, product_override_set, reading_check
from catalog.tests.factories import ProductFactory, SupplierFactory
from catalog.tests.pages import jsonld, shop_page

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("shipping", "tax", "message"),
    [
        (Decimal("-0.01"), None, SUPPLIER_SHIPPING_NEGATIVE),
        (None, Decimal("-1"), SUPPLIER_TAX_RANGE),
        (None, Decimal("100"), SUPPLIER_TAX_RANGE),
    ],
)
def test_a_suppliers_shipping_and_tax_outside_their_range_are_refused(shipping, tax, message):
    supplier = SupplierFactory()
    supplier.default_shipping, supplier.sales_tax_percent = shipping, tax

    with pytest.raises(ValidationError) as refused:
        supplier.full_clean()
    assert message in str(refused.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        Supplier.objects.filter(pk=supplier.pk).update(default_shipping=shipping, sales_tax_percent=tax)


def test_a_suppliers_shipping_and_tax_in_range_are_kept():
    supplier = SupplierFactory(default_shipping=Decimal("0"), sales_tax_percent=Decimal("99.99"))
    supplier.full_clean()


@pytest.mark.parametrize("hint", [Decimal("-1"), Decimal("1e12"), Decimal("NaN"), "free", True])
def test_a_shipping_hint_out_of_bounds_is_dropped_with_a_note_and_the_rest_applies(hint):
    reading = Extraction(title="Lamp", price=Decimal("40.00"), currency="USD", shipping_hint=hint, shipping_free=True)

    problem, notes = reading_clean(reading)

    assert problem is None and reading.price == Decimal("40.00")
    assert (reading.shipping_hint, reading.shipping_free) == (None, False)
    assert [note for note in notes if note.startswith("shipping hint")] == [
        SHIPPING_DROPPED.format(value=str(hint), ceiling=notes[0].rsplit(" ", 1)[-1])
    ]


def test_a_shipping_hint_in_bounds_is_kept_to_the_cent():
    reading = Extraction(price=Decimal("40.00"), currency="USD", shipping_hint=Decimal("4.999"))
    assert reading_clean(reading) == (None, []) and reading.shipping_hint == Decimal("5.00")


LAMP_PAGE = shop_page(
    "<h1>Desk Lamp</h1><div><button type='submit'>Add to Cart</button><p>FREE delivery Friday</p></div>",
    head=jsonld(
        {
            "@type": "Product",
            "name": "Desk Lamp",
            "offers": {"@type": "Offer", "price": "40.00", "priceCurrency": "USD"},
        }
    ),
)


def test_a_read_page_stores_its_shipping_hint_and_a_page_without_one_keeps_it():
    product = ProductFactory(title="Desk Lamp", price=Decimal("40.00"), asin="url-lamp")
    checked = reading_check(
        product=product, extraction=page_extract(html=LAMP_PAGE, supplier=product.supplier, url=product.url)
    )
    assert checked.kind == "good"

    outcome = product_apply(product=product, extraction=checked.extraction)

    product.refresh_from_db()
    assert product.shipping_hint == Decimal("0.00")
    assert not outcome.changed and not product.follow_pending  # a hint is never a change to follow
    product_apply(product=product, extraction=Extraction(price=Decimal("40.00"), currency="USD"))
    assert Product.objects.get(pk=product.pk).shipping_hint == Decimal("0.00")


@pytest.fixture
def tracked(user):
    supplier = SupplierFactory(default_shipping=Decimal("4.99"), sales_tax_percent=Decimal("7.25"))
    product = ProductFactory(supplier=supplier, price=Decimal("40.00"), shipping_hint=Decimal("0.00"))
    user.tracked_products.add(product)
    return product


def test_the_product_page_shows_the_suppliers_shipping_and_tax_with_the_pages_hint(seller_client, tracked):
    page = seller_client.get(reverse("catalog:product_detail", args=[tracked.pk])).content.decode()

    assert '4.99 USD <small class="muted">the supplier\'s default</small>' in page
    assert "The supplier's page says free delivery" in page
    assert "7.25 % of price and shipping" in page


def test_the_product_page_shows_the_sellers_own_shipping_in_force(seller_client, user, tracked):
    product_override_set(user=user, product=tracked, price=None, stock=None, shipping=Decimal("2.50"))

    page = seller_client.get(reverse("catalog:product_detail", args=[tracked.pk])).content.decode()

    assert '<strong>2.50 USD</strong> <span class="badge badge-paused">Your own shipping</span>' in page
    assert 'name="shipping" value="2.50"' in page  # the form starts from the values in force


def test_another_seller_cannot_see_or_set_shipping_on_a_product_they_do_not_track(client, other_user, tracked):
    client.force_login(other_user)
    assert client.get(reverse("catalog:product_detail", args=[tracked.pk])).status_code == 404
    response = client.post(reverse("catalog:product_override", args=[tracked.pk]), {"shipping": "1.00"})
    assert response.status_code == 404
    assert not tracked.overrides.exists()
