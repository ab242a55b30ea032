"""The seller's listings: the filtered list with inline and bulk actions, one listing's page
(price against supplier cost, daily performance with CSV, sync log, price lock, publishing) and
listing a tracked product on a store."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from catalog.services import product_as_seen_by
from config.charts import time_chart
from config.csv_export import csv_response
from config.sorting import sort_links
from marketplaces import services
from marketplaces.clients import MarketplaceError
from marketplaces.filters import ORDERING_FIELDS, ListingFilter, with_margin
from marketplaces.forms import (
    BulkActionForm,
    ListingCreateForm,
    MaxPriceForm,
    PriceLockForm,
    PublishDefaultsForm,
    SourceAddForm,
    listing_publish_settings_save,
)
from marketplaces.models import ListingStatus
from marketplaces.pricing import quote_for_price
from marketplaces.services import (
    BLOCKED_MESSAGE,
    NOT_PENDING_MESSAGE,
    ListingActionError,
    ListingError,
    listing_preview,
    listing_set_price_lock,
    listing_sources_check,
    product_cost,
    product_unit_cost,
)
from marketplaces.services.performance import PERFORMANCE_CSV_HEADER, performance_csv_cells
from monitoring.models import AuditLog
from monitoring.records import BACKGROUND_UNAVAILABLE, job_unavailable

from ._common import PAGE_SIZE, hx_target, is_htmx, partial_template, safe_next

PERFORMANCE_DAYS = 90
SYNC_LOG_ROWS = 100
CHART_POINTS = 500

PAUSED_MESSAGE = "Paused: nothing is for sale until you resume it."
RESUMED_MESSAGE = "Resumed."
ENDED_MESSAGE = "Ended: it is off the marketplace and no longer follows its supplier."
PUBLISHED_MESSAGE = "Published on {store}."
PUBLISH_FAILED_MESSAGE = "Not published: {reason}"
PUBLISH_WAITING_MESSAGE = "{marketplace} asked us to wait: publishing continues in the background."
PUBLISH_STARTED_MESSAGE = (
    "Publishing {count} listing in the background.",
    "Publishing {count} listings in the background.",
)
NOTHING_TO_PUBLISH_MESSAGE = "None of the selected listings is waiting to be published."
BULK_DONE_MESSAGE = ("{action}: {count} listing.", "{action}: {count} listings.")
BULK_NONE_MESSAGE = "None of the selected listings is yours."
PRICE_LOCKED_MESSAGE = "Price fixed at {price} {currency}: no automatic repricing."
PRICE_UNLOCKED_MESSAGE = "Price unlocked: our pricing rules set it again."
PUBLISH_SETTINGS_SAVED_MESSAGE = "This listing's publish settings are saved."
NO_STORE_MESSAGE = "You have no connected store to list it on."
ALL_LISTED_MESSAGE = "This product is already listed on every store you have connected."

ACTIONS = {
    "pause": (services.listing_pause, PAUSED_MESSAGE, "Paused"),
    "resume": (services.listing_resume, RESUMED_MESSAGE, "Resumed"),
    "end": (services.listing_end, ENDED_MESSAGE, "Ended"),
}
FILTER_PARAMS = ("store", "status", "status_reason", "margin", "q")


def _seller_listings(request):
    return request.user.listings.select_related("product", "product__supplier", "store_account")


def _seller_listing(request, pk):
    return get_object_or_404(
        request.user.listings.select_related(
            "product",
            "product__supplier",
            "active_product",
            "active_product__supplier",
            "store_account",
            "store_account__user",
        ),
        pk=pk,
    )


# --- The list --------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def listing_list(request):
    """The seller's listings: filtered (store, status, reason, margin), sorted, paginated, with held
    changes and the last refusal per row; inline and bulk pause/resume/end/publish."""
    listings = with_margin(_seller_listings(request)).order_by("-created_at", "-pk")
    filterset = ListingFilter(request.GET or None, queryset=listings, request=request)
    page_obj = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    ordering = request.GET.get("ordering", "")
    if ordering.lstrip("-") not in ORDERING_FIELDS:
        ordering = ""
    context = {
        "filter": filterset,
        "page_obj": page_obj,
        "listings": page_obj.object_list,
        "filtered": any(request.GET.get(name) for name in FILTER_PARAMS),
        "ordering": ordering,
        "sort_links": sort_links(ordering, ORDERING_FIELDS),
        "oob_ordering": is_htmx(request),
        "next_url": request.get_full_path(),
    }
    return TemplateResponse(
        request, partial_template(request, "marketplaces/listing_list.html", "listing-table"), context
    )


LISTINGS_CSV_HEADER = [
    "listing_id",
    "title",
    "store",
    "marketplace",
    "marketplace_listing_id",
    "status",
    "status_reason",
    "price",
    "currency",
    "price_locked",
    "quantity",
    "margin_percent",
    "product",
    "supplier",
    "supplier_price",
    "supplier_currency",
    "supplier_url",
    "created_at",
    "updated_at",
]


@login_required
@require_GET
def listing_export_csv(request):
    """The seller's listings as a CSV download, with the filters and the order of the list page."""
    listings = with_margin(_seller_listings(request)).order_by("-created_at", "-pk")
    rows = (
        (
            listing.pk,
            listing.title,
            listing.store_account.account_name,
            listing.store_account.get_marketplace_display(),
            listing.external_listing_id,
            listing.get_status_display(),
            listing.get_status_reason_display() if listing.status_reason else "",
            listing.price,
            listing.store_account.currency,
            listing.price_locked,
            listing.quantity_available,
            listing.margin_percent,
            listing.product.title or str(listing.product),
            str(listing.product.supplier),
            listing.product.price,
            listing.product.currency,
            listing.product.url,
            timezone.localtime(listing.created_at),
            timezone.localtime(listing.updated_at),
        )
        for listing in ListingFilter(request.GET or None, queryset=listings, request=request).qs.iterator()
    )
    return csv_response(f"listings-{timezone.localdate()}.csv", LISTINGS_CSV_HEADER, rows)


