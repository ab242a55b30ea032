"""Filters of the seller's lists: listings (store, status, reason, margin computed in the query) and
orders (state, store, dates, search), with sorting."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import django_filters
from django.db.models import Exists, F, OuterRef, Q
from django.forms import DateInput
from django.utils import timezone

from catalog.filters import NullsLastOrderingFilter
from marketplaces.models import (
    OPEN_ORDER_STATES,
    Listing,
    ListingStatus,
    Order,
    OrderState,
    Sale,
    StatusReason,
)
from marketplaces.pricing import listings_with_margin

MARGIN_BELOW = "below_minimum"
MARGIN_NEGATIVE = "negative"
MARGIN_OK = "ok"
MARGIN_CHOICES = [
    (MARGIN_BELOW, "Below the store minimum"),
    (MARGIN_NEGATIVE, "Losing money"),
    (MARGIN_OK, "At or above the minimum"),
]
ORDERING_FIELDS = ("title", "price", "quantity_available", "status", "margin_percent", "updated_at")
ORDERING_LABELS = {
    "title": "Title",
    "price": "Price",
    "quantity_available": "Quantity",
    "status": "Status",
    "margin_percent": "Margin",
    "updated_at": "Last changed",
}
# The margin of each listing, worked out in the query by the one pricing module.
with_margin = listings_with_margin


class ListingFilter(django_filters.FilterSet):
    """The seller's listings narrowed down; the store choices are the seller's own stores."""

    store = django_filters.ModelChoiceFilter(
        field_name="store_account",
        queryset=lambda request: request.user.store_accounts.order_by("marketplace", "account_name"),
        label="Store",
        empty_label="All stores",
    )
    status = django_filters.ChoiceFilter(choices=ListingStatus.choices, label="Status", empty_label="All statuses")
    status_reason = django_filters.ChoiceFilter(
        choices=[choice for choice in StatusReason.choices if choice[0]], label="Reason", empty_label="Any reason"
    )
    margin = django_filters.ChoiceFilter(
        choices=MARGIN_CHOICES, method="filter_margin", label="Margin", empty_label="Any margin"
    )
    q = django_filters.CharFilter(method="filter_text", label="Search")
    ordering = NullsLastOrderingFilter(
        fields=ORDERING_FIELDS, field_labels=ORDERING_LABELS, label="Sort", empty_label="Newest first"
    )

    class Meta:
        model = Listing
        fields = ["store", "status", "status_reason", "margin", "q"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form.fields["q"].widget.attrs.update({"type": "search", "placeholder": "Title or marketplace id"})

    def filter_margin(self, queryset, name, value):
        if value == MARGIN_NEGATIVE:
            return queryset.filter(unit_profit__lt=0)
        if value == MARGIN_BELOW:
            return queryset.filter(margin_percent__lt=F("store_account__min_margin_percent"))
        if value == MARGIN_OK:
            return queryset.filter(margin_percent__gte=F("store_account__min_margin_percent"))
        return queryset

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(external_listing_id__icontains=value))


# --- Orders ----------------------------------------------------------------------------------

ORDER_STATE_OPEN = "open"
ORDER_STATE_OVERDUE = "overdue"
ORDER_STATE_CHOICES = [
    (ORDER_STATE_OPEN, "To buy or ship"),
    (ORDER_STATE_OVERDUE, "Past its ship-by date"),
    *OrderState.choices,
]
ORDER_ORDERING_FIELDS = ("ordered_at", "ship_by", "total", "state", "order_number")
ORDER_ORDERING_LABELS = {
    "ordered_at": "Sold",
    "ship_by": "Ship by",
    "total": "Total",
    "state": "State",
    "order_number": "Order number",
}


def _day_start(day):
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class OrderFilter(django_filters.FilterSet):
    """The seller's orders narrowed down: state (or open, overdue), store, sold between two dates (in
    the seller's time zone), and a search by order number, buyer user name or item title (never the
    encrypted name or address)."""

    state = django_filters.ChoiceFilter(
        choices=ORDER_STATE_CHOICES, method="filter_state", label="State", empty_label="All states"
    )
    store = django_filters.ModelChoiceFilter(
        field_name="store_account",
        queryset=lambda request: request.user.store_accounts.order_by("marketplace", "account_name"),
        label="Store",
        empty_label="All stores",
    )
    start = django_filters.DateFilter(
        method="filter_start", label="Sold from", widget=DateInput(attrs={"type": "date"})
    )
    end = django_filters.DateFilter(method="filter_end", label="Sold to", widget=DateInput(attrs={"type": "date"}))
    q = django_filters.CharFilter(method="filter_text", label="Search")
    ordering = NullsLastOrderingFilter(
        fields=ORDER_ORDERING_FIELDS, field_labels=ORDER_ORDERING_LABELS, label="Sort", empty_label="Newest first"
    )

    class Meta:
        model = Order
        fields = ["state", "store", "start", "end", "q"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form.fields["q"].widget.attrs.update({"type": "search", "placeholder": "Order number, buyer or title"})

    def filter_state(self, queryset, name, value):
        if value == ORDER_STATE_OPEN:
            return queryset.filter(state__in=OPEN_ORDER_STATES)
        if value == ORDER_STATE_OVERDUE:
            return queryset.filter(state__in=OPEN_ORDER_STATES, ship_by__lt=timezone.now())
        return queryset.filter(state=value)

    def filter_start(self, queryset, name, value):
        return queryset.filter(ordered_at__gte=_day_start(value))

    def filter_end(self, queryset, name, value):
        return queryset.filter(ordered_at__lt=_day_start(value + timedelta(days=1)))

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        titles = Sale.objects.filter(order=OuterRef("pk"), title__icontains=value)
        return queryset.filter(
            Q(order_number__icontains=value.lstrip("#") or value)
            | Q(buyer_username__icontains=value)
            | Q(Exists(titles))
        )
