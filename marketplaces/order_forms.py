"""Forms of the seller's order pages: what the order cost, shipping it, shipping many from a CSV."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

CARRIERS = (
    "USPS",
    "UPS",
    "FedEx",
    "DHL",
    "Royal Mail",
    "Evri",
    "Canada Post",
    "Australia Post",
    "Deutsche Post",
    "China Post",
    "Yanwen",
    "4PX",
    "Cainiao",
)
CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")
CURRENCY_INVALID = "A currency is three letters, e.g. USD."
NO_LINE_MESSAGE = "Choose at least one line to ship."
TRACKING_INVALID = "A tracking number has letters, digits and dashes only."
TRACKING_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{2,99}$")

money = dict(max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False)


class OrderCostsForm(forms.Form):
    """The supplier's order number and what the seller actually paid: goods, shipping, tax."""

    supplier_order_number = forms.CharField(label="Supplier order number", max_length=100)
    cost_item = forms.DecimalField(label="Goods", **{**money, "required": True})
    cost_shipping = forms.DecimalField(label="Shipping", **money)
    cost_tax = forms.DecimalField(label="Tax", **money)
    cost_currency = forms.CharField(label="Currency", max_length=3, help_text="What the supplier charged in.")

    def clean_cost_currency(self):
        value = self.cleaned_data["cost_currency"].strip()
        if not CURRENCY_RE.match(value):
            raise ValidationError(CURRENCY_INVALID, code="currency")
        return value.upper()


class ShipForm(forms.Form):
    """Carrier and tracking number for the lines chosen (eBay, Shopify) or the whole receipt (Etsy)."""

    carrier = forms.CharField(label="Carrier", max_length=100)
    tracking_number = forms.CharField(label="Tracking number", max_length=100)
    lines = forms.TypedMultipleChoiceField(
        label="Lines in this package", coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, lines=(), whole_order: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.whole_order = whole_order
        self.fields["lines"].choices = [(line.pk, line.title or line.sku or line.line_id) for line in lines]
        self.fields["carrier"].widget.attrs.update({"list": "carriers", "autocomplete": "off"})
        self.fields["lines"].required = not whole_order
        self.fields["lines"].error_messages["required"] = NO_LINE_MESSAGE
        if whole_order:
            self.fields["lines"].widget = forms.MultipleHiddenInput()
        if not self.is_bound:
            self.initial.setdefault("lines", [line.pk for line in lines])

    def clean_tracking_number(self):
        value = " ".join(self.cleaned_data["tracking_number"].split())
        if not TRACKING_RE.match(value):
            raise ValidationError(TRACKING_INVALID, code="tracking")
        return value

    def clean_lines(self):
        chosen = self.cleaned_data["lines"]
        if self.whole_order:
            return None  # every line left goes (Etsy ships a whole receipt)
        if not chosen:
            raise ValidationError(NO_LINE_MESSAGE, code="no_line")
        return chosen


class ShipCsvForm(forms.Form):
    """A CSV file of order number, carrier, tracking number (one order a row)."""

    file = forms.FileField(label="CSV file", help_text="Columns: order number, carrier, tracking number.")
