"""The seller API's products through their real URLs: the product page's filters, adding by link or
ASIN (known → the product at once, else a Job; never a page read in the request), history, refresh
now, the seller's own values and untracking, with the page's rules and messages."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import services
from catalog.forms import OVERRIDE_EMPTY
from catalog.models import Availability, ProductOverride
from catalog.services import LIMIT_REACHED_MESSAGE, RefreshOutcome
from catalog.tests.factories import PriceHistoryFactory, ProductFactory, StockHistoryFactory, SupplierFactory
from config.tests.api_helpers import problem
from marketplaces.models import ListingStatus
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from monitoring.cycle import REFRESH_ARCHIVED, REFRESH_JOB_TYPE
from monitoring.models import Job

pytestmark = pytest.mark.django_db
PRODUCTS = "/api/v1/products/"


def detail(product, suffix=""):
    return f"{PRODUCTS}{product.pk}/{suffix}"


@pytest.fixture
def no_reading(monkeypatch):
    """Fails the test if a supplier page would be read (the API never reads one in the request)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a supplier page was read during the request")

    monkeypatch.setattr(services, "product_read", refuse)
    monkeypatch.setattr(services, "product_refresh", refuse)


def test_the_list_has_the_product_pages_filters_search_and_ordering(seller_api, user):
    amazon = SupplierFactory(name="amazon-test")
    kettle = ProductFactory(title="Blue kettle", price=Decimal("30.00"), supplier=amazon)
    lamp = ProductFactory(title="Desk lamp", price=Decimal("12.00"), availability=Availability.OUT_OF_STOCK)
    mug = ProductFactory(title="Blue mug", price=Decimal("8.00"))
    ProductFactory(title="Blue, but not mine")
    user.tracked_products.add(kettle, lamp, mug)

    def ids(**params):
        return [row["id"] for row in seller_api.get(PRODUCTS, params).json()["results"]]

    assert set(ids()) == {kettle.pk, lamp.pk, mug.pk}
    assert ids(q="blue", ordering="price") == [mug.pk, kettle.pk]
    assert ids(availability="out_of_stock") == [lamp.pk]
    assert ids(price_min="10", price_max="20") == [lamp.pk]
    assert ids(supplier="amazon-test") == [kettle.pk]
    assert ids(ordering="-title") == [lamp.pk, mug.pk, kettle.pk]
    reversed_range = problem(seller_api.get(PRODUCTS, {"price_min": "20", "price_max": "10"}))
    assert "swap them" in reversed_range["detail"]


def test_a_product_shows_its_money_as_strings_with_the_currency_and_times_with_offsets(seller_api, user):
    product = ProductFactory(price=Decimal("19.90"), currency="EUR", last_scraped_at=timezone.now())
    user.tracked_products.add(product)

    body = seller_api.get(detail(product)).json()

    assert (body["price"], body["currency"]) == ("19.90", "EUR")
    assert body["last_scraped_at"].endswith(("Z", "+00:00"))


def test_adding_a_known_product_tracks_it_at_once(seller_api, user, no_reading):
    known = ProductFactory(supplier=SupplierFactory(name="amazon"), asin="B00FLYWNYQ")

    response = seller_api.post(PRODUCTS, {"items": ["https://www.amazon.com/dp/B00FLYWNYQ"]})

    assert response.status_code == 201
    assert response.json()["id"] == known.pk and response["Location"] == detail(known)
    assert user.tracked_products.filter(pk=known.pk).exists()
    assert seller_api.post(PRODUCTS, {"items": ["B00FLYWNYQ"]}).status_code == 200  # already tracked
    assert not Job.objects.exists()


def test_an_unknown_product_is_added_by_a_job_and_no_page_is_read_in_the_request(
    seller_api, user, no_reading, monkeypatch, django_capture_on_commit_callbacks
):
    response = seller_api.post(PRODUCTS, {"items": ["B07H57DNVV"]})

    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert response["Location"] == f"/api/v1/jobs/{job.pk}/"
    assert (job.type, job.status, job.params["read_now"]) == ("add_products", "pending", True)
    assert not user.tracked_products.exists()

    read = []
    monkeypatch.setattr(
        services,
        "product_refresh",
        lambda *, product: read.append(product.pk) or RefreshOutcome(product_id=product.pk, status="updated"),
    )
    from catalog.tasks import products_import_task

    products_import_task(job.pk)  # what the worker does afterwards
    followed = seller_api.get(f"/api/v1/jobs/{job.pk}/").json()
    assert followed["status"] == "success" and followed["result"]["added"] == 1
    assert user.tracked_products.get().asin == "B07H57DNVV" and len(read) == 1


