"""Record keeping used by every app: Jobs a person can follow and AuditLog rows, and the one
place that sends work to the broker (task_enqueue, job_enqueue). The Job row owns recovery: the
lease a running Job holds (job_lease_take, job_heartbeat, job_hand_on) and the sweep that hands a
stale Job to another worker (jobs_sweep); config/settings.py, "Liveness and recovery", says why.

This module imports no other app's services (DESIGN.md: the one exception to the layering).
"""

import logging
import random
import time
from datetime import timedelta
from decimal import Decimal

import psycopg
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from .models import Alert, AuditLog, Job, JobStatus, WorkerHeartbeat

logger = logging.getLogger(__name__)
JOB_CANCELLED_MESSAGE = "Cancelled by the user."
JOB_LOST_MESSAGE = "The worker running this job stopped and it was retried too often."
JOB_LEASE_LOST_MESSAGE = "Another worker took this job over."
BACKGROUND_UNAVAILABLE = "Background work is unavailable right now; try again in a minute."
JOB_NOT_PICKED_UP = "No worker picked this job up in time."
# The database connection went away (PostgreSQL restarted or ended the session, a network cut):
# not the work's fault. psycopg's own errors come from the statements written through it directly.
DATABASE_LOST = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)
# What sending to an unreachable broker raises (Celery wraps connection errors in kombu's).
BROKER_UNREACHABLE = (BrokerOperationalError, OSError)
RETRY_BACKOFF_CAP = 600  # seconds; a Job waits as next_retry_at, sent by the sweep, never in the broker
SECRET_FIELDS = frozenset({"api_key", "api_secret", "oauth_token", "oauth_refresh_token", "password", "webhook_secret"})


class JobCancelled(Exception):
    """Raised inside a running job when its user cancelled it."""


class JobLeaseLost(JobCancelled):
    """Raised inside a running job another delivery took over (this worker's heartbeat had gone
    stale): stop at once and leave the Job, and the work it holds, to the new holder."""


# What a Job's function returns when it saved its checkpoint and has more to do: the Job is handed
# on to a new delivery of its task (monitoring.jobs.job_task).
CONTINUE = "continue"


class TransientError(Exception):
    """A failure worth retrying later (network trouble, rate limit, a busy remote service)."""

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


def retry_backoff(retry_count: int) -> int:
    """Seconds to wait before retry number `retry_count` (1-based): exponential with jitter."""
    base = min(RETRY_BACKOFF_CAP, 30 * 2 ** (retry_count - 1))
    return int(base / 2 + random.uniform(0, base / 2))


def task_enqueue(task, *args, countdown: int | None = None, **kwargs) -> bool:
    """Send `task` to the broker now; False (logged, never raised) when the broker cannot be reached.

    Every enqueue goes through here or job_enqueue, so a broker outage is never a 500. The attempt
    fails within seconds (CELERY_BROKER_CONNECTION_TIMEOUT, CELERY_TASK_PUBLISH_RETRY_POLICY).
    """
    if task.app.conf.task_always_eager:  # run here: there is no broker, and the task's errors are its own
        task.apply_async(args=args, kwargs=kwargs, countdown=countdown)
        return True
    try:
        task.apply_async(args=args, kwargs=kwargs, countdown=countdown)
    except BROKER_UNREACHABLE as exc:
        logger.warning("Could not enqueue %s: the broker is unreachable (%s)", task.name, exc)
        return False
    return True


def job_enqueue(job: Job, task=None) -> bool:
    """Send the Job's task to the broker; when it cannot be reached, fail the Job at once with
    BACKGROUND_UNAVAILABLE (the row and `job` itself), so nothing waits as pending for nobody."""
    from celery import current_app

    if task_enqueue(task or current_app.tasks[job.task_name], job.pk):
        Job.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(enqueued_at=timezone.now())
        return True
    now = timezone.now()
    Job.objects.filter(pk=job.pk).unfinished().update(
        status=JobStatus.FAILED, error_message=BACKGROUND_UNAVAILABLE, completed_at=now, next_retry_at=None
    )
    job.status, job.error_message, job.completed_at, job.next_retry_at = (
        JobStatus.FAILED,
        BACKGROUND_UNAVAILABLE,
        now,
        None,
    )
    return False


def job_unavailable(job: Job) -> bool:
    """True when the Job failed because background work could not be started (see job_enqueue)."""
    return job.status == JobStatus.FAILED and job.error_message == BACKGROUND_UNAVAILABLE


