import logging

from django.core.management.base import CommandError

from catalog.models import Product
from config.commands import BaseCommand
from monitoring.cycle import TRACKING_JOB_TYPE, round_refreshed
from monitoring.models import Job, JobStatus
from monitoring.tasks import tracking_cycle_task

NOTHING_REFRESHED = "Tracking round {job}: none of its {count} products could be refreshed."


class Command(BaseCommand):
    help = (
        "Run one tracking round now, in this process: refresh the products that are due (or the "
        "given ones), make their listings follow, raise alerts and queue notifications. The round "
        "is recorded as a Job; beat runs the same round every few minutes. Exits 0 when the round "
        "ran, even if some products failed (each is listed); non-zero when none could be refreshed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--product", type=int, action="append", dest="products", help="Product id (repeatable).")

    def handle(self, *args, products=None, **options):
        if products:
            missing = set(products) - set(Product.objects.filter(pk__in=products).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No product with id {', '.join(map(str, sorted(missing)))}.")
        params = {"product_ids": products} if products else {}
        job = Job.objects.create(type=TRACKING_JOB_TYPE, params=params, task_name=tracking_cycle_task.name)
        trace = logging.getLogger("celery.app.trace")  # its "Task … succeeded in …" line is not for people
        level = trace.level
        trace.setLevel(logging.WARNING)
        try:
            tracking_cycle_task.apply(args=[job.pk])
        finally:
            trace.setLevel(level)
        job.refresh_from_db()
        if job.status != JobStatus.SUCCESS:
            raise CommandError(f"Tracking round {job.pk} {job.status}: {job.error_message}")
        result = job.result
        self.stdout.write(f"Tracking round {job.pk}: {result['summary']}")
        for failure in result.get("failures", []):
            self.stdout.write(f"  product {failure['product_id']} ({failure['label']}): {failure['reason']}")
        if result["products"] and not round_refreshed(result):
            raise CommandError(NOTHING_REFRESHED.format(job=job.pk, count=result["products"]))
