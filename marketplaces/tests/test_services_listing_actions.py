"""The seller's own actions on a listing: pause, resume, end and the price lock, each sent and audited."""

from decimal import Decimal

import pytest

from marketplaces.models import ListingStatus
from marketplaces.services import (
    ListingActionError,
    listing_end,
    listing_pause,
    listing_resume,
    listing_set_price_lock,
)
from marketplaces.services.listings import PRICE_LOCK_RANGE, RESUME_BLOCK_REASONS, RESUME_BLOCKED_MESSAGE
from marketplaces.tests.doubles import (
    EbayDouble,
    audit_rows,
    bulk_request,
    ebay_error,
    isolated_cache,
    live_listing,
    supplier_product,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "listings")


@pytest.fixture
def product():
    return supplier_product(title="Steel water bottle 750ml", description="Keeps drinks cold.", stock=50)


@pytest.fixture
def ebay(api):
    return EbayDouble(api)


@pytest.fixture
def active(store, product):
    return live_listing(store, product, price=Decimal("30.99"), quantity_available=10)


def test_seller_pause_sets_quantity_zero_and_writes_who_did_it(ebay, active, request_from_seller):
    listing = listing_pause(active, acting_user=active.user, request=request_from_seller)

    assert ebay.bulk_bodies == [bulk_request(f"AM-{active.pk}", offer_id=f"9{active.pk}", quantity=0)]
    assert (listing.status, listing.status_reason) == ("paused", "manual_pause")
    [row] = audit_rows(listing)
    assert (row.action, row.user, row.owner, row.ip_address) == ("paused", active.user, active.user, "203.0.113.9")
    assert row.old_value == {"status": "active", "status_reason": ""}
    assert row.new_value == {"status": "paused", "status_reason": "manual_pause"}


def test_seller_resume_gives_back_the_quantity_the_stock_allows(ebay, active):
    active.status, active.status_reason, active.quantity_available = ListingStatus.PAUSED, "manual_pause", 0
    active.save()

    listing = listing_resume(active, acting_user=active.user)

    assert ebay.bulk_bodies == [bulk_request(f"AM-{active.pk}", offer_id=f"9{active.pk}", quantity=10)]
    assert (listing.status, listing.status_reason, listing.quantity_available) == ("active", "", 10)
    assert audit_rows(listing).get().action == "resumed"


def test_resume_is_refused_while_the_supplier_is_out_of_stock(ebay, active, product):
    active.status, active.status_reason = ListingStatus.PAUSED, "manual_pause"
    active.save()
    product.availability, product.stock = "out_of_stock", 0
    product.save()

    with pytest.raises(ListingActionError) as error:
        listing_resume(active, acting_user=active.user)

    assert error.value.message == RESUME_BLOCKED_MESSAGE.format(reason=RESUME_BLOCK_REASONS["out_of_stock"])
    assert ebay.bulk.call_count == 0


def test_seller_end_withdraws_the_offer(ebay, active):
    listing = listing_end(active, acting_user=active.user)

    assert ebay.withdraw.call_count == 1
    assert (listing.status, listing.status_reason) == ("ended", "manual_end")
    assert listing.ended_at is not None
    assert audit_rows(listing).get().action == "ended"


def test_a_marketplace_refusal_of_a_seller_action_is_shown(ebay, active):
    ebay.bulk_answers.append((400, ebay_error("The listing cannot be revised now.", error_id=25019)))
    with pytest.raises(ListingActionError) as error:
        listing_pause(active, acting_user=active.user)
    active.refresh_from_db()
    assert error.value.message == "The listing cannot be revised now."
    assert active.status == "active" and active.last_error == "The listing cannot be revised now."
    assert not audit_rows(active).exists()


@pytest.mark.parametrize("price", [Decimal("0"), Decimal("1000000.01")])
def test_a_price_lock_of_zero_or_an_absurd_price_is_refused_and_nothing_is_sent(ebay, active, price):
    with pytest.raises(ListingActionError) as error:
        listing_set_price_lock(active, locked=True, price=price, acting_user=active.user)

    assert error.value.message == PRICE_LOCK_RANGE
    assert ebay.bulk_bodies == []
    active.refresh_from_db()
    assert not active.price_locked and active.price == Decimal("30.99")


def test_locking_a_new_price_sends_it_and_unlocking_reprices(ebay, active):
    listing = listing_set_price_lock(active, locked=True, price=Decimal("34.50"), acting_user=active.user)

    assert ebay.bulk_bodies == [bulk_request(f"AM-{active.pk}", offer_id=f"9{active.pk}", price="34.50")]
    assert (listing.price, listing.price_locked) == (Decimal("34.50"), True)

    listing = listing_set_price_lock(listing, locked=False, acting_user=active.user)

    assert listing.price == Decimal("30.99") and not listing.price_locked
    assert ebay.bulk_bodies[1] == bulk_request(f"AM-{active.pk}", offer_id=f"9{active.pk}", price="30.99")
    assert [row.action for row in audit_rows(listing)] == ["price_locked", "price_unlocked", "repriced"]
