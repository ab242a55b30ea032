"""The listings page (filters, margin, sorting, inline and bulk actions), the stores page, and
that every store and listing URL is the seller's own."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import respx
from django.urls import reverse
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from marketplaces.models import ExchangeRate, Listing
from marketplaces.services.listings import RESUME_BLOCK_REASONS, RESUME_BLOCKED_MESSAGE
from marketplaces.tests.doubles import (
    EBAY_INV,
    EbayDouble,
    ebay_error,
    ebay_store,
    isolated_cache,
    live_listing,
    supplier_product,
)
from marketplaces.tests.factories import ListingFactory, MarketplaceDataFactory, StoreAccountFactory
from marketplaces.tests.spec import spec_route
from monitoring.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "views")


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def store(user):
    return StoreAccountFactory(user=user, account_name="my-ebay-shop")


def listed_ids(response):
    return [listing.pk for listing in response.context["page_obj"].object_list]


# --- The list --------------------------------------------------------------------------------


def test_listing_list_shows_only_the_sellers_listings(seller_client, store, other_user):
    ListingFactory(store_account=store, title="Blue kettle listing")
    ListingFactory(store_account=StoreAccountFactory(user=other_user), title="Rival listing")

    page = seller_client.get(reverse("marketplaces:listing_list")).content.decode()

    assert "Blue kettle listing" in page
    assert "Rival listing" not in page


def test_listing_list_filters_by_status_and_keeps_the_filter_in_pagination(seller_client, store):
    ListingFactory.create_batch(26, store_account=store, status="paused")
    ListingFactory(store_account=store, status="active", title="The active one")

    response = seller_client.get(reverse("marketplaces:listing_list"), {"status": "paused"})

    page_obj = response.context["page_obj"]
    assert page_obj.paginator.count == 26
    assert {listing.status for listing in page_obj.object_list} == {"paused"}
    assert "?status=paused&amp;page=2" in response.content.decode()


def test_listing_list_ignores_another_sellers_store_in_the_filter(seller_client, store, other_user):
    ListingFactory(store_account=store)
    rival_store = StoreAccountFactory(user=other_user)
    ListingFactory(store_account=rival_store)

    response = seller_client.get(reverse("marketplaces:listing_list"), {"store": rival_store.pk})

    assert [listing.user_id for listing in response.context["page_obj"].object_list] == [store.user_id]


def test_listing_list_filters_by_store_and_reason(seller_client, user, store):
    other_store = StoreAccountFactory(user=user, marketplace="etsy")
    low = ListingFactory(store_account=store, status="paused", status_reason="low_margin")
    ListingFactory(store_account=store, status="paused", status_reason="out_of_stock")
    on_etsy = ListingFactory(store_account=other_store)

    assert listed_ids(seller_client.get(reverse("marketplaces:listing_list"), {"store": other_store.pk})) == [
        on_etsy.pk
    ]
    assert listed_ids(seller_client.get(reverse("marketplaces:listing_list"), {"status_reason": "low_margin"})) == [
        low.pk
    ]


@pytest.fixture
def margins(user):
    """Listings on a USD store (fees 13.25% + 0.30, minimum margin 10%) whose supplier costs 20."""
    store = StoreAccountFactory(user=user, currency="USD", min_margin_percent=Decimal("10.00"))
    ExchangeRate.objects.create(currency="USD", per_eur=Decimal("1.10"), as_of=date(2026, 3, 2))

    def make(listing_price, **product):
        values = {"price": Decimal("20.00"), "currency": "USD", **product}
        return ListingFactory(store_account=store, price=Decimal(listing_price), product=ProductFactory(**values))

    return {
        "ok": make("30.99"),  # fees 4.41, profit 6.58, margin 21.23%
        "negative": make("22.00"),  # fees 3.22, profit −1.22
        "thin": make("24.00"),  # fees 3.48, profit 0.52, margin 2.2%
        "euro": make("40.00", currency="EUR"),  # cost 22.00 USD, fees 5.60, profit 12.40, margin 31%
        "unknown": make("30.00", price=None),
        "no_rate": make("30.00", currency="GBP"),
    }


@pytest.mark.parametrize(
    "margin, expected",
    [("ok", {"ok", "euro"}), ("below_minimum", {"negative", "thin"}), ("negative", {"negative"})],
)
def test_margin_filter_uses_the_current_supplier_cost(seller_client, margins, margin, expected):
    response = seller_client.get(reverse("marketplaces:listing_list"), {"margin": margin})

    assert set(listed_ids(response)) == {margins[name].pk for name in expected}


def test_margin_is_shown_and_sortable_with_unknown_margins_last(seller_client, margins):
    response = seller_client.get(reverse("marketplaces:listing_list"), {"ordering": "margin_percent"})

    ids = listed_ids(response)
    assert ids[:4] == [margins[name].pk for name in ("negative", "thin", "ok", "euro")]
    assert set(ids[4:]) == {margins["unknown"].pk, margins["no_rate"].pk}
    shown = {listing.pk: listing.margin_percent for listing in response.context["page_obj"].object_list}
    assert shown[margins["ok"].pk] == Decimal("21.23")  # (30.99 − 4.41 fees − 20) / 30.99
    assert shown[margins["euro"].pk] == Decimal("31.00")  # (40 − 5.60 − 22) / 40
    assert ">21.23%<" in response.content.decode()
    descending = listed_ids(seller_client.get(reverse("marketplaces:listing_list"), {"ordering": "-margin_percent"}))
    assert descending[:4] == [margins[name].pk for name in ("euro", "ok", "thin", "negative")]


def test_rows_show_held_changes_and_the_last_refusal(seller_client, store):
    ListingFactory(
        store_account=store,
        pending_changes={"price": "31.99", "reason": "Held: automation is paused for this store", "rule": "x"},
        last_error="The item title is too long.",
    )
    page = seller_client.get(reverse("marketplaces:listing_list")).content.decode()
    assert "Held: price → 31.99" in page and "automation is paused" in page
    assert "The item title is too long." in page


def test_listing_list_htmx_gets_only_the_table(seller_client, store):
    ListingFactory(store_account=store, title="Blue kettle listing")

    response = seller_client.get(reverse("marketplaces:listing_list"), headers={"HX-Request": "true"})

    page = response.content.decode()
    assert "<html" not in page
    assert page.lstrip().startswith('<div id="listing-table"')
    assert "Blue kettle listing" in page


def test_listing_list_empty_state(seller_client):
    page = seller_client.get(reverse("marketplaces:listing_list")).content.decode()

    assert "You have no listings yet." in page


# --- Inline actions --------------------------------------------------------------------------


@pytest.fixture
def ebay(api):
    return EbayDouble(api)


@pytest.fixture
def live(user, ebay):
    store = ebay_store(user=user)
    return live_listing(store, supplier_product(), price=Decimal("30.99"), quantity_available=10)


def test_inline_pause_with_htmx_returns_the_row(seller_client, live, ebay):
    response = seller_client.post(reverse("marketplaces:listing_pause", args=[live.pk]), headers={"HX-Request": "true"})

    page = response.content.decode()
    assert page.lstrip().startswith(f'<tr id="listing-{live.pk}"') and "<html" not in page
    assert "Paused" in page and 'class="row-message row-done' in page
    live.refresh_from_db()
    assert (live.status, live.status_reason) == ("paused", "manual_pause")
    assert ebay.bulk_bodies[0]["requests"][0]["shipToLocationAvailability"] == {"quantity": 0}


def test_inline_pause_without_htmx_goes_back(seller_client, live):
    back = reverse("marketplaces:listing_list") + "?status=active"
    response = seller_client.post(reverse("marketplaces:listing_pause", args=[live.pk]), {"next": back})
    assert response.status_code == 302 and response.url == back
    live.refresh_from_db()
    assert live.status == "paused"


def test_an_outside_next_is_not_followed(seller_client, live):
    response = seller_client.post(
        reverse("marketplaces:listing_pause", args=[live.pk]), {"next": "https://evil.example"}
    )
    assert response.url == live.get_absolute_url()


def test_a_refused_action_shows_in_the_row(seller_client, live):
    live.status, live.status_reason = "paused", "out_of_stock"
    live.save()
    live.product.availability, live.product.stock = "out_of_stock", 0
    live.product.save()

    response = seller_client.post(
        reverse("marketplaces:listing_resume", args=[live.pk]), headers={"HX-Request": "true"}
    )

    expected = RESUME_BLOCKED_MESSAGE.format(reason=RESUME_BLOCK_REASONS["out_of_stock"])
    assert 'class="row-message row-error' in response.content.decode() and expected in response.content.decode()
    live.refresh_from_db()
    assert live.status == "paused"


def test_inline_resume_and_end(seller_client, live, ebay):
    live.status, live.status_reason = "paused", "manual_pause"
    live.save()

    seller_client.post(reverse("marketplaces:listing_resume", args=[live.pk]), headers={"HX-Request": "true"})
    live.refresh_from_db()
    assert (live.status, live.quantity_available) == ("active", 10)

    seller_client.post(reverse("marketplaces:listing_end", args=[live.pk]), headers={"HX-Request": "true"})
    live.refresh_from_db()
    assert (live.status, live.status_reason) == ("ended", "manual_end") and live.ended_at is not None
    assert ebay.withdraw.call_count == 1


# --- Bulk actions ----------------------------------------------------------------------------


def test_bulk_pause_acts_on_the_sellers_selected_listings_only(seller_client, user, other_user, ebay):
    store = ebay_store(user=user)
    first, second = (live_listing(store, supplier_product()) for _ in range(2))
    untouched = live_listing(store, supplier_product())
    rival = live_listing(ebay_store(user=other_user), supplier_product())

    response = seller_client.post(
        reverse("marketplaces:listing_bulk"), {"action": "pause", "ids": [first.pk, second.pk, rival.pk]}, follow=True
    )

    assert "Paused: 2 listings." in response.content.decode()
    statuses = dict(Listing.objects.values_list("pk", "status"))
    assert (statuses[first.pk], statuses[second.pk]) == ("paused", "paused")
    assert (statuses[untouched.pk], statuses[rival.pk]) == ("active", "active")


def test_bulk_without_a_selection_says_so(seller_client, store):
    response = seller_client.post(reverse("marketplaces:listing_bulk"), {"action": "end"}, follow=True)
    assert "Select listings first." in response.content.decode()


def test_bulk_end_reports_each_refusal(seller_client, store):
    pending = ListingFactory(store_account=store, status="pending")
    ended = ListingFactory(store_account=store, status="ended")

    response = seller_client.post(
        reverse("marketplaces:listing_bulk"), {"action": "end", "ids": [pending.pk, ended.pk]}, follow=True
    )

    page = response.content.decode()
    assert "Ended: 1 listing." in page and "This listing has already ended." in page
    pending.refresh_from_db()
    assert pending.status == "ended"


def ebay_publish_routes(api, listing, *, listing_id="110551990"):
    sku = f"AM-{listing.pk}"
    spec_route(api, "PUT", f"{EBAY_INV}/inventory_item/{sku}", status=204)
    spec_route(api, "GET", f"{EBAY_INV}/offer", status=404, json=ebay_error())
    spec_route(api, "POST", f"{EBAY_INV}/offer", status=201, json={"offerId": "9876", "warnings": []})
    spec_route(api, "POST", f"{EBAY_INV}/offer/9876/publish", status=200, json={"listingId": listing_id})


def test_bulk_publish_starts_a_job_for_the_pending_ones(seller_client, user, api, django_capture_on_commit_callbacks):
    store = ebay_store(user=user)
    pending = ListingFactory(store_account=store, product=supplier_product(), status="pending")
    active = live_listing(store, supplier_product())
    ebay_publish_routes(api, pending)

    with django_capture_on_commit_callbacks(execute=True):
        response = seller_client.post(
            reverse("marketplaces:listing_bulk"), {"action": "publish", "ids": [pending.pk, active.pk]}
        )

    job = Job.objects.get(user=user, type="publish_listings")
    assert response.url == reverse("monitoring:job_detail", args=[job.pk])
    assert job.params == {"listing_ids": [pending.pk]}
    job.refresh_from_db()
    assert job.status == "success" and job.result["published"] == [pending.pk]
    pending.refresh_from_db()
    assert (pending.status, pending.external_listing_id) == ("active", "110551990")


# --- Stores page -----------------------------------------------------------------------------


def test_store_list_counts_listings(seller_client, store, other_user):
    ListingFactory.create_batch(2, store_account=store, status="active")
    ListingFactory(store_account=store, status="paused")
    StoreAccountFactory(user=other_user, account_name="rival-shop")

    response = seller_client.get(reverse("marketplaces:store_list"))

    page = response.content.decode()
    assert "my-ebay-shop" in page
    assert "rival-shop" not in page
    assert "2 active / 3" in page


def test_store_list_htmx_gets_only_the_table(seller_client, store):
    response = seller_client.get(reverse("marketplaces:store_list"), headers={"HX-Request": "true"})

    page = response.content.decode()
    assert "<html" not in page
    assert "my-ebay-shop" in page


def test_store_list_shows_each_stores_state(seller_client, user):
    now = timezone.now()
    states = {
        "connected": StoreAccountFactory(user=user, oauth_expires_at=now + timedelta(hours=2)),
        "expiring_access": StoreAccountFactory(
            user=user, oauth_refresh_token=None, oauth_expires_at=now + timedelta(hours=5)
        ),
        "expiring_refresh": StoreAccountFactory(user=user, refresh_token_expires_at=now + timedelta(days=3)),
        "needs_reauth": StoreAccountFactory(user=user, needs_reauth=True, last_error="eBay refused the token."),
        "disconnected": StoreAccountFactory(user=user, is_connected=False),
        "stats": StoreAccountFactory(user=user, stats_waiting_reason="eBay's traffic-report allowance is spent"),
    }

    response = seller_client.get(reverse("marketplaces:store_list"))

    shown = {store.pk: store.state.key for store in response.context["stores"]}
    assert shown[states["connected"].pk] == "connected"
    assert shown[states["expiring_access"].pk] == "expiring"
    assert shown[states["expiring_refresh"].pk] == "expiring"
    assert shown[states["needs_reauth"].pk] == "needs_reauth"
    assert shown[states["disconnected"].pk] == "disconnected"
    page = response.content.decode()
    assert "eBay refused the token." in page and "traffic-report allowance is spent" in page
    assert "Needs re-authorisation" in page and "Token expiring" in page


def test_a_connected_stores_pages_never_show_its_secrets(seller_client, user):
    store = StoreAccountFactory(
        user=user, api_key="api-key-0123456789", api_secret="api-secret-0123456789", publish_defaults={"x": "1"}
    )
    ListingFactory(store_account=store, title="Blue kettle listing")

    for url in (
        reverse("marketplaces:store_list"),
        reverse("marketplaces:store_detail", args=[store.pk]),
        reverse("marketplaces:store_disconnect", args=[store.pk]),
    ):
        page = seller_client.get(url).content.decode()
        for secret in (store.oauth_token, store.oauth_refresh_token, store.api_key, store.api_secret):
            assert secret not in page, url


# --- Every store and listing URL is the seller's own -----------------------------------------

STORE_URLS = [
    ("get", "store_detail"),
    ("post", "store_reconnect"),
    ("get", "store_disconnect"),
    ("post", "store_disconnect"),
    ("post", "store_settings"),
    ("get", "store_pricing_preview"),
    ("post", "store_automation"),
    ("post", "store_publish_defaults"),
    ("post", "store_publish_defaults_fetch"),
]
LISTING_URLS = [
    ("get", "listing_detail"),
    ("post", "listing_pause"),
    ("post", "listing_resume"),
    ("post", "listing_end"),
    ("post", "listing_publish"),
    ("post", "listing_price_lock"),
    ("post", "listing_publish_settings"),
    ("get", "listing_performance_csv"),
]


@pytest.mark.parametrize("method, name", STORE_URLS)
def test_another_sellers_store_is_404_everywhere(seller_client, other_user, method, name, settings):
    settings.EBAY_CLIENT_ID = settings.EBAY_CLIENT_SECRET = settings.EBAY_RUNAME = "configured"
    store = StoreAccountFactory(user=other_user)
    before = (store.is_connected, store.oauth_token, store.automation_paused)

    response = getattr(seller_client, method)(reverse(f"marketplaces:{name}", args=[store.pk]), {"paused": "1"})

    assert response.status_code == 404
    store.refresh_from_db()
    assert (store.is_connected, store.oauth_token, store.automation_paused) == before


@pytest.mark.parametrize("method, name", LISTING_URLS)
def test_another_sellers_listing_is_404_everywhere(seller_client, other_user, method, name):
    listing = ListingFactory(store_account=StoreAccountFactory(user=other_user), status="active")
    MarketplaceDataFactory(listing=listing)

    response = getattr(seller_client, method)(reverse(f"marketplaces:{name}", args=[listing.pk]), {"locked": "on"})

    assert response.status_code == 404
    listing.refresh_from_db()
    assert (listing.status, listing.price_locked) == ("active", False)


def test_listing_another_sellers_product_is_404(seller_client, other_user):
    product = ProductFactory()
    other_user.tracked_products.add(product)
    assert seller_client.get(reverse("marketplaces:listing_create"), {"product": product.pk}).status_code == 404
