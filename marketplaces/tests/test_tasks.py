"""Marketplace tasks: the publish Job, the scheduled fan-outs (never demo stores), held pushes, rates."""

from decimal import Decimal

import pytest
import respx

from marketplaces.models import BlocklistTerm, ExchangeRate, Listing
from marketplaces.services import listings_publish_start
from marketplaces.tasks import (
    rates_refresh_task,
    stores_orders_sync_task,
    stores_performance_import_task,
)
from marketplaces.tests.doubles import (
    EBAY_API,
    EBAY_INV,
    ECB_DAILY_XML,
    ECB_URL,
    ShopifyDouble,
    ebay_error,
    ebay_store,
    isolated_cache,
    shopify_orders,
    shopify_store,
    supplier_product,
)
from marketplaces.tests.factories import ListingFactory
from marketplaces.tests.spec import spec_route
from monitoring.models import Job, JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "tasks")


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def pending_listing(store, **values):
    return ListingFactory(
        store_account=store, product=supplier_product(**values), status="pending", quantity_available=3
    )


def test_publishing_runs_as_a_job_with_progress_and_a_summary(api, django_capture_on_commit_callbacks):
    store = ebay_store()
    ok = pending_listing(store, title="Steel water bottle")
    blocked = pending_listing(store, title="Acme flask")
    BlocklistTerm.objects.create(user=store.user, term="acme")
    spec_route(api, "PUT", f"{EBAY_INV}/inventory_item/AM-{ok.pk}", status=204)
    spec_route(api, "GET", f"{EBAY_INV}/offer", status=404, json=ebay_error())
    spec_route(api, "POST", f"{EBAY_INV}/offer", status=201, json={"offerId": "9876", "warnings": []})
    spec_route(api, "POST", f"{EBAY_INV}/offer/9876/publish", status=200, json={"listingId": "110551990"})

    with django_capture_on_commit_callbacks(execute=True):
        job = listings_publish_start(user=store.user, listing_ids=[ok.pk, blocked.pk])

    job.refresh_from_db()
    assert (job.type, job.status, job.progress_done, job.progress_total) == ("publish_listings", "success", 2, 2)
    assert job.result["published"] == [ok.pk]
    assert job.result["blocked"] == {str(blocked.pk): "Blocked by the word 'acme'"}
    assert Listing.objects.get(pk=ok.pk).status == "active"


