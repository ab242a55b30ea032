import json
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Avg, Case, Count, Q, Value, When
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import services as account_services
from accounts.decorators import reauthentication_required
from accounts.devices import device_label
from accounts.models import User
from catalog.models import Availability, Product, ProxyPool
from catalog.services import products_due
from config.csv_export import csv_response
from config.sorting import sort_links
from marketplaces.models import ListingStatus, LowMarginAction, Marketplace, OrderState, StatusReason

from . import analytics, health, job_results, notifications, preferences, records
from .alerts import SEVERITY_RANK
from .analytics import PERIOD_DAYS
from .forms import CUSTOM, AlertSettingsForm, AuditLogFilter, ChannelForm, PeriodForm
from .models import AlertSettings, AlertType, AuditLog, Channel, Job, JobStatus, Notification

PAGE_SIZE = 25
JOB_CANCELLED = "Job cancelled."
JOB_NOT_CANCELLABLE = "This job has already finished; there is nothing to cancel."
JOB_RETRIED = "Retry started."
JOB_NOT_RETRYABLE = "Only failed or cancelled jobs can be retried."
ALERT_FILTERS = {"open": "Open", "unread": "Unread", "all": "All, including cleared"}


@require_GET
def healthz(request):
    """Database, broker and cache health within 1 s, for load balancers and compose healthchecks.

    200 while the database and the broker answer ("degraded" when only the cache is down: pages
    are still served without it); 503 otherwise.
    """
    checks = health.health_checks()
    if all(value == health.OK for value in checks.values()):
        status = "ok"
    elif checks["database"] == health.OK and checks["broker"] == health.OK:
        status = "degraded"
    else:
        status = "error"
    return JsonResponse({"status": status, **checks}, status=503 if status == "error" else 200)


def _template(request, page: str, partial: str) -> str:
    """The whole page, or only its named partial for an HTMX swap (not for a history restore)."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{page}#{partial}"
    return page


def _ordering(request, fields: dict, default: str) -> tuple[str, list[str]]:
    """The ordering asked for (a known column, "-" for descending) and its order_by terms."""
    ordering = request.GET.get("ordering", "")
    if ordering.lstrip("-") not in fields:
        return "", [default, "-pk"]
    column = fields[ordering.lstrip("-")]
    term = f"-{column}" if ordering.startswith("-") else column
    return ordering, [term, "-created_at", "-pk"]


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


def _job_display(job: Job) -> Job:
    """Attach what the job templates show: its kind, state and result in words, its duration."""
    job.result_view = job_results.result_view(job)
    job.status_label, job.status_badge = job_results.status_display(job, job.result_view)
    job.duration_text = _duration_text(job.duration)
    job.result_summary = job.result_view.summary
    job.can_cancel = not job.is_finished
    job.can_retry = records.job_retryable(job)
    return job


def _period_query(form: PeriodForm) -> str:
    """The query string that asks for the dashboard's current window (for links and the CSV)."""
    period = form.chosen()
    if form.choice() == CUSTOM:
        return urlencode({"period": CUSTOM, "start": period.start.isoformat(), "end": period.end.isoformat()})
    return urlencode({"period": form.choice()})