def _row_response(request, pk, *, row_error="", row_message=""):
    listing = with_margin(_seller_listings(request)).get(pk=pk)
    context = {
        "listing": listing,
        "row_error": row_error,
        "row_message": row_message,
        "next_url": safe_next(request, ""),
    }
    return TemplateResponse(request, "marketplaces/listing_list.html#listing-row", context)


def _listing_action(request, pk, name: str):
    """Pause, resume or end one listing; HTMX gets its row again (with the refusal, if any)."""
    listing = _seller_listing(request, pk)
    service, done_message, _ = ACTIONS[name]
    error = ""
    try:
        service(listing, acting_user=request.user, request=request)
    except (ListingActionError, MarketplaceError) as exc:
        error = exc.message or type(exc).__name__
    if is_htmx(request):
        return _row_response(request, pk, row_error=error, row_message="" if error else done_message)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done_message)
    return redirect(safe_next(request, listing.get_absolute_url()))


@login_required
@require_POST
@vary_on_headers("HX-Request")
def listing_pause(request, pk):
    """The seller pauses a listing (it stays at the marketplace with nothing to sell)."""
    return _listing_action(request, pk, "pause")


@login_required
@require_POST
@vary_on_headers("HX-Request")
def listing_resume(request, pk):
    """The seller resumes a paused listing."""
    return _listing_action(request, pk, "resume")


@login_required
@require_POST
@vary_on_headers("HX-Request")
def listing_end(request, pk):
    """The seller ends a listing."""
    return _listing_action(request, pk, "end")


