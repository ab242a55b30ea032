from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import PriceHistory, StockHistory
from catalog.tests.factories import PriceHistoryFactory, StockHistoryFactory
from monitoring.models import AuditLog, Job, JobStatus, Notification, RetentionPolicy
from monitoring.retention import retention_prune
from monitoring.tasks import prune_task
from monitoring.tests.factories import AuditLogFactory, JobFactory, NotificationFactory

pytestmark = pytest.mark.django_db


def _aged(factory, days, field="created_at", **fields):
    row = factory(**fields)
    type(row).objects.filter(pk=row.pk).update(**{field: timezone.now() - timedelta(days=days)})
    return row


@pytest.fixture
def rows():
    policy = RetentionPolicy.current()
    policy.job_days, policy.notification_days, policy.audit_days = 30, 60, 90
    policy.save()
    old_job = _aged(JobFactory, 31, status=JobStatus.SUCCESS)
    retried = _aged(JobFactory, 1, status=JobStatus.SUCCESS, retry_of=old_job)
    return {
        "old_jobs": [old_job, _aged(JobFactory, 40, status=JobStatus.FAILED)],
        "kept_jobs": [
            retried,
            _aged(JobFactory, 29, status=JobStatus.SUCCESS),
            _aged(JobFactory, 45, status="pending"),
        ],
        "old_notifications": [_aged(NotificationFactory, 61), _aged(NotificationFactory, 100, is_sent=True)],
        "kept_notifications": [_aged(NotificationFactory, 59)],
        "old_audit": [_aged(AuditLogFactory, 91, field="timestamp")],
        "kept_audit": [_aged(AuditLogFactory, 89, field="timestamp")],
        "history": [
            _aged(PriceHistoryFactory, 800, field="recorded_at"),
            _aged(StockHistoryFactory, 800, field="recorded_at"),
        ],
    }


def _ids(rows_):
    return {row.pk for row in rows_}


def test_prune_removes_rows_past_retention_and_keeps_history(rows):
    out = StringIO()
    call_command("prune", stdout=out)
    text = out.getvalue()
    assert "Jobs: 2 removed (older than 30 days)" in text
    assert "Notifications: 2 removed (older than 60 days)" in text
    assert "Audit log rows: 1 removed (older than 90 days)" in text

    assert set(Job.objects.values_list("pk", flat=True)) == _ids(rows["kept_jobs"])
    assert set(Notification.objects.values_list("pk", flat=True)) == _ids(rows["kept_notifications"])
    assert set(AuditLog.objects.values_list("pk", flat=True)) == _ids(rows["kept_audit"])
    assert PriceHistory.objects.count() == 1 and StockHistory.objects.count() == 1
    assert Job.objects.get(pk=rows["kept_jobs"][0].pk).retry_of is None


def test_a_dry_run_counts_and_removes_nothing(rows):
    out = StringIO()
    call_command("prune", "--dry-run", stdout=out)
    assert "Jobs: 2 would be removed (older than 30 days)" in out.getvalue()
    assert "Dry run" in out.getvalue()
    assert Job.objects.count() == 5 and Notification.objects.count() == 3 and AuditLog.objects.count() == 2


def test_unfinished_jobs_are_kept_whatever_their_age(rows):
    retention_prune()
    assert Job.objects.filter(status="pending").exists()


def test_the_daily_task_prunes_in_batches(rows, monkeypatch):
    from monitoring import retention

    monkeypatch.setattr(retention, "BATCH_SIZE", 1)
    assert prune_task.delay().get() == {
        "jobs": 2,
        "notifications": 2,
        "audit_log": 1,
        "order_addresses": 0,
        "api_idempotency_keys": 0,
    }
    assert retention_prune() == {
        "jobs": 0,
        "notifications": 0,
        "audit_log": 0,
        "order_addresses": 0,
        "api_idempotency_keys": 0,
    }


# --- Buyers' addresses ---------------------------------------------------------------------------


def _order(state, **stamps):
    from marketplaces.tests.factories import OrderFactory

    order = OrderFactory(state=state, **{name: timezone.now() - timedelta(days=days) for name, days in stamps.items()})
    order.ship_to = {"name": "Jordan Example", "line1": "1 Infinite Loop"}
    order.save(update_fields=["ship_to"])
    return order


def test_prune_wipes_addresses_the_set_days_after_shipping_or_cancellation_and_keeps_the_orders():
    from marketplaces.models import Order

    policy = RetentionPolicy.current()
    policy.order_address_days = 30
    policy.save()
    shipped_long_ago = _order("shipped", shipped_at=31)
    delivered_long_ago = _order("delivered", shipped_at=40, delivered_at=35)
    cancelled_long_ago = _order("cancelled", cancelled_at=45)
    shipped_recently = _order("shipped", shipped_at=29)
    open_for_long = _order("to_buy")
    Order.objects.filter(pk=open_for_long.pk).update(ordered_at=timezone.now() - timedelta(days=90))

    out = StringIO()
    call_command("prune", "--dry-run", stdout=out)
    assert "Buyers' ship-to addresses: 3 would be wiped (more than 30 days after shipping or cancellation)" in (
        out.getvalue()
    )
    call_command("prune", stdout=out)

    assert "Buyers' ship-to addresses: 3 wiped" in out.getvalue()
    for order in (shipped_long_ago, delivered_long_ago, cancelled_long_ago):
        order.refresh_from_db()
        assert order.ship_to is None and order.ship_to_erased_at is not None
    for order in (shipped_recently, open_for_long):
        order.refresh_from_db()
        assert order.ship_to["name"] == "Jordan Example"
    assert Order.objects.count() == 5
