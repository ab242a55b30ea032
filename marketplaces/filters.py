"""Filters of the seller's lists: listings (store, status, reason, margin computed in the query) and
orders (state, store, dates, search), with sorting."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import django_filters
from django.db.models import Case, DecimalField, Exists, ExpressionWrapper, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, NullIf, Round
from django.forms import DateInput
from django.utils import timezone

from catalog.filters import NullsLastOrderingFilter
from marketplaces.models import (
    OPEN_ORDER_STATES,
    ExchangeRate,
    Listing,
    ListingStatus,
    Order,
    OrderState,
    Sale,
    StatusReason,
)

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
MONEY = DecimalField(max_digits=14, decimal_places=2)
RATE = DecimalField(max_digits=18, decimal_places=6)
HUNDRED = Value(Decimal("100"), output_field=DecimalField(max_digits=5, decimal_places=0))


def _rate(currency_ref: str):
    """Units of a currency per euro (the euro itself is 1; None when no rate is kept)."""
    kept = ExchangeRate.objects.filter(currency=OuterRef(currency_ref)).values("per_eur")[:1]
    return Case(When(**{currency_ref: "EUR"}, then=Value(1, output_field=RATE)), default=Subquery(kept))


def _cents(expression):
    """An amount worked out in the database, rounded to the cent (as pricing.py does in Python)."""
    exact = ExpressionWrapper(expression, output_field=DecimalField(max_digits=30, decimal_places=10))
    return Round(exact, precision=2, output_field=MONEY)


def with_margin(listings):
    """Annotate each listing with what a sale at its price earns now, in its store's currency, as
    marketplaces.pricing.quote_for_price works it out: `unit_cost` (the supplier's price converted
    with the kept rates, as product_cost does), `unit_fees`, `unit_profit` and `margin_percent`
    (to the cent), all None when the cost is not known."""
    listings = listings.annotate(
        cost_currency=Coalesce(
            NullIf(F("product__currency"), Value("")),
            NullIf(F("product__supplier__currency"), Value("")),
            F("store_account__currency"),
        ),
    ).annotate(
        unit_cost=Case(
            When(product__price__isnull=True, then=Value(None, output_field=MONEY)),
            When(cost_currency=F("store_account__currency"), then=F("product__price")),
            default=_cents(F("product__price") * _rate("store_account__currency") / _rate("cost_currency")),
            output_field=MONEY,
        ),
        unit_fees=_cents(F("price") * F("store_account__fee_percent") / HUNDRED + F("store_account__fee_fixed")),
    )
    return listings.annotate(
        unit_profit=ExpressionWrapper(F("price") - F("unit_fees") - F("unit_cost"), output_field=MONEY),
    ).annotate(
        margin_percent=_cents(F("unit_profit") * HUNDRED / NullIf(F("price"), Value(Decimal("0")))),
    )


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