def test_several_items_are_one_job_read_by_the_next_round(seller_api, no_reading):
    response = seller_api.post(PRODUCTS, {"items": ["B00FLYWNYQ", "https://shop.example.com/p/kettle"]})

    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert [row["text"] for row in job.params["rows"]] == ["B00FLYWNYQ", "https://shop.example.com/p/kettle"]
    assert job.params["read_now"] is False


def test_something_that_is_not_a_product_is_a_field_error(seller_api, no_reading):
    body = problem(seller_api.post(PRODUCTS, {"items": ["ftp://example.com/x"]}))

    assert body["errors"][0]["pointer"] == "#/items/0"
    assert not Job.objects.exists()


def test_the_tier_limit_refuses_with_the_pages_message(seller_api, user, settings, no_reading):
    settings.TIER_PRODUCT_LIMITS = {**settings.TIER_PRODUCT_LIMITS, "free": 1}
    user.tracked_products.add(ProductFactory())
    known = ProductFactory(supplier=SupplierFactory(name="amazon"), asin="B00FLYWNYQ")

    for items in (["B00FLYWNYQ"], ["B01LW7X0JJ", "B07H57DNVV"]):
        response = seller_api.post(PRODUCTS, {"items": items})
        assert response.status_code == 403
        assert problem(response)["detail"] == LIMIT_REACHED_MESSAGE.format(tier="Free", limit=1)
    assert not user.tracked_products.filter(pk=known.pk).exists() and not Job.objects.exists()


def test_history_merges_price_and_stock_changes_newest_first_in_pages(seller_api, user):
    product = ProductFactory()
    user.tracked_products.add(product)
    base = timezone.now() - timedelta(days=10)
    price_rows = [PriceHistoryFactory(product=product, recorded_at=base + timedelta(days=n)) for n in (0, 2, 4)]
    stock_rows = [StockHistoryFactory(product=product, recorded_at=base + timedelta(days=n)) for n in (1, 2, 5)]

    first = seller_api.get(detail(product, "history/"), {"limit": 4}).json()
    second = seller_api.get(first["next"]).json()
    back = seller_api.get(second["previous"]).json()

    order = [(row["kind"], row["id"]) for row in first["results"] + second["results"]]
    assert order == [
        ("stock", stock_rows[2].pk),
        ("price", price_rows[2].pk),
        ("stock", stock_rows[1].pk),  # same moment as a price change: stock first, then price
        ("price", price_rows[1].pk),
        ("stock", stock_rows[0].pk),
        ("price", price_rows[0].pk),
    ]
    assert second["next"] is None and back["results"] == first["results"]
    assert first["results"][1]["new_price"] == "21.99"
    only_stock = seller_api.get(detail(product, "history/"), {"kind": "stock"}).json()["results"]
    assert {row["kind"] for row in only_stock} == {"stock"}


def test_history_as_csv_is_the_product_pages_download(seller_api, user):
    product = ProductFactory(title="=cmd")
    user.tracked_products.add(product)
    PriceHistoryFactory(product=product)

    response = seller_api.get(detail(product, "history/"), HTTP_ACCEPT="text/csv")

    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "recorded_at,product,kind,old,new,currency,change_percent,reason"
    assert "'=cmd,price,19.99,21.99,USD,10.01,scrape" in lines[1]


def test_refresh_now_starts_one_job_and_follows_a_running_one(seller_api, user):
    product = ProductFactory()
    user.tracked_products.add(product)

    first = seller_api.post(detail(product, "refresh/"))
    second = seller_api.post(detail(product, "refresh/"))

    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    job = Job.objects.get()
    assert (job.type, job.params) == (REFRESH_JOB_TYPE, {"product_ids": [product.pk]})


