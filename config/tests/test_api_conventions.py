"""What every endpoint of the seller API does the same way, through the real URLs: problem details,
cursor pagination, Idempotency-Key, rate limits with their headers, the schema and the docs."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from accounts.limits import api_call_count
from accounts.models import IdempotencyKey
from catalog.tests.factories import ProductFactory
from config.rest import idempotency
from config.rest.pagination import CURSOR_INVALID
from config.tests.api_helpers import problem
from conftest import skip_or_fail
from monitoring.models import Job

pytestmark = pytest.mark.django_db
PRODUCTS = "/api/v1/products/"


# --- Problem details ------------------------------------------------------------------------


def test_errors_are_problem_documents_with_field_errors(seller_api):
    body = problem(seller_api.post(PRODUCTS, {"items": []}))

    assert body["type"].endswith("problem/validation") and body["title"] == "Invalid input"
    assert body["instance"] == PRODUCTS
    assert body["errors"][0]["pointer"] == "#/items"

    body = problem(seller_api.get(PRODUCTS, {"limit": "0"}))
    assert body["errors"] == [
        {"parameter": "limit", "detail": "limit must be a whole number from 1 to 200.", "code": "invalid"}
    ]


def test_an_unknown_id_and_an_unknown_address_are_404_problems(seller_api):
    assert problem(seller_api.get("/api/v1/products/987654/"))["code"] == "not_found"
    unknown = seller_api.get("/api/v1/no-such-thing/")
    assert problem(unknown)["status"] == 404 and unknown["RateLimit-Remaining"]


def test_a_method_or_media_type_the_endpoint_does_not_take_is_refused_as_a_problem(seller_api):
    assert problem(seller_api.delete("/api/v1/me/"))["status"] == 405
    assert problem(seller_api.get("/api/v1/me/", HTTP_ACCEPT="text/html"))["status"] == 406
    assert (
        problem(seller_api.post(PRODUCTS, "items=B00", content_type="application/x-www-form-urlencoded"))["status"]
        == 415
    )


def test_paths_end_with_a_slash_and_django_answers_those_without(seller_api):
    response = seller_api.get("/api/v1/me")
    assert response.status_code == 301 and response.url == "/api/v1/me/"

    response = seller_api.post("/api/v1/products", {"items": ["B00FLYWNYQ"]})
    assert response.status_code == 301  # Django's redirect: the body is not carried over
    assert not Job.objects.exists()


# --- Cursor pagination ----------------------------------------------------------------------


@pytest.fixture
def priced_products(user):
    """Eight products with tied and empty prices, tracked by the seller."""
    prices = [Decimal("5.00"), None, Decimal("5.00"), Decimal("2.50"), None, Decimal("9.99"), Decimal("5.00"), None]
    products = [ProductFactory(price=price) for price in prices]
    user.tracked_products.add(*products)
    return products


def walk(client, url, params, direction="next"):
    ids, pages = [], 0
    while url:
        body = client.get(url, params if pages == 0 else None).json()
        assert "results" in body, body
        ids += [row["id"] for row in body["results"]]
        url = body[direction]
        pages += 1
    return ids, pages


@pytest.mark.parametrize("ordering", ["price", "-price", "-created_at", "title"])
def test_a_sorted_list_pages_through_every_row_once_in_order_and_back(seller_api, priced_products, ordering):
    everything = seller_api.get(PRODUCTS, {"ordering": ordering, "limit": 200}).json()["results"]
    expected = [row["id"] for row in everything]

    forward, pages = walk(seller_api, PRODUCTS, {"ordering": ordering, "limit": 3})

    assert forward == expected and pages == 3
    assert len(set(forward)) == len(priced_products)
    if ordering in ("price", "-price"):
        prices = [Decimal(row["price"]) for row in everything if row["price"] is not None]
        assert prices == sorted(prices, reverse=ordering.startswith("-"))
        assert [row["price"] for row in everything[-3:]] == [None, None, None]  # empty prices last
    last_page = seller_api.get(PRODUCTS, {"ordering": ordering, "limit": 3})
    while last_page.json()["next"]:
        last_page = seller_api.get(last_page.json()["next"])
    backward = [row["id"] for row in last_page.json()["results"]]
    url = last_page.json()["previous"]
    while url:
        body = seller_api.get(url).json()
        backward = [row["id"] for row in body["results"]] + backward
        url = body["previous"]
    assert backward == expected


def test_rows_added_while_paging_are_neither_repeated_nor_make_a_row_skip(seller_api, priced_products, user):
    first = seller_api.get(PRODUCTS, {"ordering": "price", "limit": 3}).json()
    user.tracked_products.add(ProductFactory(price=Decimal("1.00")))  # sorts before the whole first page

    rest, _ = walk(seller_api, first["next"], None)

    seen = [row["id"] for row in first["results"]] + rest
    assert len(seen) == len(set(seen)) == len(priced_products)


def test_a_broken_cursor_or_one_from_another_ordering_is_a_400(seller_api, priced_products):
    next_url = seller_api.get(PRODUCTS, {"ordering": "price", "limit": 2}).json()["next"]

    assert problem(seller_api.get(PRODUCTS, {"cursor": "not-a-cursor"}))["errors"][0]["detail"] == CURSOR_INVALID
    swapped = next_url.replace("ordering=price", "ordering=title")
    assert problem(seller_api.get(swapped))["errors"][0]["parameter"] == "cursor"
    assert problem(seller_api.get(PRODUCTS, {"limit": "201"}))["errors"][0]["parameter"] == "limit"


# --- Idempotency ----------------------------------------------------------------------------


def test_a_retry_with_the_same_key_gets_the_first_answer_and_creates_nothing(seller_api, user):
    first = seller_api.post(PRODUCTS, {"items": ["B00FLYWNYQ", "B07H57DNVV"]}, HTTP_IDEMPOTENCY_KEY="add-1")
    again = seller_api.post(PRODUCTS, {"items": ["B00FLYWNYQ", "B07H57DNVV"]}, HTTP_IDEMPOTENCY_KEY="add-1")

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Job.objects.filter(user=user).count() == 1
    other = seller_api.post(PRODUCTS, {"items": ["B00FLYWNYQ", "B07H57DNVV"]}, HTTP_IDEMPOTENCY_KEY="add-2")
    assert other.json()["id"] != first.json()["id"]


def test_the_same_key_with_another_request_is_refused(seller_api, user):
    seller_api.post(PRODUCTS, {"items": ["B00FLYWNYQ", "B07H57DNVV"]}, HTTP_IDEMPOTENCY_KEY="add-1")

    response = seller_api.post(PRODUCTS, {"items": ["B01LW7X0JJ", "B07H57DNVV"]}, HTTP_IDEMPOTENCY_KEY="add-1")

    assert response.status_code == 422
    assert problem(response)["detail"] == idempotency.KEY_REUSED
    assert Job.objects.filter(user=user).count() == 1


def test_a_key_still_being_answered_is_a_409_and_one_past_the_window_is_new(seller_api, user, rf):
    body = b'{"items": ["B00FLYWNYQ", "B07H57DNVV"]}'
    copy = rf.post(PRODUCTS, body, content_type="application/json")
    fingerprint = idempotency._fingerprint(copy)
    IdempotencyKey.objects.create(user=user, key="busy", fingerprint=fingerprint)

    busy = seller_api.post(PRODUCTS, body, HTTP_IDEMPOTENCY_KEY="busy")
    assert busy.status_code == 409 and busy["Retry-After"] == "1"
    assert problem(busy)["detail"] == idempotency.KEY_IN_USE

    IdempotencyKey.objects.filter(key="busy").update(status=202, body={}, created_at=timezone.now() - timedelta(days=2))
    assert seller_api.post(PRODUCTS, body, HTTP_IDEMPOTENCY_KEY="busy").status_code == 202
    assert Job.objects.filter(user=user).count() == 1


def test_each_seller_has_keys_of_their_own(seller_api, api_client):
    from accounts.tests.factories import UserFactory
    from accounts.tokens import api_session_create

    other = UserFactory()
    other.api_key_generate()
    other_token = api_session_create(user=other).access_token
    seller_api.post(PRODUCTS, {"items": ["B00FLYWNYQ", "B07H57DNVV"]}, HTTP_IDEMPOTENCY_KEY="same")

    response = api_client.post(
        PRODUCTS,
        {"items": ["B00FLYWNYQ", "B07H57DNVV"]},
        HTTP_IDEMPOTENCY_KEY="same",
        HTTP_AUTHORIZATION=f"Bearer {other_token}",
    )

    assert response.status_code == 202 and "Idempotent-Replayed" not in response
    assert Job.objects.get(pk=response.json()["id"]).user == other


# --- Rate limits ----------------------------------------------------------------------------


@pytest.fixture(params=["db", "redis"])
def backend(request, settings):
    if request.param == "redis" and not settings.REDIS_URL:
        skip_or_fail("Redis is not configured (REDIS_URL): the Redis counter is not tested")
    settings.API_RATE_LIMIT_BACKEND = request.param
    return request.param


def test_over_the_minute_limit_is_429_with_retry_after_and_every_answer_has_the_headers(seller_api, settings, backend):
    settings.TIER_API_RATE_LIMITS = {**settings.TIER_API_RATE_LIMITS, "free": {"minute": 3, "day": 100}}

    answers = [seller_api.get("/api/v1/me/"), seller_api.get("/api/v1/products/424242/"), seller_api.get(PRODUCTS)]
    refused = seller_api.get("/api/v1/me/")

    assert [answer.status_code for answer in answers] == [200, 404, 200]
    assert [answer["RateLimit-Remaining"] for answer in answers] == ["2", "1", "0"]
    assert all(answer["RateLimit-Limit"] == "3" for answer in answers)
    assert 0 < int(answers[0]["RateLimit-Reset"]) <= 60
    assert refused.status_code == 429
    body = problem(refused)
    assert body["code"] == "rate_limited" and "Free plan allows 3 API calls per minute" in body["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 60 and refused["RateLimit-Remaining"] == "0"


def test_the_daily_limit_holds_too_and_says_so(seller_api, settings, backend):
    settings.TIER_API_RATE_LIMITS = {**settings.TIER_API_RATE_LIMITS, "free": {"minute": 100, "day": 2}}
    seller_api.get("/api/v1/me/")
    seller_api.get("/api/v1/me/")

    refused = seller_api.get("/api/v1/me/")

    assert refused.status_code == 429 and refused["RateLimit-Limit"] == "2"
    assert "per day (UTC)" in problem(refused)["detail"]
    assert int(refused["Retry-After"]) > 60 or timezone.now().hour == 23


def test_requests_without_a_token_count_per_address_and_carry_the_headers(api_client, settings, backend):
    settings.API_ANONYMOUS_RATE_LIMITS = {"minute": 2, "day": 100}

    first = api_client.get("/api/v1/me/")
    second = api_client.post("/api/v1/auth/token/", {"api_key": "am_wrong"})
    third = api_client.get("/api/v1/me/")

    assert (first.status_code, second.status_code, third.status_code) == (401, 401, 429)
    assert first["RateLimit-Remaining"] == "1" and second["RateLimit-Remaining"] == "0"


@pytest.mark.django_db(transaction=True)
def test_calls_are_counted_once_each_across_concurrent_workers(backend):
    allowed = []

    def worker():
        try:
            for _ in range(10):
                allowed.append(api_call_count("user:concurrency", {"minute": 35, "day": 1000}).allowed)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert allowed.count(True) == 35 and len(allowed) == 60


# --- Schema and docs ------------------------------------------------------------------------


def test_the_schema_has_full_paths_and_is_generated_without_a_warning(api_client, tmp_path):
    response = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/auth/token/", "/api/v1/products/{id}/", "/api/v1/listings/bulk/"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "cookie" not in str(schema["components"]["securitySchemes"]).lower().replace("cookies are not", "")
    call_command("spectacular", "--file", str(tmp_path / "schema.yaml"), "--validate", "--fail-on-warn")


def test_the_docs_page_loads_swagger_ui_from_our_origin_without_inline_code(api_client):
    page = api_client.get("/api/v1/docs/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<style" not in html and "<script>" not in html and "https://" not in html
    init = api_client.get("/api/v1/docs/", {"script": ""})
    assert init["Content-Type"].startswith("application/javascript") and "/api/v1/schema/" in init.content.decode()