@login_required
@require_POST
def listing_bulk(request):
    """Pause, resume or end the selected listings one by one, or publish them as a Job."""
    form = BulkActionForm(request.POST)
    back = safe_next(request, reverse("marketplaces:listing_list"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    action, ids = form.cleaned_data["action"], form.cleaned_data["ids"]
    result = services.listings_bulk_action(
        user=request.user, action=action, ids=ids, acting_user=request.user, request=request
    )
    if not result.done and not result.refused:
        messages.error(request, BULK_NONE_MESSAGE)
        return redirect(back)
    if action == "publish":
        if result.job is None:
            messages.warning(request, NOTHING_TO_PUBLISH_MESSAGE)
            return redirect(back)
        if job_unavailable(result.job):
            messages.error(request, BACKGROUND_UNAVAILABLE)
            return redirect(back)
        count = len(result.done)
        messages.info(request, ngettext(*PUBLISH_STARTED_MESSAGE, count).format(count=count))
        return redirect("monitoring:job_detail", pk=result.job.pk)
    for listing, reason in result.refused:
        messages.error(request, f"{listing.title[:80]}: {reason}")
    if result.done:
        count = len(result.done)
        messages.success(request, ngettext(*BULK_DONE_MESSAGE, count).format(action=ACTIONS[action][2], count=count))
    return redirect(back)


# --- One listing -----------------------------------------------------------------------------


def _audit_rows(listing):
    return AuditLog.objects.filter(owner=listing.user, resource_type="listing", resource_id=str(listing.pk))


def price_series(listing, *, seen=None) -> dict:
    """Listing price (from its audit rows) against the unit cost (supplier price + shipping + tax)
    in the store's currency: the supplier's recorded prices (PriceHistory) with the shipping and tax
    known now, at the rates kept now; two stepped series on one time axis. `seen` is the product as
    the listing's seller sees it (their own shipping and price in force)."""
    store, product = listing.store_account, listing.active_source
    seen = seen or product
    listing_points = []
    for at, new_value in (
        _audit_rows(listing).order_by("timestamp", "pk").values_list("timestamp", "new_value")[:CHART_POINTS]
    ):
        price = (new_value or {}).get("price") if isinstance(new_value, dict) else None
        if price in (None, ""):
            continue
        price = Decimal(str(price))
        if not listing_points or listing_points[-1][1] != price:
            listing_points.append((at, price))
    history = product.price_history.order_by("-recorded_at", "-pk")
    since = listing.created_at
    rows = list(history.filter(recorded_at__gte=since)[:CHART_POINTS])
    before = history.filter(recorded_at__lt=since).first()
    if before is not None:
        rows.append(before)
    cost_points, unconverted = [], False
    for row in reversed(rows):
        if row.new_price is None:
            continue
        then = copy.copy(seen)
        then.price, then.currency = row.new_price, row.currency or product.currency
        unit = product_unit_cost(then, currency=store.currency)
        cost = None if unit is None else unit.amount
        if cost is None:
            unconverted = True
            continue
        cost_points.append((max(row.recorded_at, since) if row is before else row.recorded_at, cost))
    times = sorted({at for at, _ in listing_points} | {at for at, _ in cost_points})
    by_listing, by_cost = dict(listing_points), dict(cost_points)
    table = [(at, by_listing.get(at), by_cost.get(at)) for at in times]
    current_cost = product_cost(seen, currency=store.currency)
    now = timezone.now()
    chart = time_chart(
        [
            {
                "label": f"Your price ({store.currency})",
                "color": "#2b6cb0",
                "stepped": True,
                "points": [*listing_points, (now, listing.price)] if listing_points else [],
            },
            {
                "label": f"Unit cost ({store.currency})",
                "color": "#c05621",
                "stepped": True,
                "points": [*cost_points, (now, current_cost)] if cost_points else [],
            },
        ]
    )
    return {
        "price_chart": chart,
        "price_table": list(reversed(table)),
        "price_unconverted": unconverted,
        "current_cost": current_cost,
        "converted": (product.currency or store.currency).upper() != store.currency.upper(),
    }


def performance_chart(days) -> str:
    """Revenue and profit per day (bars), for the days shown in the table."""
    if not days:
        return ""
    days = sorted(days, key=lambda day: day.date)
    config = {
        "type": "bar",
        "data": {
            "labels": [day.date.isoformat() for day in days],
            "datasets": [
                {"label": "Revenue", "data": [float(day.revenue) for day in days], "backgroundColor": "#2b6cb0"},
                {"label": "Profit", "data": [float(day.profit) for day in days], "backgroundColor": "#1f8a4c"},
            ],
        },
        "options": {"scales": {"y": {"beginAtZero": True}}},
    }
    return json.dumps(config)


def _who(row, user) -> str:
    if row.user_id is None:
        return "System"
    if row.user_id == user.pk:
        return "You"
    return "Staff"


def _changes(old, new) -> list[tuple[str, object, object]]:
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    keys = list(dict.fromkeys([*old, *new]))
    return [(key.replace("_", " "), old.get(key), new.get(key)) for key in keys if old.get(key) != new.get(key)]


def sync_log(listing, user) -> list[dict]:
    rows = _audit_rows(listing).select_related("user").order_by("-timestamp", "-pk")[:SYNC_LOG_ROWS]
    return [
        {
            "at": row.timestamp,
            "action": row.action.replace("_", " "),
            "rule": row.notes or "",
            "changes": _changes(row.old_value, row.new_value),
            "who": _who(row, user),
        }
        for row in rows
    ]


def _detail_context(
    request, listing, *, settings_form=None, lock_form=None, source_form=None, max_price_form=None
) -> dict:
    store = listing.store_account
    performance = list(listing.marketplace_data.order_by("-date")[:PERFORMANCE_DAYS])
    if settings_form is None:
        settings_form = PublishDefaultsForm(
            marketplace=store.marketplace,
            defaults=store.publish_defaults,
            initial=dict(listing.publish_settings or {}),
        )
    if lock_form is None:
        lock_form = PriceLockForm(initial={"locked": listing.price_locked, "price": listing.price})
    seen = product_as_seen_by(product=listing.active_source, user=listing.user)
    unit = product_unit_cost(seen, currency=store.currency)
    known = unit is not None and unit.amount is not None
    return {
        **_sources_context(listing, source_form=source_form, max_price_form=max_price_form),
        "listing": listing,
        "store": store,
        "product_tracked": request.user.tracked_products.filter(pk=listing.product_id).exists(),
        "performance": performance,
        "performance_chart": performance_chart(performance),
        "performance_days": PERFORMANCE_DAYS,
        "sync_log": sync_log(listing, request.user),
        "sync_log_rows": SYNC_LOG_ROWS,
        "settings_form": settings_form,
        "lock_form": lock_form,
        "can_publish": listing.status == ListingStatus.PENDING,
        "is_demo_store": store.user.is_demo,
        "recorded_pushes": list(listing.recorded_pushes.order_by("-created_at", "-pk")[:SYNC_LOG_ROWS]),
        "cost_quote": quote_for_price(cost=unit, price=listing.price, store=store) if known else None,
        "cost_unknown": "" if known else _cost_unknown(seen, store),
        **price_series(listing, seen=seen),
    }


def _sources_context(listing, *, source_form=None, max_price_form=None) -> dict:
    """The backup sources section: each source in order with how it stands, the add form (with both
    products side by side when the seller must confirm they are the same item) and the max price."""
    if source_form is None:
        source_form = SourceAddForm(listing=listing)
    if max_price_form is None:
        max_price_form = MaxPriceForm(initial={"max_price": listing.max_price})
    compare = None
    if source_form.is_bound and "confirm_same_item" in source_form.errors:
        compare = (listing.product, source_form.cleaned_data.get("product"))
    live = listing.status in (ListingStatus.PENDING, ListingStatus.ACTIVE, ListingStatus.PAUSED)
    return {
        "source_checks": listing_sources_check(listing),
        "source_form": source_form,
        "source_compare": compare,
        "max_price_form": max_price_form,
        "sources_editable": live,
    }


COST_PRICE_UNKNOWN = "The supplier's price is not known yet, so neither is the unit cost."
COST_NOT_CONVERTED = "The unit cost in {source} cannot be converted to {target}: no exchange rate is kept."


def _cost_unknown(seen, store) -> str:
    if seen.price is None:
        return COST_PRICE_UNKNOWN
    source = seen.currency or seen.supplier.currency or "?"
    return COST_NOT_CONVERTED.format(source=source, target=store.currency)


@login_required
@require_GET
def listing_detail(request, pk):
    """One listing: where it stands, price against supplier cost, daily performance, sync log,
    price lock, publishing and its own publish settings."""
    listing = _seller_listing(request, pk)
    return TemplateResponse(request, "marketplaces/listing_detail.html", _detail_context(request, listing))


@login_required
@require_GET
def listing_performance_csv(request, pk):
    """Every day of the listing's performance as a CSV (the numbers behind the chart)."""
    listing = _seller_listing(request, pk)
    currency = listing.store_account.currency
    rows = (performance_csv_cells(day, currency) for day in listing.marketplace_data.order_by("date"))
    return csv_response(f"listing-{listing.pk}-performance.csv", PERFORMANCE_CSV_HEADER, rows)


@login_required
@require_POST
def listing_publish(request, pk):
    """Publish a pending listing now (a marketplace asking us to wait turns it into a Job)."""
    listing = _seller_listing(request, pk)
    if listing.status != ListingStatus.PENDING:
        messages.error(request, NOT_PENDING_MESSAGE)
        return redirect(listing)
    return _publish_and_redirect(request, listing)


def _publish_and_redirect(request, listing):
    store = listing.store_account
    job = services.listing_publish_now(listing, acting_user=request.user, request=request)
    if job is not None:
        if job_unavailable(job):
            messages.error(request, BACKGROUND_UNAVAILABLE)
            return redirect(listing)
        messages.info(request, PUBLISH_WAITING_MESSAGE.format(marketplace=store.get_marketplace_display()))
        return redirect("monitoring:job_detail", pk=job.pk)
    if listing.status == ListingStatus.ACTIVE:
        messages.success(request, PUBLISHED_MESSAGE.format(store=store))
    else:
        messages.error(request, PUBLISH_FAILED_MESSAGE.format(reason=listing.last_error))
    return redirect(listing)


@login_required
@require_POST
def listing_price_lock(request, pk):
    """Fix the listing's price (optionally a new one, sent at once) or hand it back to the rules."""
    listing = _seller_listing(request, pk)
    form = PriceLockForm(request.POST)
    if not form.is_valid():
        response = TemplateResponse(
            request, "marketplaces/listing_detail.html", _detail_context(request, listing, lock_form=form)
        )
        return response
    locked, price = form.cleaned_data["locked"], form.cleaned_data["price"]
    try:
        listing_set_price_lock(
            listing, locked=locked, price=price if locked else None, acting_user=request.user, request=request
        )
    except (ListingActionError, MarketplaceError) as exc:
        messages.error(request, exc.message or type(exc).__name__)
    else:
        currency = listing.store_account.currency
        message = (
            PRICE_LOCKED_MESSAGE.format(price=listing.price, currency=currency) if locked else PRICE_UNLOCKED_MESSAGE
        )
        messages.success(request, message)
    return redirect(listing)


@login_required
@require_POST
def listing_publish_settings(request, pk):
    """Keep this listing's own publish settings (e.g. another category) over its store's defaults."""
    listing = _seller_listing(request, pk)
    store = listing.store_account
    form = PublishDefaultsForm(request.POST, marketplace=store.marketplace, defaults=store.publish_defaults)
    if form.is_valid():
        listing_publish_settings_save(listing=listing, form=form, acting_user=request.user, request=request)
        messages.success(request, PUBLISH_SETTINGS_SAVED_MESSAGE)
        return redirect(f"{listing.get_absolute_url()}#publish-settings")
    return TemplateResponse(
        request, "marketplaces/listing_detail.html", _detail_context(request, listing, settings_form=form)
    )


# --- Listing a product -----------------------------------------------------------------------


def _product_for_listing(request):
    """The tracked product to list (None: not chosen yet, the page asks which)."""
    raw = request.POST.get("product") if request.method == "POST" else request.GET.get("product")
    if not raw:
        return None
    if not str(raw).isdigit():
        raise Http404("Which product?")
    return get_object_or_404(request.user.tracked_products.select_related("supplier"), pk=int(raw))


@login_required
@vary_on_headers("HX-Request")
def listing_create(request):
    """List one of the seller's tracked products (chosen first when the Listings page asks) on a
    connected store it is not on yet: the price,
    fees, profit, margin and quantity are shown before anything is saved (HTMX refreshes them as
    the store or the price changes); then the listing is created and published."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    product = _product_for_listing(request)
    if product is None:
        if request.method == "POST":
            raise Http404("Which product?")
        products = request.user.tracked_products.filter(is_archived=False).order_by("title", "pk")
        return TemplateResponse(request, "marketplaces/listing_choose_product.html", {"products": products})
    connected = request.user.store_accounts.filter(is_connected=True, needs_reauth=False)
    stores = connected.exclude(listings__product=product).order_by("marketplace", "account_name", "pk")
    listed = _seller_listings(request).filter(product=product).order_by("store_account__account_name")
    initial = {"title": product.title, "publish_now": True}
    if request.method == "POST":
        form = ListingCreateForm(request.POST, stores=stores, initial=initial)
    else:
        form = ListingCreateForm(request.GET if "store" in request.GET else None, stores=stores, initial=initial)
    store, price = None, None
    if form.is_bound and form.is_valid():
        store, price = form.cleaned_data["store"], form.cleaned_data["price"]
    elif form.is_bound and str(form.data.get("store", "")).isdigit():
        store = stores.filter(pk=int(form.data["store"])).first()
    if store is None:
        store = stores.first()
    preview = listing_preview(product, store, price=price) if store is not None else None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        blocked_by = services.listing_blocked_by(user=request.user, product=product, title=data["title"])
        if blocked_by:
            form.add_error(None, BLOCKED_MESSAGE.format(term=blocked_by))
        else:
            try:
                listing = services.listing_create(
                    user=request.user,
                    product=product,
                    store=data["store"],
                    title=data["title"] or None,
                    price=data["price"],
                    price_locked=data["price_locked"],
                    acting_user=request.user,
                    request=request,
                )
            except ListingError as exc:
                form.add_error(None, exc.message)
            else:
                if data["publish_now"]:
                    return _publish_and_redirect(request, listing)
                messages.success(request, f"Listing saved on {listing.store_account}; publish it when you are ready.")
                return redirect(listing)
    context = {
        "product": product,
        "form": form,
        "stores": stores,
        "listed": listed,
        "has_connected": connected.exists(),
        "store": store,
        "preview": preview,
        "blocked_message": BLOCKED_MESSAGE.format(term=preview.blocked_by) if preview and preview.blocked_by else "",
        "no_store_message": ALL_LISTED_MESSAGE if connected.exists() else NO_STORE_MESSAGE,
    }
    if request.method == "GET" and hx_target(request) == "listing-preview":
        return TemplateResponse(request, "marketplaces/listing_create.html#listing-preview", context)
    return TemplateResponse(request, "marketplaces/listing_create.html", context)
