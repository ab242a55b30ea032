"""The Celery app: configured from Django settings (CELERY_*), tasks found in every app."""

import gc
import logging
import os

from celery import Celery, bootsteps, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.worker_process_init.connect
def freeze_startup_objects(**kwargs):
    """What a worker loaded at startup (Django, the apps and their modules) lives as long as the
    worker: out of the garbage collector's sight, a full collection no longer walks it (one took
    ≈ 65 ms with every thread stopped, several times per tracking round)."""
    gc.freeze()


def worker_heartbeat(hostname: str, *, starting: bool = False) -> None:
    """Note in the database that this worker is alive (staff's service-health page shows it)."""
    from django.db import connection

    from monitoring.records import worker_heartbeat_record

    try:
        worker_heartbeat_record(hostname=hostname, pid=os.getpid(), starting=starting)
    except Exception:  # noqa: BLE001 - a missed heartbeat must never stop the worker
        logger.exception("Could not record the heartbeat of %s", hostname)
    finally:
        connection.close()  # the timer's own connection; the next beat opens a fresh one


class Heartbeat(bootsteps.StartStopStep):
    """A worker records a heartbeat when it starts and every WORKER_HEARTBEAT_SECONDS after."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.timer_ref = None

    def start(self, worker):
        from django.conf import settings

        worker_heartbeat(worker.hostname, starting=True)
        self.timer_ref = worker.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_SECONDS, worker_heartbeat, (worker.hostname,)
        )

    def stop(self, worker):
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None


app.steps["worker"].add(Heartbeat)
