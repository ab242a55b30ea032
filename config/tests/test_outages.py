"""Outages through the real views: the broker or the cache at a closed port (no mock of Celery or
Redis). Background work that cannot start is a failed Job and a message (503 for HTMX), never a
500 and never a Job left pending; without the cache, pages are served as usual."""

import logging
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from config.cache import CACHE_DOWN
from config.unavailable import UNAVAILABLE_HEADER
from marketplaces.tests.doubles import ebay_store, supplier_product
from marketplaces.tests.factories import ListingFactory
from marketplaces.views.stores import SETTINGS_SAVED_NOT_REPRICED_MESSAGE
from monitoring.cycle import REFRESH_JOB_TYPE
from monitoring.models import Job, JobStatus
from monitoring.records import BACKGROUND_UNAVAILABLE, JOB_NOT_PICKED_UP
from monitoring.tests.factories import JobFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),  # work is enqueued when the transaction commits
    pytest.mark.usefixtures("supplier_families"),
]
HX = {"HX-Request": "true"}
FAIL_FAST_SECONDS = 5


@pytest.fixture
def product(user):
    product = ProductFactory(title="Blue kettle", price=Decimal("19.99"), currency="USD")
    user.tracked_products.add(product)
    return product


def assert_nothing_pending(user):
    assert not Job.objects.filter(user=user).unfinished().exists()
    failed = Job.objects.get(user=user, status=JobStatus.FAILED)
    assert failed.error_message == BACKGROUND_UNAVAILABLE
    return failed


# --- The broker is down -----------------------------------------------------------------------


def test_add_products_says_background_work_is_unavailable_and_keeps_the_input(seller_client, user, broker_down):
    started = time.monotonic()
    response = seller_client.post(reverse("catalog:product_add"), {"links": "B00FLYWNYQ"})

    assert time.monotonic() - started < FAIL_FAST_SECONDS
    page = response.content.decode()
    assert response.status_code == 200 and "<html" in page
    assert BACKGROUND_UNAVAILABLE in page and "B00FLYWNYQ" in page
    job = assert_nothing_pending(user)
    assert job.type == "add_products"


def test_add_products_over_htmx_answers_503_with_the_message(seller_client, user, broker_down):
    response = seller_client.post(reverse("catalog:product_add"), {"links": "B00FLYWNYQ"}, headers=HX)

    page = response.content.decode()
    assert response.status_code == 503 and response[UNAVAILABLE_HEADER] == "1"
    assert "<html" not in page and 'id="add-region"' in page and BACKGROUND_UNAVAILABLE in page
    assert_nothing_pending(user)


def test_a_csv_import_says_background_work_is_unavailable(seller_client, user, broker_down):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("products.csv", b"asin\nB00FLYWNYQ\n", content_type="text/csv")
    response = seller_client.post(reverse("catalog:product_import"), {"file": upload})

    assert response.status_code == 200 and BACKGROUND_UNAVAILABLE in response.content.decode()
    assert assert_nothing_pending(user).type == "import_csv"


def test_refresh_now_over_htmx_answers_503_and_leaves_no_job_pending(seller_client, user, product, broker_down):
    response = seller_client.post(reverse("catalog:product_refresh", args=[product.pk]), headers=HX)

    page = response.content.decode()
    assert response.status_code == 503
    assert page.lstrip().startswith('<div id="refresh-status"') and BACKGROUND_UNAVAILABLE in page
    assert "hx-trigger" not in page  # nothing to follow
    assert_nothing_pending(user)


def test_refresh_now_without_javascript_shows_the_message_on_the_product_page(
    seller_client, user, product, broker_down
):
    response = seller_client.post(reverse("catalog:product_refresh", args=[product.pk]), follow=True)

    page = response.content.decode()
    assert response.status_code == 200 and BACKGROUND_UNAVAILABLE in page
    assert "Waiting for a worker" not in page
    assert_nothing_pending(user)


def test_sync_now_says_background_work_is_unavailable(client, broker_down):
    store = ebay_store()
    client.force_login(store.user)

    response = client.post(reverse("marketplaces:store_sync", args=[store.pk]), follow=True)

    assert response.status_code == 200 and BACKGROUND_UNAVAILABLE in response.content.decode()
    assert assert_nothing_pending(store.user).type == "sync_store"


def test_saved_pricing_says_the_listings_were_not_repriced(client, broker_down):
    from marketplaces.forms import StorePricingForm

    store = ebay_store()
    client.force_login(store.user)
    data = {name: ("" if value is None else value) for name, value in StorePricingForm.initial_for(store).items()}

    response = client.post(
        reverse("marketplaces:store_settings", args=[store.pk]), {**data, "markup_percent": "45"}, follow=True
    )

    assert response.status_code == 200 and SETTINGS_SAVED_NOT_REPRICED_MESSAGE in response.content.decode()
    store.refresh_from_db()
    assert store.markup_percent == Decimal("45")
    assert assert_nothing_pending(store.user).type == "reprice_store"


