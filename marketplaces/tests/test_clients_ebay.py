"""The eBay adapter against replayed responses; every request and double is checked against eBay's OAS."""

import base64
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from django.core.cache import cache
from django.utils import timezone

from marketplaces.clients import (
    ListingData,
    ListingRef,
    NeedsReauth,
    NotFound,
    PriceQuantity,
    Rejected,
    RemoteStatus,
    Retryable,
    adapter_for,
    ensure_fresh_token,
    sku_for,
    usage_count,
)
from marketplaces.clients.ebay import MISSING_SETTINGS_MESSAGE, TRAFFIC_USAGE
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from marketplaces.tests.spec import SpecViolation, check_response, spec_route
from monitoring.records import TransientError

pytestmark = pytest.mark.django_db

API = "https://api.ebay.com"
INV = f"{API}/sell/inventory/v1"
ACCESS = "v^1.1#i^1#oauth-access-token-secret"
REFRESH = "v^1.1#r^1#oauth-refresh-token-secret"
SETTINGS = {
    "category_id": "20625",
    "merchant_location_key": "WH1",
    "fulfillment_policy_id": "6196932000",
    "payment_policy_id": "6196936000",
    "return_policy_id": "6196940000",
}


@pytest.fixture(autouse=True)
def ebay_settings(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ebay"}}
    cache.clear()
    settings.EBAY_CLIENT_ID = "OurApp-PRD-0123456789"
    settings.EBAY_CLIENT_SECRET = "PRD-app-secret-0123456789"
    settings.EBAY_RUNAME = "Our_Company-OurApp-PRD-runame"


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def store():
    return StoreAccountFactory(marketplace="ebay", oauth_expires_at=timezone.now() + timedelta(hours=2))


@pytest.fixture
def client(store):
    return adapter_for(store, sleep=lambda seconds: None)


def listing_data(sku="AM-7", **overrides):
    values = {
        "sku": sku,
        "title": "Steel water bottle 750ml",
        "description": "Keeps drinks cold for 24 hours.",
        "price": Decimal("19.99"),
        "currency": "USD",
        "quantity": 5,
        "image_urls": ["https://images.example.com/1.jpg"],
        "aspects": {"Brand": ["Unbranded"]},
        "publish_settings": SETTINGS,
    }
    values.update(overrides)
    return ListingData(**values)


def offer(sku="AM-7", *, offer_id="9876", status="UNPUBLISHED", listing_id=None, listing_status="ACTIVE", qty=5):
    body = {
        "offerId": offer_id,
        "sku": sku,
        "marketplaceId": "EBAY_US",
        "format": "FIXED_PRICE",
        "availableQuantity": qty,
        "categoryId": "20625",
        "listingDuration": "GTC",
        "merchantLocationKey": "WH1",
        "pricingSummary": {"price": {"value": "19.99", "currency": "USD"}},
        "listingPolicies": {
            "fulfillmentPolicyId": "6196932000",
            "paymentPolicyId": "6196936000",
            "returnPolicyId": "6196940000",
        },
        "status": status,
    }
    if listing_id:
        body["listing"] = {"listingId": listing_id, "listingStatus": listing_status, "soldQuantity": 0}
    return body


def offers(*items):
    return {"href": f"{INV}/offer?sku=AM-7", "limit": 100, "offers": list(items), "size": len(items), "total": 1}


NO_OFFER = {
    "errors": [
        {"errorId": 25713, "domain": "API_INVENTORY", "category": "REQUEST", "message": "This Offer is not available."}
    ]
}


def sent(route, index=-1):
    return route.calls[index].request


def body_of(request):
    return json.loads(request.content)


# --- OAuth ---------------------------------------------------------------------------------


def test_authorization_url_carries_runame_scopes_and_state_on_the_sandbox_host(store):
    store.environment = "sandbox"
    request = adapter_for(store).authorization_url(state="st-123")
    parts = urlsplit(request.url)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "auth.sandbox.ebay.com", "/oauth2/authorize")
    assert query["redirect_uri"] == ["Our_Company-OurApp-PRD-runame"]
    assert query["client_id"] == ["OurApp-PRD-0123456789"]
    assert query["response_type"] == ["code"] and query["state"] == ["st-123"]
    assert "https://api.ebay.com/oauth/api_scope/sell.inventory" in query["scope"][0].split(" ")
    assert "https://api.ebay.com/oauth/api_scope/sell.analytics.readonly" in query["scope"][0].split(" ")


