"""Fault tests with real Celery workers (subprocesses) on PostgreSQL and Redis: a worker killed with
SIGKILL in the middle of a tracking round, PostgreSQL ending a worker's connections. Settings are
shortened (heartbeat every second, stale after a few seconds, deliveries of a few seconds, small
batches) and the test drives the sweep itself; the bounds are generous for a loaded machine.

Every product's page states a higher price at each fetch, so each reading applied writes one
price history row: a product read again and applied twice would show two.
"""

import datetime
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal

import pytest
import redis
from django.db import connection

from catalog.models import PriceHistory, Product, Supplier
from catalog.services import round_products_done
from catalog.tests.factories import ProductFactory, SupplierFactory
from catalog.tests.fetch_servers import Reply, Site
from conftest import skip_or_fail
from monitoring.cycle import REFRESH_JOB_TYPE, TRACKING_JOB_TYPE
from monitoring.models import Job, JobStatus
from monitoring.records import job_enqueue, jobs_sweep
from monitoring.tasks import tracking_cycle_task
from monitoring.tests.workers import Worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("supplier_families")]

PRODUCTS = 36
PAGE_DELAY = 0.25  # seconds each page takes, so a round lasts long enough to be cut
STALE_AFTER = 4  # seconds without a heartbeat before a round is stale (the workers' and the sweep's)
WORKER_START = 60  # seconds a worker may take to start and pick its first task up on a busy machine
RECOVERY = 60  # seconds from the kill until every product of the round is applied
WORKER_ENV = {
    "JOB_HEARTBEAT_SECONDS": "1",
    "JOB_STALE_AFTER_TRACKING_SECONDS": str(STALE_AFTER),
    "JOB_BATCH_SECONDS": "3",  # deliveries hand the round on every few seconds, as they would every minute
    "TRACK_BATCH_SIZE": "6",
    "TRACK_CONCURRENCY": "2",
    "SCRAPER_ALLOWED_HOSTS": "127.0.0.1",
    "SCRAPER_MAX_ATTEMPTS": "1",
    "SCRAPER_READ_TIMEOUT": "5",
}
PAGE = """<html><head><title>{title}</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "Product", "name": "{title}",
 "sku": "{sku}", "offers": {{"@type": "Offer", "price": "{price}", "priceCurrency": "USD",
 "availability": "https://schema.org/InStock"}}}}</script></head><body><h1>{title}</h1></body></html>"""


@pytest.fixture(autouse=True)
def _services(settings):
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        skip_or_fail("The worker fault tests need PostgreSQL and Redis (DATABASE_URL and REDIS_URL).")
    settings.JOB_STALE_AFTER = {**settings.JOB_STALE_AFTER, TRACKING_JOB_TYPE: datetime.timedelta(seconds=STALE_AFTER)}


@pytest.fixture(params=["redis", "filesystem"])
def broker(request, monkeypatch, settings, tmp_path):
    """The broker the workers and this test share, on a queue of this test's own: Redis (the
    production setup), or kombu's filesystem broker of the embedded default, which deletes a
    message when a worker takes it (nothing comes back from there: the sweep alone recovers)."""
    from config.celery import app

    queue = f"faults-{uuid.uuid4().hex[:10]}"
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setitem(app.conf, "task_default_queue", queue)
    env = {"CELERY_QUEUE": queue}
    if request.param == "filesystem":
        var = tmp_path / "var"
        env.update(REDIS_URL="", VAR_DIR=str(var))  # the embedded default's broker, cache and rate limits
        folders = {"data_folder_in": var / "broker", "data_folder_out": var / "broker"}
        for folder in (*folders.values(), var / "broker-processed", var / "broker-control"):
            folder.mkdir(parents=True, exist_ok=True)
        options = {name: str(path) for name, path in folders.items()}
        options.update(processed_folder=str(var / "broker-processed"), control_folder=str(var / "broker-control"))
        monkeypatch.setitem(app.conf, "broker_url", "filesystem://")
        monkeypatch.setitem(app.conf, "broker_write_url", None)
        monkeypatch.setitem(app.conf, "broker_transport_options", options)
        monkeypatch.setattr(app, "_pool", None)  # pools made for the other broker
        monkeypatch.setattr(app.amqp, "_producer_pool", None)
    yield env
    if request.param == "redis":
        client = redis.Redis.from_url(settings.REDIS_URL)
        client.delete(queue)
        for tag, payload in client.hgetall("unacked").items():  # a killed worker's unacknowledged message
            if queue.encode() in payload:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


@pytest.fixture
def workers(broker, tmp_path):
    started = []

    def start(name):
        worker = Worker(log_dir=tmp_path, env={**WORKER_ENV, **broker}, name=name)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


