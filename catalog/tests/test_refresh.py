"""The refresh pipeline and adding products, against real saved pages served on 127.0.0.1."""

from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from catalog.models import HeldReading, PriceHistory, Product, StockHistory, Supplier
from catalog.services import NO_PRODUCT_DATA, product_add, product_refresh
from catalog.tests.factories import ProductFactory, SupplierFactory
from catalog.tests.fetch_servers import (  # noqa: F401 - fixtures
    CAPTCHA_PAGE,
    Reply,
    fetch_settings_fixture,
    site_fixture,
)
from conftest import shared_material

pytestmark = pytest.mark.django_db


def saved(name: str) -> Reply:
    return Reply(body=shared_material(f"pages/{name}").read_bytes())


@pytest.fixture
def amazon_site(site):
    template = Supplier.objects.get(name="amazon")
    return SupplierFactory(name="amazon-local", family=template, base_url=site.url("/"), rate_limit=60000)


def test_a_refresh_reads_the_real_page_and_records_the_change(site, amazon_site):
    site.routes["/dp/B00FLYWNYQ"] = saved("thereyouwish/amazon.html")
    product = ProductFactory(
        supplier=amazon_site, asin="B00FLYWNYQ", url=site.url("/dp/B00FLYWNYQ"), price=Decimal("89.95")
    )

    outcome = product_refresh(product=product)

    product.refresh_from_db()
    assert outcome.status == "updated" and outcome.price_changed
    assert product.price == Decimal("99.95") and product.currency == "USD"
    assert product.availability == "in_stock" and product.rating == Decimal("4.6")
    assert product.title.startswith("Instant Pot Duo 7-in-1")
    row = PriceHistory.objects.get(product=product)
    assert (row.old_price, row.new_price, row.price_change_percent) == (
        Decimal("89.95"),
        Decimal("99.95"),
        Decimal("11.12"),
    )


def test_a_robot_check_page_never_records_a_change_or_out_of_stock(site, amazon_site):
    site.routes["/dp/B00FLYWNYQ"] = Reply(body=CAPTCHA_PAGE)
    product = ProductFactory(supplier=amazon_site, url=site.url("/dp/B00FLYWNYQ"), availability="in_stock")
    before = (product.price, product.availability, product.stock, product.title)

    outcome = product_refresh(product=product)

    product.refresh_from_db()
    assert outcome.status == "blocked"
    assert (product.price, product.availability, product.stock, product.title) == before
    assert product.failure_count == 1 and product.retry_not_before is not None
    assert not PriceHistory.objects.exists() and not StockHistory.objects.exists()


def test_the_saved_captcha_page_counts_as_blocked(site, amazon_site):
    site.routes["/dp/X"] = saved("amazon-page-parser/us_captcha.html")
    product = ProductFactory(supplier=amazon_site, url=site.url("/dp/X"), availability="in_stock")
    assert product_refresh(product=product).status == "blocked"
    product.refresh_from_db()
    assert product.availability == "in_stock"


def test_a_big_jump_confirmed_by_a_second_fetch_is_applied(site, amazon_site):
    site.routes["/dp/B00FLYWNYQ"] = saved("thereyouwish/amazon.html")
    product = ProductFactory(
        supplier=amazon_site, asin="B00FLYWNYQ", url=site.url("/dp/B00FLYWNYQ"), price=Decimal("20.00")
    )
    outcome = product_refresh(product=product)
    assert outcome.status == "updated"
    assert site.paths().count("/dp/B00FLYWNYQ") == 2  # read twice before acting on a 400% move


def test_a_big_jump_the_second_fetch_contradicts_is_held(site, amazon_site):
    page = saved("thereyouwish/amazon.html")
    cheaper = Reply(body=page.body.replace(b"99.95", b"59.95").replace(b">99<", b">59<"))  # same item, new price
    answers = [page, cheaper]
    site.routes["/dp/B00FLYWNYQ"] = lambda handler: answers.pop(0)
    product = ProductFactory(
        supplier=amazon_site, asin="B00FLYWNYQ", url=site.url("/dp/B00FLYWNYQ"), price=Decimal("20.00")
    )

    outcome = product_refresh(product=product)

    product.refresh_from_db()
    assert outcome.status == "held" and product.price == Decimal("20.00")
    held = HeldReading.objects.get(product=product)
    assert held.reading["price"] == "99.95" and "second fetch disagreed" in held.reason
    assert not PriceHistory.objects.exists()


def test_a_missing_page_is_a_failure_that_keeps_known_values(site, amazon_site):
    product = ProductFactory(supplier=amazon_site, url=site.url("/dp/GONE"), price=Decimal("5.00"))
    outcome = product_refresh(product=product)
    product.refresh_from_db()
    assert outcome.status == "failed" and product.price == Decimal("5.00") and product.last_error


def test_adding_a_generic_shop_page_reads_its_structured_data(site):
    site.routes["/dresser"] = saved("thereyouwish/jsonld.html")
    seller = UserFactory()

    result = product_add(user=seller, text=site.url("/dresser?utm_source=mail"))

    assert result.status == "added", result.message
    product = Product.objects.get(pk=result.product_id)
    assert product.price == Decimal("249.99") and product.supplier.family.name == "generic"
    assert seller.tracked_products.filter(pk=product.pk).exists()


def test_a_second_seller_adding_the_same_product_does_not_fetch_it_again(site):
    site.routes["/dresser"] = saved("thereyouwish/jsonld.html")
    product_add(user=UserFactory(), text=site.url("/dresser"))
    fetches = len(site.paths())

    other = UserFactory()
    amazon = product_add(user=other, text="B00FLYWNYQ", read_now=False)
    again = product_add(user=other, text="B00FLYWNYQ", read_now=False)

    assert (amazon.status, again.status) == ("added", "already_tracked")
    assert len(site.paths()) == fetches


def test_a_page_without_product_data_is_refused(site):
    site.routes["/about"] = Reply(body="<html><head><title></title></head><body><p>About us</p></body></html>")
    result = product_add(user=UserFactory(), text=site.url("/about"))
    assert result.status == "error" and result.message == NO_PRODUCT_DATA
    assert not Product.objects.filter(supplier__family__name="generic").exists()


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5/item", "http://169.254.169.254/latest/meta-data/", "http://192.168.1.20:8000/x"]
)
def test_private_and_local_addresses_are_refused(url):
    result = product_add(user=UserFactory(), text=url)
    assert result.status == "error"
    assert "public" in result.message.lower() or "not allowed" in result.message.lower()
    assert not Product.objects.exists()
