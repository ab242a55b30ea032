"""The Shopify adapter against replayed GraphQL answers, checked against the documented shapes."""

import hashlib
import hmac
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from django.core.cache import cache
from django.utils import timezone
from graphql import parse

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
)
from marketplaces.clients.shopify import INVALID_SHOP_MESSAGE, MISSING_LOCATION_MESSAGE, verify_callback
from marketplaces.tests.doubles import shopify_order
from marketplaces.tests.factories import StoreAccountFactory
from marketplaces.tests.spec import check_graphql_request, check_graphql_response

pytestmark = pytest.mark.django_db

SHOP = "https://demo-store.myshopify.com"
GRAPHQL = f"{SHOP}/admin/api/2026-07/graphql.json"
TOKEN_URL = f"{SHOP}/admin/oauth/access_token"
ACCESS = "shpat_access_0123456789abcdef"
REFRESH = "shprt_refresh_0123456789abcdef"
PRODUCT = "gid://shopify/Product/1001"


def cost(available=1990.0, requested=10):
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": requested,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": available, "restoreRate": 100.0},
        }
    }


class ShopifyDouble:
    """The shop's GraphQL endpoint: answers by operation name, checking documents and answers."""

    def __init__(self, api):
        self.answers = {}
        self.calls = []
        self.route = api.post(GRAPHQL).mock(side_effect=self._respond)

    def answer(self, operation, *answers):
        self.answers.setdefault(operation, []).extend(answers)

    def _respond(self, request):
        payload = json.loads(request.content)
        query, variables = payload["query"], payload["variables"]
        check_graphql_request(query, variables)
        operation = parse(query).definitions[0].name.value
        self.calls.append((operation, variables, request))
        queue = self.answers[operation]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(answer):
            answer = answer(variables)
        if isinstance(answer, httpx.Response):
            return answer
        check_graphql_response(query, variables, answer)
        return httpx.Response(200, json={"data": answer, "extensions": cost()})

    def operations(self):
        return [operation for operation, _, _ in self.calls]


@pytest.fixture(autouse=True)
def shopify_settings(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "shopify"}}
    cache.clear()
    settings.SHOPIFY_CLIENT_ID = "shopify-client-id"
    settings.SHOPIFY_CLIENT_SECRET = "shopify-client-secret-0123"
    settings.SHOPIFY_REDIRECT_URI = "https://app.example.com/stores/shopify/callback/"
    settings.SHOPIFY_MIN_AVAILABLE_POINTS = 100


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def shop(api):
    return ShopifyDouble(api)


@pytest.fixture
def store():
    return StoreAccountFactory(
        marketplace="shopify",
        shop_domain="demo-store.myshopify.com",
        oauth_token=ACCESS,
        oauth_refresh_token=REFRESH,
        oauth_expires_at=timezone.now() + timedelta(hours=1),
    )


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(store, sleeps):
    return adapter_for(store, sleep=sleeps.append, clock=lambda: 1000.0)


def listing_data(**overrides):
    values = {
        "sku": "AM-7",
        "title": "Steel water bottle 750ml",
        "description": "<p>Keeps drinks cold.</p>",
        "price": Decimal("19.99"),
        "currency": "USD",
        "quantity": 5,
        "cost": Decimal("8.00"),
        "image_urls": ["https://images.example.com/1.jpg"],
        "publish_settings": {"location_id": "gid://shopify/Location/1"},
    }
    values.update(overrides)
    return ListingData(**values)


def product_set_answer(variables):
    return {
        "productSet": {
            "product": {
                "id": (variables.get("identifier") or {}).get("id") or PRODUCT,
                "status": "ACTIVE",
                "variants": {
                    "nodes": [
                        {
                            "id": "gid://shopify/ProductVariant/2001",
                            "sku": "AM-7",
                            "price": "19.99",
                            "inventoryItem": {"id": "gid://shopify/InventoryItem/3001"},
                        }
                    ]
                },
            },
            "userErrors": [],
        }
    }


def for_update(*numbers):
    return {
        "nodes": [
            {
                "__typename": "Product",
                "id": f"gid://shopify/Product/{n}",
                "variants": {
                    "nodes": [
                        {
                            "id": f"gid://shopify/ProductVariant/{n}",
                            "sku": f"AM-{n}",
                            "inventoryItem": {
                                "id": f"gid://shopify/InventoryItem/{n}",
                                "inventoryLevels": {"nodes": [{"location": {"id": "gid://shopify/Location/1"}}]},
                            },
                        }
                    ]
                },
            }
            for n in numbers
        ]
    }


