"""Filters of the seller's product list: supplier (family or site), availability, price range, text."""

import django_filters
from django import forms
from django.db.models import F, Q

from .models import Availability, Product, Supplier

PRICE_RANGE_REVERSED = "The lowest price is above the highest price; swap them or clear one."
FAMILY_LABELS = {"amazon": "Amazon", "aliexpress": "AliExpress", "costco": "Costco", "generic": "Other shops"}
ORDERING_FIELDS = ("title", "price", "availability", "last_scraped_at", "updated_at")
ORDERING_LABELS = {
    "title": "Title",
    "price": "Price",
    "availability": "Stock",
    "last_scraped_at": "Last checked",
    "updated_at": "Last changed",
}


class ProductFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(PRICE_RANGE_REVERSED, code="price_range")
        return data


class NullsLastOrderingFilter(django_filters.OrderingFilter):
    """Sort with empty values (no price yet, never checked) last in both directions and on every
    database, and break ties by id so pages never repeat or skip a product."""

    def filter(self, qs, value):
        if value in ([], (), {}, "", None):
            return qs
        ordering = []
        for param in value:
            descending = param.startswith("-")
            field = self.param_map.get(param.lstrip("-"))
            if field is None:
                continue
            ordering.append(F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True))
        if not ordering:
            return qs
        return qs.order_by(*ordering, "pk")


class ProductFilter(django_filters.FilterSet):
    """The seller's tracked products narrowed down; choices come only from the seller's own products."""

    q = django_filters.CharFilter(method="filter_text", label="Search")
    family = django_filters.ChoiceFilter(method="filter_family", label="Supplier", empty_label="All suppliers")
    supplier = django_filters.ChoiceFilter(field_name="supplier__name", label="Site", empty_label="All sites")
    availability = django_filters.ChoiceFilter(choices=Availability.choices, label="Stock", empty_label="Any stock")
    price_min = django_filters.NumberFilter(field_name="price", lookup_expr="gte", label="Price from", min_value=0)
    price_max = django_filters.NumberFilter(field_name="price", lookup_expr="lte", label="Price to", min_value=0)
    ordering = NullsLastOrderingFilter(
        fields=ORDERING_FIELDS, field_labels=ORDERING_LABELS, label="Sort", empty_label="Newest first"
    )

    class Meta:
        model = Product
        fields = ["q", "family", "supplier", "availability", "price_min", "price_max"]
        form = ProductFilterForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        suppliers = Supplier.objects.filter(pk__in=self.queryset.order_by().values("supplier_id")).select_related(
            "family"
        )
        families = sorted({supplier.template.name for supplier in suppliers})
        self.filters["family"].extra["choices"] = [(name, FAMILY_LABELS.get(name, name)) for name in families]
        self.filters["supplier"].extra["choices"] = [(supplier.name, supplier.name) for supplier in suppliers]
        self.form.fields["q"].widget.attrs.update({"type": "search", "placeholder": "Title, product id or link"})
        for name in ("price_min", "price_max"):
            self.form.fields[name].widget.attrs.update({"step": "0.01", "inputmode": "decimal"})

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(asin__icontains=value) | Q(url__icontains=value))

    def filter_family(self, queryset, name, value: str):
        return queryset.filter(Q(supplier__family__name=value) | Q(supplier__name=value, supplier__family__isnull=True))
