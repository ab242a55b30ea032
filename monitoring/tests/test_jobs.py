import datetime

import pytest
from django.utils import timezone

from monitoring.jobs import job_task
from monitoring.models import Job, JobStatus
from monitoring.records import (
    JOB_LOST_MESSAGE,
    TransientError,
    job_cancel,
    job_progress,
    job_retry,
    job_start,
    jobs_sweep,
)
from monitoring.tests.factories import JobFactory

pytestmark = pytest.mark.django_db
CALLS = []


@job_task()
def count_to_three(job):
    CALLS.append(job.pk)
    for done in range(1, 4):
        job_progress(job, done=done, total=3)
        if job.params.get("cancel_at") == done:
            Job.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
    if job.params.get("fail"):
        raise ValueError("supplier page had no price")
    if job.params.get("flaky"):
        raise TransientError("supplier answered 503", retry_after=5)
    return {"counted": 3}


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


def start(django_capture_on_commit_callbacks, **params):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(count_to_three, type="count", params=params)
    job.refresh_from_db()
    return job


def test_a_job_runs_after_commit_and_records_its_result(django_capture_on_commit_callbacks):
    job = start(django_capture_on_commit_callbacks)
    assert job.status == JobStatus.SUCCESS
    assert job.result == {"counted": 3}
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.started_at and job.completed_at and job.error_message is None


def test_a_job_is_not_enqueued_before_its_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_start(count_to_three, type="count")
    assert len(callbacks) == 1
    assert CALLS == []
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING


def test_a_failing_job_records_the_error(django_capture_on_commit_callbacks):
    job = start(django_capture_on_commit_callbacks, fail=True)
    assert job.status == JobStatus.FAILED
    assert "supplier page had no price" in job.error_message
    assert job.completed_at is not None


def test_a_cancelled_job_stops_at_its_next_progress_step(django_capture_on_commit_callbacks):
    job = start(django_capture_on_commit_callbacks, cancel_at=1)
    assert job.status == JobStatus.CANCELLED
    assert job.progress_done == 1


def test_a_redelivered_finished_job_does_nothing():
    job = JobFactory(status=JobStatus.SUCCESS, task_name=count_to_three.name, result={"counted": 3})
    count_to_three.apply(args=[job.pk])
    assert CALLS == []


def test_cancel_only_touches_unfinished_jobs():
    running = JobFactory(status=JobStatus.RUNNING)
    done = JobFactory(status=JobStatus.SUCCESS)
    assert job_cancel(running) is True
    assert running.status == JobStatus.CANCELLED
    assert job_cancel(done) is False
    assert done.status == JobStatus.SUCCESS


def test_a_transient_error_waits_as_next_retry_at_and_the_sweep_sends_it_when_due(
    django_capture_on_commit_callbacks,
):
    job = JobFactory(status=JobStatus.PENDING, params={"flaky": True}, task_name=count_to_three.name)
    before = timezone.now()

    count_to_three.apply(args=[job.pk])  # no countdown in the broker: the wait is on the row

    job.refresh_from_db()
    assert (job.status, job.retry_count, job.lease_token) == (JobStatus.PENDING, 1, "")
    assert before + datetime.timedelta(seconds=5) <= job.next_retry_at <= timezone.now() + datetime.timedelta(seconds=5)
    assert CALLS.count(job.pk) == 1
    with django_capture_on_commit_callbacks(execute=True):
        early = jobs_sweep(now=job.next_retry_at - datetime.timedelta(seconds=1))
    assert early["retried"] == []
    count_to_three.apply(args=[job.pk])  # a message arriving early does not run it either
    assert CALLS.count(job.pk) == 1

    Job.objects.filter(pk=job.pk).update(next_retry_at=timezone.now() - datetime.timedelta(seconds=1))  # time passes
    with django_capture_on_commit_callbacks(execute=True):
        due = jobs_sweep()

    assert due["retried"] == [job.pk] and CALLS.count(job.pk) == 2  # it ran again (and waits again)
    job.refresh_from_db()
    assert (job.status, job.retry_count) == (JobStatus.PENDING, 2)


def test_a_transient_error_after_three_retries_fails_the_job():
    job = JobFactory(status=JobStatus.PENDING, params={"flaky": True}, retry_count=3, task_name=count_to_three.name)
    count_to_three.run(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "503" in job.error_message


def test_manual_retry_makes_a_new_job_linked_to_the_failed_one(django_capture_on_commit_callbacks):
    failed = JobFactory(status=JobStatus.FAILED, task_name=count_to_three.name, error_message="boom")
    with django_capture_on_commit_callbacks(execute=True):
        new_job = job_retry(failed)
    new_job.refresh_from_db()
    assert new_job.retry_of == failed
    assert new_job.status == JobStatus.SUCCESS
    failed.refresh_from_db()
    assert failed.status == JobStatus.FAILED


def test_sweep_re_enqueues_a_job_whose_worker_died(django_capture_on_commit_callbacks, settings):
    long_ago = timezone.now() - settings.JOB_DEADLINE - datetime.timedelta(minutes=1)
    lost = JobFactory(status=JobStatus.RUNNING, started_at=long_ago, task_name=count_to_three.name)
    fresh = JobFactory(status=JobStatus.RUNNING, started_at=timezone.now(), task_name=count_to_three.name)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = jobs_sweep()

    assert outcome["requeued"] == [lost.pk]
    lost.refresh_from_db()
    assert lost.status == JobStatus.SUCCESS and lost.retry_count == 1
    fresh.refresh_from_db()
    assert fresh.status == JobStatus.RUNNING


def test_sweep_fails_a_lost_job_retried_too_often(settings):
    long_ago = timezone.now() - settings.JOB_DEADLINE - datetime.timedelta(minutes=1)
    lost = JobFactory(status=JobStatus.RUNNING, started_at=long_ago, retry_count=3, task_name=count_to_three.name)
    outcome = jobs_sweep()
    assert outcome["failed"] == [lost.pk]
    lost.refresh_from_db()
    assert lost.status == JobStatus.FAILED and lost.error_message == JOB_LOST_MESSAGE


def test_a_long_job_a_seller_started_emails_them_when_it_finishes(django_capture_on_commit_callbacks, settings, user):
    from django.core import mail

    from monitoring.models import Notification

    settings.JOB_NOTIFY_MIN_ITEMS = 3
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(count_to_three, type="import_csv", user=user)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCESS
    note = Notification.objects.get(user=user, type="job_complete")
    assert note.metadata["job_id"] == job.pk
    assert any(user.email in message.to for message in mail.outbox)
