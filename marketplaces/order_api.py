"""The seller API's orders: the Orders page's list (its filters, search, sorting and CSV), one order
with the buyer's ship-to address (to its own seller only), and the order page's actions: bought with
what it cost, what it cost corrected, shipped with a carrier and tracking number sent to the
marketplace.

Every query starts from the seller, so another seller's order is a 404. The address is loaded only
for one order's GET: never in the list, the CSV, an action's answer (an `Idempotency-Key` keeps that
answer in the database) or an error. The work is the services' and the profit is `order_profit`, the
order page's own, so a change to either reaches the API as it reaches the page.
"""

from __future__ import annotations

import dataclasses
import types
import typing
import zoneinfo
from datetime import UTC
from decimal import Decimal

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from config.rest.filters import api_filterset
from config.rest.pagination import Sort
from config.rest.problems import Conflict, Unprocessable
from config.rest.views import CSVRenderer, SellerAPIView, SellerListView, form_cleaned, wants_csv
from monitoring.analytics import analytics_invalidate

from .filters import OrderFilter
from .models import Marketplace, Order, OrderState, Sale, Shipment, ShipmentStatus
from .order_forms import OrderCostsForm, ShipForm
from .services import (
    OrderActionError,
    OrderProfit,
    lines_to_ship,
    order_buy,
    order_buy_lines,
    order_costs_record,
    order_profit,
    order_ship,
    rates_remembered,
)
from .services.purchases import NO_RATE_MESSAGE
from .services.stores import SECRET_FIELDS
from .views.orders import SHIP_REFUSED_MESSAGE, SHIP_TO_LABELS, orders_csv_response

COST_KEYS = ("supplier_order_number", "cost_item", "cost_shipping", "cost_tax", "cost_currency")
SHIP_KEYS = ("carrier", "tracking_number", "lines")
UNKNOWN_KEY = "Not a field of this request."

# --- The profit, as the order page shows it ---------------------------------------------------

PROFIT_HELP = {
    "currency": "The store's currency: every amount of the profit is in it.",
    "revenue": "What the buyer paid for the lines not cancelled.",
    "cost": "What you recorded paying (cost_is_actual), else the supplier's price when it sold; null: not known.",
    "cost_is_actual": "True: the cost is what you recorded paying for the order.",
    "fees": "The marketplace's fees (its own where it gives them, else the store's fee settings).",
    "profit": "revenue − cost − fees (may be negative); null while the cost is not known.",
    "margin_percent": "profit / revenue × 100; null while the profit is not known.",
}


def _profit_field(name: str, annotation) -> serializers.Field:
    """The API field of one part of OrderProfit, from its type (Decimal as a 2-place string)."""
    kinds = set(typing.get_args(annotation)) if isinstance(annotation, types.UnionType) else {annotation}
    nullable = type(None) in kinds
    kinds.discard(type(None))
    options = {"read_only": True, "allow_null": nullable, "help_text": PROFIT_HELP.get(name, "")}
    if kinds == {Decimal}:
        return serializers.DecimalField(max_digits=20, decimal_places=2, **options)
    if kinds == {bool}:
        return serializers.BooleanField(**options)
    if kinds == {int}:
        return serializers.IntegerField(**options)
    if kinds == {str}:
        return serializers.CharField(**options)
    raise TypeError(f"OrderProfit.{name} is a {annotation!r}: give it an API field in marketplaces/order_api.py.")


def _profit_serializer() -> type[serializers.Serializer]:
    """A serializer of every field and property of OrderProfit: a part added to the order's profit
    (fees, returns, …) appears in the API and its schema without a change here."""
    hints = typing.get_type_hints(OrderProfit)
    fields = {field.name: _profit_field(field.name, hints[field.name]) for field in dataclasses.fields(OrderProfit)}
    for name, member in vars(OrderProfit).items():
        if isinstance(member, property) and not name.startswith("_"):
            fields[name] = _profit_field(name, typing.get_type_hints(member.fget)["return"])
    doc = "What the order earns, as its page on the site shows it (order_profit)."
    return type("OrderProfitSerializer", (serializers.Serializer,), {"__doc__": doc, "__module__": __name__, **fields})


OrderProfitSerializer = _profit_serializer()


# --- What an order looks like ------------------------------------------------------------------


class OrderLineSerializer(serializers.ModelSerializer):
    listing = serializers.IntegerField(
        source="listing_id", allow_null=True, help_text="Your listing it sold from; null: not listed here."
    )
    shipped = serializers.BooleanField(read_only=True, help_text="In a package the marketplace accepted.")

    class Meta:
        model = Sale
        fields = [
            "id",
            "line_id",
            "listing",
            "title",
            "sku",
            "quantity",
            "unit_price",
            "currency",
            "cancelled",
            "shipped",
        ]