def test_code_exchange_posts_the_form_with_basic_auth_and_returns_tokens(api, client):
    route = api.post(f"{API}/identity/v1/oauth2/token").respond(
        200,
        json={
            "access_token": "v^1.1#i^1#new-access",
            "expires_in": 7200,
            "refresh_token": "v^1.1#r^1#new-refresh",
            "refresh_token_expires_in": 47304000,
            "token_type": "User Access Token",
        },
    )
    tokens = client.exchange_code("v^1.1#i^1#f^0#code")
    request = sent(route)
    expected_basic = base64.b64encode(b"OurApp-PRD-0123456789:PRD-app-secret-0123456789").decode()
    assert request.headers["Authorization"] == f"Basic {expected_basic}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["authorization_code"],
        "code": ["v^1.1#i^1#f^0#code"],
        "redirect_uri": ["Our_Company-OurApp-PRD-runame"],
    }
    assert tokens.access_token == "v^1.1#i^1#new-access" and tokens.refresh_token == "v^1.1#r^1#new-refresh"
    assert timedelta(seconds=7190) < tokens.expires_at - timezone.now() <= timedelta(seconds=7200)
    assert "new-access" not in repr(tokens)


def test_token_about_to_expire_is_refreshed_and_saved_keeping_the_refresh_token(api, store):
    store.oauth_expires_at = timezone.now() + timedelta(minutes=2)
    store.save()
    route = api.post(f"{API}/identity/v1/oauth2/token").respond(
        200, json={"access_token": "v^1.1#i^1#refreshed", "expires_in": 7200, "token_type": "User Access Token"}
    )
    assert ensure_fresh_token(store) is True
    form = parse_qs(sent(route).content.decode())
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == [REFRESH]
    assert "https://api.ebay.com/oauth/api_scope/sell.inventory" in form["scope"][0].split(" ")
    store.refresh_from_db()
    assert store.oauth_token == "v^1.1#i^1#refreshed"
    assert store.oauth_refresh_token == REFRESH  # eBay does not rotate it
    assert store.oauth_expires_at > timezone.now() + timedelta(minutes=100)


def test_fresh_token_is_left_alone(api, store):
    route = api.post(f"{API}/identity/v1/oauth2/token")
    assert ensure_fresh_token(store) is False
    assert not route.called


def test_expired_token_is_refreshed_before_the_api_call(api, store):
    store.oauth_expires_at = timezone.now() - timedelta(minutes=1)
    store.save()
    token = api.post(f"{API}/identity/v1/oauth2/token").respond(
        200, json={"access_token": "v^1.1#i^1#refreshed", "expires_in": 7200}
    )
    offers_route = spec_route(api, "GET", f"{INV}/offer", status=200, json=offers(offer(listing_id="110")))
    adapter_for(store).get_remote_state(ListingRef(sku="AM-7", external_id="110"))
    assert token.call_count == 1
    assert sent(offers_route).headers["Authorization"] == "Bearer v^1.1#i^1#refreshed"


def test_rejected_refresh_token_needs_reauth(api, store):
    store.oauth_expires_at = timezone.now() - timedelta(minutes=1)
    store.save()
    api.post(f"{API}/identity/v1/oauth2/token").respond(
        400, json={"error": "invalid_grant", "error_description": "the provided authorization grant is invalid"}
    )
    with pytest.raises(NeedsReauth) as caught:
        adapter_for(store).get_remote_state(ListingRef(sku="AM-7"))
    assert REFRESH not in str(caught.value) and ACCESS not in str(caught.value)


