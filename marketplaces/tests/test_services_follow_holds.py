"""Listings following their supplier when a change cannot go out now: automation switches, the daily
revision cap, demo stores, refused tokens, refusals and a marketplace asking us to wait."""

from datetime import timedelta
from decimal import Decimal

import pytest

from marketplaces.models import AutomationSwitch
from marketplaces.services import listings_follow, store_set_automation_paused
from marketplaces.services.follow import DEMO_RECORDED
from marketplaces.services.pushing import (
    HELD_GLOBAL_SWITCH,
    HELD_NEEDS_RECONNECT,
    HELD_STORE_PAUSED,
    today,
)
from marketplaces.tests.doubles import (
    audit_rows,
    bulk_request,
    ebay_error,
    ebay_store,
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


def test_a_demo_sellers_store_pushes_to_the_recording_adapter_never_to_ebay(ebay, product):
    store = ebay_store(user=StoreAccountFactory().user)
    store.user.is_demo = True
    store.user.save()
    listing = live_listing(store, product, price=Decimal("30.99"), quantity_available=10)

    [change] = listings_follow(product=product, outcome=price_rise(product, Decimal("24.00")))

    assert ebay.bulk.call_count == 0
    assert (change.action, change.pushed) == ("repriced", True)
    assert DEMO_RECORDED in change.message
    listing.refresh_from_db()
    assert listing.price == Decimal("36.99")
    [push] = listing.recorded_pushes.all()
    assert (push.operation, push.price, push.sku) == ("update", Decimal("36.99"), f"AM-{listing.pk}")


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