class ShipmentSerializer(serializers.ModelSerializer):
    lines = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="The order lines in the package.")

    class Meta:
        model = Shipment
        fields = [
            "id",
            "carrier",
            "tracking_number",
            "status",
            "error",
            "lines",
            "attempts",
            "next_attempt_at",
            "shipped_at",
            "sent_at",
            "created_at",
        ]
        extra_kwargs = {
            "error": {"help_text": "The marketplace's words: why it refused, or why it is waiting to be sent again."}
        }


class OrderSerializer(serializers.ModelSerializer):
    """An order without the buyer's name or address (only GET /orders/{id}/ shows them)."""

    store = serializers.IntegerField(source="store_account_id")
    marketplace = serializers.CharField(source="store_account.marketplace")
    overdue = serializers.SerializerMethodField(help_text="Still to buy or ship and past its ship-by date.")
    lines = OrderLineSerializer(many=True, read_only=True)
    shipments = ShipmentSerializer(many=True, read_only=True)
    profit = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "order_number",
            "marketplace_order_id",
            "store",
            "marketplace",
            "state",
            "overdue",
            "buyer_username",
            "ordered_at",
            "ship_by",
            "currency",
            "total",
            "marketplace_fees",
            "supplier_order_number",
            "cost_item",
            "cost_shipping",
            "cost_tax",
            "cost_currency",
            "ship_error",
            "profit",
            "lines",
            "shipments",
            "bought_at",
            "shipped_at",
            "delivered_at",
            "cancelled_at",
            "refunded_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "currency": {"help_text": "What the buyer paid in: total and marketplace_fees are in it."},
            "cost_currency": {"help_text": "What the supplier charged in: the cost_* amounts are in it."},
        }

    def get_overdue(self, order) -> bool:
        return order.is_overdue(self.context.get("now"))

    @extend_schema_field(OrderProfitSerializer)
    def get_profit(self, order):
        return OrderProfitSerializer(order_profit(order, list(order.lines.all()))).data


class ShipToSerializer(serializers.Serializer):
    """The buyer's ship-to name and address (empty strings for what the marketplace did not give)."""

    name = serializers.CharField(allow_blank=True)
    company = serializers.CharField(allow_blank=True)
    line1 = serializers.CharField(allow_blank=True)
    line2 = serializers.CharField(allow_blank=True)
    city = serializers.CharField(allow_blank=True)
    state = serializers.CharField(allow_blank=True, help_text="State or province.")
    postal_code = serializers.CharField(allow_blank=True)
    country = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)


class BuyLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="line.pk")
    supplier_url = serializers.CharField(
        source="product_url",
        allow_blank=True,
        help_text="The supplier's page (empty: not listed here, or not a web address).",
    )
    quantity = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField(), help_text="What to check before buying.")


class OrderDetailSerializer(OrderSerializer):
    """One order as its page shows it: with the buyer's ship-to address and what to buy where."""

    ship_to = serializers.SerializerMethodField(
        help_text="Only here, only to you; null once wiped (see ship_to_erased_at) or never given."
    )
    to_buy = serializers.SerializerMethodField(help_text="While the order is to buy: each line's supplier page.")

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "ship_to", "ship_to_erased_at", "to_buy"]

    @extend_schema_field(ShipToSerializer(allow_null=True))
    def get_ship_to(self, order):
        if not order.ship_to:
            return None
        return ShipToSerializer({key: str(order.ship_to.get(key) or "") for key, _ in SHIP_TO_LABELS}).data

    @extend_schema_field(BuyLineSerializer(many=True))
    def get_to_buy(self, order):
        if order.state != OrderState.TO_BUY:
            return []
        return BuyLineSerializer(order_buy_lines(order, list(order.lines.all())), many=True).data


class OrderCostsSerializer(serializers.Serializer):
    """What an order cost at the supplier (checked as on the order page)."""

    supplier_order_number = serializers.CharField(max_length=100)
    cost_item = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))
    cost_shipping = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    cost_tax = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    cost_currency = serializers.CharField(
        min_length=3, max_length=3, required=False, help_text="What the supplier charged in; default the store's."
    )


class ShipRequestSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=100, help_text="USPS, UPS, FedEx, DHL, Royal Mail, …")
    tracking_number = serializers.CharField(max_length=100, help_text="Letters, digits, spaces and dashes.")
    lines = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text=(
            "The lines in this package (eBay, Shopify); default every line not shipped yet. Etsy ships a whole "
            "receipt: every line left goes."
        ),
    )