# --- OAuth ---------------------------------------------------------------------------------


def test_authorization_url_goes_to_the_shop_with_scopes_and_state(client):
    request = client.authorization_url(state="st-1")
    parts = urlsplit(request.url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{SHOP}/admin/oauth/authorize"
    assert query["client_id"] == ["shopify-client-id"] and query["state"] == ["st-1"]
    assert query["redirect_uri"] == ["https://app.example.com/stores/shopify/callback/"]
    assert "write_products" in query["scope"][0].split(",") and "read_orders" in query["scope"][0].split(",")


@pytest.mark.parametrize("domain", ["evil.example.com", "127.0.0.1", "shop.myshopify.com.evil.com", ""])
def test_only_myshopify_domains_are_accepted(domain):
    store = StoreAccountFactory.build(marketplace="shopify", shop_domain=domain)
    with pytest.raises(Rejected) as caught:
        adapter_for(store)
    assert caught.value.message == INVALID_SHOP_MESSAGE


def test_callback_hmac_is_verified(settings):
    params = {"code": "abc", "shop": "demo-store.myshopify.com", "state": "st-1", "timestamp": "1700000000"}
    message = "code=abc&shop=demo-store.myshopify.com&state=st-1&timestamp=1700000000"
    signature = hmac.new(b"shopify-client-secret-0123", message.encode(), hashlib.sha256).hexdigest()
    assert verify_callback({**params, "hmac": signature})
    assert not verify_callback({**params, "state": "forged", "hmac": signature})
    assert not verify_callback(params)


def test_code_exchange_asks_for_expiring_offline_tokens(api, client):
    route = api.post(TOKEN_URL).respond(
        200,
        json={
            "access_token": "shpat_new",
            "scope": "write_products,read_orders",
            "expires_in": 3600,
            "refresh_token": "shprt_new",
            "refresh_token_expires_in": 7776000,
        },
    )
    tokens = client.exchange_code("auth-code")
    assert json.loads(route.calls.last.request.content) == {
        "client_id": "shopify-client-id",
        "client_secret": "shopify-client-secret-0123",
        "code": "auth-code",
        "expiring": 1,
    }
    assert (tokens.access_token, tokens.refresh_token, tokens.scope) == (
        "shpat_new",
        "shprt_new",
        "write_products,read_orders",
    )
    assert timedelta(minutes=59) < tokens.expires_at - timezone.now() <= timedelta(hours=1)


def test_expiring_token_is_refreshed_and_the_rotated_refresh_token_saved(api, store):
    store.oauth_expires_at = timezone.now() + timedelta(minutes=1)
    store.save()
    route = api.post(TOKEN_URL).respond(
        200, json={"access_token": "shpat_2", "expires_in": 3600, "refresh_token": "shprt_2", "scope": ""}
    )
    assert ensure_fresh_token(store)
    assert json.loads(route.calls.last.request.content) == {
        "client_id": "shopify-client-id",
        "client_secret": "shopify-client-secret-0123",
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
    }
    store.refresh_from_db()
    assert (store.oauth_token, store.oauth_refresh_token) == ("shpat_2", "shprt_2")


def test_refused_refresh_needs_reauth(api, store):
    store.oauth_expires_at = timezone.now() - timedelta(minutes=1)
    store.save()
    api.post(TOKEN_URL).respond(400, json={"error": "invalid_grant", "error_description": "refresh token revoked"})
    with pytest.raises(NeedsReauth):
        adapter_for(store).get_remote_state(ListingRef("AM-7", PRODUCT))


def test_revoke_uninstalls_the_app(api, client):
    route = api.delete(f"{SHOP}/admin/api_permissions/current.json").respond(200, json={})
    assert client.revoke() is True
    assert route.calls.last.request.headers["X-Shopify-Access-Token"] == ACCESS


# --- Publish -------------------------------------------------------------------------------


def test_publish_looks_up_the_sku_then_creates_the_product(shop, client):
    shop.answer("ProductBySku", {"productVariants": {"nodes": []}})
    shop.answer("ProductSet", product_set_answer)

    assert client.publish(listing_data()) == PRODUCT

    assert shop.operations() == ["ProductBySku", "ProductSet"]
    lookup, product_set = shop.calls
    assert lookup[1] == {"query": 'sku:"AM-7"'}
    request = product_set[2]
    assert request.headers["X-Shopify-Access-Token"] == ACCESS
    assert request.headers["Content-Type"] == "application/json"
    assert product_set[1] == {
        "input": {
            "title": "Steel water bottle 750ml",
            "descriptionHtml": "<p>Keeps drinks cold.</p>",
            "status": "ACTIVE",
            "productOptions": [{"name": "Title", "values": [{"name": "Default Title"}]}],
            "variants": [
                {
                    "optionValues": [{"optionName": "Title", "name": "Default Title"}],
                    "price": "19.99",
                    "sku": "AM-7",
                    "inventoryItem": {"tracked": True, "cost": "8.00"},
                    "inventoryQuantities": [
                        {"locationId": "gid://shopify/Location/1", "name": "available", "quantity": 5}
                    ],
                }
            ],
            "files": [{"originalSource": "https://images.example.com/1.jpg", "contentType": "IMAGE"}],
        },
        "identifier": None,
    }


def test_retried_publish_updates_the_product_found_by_sku(shop, client):
    found = {
        "id": "gid://shopify/ProductVariant/2001",
        "sku": "AM-7",
        "product": {"id": "gid://shopify/Product/555", "status": "DRAFT"},
    }
    shop.answer("ProductBySku", {"productVariants": {"nodes": [found]}})
    shop.answer("ProductSet", product_set_answer)

    assert client.publish(listing_data()) == "gid://shopify/Product/555"

    variables = shop.calls[1][1]
    assert variables["identifier"] == {"id": "gid://shopify/Product/555"}
    assert variables["input"]["variants"][0]["id"] == "gid://shopify/ProductVariant/2001"


def test_publish_user_errors_are_rejected_with_shopifys_message(shop, client):
    shop.answer("ProductBySku", {"productVariants": {"nodes": []}})
    shop.answer(
        "ProductSet",
        {
            "productSet": {
                "product": None,
                "userErrors": [{"field": ["input", "title"], "message": "Title is too long"}],
            }
        },
    )
    with pytest.raises(Rejected) as caught:
        client.publish(listing_data())
    assert caught.value.message == "Title is too long"


def test_publish_needs_a_location(shop, client):
    with pytest.raises(Rejected) as caught:
        client.publish(listing_data(publish_settings={}))
    assert caught.value.message == MISSING_LOCATION_MESSAGE
    assert shop.calls == []


# --- Price and quantity --------------------------------------------------------------------


def test_many_prices_and_quantities_are_one_mutation(shop, client):
    shop.answer("ProductsForUpdate", for_update(1, 2, 3))

    def written(variables):
        answer = {
            f"p{n}": {
                "productVariants": [{"id": variables[f"v{n}"][0]["id"], "price": variables[f"v{n}"][0]["price"]}],
                "userErrors": [],
            }
            for n in range(2)
        }
        answer["inventory"] = {"inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/9"}}
        answer["inventory"]["userErrors"] = []
        return answer

    shop.answer("PriceQuantity", written)
    items = [
        PriceQuantity(ListingRef("AM-1", "gid://shopify/Product/1"), price=Decimal("18.49"), quantity=3),
        PriceQuantity(ListingRef("AM-2", "gid://shopify/Product/2"), price=Decimal("7.00")),
        PriceQuantity(ListingRef("AM-3", "gid://shopify/Product/3"), quantity=0),
    ]
    results = client.update_price_quantity(items)

    assert [r.ok for r in results] == [True, True, True]
    assert shop.operations() == ["ProductsForUpdate", "PriceQuantity"]
    assert shop.calls[0][1] == {"ids": [f"gid://shopify/Product/{n}" for n in (1, 2, 3)]}
    variables = shop.calls[1][1]
    assert variables["p0"] == "gid://shopify/Product/1"
    assert variables["v0"] == [{"id": "gid://shopify/ProductVariant/1", "price": "18.49"}]
    assert variables["v1"] == [{"id": "gid://shopify/ProductVariant/2", "price": "7.00"}]
    assert variables["inventory"] == {
        "name": "available",
        "reason": "correction",
        "quantities": [
            {
                "inventoryItemId": f"gid://shopify/InventoryItem/{n}",
                "locationId": "gid://shopify/Location/1",
                "quantity": q,
                "changeFromQuantity": None,
            }
            for n, q in ((1, 3), (3, 0))
        ],
    }
    uuid.UUID(variables["idempotencyKey"])
    assert "@idempotent(key: $idempotencyKey)" in json.loads(shop.calls[1][2].content)["query"]


