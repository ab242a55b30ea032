import datetime
import inspect
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.models import HeldReading, PriceHistory, Product, StockHistory
from catalog.services import (
    ProductAddError,
    product_apply,
    product_hold,
    product_record_failure,
    product_track,
    products_claim,
    products_due,
    reading_doubt,
)
from catalog.tests.factories import ProductFactory
from marketplaces.tests.factories import ListingFactory
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def reading(**fields):
    base = dict(
        title=None,
        description=None,
        price=None,
        currency=None,
        stock=None,
        availability="unknown",
        rating=None,
        reviews_count=None,
        images=[],
    )
    return SimpleNamespace(**{**base, **fields})


def test_a_price_change_writes_one_history_row_with_its_percent():
    product = ProductFactory(price=Decimal("20.00"), currency="USD")
    outcome = product_apply(product=product, extraction=reading(price=Decimal("22.00"), currency="USD"))

    assert outcome.price_changed and outcome.status == "updated"
    row = PriceHistory.objects.get(product=product)
    assert (row.old_price, row.new_price, row.price_change_percent, row.reason) == (
        Decimal("20.00"),
        Decimal("22.00"),
        Decimal("10.00"),
        "scrape",
    )
    product.refresh_from_db()
    assert product.price == Decimal("22.00") and product.last_scraped_at is not None


def test_the_same_reading_twice_writes_no_history():
    product = ProductFactory(price=Decimal("20.00"), availability="in_stock", stock=None)
    same = reading(price=Decimal("20.00"), currency="USD", availability="in_stock")
    assert product_apply(product=product, extraction=same).status == "unchanged"
    assert product_apply(product=product, extraction=same).status == "unchanged"
    assert not PriceHistory.objects.exists() and not StockHistory.objects.exists()


def test_missing_fields_never_overwrite_known_values():
    product = ProductFactory(price=Decimal("20.00"), rating=Decimal("4.5"), reviews_count=10, availability="in_stock")
    product_apply(product=product, extraction=reading())
    product.refresh_from_db()
    assert (product.price, product.rating, product.reviews_count, product.availability) == (
        Decimal("20.00"),
        Decimal("4.50"),
        10,
        "in_stock",
    )
    assert product.title


def test_a_stock_change_writes_a_stock_history_row():
    product = ProductFactory(availability="in_stock", stock=None)
    outcome = product_apply(product=product, extraction=reading(availability="low_stock", stock=3))
    assert outcome.stock_changed
    row = StockHistory.objects.get(product=product)
    assert (row.old_availability, row.new_availability, row.old_stock, row.new_stock) == (
        "in_stock",
        "low_stock",
        None,
        3,
    )


@pytest.mark.parametrize(
    "before, after, doubt",
    [
        ({"price": Decimal("20")}, {"price": Decimal("31"), "currency": "USD"}, "price moved"),
        ({"price": Decimal("20")}, {"price": Decimal("9"), "currency": "USD"}, "price moved"),
        ({"price": Decimal("20")}, {"price": Decimal("25"), "currency": "USD"}, None),
        ({"currency": "USD"}, {"price": Decimal("19.99"), "currency": "EUR"}, "currency changed"),
        ({"availability": "in_stock"}, {"availability": "out_of_stock"}, "out of stock"),
        ({"availability": "out_of_stock"}, {"availability": "in_stock"}, None),
    ],
)
def test_doubtful_readings_are_recognised(before, after, doubt):
    product = ProductFactory(**{"price": Decimal("20"), "currency": "USD", "availability": "in_stock", **before})
    found = reading_doubt(product, reading(**after))
    assert (found is None) if doubt is None else (doubt in found)


def test_a_held_reading_changes_nothing_but_is_kept_for_the_seller():
    product = ProductFactory(price=Decimal("20.00"))
    outcome = product_hold(product=product, extraction=reading(price=Decimal("2.00")), reason="price moved 90%")
    product.refresh_from_db()
    assert outcome.status == "held" and product.price == Decimal("20.00")
    held = HeldReading.objects.get(product=product)
    assert held.status == "open" and held.reading["price"] == "2.00"
    assert not PriceHistory.objects.exists()


def test_a_failure_keeps_known_values_and_counts():
    product = ProductFactory(price=Decimal("20.00"), availability="in_stock")
    product_record_failure(product=product, status="blocked", message="CAPTCHA page")
    product_record_failure(product=product, status="blocked", message="CAPTCHA page")
    product.refresh_from_db()
    assert product.failure_count == 2 and product.availability == "in_stock" and product.price == Decimal("20.00")
    assert not StockHistory.objects.exists()


def test_due_follows_the_most_demanding_tier_of_the_trackers():
    free, pro = UserFactory(tier="free"), UserFactory(tier="pro")
    two_hours_ago = NOW - datetime.timedelta(hours=2)
    shared = ProductFactory(last_scraped_at=two_hours_ago)
    free_only = ProductFactory(last_scraped_at=two_hours_ago)
    free.tracked_products.add(shared, free_only)
    pro.tracked_products.add(shared)
    assert set(products_due(NOW)) == {shared}