def test_the_publish_job_only_touches_its_sellers_listings(api, django_capture_on_commit_callbacks, other_user):
    theirs = pending_listing(ebay_store())
    with django_capture_on_commit_callbacks(execute=True):
        job = listings_publish_start(user=other_user, listing_ids=[theirs.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCESS and job.result["missing"] == [theirs.pk]
    assert not api.calls


def schedule_stores():
    synced = shopify_store()
    demo = shopify_store()
    demo.user.is_demo = True
    demo.user.save()
    reauth = shopify_store(needs_reauth=True)
    disconnected = shopify_store(is_connected=False)
    return synced, [demo, reauth, disconnected]


def test_the_scheduled_orders_sync_leaves_demo_and_unusable_stores_alone(api):
    synced, others = schedule_stores()
    shop = ShopifyDouble(api)
    shop.answer("Orders", shopify_orders())

    assert stores_orders_sync_task.delay().get() == 1

    assert shop.operations() == ["Orders"]
    synced.refresh_from_db()
    assert synced.orders_synced_at is not None
    for store in others:
        store.refresh_from_db()
        assert store.orders_synced_at is None


def test_the_daily_import_is_a_job_per_store_the_schedule_syncs(api, django_capture_on_commit_callbacks):
    synced, others = schedule_stores()

    with django_capture_on_commit_callbacks(execute=True):
        stores_performance_import_task.delay()

    [job] = Job.objects.filter(type="import_performance")
    assert (job.user, job.params, job.status) == (synced.user, {"store_id": synced.pk}, JobStatus.SUCCESS)
    synced.refresh_from_db()
    assert synced.stats_synced_on is not None
    assert job.result["imports"][0]["day"] == synced.stats_synced_on.isoformat()


def test_a_long_wait_is_left_to_the_next_scheduled_orders_sync(api):
    store = ebay_store()
    too_many = ebay_error("Too many requests.", error_id=2001)
    spec_route(
        api, "GET", f"{EBAY_API}/sell/fulfillment/v1/order", status=429, json=too_many, headers={"Retry-After": "3600"}
    )

    from marketplaces.tasks import store_orders_sync_task

    assert store_orders_sync_task.delay(store.pk).get() == {"error": "The marketplace asked us to slow down."}
    store.refresh_from_db()
    assert store.orders_synced_at is None


def test_the_daily_rates_task_stores_the_ecb_rates():
    with respx.mock(assert_all_mocked=True) as api:
        api.get(ECB_URL).respond(200, content=ECB_DAILY_XML)
        result = rates_refresh_task.delay().get()

    assert result == {"as_of": "2026-03-02", "currencies": 3}
    assert ExchangeRate.objects.get(currency="USD").per_eur == Decimal("1.0812")


# --- Long work in batches (a delivery out of time hands the Job on; each step is done once) -----


@pytest.fixture
def every_delivery_out_of_time(monkeypatch):
    from marketplaces import tasks

    monkeypatch.setattr(tasks, "job_out_of_time", lambda job: True)


def shopify_product_state(gid, *, sku):
    variant = {"id": f"{gid}/variant", "sku": sku, "price": "30.99", "inventoryQuantity": 5}
    return {"product": {"id": gid, "status": "ACTIVE", "variants": {"nodes": [variant]}}}


@pytest.mark.usefixtures("every_delivery_out_of_time")
def test_sync_now_over_several_deliveries_does_each_step_once(api, django_capture_on_commit_callbacks, monkeypatch):
    from marketplaces.services import sync
    from marketplaces.tasks import store_sync_task
    from marketplaces.tests.doubles import live_listing, shopify_order
    from monitoring.records import job_start

    monkeypatch.setattr(sync, "DELISTED_BATCH", 1)
    store = shopify_store()
    kept = live_listing(store, supplier_product(), external_listing_id="gid://shopify/Product/1")
    gone = live_listing(store, supplier_product(), external_listing_id="gid://shopify/Product/2")
    shop = ShopifyDouble(api)
    shop.answer("Orders", shopify_orders(shopify_order(1, sku=f"AM-{kept.pk}", product_id="gid://shopify/Product/1")))
    shop.answers["ProductState"] = [
        shopify_product_state("gid://shopify/Product/1", sku=f"AM-{kept.pk}"),
        {"product": None},
    ]

    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(store_sync_task, type="sync_store", user=store.user, params={"store_id": store.pk})

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCESS, job.error_message
    assert shop.operations() == ["Orders", "ProductState", "ProductState"]
    summary = job.result["summary"]
    assert "1 order lines, 1 new sales" in summary and "1 listings removed on the marketplace (delisted)" in summary
    assert "statistics of" in summary
    gone.refresh_from_db()
    assert gone.status == "delisted"


@pytest.mark.usefixtures("every_delivery_out_of_time")
def test_a_catch_up_over_several_deliveries_imports_each_day_once(api, django_capture_on_commit_callbacks):
    import datetime

    from marketplaces.services import seller_yesterday
    from marketplaces.tasks import store_performance_import_task
    from monitoring.records import job_start

    store = shopify_store()
    yesterday = seller_yesterday(store)
    type(store).objects.filter(pk=store.pk).update(stats_synced_on=yesterday - datetime.timedelta(days=3))

    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(
            store_performance_import_task, type="import_performance", user=store.user, params={"store_id": store.pk}
        )

    job.refresh_from_db()
    days = [(yesterday - datetime.timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert job.status == JobStatus.SUCCESS and [item["day"] for item in job.result["imports"]] == days
    assert (job.progress_done, job.progress_total) == (3, 3)
    store.refresh_from_db()
    assert store.stats_synced_on == yesterday