def test_an_archived_product_is_not_refreshed(seller_api, user):
    product = ProductFactory(is_archived=True)
    user.tracked_products.add(product)

    response = seller_api.post(detail(product, "refresh/"))

    assert response.status_code == 409 and problem(response)["detail"] == REFRESH_ARCHIVED


def test_the_broker_down_is_a_503_with_the_reason(seller_api, user, monkeypatch):
    """The enqueue helper reports an outage by handing back the Job already failed."""
    from monitoring import records

    def failed_start(task, *, type, user=None, params=None, total=0):
        return Job.objects.create(
            user=user, type=type, status="failed", error_message="Background work is unavailable right now."
        )

    monkeypatch.setattr(records, "job_start", failed_start)
    product = ProductFactory()
    user.tracked_products.add(product)

    response = seller_api.post(detail(product, "refresh/"))

    assert response.status_code == 503
    assert "Background work is unavailable" in problem(response)["detail"] and response["Retry-After"]


def test_the_sellers_own_values_are_set_shown_and_cleared(seller_api, user):
    product = ProductFactory(price=Decimal("20.00"), stock=None)
    user.tracked_products.add(product)
    assert seller_api.get(detail(product, "override/")).status_code == 404

    saved = seller_api.put(detail(product, "override/"), {"price": "17.50", "stock": 4, "note": "my supplier"})

    assert saved.status_code == 200
    assert (saved.json()["price"], saved.json()["stock"], saved.json()["currency"]) == ("17.50", 4, "USD")
    override = ProductOverride.objects.get(user=user, product=product)
    assert override.price == Decimal("17.50")
    product.refresh_from_db()
    assert product.price == Decimal("20.00")  # the shared product is untouched
    assert seller_api.get(detail(product, "override/")).json()["stock"] == 4
    assert seller_api.delete(detail(product, "override/")).status_code == 204
    assert not ProductOverride.objects.exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [({}, None), ({"price": "0"}, "price"), ({"stock": -1}, "stock")],
    ids=["empty", "price", "stock"],
)
def test_own_values_are_checked_as_on_the_product_page(seller_api, user, values, field):
    product = ProductFactory()
    user.tracked_products.add(product)

    body = problem(seller_api.put(detail(product, "override/"), values))

    assert body["status"] == 400
    if field:
        assert body["errors"][0]["pointer"] == f"#/{field}"
    else:
        assert body["detail"] == OVERRIDE_EMPTY


def test_own_shipping_is_set_and_kept_by_a_put_that_leaves_it_out(seller_api, user):
    product = ProductFactory(price=Decimal("20.00"))
    user.tracked_products.add(product)

    saved = seller_api.put(detail(product, "override/"), {"shipping": "4.50"})
    assert saved.status_code == 200 and saved.json()["shipping"] == "4.50" and saved.json()["price"] is None
    again = seller_api.put(detail(product, "override/"), {"price": "18.00"})

    assert (again.json()["price"], again.json()["shipping"]) == ("18.00", "4.50")
    assert ProductOverride.objects.get(user=user, product=product).shipping == Decimal("4.50")


def test_untracking_follows_the_pages_rule_for_listed_products(seller_api, user):
    product = ProductFactory()
    user.tracked_products.add(product)
    listing = ListingFactory(
        store_account=StoreAccountFactory(user=user), product=product, status=ListingStatus.PENDING
    )

    refused = seller_api.delete(detail(product))
    assert refused.status_code == 409 and problem(refused)["code"] == "listed"
    assert user.tracked_products.filter(pk=product.pk).exists()

    dropped = seller_api.delete(detail(product) + "?end_listings=true")
    assert dropped.status_code == 204
    listing.refresh_from_db()
    assert listing.status == ListingStatus.ENDED
    assert not user.tracked_products.filter(pk=product.pk).exists()


def test_an_unlisted_product_is_untracked(seller_api, user):
    product = ProductFactory()
    user.tracked_products.add(product)

    assert seller_api.delete(detail(product)).status_code == 204
    assert not user.tracked_products.exists()
    assert seller_api.get(detail(product)).status_code == 404
