from celery import shared_task

from .records import jobs_sweep


@shared_task(name="monitoring.tasks.jobs_sweep_task")
def jobs_sweep_task():
    """Periodic: re-enqueue Jobs whose task was lost, so no seller waits on a dead worker."""
    return jobs_sweep()
