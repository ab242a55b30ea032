"""Retention: removing old Job, Notification and AuditLog rows as staff's RetentionPolicy says,
wiping buyers' ship-to names and addresses from orders shipped, delivered, cancelled or refunded
longer ago than it says (the order itself stays: it is the seller's record), and removing the seller
API's Idempotency-Key answers once their window (API_IDEMPOTENCY_WINDOW) is over.

Price and stock history are never removed here (they are the product's record). Unfinished jobs
are kept whatever their age. Rows go in batches so a large backlog never holds one long transaction.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import IdempotencyKey
from marketplaces.services import order_addresses_due, order_addresses_erase

from .models import AuditLog, Job, JobStatus, Notification, RetentionPolicy

BATCH_SIZE = 2000


def retention_querysets(*, now=None) -> dict:
    """Per table: (rows past retention, days kept)."""
    now = now or timezone.now()
    policy = RetentionPolicy.current()
    return {
        "jobs": (
            Job.objects.filter(
                created_at__lt=now - timedelta(days=policy.job_days),
                status__in=[JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCELLED],
            ),
            policy.job_days,
        ),
        "notifications": (
            Notification.objects.filter(created_at__lt=now - timedelta(days=policy.notification_days)),
            policy.notification_days,
        ),
        "audit_log": (
            AuditLog.objects.filter(timestamp__lt=now - timedelta(days=policy.audit_days)),
            policy.audit_days,
        ),
        # Not deleted: the orders stay, their ship-to address is wiped (see retention_prune).
        "order_addresses": (
            order_addresses_due(before=now - timedelta(days=policy.order_address_days)),
            policy.order_address_days,
        ),
        "api_idempotency_keys": (
            IdempotencyKey.objects.filter(created_at__lt=now - settings.API_IDEMPOTENCY_WINDOW),
            max(1, settings.API_IDEMPOTENCY_WINDOW.days),
        ),
    }


def _delete_in_batches(queryset) -> int:
    removed = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
        if not ids:
            return removed
        # delete() through the model, so a job other jobs retried has their retry_of set to null.
        queryset.model.objects.filter(pk__in=ids).delete()
        removed += len(ids)


WIPED_NOT_DELETED = frozenset({"order_addresses"})


def retention_prune(*, now=None, dry_run: bool = False) -> dict[str, int]:
    """Remove (or, dry run, count) the rows older than the retention policy, and wipe the buyers'
    addresses due; returns counts per table."""
    counts = {}
    for table, (queryset, _days) in retention_querysets(now=now).items():
        if dry_run:
            counts[table] = queryset.count()
        elif table in WIPED_NOT_DELETED:
            counts[table] = order_addresses_erase(queryset, now=now)
        else:
            counts[table] = _delete_in_batches(queryset)
    return counts
