import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from config.celery import app as celery_app
from marketplaces.models import ListingStatus

from . import records
from .models import Job, JobStatus

PAGE_SIZE = 25
JOB_CANCELLED = "Job cancelled."
JOB_NOT_CANCELLABLE = "This job has already finished; there is nothing to cancel."
JOB_RETRIED = "Retry started."
JOB_NOT_RETRYABLE = "Only failed or cancelled jobs can be retried."
RETRYABLE_STATUSES = (JobStatus.FAILED, JobStatus.CANCELLED)
ALERT_FILTERS = {"open": "Open", "unread": "Unread", "all": "All, including cleared"}


@require_GET
def healthz(request):
    """Database and broker health, for load balancers and compose healthchecks."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


def _template(request, page: str, partial: str) -> str:
    """The whole page, or only its named partial for an HTMX swap (not for a history restore)."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{page}#{partial}"
    return page


def _duration_text(delta) -> str:
    if delta is None:
        return ""
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"


def _result_items(result) -> list[tuple[str, str]]:
    """A job's result as (label, text) pairs a seller can read."""
    if not isinstance(result, dict):
        return [("Result", json.dumps(result))] if result else []
    items = []
    for key, value in result.items():
        text = value if isinstance(value, str | int | float) else json.dumps(value)
        items.append((str(key).replace("_", " ").capitalize(), text))
    return items


def _job_display(job: Job) -> Job:
    """Attach what the job templates show: readable duration and a short result summary."""
    job.type_label = job.type.replace("_", " ").capitalize()
    job.duration_text = _duration_text(job.duration)
    job.result_items = _result_items(job.result)
    job.result_summary = " · ".join(f"{label}: {text}" for label, text in job.result_items[:3])
    job.can_cancel = not job.is_finished
    job.can_retry = job.status in RETRYABLE_STATUSES and bool(job.task_name)
    return job


@login_required
@require_GET
def dashboard(request):
    """The seller's day at a glance: tracked products, listings by status, open alerts, recent jobs."""
    user = request.user
    listing_counts = dict(user.listings.order_by().values_list("status").annotate(n=Count("pk")))
    open_alerts = user.alerts.open()
    context = {
        "tracked_count": user.tracked_products.count(),
        "product_limit": user.product_limit,
        "listing_total": sum(listing_counts.values()),
        "listing_counts": [(value, label, listing_counts.get(value, 0)) for value, label in ListingStatus.choices],
        "store_count": user.store_accounts.count(),
        "connected_store_count": user.store_accounts.connected().count(),
        "open_alert_count": open_alerts.count(),
        "unread_alert_count": open_alerts.filter(is_read=False).count(),
        "recent_alerts": open_alerts.select_related("product", "listing")[:5],
        "running_job_count": user.jobs.unfinished().count(),
        "recent_jobs": [_job_display(job) for job in user.jobs.order_by("-created_at", "-pk")[:5]],
    }
    return TemplateResponse(request, "monitoring/dashboard.html", context)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def alert_list(request):
    """The seller's alerts, newest first: open ones by default, or unread, or all."""
    show = request.GET.get("show", "open")
    if show not in ALERT_FILTERS:
        show = "open"
    alerts = request.user.alerts.select_related("product", "listing").order_by("-created_at", "-pk")
    if show == "open":
        alerts = alerts.open()
    elif show == "unread":
        alerts = alerts.open().filter(is_read=False)
    page_obj = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page_obj": page_obj, "alerts": page_obj.object_list, "show": show, "filters": ALERT_FILTERS}
    return TemplateResponse(request, _template(request, "monitoring/alert_list.html", "alert-table"), context)


def _alert_response(request, alert):
    if request.htmx:
        return TemplateResponse(request, "monitoring/alert_list.html#alert-row", {"alert": alert})
    return redirect("monitoring:alert_list")


@login_required
@require_POST
def alert_read(request, pk):
    """Mark one of the seller's alerts as read."""
    alert = get_object_or_404(request.user.alerts, pk=pk)
    if not alert.is_read:
        alert.is_read, alert.read_at = True, timezone.now()
        alert.save(update_fields=["is_read", "read_at"])
    return _alert_response(request, alert)


@login_required
@require_POST
def alert_acknowledge(request, pk):
    """The seller has seen the alert and is dealing with it; it stays until its condition clears."""
    alert = get_object_or_404(request.user.alerts, pk=pk)
    now = timezone.now()
    fields = []
    if not alert.is_read:
        alert.is_read, alert.read_at = True, now
        fields += ["is_read", "read_at"]
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        fields.append("acknowledged_at")
    if fields:
        alert.save(update_fields=fields)
    return _alert_response(request, alert)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def job_list(request):
    """The seller's background jobs, newest first; unfinished rows follow their progress live."""
    status = request.GET.get("status", "")
    jobs = request.user.jobs.order_by("-created_at", "-pk")
    if status in JobStatus.values:
        jobs = jobs.filter(status=status)
    else:
        status = ""
    page_obj = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page_obj": page_obj,
        "jobs": [_job_display(job) for job in page_obj.object_list],
        "status": status,
        "statuses": JobStatus.choices,
    }
    return TemplateResponse(request, _template(request, "monitoring/job_list.html", "job-table"), context)


@login_required
@require_GET
def job_row(request, pk):
    """One job's table row, polled by the job list and the dashboard while the job runs."""
    job = get_object_or_404(request.user.jobs, pk=pk)
    return TemplateResponse(request, "monitoring/_job_row.html", {"job": _job_display(job)})


@login_required
@require_GET
@vary_on_headers("HX-Request")
def job_detail(request, pk):
    """One job: status, progress, timings, result and error; the card polls itself while it runs."""
    job = get_object_or_404(request.user.jobs.select_related("retry_of"), pk=pk)
    context = {"job": _job_display(job), "retries": job.retries.order_by("-created_at")}
    return TemplateResponse(request, _template(request, "monitoring/job_detail.html", "job-card"), context)


@login_required
@require_POST
def job_cancel(request, pk):
    """Cancel a pending or running job of the seller's; a running one stops at its next step."""
    job = get_object_or_404(request.user.jobs, pk=pk)
    cancelled = records.job_cancel(job)
    if request.htmx:
        if request.POST.get("fragment") == "row":
            return TemplateResponse(request, "monitoring/_job_row.html", {"job": _job_display(job)})
        context = {"job": _job_display(job), "retries": job.retries.order_by("-created_at")}
        return TemplateResponse(request, "monitoring/job_detail.html#job-card", context)
    if cancelled:
        messages.success(request, JOB_CANCELLED)
    else:
        messages.warning(request, JOB_NOT_CANCELLABLE)
    return redirect(job)


@login_required
@require_POST
def job_retry(request, pk):
    """Run a failed or cancelled job of the seller's again, as a new job linked to this one."""
    job = get_object_or_404(request.user.jobs, pk=pk)
    if job.status not in RETRYABLE_STATUSES or not job.task_name:
        messages.error(request, JOB_NOT_RETRYABLE)
        return redirect(job)
    new_job = records.job_retry(job)
    messages.success(request, JOB_RETRIED)
    return redirect(new_job)