def _dashboard_figures(request) -> dict:
    form = PeriodForm(request.GET or None, today=timezone.localdate())
    figures = analytics.dashboard_analytics(user=request.user, period=form.chosen())
    return {
        "period_form": form,
        "period_choice": form.choice(),
        "period_options": [(str(days), f"{days} days", urlencode({"period": days})) for days in PERIOD_DAYS],
        "period_query": _period_query(form),
        "figures": figures,
        "chart_json": json.dumps(figures.chart),
        "has_sales": any(row.units or row.revenue for row in figures.series),
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def dashboard(request):
    """The seller's business at a glance: revenue, profit, margin and units for a window against the
    window before it, over time, best and worst listings, listings at risk, latest alerts and jobs.
    An HTMX period switch gets only the figures region."""
    context = _dashboard_figures(request)
    if request.htmx and not request.htmx.history_restore_request:
        return TemplateResponse(request, "monitoring/dashboard.html#analytics", context)
    user = request.user
    # COUNT(*), not COUNT(id): an index-only scan of (user, status).
    listing_counts = dict(user.listings.order_by().values_list("status").annotate(n=Count("*")))
    stores = user.store_accounts.aggregate(total=Count("pk"), connected=Count("pk", filter=Q(is_connected=True)))
    open_alerts = user.alerts.open()
    alert_counts = open_alerts.aggregate(total=Count("pk"), unread=Count("pk", filter=Q(is_read=False)))
    # Only open orders are counted: a few rows of the (user, state, ship_by) index, however many shipped.
    order_counts = user.orders.open().aggregate(
        to_buy=Count("pk", filter=Q(state=OrderState.TO_BUY)),
        to_ship=Count("pk", filter=Q(state=OrderState.BOUGHT)),
        overdue=Count("pk", filter=Q(ship_by__lt=timezone.now())),
    )
    context.update(
        {
            # The link rows alone (an index of the seller's): no join to the products.
            "tracked_count": User.tracked_products.through.objects.filter(user=user).count(),
            "product_limit": user.product_limit,
            "listing_total": sum(listing_counts.values()),
            "listing_counts": [(value, label, listing_counts.get(value, 0)) for value, label in ListingStatus.choices],
            "store_count": stores["total"],
            "connected_store_count": stores["connected"],
            "open_alert_count": alert_counts["total"],
            "unread_alert_count": alert_counts["unread"],
            "order_counts": order_counts,
            "recent_alerts": open_alerts.select_related("product", "listing")[:5],
            "running_job_count": user.jobs.unfinished().count(),
            "recent_jobs": [_job_display(job) for job in user.jobs.order_by("-created_at", "-pk")[:5]],
        }
    )
    return TemplateResponse(request, "monitoring/dashboard.html", context)


@login_required
@require_GET
def dashboard_csv(request):
    """The dashboard's revenue and profit over time, as a CSV download (same window as the page)."""
    form = PeriodForm(request.GET or None, today=timezone.localdate())
    figures = analytics.dashboard_analytics(user=request.user, period=form.chosen())
    excluded = " ".join(item.currency for item in figures.unconverted)
    header = ["from", "to", "revenue", "profit", "margin_percent", "units_sold", "currency", "not_converted"]
    rows = [
        (row.start, row.end, row.revenue, row.profit, row.margin, row.units, figures.currency, excluded)
        for row in figures.series
    ]
    period = figures.period
    return csv_response(f"revenue-profit-{period.start}-{period.end}.csv", header, rows)


ALERT_ORDERING = {"created_at": "created_at", "severity": "severity_rank", "type": "type"}
ALERTS_MARKED_READ = ("Marked {count} alert as read.", "Marked {count} alerts as read.")
ALERTS_ACKNOWLEDGED = ("Acknowledged {count} alert.", "Acknowledged {count} alerts.")
ALERTS_NONE_SELECTED = "Select at least one alert first."
ALERTS_NOTHING_UNREAD = "Every alert was already read."


@login_required
@require_GET
@vary_on_headers("HX-Request")
def alert_list(request):
    """The seller's alerts, newest first or sorted by severity or type: open ones by default, or
    unread, or all; several at once can be marked read or acknowledged."""
    show = request.GET.get("show", "open")
    if show not in ALERT_FILTERS:
        show = "open"
    ordering, order_by = _ordering(request, ALERT_ORDERING, "-created_at")
    rank = Case(*(When(severity=value, then=Value(rank)) for value, rank in SEVERITY_RANK.items()), default=Value(0))
    alerts = request.user.alerts.select_related("product", "listing").annotate(severity_rank=rank).order_by(*order_by)
    if show == "open":
        alerts = alerts.open()
    elif show == "unread":
        alerts = alerts.open().filter(is_read=False)
    page_obj = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page_obj": page_obj,
        "alerts": page_obj.object_list,
        "show": show,
        "filters": ALERT_FILTERS,
        "ordering": ordering,
        "sort_links": sort_links(ordering, ALERT_ORDERING),
        "unread_count": request.user.alerts.open().filter(is_read=False).count(),
        "next_url": request.get_full_path(),
    }
    return TemplateResponse(request, _template(request, "monitoring/alert_list.html", "alert-table"), context)