def test_401_refreshes_once_and_retries(api, client, store):
    invalid = {
        "errors": [{"errorId": 1001, "domain": "OAuth", "category": "REQUEST", "message": "Invalid access token"}]
    }
    route = spec_route(
        api, "GET", f"{INV}/offer", (401, invalid), (200, offers(offer(listing_id="110", status="PUBLISHED")))
    )
    api.post(f"{API}/identity/v1/oauth2/token").respond(200, json={"access_token": "v^1.1#new", "expires_in": 7200})
    state = client.get_remote_state(ListingRef(sku="AM-7"))
    assert state.status == RemoteStatus.ACTIVE
    assert [c.request.headers["Authorization"] for c in route.calls] == [f"Bearer {ACCESS}", "Bearer v^1.1#new"]


def test_401_after_a_refresh_needs_reauth(api, client):
    invalid = {"errors": [{"errorId": 1001, "domain": "OAuth", "category": "REQUEST", "message": "Invalid token"}]}
    spec_route(api, "GET", f"{INV}/offer", status=401, json=invalid)
    api.post(f"{API}/identity/v1/oauth2/token").respond(200, json={"access_token": "v^1.1#new", "expires_in": 7200})
    with pytest.raises(NeedsReauth):
        client.get_remote_state(ListingRef(sku="AM-7"))


# --- Publish -------------------------------------------------------------------------------


def test_publish_creates_the_item_and_offer_then_publishes(api, client):
    item = spec_route(api, "PUT", f"{INV}/inventory_item/AM-7", status=204)
    find = spec_route(api, "GET", f"{INV}/offer", status=404, json=NO_OFFER)
    create = spec_route(api, "POST", f"{INV}/offer", status=201, json={"offerId": "9876", "warnings": []})
    publish = spec_route(
        api, "POST", f"{INV}/offer/9876/publish", status=200, json={"listingId": "110551990", "warnings": []}
    )

    assert client.publish(listing_data()) == "110551990"

    request = sent(item)
    assert request.headers["Content-Language"] == "en-US"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert body_of(request) == {
        "availability": {"shipToLocationAvailability": {"quantity": 5}},
        "condition": "NEW",
        "product": {
            "title": "Steel water bottle 750ml",
            "description": "Keeps drinks cold for 24 hours.",
            "aspects": {"Brand": ["Unbranded"]},
            "imageUrls": ["https://images.example.com/1.jpg"],
        },
    }
    assert dict(sent(find).url.params) == {"sku": "AM-7", "marketplace_id": "EBAY_US"}
    offer_body = body_of(sent(create))
    assert offer_body["sku"] == "AM-7" and offer_body["format"] == "FIXED_PRICE"
    assert offer_body["listingDuration"] == "GTC" and offer_body["marketplaceId"] == "EBAY_US"
    assert offer_body["pricingSummary"] == {"price": {"value": "19.99", "currency": "USD"}}
    assert offer_body["listingPolicies"]["returnPolicyId"] == "6196940000"
    assert sent(create).headers["Content-Language"] == "en-US"
    assert publish.call_count == 1


def test_retried_publish_reuses_the_unpublished_offer_of_the_sku(api, client):
    spec_route(api, "PUT", f"{INV}/inventory_item/AM-7", status=204)
    spec_route(api, "GET", f"{INV}/offer", status=200, json=offers(offer()))
    create = api.post(f"{INV}/offer")
    update = spec_route(api, "PUT", f"{INV}/offer/9876", status=204)
    publish = spec_route(api, "POST", f"{INV}/offer/9876/publish", status=200, json={"listingId": "110551990"})

    assert client.publish(listing_data(price=Decimal("21.5"))) == "110551990"

    assert not create.called
    replaced = body_of(sent(update))
    assert replaced["pricingSummary"]["price"] == {"value": "21.50", "currency": "USD"}
    assert "sku" not in replaced  # updateOffer takes EbayOfferDetailsWithId
    assert publish.call_count == 1


def test_retried_publish_after_it_went_live_returns_the_live_listing(api, client):
    spec_route(api, "PUT", f"{INV}/inventory_item/AM-7", status=204)
    spec_route(api, "GET", f"{INV}/offer", status=200, json=offers(offer(status="PUBLISHED", listing_id="110551990")))
    spec_route(api, "PUT", f"{INV}/offer/9876", status=204)
    publish = api.post(f"{INV}/offer/9876/publish")
    create = api.post(f"{INV}/offer")

    assert client.publish(listing_data()) == "110551990"
    assert not publish.called and not create.called


