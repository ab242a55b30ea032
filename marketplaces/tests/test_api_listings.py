"""The seller API's listings and stores through their real URLs, against the spec-checked eBay double:
the listings page's filters, listing a product (a dry run only quotes), changes, actions, bulk, the
stores' state without secrets and their pricing settings with the store page's checks."""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.limits import LISTING_LIMIT_MESSAGE
from catalog.tests.factories import ProductFactory
from config.tests.api_helpers import problem
from marketplaces.models import Listing, ListingStatus, StatusReason
from marketplaces.services.listings import ALREADY_LISTED_MESSAGE, NOT_PENDING_MESSAGE, TITLE_PUBLISHED_MESSAGE
from marketplaces.tests.doubles import (
    EBAY_INV,
    EbayDouble,
    bulk_request,
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
LISTINGS = "/api/v1/listings/"


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "api-listings")


@pytest.fixture
def store(user):
    return ebay_store(user=user)


@pytest.fixture
def product(user):
    product = supplier_product(title="Steel water bottle 750ml", description="Keeps drinks cold.", stock=50)
    user.tracked_products.add(product)
    return product


@pytest.fixture
def active(store, product):
    return live_listing(store, product, price=Decimal("30.99"), quantity_available=10)


@pytest.fixture
def seller_api_for(seller_api):
    return seller_api


def url(listing, suffix=""):
    return f"{LISTINGS}{listing.pk}/{suffix}"


# --- The list -------------------------------------------------------------------------------


def test_the_list_has_the_listings_pages_filters_and_margin(seller_api, user, store):
    other_store = StoreAccountFactory(user=user, marketplace="etsy")
    cheap = ListingFactory(
        store_account=store, product=supplier_product(price=Decimal("20.00")), price=Decimal("19.00")
    )
    good = ListingFactory(store_account=store, product=supplier_product(price=Decimal("10.00")), price=Decimal("30.00"))
    paused = ListingFactory(store_account=other_store, status=ListingStatus.PAUSED, status_reason="manual_pause")
    ListingFactory()  # another seller's

    def ids(**params):
        return [row["id"] for row in seller_api.get(LISTINGS, params).json()["results"]]

    assert set(ids()) == {cheap.pk, good.pk, paused.pk}
    assert ids(store=store.pk, ordering="price") == [cheap.pk, good.pk]
    assert ids(status="paused") == [paused.pk] and ids(status_reason="manual_pause") == [paused.pk]
    assert ids(margin="negative") == [cheap.pk]
    assert ids(ordering="-margin_percent", store=store.pk) == [good.pk, cheap.pk]
    row = seller_api.get(url(good)).json()
    assert row["margin"]["unit_cost"] == "10.00" and row["currency"] == "USD" and row["store"] == store.pk


def test_the_list_costs_the_same_few_queries_for_5_or_60_listings(seller_api, user, store):
    def queries(count):
        for _ in range(count - Listing.objects.filter(user=user).count()):
            ListingFactory(store_account=store)
        with CaptureQueriesContext(connection) as captured:
            response = seller_api.get(LISTINGS, {"limit": 100})
        assert response.status_code == 200 and len(response.json()["results"]) == count
        return len(captured)

    few = queries(5)
    many = queries(60)

    assert few == many
    assert many <= 5  # session, rate counter (database backend), listings; no query per row


# --- Creating -------------------------------------------------------------------------------


def test_a_dry_run_quotes_the_price_and_saves_nothing(seller_api, store, product):
    response = seller_api.post(LISTINGS + "?dry_run=true", {"product": product.pk, "store": store.pk})

    assert response.status_code == 200
    quote = response.json()
    assert quote["price"] and Decimal(quote["price"]) > Decimal("20.00")
    assert quote["cost"] == "20.00" and quote["currency"] == "USD" and quote["quantity"] > 0
    assert not Listing.objects.exists()


def test_creating_a_listing_keeps_it_pending_with_the_sellers_price_lock(seller_api, store, product):
    response = seller_api.post(
        LISTINGS, {"product": product.pk, "store": store.pk, "price": "27.50", "price_locked": True}
    )

    assert response.status_code == 201
    listing = Listing.objects.get()
    assert response["Location"] == url(listing)
    assert (listing.status, listing.price, listing.price_locked) == ("pending", Decimal("27.50"), True)
    again = seller_api.post(LISTINGS, {"product": product.pk, "store": store.pk})
    assert again.status_code == 409
    assert problem(again)["detail"] == ALREADY_LISTED_MESSAGE.format(store=store)