@login_required
@require_POST
def alert_bulk(request):
    """Mark the selected alerts read, acknowledge them, or mark every unread alert read."""
    action = request.POST.get("action", "")
    back = _safe_next(request, reverse("monitoring:alert_list"))
    alerts = request.user.alerts.all()
    now = timezone.now()
    if action == "read_all":
        count = alerts.filter(is_read=False).update(is_read=True, read_at=now)
        if count:
            messages.success(request, ngettext(*ALERTS_MARKED_READ, count).format(count=count))
        else:
            messages.info(request, ALERTS_NOTHING_UNREAD)
        return redirect(back)
    ids = [int(pk) for pk in request.POST.getlist("ids") if str(pk).isdigit()]
    selected = alerts.filter(pk__in=ids)
    if action not in ("read", "acknowledge") or not selected.exists():
        messages.warning(request, ALERTS_NONE_SELECTED)
        return redirect(back)
    count = selected.count()
    selected.filter(is_read=False).update(is_read=True, read_at=now)
    if action == "acknowledge":
        selected.filter(acknowledged_at__isnull=True, cleared_at__isnull=True).update(acknowledged_at=now)
        messages.success(request, ngettext(*ALERTS_ACKNOWLEDGED, count).format(count=count))
    else:
        messages.success(request, ngettext(*ALERTS_MARKED_READ, count).format(count=count))
    return redirect(back)


def _safe_next(request, default: str) -> str:
    candidate = request.POST.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return default


def _alert_response(request, alert):
    if request.htmx:
        return TemplateResponse(request, "monitoring/alert_list.html#alert-row", {"alert": alert})
    return redirect("monitoring:alert_list")


@login_required
@require_POST
def alert_read(request, pk):
    """Mark one of the seller's alerts as read."""
    alert = get_object_or_404(request.user.alerts, pk=pk)
    records.alerts_mark_read(request.user.alerts.filter(pk=alert.pk))
    alert.refresh_from_db()
    return _alert_response(request, alert)


@login_required
@require_POST
def alert_acknowledge(request, pk):
    """The seller has seen the alert and is dealing with it; it stays until its condition clears."""
    alert = get_object_or_404(request.user.alerts, pk=pk)
    records.alerts_acknowledge(request.user.alerts.filter(pk=alert.pk))
    alert.refresh_from_db()
    return _alert_response(request, alert)


JOB_ORDERING = {"created_at": "created_at", "type": "type", "status": "status", "completed_at": "completed_at"}
OUTCOMES_PAGE_SIZE = 50


@login_required
@require_GET
@vary_on_headers("HX-Request")
def job_list(request):
    """The seller's background jobs, newest first or sorted by a column; unfinished rows follow
    their progress live."""
    status = request.GET.get("status", "")
    ordering, order_by = _ordering(request, JOB_ORDERING, "-created_at")
    jobs = request.user.jobs.order_by(*order_by)
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
        "ordering": ordering,
        "sort_links": sort_links(ordering, JOB_ORDERING),
    }
    return TemplateResponse(request, _template(request, "monitoring/job_list.html", "job-table"), context)


@login_required
@require_GET
def job_row(request, pk):
    """One job's table row, polled by the job list and the dashboard while the job runs."""
    job = get_object_or_404(request.user.jobs, pk=pk)
    return TemplateResponse(request, "monitoring/_job_row.html", {"job": _job_display(job)})


def _job_detail_context(request, job) -> dict:
    """One job's card: its result in words, with every product's outcome a page at a time."""
    job = _job_display(job)
    outcomes = Paginator(job.result_view.outcomes, OUTCOMES_PAGE_SIZE).get_page(request.GET.get("page"))
    titles = dict(
        request.user.tracked_products.filter(
            pk__in=[row["product_id"] for row in outcomes.object_list if row.get("product_id")]
        ).values_list("pk", "title")
    )
    for row in outcomes.object_list:
        if titles.get(row.get("product_id")):
            row["what"] = titles[row["product_id"]]
    return {"job": job, "retries": job.retries.order_by("-created_at"), "page_obj": outcomes}


@login_required
@require_GET
@vary_on_headers("HX-Request")
def job_detail(request, pk):
    """One job: status, progress, timings, result in words (never JSON; every product's outcome
    paginated) and error; the card polls itself while it runs."""
    job = get_object_or_404(request.user.jobs.select_related("retry_of"), pk=pk)
    return TemplateResponse(
        request, _template(request, "monitoring/job_detail.html", "job-card"), _job_detail_context(request, job)
    )