class Shop:
    """The supplier's site: each product's page, a little slow, with a higher price at each fetch."""

    def __init__(self):
        self.site = Site()
        self.fetches = Counter()
        self._lock = threading.Lock()

    def page(self, handler):
        sku = handler.path.strip("/")
        with self._lock:
            self.fetches[sku] += 1
            price = Decimal("20.00") + self.fetches[sku]
        return Reply(body=PAGE.format(title=f"Item {sku}", sku=sku, price=price), delay=PAGE_DELAY)

    def products(self, count: int) -> list[Product]:
        from accounts.tests.factories import UserFactory

        seller = UserFactory(tier="enterprise")
        supplier = SupplierFactory(
            name=f"shop-{uuid.uuid4().hex[:10]}",  # the rate limit's state in Redis outlives the database
            family=Supplier.objects.get(name="generic"),
            base_url=self.site.url("/"),
            rate_limit=60000,
        )
        products = []
        for number in range(count):
            sku = f"SKU-{number:03d}"
            self.site.routes[f"/{sku}"] = self.page
            products.append(
                ProductFactory(
                    supplier=supplier, asin=sku, title=f"Item {sku}", url=self.site.url(f"/{sku}"), price="20.00"
                )
            )
        seller.tracked_products.add(*products)
        return products


@pytest.fixture
def shop():
    shop = Shop()
    yield shop
    shop.site.close()


def tracking_round() -> Job:
    job = Job.objects.create(type=TRACKING_JOB_TYPE, task_name=tracking_cycle_task.name)
    assert job_enqueue(job)
    return job


def done_count(job) -> int:
    return round_products_done(job_id=job.pk).count()


def finished(job):
    job.refresh_from_db()
    return job.is_finished


def assert_each_applied_once(products, job):
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCESS, job.error_message
    applied = Counter(PriceHistory.objects.filter(product__in=products).values_list("product_id", flat=True))
    assert {product.pk: applied[product.pk] for product in products} == {product.pk: 1 for product in products}
    assert not Product.objects.filter(pk__in=[p.pk for p in products], refresh_claimed_until__isnull=False).exists()
    assert Product.objects.filter(pk__in=[p.pk for p in products], last_scraped_at__isnull=True).count() == 0
    assert job.result["products"] == len(products) and job.result["counts"] == {"updated": len(products)}
    assert (job.progress_done, job.progress_total) == (len(products), len(products))


def test_a_round_whose_worker_is_killed_is_resumed_and_applies_each_product_once(shop, workers):
    products = shop.products(PRODUCTS)
    first = workers("killed")
    job = tracking_round()
    wait_until(lambda: done_count(job) >= 8, timeout=WORKER_START, what="the first products read", workers=[first])

    first.kill()
    killed_at = time.monotonic()
    done_before = done_count(job)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and done_before < PRODUCTS
    second = workers("second")

    def resumed():
        return jobs_sweep()["requeued"] == [job.pk]

    wait_until(resumed, timeout=STALE_AFTER + 10, every=0.5, what="the sweep resuming the stale round")
    assert time.monotonic() - killed_at >= STALE_AFTER - 1  # not before its heartbeat went stale
    wait_until(lambda: finished(job), timeout=RECOVERY, every=0.5, what="the resumed round", workers=[second])

    assert time.monotonic() - killed_at < RECOVERY
    assert_each_applied_once(products, job)
    assert job.retry_count == 1 and job.result["failures"] == []
    assert all(shop.fetches[product.asin] >= 1 for product in products)


@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_a_worker_whose_database_connections_are_ended_reconnects_and_no_job_is_stuck(shop, workers):
    products = shop.products(PRODUCTS)
    worker = workers("reconnects")
    job = tracking_round()
    wait_until(lambda: done_count(job) >= 8, timeout=WORKER_START, what="the first products read", workers=[worker])

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        [(ended,)] = cursor.fetchall()

    assert ended >= 1  # the worker's connections, ended as an operator or PostgreSQL would
    wait_until(lambda: finished(job), timeout=RECOVERY, every=0.5, what="the round", workers=[worker])
    assert_each_applied_once(products, job)
    # The same worker goes on taking work.
    again = Job.objects.create(
        type=REFRESH_JOB_TYPE, params={"product_ids": [products[0].pk]}, task_name=tracking_cycle_task.name
    )
    assert job_enqueue(again)
    wait_until(lambda: finished(again), timeout=20, every=0.5, what="a new Job after the reconnect", workers=[worker])
    assert again.status == JobStatus.SUCCESS and again.result["counts"] == {"updated": 1}