# --- Queries -----------------------------------------------------------------------------------


def seller_time_zone(user):
    """The seller's own time zone, in which the pages read dates (UTC when it is not a known one)."""
    try:
        return zoneinfo.ZoneInfo(user.timezone) if user.timezone else UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def order_location(order) -> str:
    return reverse("api:order_detail", args=[order.pk])


class OrderQueryMixin:
    model = Order
    with_address = False  # only one order's GET loads (and decrypts) the ship-to address

    def seller_queryset(self, user):
        # The store's credentials are not loaded (nor decrypted) for any order.
        orders = user.orders.select_related("store_account").defer(
            *(f"store_account__{name}" for name in SECRET_FIELDS)
        )
        lines = Sale.objects.order_by("pk").prefetch_related("shipments")
        if self.with_address:
            lines = lines.select_related("listing__product__supplier")
        else:
            orders = orders.defer("ship_to")
        shipments = Shipment.objects.order_by("pk").prefetch_related(Prefetch("lines", Sale.objects.order_by("pk")))
        return orders.prefetch_related(Prefetch("lines", lines), Prefetch("shipments", shipments))

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def order_data(self, order) -> dict:
        """The order as an action answers with it: read again, never with the address."""
        return OrderSerializer(self.get_queryset().get(pk=order.pk), context=self.get_serializer_context()).data


# --- The list ----------------------------------------------------------------------------------


class OrderListView(OrderQueryMixin, SellerListView):
    serializer_class = OrderSerializer
    filterset_class = api_filterset(OrderFilter)
    renderer_classes = [JSONRenderer, CSVRenderer]
    ordering_fields = {
        "ordered_at": Sort("ordered_at"),
        "ship_by": Sort("ship_by", nullable=True),
        "total": Sort("total"),
        "state": Sort("state"),
        "order_number": Sort("order_number"),
    }
    default_ordering = "-ordered_at"

    @extend_schema(
        operation_id="orders_list",
        summary="Your orders",
        description=(
            "Every order of your stores with its lines, shipments and profit, newest first; never the buyer's name "
            "or address. The Orders page's filters: `state` (also `open`: to buy or ship, `overdue`: past its "
            "ship-by date), `store`, `start` and `end` (sale days in your account's time zone) and `q` (order "
            "number, buyer user name or item title). With `Accept: text/csv`, every matching order line as CSV (the "
            "Orders page's download, times in your time zone)."
        ),
        responses={(200, "application/json"): OrderSerializer(many=True), (200, "text/csv"): OpenApiTypes.STR},
        tags=["orders"],
    )
    def get(self, request):
        store = request.query_params.get("store", "")
        if store.isdigit() and not request.user.store_accounts.filter(pk=int(store)).exists():
            raise NotFound()  # another seller's store, as in a path
        with timezone.override(seller_time_zone(request.user)):
            orders = self.filter_queryset(self.get_queryset())
            if wants_csv(request):
                return orders_csv_response(orders)
        with rates_remembered():
            page = self.paginate_queryset(orders)
            data = self.get_serializer(page, many=True).data
        return self.get_paginated_response(data)


# --- One order ---------------------------------------------------------------------------------


class OrderDetailView(OrderQueryMixin, SellerAPIView):
    serializer_class = OrderDetailSerializer
    with_address = True

    @extend_schema(
        operation_id="orders_retrieve",
        summary="One order, with the buyer's ship-to address",
        description="The address is shown to the order's own seller only, here and nowhere else in the API.",
        tags=["orders"],
    )
    def get(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)


def _body(request, known: tuple[str, ...]) -> dict:
    """The JSON object sent, refusing keys the request does not have (a typo must not pass unseen)."""
    body = request.data if isinstance(request.data, dict) else {}
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ValidationError({name: [UNKNOWN_KEY] for name in unknown})
    return body


class OrderCostsActionView(OrderQueryMixin, SellerAPIView):
    """Buying and recording costs: the order page's form and service."""

    serializer_class = OrderSerializer
    problem_statuses = (409,)
    refused_code = ""  # the problem's code when the order's state refuses the change

    def service(self, order, **values):
        raise NotImplementedError

    def act(self, request):
        order = self.get_object()
        body = _body(request, COST_KEYS)
        data = {key: "" if body.get(key) is None else body[key] for key in COST_KEYS}
        data["cost_currency"] = data["cost_currency"] or order.store_account.currency
        cleaned = form_cleaned(OrderCostsForm(data))
        try:
            self.service(order, **cleaned, acting_user=request.user, request=request)
        except OrderActionError as exc:
            no_rate = NO_RATE_MESSAGE.format(
                source=cleaned["cost_currency"], target=order.store_account.currency.upper()
            )
            if exc.message == no_rate:
                raise ValidationError({"cost_currency": [exc.message]}) from exc
            raise Conflict(exc.message, code=self.refused_code) from exc
        analytics_invalidate(request.user)  # the dashboard's profit now uses what it really cost
        return Response(self.order_data(order))