def test_publish_without_store_defaults_is_rejected_before_any_call(api, client):
    with pytest.raises(Rejected) as caught:
        client.publish(listing_data(publish_settings={"category_id": "20625"}))
    assert caught.value.message == MISSING_SETTINGS_MESSAGE.format(
        names="merchant_location_key, fulfillment_policy_id, payment_policy_id, return_policy_id"
    )
    assert not api.calls


def test_sku_comes_from_our_listing_id():
    listing = ListingFactory()
    assert sku_for(listing) == f"AM-{listing.pk}"


# --- Price and quantity --------------------------------------------------------------------


def test_price_quantity_update_sends_one_call_per_sku(api, client):
    def offers_for(request):
        sku = request.url.params["sku"]
        number = sku.split("-")[1]
        body = offers(offer(sku=sku, offer_id=f"90{number}", status="PUBLISHED", listing_id=f"11{number}"))
        check_response("GET", str(request.url), 200, body)
        return httpx.Response(200, json=body)

    api.get(f"{INV}/offer").mock(side_effect=offers_for)
    bulk = spec_route(
        api,
        "POST",
        f"{INV}/bulk_update_price_quantity",
        status=200,
        json={"responses": [{"offerId": "901", "sku": "AM-1", "statusCode": 200, "warnings": []}]},
    )
    items = [
        PriceQuantity(ListingRef("AM-1", "111"), price=Decimal("18.49"), quantity=3),
        PriceQuantity(ListingRef("AM-2", "112"), price=Decimal("7")),
        PriceQuantity(ListingRef("AM-3", "113"), quantity=0),
    ]
    results = client.update_price_quantity(items)

    assert [r.ok for r in results] == [True, True, True]
    bodies = [body_of(call.request) for call in bulk.calls]
    assert bodies == [
        {
            "requests": [
                {
                    "sku": "AM-1",
                    "shipToLocationAvailability": {"quantity": 3},
                    "offers": [
                        {"offerId": "901", "availableQuantity": 3, "price": {"value": "18.49", "currency": "USD"}}
                    ],
                }
            ]
        },
        {"requests": [{"sku": "AM-2", "offers": [{"offerId": "902", "price": {"value": "7.00", "currency": "USD"}}]}]},
        {
            "requests": [
                {
                    "sku": "AM-3",
                    "shipToLocationAvailability": {"quantity": 0},
                    "offers": [{"offerId": "903", "availableQuantity": 0}],
                }
            ]
        },
    ]


def test_bulk_update_207_rejects_only_the_failed_sku_with_ebays_message(api, client):
    spec_route(api, "GET", f"{INV}/offer", status=200, json=offers(offer(status="PUBLISHED", listing_id="110")))
    spec_route(
        api,
        "POST",
        f"{INV}/bulk_update_price_quantity",
        status=207,
        json={
            "responses": [
                {
                    "offerId": "9876",
                    "sku": "AM-7",
                    "statusCode": 400,
                    "errors": [
                        {
                            "errorId": 25007,
                            "domain": "API_INVENTORY",
                            "category": "REQUEST",
                            "message": "The price must be greater than 0.99.",
                        }
                    ],
                }
            ]
        },
    )
    [result] = client.update_price_quantity([PriceQuantity(ListingRef("AM-7", "110"), price=Decimal("0.5"))])
    assert isinstance(result.error, Rejected)
    assert result.error.message == "The price must be greater than 0.99."


def test_rate_limit_stops_the_round_and_keeps_retry_after(api, client):
    spec_route(api, "GET", f"{INV}/offer", status=200, json=offers(offer(status="PUBLISHED", listing_id="110")))
    too_many = {
        "errors": [{"errorId": 2001, "domain": "ACCESS", "category": "REQUEST", "message": "Too many requests."}]
    }
    bulk = spec_route(
        api, "POST", f"{INV}/bulk_update_price_quantity", status=429, json=too_many, headers={"Retry-After": "30"}
    )
    items = [PriceQuantity(ListingRef("AM-7", "110"), quantity=2), PriceQuantity(ListingRef("AM-8", "111"), quantity=1)]
    results = client.update_price_quantity(items)
    assert bulk.call_count == 1
    assert all(isinstance(r.error, Retryable) and r.error.retry_after == 30 for r in results)
    assert isinstance(results[0].error, TransientError)  # so a @job_task retries it with backoff


