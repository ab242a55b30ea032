import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.services import products_due
from catalog.tests.factories import ProductFactory, ProxyPoolFactory, SupplierFactory
from monitoring.models import Job
from monitoring.tests.factories import JobFactory, NotificationFactory

pytestmark = pytest.mark.django_db

HEALTH = reverse("monitoring:service_health")


def test_sellers_and_visitors_are_sent_away(client, seller_client):
    assert client.get(HEALTH).status_code == 302
    response = seller_client.get(HEALTH)
    assert response.status_code == 302 and reverse("admin:login") in response.url


def test_staff_see_the_page_and_the_nav_links_to_it(admin_client, seller_client):
    response = admin_client.get(HEALTH)

    assert response.status_code == 200
    assert f'href="{HEALTH}"' in response.content.decode()
    assert f'href="{HEALTH}"' not in seller_client.get(reverse("monitoring:dashboard")).content.decode()


def test_jobs_by_status_over_the_last_day(admin_client):
    JobFactory(type="track_products", status="failed")
    JobFactory(type="track_products", status="failed")
    JobFactory(type="track_products", status="success")
    JobFactory(type="sync_ebay", status="running", user=None)
    old = JobFactory(type="sync_ebay", status="failed")
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(hours=25))

    context = admin_client.get(HEALTH).context

    by_type = dict(context["jobs_by_type"])
    assert by_type["track_products"]["failed"] == 2 and by_type["track_products"]["success"] == 1
    assert by_type["sync_ebay"]["running"] == 1 and by_type["sync_ebay"]["failed"] == 0
    assert context["job_totals"]["failed"] == 2


def test_blocked_refreshes_are_counted_per_supplier(admin_client):
    amazon = SupplierFactory(name="amazon-de-test")
    shop = SupplierFactory(name="shop-test-com")
    ProductFactory(supplier=amazon, failure_count=3, last_error="HTTP 503")
    ProductFactory(supplier=amazon, failure_count=1, last_error="captcha / robot check (validatecaptcha)")
    ProductFactory(supplier=amazon, failure_count=2, last_error="Could not connect: timed out")
    ProductFactory(supplier=amazon)
    ProductFactory(supplier=shop, failure_count=1, last_error="The site answered HTTP 500")
    ProductFactory(supplier=shop)
    ProductFactory(supplier=shop, failure_count=4, last_error="HTTP 403", is_archived=True)  # archived: not counted

    rows = {row["supplier__name"]: row for row in admin_client.get(HEALTH).context["suppliers"]}

    assert (rows["amazon-de-test"]["products"], rows["amazon-de-test"]["failing"]) == (4, 3)
    assert rows["amazon-de-test"]["blocked"] == 2 and rows["amazon-de-test"]["blocked_percent"] == 50.0
    assert (rows["shop-test-com"]["failing"], rows["shop-test-com"]["blocked"]) == (1, 0)
    assert list(rows)[0] == "amazon-de-test"  # most blocked first


def test_proxy_health(admin_client):
    ProxyPoolFactory(health_score=80)
    ProxyPoolFactory(health_score=60)
    ProxyPoolFactory(is_active=False, health_score=5, deactivated_reason="8 connection failures in a row")

    response = admin_client.get(HEALTH)

    stats = response.context["proxy_stats"]
    assert (stats["active"], stats["inactive"], stats["avg_health"]) == (2, 1, 70)
    assert "8 connection failures in a row" in response.content.decode()


def test_failed_notifications_of_the_last_day(admin_client):
    NotificationFactory(recipient="webhook", error="Connection refused by hooks.example.com")
    NotificationFactory(recipient="sms", error="Twilio 21211: invalid number")
    NotificationFactory(recipient="email", is_sent=True)
    old = NotificationFactory(recipient="email", error="Old failure")
    type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=2))

    response = admin_client.get(HEALTH)

    assert response.context["failed_notification_count"] == 2
    assert dict(response.context["failed_by_channel"]) == {"sms": 1, "webhook": 1}
    page = response.content.decode()
    assert "Connection refused by hooks.example.com" in page and "Old failure" not in page


def test_overdue_products_are_those_due_an_hour_ago(admin_client, user):
    now = timezone.now()
    overdue = ProductFactory(last_scraped_at=now - datetime.timedelta(days=3))
    just_due = ProductFactory(last_scraped_at=now - datetime.timedelta(days=1, minutes=10))
    fresh = ProductFactory(last_scraped_at=now)
    user.tracked_products.add(overdue, just_due, fresh)  # a free seller: refreshed daily

    context = admin_client.get(HEALTH).context

    assert set(products_due(now - datetime.timedelta(hours=1))) == {overdue}
    assert context["overdue_count"] == 1


# --- Workers and the queue ------------------------------------------------------------------


def test_workers_are_listed_with_their_last_heartbeat_and_a_silent_one_is_marked(admin_client):
    from monitoring.records import worker_heartbeat_record

    now = timezone.now()
    worker_heartbeat_record(hostname="celery@alive", pid=41, starting=True, now=now - datetime.timedelta(hours=2))
    worker_heartbeat_record(hostname="celery@alive", pid=41, now=now - datetime.timedelta(seconds=30))
    worker_heartbeat_record(hostname="celery@gone", pid=7, now=now - datetime.timedelta(minutes=20))
    worker_heartbeat_record(hostname="celery@replaced", pid=3, now=now - datetime.timedelta(days=8))

    response = admin_client.get(HEALTH)

    workers = {worker.hostname: worker for worker in response.context["workers"]}
    assert set(workers) == {"celery@alive", "celery@gone"}
    assert not workers["celery@alive"].silent and workers["celery@gone"].silent
    assert workers["celery@alive"].started_at < workers["celery@alive"].seen_at
    page = response.content.decode()
    assert "celery@alive" in page and "silent" in page


@pytest.mark.django_db(transaction=True)
def test_the_queue_length_counts_the_tasks_no_worker_took_yet(admin_client, settings):
    import uuid

    from config.celery import app
    from monitoring.records import task_enqueue
    from monitoring.tasks import prune_task

    queue = f"health-{uuid.uuid4().hex[:8]}"  # parallel runs must not count each other's tasks
    app.conf.update(task_always_eager=False, task_default_queue=queue)
    try:
        assert task_enqueue(prune_task) and task_enqueue(prune_task)
        response = admin_client.get(HEALTH)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)
    finally:
        app.conf.update(task_always_eager=True, task_default_queue="celery")

    assert (response.context["queue_length"], response.context["queue_error"]) == (2, "")
    assert 'id="health-queue"' in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_records_its_heartbeat():
    import uuid

    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from monitoring.models import WorkerHeartbeat

    queue = f"heartbeat-{uuid.uuid4().hex[:8]}"
    app.conf.update(task_always_eager=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=10) as worker:
            beat = WorkerHeartbeat.objects.get(hostname=worker.hostname)
    finally:
        app.conf.update(task_always_eager=True)

    assert beat.started_at == beat.seen_at and beat.pid
