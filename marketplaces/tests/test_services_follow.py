"""Listings follow their supplier: repricing, pauses, holds, currencies and the revision cap, against
a spec-checked eBay (and Shopify) double."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import respx
from django.utils import timezone

from catalog.services import RefreshOutcome
from marketplaces.models import AutomationSwitch, ExchangeRate, ListingStatus
from marketplaces.pricing import listing_quote
from marketplaces.services import listings_follow, store_set_automation_paused
from marketplaces.services.follow import CURRENCY_ALERT_TYPE, DEMO_NOT_SENT, NOT_CONVERTED_MESSAGE
from marketplaces.services.pushing import (
    HELD_GLOBAL_SWITCH,
    HELD_NEEDS_RECONNECT,
    HELD_STORE_PAUSED,
    today,
)
from marketplaces.tests.doubles import (
    EbayDouble,
    ShopifyDouble,
    bulk_request,
    ebay_error,
    ebay_store,
    isolated_cache,
    live_listing,
    supplier_product,
)
from marketplaces.tests.factories import StoreAccountFactory
from monitoring.models import Alert, AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "follow")


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def ebay(api):
    return EbayDouble(api)


@pytest.fixture
def store():
    return ebay_store()


@pytest.fixture
def product():
    return supplier_product(price=Decimal("20.00"), stock=50)


@pytest.fixture
def listing(store, product):
    # What our rules gave at a supplier price of 20.00 with 50 in stock.
    return live_listing(store, product, price=Decimal("30.99"), quantity_available=10)


def audit_rows(listing):
    return AuditLog.objects.filter(resource_type="listing", resource_id=str(listing.pk)).order_by("timestamp", "pk")


def price_rise(product, new_price):
    outcome = RefreshOutcome(
        product_id=product.pk,
        status="updated",
        price_changed=True,
        old_price=product.price,
        new_price=new_price,
        currency=product.currency,
    )
    product.price = new_price
    product.save(update_fields=["price"])
    return outcome


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


@pytest.mark.parametrize("switch", ["store", "global"])
def test_paused_automation_holds_the_change_without_sending_it(ebay, listing, product, store, switch):
    if switch == "store":
        store.automation_paused = True
        store.save()
        reason = HELD_STORE_PAUSED
    else:
        AutomationSwitch.objects.update_or_create(pk=1, defaults={"pushes_paused": True})
        reason = HELD_GLOBAL_SWITCH
    outcome = price_rise(product, Decimal("24.00"))

    [change] = listings_follow(product=product, outcome=outcome)
    listings_follow(product=product, outcome=outcome)

    assert ebay.bulk.call_count == 0 and ebay.offer_lookups.call_count == 0
    listing.refresh_from_db()
    assert listing.price == Decimal("30.99")
    assert listing.pending_changes["price"] == "36.99"
    assert listing.pending_changes["reason"] == reason
    assert (change.action, change.new_price, change.pushed, change.held_reason) == (
        "held",
        Decimal("36.99"),
        False,
        reason,
    )
    assert [row.action for row in audit_rows(listing)] == ["held"]


def test_resuming_the_store_automation_sends_what_was_held(
    ebay, listing, product, store, django_capture_on_commit_callbacks
):
    store.automation_paused = True
    store.save()
    listings_follow(product=product, outcome=price_rise(product, Decimal("24.00")))
    assert ebay.bulk.call_count == 0

    with django_capture_on_commit_callbacks(execute=True):
        store_set_automation_paused(store=store, paused=False, acting_user=store.user)

    assert ebay.bulk_bodies == [bulk_request(f"AM-{listing.pk}", offer_id=f"9{listing.pk}", price="36.99")]
    listing.refresh_from_db()
    assert (listing.price, listing.pending_changes) == (Decimal("36.99"), {})


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


def test_the_daily_revision_cap_holds_changes_until_tomorrow(ebay, listing, product):
    listing.revisions_on, listing.revisions_today = today(), 250
    listing.save()

    [change] = listings_follow(product=product, outcome=price_rise(product, Decimal("24.00")))

    assert ebay.bulk.call_count == 0
    assert change.action == "held" and "250 changes a day" in change.held_reason
    listing.refresh_from_db()
    assert listing.pending_changes["price"] == "36.99"

    listing.revisions_on = today() - timedelta(days=1)  # a new day
    listing.save()
    [change] = listings_follow(product=product)
    assert change.action == "repriced" and ebay.bulk.call_count == 1
    listing.refresh_from_db()
    assert (listing.revisions_on, listing.revisions_today, listing.pending_changes) == (today(), 1, {})


def test_the_last_revision_of_the_day_is_still_sent(ebay, listing, product):
    listing.revisions_on, listing.revisions_today = today(), 249
    listing.save()

    listings_follow(product=product, outcome=price_rise(product, Decimal("24.00")))

    listing.refresh_from_db()
    assert ebay.bulk.call_count == 1 and listing.revisions_today == 250


def test_a_demo_sellers_store_is_computed_but_never_sent(ebay, product):
    store = ebay_store(user=StoreAccountFactory().user)
    store.user.is_demo = True
    store.user.save()
    listing = live_listing(store, product, price=Decimal("30.99"), quantity_available=10)

    [change] = listings_follow(product=product, outcome=price_rise(product, Decimal("24.00")))

    assert ebay.bulk.call_count == 0
    assert (change.action, change.pushed) == ("repriced", False)
    assert DEMO_NOT_SENT in change.message
    listing.refresh_from_db()
    assert listing.price == Decimal("36.99")


def test_a_refused_token_flags_the_store_and_holds_the_change(ebay, listing, product, store):
    store.oauth_refresh_token = None
    store.save()
    ebay.bulk_answers.append((401, ebay_error("Invalid access token", error_id=1001)))

    [change] = listings_follow(product=product, outcome=price_rise(product, Decimal("24.00")))

    store.refresh_from_db()
    listing.refresh_from_db()
    assert store.needs_reauth
    assert Alert.objects.filter(type="store_auth", subject=f"store:{store.pk}", severity="critical").exists()
    assert (change.action, change.held_reason) == ("held", HELD_NEEDS_RECONNECT)
    assert listing.price == Decimal("30.99") and listing.pending_changes["reason"] == HELD_NEEDS_RECONNECT


def test_a_refusal_is_kept_for_the_seller_and_the_change_tried_again(ebay, listing, product):
    refusal = {
        "responses": [
            {
                "offerId": f"9{listing.pk}",
                "sku": f"AM-{listing.pk}",
                "statusCode": 400,
                "errors": [
                    {"errorId": 25007, "domain": "API_INVENTORY", "category": "REQUEST", "message": "Price too high."}
                ],
            }
        ]
    }
    ebay.bulk_answers.append((207, refusal))

    [change] = listings_follow(product=product, outcome=price_rise(product, Decimal("24.00")))

    listing.refresh_from_db()
    assert change.action == "held" and listing.last_error == "Price too high."
    assert listing.price == Decimal("30.99")
    [change] = listings_follow(product=product)
    assert change.action == "repriced" and ebay.bulk.call_count == 2


def test_a_marketplace_asking_to_wait_gets_the_change_again_from_a_task(
    ebay, listing, product, django_capture_on_commit_callbacks
):
    too_many = ebay_error("Too many requests.", error_id=2001)
    ebay.bulk_answers.append((429, too_many, {"Retry-After": "1"}))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [change] = listings_follow(product=product, outcome=price_rise(product, Decimal("24.00")))

    assert change.action == "held" and "asked us to wait" in change.held_reason
    assert len(callbacks) == 1  # the retry, run eagerly here
    listing.refresh_from_db()
    assert listing.price == Decimal("36.99") and listing.pending_changes == {}
    assert ebay.bulk.call_count == 2


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