# --- Pause, resume, end, state -------------------------------------------------------------


def test_pause_sets_quantity_zero(api, client):
    spec_route(api, "GET", f"{INV}/offer", status=200, json=offers(offer(status="PUBLISHED", listing_id="110")))
    bulk = spec_route(api, "POST", f"{INV}/bulk_update_price_quantity", status=200, json={"responses": []})
    client.pause(ListingRef("AM-7", "110"))
    assert body_of(sent(bulk))["requests"][0]["shipToLocationAvailability"] == {"quantity": 0}
    assert body_of(sent(bulk))["requests"][0]["offers"] == [{"offerId": "9876", "availableQuantity": 0}]


def test_end_withdraws_the_offer(api, client):
    spec_route(api, "GET", f"{INV}/offer", status=200, json=offers(offer(status="PUBLISHED", listing_id="110")))
    withdraw = spec_route(api, "POST", f"{INV}/offer/9876/withdraw", status=200, json={"listingId": "110"})
    client.end(ListingRef("AM-7", "110"))
    assert withdraw.call_count == 1


def test_resume_of_a_withdrawn_offer_publishes_it_again(api, client):
    spec_route(api, "GET", f"{INV}/offer", status=200, json=offers(offer(status="UNPUBLISHED")))
    bulk = spec_route(api, "POST", f"{INV}/bulk_update_price_quantity", status=200, json={"responses": []})
    spec_route(api, "POST", f"{INV}/offer/9876/publish", status=200, json={"listingId": "110999"})
    assert client.resume(ListingRef("AM-7", "110"), quantity=4) == "110999"
    assert body_of(sent(bulk))["requests"][0]["shipToLocationAvailability"] == {"quantity": 4}


def test_remote_state_reads_status_price_and_quantity(api, client):
    spec_route(
        api,
        "GET",
        f"{INV}/offer",
        status=200,
        json=offers(offer(status="PUBLISHED", listing_id="110", listing_status="ENDED", qty=2)),
    )
    state = client.get_remote_state(ListingRef("AM-7", "110"))
    assert (state.status, state.price, state.quantity, state.currency) == (
        RemoteStatus.ENDED,
        Decimal("19.99"),
        2,
        "USD",
    )


def test_remote_state_of_an_unknown_sku_is_missing(api, client):
    spec_route(api, "GET", f"{INV}/offer", status=404, json=NO_OFFER)
    assert client.get_remote_state(ListingRef("AM-7", "110")).status == RemoteStatus.MISSING


def test_action_on_a_sku_without_offer_is_not_found(api, client):
    spec_route(api, "GET", f"{INV}/offer", status=404, json=NO_OFFER)
    with pytest.raises(NotFound):
        client.end(ListingRef("AM-7", "110"))


# --- Orders and traffic --------------------------------------------------------------------


def ebay_order(order_id, lines, fee="3.10"):
    return {
        "orderId": order_id,
        "creationDate": "2026-03-02T10:15:00.000Z",
        "lastModifiedDate": "2026-03-02T11:00:00.000Z",
        "orderPaymentStatus": "PAID",
        "orderFulfillmentStatus": "NOT_STARTED",
        "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
        "pricingSummary": {"total": {"value": "40.00", "currency": "USD"}},
        "totalMarketplaceFee": {"value": fee, "currency": "USD"},
        "lineItems": [
            {
                "lineItemId": f"{order_id}-{n}",
                "legacyItemId": listing,
                "sku": sku,
                "quantity": quantity,
                "lineItemCost": {"value": cost, "currency": "USD"},
                "total": {"value": cost, "currency": "USD"},
            }
            for n, (listing, sku, quantity, cost) in enumerate(lines)
        ],
    }