def test_a_user_error_fails_only_its_item(shop, client):
    shop.answer("ProductsForUpdate", for_update(1, 2))
    shop.answer(
        "PriceQuantity",
        {
            "p0": {
                "productVariants": [],
                "userErrors": [{"field": ["variants", "0", "price"], "message": "Bad price"}],
            },
            "p1": {"productVariants": [{"id": "gid://shopify/ProductVariant/2", "price": "5.00"}], "userErrors": []},
        },
    )
    results = client.update_price_quantity(
        [
            PriceQuantity(ListingRef("AM-1", "gid://shopify/Product/1"), price=Decimal("-1")),
            PriceQuantity(ListingRef("AM-2", "gid://shopify/Product/2"), price=Decimal("5")),
        ]
    )
    assert isinstance(results[0].error, Rejected) and results[0].error.message == "Bad price"
    assert results[1].ok


def test_a_product_gone_from_the_shop_is_not_found(shop, client):
    shop.answer("ProductsForUpdate", {"nodes": [None]})
    [result] = client.update_price_quantity([PriceQuantity(ListingRef("AM-1", "gid://shopify/Product/1"), quantity=1)])
    assert isinstance(result.error, NotFound)
    assert shop.operations() == ["ProductsForUpdate"]


# --- Pause, resume, end, state -------------------------------------------------------------