def test_a_product_without_a_known_price_needs_one(seller_api, store, user):
    unpriced = ProductFactory(price=None)
    user.tracked_products.add(unpriced)

    body = problem(seller_api.post(LISTINGS, {"product": unpriced.pk, "store": store.pk}))

    assert body["errors"][0]["pointer"] == "#/price" and "enter one" in body["errors"][0]["detail"]


def test_the_listing_limit_refuses_in_the_api_and_the_page_alike(seller_api, store, product, settings, user, client):
    settings.TIER_LISTING_LIMITS = {**settings.TIER_LISTING_LIMITS, "free": 1}
    ListingFactory(store_account=store)
    message = LISTING_LIMIT_MESSAGE.format(tier="Free", limit=1)

    response = seller_api.post(LISTINGS, {"product": product.pk, "store": store.pk})
    assert response.status_code == 403 and problem(response)["detail"] == message

    client.force_login(user)
    page = client.post("/listings/new/", {"product": product.pk, "store": store.pk, "title": "x"})
    assert message in page.content.decode()
    assert Listing.objects.count() == 1


# --- Changing and acting --------------------------------------------------------------------


def test_a_pending_listing_is_renamed_and_its_publish_settings_kept(seller_api, store, product):
    listing = ListingFactory(store_account=store, product=product, status=ListingStatus.PENDING)

    response = seller_api.patch(url(listing), {"title": "Bottle, steel", "publish_settings": {"category_id": "11450"}})

    assert response.status_code == 200
    listing.refresh_from_db()
    assert listing.title == "Bottle, steel" and listing.publish_settings == {"category_id": "11450"}
    removed = seller_api.patch(url(listing), {"publish_settings": {"category_id": None}}).json()
    assert removed["publish_settings"] == {}
    unknown = problem(seller_api.patch(url(listing), {"publish_settings": {"colour": "red"}}))
    assert unknown["errors"][0]["pointer"] == "#/publish_settings"


def test_a_published_listings_title_stays(seller_api, active):
    response = seller_api.patch(url(active), {"title": "Renamed"})

    assert response.status_code == 409 and problem(response)["detail"] == TITLE_PUBLISHED_MESSAGE


def test_locking_a_price_sends_it_at_once(seller_api, api, active):
    ebay = EbayDouble(api)

    response = seller_api.patch(url(active), {"price": "33.00"})

    assert response.status_code == 200 and response.json()["price_locked"] is True
    assert ebay.bulk_bodies == [bulk_request(f"AM-{active.pk}", offer_id=f"9{active.pk}", price="33.00")]
    assert problem(seller_api.patch(url(active), {"price": "34.00", "price_locked": False}))["status"] == 400


def test_pause_resume_and_end_go_to_the_marketplace(seller_api, api, active):
    ebay = EbayDouble(api)

    paused = seller_api.post(url(active, "pause/"))
    assert paused.status_code == 200
    assert (paused.json()["status"], paused.json()["status_reason"]) == ("paused", "manual_pause")
    assert ebay.bulk_bodies[-1] == bulk_request(f"AM-{active.pk}", offer_id=f"9{active.pk}", quantity=0)
    assert seller_api.post(url(active, "resume/")).json()["status"] == "active"
    api.post(f"{EBAY_INV}/offer/9{active.pk}/withdraw").respond(200, json={"listingId": f"11{active.pk}"})
    assert seller_api.post(url(active, "end/")).json()["status"] == "ended"
    refused = seller_api.post(url(active, "pause/"))
    assert refused.status_code == 409 and problem(refused)["code"] == "refused"


def test_publish_now_makes_a_pending_listing_active(seller_api, api, store, product):
    pending = ListingFactory(store_account=store, product=product, status=ListingStatus.PENDING, quantity_available=5)
    spec_route(api, "PUT", f"{EBAY_INV}/inventory_item/AM-{pending.pk}", status=204)
    spec_route(api, "GET", f"{EBAY_INV}/offer", status=404, json=ebay_error())
    spec_route(api, "POST", f"{EBAY_INV}/offer", status=201, json={"offerId": "9876", "warnings": []})
    spec_route(api, "POST", f"{EBAY_INV}/offer/9876/publish", status=200, json={"listingId": "110551990"})

    response = seller_api.post(url(pending, "publish/"))

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["external_listing_id"]) == ("active", "110551990")
    again = seller_api.post(url(pending, "publish/"))
    assert again.status_code == 409 and problem(again)["detail"] == NOT_PENDING_MESSAGE