def test_orders_since_a_time_are_normalised_with_the_fee_split_by_line(api, client):
    first = {
        "href": "…",
        "limit": 200,
        "offset": 0,
        "total": 201,
        "next": f"{API}/sell/fulfillment/v1/order?offset=200",
        "orders": [ebay_order("04-1", [("110", "AM-1", 2, "30.00"), ("111", "AM-2", 1, "10.00")])],
    }
    second = {"limit": 200, "offset": 200, "total": 201, "orders": [ebay_order("04-2", [("112", "AM-3", 1, "9.99")])]}
    route = spec_route(api, "GET", f"{API}/sell/fulfillment/v1/order", (200, first), (200, second))

    lines = client.fetch_orders(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))

    params = [dict(call.request.url.params) for call in route.calls]
    assert params == [
        {"filter": "lastmodifieddate:[2026-03-01T08:00:00.000Z..]", "limit": "200", "offset": "0"},
        {"filter": "lastmodifieddate:[2026-03-01T08:00:00.000Z..]", "limit": "200", "offset": "200"},
    ]
    assert [(line.sku, line.external_id, line.quantity, line.unit_price, line.fees) for line in lines] == [
        ("AM-1", "110", 2, Decimal("15.00"), Decimal("2.33")),
        ("AM-2", "111", 1, Decimal("10.00"), Decimal("0.77")),
        ("AM-3", "112", 1, Decimal("9.99"), Decimal("3.10")),
    ]
    assert lines[0].ordered_at == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


def traffic_report(listing_ids):
    metrics = [
        ("LISTING_IMPRESSION_TOTAL", "INTEGER"),
        ("LISTING_VIEWS_TOTAL", "INTEGER"),
        ("LISTING_VIEWS_SOURCE_SEARCH_RESULTS_PAGE", "INTEGER"),
        ("CLICK_THROUGH_RATE", "PERCENTAGE"),
    ]
    return {
        "header": {
            "dimensionKeys": [{"key": "LISTING_ID", "localizedName": "Listing ID", "dataType": "STRING"}],
            "metrics": [{"key": k, "localizedName": k.title(), "dataType": t} for k, t in metrics],
        },
        "records": [
            {
                "dimensionValues": [{"value": listing_id, "applicable": True}],
                "metricValues": [
                    {"value": 400, "applicable": True},
                    {"value": 30, "applicable": True},
                    # not applicable: clicks fall back to CTR (2.5 %) × impressions
                    {"value": 0, "applicable": n % 2 == 0},
                    {"value": 2.5, "applicable": True},
                ],
            }
            for n, listing_id in enumerate(listing_ids)
        ],
        "startDate": "2026-03-01T08:00:00Z",
        "endDate": "2026-03-02T07:59:59Z",
        "lastUpdatedDate": "2026-03-02T07:59:59Z",
    }


def test_traffic_is_one_report_per_200_listings_of_one_day(api, client):
    ids = [str(110000 + n) for n in range(201)]

    def report(request):
        wanted = request.url.params["filter"].split("listing_ids:{")[1].rstrip("}").split("|")
        body = traffic_report(wanted[:2])
        check_response("GET", str(request.url), 200, body)
        return httpx.Response(200, json=body)

    route = api.get(f"{API}/sell/analytics/v1/traffic_report").mock(side_effect=report)

    rows = client.fetch_traffic(ids, date(2026, 3, 1))

    assert route.call_count == 2
    first = dict(sent(route, 0).url.params)
    assert first["dimension"] == "LISTING"
    assert first["metric"] == (
        "LISTING_IMPRESSION_TOTAL,LISTING_VIEWS_TOTAL,LISTING_VIEWS_SOURCE_SEARCH_RESULTS_PAGE,CLICK_THROUGH_RATE"
    )
    assert first["filter"] == (
        "marketplace_ids:{EBAY_US},date_range:[20260301..20260301],listing_ids:{" + "|".join(ids[:200]) + "}"
    )
    assert dict(sent(route, 1).url.params)["filter"].endswith("listing_ids:{110200}")
    assert [(r.external_id, r.views, r.clicks, r.impressions, r.source) for r in rows[:2]] == [
        ("110000", 30, 0, 400, "ebay_traffic_report"),
        ("110001", 30, 10, 400, "ebay_traffic_report"),
    ]
    assert usage_count(TRAFFIC_USAGE) == 2


