"""The seller's catalog pages: tracked products, adding them (links, ASINs, CSV), one product's
history, untracking it and refreshing it now. Every query starts from request.user."""

import json
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.decorators import verified_email_required
from config.charts import time_chart
from config.csv_export import csv_response
from config.sorting import sort_links
from config.unavailable import unavailable_response
from marketplaces.services import ProductListed, product_own_values_follow, product_stop_tracking
from marketplaces.services import product_drop as product_drop_service
from monitoring.cycle import REFRESH_ARCHIVED, RefreshRefused, product_refresh_start, refresh_jobs  # noqa: F401
from monitoring.records import BACKGROUND_UNAVAILABLE, JOB_NOT_PICKED_UP, job_followable, job_unavailable

from . import demo_shop, services
from .filters import ORDERING_FIELDS, ProductFilter
from .forms import ProductAddForm, ProductImportForm, ProductOverrideForm
from .models import Availability, HeldReading
from .services import (
    ADD_JOB_TYPE,
    HISTORY_CSV_HEADER,
    IMPORT_JOB_TYPE,
    ProductAddError,
    history_csv_rows,
    products_add_start,
)

logger = logging.getLogger(__name__)
PAGE_SIZE = 25
REPORT_PAGE_SIZE = 50
HISTORY_TABLE_ROWS = 50
CHART_POINTS = 500
IMPORT_JOB_TYPES = (ADD_JOB_TYPE, IMPORT_JOB_TYPE)

UNTRACKED = "“{title}” is no longer in your products."
UNTRACK_LISTED = (
    "“{title}” is listed on {count} of your stores, and a listed product stays tracked so its listings follow "
    "the supplier. End its listings and stop tracking it, or keep it."
)
DROPPED = (
    "Ended {count} listing of “{title}” and stopped tracking it.",
    "Ended {count} listings of “{title}” and stopped tracking it.",
)
DROP_REFUSED = (
    "“{title}” stays tracked: {count} listing could not be ended ({reasons}). Try again later.",
    "“{title}” stays tracked: {count} listings could not be ended ({reasons}). Try again later.",
)
OVERRIDE_SAVED = "Your own values for “{title}” are in force for your listings."
OVERRIDE_FOLLOW_LATER = "Saved; your listings could not follow at once and will at the next tracking round."
OVERRIDE_CLEARED = "Your own values for “{title}” are cleared: your listings follow the supplier's page again."
WRONG_PRODUCT_HELD = (
    "The supplier link now shows another product: “{page_title}” ({page_id}) instead of “{our_title}” ({our_id}). "
    "Nothing of it is applied."
)
REFRESH_STARTED = "Refresh started. The result shows on this page when it is done."
REFRESH_UPDATED = "Refreshed just now: {changes}."
REFRESH_UNCHANGED = "Checked just now: nothing changed."
REFRESH_HELD = "A reading was held: {reason}"
REFRESH_NOT_READ = "The page could not be read: {message}"
REFRESH_NOT_CLAIMED = "Not refreshed: the product is being read right now by the schedule; its result shows here soon."
REFRESH_FAILED = "The refresh failed: {error}"
REFRESH_CANCELLED = "The refresh was cancelled."
HELD_READING = "A reading was held: {reason}"
FAILING = "We could not read this product {count} times in a row: {error}"

ROW_STATUS_LABELS = {
    "added": ("Added", "success"),
    "tracking": ("Now tracking", "success"),
    "already_tracked": ("Already tracked", "unknown"),
    "error": ("Not added", "failed"),
}