class OrderBuyView(OrderCostsActionView):
    service = staticmethod(order_buy)
    refused_code = "not_to_buy"

    @extend_schema(
        operation_id="orders_buy",
        summary="Mark an order bought, with what it cost",
        description=(
            "You bought it at the supplier: their order number and what you paid (goods, shipping, tax) in their "
            "currency (default the store's). The order is bought and its profit uses that cost. 409 when the "
            "order is no longer to buy."
        ),
        request=OrderCostsSerializer,
        responses=OrderSerializer,
        tags=["orders"],
    )
    def post(self, request, pk):
        return self.act(request)


class OrderCostsView(OrderCostsActionView):
    service = staticmethod(order_costs_record)
    refused_code = "cancelled"

    @extend_schema(
        operation_id="orders_costs_update",
        summary="Record or correct what an order cost",
        description="Without moving the order; its profit and its day's figures use the new cost. 409 when cancelled.",
        request=OrderCostsSerializer,
        responses=OrderSerializer,
        tags=["orders"],
    )
    def put(self, request, pk):
        return self.act(request)


class OrderShipView(OrderQueryMixin, SellerAPIView):
    serializer_class = OrderSerializer
    problem_statuses = (409, 422)

    @extend_schema(
        operation_id="orders_ship",
        summary="Ship lines of an order: carrier and tracking number to the marketplace",
        description=(
            "Sent to the marketplace now (eBay createShippingFulfillment, Shopify fulfillmentCreate, Etsy "
            "createReceiptShipment). 201 when it accepted: the order is shipped once every line is; 202 when it "
            "could not take it now (`ship_error` says why; it is sent again automatically); 422 with the "
            "marketplace's words when it refused (correct it and ship again); 409 when the order cannot be "
            "shipped (not open, nothing left to ship, the store to be reconnected for shipping)."
        ),
        request=ShipRequestSerializer,
        responses={
            201: OrderSerializer,
            202: OpenApiResponse(OrderSerializer, description="Not sent yet: sent again automatically."),
        },
        tags=["orders"],
    )
    def post(self, request, pk):
        order = self.get_object()
        body = _body(request, SHIP_KEYS)
        # Without `lines` (and always on Etsy) every line left goes: the service chooses them, and
        # says in words why there is none (the order not open, its lines waiting to be sent, …).
        every_line = body.get("lines") is None or order.store_account.marketplace == Marketplace.ETSY
        data = {
            "carrier": body.get("carrier") or "",
            "tracking_number": body.get("tracking_number") or "",
            "lines": body.get("lines") or [],
        }
        form = ShipForm(data, lines=lines_to_ship(order.lines.all()), whole_order=every_line)
        cleaned = form_cleaned(form)
        try:
            shipment = order_ship(
                order,
                carrier=cleaned["carrier"],
                tracking_number=cleaned["tracking_number"],
                line_ids=cleaned["lines"],
                acting_user=request.user,
                request=request,
            )
        except OrderActionError as exc:
            raise Conflict(exc.message, code="not_shippable") from exc
        if shipment.status == ShipmentStatus.REFUSED:
            marketplace = order.store_account.get_marketplace_display()
            message = SHIP_REFUSED_MESSAGE.format(marketplace=marketplace, error=shipment.error)
            raise Unprocessable(message, code="marketplace_refused")
        code = status.HTTP_201_CREATED if shipment.status == ShipmentStatus.SENT else status.HTTP_202_ACCEPTED
        response = Response(self.order_data(order), status=code)
        response["Location"] = order_location(order)
        return response


urlpatterns = [
    path("orders/", OrderListView.as_view(), name="order_list"),
    path("orders/<int:pk>/", OrderDetailView.as_view(), name="order_detail"),
    path("orders/<int:pk>/buy/", OrderBuyView.as_view(), name="order_buy"),
    path("orders/<int:pk>/costs/", OrderCostsView.as_view(), name="order_costs"),
    path("orders/<int:pk>/ship/", OrderShipView.as_view(), name="order_ship"),
]