def test_a_refused_publish_is_a_409_with_the_marketplaces_words(seller_api, api, store, product):
    pending = ListingFactory(store_account=store, product=product, status=ListingStatus.PENDING, quantity_available=5)
    refusal = ebay_error("The item title is too long.", error_id=25002)
    spec_route(api, "PUT", f"{EBAY_INV}/inventory_item/AM-{pending.pk}", status=400, json=refusal)

    response = seller_api.post(url(pending, "publish/"))

    assert response.status_code == 409
    assert problem(response)["detail"] == "Not published: The item title is too long."
    pending.refresh_from_db()
    assert pending.status_reason == StatusReason.PUBLISH_FAILED


def test_bulk_pauses_each_listing_and_says_which_it_could_not(seller_api, api, store, active):
    EbayDouble(api)
    ended = ListingFactory(store_account=store, status=ListingStatus.ENDED)

    response = seller_api.post(LISTINGS + "bulk/", {"action": "pause", "ids": [active.pk, ended.pk]})

    assert response.status_code == 200
    body = response.json()
    assert body["done"] == [active.pk] and body["job"] is None
    assert body["refused"] == [{"id": ended.pk, "detail": "Only a listing on sale can be paused."}]


def test_bulk_publish_starts_one_job_for_the_pending_ones(seller_api, store, active):
    pending = ListingFactory(store_account=store, status=ListingStatus.PENDING)

    response = seller_api.post(LISTINGS + "bulk/", {"action": "publish", "ids": [active.pk, pending.pk]})

    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.params == {"listing_ids": [pending.pk]} and response.json()["done"] == [pending.pk]
    nothing = seller_api.post(LISTINGS + "bulk/", {"action": "publish", "ids": [active.pk]})
    assert nothing.status_code == 409


def test_bulk_with_an_id_that_is_not_the_sellers_is_a_404_naming_it(seller_api, active):
    theirs = ListingFactory()

    response = seller_api.post(LISTINGS + "bulk/", {"action": "end", "ids": [active.pk, theirs.pk]})

    assert response.status_code == 404 and str(theirs.pk) in problem(response)["detail"]
    active.refresh_from_db()
    assert active.status == ListingStatus.ACTIVE


# --- Stores ---------------------------------------------------------------------------------


def test_stores_show_their_connection_state_and_never_a_credential(seller_api, store, active):
    response = seller_api.get("/api/v1/stores/")

    [row] = response.json()["results"]
    assert (row["id"], row["state"]["key"], row["listing_count"], row["active_listing_count"]) == (
        store.pk,
        "connected",
        1,
        1,
    )
    text = json.dumps(response.json())
    assert "oauth" not in text and store.oauth_token not in text and store.oauth_refresh_token not in text


def test_pricing_settings_are_checked_as_on_the_store_page_and_previewed(seller_api, store, active):
    pricing = f"/api/v1/stores/{store.pk}/pricing/"
    current = seller_api.get(pricing).json()
    assert current["settings"]["markup_percent"] == "30.00" and len(current["preview"]) == 2

    bad = problem(seller_api.patch(pricing, {"fee_percent": "120", "max_quantity": 0}))
    assert {error["pointer"] for error in bad["errors"]} == {"#/fee_percent", "#/max_quantity"}
    store.refresh_from_db()
    assert store.fee_percent != Decimal("120")

    preview = seller_api.post(pricing + "preview/", {"markup_percent": "50.00"}).json()
    assert preview["settings"]["markup_percent"] == "50.00"
    assert Decimal(preview["preview"][0]["price"]) > Decimal(current["preview"][0]["price"])
    store.refresh_from_db()
    assert store.markup_percent == Decimal("30.00")  # a preview saves nothing

    saved = seller_api.patch(pricing, {"markup_percent": "45.00", "price_ending": None})
    assert saved.status_code == 200
    store.refresh_from_db()
    assert (store.markup_percent, store.price_ending) == (Decimal("45.00"), None)


def test_performance_rows_of_one_store_and_as_csv(seller_api, store, active):
    MarketplaceDataFactory(listing=active)
    other = ebay_store(user=store.user)
    MarketplaceDataFactory(listing=ListingFactory(store_account=other))

    rows = seller_api.get("/api/v1/performance/daily/", {"store": store.pk}).json()["results"]

    assert [(row["listing"], row["store"], row["revenue"], row["currency"]) for row in rows] == [
        (active.pk, store.pk, "59.98", "USD")
    ]
    csv = seller_api.get("/api/v1/performance/daily/", {"store": store.pk}, HTTP_ACCEPT="text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("listing_id,store_id,date,views") and len(lines) == 2