def _template(request, page: str, partial: str) -> str:
    """The whole page, or only its named partial for an HTMX swap (not for a history restore)."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{page}#{partial}"
    return page


def _hx_target(request) -> str:
    if request.htmx and not request.htmx.history_restore_request:
        return request.htmx.target or ""
    return ""


def web_url(url) -> str | None:
    """The address if it is an http(s) link, else None: scraped URLs are never trusted in an href/src."""
    if not isinstance(url, str):
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def _tier_context(user) -> dict:
    limit = user.product_limit
    count = user.tracked_products.count()
    return {
        "tracked_count": count,
        "product_limit": limit,
        "tier_label": user.get_tier_display(),
        "at_limit": limit is not None and count >= limit,
    }


# ---- Product list ---------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def product_list(request):
    """The products the seller tracks: filtered, sorted, paginated; HTMX swaps only the table."""
    products = request.user.tracked_products.select_related("supplier", "supplier__family").order_by(
        "-created_at", "-pk"
    )
    filterset = ProductFilter(request.GET or None, queryset=products)
    page_obj = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    ordering = request.GET.get("ordering", "")
    if ordering.lstrip("-") not in ORDERING_FIELDS:
        ordering = ""
    filtered = any(
        request.GET.get(name) for name in ("q", "family", "supplier", "availability", "price_min", "price_max")
    )
    context = {
        "filter": filterset,
        "page_obj": page_obj,
        "products": page_obj.object_list,
        "filtered": filtered,
        "ordering": ordering,
        "sort_links": sort_links(ordering, ORDERING_FIELDS),
        "failure_threshold": settings.SCRAPE_FAILURE_THRESHOLD,
        "oob_ordering": bool(request.htmx and not request.htmx.history_restore_request),
    }
    return TemplateResponse(request, _template(request, "catalog/product_list.html", "product-table"), context)


PRODUCTS_CSV_HEADER = [
    "product_id",
    "title",
    "supplier",
    "supplier_product_id",
    "price",
    "currency",
    "availability",
    "stock",
    "rating",
    "reviews",
    "url",
    "last_checked",
    "last_changed",
]


@login_required
@require_GET
def product_export_csv(request):
    """The seller's tracked products as a CSV download, with the filters and order of the list page."""
    products = request.user.tracked_products.select_related("supplier", "supplier__family").order_by(
        "-created_at", "-pk"
    )
    rows = (
        (
            product.pk,
            product.title,
            str(product.supplier),
            product.asin,
            product.price,
            product.currency,
            product.get_availability_display(),
            product.stock,
            product.rating,
            product.reviews_count,
            product.url,
            timezone.localtime(product.last_scraped_at) if product.last_scraped_at else None,
            timezone.localtime(product.updated_at),
        )
        for product in ProductFilter(request.GET or None, queryset=products).qs.iterator()
    )
    return csv_response(f"products-{timezone.localdate()}.csv", PRODUCTS_CSV_HEADER, rows)


# ---- Adding products ------------------------------------------------------------------------


def _job_started_response(request, job):
    """After starting an add or import Job: its progress (HTMX: the fragment, with the address
    bar moved to the progress page; else a redirect there)."""
    url = reverse("catalog:import_detail", args=[job.pk])
    if request.htmx:
        response = TemplateResponse(request, "catalog/import_detail.html#import-job", _import_context(request, job))
        response["HX-Push-Url"] = url
        return response
    return redirect(url)


def _unavailable(form) -> bool:
    return BACKGROUND_UNAVAILABLE in form.non_field_errors()


@login_required
@verified_email_required
@vary_on_headers("HX-Request")
def product_add(request):
    """Paste links or ASINs: one line is read at once, several wait for the next tracking round.
    Either way a Job adds them and its page reports every line."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    form = ProductAddForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        rows = form.rows()
        try:
            job = products_add_start(user=request.user, rows=rows, read_now=len(rows) == 1)
        except ProductAddError as exc:
            form.add_error(None, str(exc))
        else:
            if not job_unavailable(job):
                return _job_started_response(request, job)
            form.add_error(None, BACKGROUND_UNAVAILABLE)
    context = {"form": form, **_tier_context(request.user)}
    response = TemplateResponse(request, _template(request, "catalog/product_add.html", "add-form"), context)
    return unavailable_response(request, response) if _unavailable(form) else response


@login_required
@verified_email_required
@vary_on_headers("HX-Request")
def product_import(request):
    """Upload a CSV of links/ASINs; a file that cannot be used is refused whole with the reason,
    a usable one becomes a Job whose page reports every row."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    form = ProductImportForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
    if request.method == "POST" and form.is_valid():
        try:
            job = products_add_start(
                user=request.user, rows=form.cleaned_data["rows"], read_now=False, job_type=IMPORT_JOB_TYPE
            )
        except ProductAddError as exc:
            form.add_error(None, str(exc))
        else:
            if not job_unavailable(job):
                return _job_started_response(request, job)
            form.add_error(None, BACKGROUND_UNAVAILABLE)
    context = {"form": form, "max_bytes": settings.CSV_IMPORT_MAX_BYTES, **_tier_context(request.user)}
    response = TemplateResponse(request, _template(request, "catalog/product_import.html", "import-form"), context)
    return unavailable_response(request, response) if _unavailable(form) else response


