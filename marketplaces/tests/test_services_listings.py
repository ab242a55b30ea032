"""A listing's life: preview, create, publish (with the blocklist) and the seller's own actions."""

import json
from datetime import date
from decimal import Decimal

import pytest

from marketplaces.clients import Retryable
from marketplaces.models import BlocklistTerm, ExchangeRate
from marketplaces.pricing import listing_quote
from marketplaces.services import (
    ALREADY_LISTED_MESSAGE,
    ListingError,
    listing_create,
    listing_preview,
    listing_publish,
)
from marketplaces.services.listings import NOT_CONVERTIBLE_REASON, PRICE_LOCK_RANGE
from marketplaces.tests.doubles import (
    EBAY_INV,
    audit_rows,
    ebay_error,
    isolated_cache,
    supplier_product,
)
from marketplaces.tests.spec import spec_route
from monitoring.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "listings")


@pytest.fixture
def product():
    return supplier_product(title="Steel water bottle 750ml", description="Keeps drinks cold.", stock=50)


# --- Preview and create ---------------------------------------------------------------------


def test_preview_shows_price_fees_profit_margin_and_quantity(store, product):
    preview = listing_preview(product, store)

    quote = listing_quote(cost=Decimal("20.00"), store=store)
    assert (preview.price, preview.fees, preview.profit, preview.margin_percent) == (
        quote.price,
        quote.fees,
        quote.profit,
        quote.margin_percent,
    )
    assert preview.price == Decimal("30.99") and preview.quantity == 10  # 50 − 2 buffer, capped at 10
    assert (preview.cost, preview.currency, preview.below_min_margin, preview.blocked_by) == (
        Decimal("20.00"),
        "USD",
        False,
        None,
    )


def test_preview_of_a_price_the_seller_typed_shows_its_margin(store, product):
    preview = listing_preview(product, store, price=Decimal("22.00"))
    assert preview.price == Decimal("22.00")
    assert preview.below_min_margin and preview.margin_percent < store.min_margin_percent
    assert "under the store minimum" in preview.message


def test_preview_says_when_the_cost_cannot_be_converted(store, product):
    product.currency = "GBP"
    product.save()
    preview = listing_preview(product, store)
    assert preview.price is None and not preview.can_price
    assert preview.message == NOT_CONVERTIBLE_REASON.format(source="GBP", target="USD")

    ExchangeRate.objects.create(currency="GBP", per_eur=Decimal("0.85"), as_of=date(2026, 3, 2))
    ExchangeRate.objects.create(currency="USD", per_eur=Decimal("1.10"), as_of=date(2026, 3, 2))
    assert listing_preview(product, store).cost == Decimal("25.88")  # 20 × 1.10 / 0.85


def test_create_makes_a_pending_listing_with_its_audit_row(store, product, request_from_seller):
    listing = listing_create(
        user=store.user, product=product, store=store, acting_user=store.user, request=request_from_seller
    )

    assert (listing.status, listing.price, listing.quantity_available) == ("pending", Decimal("30.99"), 10)
    assert listing.title == product.title and listing.external_listing_id is None
    [row] = audit_rows(listing)
    assert (row.action, row.user, row.owner, row.ip_address, row.user_agent) == (
        "created",
        store.user,
        store.user,
        "203.0.113.9",
        "Firefox/140",
    )


def test_a_product_is_listed_once_per_store(store, product):
    listing_create(user=store.user, product=product, store=store, acting_user=store.user)
    with pytest.raises(ListingError) as error:
        listing_create(user=store.user, product=product, store=store, acting_user=store.user)
    assert error.value.message == ALREADY_LISTED_MESSAGE.format(store=store)


def test_a_seller_cannot_list_on_someone_elses_store(store, product, other_user):
    with pytest.raises(ListingError):
        listing_create(user=other_user, product=product, store=store, acting_user=other_user)


def test_create_with_the_sellers_own_price_and_lock(store, product):
    listing = listing_create(
        user=store.user,
        product=product,
        store=store,
        price=Decimal("27.50"),
        price_locked=True,
        quantity=3,
        acting_user=store.user,
    )
    assert (listing.price, listing.price_locked, listing.quantity_available) == (Decimal("27.50"), True, 3)


def test_a_listing_locked_at_a_price_of_zero_is_refused(store, product):
    with pytest.raises(ListingError) as error:
        listing_create(
            user=store.user, product=product, store=store, price=Decimal("0"), price_locked=True, acting_user=store.user
        )

    assert error.value.message == PRICE_LOCK_RANGE
    assert not store.listings.exists()


# --- Publish --------------------------------------------------------------------------------


@pytest.fixture
def pending(store, product):
    return listing_create(user=store.user, product=product, store=store, acting_user=store.user)