def job_start(task, *, type: str, user=None, params=None, total: int = 0) -> Job:
    """Create a pending Job and enqueue `task` with its id once the transaction commits.

    Outside a transaction (a view) that is at once: when the broker is down the returned Job is
    already failed (job_unavailable), for the caller to say so.
    """
    job = Job.objects.create(user=user, type=type, params=params or {}, progress_total=total, task_name=task.name)
    transaction.on_commit(lambda: job_enqueue(job, task))
    return job


def job_followable(job: Job | None, *, now=None) -> bool:
    """Whether a seller may wait on this Job: unfinished and running, or pending and picked up (or
    due for its retry) within JOB_PICKUP_TIMEOUT. A Job no worker took in time is not followed."""
    if job is None or job.is_finished:
        return False
    if job.status == JobStatus.RUNNING:
        return True
    since = (now or timezone.now()) - settings.JOB_PICKUP_TIMEOUT
    return (job.next_retry_at or job.created_at) >= since


def job_abandon(job: Job, *, error: str = JOB_NOT_PICKED_UP) -> bool:
    """Fail a pending Job that will not be followed (its task, if it ever arrives, does nothing)."""
    abandoned = Job.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
        status=JobStatus.FAILED, error_message=error, completed_at=timezone.now(), next_retry_at=None
    )
    job.refresh_from_db()
    return bool(abandoned)


def job_progress(job: Job, *, done: int, total: int | None = None, checkpoint: dict | None = None) -> None:
    """Save progress (and, at the end of a batch, the checkpoint the next delivery carries on from);
    raise JobCancelled if the user cancelled the job meanwhile, JobLeaseLost if another delivery
    took it over."""
    fields = {"progress_done": done}
    job.progress_done = done
    if total is not None:
        job.progress_total = fields["progress_total"] = total
    if checkpoint is not None:
        job.checkpoint = fields["checkpoint"] = checkpoint
    ours = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING)
    if job.lease_token:
        ours = ours.filter(lease_token=job.lease_token)
    if not ours.update(**fields):
        if Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).exists():
            raise JobLeaseLost(JOB_LEASE_LOST_MESSAGE)
        raise JobCancelled(JOB_CANCELLED_MESSAGE)


def job_cancel(job: Job) -> bool:
    """Cancel a pending or running job; a running one stops at its next progress step."""
    cancelled = (
        Job.objects.filter(pk=job.pk)
        .unfinished()
        .update(
            status=JobStatus.CANCELLED,
            completed_at=timezone.now(),
            error_message=JOB_CANCELLED_MESSAGE,
            next_retry_at=None,
        )
    )
    job.refresh_from_db()
    return bool(cancelled)


def job_retry(job: Job) -> Job:
    """A manual retry of a failed or cancelled job: a new Job linked to the old one."""
    new_job = Job.objects.create(
        user=job.user,
        type=job.type,
        params=job.params,
        task_name=job.task_name,
        retry_of=job,
        progress_total=job.progress_total,
    )
    transaction.on_commit(lambda: job_enqueue(new_job))
    return new_job


def job_out_of_time(job: Job) -> bool:
    """Whether this delivery of the Job has used its JOB_BATCH_SECONDS (job.run_until, set by
    monitoring.jobs.job_task): after the batch in hand, save the checkpoint and return CONTINUE."""
    return time.monotonic() >= getattr(job, "run_until", float("inf"))


def job_stale_after(job_type: str) -> timedelta:
    """How old a running Job's heartbeat may be before the Job counts as stale (JOB_STALE_AFTER)."""
    limits = settings.JOB_STALE_AFTER
    return limits.get(job_type, limits["*"])


def _last_sign(job: Job):
    return job.heartbeat_at or job.started_at or job.created_at


def job_is_stale(job: Job, *, now=None) -> bool:
    """A running Job whose worker has not renewed its heartbeat within its type's limit."""
    now = now or timezone.now()
    return job.status == JobStatus.RUNNING and _last_sign(job) < now - job_stale_after(job.type)


def jobs_alive(jobs, *, now=None) -> list[Job]:
    """Of these Jobs, the unfinished ones that are not stale (pending, or running with a fresh
    heartbeat): a stale one never blocks new work, the sweep resumes it."""
    now = now or timezone.now()
    return [job for job in jobs.unfinished() if not job_is_stale(job, now=now)]


