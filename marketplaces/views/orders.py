"""The seller's orders: the list (every order with its lines, filtered, sorted, paginated, CSV),
one order's page (buy at the supplier with the ship-to address, record what it cost, ship it with a
tracking number, its profit and trail) and shipping many orders from a CSV file.

Every query starts from request.user: another seller's order is a 404. The buyer's ship-to address
is decrypted only on the order's own page; lists and exports never load it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from config.csv_export import csv_response
from config.sorting import sort_links
from marketplaces.filters import ORDER_ORDERING_FIELDS, OrderFilter
from marketplaces.models import Marketplace, OrderState, Sale, Shipment, ShipmentStatus
from marketplaces.order_forms import CARRIERS, OrderCostsForm, ShipCsvForm, ShipForm
from marketplaces.services import (
    OrderActionError,
    lines_to_ship,
    order_buy,
    order_buy_lines,
    order_costs_record,
    order_profit,
    order_ship,
    ship_csv_read,
    ship_csv_start,
)
from monitoring.analytics import analytics_invalidate
from monitoring.models import AuditLog

from ._common import PAGE_SIZE, is_htmx, partial_template

FILTER_PARAMS = ("state", "store", "start", "end", "q")
BOUGHT_MESSAGE = "Marked bought: order {number}."
COSTS_SAVED_MESSAGE = "What order {number} cost is saved; its day's profit is worked out again."
SHIPPED_MESSAGE = "{marketplace} accepted tracking number {tracking}."
SHIP_WAITING_MESSAGE = "Not sent yet: {error}"
SHIP_REFUSED_MESSAGE = "{marketplace} refused it: {error}"
CSV_STARTED_MESSAGE = "Sending {count} tracking number(s) in the background."
CSV_NOTHING_MESSAGE = "Nothing was shipped: correct the file and upload it again."
TRAIL_ROWS = 100
SHIP_TO_LABELS = (
    ("name", "Name"),
    ("company", "Company"),
    ("line1", "Address line 1"),
    ("line2", "Address line 2"),
    ("city", "City"),
    ("state", "State or province"),
    ("postal_code", "Postal code"),
    ("country", "Country"),
    ("phone", "Phone"),
)
# Columns of the order list's CSV: one row per order line (never the buyer's name or address).
CSV_HEADER = [
    "order_number",
    "store",
    "marketplace",
    "state",
    "ordered_at",
    "ship_by",
    "buyer",
    "line_title",
    "listed_here",
    "sku",
    "quantity",
    "unit_price",
    "currency",
    "line_cancelled",
    "supplier_order_number",
    "cost_item",
    "cost_shipping",
    "cost_tax",
    "cost_currency",
]


def _seller_orders(request):
    return request.user.orders.select_related("store_account")


def _seller_order(request, pk):
    return get_object_or_404(_seller_orders(request).select_related("user"), pk=pk)


# --- The list --------------------------------------------------------------------------------


def _filtered(request):
    orders = _seller_orders(request).defer("ship_to").order_by("-ordered_at", "-pk")
    return OrderFilter(request.GET or None, queryset=orders, request=request)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def order_list(request):
    """Every order of the seller's stores with its lines, newest first: filtered by state, store,
    dates and a search (order number, buyer, title), sortable, paginated; overdue ones marked."""
    filterset = _filtered(request)
    lines = Prefetch("lines", queryset=Sale.objects.select_related("listing").order_by("pk"))
    page_obj = Paginator(filterset.qs.prefetch_related(lines), PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    page_obj.object_list = list(page_obj.object_list)
    for order in page_obj.object_list:
        order.overdue = order.is_overdue(now)
    ordering = request.GET.get("ordering", "")
    if ordering.lstrip("-") not in ORDER_ORDERING_FIELDS:
        ordering = ""
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset,
        "page_obj": page_obj,
        "orders": page_obj.object_list,
        "filtered": any(request.GET.get(name) for name in FILTER_PARAMS),
        "ordering": ordering,
        "sort_links": sort_links(ordering, ORDER_ORDERING_FIELDS),
        "oob_ordering": is_htmx(request),
        "export_query": query.urlencode(),
    }
    return TemplateResponse(request, partial_template(request, "marketplaces/order_list.html", "order-table"), context)


@login_required
@require_GET
def order_list_csv(request):
    """The filtered orders as a CSV, one row per order line (no buyer's name or address)."""
    return orders_csv_response(_filtered(request).qs)


def orders_csv_response(orders):
    """The orders' CSV download (the list's and the API's): one row per line, newest order first,
    times in the current time zone; never the buyer's name or address."""
    rows = (
        Sale.objects.filter(order__in=orders.values("pk"))
        .order_by("-order__ordered_at", "-order_id", "pk")
        .values_list(
            "order__order_number",
            "order__store_account__account_name",
            "order__store_account__marketplace",
            "order__state",
            "order__ordered_at",
            "order__ship_by",
            "order__buyer_username",
            "title",
            "listing_id",
            "sku",
            "quantity",
            "unit_price",
            "currency",
            "cancelled",
            "order__supplier_order_number",
            "order__cost_item",
            "order__cost_shipping",
            "order__cost_tax",
            "order__cost_currency",
        )
    )

    def local(moment):
        return timezone.localtime(moment) if moment else None

    def lines():
        for row in rows.iterator(chunk_size=2000):
            row = list(row)
            row[4], row[5] = local(row[4]), local(row[5])
            row[8] = row[8] is not None
            yield row

    return csv_response(f"orders-{timezone.localdate().isoformat()}.csv", CSV_HEADER, lines())


# --- One order -------------------------------------------------------------------------------


def _trail(order, user) -> list[dict]:
    rows = (
        AuditLog.objects.filter(owner=user, resource_type="order", resource_id=str(order.pk))
        .select_related("user")
        .order_by("-timestamp", "-pk")[:TRAIL_ROWS]
    )
    return [
        {
            "at": row.timestamp,
            "action": row.action.replace("_", " "),
            "who": "System" if row.user_id is None else ("You" if row.user_id == user.pk else "Staff"),
            "notes": row.notes or "",
            "values": [
                (key.replace("_", " "), value)
                for key, value in (row.new_value or {}).items()
                if key != "state" and value not in (None, "")
            ],
        }
        for row in rows
    ]


def _costs_initial(order) -> dict:
    return {
        "supplier_order_number": order.supplier_order_number,
        "cost_item": order.cost_item,
        "cost_shipping": order.cost_shipping,
        "cost_tax": order.cost_tax,
        "cost_currency": order.cost_currency or order.store_account.currency,
    }


def _detail_context(request, order, *, costs_form=None, ship_form=None) -> dict:
    shipments = Prefetch("shipments", queryset=Shipment.objects.order_by("pk"))
    lines = list(
        order.lines.select_related("listing__product__supplier", "listing__active_product__supplier")
        .prefetch_related(shipments)
        .order_by("pk")
    )
    store = order.store_account
    unshipped = lines_to_ship(lines)
    whole_order = store.marketplace == Marketplace.ETSY
    if ship_form is None:
        ship_form = ShipForm(lines=unshipped, whole_order=whole_order)
    if costs_form is None:
        costs_form = OrderCostsForm(initial=_costs_initial(order))
    return {
        "order": order,
        "store": store,
        "lines": lines,
        "ship_to_rows": [
            (label, (order.ship_to or {}).get(key)) for key, label in SHIP_TO_LABELS if (order.ship_to or {}).get(key)
        ],
        "buy_lines": order_buy_lines(order, lines) if order.state == OrderState.TO_BUY else [],
        "profit": order_profit(order, lines),
        "shipments": order.shipments.order_by("-created_at", "-pk"),
        "unshipped": unshipped,
        "can_ship": order.is_open and bool(unshipped),
        "scopes_missing": store.shipping_scopes_missing() if not request.user.is_demo else [],
        "whole_order": whole_order,
        "overdue": order.is_overdue(),
        "costs_form": costs_form,
        "ship_form": ship_form,
        "carriers": CARRIERS,
        "trail": _trail(order, request.user),
    }


@login_required
@require_GET
def order_detail(request, pk):
    """One order: its lines, the ship-to address (this seller only), buying at the supplier with
    warnings, what it cost, shipping with a tracking number, its profit and its trail."""
    order = _seller_order(request, pk)
    return TemplateResponse(request, "marketplaces/order_detail.html", _detail_context(request, order))


def _costs_args(form) -> dict:
    data = form.cleaned_data
    return {
        "supplier_order_number": data["supplier_order_number"],
        "cost_item": data["cost_item"],
        "cost_shipping": data["cost_shipping"],
        "cost_tax": data["cost_tax"],
        "cost_currency": data["cost_currency"],
    }


def _costs_action(request, pk, service, done_message):
    order = _seller_order(request, pk)
    form = OrderCostsForm(request.POST)
    if form.is_valid():
        try:
            service(order, **_costs_args(form), acting_user=request.user, request=request)
        except OrderActionError as exc:
            form.add_error(None, exc.message)
        else:
            analytics_invalidate(request.user)  # the dashboard's profit now uses what it really cost
            messages.success(request, done_message.format(number=order.order_number))
            return redirect(order)
    context = _detail_context(request, order, costs_form=form)
    return TemplateResponse(request, "marketplaces/order_detail.html", context)


@login_required
@require_POST
def order_buy_view(request, pk):
    """The seller bought the order at the supplier: its supplier order number and what they paid."""
    return _costs_action(request, pk, order_buy, BOUGHT_MESSAGE)


@login_required
@require_POST
def order_costs(request, pk):
    """Record or correct what an order cost without moving it (its day's profit is worked out again)."""
    return _costs_action(request, pk, order_costs_record, COSTS_SAVED_MESSAGE)


@login_required
@require_POST
def order_ship_view(request, pk):
    """Send the carrier and tracking number of lines of the order to its marketplace now."""
    order = _seller_order(request, pk)
    context = _detail_context(request, order)
    form = ShipForm(request.POST, lines=context["unshipped"], whole_order=context["whole_order"])
    if not form.is_valid():
        context["ship_form"] = form
        return TemplateResponse(request, "marketplaces/order_detail.html", context)
    data = form.cleaned_data
    try:
        shipment = order_ship(
            order,
            carrier=data["carrier"],
            tracking_number=data["tracking_number"],
            line_ids=data["lines"],
            acting_user=request.user,
            request=request,
        )
    except OrderActionError as exc:
        form.add_error(None, exc.message)
        context["ship_form"] = form
        return TemplateResponse(request, "marketplaces/order_detail.html", context)
    marketplace = order.store_account.get_marketplace_display()
    if shipment.status == ShipmentStatus.SENT:
        messages.success(request, SHIPPED_MESSAGE.format(marketplace=marketplace, tracking=shipment.tracking_number))
    elif shipment.status == ShipmentStatus.REFUSED:
        messages.error(request, SHIP_REFUSED_MESSAGE.format(marketplace=marketplace, error=shipment.error))
    else:
        messages.warning(request, SHIP_WAITING_MESSAGE.format(error=shipment.error))
    return redirect(order)


@login_required
@require_http_methods(["GET", "POST"])
def order_ship_csv(request):
    """Ship many orders from a CSV of order number, carrier, tracking number: every row is checked
    first (nothing is sent while a row is wrong), then the tracking numbers go out as a Job."""
    form = ShipCsvForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        rows, errors = ship_csv_read(user=request.user, content=form.cleaned_data["file"].read())
        if not errors:
            job, errors = ship_csv_start(user=request.user, rows=rows, acting_user=request.user)
            if job is not None:
                messages.info(request, CSV_STARTED_MESSAGE.format(count=len(rows)))
                return redirect("monitoring:job_detail", pk=job.pk)
        if errors:
            messages.error(request, CSV_NOTHING_MESSAGE)
    context = {"form": form, "errors": errors, "list_url": reverse("marketplaces:order_list")}
    return TemplateResponse(request, "marketplaces/order_ship_csv.html", context)