def test_bulk_publish_says_background_work_is_unavailable(seller_client, user, broker_down):
    store = ebay_store(user=user)
    pending = ListingFactory(store_account=store, product=supplier_product(), status="pending")

    response = seller_client.post(
        reverse("marketplaces:listing_bulk"), {"action": "publish", "ids": [pending.pk]}, follow=True
    )

    assert response.status_code == 200 and BACKGROUND_UNAVAILABLE in response.content.decode()
    assert assert_nothing_pending(user).type == "publish_listings"


def test_retrying_a_job_says_background_work_is_unavailable(seller_client, user, broker_down):
    failed = JobFactory(user=user, type="import_csv", status="failed", task_name="catalog.tasks.products_import_task")

    response = seller_client.post(reverse("monitoring:job_retry", args=[failed.pk]), follow=True)

    assert response.status_code == 200 and BACKGROUND_UNAVAILABLE in response.content.decode()
    retry = Job.objects.get(retry_of=failed)
    assert (retry.status, retry.error_message) == (JobStatus.FAILED, BACKGROUND_UNAVAILABLE)


def test_pages_are_served_while_the_broker_is_down(seller_client, product, broker_down):
    for url in (
        reverse("monitoring:dashboard"),
        reverse("catalog:product_list"),
        reverse("catalog:product_detail", args=[product.pk]),
        reverse("monitoring:job_list"),
    ):
        assert seller_client.get(url).status_code == 200, url


def test_staff_see_the_broker_error_instead_of_the_queue_length(admin_client, broker_down):
    response = admin_client.get(reverse("monitoring:service_health"))

    assert response.status_code == 200
    assert response.context["queue_error"].startswith("error:")


# --- After the outage: Refresh now never follows a Job no worker took ---------------------------


def test_refresh_now_does_not_follow_a_job_no_worker_picked_up(seller_client, user, product, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    orphan = JobFactory(
        user=user,
        type=REFRESH_JOB_TYPE,
        params={"product_ids": [product.pk]},
        task_name="monitoring.tasks.tracking_cycle_task",
    )
    Job.objects.filter(pk=orphan.pk).update(created_at=timezone.now() - settings.JOB_PICKUP_TIMEOUT - timedelta(1))

    page = seller_client.get(reverse("catalog:product_detail", args=[product.pk])).content.decode()
    assert "Waiting for a worker" not in page

    from config.celery import app

    app.conf.task_always_eager = False  # sent to the broker, not run here
    response = seller_client.post(reverse("catalog:product_refresh", args=[product.pk]), headers=HX)

    orphan.refresh_from_db()
    assert (orphan.status, orphan.error_message) == (JobStatus.FAILED, JOB_NOT_PICKED_UP)
    new = Job.objects.filter(user=user, type=REFRESH_JOB_TYPE).exclude(pk=orphan.pk).get()
    assert new.status == JobStatus.PENDING
    assert f"Job #{new.pk}" in response.content.decode()


def test_the_refresh_status_stops_waiting_for_a_job_no_worker_picked_up(seller_client, user, product, settings):
    orphan = JobFactory(user=user, type=REFRESH_JOB_TYPE, params={"product_ids": [product.pk]})
    Job.objects.filter(pk=orphan.pk).update(created_at=timezone.now() - settings.JOB_PICKUP_TIMEOUT - timedelta(1))

    response = seller_client.get(reverse("catalog:product_refresh_status", args=[product.pk, orphan.pk]), headers=HX)

    page = response.content.decode()
    assert JOB_NOT_PICKED_UP in page and "hx-trigger" not in page


# --- The cache is down ------------------------------------------------------------------------


def test_pages_are_served_without_the_cache_and_the_outage_is_logged_once(
    seller_client, user, product, cache_down, caplog
):
    store = ebay_store(user=user)
    urls = [
        reverse("monitoring:dashboard"),
        reverse("catalog:product_list"),
        reverse("catalog:product_detail", args=[product.pk]),
        reverse("marketplaces:store_detail", args=[store.pk]),
        reverse("monitoring:alert_list"),
    ]
    with caplog.at_level(logging.WARNING, logger="config.cache"):
        for url in urls * 2:
            assert seller_client.get(url).status_code == 200, url
        from django.core.cache import cache

        for _ in range(3):
            cache.get("something")
            time.sleep(0.1)

    assert [record.msg for record in caplog.records if record.name == "config.cache"] == [CACHE_DOWN]


def test_the_cache_answers_misses_and_drops_writes_while_redis_is_down(cache_down):
    from django.core.cache import cache

    started = time.monotonic()
    cache.set("key", "value")
    assert cache.get("key", "default") == "default"
    assert cache.add("lock", "token") is False
    assert cache.get_or_set("computed", lambda: 42) == 42
    with pytest.raises(ValueError):
        cache.incr("counter")
    assert time.monotonic() - started < FAIL_FAST_SECONDS


def test_staff_see_the_cache_outage_on_healthz_while_pages_serve(client, cache_down):
    body = client.get("/healthz").json()

    assert body["status"] == "degraded" and body["cache"].startswith("error:")
