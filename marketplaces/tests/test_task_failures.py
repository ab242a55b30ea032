"""No silent failure: every marketplace task that fails for a seller leaves a failed Job with the
error in words, and work that changes what the listings do (reprice, push, sync) alerts the seller.

Each kind of task is made to raise by replacing the service it calls (the task is the unit under
test); the reprice with a markup of -150 % fails for real."""

from decimal import Decimal

import pytest
import respx
from django.db import IntegrityError

from accounts.tests.factories import UserFactory
from marketplaces import tasks
from marketplaces.services import PRICING_LIMITS, REPRICE_JOB_TYPE
from marketplaces.services.stores import PRICING_UNUSABLE
from marketplaces.tests.doubles import ebay_store, isolated_cache, live_listing, supplier_product
from marketplaces.tests.factories import ListingFactory
from monitoring.jobs import DATABASE_REFUSED, JOB_FAILED_ALERT
from monitoring.models import Alert, AlertType, Job, JobStatus
from monitoring.records import job_start

pytestmark = pytest.mark.django_db
BOOM = "the marketplace client blew up"


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "task-failures")


def raising(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail


def failure_alert(user, job_type):
    return Alert.objects.open().get(user=user, type=AlertType.JOB_FAILED, subject=f"job:{job_type}")


def run_job(capture, task, *, user, type, params):
    with capture(execute=True):
        job = job_start(task, type=type, user=user, params=params)
    job.refresh_from_db()
    return job


def test_a_reprice_with_a_markup_below_minus_100_fails_its_job_alerts_and_changes_nothing(
    django_capture_on_commit_callbacks,
):
    store = ebay_store()
    listing = live_listing(store, supplier_product(price=Decimal("20.00")), price=Decimal("30.99"))
    type(store).objects.filter(pk=store.pk).update(markup_percent=Decimal("-150"))  # as an old row may hold

    job = run_job(
        django_capture_on_commit_callbacks,
        tasks.store_reprice_task,
        user=store.user,
        type=REPRICE_JOB_TYPE,
        params={"store_id": store.pk},
    )

    assert job.status == JobStatus.FAILED
    assert job.error_message == PRICING_UNUSABLE.format(problems=PRICING_LIMITS["markup_percent"].message)
    alert = failure_alert(store.user, REPRICE_JOB_TYPE)
    assert alert.severity == "critical" and job.error_message in alert.message
    assert alert.data["path"] == job.get_absolute_url()
    listing.refresh_from_db()
    assert listing.price == Decimal("30.99") and listing.status == "active"


def test_a_reprice_that_crashes_records_the_error_in_words_and_a_later_success_clears_the_alert(
    django_capture_on_commit_callbacks, monkeypatch
):
    store = ebay_store()
    monkeypatch.setattr(tasks, "store_reprice", raising(IntegrityError('violates check "listing_price_not_negative"')))

    job = run_job(
        django_capture_on_commit_callbacks,
        tasks.store_reprice_task,
        user=store.user,
        type=REPRICE_JOB_TYPE,
        params={"store_id": store.pk},
    )

    words = DATABASE_REFUSED.format(detail='violates check "listing_price_not_negative"')
    assert (job.status, job.error_message) == (JobStatus.FAILED, words)
    assert failure_alert(store.user, REPRICE_JOB_TYPE).message == JOB_FAILED_ALERT.format(
        label="Reprice store", error=words
    )

    monkeypatch.setattr(tasks, "store_reprice", lambda store: [])
    again = run_job(
        django_capture_on_commit_callbacks,
        tasks.store_reprice_task,
        user=store.user,
        type=REPRICE_JOB_TYPE,
        params={"store_id": store.pk},
    )

    assert again.status == JobStatus.SUCCESS
    assert not Alert.objects.open().filter(user=store.user, type=AlertType.JOB_FAILED).exists()


@pytest.mark.parametrize(
    ("task_name", "service", "job_type", "params"),
    [
        ("listing_publish_task", "listings_publish", "publish_listings", lambda store: {"listing_ids": []}),
        ("store_sync_task", "store_sync", "sync_store", lambda store: {"store_id": store.pk}),
    ],
)
def test_a_failing_push_or_sync_job_alerts_its_seller(
    django_capture_on_commit_callbacks, monkeypatch, task_name, service, job_type, params
):
    store = ebay_store()
    monkeypatch.setattr(tasks, service, raising(RuntimeError(BOOM)))

    job = run_job(
        django_capture_on_commit_callbacks,
        getattr(tasks, task_name),
        user=store.user,
        type=job_type,
        params=params(store),
    )

    assert (job.status, job.error_message) == (JobStatus.FAILED, f"RuntimeError: {BOOM}")
    assert f"RuntimeError: {BOOM}" in failure_alert(store.user, job_type).message


def test_a_failing_statistics_import_is_a_failed_job_without_an_alert(django_capture_on_commit_callbacks, monkeypatch):
    store = ebay_store()
    monkeypatch.setattr(tasks, "store_performance_import", raising(RuntimeError(BOOM)))

    job = run_job(
        django_capture_on_commit_callbacks,
        tasks.store_performance_import_task,
        user=store.user,
        type="import_performance",
        params={"store_id": store.pk},
    )

    assert (job.status, job.error_message) == (JobStatus.FAILED, f"RuntimeError: {BOOM}")
    assert not Alert.objects.filter(type=AlertType.JOB_FAILED).exists()


def test_a_failing_orders_sync_is_recorded_for_the_seller_and_alerted(monkeypatch):
    store = ebay_store()
    monkeypatch.setattr(tasks, "store_orders_sync", raising(RuntimeError(BOOM)))

    assert tasks.store_orders_sync_task.delay(store.pk).get() is None

    job = Job.objects.get(user=store.user, type="sync_orders")
    assert (job.status, job.error_message, job.params) == (
        JobStatus.FAILED,
        f"RuntimeError: {BOOM}",
        {"store_id": store.pk},
    )
    assert not job.task_name  # nothing to retry by hand: the schedule runs it again
    failure_alert(store.user, "sync_orders")


def test_held_changes_of_one_store_failing_do_not_stop_the_others(monkeypatch):
    failing, fine = ebay_store(), ebay_store()
    for store in (failing, fine):
        ListingFactory(store_account=store, status="active", pending_changes={"price": "31.99"})
    sent = []

    def push(*, store):
        if store == failing:
            raise RuntimeError(BOOM)
        sent.append(store.pk)
        return []

    monkeypatch.setattr(tasks, "listings_push_pending", push)

    tasks.store_pending_push_task.delay()

    assert sent == [fine.pk]
    job = Job.objects.get(type="push_held_changes")
    assert (job.user, job.error_message, job.params) == (
        failing.user,
        f"RuntimeError: {BOOM}",
        {"store_id": failing.pk},
    )
    failure_alert(failing.user, "push_held_changes")
    assert not Job.objects.filter(user=fine.user).exists()


def test_a_failing_follow_retry_is_recorded_and_alerted_for_every_seller_of_the_product(monkeypatch):
    product = supplier_product()
    first, second = ebay_store(), ebay_store(user=UserFactory())
    live_listing(first, product)
    live_listing(second, product)
    monkeypatch.setattr(tasks, "listings_follow", raising(RuntimeError(BOOM)))

    tasks.listings_follow_task.delay(product.pk, attempt=1)

    jobs = Job.objects.filter(type="follow_listings", status=JobStatus.FAILED)
    assert {job.user for job in jobs} == {first.user, second.user}
    assert all(job.params == {"product_id": product.pk} for job in jobs)
    for store in (first, second):
        failure_alert(store.user, "follow_listings")


@pytest.mark.parametrize(
    ("task_name", "service", "job_type"),
    [
        ("stores_orders_sync_task", "schedulable_stores", "queue_orders_syncs"),
        ("stores_performance_import_task", "schedulable_stores", "queue_performance_imports"),
    ],
)
def test_a_failing_schedule_fan_out_is_a_failed_system_job(monkeypatch, task_name, service, job_type):
    monkeypatch.setattr(tasks, service, raising(RuntimeError(BOOM)))

    getattr(tasks, task_name).delay()

    job = Job.objects.get(type=job_type)
    assert (job.user, job.status, job.error_message) == (None, JobStatus.FAILED, f"RuntimeError: {BOOM}")


def test_rates_that_stay_unreachable_end_in_a_failed_system_job(settings):
    with respx.mock(assert_all_mocked=True) as api:
        api.get(settings.ECB_RATES_URL).respond(503)
        tasks.rates_refresh_task.apply(retries=tasks.rates_refresh_task.max_retries)  # the last try

    job = Job.objects.get(type="refresh_rates")
    assert (job.user, job.status) == (None, JobStatus.FAILED)
    assert job.error_message == "The ECB reference rates could not be fetched: HTTP 503"