def status_answer(variables):
    product = variables["product"]
    return {"productUpdate": {"product": {"id": product["id"], "status": product["status"]}, "userErrors": []}}


@pytest.mark.parametrize(("action", "status"), [("pause", "DRAFT"), ("end", "ARCHIVED")])
def test_pause_drafts_and_end_archives(shop, client, action, status):
    shop.answer("ProductUpdateStatus", status_answer)
    getattr(client, action)(ListingRef("AM-7", PRODUCT))
    assert shop.calls[0][1] == {"product": {"id": PRODUCT, "status": status}}


def test_resume_activates_and_sets_the_quantity(shop, client):
    shop.answer("ProductUpdateStatus", status_answer)
    shop.answer("ProductsForUpdate", for_update(1001))
    shop.answer(
        "PriceQuantity",
        {
            "inventory": {
                "inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/1"},
                "userErrors": [],
            }
        },
    )
    assert client.resume(ListingRef("AM-7", PRODUCT), quantity=4) == PRODUCT
    assert shop.operations() == ["ProductUpdateStatus", "ProductsForUpdate", "PriceQuantity"]
    assert shop.calls[0][1]["product"]["status"] == "ACTIVE"
    assert shop.calls[2][1]["inventory"]["quantities"][0]["quantity"] == 4


def test_remote_state_reads_status_price_and_quantity(shop, client):
    shop.answer(
        "ProductState",
        {
            "product": {
                "id": PRODUCT,
                "status": "DRAFT",
                "variants": {"nodes": [{"id": "v", "sku": "AM-7", "price": "19.99", "inventoryQuantity": 3}]},
            }
        },
    )
    state = client.get_remote_state(ListingRef("AM-7", PRODUCT))
    assert (state.status, state.price, state.quantity, state.raw_status) == (
        RemoteStatus.PAUSED,
        Decimal("19.99"),
        3,
        "DRAFT",
    )


def test_remote_state_of_a_deleted_product_is_missing(shop, client):
    shop.answer("ProductState", {"product": None})
    assert client.get_remote_state(ListingRef("AM-7", PRODUCT)).status == RemoteStatus.MISSING


# --- Orders and traffic --------------------------------------------------------------------


def order(number, *, test=False, cancelled=None):
    return {
        **shopify_order(number, sku="AM-7", product_id=PRODUCT, quantity=2, price="19.99", cancelled=cancelled),
        "test": test,
    }