@login_required
@require_POST
def job_cancel(request, pk):
    """Cancel a pending or running job of the seller's; a running one stops at its next step."""
    job = get_object_or_404(request.user.jobs, pk=pk)
    cancelled = records.job_cancel(job)
    if request.htmx:
        if request.POST.get("fragment") == "row":
            return TemplateResponse(request, "monitoring/_job_row.html", {"job": _job_display(job)})
        return TemplateResponse(request, "monitoring/job_detail.html#job-card", _job_detail_context(request, job))
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
    if not records.job_retryable(job):
        messages.error(request, JOB_NOT_RETRYABLE)
        return redirect(job)
    new_job = records.job_retry(job)
    if records.job_unavailable(new_job):
        messages.error(request, records.BACKGROUND_UNAVAILABLE)
        return redirect(job)
    messages.success(request, JOB_RETRIED)
    return redirect(new_job)


# ---- Audit log -----------------------------------------------------------------------------

RESOURCE_LABELS = {
    "alertsettings": "Alert settings",
    "notificationchannel": "Notification channel",
    "storeaccount": "Store",
    "user": "Account",
}


# Stored values shown in words: statuses, reasons and availability by their labels.
AUDIT_VALUE_LABELS = {
    "status": dict(ListingStatus.choices),
    "status_reason": {**dict(StatusReason.choices), "": "none"},
    "availability": dict(Availability.choices),
    "marketplace": dict(Marketplace.choices),
    "low_margin_action": dict(LowMarginAction.choices),
}
AUDIT_ACTION_LABELS = {"quantity_changed": "Quantity changed", "publish_failed": "Publishing failed"}


def _audit_subjects(rows, viewer) -> dict:
    """{(resource_type, resource_id): (title, link)} for the rows of a page: what each row is
    about in the seller's words, with a link where the seller has a page for it."""
    ids: dict[str, set] = {}
    for row in rows:
        if str(row.resource_id).isdigit():
            ids.setdefault(row.resource_type, set()).add(int(row.resource_id))
    found = {}
    for listing in viewer.listings.filter(pk__in=ids.get("listing", ())).only("pk", "title"):
        found[("listing", str(listing.pk))] = (listing.title, listing.get_absolute_url())
    for store in viewer.store_accounts.filter(pk__in=ids.get("storeaccount", ())):
        found[("storeaccount", str(store.pk))] = (str(store), store.get_absolute_url())
    tracked = set(viewer.tracked_products.filter(pk__in=ids.get("product", ())).values_list("pk", flat=True))
    for product in Product.objects.filter(pk__in=ids.get("product", ())).select_related("supplier"):
        link = product.get_absolute_url() if product.pk in tracked else ""
        found[("product", str(product.pk))] = (str(product), link)
    settings_link = reverse("monitoring:notification_settings")
    for channel in viewer.notification_channels.filter(pk__in=ids.get("notificationchannel", ())):
        found[("notificationchannel", str(channel.pk))] = (
            f"{channel.get_channel_display()} to {channel.address}",
            settings_link,
        )
    for row in rows:
        if row.resource_type == "alertsettings":
            found[(row.resource_type, str(row.resource_id))] = ("your alert thresholds", settings_link)
        elif row.resource_type == "user" and str(row.resource_id) == str(viewer.pk):
            found[(row.resource_type, str(row.resource_id))] = ("your account", reverse("accounts:settings"))
    return found


def _audit_display(row: AuditLog, viewer, subjects: dict) -> AuditLog:
    """Attach what the audit table shows: who, what (the thing's title, linked), each changed
    field old → new in words; for the security log's rows (sign-ins, password, two-factor, keys)
    also where from."""
    row.action_label = AUDIT_ACTION_LABELS.get(row.action) or row.action.replace("_", " ").capitalize()
    row.origin = ""
    if row.resource_type == "user" and row.action in account_services.SECURITY_ACTIONS:
        row.origin = f"{row.ip_address or 'unknown address'} · {device_label(row.user_agent)}"
    if row.action == account_services.SIGN_IN_FAILED:
        row.actor = "Someone"
    elif row.user_id is None:
        row.actor = "System"
    elif row.user_id == viewer.pk:
        row.actor = "You"
    else:
        row.actor = "Support staff"
    row.resource_label = RESOURCE_LABELS.get(row.resource_type, row.resource_type.replace("_", " ").capitalize())
    title, link = subjects.get((row.resource_type, str(row.resource_id)), ("", ""))
    row.subject_title = title or f"{row.resource_label.lower()} {row.resource_id} (no longer there)"
    row.subject_link = link
    old, new = row.old_value or {}, row.new_value or {}
    if not isinstance(old, dict):
        old = {"value": old}
    if not isinstance(new, dict):
        new = {"value": new}
    changes = []
    for key in list(old) + [key for key in new if key not in old]:
        before, after = old.get(key), new.get(key)
        if key in records.SECRET_FIELDS:
            # Masked when written; masked again here so a row written by older code shows no secret.
            before, after = ("••••••" if before else before), ("••••••" if after else after)
        changes.append((key.replace("_", " "), _audit_text(before, key), _audit_text(after, key)))
    row.changes = changes
    return row


