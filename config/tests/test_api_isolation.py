"""Another seller's id is a 404 on every endpoint of the seller API, and nothing of theirs changes:
the whole matrix of endpoints × another seller's product, listing, store, order, alert and job, through
the real URLs. A test also checks that the matrix names every path of the schema that takes an
id, so a new endpoint cannot be left out."""

from decimal import Decimal

import pytest

from catalog.models import ProductOverride
from catalog.tests.factories import ProductFactory
from config.tests.api_helpers import api_schema, problem
from marketplaces.models import ListingSource, ListingStatus
from marketplaces.tests.doubles import BUYER_NAME
from marketplaces.tests.factories import (
    ListingFactory,
    MarketplaceDataFactory,
    OrderFactory,
    SaleFactory,
    StoreAccountFactory,
)
from monitoring.tests.factories import AlertFactory, JobFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(other_user):
    """Another seller's things (the caller is `user`, who has things of their own too)."""
    product = ProductFactory(price=Decimal("10.00"))
    other_user.tracked_products.add(product)
    ProductOverride.objects.create(user=other_user, product=product, price=Decimal("9.00"), currency="USD")
    store = StoreAccountFactory(user=other_user)
    listing = ListingFactory(store_account=store, product=product, status=ListingStatus.PENDING)
    MarketplaceDataFactory(listing=listing)
    order = OrderFactory(store_account=store, state="bought")
    order.ship_to = {"name": BUYER_NAME, "line1": "1 Infinite Loop"}
    order.save(update_fields=["ship_to"])
    SaleFactory(order=order, listing=listing)
    backup = ProductFactory(price=Decimal("11.00"))
    other_user.tracked_products.add(backup)
    source = ListingSource.objects.create(listing=listing, product=backup, position=1)
    return {
        "source": source.pk,
        "product": product.pk,
        "store": store.pk,
        "listing": listing.pk,
        "order": order.pk,
        "alert": AlertFactory(user=other_user).pk,
        "job": JobFactory(user=other_user, status="failed", task_name="monitoring.tasks.tracking_cycle_task").pk,
    }


@pytest.fixture
def mine(user):
    product = ProductFactory(price=Decimal("10.00"))
    user.tracked_products.add(product)
    store = StoreAccountFactory(user=user)
    listing = ListingFactory(store_account=store, product=product, status=ListingStatus.PENDING)
    return {"product": product.pk, "store": store.pk, "listing": listing.pk}


# (method, path template, body or None, the kind of their id it uses); {own_*} names the caller's.
MATRIX = [
    ("get", "/api/v1/products/{product}/", None),
    ("delete", "/api/v1/products/{product}/", None),
    ("get", "/api/v1/products/{product}/history/", None),
    ("post", "/api/v1/products/{product}/refresh/", None),
    ("get", "/api/v1/products/{product}/override/", None),
    ("put", "/api/v1/products/{product}/override/", {"price": "5.00"}),
    ("delete", "/api/v1/products/{product}/override/", None),
    ("get", "/api/v1/listings/{listing}/", None),
    ("patch", "/api/v1/listings/{listing}/", {"title": "Mine now"}),
    ("post", "/api/v1/listings/{listing}/pause/", None),
    ("post", "/api/v1/listings/{listing}/resume/", None),
    ("post", "/api/v1/listings/{listing}/end/", None),
    ("post", "/api/v1/listings/{listing}/publish/", None),
    ("post", "/api/v1/listings/bulk/", {"action": "end", "ids": ["{listing}"]}),
    ("get", "/api/v1/listings/{listing}/sources/", None),
    ("post", "/api/v1/listings/{listing}/sources/", {"product_id": "{own_product}", "confirm_same_item": True}),
    ("post", "/api/v1/listings/{own_listing}/sources/", {"product_id": "{product}", "confirm_same_item": True}),
    ("patch", "/api/v1/listings/{listing}/sources/{source}/", {"position": 1}),
    ("delete", "/api/v1/listings/{listing}/sources/{source}/", None),
    ("delete", "/api/v1/listings/{own_listing}/sources/{source}/", None),
    ("post", "/api/v1/listings/", {"product": "{product}", "store": "{own_store}"}),
    ("post", "/api/v1/listings/", {"product": "{own_product}", "store": "{store}"}),
    ("get", "/api/v1/stores/{store}/", None),
    ("get", "/api/v1/stores/{store}/pricing/", None),
    ("patch", "/api/v1/stores/{store}/pricing/", {"markup_percent": "99.00"}),
    ("post", "/api/v1/stores/{store}/pricing/preview/", {"markup_percent": "99.00"}),
    ("post", "/api/v1/alerts/{alert}/read/", None),
    ("post", "/api/v1/alerts/{alert}/acknowledge/", None),
    ("post", "/api/v1/alerts/read/", {"ids": ["{alert}"]}),
    ("post", "/api/v1/alerts/acknowledge/", {"ids": ["{alert}"]}),
    ("get", "/api/v1/jobs/{job}/", None),
    ("post", "/api/v1/jobs/{job}/cancel/", None),
    ("post", "/api/v1/jobs/{job}/retry/", None),
    ("get", "/api/v1/performance/daily/?listing={listing}", None),
    ("get", "/api/v1/performance/daily/?store={store}", None),
    ("get", "/api/v1/listings/?store={store}", None),
    ("get", "/api/v1/orders/{order}/", None),
    ("post", "/api/v1/orders/{order}/buy/", {"supplier_order_number": "1", "cost_item": "1.00"}),
    ("put", "/api/v1/orders/{order}/costs/", {"supplier_order_number": "1", "cost_item": "1.00"}),
    ("post", "/api/v1/orders/{order}/ship/", {"carrier": "USPS", "tracking_number": "9400111"}),
    ("get", "/api/v1/orders/?store={store}", None),
]


