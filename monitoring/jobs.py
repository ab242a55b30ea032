"""Run a Celery task as a Job a seller can follow: status, progress, result, error, retries."""

import functools
import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Job, JobStatus
from .notifications import notify_job_complete
from .records import JobCancelled, TransientError, retry_backoff

logger = logging.getLogger(__name__)
TIME_LIMIT_MESSAGE = "The job ran past its time limit."


def job_task(**task_options):
    """Decorate `fn(job) -> dict` into a Celery task taking a Job id.

    The task is idempotent: a finished or cancelled Job is left alone, so a redelivered
    message (acks_late) does nothing twice. A TransientError retries with backoff up to
    JOB_MAX_RETRIES; any other error fails the Job with its message.
    """

    def decorator(fn):
        @shared_task(bind=True, name=f"{fn.__module__}.{fn.__name__}", **task_options)
        @functools.wraps(fn)
        def task(self, job_id):
            job = Job.objects.filter(pk=job_id).first()
            if job is None or job.is_finished:
                return None
            Job.objects.filter(pk=job.pk).update(
                status=JobStatus.RUNNING, started_at=job.started_at or timezone.now(), next_retry_at=None
            )
            job.refresh_from_db()
            try:
                result = fn(job)
            except JobCancelled:
                return None
            except TransientError as exc:
                if job.retry_count >= settings.JOB_MAX_RETRIES:
                    return _finish(job, JobStatus.FAILED, error=str(exc))
                countdown = exc.retry_after or retry_backoff(job.retry_count + 1)
                Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
                    status=JobStatus.PENDING,
                    retry_count=job.retry_count + 1,
                    next_retry_at=timezone.now() + timezone.timedelta(seconds=countdown),
                    error_message=str(exc),
                )
                raise self.retry(countdown=countdown, exc=exc, max_retries=None) from exc
            except SoftTimeLimitExceeded:
                return _finish(job, JobStatus.FAILED, error=TIME_LIMIT_MESSAGE)
            except Exception as exc:
                logger.exception("Job %s (%s) failed", job.pk, job.type)
                return _finish(job, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
            return _finish(job, JobStatus.SUCCESS, result=result or {})

        return task

    return decorator


def _finish(job, status, *, result=None, error=None):
    """Record the outcome unless the user cancelled the job meanwhile."""
    fields = {"status": status, "completed_at": timezone.now(), "next_retry_at": None}
    if result is not None:
        fields.update(result=result, error_message=None, progress_done=max(job.progress_done, job.progress_total))
    if error is not None:
        fields["error_message"] = error
    with transaction.atomic():
        finished = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(**fields)
        if finished and job.user_id:
            notify_job_complete(job)  # only long jobs a seller waits on get a message
    return status
