"""Run a Celery task as a Job a seller can follow: status, progress, result, error, retries.

And for tasks that are not Jobs (schedules, fan-outs, held pushes): a failure is never silent
either. `failure_recorded` records it as a failed Job of the seller it hurts (or of the system),
with the error in words; work that changes what a seller's listings do also raises an alert.
"""

import functools
import logging
from contextlib import contextmanager

from celery import shared_task
from celery.exceptions import Ignore, Reject, Retry, SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import AlertType, Job, JobStatus, Severity
from .notifications import notifications_queue, notify_job_complete
from .records import JobCancelled, TransientError, alert_clear, alert_raise, retry_backoff

logger = logging.getLogger(__name__)
TIME_LIMIT_MESSAGE = "The job ran past its time limit."
DATABASE_REFUSED = "The database refused a change: {detail}"
JOB_FAILED_ALERT = "{label} failed: {error}"
ERROR_MAX_LENGTH = 1000
OUR_APPS = frozenset({"accounts", "catalog", "config", "marketplaces", "monitoring"})
# Celery's own control flow (a retry is scheduled, the message is dropped): not failures.
CONTROL_FLOW = (Retry, Ignore, Reject)


def error_words(exc: BaseException) -> str:
    """An exception as one line a seller or staff member can act on (no traceback)."""
    if isinstance(exc, SoftTimeLimitExceeded):
        return TIME_LIMIT_MESSAGE
    worded = getattr(exc, "message", None)  # our own errors (e.g. a marketplace's refusal) say it already
    if isinstance(worded, str) and worded.strip():
        return worded.strip()[:ERROR_MAX_LENGTH]
    detail = (str(exc).strip().splitlines() or [""])[0]
    if type(exc).__module__.split(".")[0] in OUR_APPS and detail:
        return detail[:ERROR_MAX_LENGTH]  # written for people: no class name in front
    if isinstance(exc, IntegrityError):
        text = DATABASE_REFUSED.format(detail=detail or type(exc).__name__)
    else:
        text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return text[:ERROR_MAX_LENGTH]


def job_label(job_type: str) -> str:
    return job_type.replace("_", " ").capitalize()


def _alert_subject(job_type: str) -> str:
    return f"job:{job_type}"


def job_failure_alert(*, user, job: Job, error: str):
    """Tell a seller that background work on their listings failed (one open alert per kind of job,
    updated by each new failure and cleared by the next success); their channels are notified."""
    if user is None:
        return None
    alert, created = alert_raise(
        user=user,
        type=AlertType.JOB_FAILED,
        subject=_alert_subject(job.type),
        severity=Severity.CRITICAL,
        message=JOB_FAILED_ALERT.format(label=job_label(job.type), error=error),
        data={"job_id": job.pk, "job_type": job.type, "error": error, "path": job.get_absolute_url()},
    )
    if created:
        notifications_queue(alerts=[alert])
    return alert


def job_task(*, alert: bool = False, **task_options):
    """Decorate `fn(job) -> dict` into a Celery task taking a Job id.

    The task is idempotent: a finished or cancelled Job is left alone, so a redelivered
    message (acks_late) does nothing twice. A TransientError retries with backoff up to
    JOB_MAX_RETRIES; any other error fails the Job with its message. With `alert` (work that
    changes what the seller's listings do), a failure also raises an alert for the Job's seller.
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
                    return _finish(job, JobStatus.FAILED, error=str(exc), alert=alert)
                countdown = exc.retry_after or retry_backoff(job.retry_count + 1)
                Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
                    status=JobStatus.PENDING,
                    retry_count=job.retry_count + 1,
                    next_retry_at=timezone.now() + timezone.timedelta(seconds=countdown),
                    error_message=str(exc),
                )
                raise self.retry(countdown=countdown, exc=exc, max_retries=None) from exc
            except SoftTimeLimitExceeded:
                return _finish(job, JobStatus.FAILED, error=TIME_LIMIT_MESSAGE, alert=alert)
            except Exception as exc:
                logger.exception("Job %s (%s) failed", job.pk, job.type)
                return _finish(job, JobStatus.FAILED, error=error_words(exc), alert=alert)
            return _finish(job, JobStatus.SUCCESS, result=result or {}, alert=alert)

        return task

    return decorator


def _finish(job, status, *, result=None, error=None, alert=False):
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
    if finished and alert and job.user_id:
        if status == JobStatus.FAILED:
            job_failure_alert(user=job.user, job=job, error=error)
        else:
            alert_clear(user=job.user, type=AlertType.JOB_FAILED, subject=_alert_subject(job.type))
    return status


def job_failure_record(*, type: str, error: str, user=None, params=None, alert: bool = False) -> Job:
    """A failed Job for work that had no Job of its own (a scheduled or follow-up task), so the
    failure shows on the seller's Jobs page (user None: staff's) and in the admin."""
    now = timezone.now()
    job = Job.objects.create(
        user=user,
        type=type,
        status=JobStatus.FAILED,
        params=params or {},
        error_message=error,
        started_at=now,
        completed_at=now,
    )
    if alert:
        job_failure_alert(user=user, job=job, error=error)
    return job


@contextmanager
def failure_recorded(*, type: str, users=(None,), params=None, alert: bool = False):
    """Run a task's work so that an unexpected failure is recorded (job_failure_record, one Job per
    user in `users`, or in what `users()` returns when it is a function; None = the system) and
    logged, not raised; the task goes on after the block.

    Celery's retries pass through. With `alert`, success clears the users' open alert of this kind.
    """
    try:
        yield
    except CONTROL_FLOW:
        raise
    except Exception as exc:
        logger.exception("%s failed", job_label(type))
        error = error_words(exc)
        for user in users() if callable(users) else users:
            job_failure_record(type=type, error=error, user=user, params=params, alert=alert)
        return
    if alert:
        for user in users() if callable(users) else users:
            if user is not None:
                alert_clear(user=user, type=AlertType.JOB_FAILED, subject=_alert_subject(type))


def recorded_task(*, type: str, **task_options):
    """A plain Celery task (no Job) whose unexpected failure is recorded as a failed system Job."""

    def decorator(fn):
        @shared_task(name=f"{fn.__module__}.{fn.__name__}", **task_options)
        @functools.wraps(fn)
        def task(*args, **kwargs):
            with failure_recorded(type=type):
                return fn(*args, **kwargs)
            return None

        return task

    return decorator