def _audit_text(value, key: str = "") -> str:
    if value is None:
        return "—"
    labels = AUDIT_VALUE_LABELS.get(key)
    if labels is not None and isinstance(value, str) and value in labels:
        return str(labels[value])
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(_audit_text(item) for item in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_audit_text(v, k)}" for k, v in value.items()) or "none"
    return str(value)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def audit_list(request):
    """The seller's audit trail: every change to their stores, listings, tracked products and
    settings, by them, by the system or by support; filterable, newest first."""
    rows = AuditLog.objects.filter(owner=request.user).order_by("-timestamp", "-pk")
    filterset = AuditLogFilter(request.GET or None, queryset=rows)
    page_obj = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page_obj.object_list)
    subjects = _audit_subjects(rows, request.user)
    context = {
        "filter": filterset,
        "page_obj": page_obj,
        "entries": [_audit_display(row, request.user, subjects) for row in rows],
    }
    return TemplateResponse(request, _template(request, "monitoring/audit_list.html", "audit-table"), context)


# ---- Notification settings -----------------------------------------------------------------

SETTINGS_SAVED = "Alert settings saved."
SETTINGS_UNCHANGED = "Nothing to save: the thresholds are as they were."
CHANNEL_ADDED = "Channel added: alerts will go to {address}."
CHANNEL_REMOVED = "Channel removed."
CHANNEL_PAUSED = "Channel paused: nothing is sent to {address} until you resume it."
CHANNEL_RESUMED = "Channel resumed."


def _channels(user) -> list:
    labels = dict(AlertType.choices)
    channels = list(user.notification_channels.order_by("channel", "address"))
    for channel in channels:
        channel.type_labels = [labels.get(value, value) for value in channel.alert_types]
    return channels


def _notification_settings_page(
    request, *, settings_form=None, channel_form=None, new_secret=None, status=200
) -> TemplateResponse:
    alert_settings = preferences.alert_settings_for(user=request.user)
    context = {
        "alert_settings": alert_settings,
        "settings_form": settings_form or AlertSettingsForm(instance=alert_settings),
        "channel_form": channel_form or ChannelForm(user=request.user),
        "channels": _channels(request.user),
        "secret_masked": preferences.secret_masked(alert_settings.webhook_secret),
        "new_secret": new_secret,
    }
    response = TemplateResponse(request, "monitoring/notification_settings.html", context, status=status)
    if new_secret:
        # The clear secret must not linger in any cache or in the browser's back history.
        response["Cache-Control"] = "no-store"
    return response