def test_publish_sends_the_product_and_makes_the_listing_active(api, pending, product):
    sku = f"AM-{pending.pk}"
    item = spec_route(api, "PUT", f"{EBAY_INV}/inventory_item/{sku}", status=204)
    spec_route(api, "GET", f"{EBAY_INV}/offer", status=404, json=ebay_error())
    create = spec_route(api, "POST", f"{EBAY_INV}/offer", status=201, json={"offerId": "9876", "warnings": []})
    spec_route(api, "POST", f"{EBAY_INV}/offer/9876/publish", status=200, json={"listingId": "110551990"})

    listing = listing_publish(pending, acting_user=pending.user)

    assert (listing.status, listing.status_reason, listing.external_listing_id) == ("active", "", "110551990")
    assert listing.last_pushed_at is not None and listing.last_error == ""
    body = json.loads(item.calls[0].request.content)
    assert body["product"]["title"] == "Steel water bottle 750ml"
    assert body["product"]["description"] == "Keeps drinks cold."
    assert body["product"]["imageUrls"] == product.images
    assert body["availability"]["shipToLocationAvailability"] == {"quantity": 10}
    offer = json.loads(create.calls[0].request.content)
    assert offer["pricingSummary"]["price"] == {"value": "30.99", "currency": "USD"}
    assert offer["categoryId"] == "20625" and offer["merchantLocationKey"] == "WH1"
    assert [row.action for row in audit_rows(listing)] == ["created", "published"]


def test_the_listings_own_settings_override_the_store_defaults(api, pending):
    pending.publish_settings = {"category_id": "11450"}
    pending.save()
    spec_route(api, "PUT", f"{EBAY_INV}/inventory_item/AM-{pending.pk}", status=204)
    spec_route(api, "GET", f"{EBAY_INV}/offer", status=404, json=ebay_error())
    create = spec_route(api, "POST", f"{EBAY_INV}/offer", status=201, json={"offerId": "9876", "warnings": []})
    spec_route(api, "POST", f"{EBAY_INV}/offer/9876/publish", status=200, json={"listingId": "110551990"})

    listing_publish(pending)

    offer = json.loads(create.calls[0].request.content)
    assert offer["categoryId"] == "11450" and offer["merchantLocationKey"] == "WH1"


def test_a_rejected_publish_stays_pending_with_the_marketplaces_words(api, pending):
    refusal = ebay_error("The item title is too long.", error_id=25002)
    spec_route(api, "PUT", f"{EBAY_INV}/inventory_item/AM-{pending.pk}", status=400, json=refusal)

    listing = listing_publish(pending)
    listing_publish(listing)  # tried again: still one audit row for the same refusal

    listing.refresh_from_db()
    assert (listing.status, listing.status_reason) == ("pending", "publish_failed")
    assert listing.last_error == "The item title is too long."
    assert [row.action for row in audit_rows(listing)] == ["created", "publish_failed"]


def test_publish_without_the_store_defaults_says_which_are_missing(api, pending, store):
    store.publish_defaults = {}
    store.save()
    listing = listing_publish(pending)
    assert listing.status_reason == "publish_failed"
    assert listing.last_error.startswith("eBay needs these store defaults before publishing: category_id")


def test_a_refused_authorisation_flags_the_store(api, pending, store):
    store.oauth_refresh_token = None
    store.save()
    spec_route(
        api,
        "PUT",
        f"{EBAY_INV}/inventory_item/AM-{pending.pk}",
        status=401,
        json=ebay_error("Invalid token", error_id=1001),
    )

    listing = listing_publish(pending)

    store.refresh_from_db()
    assert store.needs_reauth and store.last_error
    assert (listing.status, listing.status_reason) == ("pending", "publish_failed")
    [alert] = Alert.objects.filter(user=store.user, type="store_auth")
    assert (alert.subject, alert.severity) == (f"store:{store.pk}", "critical")


def test_a_marketplace_asking_to_wait_is_raised_for_the_task_to_retry(api, pending):
    spec_route(
        api,
        "PUT",
        f"{EBAY_INV}/inventory_item/AM-{pending.pk}",
        status=500,
        json=ebay_error("Internal error", error_id=25001, category="APPLICATION"),
    )
    with pytest.raises(Retryable):
        listing_publish(pending)
    pending.refresh_from_db()
    assert (pending.status, pending.status_reason) == ("pending", "")


@pytest.mark.parametrize(
    "owner, term, text, blocked",
    [
        ("global", "Nike", "NIKE running shoes", True),
        ("seller", "acme", "Acme water bottle", True),
        ("global", "Nike", "Nikeland water bottle", False),  # whole words only
        ("other", "bottle", "Steel water bottle 750ml", False),  # another seller's term
    ],
)
def test_a_blocklisted_word_stops_the_publish_and_is_shown(api, pending, other_user, owner, term, text, blocked):
    user = {"global": None, "seller": pending.user, "other": other_user}[owner]
    BlocklistTerm.objects.create(user=user, term=term)
    pending.title = text
    pending.save()
    spec_route(api, "PUT", f"{EBAY_INV}/inventory_item/AM-{pending.pk}", status=400, json=ebay_error("stop here"))

    listing = listing_publish(pending)

    if blocked:
        assert (listing.status, listing.status_reason) == ("pending", "policy_blocked")
        assert listing.last_error == f"Blocked by the word '{term}'"
        assert not api.calls
    else:
        assert listing.status_reason == "publish_failed" and listing.last_error == "stop here"


def test_the_product_description_is_checked_too(api, pending, product):
    BlocklistTerm.objects.create(user=None, term="replica")
    product.description = "A replica of the famous flask."
    product.save()
    assert listing_publish(pending).last_error == "Blocked by the word 'replica'"