def job_lease_take(job_id: int, *, token: str, now=None) -> Job | None:
    """Take the Job for the delivery `token`, renewing its heartbeat: a pending Job whose wait is
    over, a running Job nobody holds (handed on), or one whose holder's heartbeat is stale. None —
    the delivery exits at once — when it is finished, waits for its retry time, or another worker
    holds it with a fresh heartbeat: the broker's late redelivery and the sweep never run one Job
    twice."""
    now = now or timezone.now()
    job_type = Job.objects.filter(pk=job_id).values_list("type", flat=True).first()
    if job_type is None:
        return None
    stale_before = now - job_stale_after(job_type)
    free = (
        Q(status=JobStatus.PENDING, next_retry_at__isnull=True)
        | Q(status=JobStatus.PENDING, next_retry_at__lte=now)
        | Q(status=JobStatus.RUNNING, lease_token="")
        | Q(status=JobStatus.RUNNING, heartbeat_at__lt=stale_before)
    )
    taken = Job.objects.filter(free, pk=job_id).update(
        status=JobStatus.RUNNING,
        lease_token=token,
        heartbeat_at=now,
        next_retry_at=None,
        started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())),
    )
    return Job.objects.get(pk=job_id) if taken else None


def job_heartbeat(job_id: int, *, token: str, now=None) -> bool:
    """Renew the heartbeat of a Job the delivery `token` holds; False when it holds it no more."""
    return bool(
        Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, lease_token=token).update(
            heartbeat_at=now or timezone.now()
        )
    )


def job_hand_on(job: Job, *, retry: bool = False) -> bool:
    """Release this delivery's lease on a running Job and send a new delivery of its task, which
    carries on from the checkpoint; with `retry`, that counts as an automatic retry. When the broker
    cannot be reached the Job stays running unheld, and the sweep sends it once it looks stale."""
    fields = {"lease_token": "", "heartbeat_at": timezone.now()}
    if retry:
        fields["retry_count"] = F("retry_count") + 1
    released = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, lease_token=job.lease_token).update(**fields)
    if not released:
        return False
    job.lease_token = ""
    from celery import current_app

    if task_enqueue(current_app.tasks[job.task_name], job.pk):
        Job.objects.filter(pk=job.pk).update(enqueued_at=timezone.now())
    return True


def job_retry_later(job: Job, *, error: str, wait: float) -> bool:
    """Put a running Job back to pending until `wait` seconds from now (an automatic retry): the
    sweep sends it when that time comes, so the wait never sits in the broker."""
    return bool(
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, lease_token=job.lease_token).update(
            status=JobStatus.PENDING,
            retry_count=F("retry_count") + 1,
            next_retry_at=timezone.now() + timedelta(seconds=wait),
            error_message=error,
            lease_token="",
            heartbeat_at=None,
        )
    )


def jobs_sweep(now=None) -> dict:
    """Every JOB_SWEEP_SECONDS: resume stale running Jobs (their worker died, or the delivery they
    were handed on to was lost) on another worker, send pending Jobs whose wait is over, send
    again those whose message no worker picked up within JOB_DEADLINE; a Job that needed this more
    than JOB_MAX_RETRIES times fails."""
    now = now or timezone.now()
    unfinished = Job.objects.unfinished().exclude(task_name="")
    requeued, retried, failed = [], [], []

    def again(job, *, lease_token=None):
        """Count one more retry and send it; or fail it when it has had its share."""
        if lease_token is None:
            ours = Job.objects.filter(pk=job.pk, status=JobStatus.PENDING, enqueued_at=job.enqueued_at)
        else:
            ours = Job.objects.filter(
                pk=job.pk, status=JobStatus.RUNNING, lease_token=lease_token, heartbeat_at=job.heartbeat_at
            )
        if job.retry_count >= settings.JOB_MAX_RETRIES:
            if ours.update(
                status=JobStatus.FAILED, error_message=JOB_LOST_MESSAGE, completed_at=now, next_retry_at=None
            ):
                failed.append(job.pk)
            return
        fields = {"retry_count": job.retry_count + 1, "next_retry_at": None}
        if lease_token is not None:  # resumed where it stopped: still running, held by nobody
            fields.update(lease_token="", heartbeat_at=now)
        if ours.update(**fields):  # unless its worker renewed the heartbeat or took it meanwhile
            transaction.on_commit(lambda: job_enqueue(job))
            requeued.append(job.pk)

    shortest = min(settings.JOB_STALE_AFTER.values())
    running = unfinished.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=now - shortest) | Q(heartbeat_at__isnull=True)
    )
    for job in running:
        if job_is_stale(job, now=now):
            again(job, lease_token=job.lease_token)

    # A wait (next_retry_at) that is over, not sent since: send it (the retry was counted already).
    for job in unfinished.filter(status=JobStatus.PENDING, next_retry_at__lte=now).filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("next_retry_at"))
    ):
        if Job.objects.filter(pk=job.pk, status=JobStatus.PENDING, enqueued_at=job.enqueued_at).update(enqueued_at=now):
            transaction.on_commit(lambda job=job: job_enqueue(job))
            retried.append(job.pk)

    # Sent (or made) long ago and never picked up: the message was lost.
    lost = (
        unfinished.filter(status=JobStatus.PENDING)
        .filter(Q(next_retry_at__isnull=True) | Q(enqueued_at__gte=F("next_retry_at")))
        .annotate(sent_at=Coalesce("enqueued_at", "created_at"))
        .filter(sent_at__lt=now - settings.JOB_DEADLINE)
    )
    for job in lost:
        again(job)
    return {"requeued": requeued, "retried": retried, "failed": failed}


