from celery import shared_task
from django.conf import settings

from catalog.services import products_waiting

from .alerts import alerts_for_orders, service_alerts_check
from .cycle import TRACKING_JOB_TYPE, cycle_run
from .jobs import failure_recorded, job_task, recorded_task
from .models import Job, Notification
from .notifications import notification_deliver, notifications_queue, notifications_send_digests, notifications_sweep
from .records import job_start, jobs_alive, jobs_sweep
from .retention import retention_prune


@recorded_task(type="sweep_jobs")
def jobs_sweep_task():
    """Every JOB_SWEEP_SECONDS: resume stale Jobs on another worker and send those whose wait is
    over, so no seller waits on a dead worker (records.jobs_sweep)."""
    return jobs_sweep()


# --- Alerts and notifications ---


@shared_task(
    bind=True, name="monitoring.tasks.notification_deliver_task", max_retries=None, soft_time_limit=120, time_limit=180
)
def notification_deliver_task(self, notification_id):
    """Deliver one Notification (email, SMS or webhook); retried with backoff while the failure may pass.

    Attempts are counted on the row (NOTIFICATION_MAX_ATTEMPTS), so a redelivered or duplicated
    message never sends twice nor tries forever. A wait longer than TASK_COUNTDOWN_MAX never sits
    in the broker: notifications_sweep sends the delivery when it is due.
    """

    def owner():
        notification = Notification.objects.filter(pk=notification_id).select_related("user").first()
        return [notification.user if notification else None]

    with failure_recorded(type="deliver_notification", users=owner, params={"notification_id": notification_id}):
        outcome = notification_deliver(notification_id=notification_id)
        if outcome.status == "retry" and outcome.retry_in <= settings.TASK_COUNTDOWN_MAX:
            raise self.retry(countdown=outcome.retry_in)
        return outcome.status  # a longer wait (a Retry-After) is kept on the row for notifications_sweep
    return None


@recorded_task(type="check_service_alerts")
def service_alerts_check_task():
    """Periodic (10 min): raise or clear staff's service alerts and notify them of new ones."""
    alerts = service_alerts_check()
    return {"alerts": len(alerts), "notifications": len(notifications_queue(alerts=alerts))}


@recorded_task(type="check_order_alerts")
def order_alerts_check_task():
    """Periodic (15 min): raise or clear the order rules (not bought in time, near or past the
    ship-by date) and notify the sellers of new ones."""
    alerts = alerts_for_orders()
    return {"alerts": len(alerts), "notifications": len(notifications_queue(alerts=alerts))}


@recorded_task(type="send_digests")
def notifications_send_digests_task():
    """Daily: the digest of the day's alerts for sellers who want one message a day."""
    return {"notifications": len(notifications_send_digests())}


@recorded_task(type="sweep_notifications")
def notifications_sweep_task():
    """Periodic: enqueue again the deliveries whose task was lost, so no message waits forever."""
    return {"requeued": len(notifications_sweep())}


@recorded_task(type="prune")
def prune_task():
    """Daily: remove jobs, notifications and audit rows older than the retention policy."""
    return retention_prune()


# --- The tracking cycle ---


@job_task()
def tracking_cycle_task(job):
    """One tracking round (Job params: product_ids for "refresh now", else whatever is due)."""
    return cycle_run(job=job, product_ids=job.params.get("product_ids"))


@shared_task(name="monitoring.tasks.tracking_cycle_start")
def tracking_cycle_start():
    """Beat: start tracking rounds as system Jobs until TRACK_PARALLEL_ROUNDS are going, when anything
    is waiting (a product due, a follow-up left unfinished): an idle tick leaves no Job behind. A round
    whose worker died (a stale heartbeat) does not count: the sweep resumes it, and the next round
    does not wait for that."""
    going = len(jobs_alive(Job.objects.filter(user=None, type=TRACKING_JOB_TYPE)))
    if going >= settings.TRACK_PARALLEL_ROUNDS or not products_waiting():
        return []
    return [
        job_start(tracking_cycle_task, type=TRACKING_JOB_TYPE).pk for _ in range(settings.TRACK_PARALLEL_ROUNDS - going)
    ]