def test_never_scraped_products_are_due_and_untracked_archived_or_demo_ones_are_not():
    seller, demo = UserFactory(), UserFactory(is_demo=True)
    fresh = ProductFactory(last_scraped_at=None)
    archived = ProductFactory(last_scraped_at=None, is_archived=True)
    demo_only = ProductFactory(last_scraped_at=None)
    ProductFactory(last_scraped_at=None)  # nobody tracks it
    seller.tracked_products.add(fresh, archived)
    demo.tracked_products.add(demo_only)
    assert set(products_due(NOW)) == {fresh}


def test_due_asks_only_who_tracks_a_product_never_its_listings():
    tracked_and_listed = ListingFactory(product=ProductFactory(last_scraped_at=NOW - datetime.timedelta(days=2)))
    tracked_and_listed.user.tracked_products.add(tracked_and_listed.product)
    listed_only = ListingFactory(product=ProductFactory(last_scraped_at=None), status="active")
    due = set(products_due(NOW))
    assert tracked_and_listed.product in due and listed_only.product not in due


def test_the_catalog_services_know_nothing_of_listings():
    import catalog.readings
    import catalog.refreshing
    import catalog.services

    for module in (catalog.services, catalog.refreshing, catalog.readings):
        assert "marketplaces" not in inspect.getsource(module), module.__name__


def test_claimed_products_are_not_claimed_twice():
    seller = UserFactory()
    products = [ProductFactory(last_scraped_at=None) for _ in range(3)]
    seller.tracked_products.add(*products)
    first = products_claim(limit=2, now=NOW)
    second = products_claim(limit=5, now=NOW)
    assert len(first) == 2 and len(second) == 1
    assert not {p.pk for p in first} & {p.pk for p in second}


def test_tracking_respects_the_tier_limit(settings):
    settings.TIER_PRODUCT_LIMITS = {"free": 2, "pro": 2000, "enterprise": None}
    seller = UserFactory(tier="free")
    product_track(user=seller, product=ProductFactory())
    product_track(user=seller, product=ProductFactory())
    with pytest.raises(ProductAddError, match="at most 2 products"):
        product_track(user=seller, product=ProductFactory())
    assert seller.tracked_products.count() == 2
    assert AuditLog.objects.filter(owner=seller, action="tracked").count() == 2


def test_a_product_backing_off_waits_for_the_schedule_but_not_for_refresh_now():
    seller = UserFactory()
    product = ProductFactory(last_scraped_at=None, failure_count=2, retry_not_before=NOW + datetime.timedelta(hours=1))
    seller.tracked_products.add(product)
    assert product not in products_due(NOW)
    assert products_claim(limit=5, now=NOW) == []
    assert [p.pk for p in products_claim(limit=5, product_ids=[product.pk], now=NOW)] == [product.pk]


def test_a_written_product_whose_follow_up_is_pending_stays_claimed_until_it_is_done():
    from monitoring.cycle import product_follow_up

    seller = UserFactory()
    product = ProductFactory(last_scraped_at=None, price=Decimal("20.00"), currency="USD")
    unchanged = ProductFactory(last_scraped_at=None, price=Decimal("20.00"), currency="USD")
    seller.tracked_products.add(product, unchanged)
    claimed, same = sorted(
        products_claim(limit=5, product_ids=[product.pk, unchanged.pk], job_id=41), key=lambda p: p.pk
    )

    outcome = product_apply(product=claimed, extraction=reading(price=Decimal("24.00"), currency="USD"))
    product_apply(product=same, extraction=reading(price=Decimal("20.00"), currency="USD"))

    assert Product.objects.get(pk=unchanged.pk).refresh_claimed_until is None  # nothing left to do for it
    written = Product.objects.get(pk=product.pk)
    assert written.follow_pending and written.refresh_claimed_until is not None and written.refresh_status == "updated"
    Product.objects.filter(pk=product.pk).update(last_scraped_at=None)  # even were it due again
    assert products_claim(limit=5, job_id=42) == []  # another round never reads it while its listings follow

    product_follow_up(product=claimed, outcome=outcome)

    written.refresh_from_db()
    assert not written.follow_pending and written.refresh_claimed_until is None


@pytest.mark.django_db(transaction=True)
def test_workers_claiming_at_the_same_moment_never_share_a_product(supplier_families):
    """Four workers claim at once, again and again: on PostgreSQL a claim made by another worker
    while this one's statement runs must be seen on the rows themselves, not only in the subquery."""
    import threading

    from django.db import connection

    from conftest import skip_or_fail

    if connection.vendor != "postgresql":
        skip_or_fail("concurrent claims are checked on PostgreSQL (DATABASE_URL), where workers share one database")
    seller = UserFactory()
    products = [ProductFactory(last_scraped_at=None) for _ in range(60)]
    seller.tracked_products.add(*products)
    workers = 4

    def claim(start, claimed, errors):
        try:
            start.wait()
            claimed.extend(p.pk for p in products_claim(limit=10))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    for _ in range(15):
        Product.objects.update(refresh_claimed_until=None, refresh_job_id=None)
        start, claimed, errors = threading.Barrier(workers), [], []
        threads = [threading.Thread(target=claim, args=(start, claimed, errors)) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert len(claimed) == len(set(claimed)) == workers * 10
