"""No silent failure in monitoring's own tasks, and one place to enqueue: a failure is a Job with the
error in words (the seller's, or the system's for staff); a broker outage fails a Job at once.

Each scheduled task is made to raise by replacing the function it calls (the task is the unit)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import tasks as catalog_tasks
from monitoring import tasks
from monitoring.jobs import error_words, job_failure_record
from monitoring.models import Alert, AlertType, Job, JobStatus, Notification, NotificationChannel
from monitoring.records import (
    BACKGROUND_UNAVAILABLE,
    job_enqueue,
    job_followable,
    job_start,
    task_enqueue,
)
from monitoring.tests.factories import JobFactory, NotificationFactory

pytestmark = pytest.mark.django_db
BOOM = "the disk is full"


def raising(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail


@pytest.mark.parametrize(
    ("task_name", "function", "job_type"),
    [
        ("jobs_sweep_task", "jobs_sweep", "sweep_jobs"),
        ("service_alerts_check_task", "service_alerts_check", "check_service_alerts"),
        ("notifications_send_digests_task", "notifications_send_digests", "send_digests"),
        ("notifications_sweep_task", "notifications_sweep", "sweep_notifications"),
        ("prune_task", "retention_prune", "prune"),
    ],
)
def test_a_failing_scheduled_task_is_a_failed_system_job_staff_can_see(monkeypatch, task_name, function, job_type):
    monkeypatch.setattr(tasks, function, raising(OSError(BOOM)))

    getattr(tasks, task_name).delay()

    job = Job.objects.get(type=job_type)
    assert (job.user, job.status, job.error_message) == (None, JobStatus.FAILED, f"OSError: {BOOM}")
    assert job.completed_at is not None


def test_a_delivery_that_crashes_is_a_failed_job_of_the_seller_it_was_for(monkeypatch, user):
    notification = NotificationFactory(user=user)
    monkeypatch.setattr(tasks, "notification_deliver", raising(KeyError("smtp")))

    tasks.notification_deliver_task.delay(notification.pk)

    job = Job.objects.get(type="deliver_notification")
    assert (job.user, job.params) == (user, {"notification_id": notification.pk})
    assert job.error_message == "KeyError: 'smtp'"
    assert not Alert.objects.exists()  # a message about a message would only add noise


def test_a_failing_import_job_says_why_on_the_job(user, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(catalog_tasks, "products_import", raising(ValueError(BOOM)))

    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(catalog_tasks.products_import_task, type="import_csv", user=user, params={"rows": []})

    job.refresh_from_db()
    assert (job.status, job.error_message) == (JobStatus.FAILED, f"ValueError: {BOOM}")


def test_a_failure_alert_reaches_the_sellers_channels(user, django_capture_on_commit_callbacks):
    NotificationChannel.objects.create(user=user, channel="email", address=user.email, min_severity="info")

    with django_capture_on_commit_callbacks(execute=False):
        job_failure_record(type="sync_orders", user=user, error=BOOM, alert=True)

    alert = Alert.objects.get(user=user, type=AlertType.JOB_FAILED)
    assert Notification.objects.filter(user=user, alert=alert).exists()


def test_errors_are_put_in_words():
    from django.db import IntegrityError

    from marketplaces.services import StoreSettingsError

    assert error_words(IntegrityError("new row violates check constraint\nDETAIL: ...")) == (
        "The database refused a change: new row violates check constraint"
    )
    assert error_words(StoreSettingsError({"fee_percent": ["Fees are below 100."]})) == "Fees are below 100."
    assert error_words(RuntimeError()) == "RuntimeError"


# --- Enqueueing with the broker down --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_job_start_fails_the_job_at_once_when_the_broker_is_unreachable(user, broker_down):
    job = job_start(catalog_tasks.products_import_task, type="import_csv", user=user, params={"rows": []})

    assert (job.status, job.error_message) == (JobStatus.FAILED, BACKGROUND_UNAVAILABLE)
    job.refresh_from_db()
    assert (job.status, job.error_message) == (JobStatus.FAILED, BACKGROUND_UNAVAILABLE)
    assert job.completed_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_notification_waits_for_the_sweep_when_the_broker_is_unreachable(user, broker_down):
    notification = NotificationFactory(user=user)

    assert task_enqueue(tasks.notification_deliver_task, notification.pk) is False

    notification.refresh_from_db()
    assert not notification.is_sent and not notification.attempts


@pytest.mark.django_db(transaction=True)
def test_the_sweep_fails_a_lost_job_it_cannot_send_again(user, broker_down, settings):
    job = JobFactory(user=user, task_name="catalog.tasks.products_import_task")
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - settings.JOB_DEADLINE - timedelta(minutes=1))

    from monitoring.records import jobs_sweep

    jobs_sweep()

    job.refresh_from_db()
    assert (job.status, job.error_message) == (JobStatus.FAILED, BACKGROUND_UNAVAILABLE)


def test_job_enqueue_leaves_a_finished_job_alone(user, broker_down):
    job = JobFactory(user=user, status=JobStatus.CANCELLED, task_name="catalog.tasks.products_import_task")

    assert job_enqueue(job) is False

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


@pytest.mark.parametrize(
    ("status", "age_minutes", "retry_in_minutes", "followable"),
    [
        (JobStatus.PENDING, 0, None, True),
        (JobStatus.PENDING, 5, None, False),
        (JobStatus.PENDING, 5, 1, True),  # waiting for its retry
        (JobStatus.PENDING, 30, -5, False),  # its retry is long overdue
        (JobStatus.RUNNING, 30, None, True),
        (JobStatus.SUCCESS, 0, None, False),
    ],
)
def test_only_a_job_a_worker_took_or_may_still_take_is_followed(
    user, status, age_minutes, retry_in_minutes, followable
):
    now = timezone.now()
    job = JobFactory(user=user, status=status)
    job.created_at = now - timedelta(minutes=age_minutes)
    job.next_retry_at = None if retry_in_minutes is None else now + timedelta(minutes=retry_in_minutes)

    assert job_followable(job, now=now) is followable