def worker_heartbeat_record(*, hostname: str, pid: int | None = None, starting: bool = False, now=None):
    """Note that a worker is alive; `starting` when it has just started."""
    now = now or timezone.now()
    fields = {"seen_at": now, "pid": pid}
    beat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={**fields, "started_at": now} if starting else fields,
        create_defaults={**fields, "started_at": now},
    )
    return beat


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def audit_values(values: dict | None) -> dict | None:
    """Field values fit for an audit row: JSON-safe, secrets masked."""
    if values is None:
        return None
    return {key: ("••••••" if key in SECRET_FIELDS and value else _jsonable(value)) for key, value in values.items()}


def client_ip(request) -> str | None:
    """The client's address; behind a trusted reverse proxy, the first X-Forwarded-For entry."""
    if settings.AXES_IPWARE_PROXY_COUNT:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *, acting_user, owner, action: str, resource, old_value=None, new_value=None, request=None, notes=None
) -> AuditLog:
    """Write one audit row about a seller-owned resource (acting_user None = the system)."""
    ip_address, user_agent = None, ""
    if request is not None:
        ip_address = client_ip(request)
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:400]
    return AuditLog.objects.create(
        user=acting_user if getattr(acting_user, "is_authenticated", False) else None,
        owner=owner,
        action=action,
        resource_type=resource._meta.model_name,
        resource_id=str(resource.pk),
        old_value=audit_values(old_value),
        new_value=audit_values(new_value),
        ip_address=ip_address,
        user_agent=user_agent,
        notes=notes,
    )


def alert_raise(
    *, user, type: str, subject: str, message: str, severity: str = "warning", data=None, product=None, listing=None
) -> tuple[Alert, bool]:
    """Raise an alert unless one is open for (user, type, subject); returns (alert, created).

    An open alert is updated with the latest message and data but not raised again, even when
    acknowledged; only clearing lets the same condition raise a new one. Notifications for new
    alerts are queued by the monitoring cycle.
    """
    fields = {"message": message, "severity": severity, "data": data or {}, "product": product, "listing": listing}
    existing = Alert.objects.filter(user=user, type=type, subject=subject, cleared_at__isnull=True).first()
    if existing is None:
        try:
            with transaction.atomic():
                return Alert.objects.create(user=user, type=type, subject=subject, **fields), True
        except IntegrityError:  # another worker raised it meanwhile
            existing = Alert.objects.get(user=user, type=type, subject=subject, cleared_at__isnull=True)
    for name, value in fields.items():
        setattr(existing, name, value)
    existing.save(update_fields=list(fields))
    return existing, False


def alert_clear(*, user, type: str, subject: str, now=None) -> int:
    """Mark the open alert for (user, type, subject) cleared: its condition went away."""
    return Alert.objects.filter(user=user, type=type, subject=subject, cleared_at__isnull=True).update(
        cleared_at=now or timezone.now()
    )


# --- What a seller does with their alerts and jobs (the pages and the API) -------------------

RETRYABLE_STATUSES = (JobStatus.FAILED, JobStatus.CANCELLED)


def job_retryable(job: Job) -> bool:
    """Only a failed or cancelled job whose task is known can run again."""
    return job.status in RETRYABLE_STATUSES and bool(job.task_name)


def alerts_mark_read(alerts, *, now=None) -> int:
    """Mark the given alerts (a queryset, already the seller's) read; returns how many changed."""
    now = now or timezone.now()
    return alerts.filter(is_read=False).update(is_read=True, read_at=now)


def alerts_acknowledge(alerts, *, now=None) -> int:
    """The seller has seen the alerts and deals with them: read and acknowledged. An acknowledged
    alert stays open until its condition clears (it is not raised again meanwhile)."""
    now = now or timezone.now()
    alerts_mark_read(alerts, now=now)
    return alerts.filter(acknowledged_at__isnull=True).update(acknowledged_at=now)
