"""The whole loop against PostgreSQL and Redis with a real Celery worker: a supplier price rises,
the listing is repriced at eBay, an alert appears, an email goes out, the audit log says who did it."""

import time
import uuid
from decimal import Decimal

import pytest
import respx
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import connection

from catalog.models import Supplier
from catalog.tests.factories import SupplierFactory
from catalog.tests.fetch_servers import Reply, fetch_settings_fixture, site_fixture  # noqa: F401 - fixtures
from config.celery import app
from conftest import shared_material, skip_or_fail
from marketplaces.tests.doubles import EbayDouble, ebay_store, live_listing, supplier_product
from monitoring.cycle import REFRESH_JOB_TYPE
from monitoring.models import Alert, AuditLog, Job, JobStatus, Notification, NotificationChannel
from monitoring.records import job_start
from monitoring.tasks import tracking_cycle_task

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("supplier_families"),
]

PAGE = """<html><head><title>Copper kettle</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product", "name": "Copper kettle",
"sku": "KETTLE-1", "offers": {"@type": "Offer", "price": "%s", "priceCurrency": "USD",
"availability": "https://schema.org/InStock"}}</script></head><body><h1>Copper kettle</h1></body></html>"""


@pytest.fixture
def worker(settings):
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        skip_or_fail("the end-to-end loop runs on PostgreSQL and Redis (DATABASE_URL and REDIS_URL)")
    queue = f"e2e-{uuid.uuid4().hex[:8]}"  # parallel test runs must not take each other's tasks
    app.conf.update(task_always_eager=False, task_default_queue=queue)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
            yield
    finally:
        app.conf.update(task_always_eager=True, task_default_queue="celery")


def wait_until(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_a_supplier_price_rise_reprices_alerts_notifies_and_is_audited(site, worker):
    shared_material("contracts")  # the eBay double checks against the official spec, in the worker's thread
    site.routes["/kettle"] = Reply(body=PAGE % "29.00")
    supplier = SupplierFactory(
        name="kettles-local", family=Supplier.objects.get(name="generic"), base_url=site.url("/"), rate_limit=6000
    )
    product = supplier_product(supplier=supplier, asin="KETTLE-1", url=site.url("/kettle"), price=Decimal("20.00"))
    store = ebay_store()
    seller = store.user
    seller.tracked_products.add(product)
    NotificationChannel.objects.create(user=seller, channel="email", address=seller.email, min_severity="info")
    listing = live_listing(store, product, price=Decimal("30.99"))

    with respx.mock(assert_all_called=False) as api:
        api.route(host="127.0.0.1").pass_through()  # the supplier's page is really fetched
        ebay = EbayDouble(api)
        job = job_start(tracking_cycle_task, type=REFRESH_JOB_TYPE, user=seller, params={"product_ids": [product.pk]})
        assert wait_until(lambda: Job.objects.get(pk=job.pk).status == JobStatus.SUCCESS), Job.objects.get(pk=job.pk)
        assert wait_until(lambda: Notification.objects.filter(user=seller, is_sent=True).exists())

    product.refresh_from_db()
    listing.refresh_from_db()
    assert product.price == Decimal("29.00")
    assert listing.price == Decimal("43.99")  # ((29 × 1.30) + 0.30) / (1 − 13.25%) = 43.80 → .99
    assert ebay.bulk_bodies[-1]["requests"][0]["offers"][0]["price"] == {"value": "43.99", "currency": "USD"}

    alert = Alert.objects.get(user=seller, subject=f"listing:{listing.pk}", cleared_at__isnull=True)
    assert alert.type == "policy_trigger"
    assert alert.data["listing_id"] == listing.pk

    notification = Notification.objects.get(user=seller, alert=alert)
    assert notification.recipient == "email" and notification.sent_at is not None
    assert any(seller.email in message.to for message in mail.outbox)

    audit = AuditLog.objects.get(resource_type="listing", resource_id=str(listing.pk), action="repriced")
    assert audit.user is None and audit.owner == seller  # the system did it, for this seller
    assert "supplier price 20.00 → 29.00 USD" in audit.notes