IMPORT_TEMPLATE_ROWS = [
    ("https://www.amazon.com/dp/B00FLYWNYQ", "", "", "a link: the site comes from the link"),
    ("", "B07H57DNVV", "amazon.de", "a bare ASIN on amazon.de"),
    ("", "B01LW7X0JJ", "", "a bare ASIN on your default Amazon site"),
    ("https://shop.example.com/products/blue-kettle", "", "", "any shop's product page"),
]


@login_required
@require_GET
def import_template(request):
    """An example CSV to fill in: the columns the import understands, with one row of each kind."""
    return csv_response("products-import-template.csv", ["url", "asin", "supplier", "note"], IMPORT_TEMPLATE_ROWS)


def _import_context(request, job) -> dict:
    """What the add/import progress page shows: progress while it runs, then every row's outcome."""
    result = job.result if isinstance(job.result, dict) else {}
    rows = result.get("rows") or []
    show = request.GET.get("show", "")
    if show != "problems":
        show = ""
    shown = [row for row in rows if row.get("status") == "error"] if show else rows
    page_obj = Paginator(shown, REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    report = []
    for row in page_obj.object_list:
        label, badge = ROW_STATUS_LABELS.get(row.get("status"), (str(row.get("status", "")), "unknown"))
        report.append({**row, "label": label, "badge": badge})
    counts = [
        (label, result.get(status, 0), badge)
        for status, (label, badge) in ROW_STATUS_LABELS.items()
        if result.get(status)
    ]
    single = rows[0] if job.type == ADD_JOB_TYPE and len(rows) == 1 else None
    single_product = None
    if single and single.get("product_id"):
        single_product = request.user.tracked_products.filter(pk=single["product_id"]).first()
    return {
        "job": job,
        "report": report,
        "page_obj": page_obj,
        "counts": counts,
        "problems": result.get("error", 0),
        "show": show,
        "single": single,
        "single_product": single_product,
        "is_add": job.type == ADD_JOB_TYPE,
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def import_detail(request, pk):
    """An add or CSV import of the seller's: a progress bar that follows the Job, then the outcome
    of every row (with only the problems on request)."""
    # params hold every submitted row (up to CSV_IMPORT_MAX_ROWS): not loaded on every poll.
    job = get_object_or_404(request.user.jobs.filter(type__in=IMPORT_JOB_TYPES).defer("params"), pk=pk)
    partial = "import-report" if _hx_target(request) == "import-report" else "import-job"
    template = _template(request, "catalog/import_detail.html", partial)
    return TemplateResponse(request, template, _import_context(request, job))


# ---- One product ----------------------------------------------------------------------------


def _listing_create_url(product) -> str | None:
    """The "list this product" page, once the marketplaces app has one."""
    try:
        return f"{reverse('marketplaces:listing_create')}?product={product.pk}"
    except NoReverseMatch:
        return None


def _refresh_jobs(user, product):
    return refresh_jobs(user=user, product=product)


def _current_refresh_job(user, product):
    """The refresh of this product the seller may wait on; a pending one no worker took in time
    (JOB_PICKUP_TIMEOUT) does not count."""
    job = _refresh_jobs(user, product).unfinished().order_by("-created_at").first()
    return job if job_followable(job) else None


def refresh_outcome(job) -> tuple[str, str] | None:
    """A finished refresh Job as (level, message) for the seller; None while it runs."""
    if job is None or not job.is_finished:
        return None
    if job.status == "cancelled":
        return "warning", REFRESH_CANCELLED
    if job.status == "failed":
        return "error", REFRESH_FAILED.format(error=job.error_message or "unknown error")
    result = job.result if isinstance(job.result, dict) else {}
    outcomes = result.get("outcomes") or []
    if not outcomes:
        return "warning", REFRESH_NOT_CLAIMED
    outcome = outcomes[0]
    status = outcome.get("status")
    if status == "updated":
        changes = []
        if outcome.get("price_changed"):
            changes.append(
                f"price {outcome.get('old_price') or '—'} → {outcome.get('new_price')} {outcome.get('currency')}"
            )
        if outcome.get("stock_changed"):
            old = Availability(outcome["old_availability"]).label if outcome.get("old_availability") else "—"
            new = Availability(outcome["new_availability"]).label if outcome.get("new_availability") else "—"
            changes.append(f"stock {old} → {new}")
        others = [
            name
            for name in outcome.get("changed_fields") or []
            if name not in ("price", "currency", "stock", "availability")
        ]
        if others:
            changes.append(", ".join(name.replace("_", " ") for name in others) + " updated")
        return "success", REFRESH_UPDATED.format(changes="; ".join(changes) or "details updated")
    if status == "unchanged":
        return "success", REFRESH_UNCHANGED
    if status == "held":
        return "warning", REFRESH_HELD.format(reason=outcome.get("message", ""))
    if status in ("wrong_product", "invalid"):  # read, but not applied: the message says why
        return "error", outcome.get("message") or status
    return "error", REFRESH_NOT_READ.format(message=outcome.get("message") or status)


def _held_message(reading) -> str:
    if reading.kind == HeldReading.Kind.WRONG_PRODUCT:
        identity = reading.identity if isinstance(reading.identity, dict) else {}
        ours, page = identity.get("ours") or {}, identity.get("page") or {}
        return WRONG_PRODUCT_HELD.format(
            page_title=page.get("title") or "no title",
            page_id=page.get("id") or "no id stated",
            our_title=ours.get("title") or "no title yet",
            our_id=ours.get("id") or "—",
        )
    return HELD_READING.format(reason=reading.reason)


def _live_listings(user, product):
    return user.listings.live().filter(product=product).select_related("store_account")


def _summary_context(request, product, refresh_job=None, override_form=None) -> dict:
    threshold = settings.SCRAPE_FAILURE_THRESHOLD
    override = services.product_override_for(user=request.user, product=product)
    held = list(product.held_readings.filter(status=HeldReading.Status.OPEN).order_by("-created_at")[:10])
    for reading in held:
        reading.message = _held_message(reading)
        values = reading.reading if isinstance(reading.reading, dict) else {}
        parts = []
        if values.get("price"):
            parts.append(f"{values['price']} {values.get('currency') or ''}".strip())
        if values.get("availability") in Availability.values:
            parts.append(Availability(values["availability"]).label.lower())
        reading.values_text = ", ".join(parts)
    failing = product.failure_count >= threshold
    return {
        "product": product,
        "supplier_url": web_url(product.url),
        "images": [url for url in (web_url(item) for item in (product.images or [])[:8]) if url],
        "held_readings": held,
        "failing_message": FAILING.format(count=product.failure_count, error=product.last_error or "no reason given")
        if failing
        else "",
        "refresh_job": refresh_job,
        "refresh_outcome": refresh_outcome(refresh_job),
        "override": override,
        "override_form": override_form or ProductOverrideForm(initial=ProductOverrideForm.initial_for(override)),
        "live_listings_count": _live_listings(request.user, product).count(),
    }


def _history_context(product) -> dict:
    """The product's price and stock over time (charts on a time axis, with the current value carried
    to now) and the latest changes as tables; no chart while there is nothing to draw."""
    now = timezone.now()
    price_rows = list(product.price_history.order_by("-recorded_at", "-pk")[:CHART_POINTS])
    stock_rows = list(product.stock_history.order_by("-recorded_at", "-pk")[:CHART_POINTS])
    price_points = [(row.recorded_at, row.new_price) for row in reversed(price_rows) if row.new_price is not None]
    if price_points and product.price is not None:
        price_points.append((now, product.price))
    price_chart = time_chart(
        [
            {
                "label": f"Supplier price ({product.currency or 'price'})",
                "color": "#2b6cb0",
                "stepped": True,
                "points": price_points,
            }
        ]
    )
    stock_chart = ""
    if any(row.new_stock is not None for row in stock_rows):
        points = [(row.recorded_at, row.new_stock) for row in reversed(stock_rows)] + [(now, product.stock)]
        stock_chart = time_chart(
            [{"label": "Quantity in stock", "color": "#1f8a4c", "stepped": True, "points": points}],
            y_axis={"beginAtZero": True},
        )
    elif stock_rows:
        levels = [Availability.IN_STOCK, Availability.LOW_STOCK, Availability.OUT_OF_STOCK, Availability.UNKNOWN]
        points = [(row.recorded_at, Availability(row.new_availability).label) for row in reversed(stock_rows)]
        points.append((now, product.get_availability_display()))
        stock_chart = time_chart(
            [{"label": "Availability", "color": "#1f8a4c", "stepped": True, "points": points}],
            y_axis={"type": "category", "labels": [level.label for level in levels]},
        )
    return {
        "product": product,
        "price_history": price_rows[:HISTORY_TABLE_ROWS],
        "price_history_count": product.price_history.count(),
        "stock_history": stock_rows[:HISTORY_TABLE_ROWS],
        "stock_history_count": product.stock_history.count(),
        "history_rows": HISTORY_TABLE_ROWS,
        "price_chart": price_chart,
        "stock_chart": stock_chart,
    }


def _listings_context(request, product) -> dict:
    return {
        "product": product,
        "listings": request.user.listings.filter(product=product).select_related("store_account"),
        "listing_create_url": _listing_create_url(product),
    }


def _tracked_product(request, pk):
    return get_object_or_404(request.user.tracked_products.select_related("supplier", "supplier__family"), pk=pk)


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def product_detail(request, pk):
    """One tracked product: supplier data, flags, history as charts and tables, the seller's listings
    of it, untrack and refresh now. HTMX asks for the summary or the history region alone."""
    product = _tracked_product(request, pk)
    refresh_job = _current_refresh_job(request.user, product)
    target = _hx_target(request)
    if target == "product-history":
        return TemplateResponse(request, "catalog/product_detail.html#product-history", _history_context(product))
    if target == "product-listings":
        return TemplateResponse(
            request, "catalog/product_detail.html#product-listings", _listings_context(request, product)
        )
    if target == "product-summary":
        context = _summary_context(request, product, refresh_job)
        return TemplateResponse(request, "catalog/product_detail.html#product-summary", context)
    context = {
        **_summary_context(request, product, refresh_job),
        **_history_context(product),
        **_listings_context(request, product),
    }
    return TemplateResponse(request, "catalog/product_detail.html", context)


@login_required
@require_POST
def product_untrack(request, pk):
    """Take a product off the seller's list (audited). A product with live listings stays: the page
    offers to end its listings first (product_drop)."""
    product = _tracked_product(request, pk)
    try:
        product_stop_tracking(user=request.user, product=product, request=request)
    except ProductListed as exc:
        messages.warning(request, UNTRACK_LISTED.format(title=str(product), count=exc.count))
        return redirect(product)
    messages.success(request, UNTRACKED.format(title=str(product)))
    return redirect("catalog:product_list")


@login_required
@require_POST
def product_drop(request, pk):
    """End its listings and stop tracking: the seller's live listings of the product are ended at
    their marketplaces, then the product leaves the seller's list (each step audited). A listing a
    marketplace refuses to end keeps the product tracked, and the seller is told why."""
    product = _tracked_product(request, pk)
    dropped = product_drop_service(user=request.user, product=product, acting_user=request.user, request=request)
    if not dropped.untracked:
        reasons = "; ".join(f"{listing.store_account}: {reason}" for listing, reason in dropped.refused)
        count = len(dropped.refused)
        messages.error(request, ngettext(*DROP_REFUSED, count).format(title=str(product), count=count, reasons=reasons))
        return redirect(product)
    messages.success(
        request, ngettext(*DROPPED, len(dropped.ended)).format(count=len(dropped.ended), title=str(product))
    )
    return redirect("catalog:product_list")


def _follow_own_values(request, product) -> None:
    """The seller's listings of the product follow their own values at once (theirs only)."""
    if not product_own_values_follow(user=request.user, product=product):
        messages.warning(request, OVERRIDE_FOLLOW_LATER)


@login_required
@require_POST
def product_override(request, pk):
    """Record the seller's own price and/or stock (when the supplier blocks us or they know better):
    in force for their listings only, which follow at once. Bad input re-renders the page with it."""
    product = _tracked_product(request, pk)
    form = ProductOverrideForm(request.POST)
    if not form.is_valid():
        context = {
            **_summary_context(request, product, override_form=form),
            **_history_context(product),
            **_listings_context(request, product),
        }
        return TemplateResponse(request, "catalog/product_detail.html", context, status=400)
    services.product_override_set(
        user=request.user,
        product=product,
        price=form.cleaned_data["price"],
        stock=form.cleaned_data["stock"],
        shipping=form.cleaned_data["shipping"],
        note=form.cleaned_data["note"],
        request=request,
    )
    messages.success(request, OVERRIDE_SAVED.format(title=str(product)))
    _follow_own_values(request, product)
    return redirect(product)


@login_required
@require_POST
def product_override_clear(request, pk):
    """Go back to the supplier's values for this seller; their listings follow at once."""
    product = _tracked_product(request, pk)
    if services.product_override_clear(user=request.user, product=product, request=request):
        messages.success(request, OVERRIDE_CLEARED.format(title=str(product)))
        _follow_own_values(request, product)
    return redirect(product)


@login_required
@require_POST
def product_refresh(request, pk):
    """Refresh now: the whole tracking cycle for this one product as a Job (a refresh already
    under way is followed instead of starting another). HTMX gets the progress fragment."""
    product = _tracked_product(request, pk)
    try:
        job = product_refresh_start(user=request.user, product=product)
    except RefreshRefused as exc:
        if request.htmx:
            context = {"product": product, "refresh_job": None, "refresh_outcome": ("error", exc.message)}
            return TemplateResponse(request, "catalog/product_detail.html#refresh-status", context)
        messages.error(request, exc.message)
        return redirect(product)
    if job_unavailable(job):
        if request.htmx:
            context = {"product": product, "refresh_job": None, "refresh_outcome": ("error", BACKGROUND_UNAVAILABLE)}
            response = TemplateResponse(request, "catalog/product_detail.html#refresh-status", context)
            return unavailable_response(request, response)
        messages.error(request, BACKGROUND_UNAVAILABLE)
        return redirect(product)
    if request.htmx:
        context = {"product": product, "refresh_job": job, "refresh_outcome": None}
        return TemplateResponse(request, "catalog/product_detail.html#refresh-status", context)
    messages.info(request, REFRESH_STARTED)
    return redirect(product)


@login_required
@require_GET
def product_refresh_status(request, pk, job_pk):
    """Polled while a refresh runs: its progress; once done, the product summary with the new
    values (swapped in place of the summary) and a signal for the history region to reload."""
    product = _tracked_product(request, pk)
    job = get_object_or_404(_refresh_jobs(request.user, product), pk=job_pk)
    if not request.htmx:
        return redirect(product)
    if not job.is_finished and not job_followable(job):  # no worker took it: stop waiting
        outcome = ("error", REFRESH_FAILED.format(error=JOB_NOT_PICKED_UP))
        context = {"product": product, "refresh_job": None, "refresh_outcome": outcome}
        return TemplateResponse(request, "catalog/product_detail.html#refresh-status", context)
    if not job.is_finished:
        context = {"product": product, "refresh_job": job, "refresh_outcome": None}
        return TemplateResponse(request, "catalog/product_detail.html#refresh-status", context)
    product.refresh_from_db()
    response = TemplateResponse(
        request, "catalog/product_detail.html#product-summary", _summary_context(request, product, job)
    )
    response["HX-Retarget"] = "#product-summary"
    response["HX-Reswap"] = "outerHTML"
    response["HX-Trigger"] = "product-refreshed"
    return response


@login_required
@require_GET
def product_history_csv(request, pk):
    """The product's whole price and stock history as a CSV download (the numbers behind the charts)."""
    product = _tracked_product(request, pk)
    filename = f"product-{product.pk}-{product.asin}-history.csv"
    return csv_response(filename, HISTORY_CSV_HEADER, history_csv_rows(product))


# ---- The demo shop (development only) -------------------------------------------------------


DEMO_SHOP_AVAILABILITY = {"InStock": "In stock", "LimitedAvailability": "Only a few left", "OutOfStock": "Sold out"}


def _demo_shop_item_context(item, window: int) -> dict:
    state = demo_shop.item_state(item, window)
    url = demo_shop.product_url(item)
    image = demo_shop.origin_url() + static(f"demo-shop/{item.image}")
    return {
        "item": item,
        "state": state,
        "url": url,
        "image": image,
        "availability_text": DEMO_SHOP_AVAILABILITY[state.availability],
        "json_ld": _json_ld(
            {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": item.title,
                "sku": item.sku,
                "description": item.description,
                "image": [image],
                "url": url,
                "brand": {"@type": "Brand", "name": demo_shop.SHOP_NAME},
                "aggregateRating": {
                    "@type": "AggregateRating",
                    "ratingValue": item.rating,
                    "reviewCount": item.reviews,
                },
                "offers": {
                    "@type": "Offer",
                    "price": str(state.price),
                    "priceCurrency": demo_shop.CURRENCY,
                    "availability": f"https://schema.org/{state.availability}",
                    **(
                        {"inventoryLevel": {"@type": "QuantitativeValue", "value": state.stock}}
                        if state.stock is not None
                        else {}
                    ),
                    "url": url,
                },
            }
        ),
    }


def _json_ld(document: dict) -> str:
    """JSON for a <script type="application/ld+json"> block: nothing in it can close the element."""
    text = json.dumps(document).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - JSON of our own catalogue, with <, > and & escaped


def _demo_shop_enabled():
    if not demo_shop.is_enabled():
        raise Http404("The demo shop runs in development only.")


@require_GET
def demo_shop_index(request):
    """The demo shop's front page (development only): every product, with today's price and a link
    a new user can paste on the Add page."""
    _demo_shop_enabled()
    window = demo_shop.window_now()
    items = [_demo_shop_item_context(item, window) for item in demo_shop.ITEMS]
    context = {"items": items, "shop_name": demo_shop.SHOP_NAME, "window_minutes": settings.DEMO_SHOP_WINDOW // 60}
    return TemplateResponse(request, "catalog/demo_shop_index.html", context)


@require_GET
def demo_shop_product(request, slug):
    """One product page of the demo shop (development only), in the layout the item is written in:
    JSON-LD, microdata or OpenGraph/product meta tags. Never cached: it changes every window."""
    _demo_shop_enabled()
    item = demo_shop.BY_SLUG.get(slug)
    if item is None:
        raise Http404("No such product in the demo shop.")
    context = _demo_shop_item_context(item, demo_shop.window_now())
    context.update(
        shop_name=demo_shop.SHOP_NAME,
        shop_url=reverse("demo_shop_index"),
        window_minutes=settings.DEMO_SHOP_WINDOW // 60,
    )
    response = TemplateResponse(request, "catalog/demo_shop_product.html", context)
    response["Cache-Control"] = "no-store"
    return response
