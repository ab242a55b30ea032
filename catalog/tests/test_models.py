from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from catalog.models import PriceHistory, Product, ProxyPool, price_change_percent
from catalog.tests.factories import ProductFactory, ProxyPoolFactory, SupplierFactory

pytestmark = pytest.mark.django_db


def test_supplier_family_rows_exist_after_migrate():
    from catalog.models import Supplier

    families = Supplier.objects.filter(family__isnull=True).values_list("name", flat=True)
    assert {"amazon", "aliexpress", "costco", "generic"} <= set(families)


def test_one_product_per_supplier_and_id():
    product = ProductFactory()
    with pytest.raises(IntegrityError):
        ProductFactory(supplier=product.supplier, asin=product.asin)


def test_the_same_id_on_two_sites_is_two_products():
    product = ProductFactory(asin="B000000001")
    ProductFactory(asin="B000000001", supplier=SupplierFactory())
    assert Product.objects.filter(asin=product.asin).count() == 2


@pytest.mark.parametrize(
    "field, value",
    [
        ("rating", Decimal("5.01")),
        ("rating", Decimal("-0.5")),
        ("price", Decimal("-1")),
        ("stock", -1),
        ("reviews_count", -3),
    ],
)
def test_product_values_out_of_range_are_refused_by_the_database(field, value):
    product = ProductFactory()
    with pytest.raises(IntegrityError):
        Product.objects.filter(pk=product.pk).update(**{field: value})


@pytest.mark.parametrize(
    "field, value", [("port", 0), ("port", 65536), ("health_score", 101), ("success_count", -1), ("failure_count", -1)]
)
def test_proxy_values_out_of_range_are_refused_by_the_database(field, value):
    proxy = ProxyPoolFactory()
    with pytest.raises(IntegrityError):
        ProxyPool.objects.filter(pk=proxy.pk).update(**{field: value})


def test_proxy_is_unique_per_host_port_and_protocol():
    proxy = ProxyPoolFactory()
    with pytest.raises(IntegrityError):
        ProxyPoolFactory(host=proxy.host, port=proxy.port, protocol=proxy.protocol)


def test_supplier_rate_limit_must_be_positive():
    supplier = SupplierFactory()
    with pytest.raises(IntegrityError):
        type(supplier).objects.filter(pk=supplier.pk).update(rate_limit=0)


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (Decimal("20.00"), Decimal("25.00"), Decimal("25.00")),
        (Decimal("20.00"), Decimal("15.00"), Decimal("-25.00")),
        (Decimal("3.00"), Decimal("4.00"), Decimal("33.33")),
        (None, Decimal("4.00"), None),
        (Decimal("0"), Decimal("4.00"), None),
    ],
)
def test_price_change_percent(old, new, expected):
    assert price_change_percent(old, new) == expected


def test_price_history_rows_carry_their_change_percent():
    product = ProductFactory()
    row = PriceHistory.build(product=product, old_price=Decimal("10"), new_price=Decimal("12.5"), currency="USD")
    row.save()
    row.refresh_from_db()
    assert row.price_change_percent == Decimal("25.00")


def test_proxy_password_is_unreadable_in_the_raw_row():
    proxy = ProxyPoolFactory(password="s3cret-proxy-pass")
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM catalog_proxy_pool WHERE id = %s", [proxy.pk])
        raw = bytes(cursor.fetchone()[0])
    assert b"s3cret-proxy-pass" not in raw
    proxy.refresh_from_db()
    assert proxy.password == "s3cret-proxy-pass"


def test_negative_history_prices_are_refused():
    product = ProductFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        PriceHistory.build(product=product, old_price=Decimal("-1"), new_price=Decimal("1"), currency="USD").save()