def test_orders_are_paged_and_normalised(shop, client):
    shop.answer(
        "Orders",
        {"orders": {"pageInfo": {"hasNextPage": True, "endCursor": "c1"}, "nodes": [order(1), order(2, test=True)]}},
        {
            "orders": {
                "pageInfo": {"hasNextPage": False, "endCursor": None},
                "nodes": [order(3, cancelled="2026-03-03T09:00:00Z")],
            }
        },
    )
    lines = client.fetch_orders(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    assert [v for _, v, _ in shop.calls] == [
        {"first": 100, "after": None, "query": "updated_at:>='2026-03-01T08:00:00Z'"},
        {"first": 100, "after": "c1", "query": "updated_at:>='2026-03-01T08:00:00Z'"},
    ]
    assert [
        (line.order_id, line.sku, line.external_id, line.quantity, line.unit_price, line.cancelled) for line in lines
    ] == [
        ("gid://shopify/Order/1", "AM-7", PRODUCT, 2, Decimal("19.99"), False),
        ("gid://shopify/Order/3", "AM-7", PRODUCT, 2, Decimal("19.99"), True),
    ]
    assert lines[0].fees is None and lines[0].ordered_at == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


def test_shopify_reports_no_traffic(shop, client):
    assert client.fetch_traffic([PRODUCT], date(2026, 3, 1)) == []
    assert shop.calls == []


# --- Throttling and errors -----------------------------------------------------------------


def test_low_bucket_makes_the_next_call_wait(api, client, sleeps):
    route = api.post(GRAPHQL).respond(
        200,
        json={"data": {"product": None}, "extensions": cost(available=40.0)},
    )
    client.get_remote_state(ListingRef("AM-7", PRODUCT))
    assert sleeps == []
    client.get_remote_state(ListingRef("AM-7", PRODUCT))
    assert sleeps == [pytest.approx(0.6)]  # (100 wanted − 40 left) / 100 points a second
    assert route.call_count == 2


def test_throttled_answer_is_retryable(api, client):
    api.post(GRAPHQL).respond(
        200,
        json={
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": cost(available=5.0, requested=505),
        },
    )
    with pytest.raises(Retryable) as caught:
        client.get_remote_state(ListingRef("AM-7", PRODUCT))
    assert caught.value.retry_after == pytest.approx(5.0)


def test_429_is_retryable_with_retry_after(api, client):
    api.post(GRAPHQL).respond(429, json={"errors": "Exceeded 2 calls per second"}, headers={"Retry-After": "2.0"})
    with pytest.raises(Retryable) as caught:
        client.get_remote_state(ListingRef("AM-7", PRODUCT))
    assert caught.value.retry_after == 2.0


def test_401_refreshes_once_then_needs_reauth(api, client, store):
    graphql = api.post(GRAPHQL).respond(401, json={"errors": "[API] Invalid API key or access token"})
    token = api.post(TOKEN_URL).respond(200, json={"access_token": "shpat_2", "expires_in": 3600})
    with pytest.raises(NeedsReauth):
        client.get_remote_state(ListingRef("AM-7", PRODUCT))
    assert token.call_count == 1 and graphql.call_count == 2
    assert graphql.calls[1].request.headers["X-Shopify-Access-Token"] == "shpat_2"


def test_access_denied_needs_reauth(api, client):
    api.post(GRAPHQL).respond(
        200, json={"errors": [{"message": "Access denied for orders field.", "extensions": {"code": "ACCESS_DENIED"}}]}
    )
    with pytest.raises(NeedsReauth):
        client.fetch_orders(datetime(2026, 3, 1, tzinfo=UTC))


def test_other_graphql_errors_are_rejected_without_tokens(api, client):
    api.post(GRAPHQL).respond(200, json={"errors": [{"message": f"Field 'x' doesn't exist ({ACCESS})"}]})
    with pytest.raises(Rejected) as caught:
        client.get_remote_state(ListingRef("AM-7", PRODUCT))
    assert ACCESS not in caught.value.message and "Field 'x' doesn't exist" in caught.value.message


def test_publish_defaults_are_the_first_active_location(shop, client):
    shop.answer("Locations", {"locations": {"nodes": [{"id": "gid://shopify/Location/7", "name": "Main"}]}})

    assert client.fetch_publish_defaults() == {"location_id": "gid://shopify/Location/7"}
    assert shop.operations() == ["Locations"]