def test_a_traffic_double_the_spec_rejects_is_caught():
    with pytest.raises(SpecViolation):
        check_response("GET", f"{API}/sell/analytics/v1/traffic_report", 200, {"rows": []})


# --- Errors --------------------------------------------------------------------------------


def test_400_with_errors_is_rejected_with_ebays_message(api, client):
    spec_route(
        api,
        "PUT",
        f"{INV}/inventory_item/AM-7",
        status=400,
        json={
            "errors": [
                {
                    "errorId": 25709,
                    "domain": "API_INVENTORY",
                    "category": "REQUEST",
                    "message": "Invalid value for header Content-Language.",
                    "longMessage": "The Content-Language header must be a valid locale such as en-US.",
                }
            ]
        },
    )
    with pytest.raises(Rejected) as caught:
        client.publish(listing_data())
    assert caught.value.message == "The Content-Language header must be a valid locale such as en-US."
    assert caught.value.status == 400 and caught.value.errors[0]["errorId"] == 25709


def test_application_errors_and_5xx_are_retryable(api, client):
    internal = {
        "errors": [{"errorId": 25001, "domain": "API_INVENTORY", "category": "APPLICATION", "message": "System error"}]
    }
    spec_route(api, "GET", f"{INV}/offer", (500, internal))
    with pytest.raises(Retryable):
        client.get_remote_state(ListingRef("AM-7"))


def test_timeout_is_retryable(api, client):
    api.get(f"{INV}/offer").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(Retryable) as caught:
        client.get_remote_state(ListingRef("AM-7"))
    assert caught.value.retry_after is None


def test_error_messages_never_echo_a_token(api, client):
    echo = {"errors": [{"errorId": 1, "domain": "API", "category": "REQUEST", "message": f"Bad token {ACCESS}"}]}
    spec_route(api, "PUT", f"{INV}/inventory_item/AM-7", status=400, json=echo)
    with pytest.raises(Rejected) as caught:
        client.publish(listing_data())
    assert ACCESS not in str(caught.value) and "[redacted]" in caught.value.message


# --- Store defaults ------------------------------------------------------------------------


def test_publish_defaults_are_the_sellers_policies_for_non_vehicles_and_first_enabled_location(api, client):
    account = f"{API}/sell/account/v1"

    def policies(key, id_key, ids):
        return {
            key: [
                {
                    id_key: policy_id,
                    "name": f"Policy {policy_id}",
                    "marketplaceId": "EBAY_US",
                    "categoryTypes": [{"name": category}],
                }
                for policy_id, category in ids
            ],
            "total": len(ids),
        }

    fulfillment = spec_route(
        api,
        "GET",
        f"{account}/fulfillment_policy",
        status=200,
        json=policies(
            "fulfillmentPolicies",
            "fulfillmentPolicyId",
            [("5000", "MOTORS_VEHICLES"), ("6196932000", "ALL_EXCLUDING_MOTORS_VEHICLES")],
        ),
    )
    spec_route(
        api,
        "GET",
        f"{account}/payment_policy",
        status=200,
        json=policies("paymentPolicies", "paymentPolicyId", [("6196936000", "ALL_EXCLUDING_MOTORS_VEHICLES")]),
    )
    spec_route(
        api,
        "GET",
        f"{account}/return_policy",
        status=200,
        json=policies("returnPolicies", "returnPolicyId", [("6196940000", "ALL_EXCLUDING_MOTORS_VEHICLES")]),
    )
    spec_route(
        api,
        "GET",
        f"{INV}/location",
        status=200,
        json={
            "locations": [
                {"merchantLocationKey": "OLD", "merchantLocationStatus": "DISABLED", "name": "Old shed"},
                {"merchantLocationKey": "WH1", "merchantLocationStatus": "ENABLED", "name": "Warehouse"},
            ],
            "total": 2,
        },
    )

    defaults = client.fetch_publish_defaults()

    assert defaults == {
        "fulfillment_policy_id": "6196932000",
        "payment_policy_id": "6196936000",
        "return_policy_id": "6196940000",
        "merchant_location_key": "WH1",
    }
    assert dict(sent(fulfillment).url.params) == {"marketplace_id": "EBAY_US"}