@login_required
def notification_settings(request):
    """Alert thresholds, where alerts are sent, and the webhook signing secret (shown masked)."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.method != "POST":
        return _notification_settings_page(request)
    alert_settings = preferences.alert_settings_for(user=request.user)
    form = AlertSettingsForm(request.POST, instance=AlertSettings.objects.get(pk=alert_settings.pk))
    if not form.is_valid():
        return _notification_settings_page(request, settings_form=form)
    _old, changes = form.changes()
    if not changes:
        messages.info(request, SETTINGS_UNCHANGED)
    else:
        try:
            preferences.alert_settings_update(
                alert_settings=alert_settings, changes=changes, acting_user=request.user, request=request
            )
        except preferences.AlertSettingsError as exc:
            for name, message in exc.errors.items():
                form.add_error(name, message)
            return _notification_settings_page(request, settings_form=form)
        messages.success(request, SETTINGS_SAVED)
    return redirect("monitoring:notification_settings")


@login_required
@require_POST
def notification_channel_add(request):
    """Add an e-mail address, a phone number (SMS) or a webhook URL to send alerts to. The first
    webhook also gets a signing secret, shown once on the response."""
    form = ChannelForm(request.POST, user=request.user)
    if not form.is_valid():
        return _notification_settings_page(request, channel_form=form)
    data = form.cleaned_data
    channel = preferences.channel_add(
        user=request.user,
        channel=data["channel"],
        address=data["address"],
        min_severity=data["min_severity"],
        alert_types=data["alert_types"],
        acting_user=request.user,
        request=request,
    )
    messages.success(request, CHANNEL_ADDED.format(address=channel.address))
    if form.warning:
        messages.warning(request, form.warning)
    if channel.channel == Channel.WEBHOOK and not preferences.alert_settings_for(user=request.user).webhook_secret:
        secret = preferences.webhook_secret_regenerate(user=request.user, acting_user=request.user, request=request)
        return _notification_settings_page(request, new_secret=secret)
    return redirect("monitoring:notification_settings")


def _channel_list_response(request):
    if request.htmx:
        context = {"channels": _channels(request.user)}
        return TemplateResponse(request, "monitoring/notification_settings.html#channel-list", context)
    return redirect("monitoring:notification_settings")


@login_required
@require_POST
def notification_channel_toggle(request, pk):
    """Pause a channel (kept for later) or resume it."""
    channel = get_object_or_404(request.user.notification_channels, pk=pk)
    preferences.channel_toggle(channel=channel, acting_user=request.user, request=request)
    if not request.htmx:
        if channel.is_active:
            messages.success(request, CHANNEL_RESUMED)
        else:
            messages.success(request, CHANNEL_PAUSED.format(address=channel.address))
    return _channel_list_response(request)


@login_required
@require_POST
def notification_channel_delete(request, pk):
    """Stop sending alerts to a channel and forget it."""
    channel = get_object_or_404(request.user.notification_channels, pk=pk)
    preferences.channel_remove(channel=channel, acting_user=request.user, request=request)
    if not request.htmx:
        messages.success(request, CHANNEL_REMOVED)
    return _channel_list_response(request)


TEST_SENT = "Test sent to {address}."
TEST_RECORDED = "Test recorded for {address}: this is a demo account, so nothing is sent."
TEST_RETRYING = "The test to {address} could not be sent yet ({error}); it is tried again in a moment."
TEST_FAILED = "The test to {address} could not be sent: {error}"
NOTIFICATION_FILTERS = {"": "All", "sent": "Sent", "failed": "Failed", "retrying": "Retrying or waiting"}


@login_required
@require_POST
def notification_channel_test(request, pk):
    """Send a test message to one of the seller's channels now and say how it went."""
    channel = get_object_or_404(request.user.notification_channels, pk=pk)
    notification, outcome = notifications.notification_send_test(channel=channel)
    state = notifications.delivery_state(notification)
    address = channel.address
    if state.key == "recorded":
        messages.success(request, TEST_RECORDED.format(address=address))
    elif state.key == "sent":
        messages.success(request, TEST_SENT.format(address=address))
    elif outcome.status == "retry":
        messages.warning(request, TEST_RETRYING.format(address=address, error=notification.error))
    else:
        messages.error(request, TEST_FAILED.format(address=address, error=notification.error))
    return redirect("monitoring:notification_settings")


@login_required
@require_GET
@vary_on_headers("HX-Request")
def notification_list(request):
    """The seller's notifications and how each delivery went: sent, failed with the last error,
    retrying, or waiting; newest first, filterable."""
    show = request.GET.get("show", "")
    if show not in NOTIFICATION_FILTERS:
        show = ""
    rows = request.user.notifications.order_by("-created_at", "-pk")
    if show == "sent":
        rows = rows.filter(is_sent=True)
    elif show == "failed":
        rows = rows.filter(is_sent=False, metadata__failed=True)
    elif show == "retrying":
        rows = rows.filter(is_sent=False).exclude(metadata__failed=True)
    page_obj = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for notification in page_obj.object_list:
        notification.state = notifications.delivery_state(notification)
    context = {"page_obj": page_obj, "show": show, "filters": NOTIFICATION_FILTERS}
    return TemplateResponse(
        request, _template(request, "monitoring/notification_list.html", "notification-table"), context
    )


