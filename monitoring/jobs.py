"""Run a Celery task as a Job a seller can follow: status, progress, result, error, retries.

And for tasks that are not Jobs (schedules, fan-outs, held pushes): a failure is never silent
either. `failure_recorded` records it as a failed Job of the seller it hurts (or of the system),
with the error in words; work that changes what a seller's listings do also raises an alert.
"""

import functools
import logging
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager

from celery import shared_task
from celery.exceptions import Ignore, Reject, Retry, SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .models import AlertType, Job, JobStatus, Severity
from .notifications import notifications_queue, notify_job_complete
from .records import (
    CONTINUE,
    DATABASE_LOST,
    JobCancelled,
    TransientError,
    alert_clear,
    alert_raise,
    job_hand_on,
    job_heartbeat,
    job_lease_take,
    job_retry_later,
    retry_backoff,
)

logger = logging.getLogger(__name__)
TIME_LIMIT_MESSAGE = "The job ran past its time limit."
DATABASE_REFUSED = "The database refused a change: {detail}"
JOB_FAILED_ALERT = "{label} failed: {error}"
ERROR_MAX_LENGTH = 1000
OUR_APPS = frozenset({"accounts", "catalog", "config", "marketplaces", "monitoring"})
# Celery's own control flow (a retry is scheduled, the message is dropped): not failures.
CONTROL_FLOW = (Retry, Ignore, Reject)
HEARTBEAT_STOP_WAIT = 5.0  # seconds the task waits for a beat in progress when it ends


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


class JobLease:
    """A delivery's hold on its Job while the task runs: a timer thread renews the Job's heartbeat,
    and whatever the work registered in `renewers` (a round's product claims, one statement), every
    JOB_HEARTBEAT_SECONDS. It proves the worker is alive, not that the work moves: a healthy round
    may wait minutes for a rate-limit slot. Each beat uses a fresh database connection, so one
    PostgreSQL dropped costs one beat at most."""

    def __init__(self, job: Job):
        self.job = job
        self.renewers: list = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def renew(self) -> bool:
        """One beat; False when this delivery holds the Job no more (finished, cancelled, taken over)."""
        if not job_heartbeat(self.job.pk, token=self.job.lease_token):
            return False
        for renew in list(self.renewers):
            renew()
        return True

    def start(self, interval: float) -> None:
        def beat():
            while not self._stop.wait(interval):
                try:
                    if not self.renew():
                        return
                except Exception:  # noqa: BLE001 - a missed beat must never stop the work; the next may pass
                    logger.exception("Could not renew the heartbeat of job %s", self.job.pk)
                finally:
                    connection.close()  # this thread's own connection

        self._thread = threading.Thread(target=beat, name=f"job-{self.job.pk}-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(HEARTBEAT_STOP_WAIT)


def lease_token() -> str:
    """Names this delivery: the worker's host and process, and a part of its own."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def job_task(*, alert: bool = False, **task_options):
    """Decorate `fn(job) -> dict` into a Celery task taking a Job id.

    The delivery first takes the Job's lease (records.job_lease_take); when a finished Job, one
    waiting for its retry time or one another worker holds alive comes, it exits at once, so a
    redelivered or duplicated message never runs a Job twice. While `fn` runs, the lease's
    heartbeat is renewed on a timer (job.lease; fn may add renewers). `fn` may return CONTINUE
    after saving a checkpoint (job_progress) when job_out_of_time(job): a new delivery carries on.
    A TransientError waits as next_retry_at (sent by the sweep) up to JOB_MAX_RETRIES; a lost
    database connection hands the Job on at once (a retry too); any other error fails the Job with
    its message. With `alert` (work that changes what the seller's listings do), a failure also
    raises an alert for the Job's seller.
    """

    def decorator(fn):
        @shared_task(bind=True, name=f"{fn.__module__}.{fn.__name__}", **task_options)
        @functools.wraps(fn)
        def task(self, job_id):
            job = job_lease_take(job_id, token=lease_token())
            if job is None:
                logger.info("Job %s is finished, waiting or held by a live worker: nothing to do", job_id)
                return None
            job.lease = JobLease(job)
            job.lease.start(settings.JOB_HEARTBEAT_SECONDS)
            # A delivery from the broker hands on after its batch time; a run in the caller's own
            # process (eager: the track command, tests) has no delivery to keep short.
            job.run_until = float("inf") if self.request.is_eager else time.monotonic() + settings.JOB_BATCH_SECONDS
            try:
                return _run(fn, job, alert=alert)
            finally:
                job.lease.stop()

        return task

    return decorator


def _run(fn, job: Job, *, alert: bool):
    try:
        result = fn(job)
        if result == CONTINUE:
            job_hand_on(job)
            return None
    except JobCancelled:  # cancelled by the user, or taken over (JobLeaseLost): not ours to record
        return None
    except TransientError as exc:
        if job.retry_count >= settings.JOB_MAX_RETRIES:
            return _finish(job, JobStatus.FAILED, error=str(exc), alert=alert)
        job_retry_later(job, error=str(exc), wait=exc.retry_after or retry_backoff(job.retry_count + 1))
        return None
    except SoftTimeLimitExceeded:
        return _finish(job, JobStatus.FAILED, error=TIME_LIMIT_MESSAGE, alert=alert)
    except DATABASE_LOST as exc:
        return _connection_lost(job, exc, alert=alert)
    except Exception as exc:
        logger.exception("Job %s (%s) failed", job.pk, job.type)
        return _finish(job, JobStatus.FAILED, error=error_words(exc), alert=alert)
    return _finish(job, JobStatus.SUCCESS, result=result or {}, alert=alert)


def _connection_lost(job: Job, exc: BaseException, *, alert: bool):
    """The database connection broke under the work: open a new one and hand the Job on to a new
    delivery, which carries on from its checkpoint. When the database is still unreachable the
    error goes up and the Job, unrenewed, goes stale: the sweep resumes it once the database is back."""
    logger.warning("Job %s (%s) lost its database connection (%s); handing it on", job.pk, job.type, exc)
    if connection.connection is not None and not connection.is_usable():
        connection.close()  # the next statement opens a new one
    if job.retry_count >= settings.JOB_MAX_RETRIES:
        return _finish(job, JobStatus.FAILED, error=error_words(exc), alert=alert)
    job_hand_on(job, retry=True)
    return None


def _finish(job, status, *, result=None, error=None, alert=False):
    """Record the outcome unless the user cancelled the job meanwhile."""
    # The checkpoint was for carrying on; the result (or the error) is what stays.
    fields = {"status": status, "completed_at": timezone.now(), "next_retry_at": None, "checkpoint": {}}
    if result is not None:
        fields.update(result=result, error_message=None, progress_done=max(job.progress_done, job.progress_total))
    if error is not None:
        fields["error_message"] = error
    ours = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING)
    if job.lease_token:
        ours = ours.filter(lease_token=job.lease_token)
    with transaction.atomic():
        finished = ours.update(**fields)
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
