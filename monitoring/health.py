"""Is the service up: the database, the broker and the cache, each checked within a deadline;
and what staff want to see of the background work: workers' heartbeats and the queue's length."""

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait

from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.cache import cache_check
from config.celery import app as celery_app

from .models import WorkerHeartbeat

HEALTH_DEADLINE = 0.8  # seconds for all checks together: /healthz answers within 1 s
OK = "ok"
TIMEOUT = "error: timeout"
# A worker whose last heartbeat is older than this many intervals is shown as silent; one silent
# for more than a week (a replaced container) is no longer shown.
SILENT_AFTER_BEATS = 3
SHOWN_FOR = timezone.timedelta(days=7)


def _database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()  # this thread's own connection


def _broker():
    with celery_app.connection_for_write(connect_timeout=HEALTH_DEADLINE) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=HEALTH_DEADLINE)


CHECKS = {"database": _database, "broker": _broker, "cache": cache_check}


def health_checks(*, deadline: float = HEALTH_DEADLINE) -> dict[str, str]:
    """Each service as "ok" or "error: <what>"; all are checked at once, and one that has not
    answered by the deadline is "error: timeout" (its check is left to finish on its own)."""
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="healthz")
    futures = {name: pool.submit(check) for name, check in CHECKS.items()}
    futures_wait(futures.values(), timeout=deadline)
    pool.shutdown(wait=False)
    results = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = TIMEOUT
        elif future.exception() is not None:
            results[name] = f"error: {type(future.exception()).__name__}"
        else:
            results[name] = OK
    return results


def queue_length() -> int:
    """Tasks waiting in the broker's default queue (not yet taken by a worker); raises when the
    broker cannot be reached."""
    name = celery_app.conf.task_default_queue
    with celery_app.connection_for_read(connect_timeout=HEALTH_DEADLINE) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=HEALTH_DEADLINE)
        # Not passive: an empty Redis queue has no key, and a passive declare would call it missing.
        return conn.default_channel.queue_declare(queue=name, passive=False).message_count


def worker_heartbeats(*, now=None) -> list[WorkerHeartbeat]:
    """The workers heard from this week, latest first, each marked `silent` when it stopped."""
    now = now or timezone.now()
    silent_before = now - timezone.timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS * SILENT_AFTER_BEATS)
    beats = list(WorkerHeartbeat.objects.filter(seen_at__gte=now - SHOWN_FOR).order_by("-seen_at")[:20])
    for beat in beats:
        beat.silent = beat.seen_at < silent_before
    return beats