@login_required
@require_POST
@reauthentication_required
def webhook_secret_regenerate(request):
    """Make a new webhook signing secret (after confirming it's you) and show it on this response only."""
    secret = preferences.webhook_secret_regenerate(user=request.user, acting_user=request.user, request=request)
    return _notification_settings_page(request, new_secret=secret)


# ---- Service health (staff) ----------------------------------------------------------------

# What a refresh that was refused looks like in Product.last_error (catalog.fetching: Blocked
# answers are "HTTP 401/403/429/503", CAPTCHA / robot check, login wall, empty or truncated page).
BLOCKED_MARKERS = (
    "HTTP 401",
    "HTTP 403",
    "HTTP 429",
    "HTTP 503",
    "captcha",
    "robot check",
    "login wall",
    "blocked",
    "empty page",
    "truncated page",
)
STALE_GRACE = timedelta(hours=1)
HEALTH_LIST_LIMIT = 20


def _blocked_q() -> Q:
    blocked = Q()
    for marker in BLOCKED_MARKERS:
        blocked |= Q(last_error__icontains=marker)
    return blocked


@staff_member_required
@require_GET
def service_health(request):
    """Staff's view of the service: jobs in the last 24 hours, refreshes refused per supplier,
    the proxy pool, failed notifications and products overdue for a refresh."""
    now = timezone.now()
    since = now - timedelta(hours=24)
    job_rows = (
        Job.objects.filter(created_at__gte=since).order_by().values_list("type", "status").annotate(n=Count("pk"))
    )
    statuses = JobStatus.values
    by_type = {}
    for job_type, status, count in job_rows:
        by_type.setdefault(job_type, dict.fromkeys(statuses, 0))[status] = count
    job_totals = {status: sum(counts[status] for counts in by_type.values()) for status in statuses}

    failing = Q(failure_count__gt=0)
    suppliers = list(
        Product.objects.live()
        .order_by()
        .values("supplier__name")
        .annotate(
            products=Count("pk"),
            failing=Count("pk", filter=failing),
            blocked=Count("pk", filter=failing & _blocked_q()),
        )
        .filter(failing__gt=0)
        .order_by("-blocked", "-failing", "supplier__name")
    )
    for row in suppliers:
        row["blocked_percent"] = round(100 * row["blocked"] / row["products"], 1) if row["products"] else 0

    proxy_stats = ProxyPool.objects.aggregate(
        active=Count("pk", filter=Q(is_active=True)),
        inactive=Count("pk", filter=Q(is_active=False)),
        avg_health=Avg("health_score", filter=Q(is_active=True)),
    )
    deactivated = ProxyPool.objects.filter(is_active=False).order_by("-updated_at")[:HEALTH_LIST_LIMIT]

    failed_notifications = (
        Notification.objects.filter(created_at__gte=since, error__isnull=False)
        .exclude(error="")
        .order_by("-created_at")
    )
    failed_by_channel = dict(failed_notifications.order_by().values_list("recipient").annotate(n=Count("pk")))
    context = {
        "now": now,
        "job_statuses": statuses,
        "jobs_by_type": sorted(by_type.items()),
        "job_totals": job_totals,
        "suppliers": suppliers,
        "blocked_markers": BLOCKED_MARKERS,
        "proxy_stats": proxy_stats,
        "deactivated_proxies": deactivated,
        "failed_notification_count": sum(failed_by_channel.values()),
        "failed_by_channel": sorted(failed_by_channel.items()),
        "failed_notifications": failed_notifications.select_related("user")[:HEALTH_LIST_LIMIT],
        "overdue_count": products_due(now - STALE_GRACE).count(),
        "stale_grace_hours": int(STALE_GRACE.total_seconds() // 3600),
        "workers": health.worker_heartbeats(now=now),
        "heartbeat_seconds": settings.WORKER_HEARTBEAT_SECONDS,
        "silent_minutes": settings.WORKER_HEARTBEAT_SECONDS * health.SILENT_AFTER_BEATS // 60,
        **_queue_context(),
    }
    return TemplateResponse(request, "monitoring/service_health.html", context)


def _queue_context() -> dict:
    try:
        return {"queue_length": health.queue_length(), "queue_error": ""}
    except Exception as exc:  # noqa: BLE001 - the broker being down is what this page shows
        return {"queue_length": None, "queue_error": f"error: {type(exc).__name__}"}