def _fill(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body"), MATRIX, ids=[f"{m.upper()} {p}" for m, p, _ in MATRIX])
def test_another_sellers_id_is_a_404_and_changes_nothing(seller_api, theirs, mine, other_user, method, path, body):
    from catalog.models import Product
    from marketplaces.models import Listing, Order, Shipment, StoreAccount
    from monitoring.models import Alert, Job

    ids = {**theirs, **{f"own_{name}": value for name, value in mine.items()}}
    before = {
        "listing": Listing.objects.filter(pk=theirs["listing"]).values().get(),
        "store": StoreAccount.objects.filter(pk=theirs["store"]).values().get(),
        "alert": Alert.objects.filter(pk=theirs["alert"]).values().get(),
        "job": Job.objects.filter(pk=theirs["job"]).values().get(),
        "order": Order.objects.filter(pk=theirs["order"]).values().get(),
        "override": ProductOverride.objects.filter(user=other_user).values().get(),
        "jobs": Job.objects.count(),
        "listings": Listing.objects.count(),
        "source": ListingSource.objects.filter(pk=theirs["source"]).values().get(),
    }

    response = getattr(seller_api, method)(_fill(path, ids), _fill(body, ids))

    assert response.status_code == 404, response.content
    assert problem(response)["code"] == "not_found" and BUYER_NAME not in response.content.decode()
    assert Listing.objects.filter(pk=theirs["listing"]).values().get() == before["listing"]
    assert StoreAccount.objects.filter(pk=theirs["store"]).values().get() == before["store"]
    assert Alert.objects.filter(pk=theirs["alert"]).values().get() == before["alert"]
    assert Job.objects.filter(pk=theirs["job"]).values().get() == before["job"]
    assert Order.objects.filter(pk=theirs["order"]).values().get() == before["order"]
    assert not Shipment.objects.exists()
    assert ProductOverride.objects.filter(user=other_user).values().get() == before["override"]
    assert (Job.objects.count(), Listing.objects.count()) == (before["jobs"], before["listings"])
    assert ListingSource.objects.filter(pk=theirs["source"]).values().get() == before["source"]
    assert other_user.tracked_products.filter(pk=theirs["product"]).exists()
    assert Product.objects.filter(pk=theirs["product"]).exists()


def test_the_matrix_covers_every_path_of_the_schema_that_takes_an_id():
    with_ids = {
        (method, path)
        for path, operations in api_schema()["paths"].items()
        if "{" in path
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    covered = {
        (
            method,
            path.split("?")[0]
            .replace("{product}", "{id}")
            .replace("{listing}", "{id}")
            .replace("{store}", "{id}")
            .replace("{alert}", "{id}")
            .replace("{order}", "{id}")
            .replace("{job}", "{id}")
            .replace("{own_listing}", "{id}")
            .replace("{source}", "{source_id}"),
        )
        for method, path, _ in MATRIX
    }

    assert with_ids <= covered, sorted(with_ids - covered)
