from accounts.models import User
from monitoring.jobs import job_task

from .services import products_import


@job_task()
def products_import_task(job):
    """Add the products a seller pasted or uploaded (Job params: rows, read_now), row by row."""
    user = User.objects.get(pk=job.user_id)
    return products_import(job=job, user=user, rows=job.params["rows"], read_now=job.params.get("read_now", False))
