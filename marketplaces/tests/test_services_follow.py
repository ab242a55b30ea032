"""Listings follow their supplier: repricing, pauses, holds, currencies and the revision cap, against
a spec-checked eBay (and Shopify) double."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplaces.models import ExchangeRate, ListingStatus
from marketplaces.pricing import listing_quote
from marketplaces.services import listings_follow
from marketplaces.services.follow import CURRENCY_ALERT_TYPE, NOT_CONVERTED_MESSAGE
from marketplaces.tests.doubles import (
    ShopifyDouble,
    audit_rows,
    bulk_request,
    isolated_cache,
    live_listing,
    price_rise,
)
from marketplaces.tests.factories import StoreAccountFactory
from monitoring.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "follow")


def test_supplier_price_rise_reprices_the_listing_at_ebay_without_seller_action(ebay, listing, product):
    outcome = price_rise(product, Decimal("24.00"))

    [change] = listings_follow(product=product, outcome=outcome)

    expected = listing_quote(cost=Decimal("24.00"), store=listing.store_account).price
    assert expected == Decimal("36.99")
    sku = f"AM-{listing.pk}"
    assert ebay.bulk_bodies == [bulk_request(sku, offer_id=f"9{listing.pk}", price="36.99")]
    listing.refresh_from_db()
    assert (listing.price, listing.status, listing.pending_changes) == (expected, ListingStatus.ACTIVE, {})
    assert listing.last_pushed_at is not None and listing.revisions_today == 1
    assert (change.action, change.old_price, change.new_price, change.pushed) == (
        "repriced",
        Decimal("30.99"),
        expected,
        True,
    )
    [row] = audit_rows(listing)
    assert (row.action, row.user, row.owner) == ("repriced", None, listing.user)
    assert row.notes == "supplier price 20.00 → 24.00 USD: repriced by markup rule (30.99 → 36.99 USD)"
    assert row.old_value["price"] == "30.99" and row.new_value["price"] == "36.99"


def test_following_twice_with_the_same_product_sends_and_records_nothing_more(ebay, listing, product):
    outcome = price_rise(product, Decimal("24.00"))
    listings_follow(product=product, outcome=outcome)

    [change] = listings_follow(product=product, outcome=outcome)

    assert change.action == "unchanged" and not change.pushed
    assert ebay.bulk.call_count == 1
    assert audit_rows(listing).count() == 1


def test_out_of_stock_pauses_with_quantity_zero_and_back_in_stock_resumes(ebay, listing, product):
    product.stock, product.availability = 0, "out_of_stock"
    product.save()

    [paused] = listings_follow(product=product)

    sku, offer_id = f"AM-{listing.pk}", f"9{listing.pk}"
    assert ebay.bulk_bodies == [bulk_request(sku, offer_id=offer_id, quantity=0)]
    listing.refresh_from_db()
    assert (listing.status, listing.status_reason, listing.quantity_available) == ("paused", "out_of_stock", 0)
    assert (paused.action, paused.status_reason, paused.pushed) == ("paused", "out_of_stock", True)

    product.stock, product.availability = 30, "in_stock"
    product.save()
    [resumed] = listings_follow(product=product)

    assert ebay.bulk_bodies[1] == bulk_request(sku, offer_id=offer_id, quantity=10)
    listing.refresh_from_db()
    assert (listing.status, listing.status_reason, listing.quantity_available) == ("active", "", 10)
    assert resumed.action == "resumed"
    assert [row.action for row in audit_rows(listing)] == ["paused", "resumed"]


def test_stock_under_the_store_minimum_pauses_as_low_stock(ebay, listing, product, store):
    store.min_supplier_stock = 20
    store.save()
    product.stock = 12
    product.save()

    [change] = listings_follow(product=product)

    listing.refresh_from_db()
    assert (listing.status, listing.status_reason) == ("paused", "low_stock")
    assert ebay.bulk_bodies[0]["requests"][0]["shipToLocationAvailability"] == {"quantity": 0}
    assert "under the store minimum 20" in change.rule


def test_a_listing_the_seller_paused_stays_paused(ebay, listing, product):
    listing.status, listing.status_reason = ListingStatus.PAUSED, "manual_pause"
    listing.save()
    product.stock = 30
    product.save()

    [change] = listings_follow(product=product)

    listing.refresh_from_db()
    assert (listing.status, listing.status_reason) == ("paused", "manual_pause")
    assert change.new_status == "paused"
    assert ebay.bulk.call_count == 0  # the quantity waits here until the seller resumes

    price_rise(product, Decimal("24.00"))
    listings_follow(product=product)
    # The new price goes out, the quantity stays 0 at eBay: nothing can be bought.
    assert ebay.bulk_bodies == [bulk_request(f"AM-{listing.pk}", offer_id=f"9{listing.pk}", price="36.99")]
    listing.refresh_from_db()
    assert listing.status_reason == "manual_pause"


def test_margin_under_the_minimum_pauses_when_the_store_says_pause(ebay, listing, product, store):
    store.min_margin_percent = Decimal("25.00")
    store.save()

    [change] = listings_follow(product=product)

    listing.refresh_from_db()
    assert (listing.status, listing.status_reason) == ("paused", "low_margin")
    assert ebay.bulk_bodies == [bulk_request(f"AM-{listing.pk}", offer_id=f"9{listing.pk}", quantity=0)]
    assert change.margin_percent < Decimal("25") and change.below_min_margin
    assert change.rule.startswith(f"margin {change.margin_percent}% under the store minimum 25.00%: paused")


def test_margin_under_the_minimum_keeps_selling_when_the_store_alerts(ebay, listing, product, store):
    store.min_margin_percent = Decimal("25.00")
    store.low_margin_action = "alert"
    store.save()

    [change] = listings_follow(product=product)

    listing.refresh_from_db()
    assert listing.status == "active"
    assert ebay.bulk.call_count == 0
    assert change.below_min_margin and change.new_status == "active"
    assert "kept on sale (the store alerts instead of pausing)" in change.message


def test_a_locked_price_is_not_repriced(ebay, listing, product):
    listing.price_locked = True
    listing.save()
    outcome = price_rise(product, Decimal("21.00"))

    [change] = listings_follow(product=product, outcome=outcome)

    listing.refresh_from_db()
    assert listing.price == Decimal("30.99")
    assert ebay.bulk.call_count == 0
    assert change.action == "unchanged"
    # The margin is that of the locked price at the new cost.
    assert change.margin_percent == Decimal("18.01")  # (30.99 − 4.41 fees − 21.00) / 30.99
    assert "locked by the seller at 30.99 (the markup rule gives 31.99)" in change.message


def test_a_locked_price_under_the_minimum_margin_pauses(ebay, listing, product):
    listing.price_locked = True
    listing.save()
    price_rise(product, Decimal("24.00"))

    [change] = listings_follow(product=product)

    listing.refresh_from_db()
    assert (listing.price, listing.status, listing.status_reason) == (Decimal("30.99"), "paused", "low_margin")
    assert ebay.bulk_bodies == [bulk_request(f"AM-{listing.pk}", offer_id=f"9{listing.pk}", quantity=0)]
    assert change.new_price == Decimal("30.99")


def test_supplier_price_in_another_currency_is_converted_with_the_kept_rates(ebay, listing, product):
    ExchangeRate.objects.create(currency="USD", per_eur=Decimal("1.100000"), as_of=date(2026, 3, 2))
    product.currency = "EUR"
    product.save()

    [change] = listings_follow(product=product)

    # 20.00 EUR × 1.10 = 22.00 USD of cost.
    expected = listing_quote(cost=Decimal("22.00"), store=listing.store_account).price
    assert change.new_price == expected == Decimal("33.99")
    assert ebay.bulk_bodies == [bulk_request(f"AM-{listing.pk}", offer_id=f"9{listing.pk}", price="33.99")]


def test_a_cost_that_cannot_be_converted_is_not_repriced_and_the_seller_is_told(ebay, listing, product):
    product.currency = "JPY"
    product.price = Decimal("3000")
    product.save()

    [change] = listings_follow(product=product)
    listings_follow(product=product)

    assert change.action == "not_converted" and not change.pushed
    assert ebay.bulk.call_count == 0
    listing.refresh_from_db()
    message = NOT_CONVERTED_MESSAGE.format(source="JPY", target="USD")
    assert listing.price == Decimal("30.99") and listing.last_error == message
    [alert] = Alert.objects.filter(user=listing.user, type=CURRENCY_ALERT_TYPE, subject=f"listing:{listing.pk}")
    assert alert.severity == "warning" and alert.cleared_at is None and message in alert.message

    ExchangeRate.objects.create(currency="JPY", per_eur=Decimal("160"), as_of=date(2026, 3, 2))
    ExchangeRate.objects.create(currency="USD", per_eur=Decimal("1.10"), as_of=date(2026, 3, 2))
    [change] = listings_follow(product=product)

    assert change.action == "repriced" and ebay.bulk.call_count == 1
    listing.refresh_from_db()
    alert.refresh_from_db()
    assert listing.last_error == "" and alert.cleared_at is not None


def test_a_pending_listing_is_repriced_here_only(ebay, store, product):
    listing = live_listing(store, product, price=Decimal("30.99"), status="pending", external_listing_id=None)

    [change] = listings_follow(product=product, outcome=price_rise(product, Decimal("24.00")))

    assert (change.action, change.pushed, change.new_status) == ("repriced", False, "pending")
    assert ebay.bulk.call_count == 0
    listing.refresh_from_db()
    assert listing.price == Decimal("36.99")


def test_shopify_pause_is_a_draft_product(api, product):
    store = StoreAccountFactory(marketplace="shopify", shop_domain="demo-store.myshopify.com")
    listing = live_listing(
        store, product, price=Decimal("30.99"), quantity_available=10, external_listing_id="gid://shopify/Product/1"
    )
    shop = ShopifyDouble(api)
    shop.answer(
        "ProductUpdateStatus",
        lambda v: {"productUpdate": {"product": {"id": v["product"]["id"], "status": "DRAFT"}, "userErrors": []}},
    )
    product.availability, product.stock = "out_of_stock", 0
    product.save()

    [change] = listings_follow(product=product)

    assert shop.calls == [("ProductUpdateStatus", {"product": {"id": "gid://shopify/Product/1", "status": "DRAFT"}})]
    listing.refresh_from_db()
    assert (listing.status, listing.status_reason, change.pushed) == ("paused", "out_of_stock", True)


def test_only_live_listings_follow(ebay, store, product):
    ended = live_listing(store, product, status="ended", ended_at=timezone.now())

    assert listings_follow(product=product, outcome=price_rise(product, Decimal("24.00"))) == []
    ended.refresh_from_db()
    assert ended.price == Decimal("29.99") and ebay.bulk.call_count == 0
