"""The seller API's products: the seller's tracked products with the product page's filters,
adding them (never a fetch inside the request), history, refresh now, their own price and stock,
and untracking. Every query starts from the seller's tracked set; the work is the services'."""

from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from config.csv_export import csv_response
from config.rest.filters import api_filterset
from config.rest.pagination import CURSOR_INVALID, Position, Sort, cursor_link, decode_cursor, page_limit
from config.rest.problems import Conflict, QueryValidationError, TierLimitReached
from config.rest.views import CSVRenderer, SellerAPIView, SellerListView, form_cleaned, wants_csv
from marketplaces.services import ProductListed, product_drop, product_own_values_follow, product_stop_tracking
from monitoring.api import JobSerializer, job_accepted
from monitoring.cycle import RefreshRefused, product_refresh_start

from . import services
from .filters import ProductFilter
from .forms import ADD_EMPTY, ADD_MAX_LINES, ADD_TOO_MANY_LINES, ProductOverrideForm
from .identify import IdentifyError
from .models import Availability, ChangeReason, PriceHistory, Product, StockHistory
from .services import HISTORY_CSV_HEADER, ProductAddError, history_csv_rows
from .views import web_url

LISTED_MESSAGE = (
    "This product has {count} live listing(s), and a listed product stays tracked so its listings follow the "
    "supplier. End its listings and stop tracking it with DELETE …?end_listings=true."
)
DROP_REFUSED_MESSAGE = "It stays tracked: {count} listing(s) could not be ended ({reasons}). Try again later."
NO_OVERRIDE_MESSAGE = "You have set no price or stock of your own for this product."


class ProductSerializer(serializers.ModelSerializer):
    supplier = serializers.CharField(source="supplier.name", help_text="The supplier site (amazon, amazon-de, …).")
    url = serializers.SerializerMethodField(help_text="The supplier's product page (http or https only).")
    images = serializers.SerializerMethodField()
    wrong_product = serializers.SerializerMethodField(help_text="The link now shows another product.")

    class Meta:
        model = Product
        fields = [
            "id",
            "supplier",
            "asin",
            "title",
            "url",
            "price",
            "currency",
            "stock",
            "availability",
            "rating",
            "reviews_count",
            "images",
            "gtin",
            "brand",
            "last_scraped_at",
            "failure_count",
            "last_error",
            "wrong_product",
            "is_archived",
            "created_at",
            "updated_at",
        ]

    def get_url(self, product) -> str | None:
        return web_url(product.url)

    def get_images(self, product) -> list[str]:
        return [url for url in (web_url(item) for item in (product.images or [])) if url]

    def get_wrong_product(self, product) -> bool:
        return product.wrong_product_count > 0


class ProductAddSerializer(serializers.Serializer):
    items = serializers.ListField(
        child=serializers.CharField(max_length=2000, trim_whitespace=True),
        allow_empty=False,
        max_length=ADD_MAX_LINES,
        help_text=f"Supplier links or ASINs (a bare ASIN goes to your default Amazon site); 1 to {ADD_MAX_LINES}.",
        error_messages={"empty": ADD_EMPTY, "max_length": ADD_TOO_MANY_LINES},
    )

    def validate_items(self, items):
        items = [item for item in items if item]
        if not items:
            raise ValidationError(ADD_EMPTY)
        if len(items) > ADD_MAX_LINES:
            raise ValidationError(ADD_TOO_MANY_LINES.format(count=len(items), limit=ADD_MAX_LINES))
        return items


def product_location(product) -> str:
    return reverse("api:product_detail", args=[product.pk])


class ProductQueryMixin:
    model = Product

    def seller_queryset(self, user):
        return user.tracked_products.select_related("supplier", "supplier__family")

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class ProductListView(ProductQueryMixin, SellerListView):
    serializer_class = ProductSerializer
    filterset_class = api_filterset(ProductFilter)
    ordering_fields = {
        "title": Sort("title"),
        "price": Sort("price", nullable=True),
        "availability": Sort("availability"),
        "last_scraped_at": Sort("last_scraped_at", nullable=True),
        "updated_at": Sort("updated_at"),
        "created_at": Sort("created_at"),
    }
    problem_statuses = (503,)

    @extend_schema(operation_id="products_list", summary="Your tracked products", tags=["products"])
    def get(self, request):
        return self.list(request)

    @extend_schema(
        operation_id="products_add",
        summary="Track products by link or ASIN",
        description=(
            "One item the service already knows is tracked at once: 201 with the product (200 when you already "
            "track it). Anything else becomes a Job that adds it in the background (202, `Location` names the Job; "
            "follow it at /api/v1/jobs/{id}/): no supplier page is read during this request. Several items are "
            "always a Job, read by the next tracking round."
        ),
        request=ProductAddSerializer,
        responses={
            200: ProductSerializer,
            201: ProductSerializer,
            202: OpenApiResponse(JobSerializer, description="A Job adds them; follow it."),
        },
        tags=["products"],
    )
    def post(self, request):
        body = ProductAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        items = body.validated_data["items"]
        user = request.user
        try:
            if len(items) == 1:
                try:
                    known = services.product_known(user=user, text=items[0])
                except IdentifyError as exc:
                    raise ValidationError({"items": {0: [str(exc)]}}) from exc
                if known is not None:
                    added = services.product_track(user=user, product=known, request=request)
                    code = status.HTTP_201_CREATED if added else status.HTTP_200_OK
                    response = Response(ProductSerializer(known).data, status=code)
                    response["Location"] = product_location(known)
                    return response
            rows = [{"row": n, "text": text, "supplier": "", "note": ""} for n, text in enumerate(items, start=1)]
            job = services.products_add_start(user=user, rows=rows, read_now=len(rows) == 1)
        except ProductAddError as exc:
            raise TierLimitReached(str(exc)) from exc
        return job_accepted(job)


class ProductDetailView(ProductQueryMixin, SellerAPIView):
    serializer_class = ProductSerializer
    problem_statuses = (409,)

    @extend_schema(operation_id="products_retrieve", summary="One of your products", tags=["products"])
    def get(self, request, pk):
        return Response(ProductSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="products_untrack",
        summary="Stop tracking a product",
        description=(
            "A product with live listings stays tracked (409), so its listings keep following the supplier; "
            "with `end_listings=true` its listings are ended at their marketplaces first, then it is untracked."
        ),
        parameters=[OpenApiParameter("end_listings", OpenApiTypes.BOOL, description="End its listings first.")],
        responses={204: None},
        tags=["products"],
    )
    def delete(self, request, pk):
        product = self.get_object()
        end_listings = request.query_params.get("end_listings", "").lower() in ("1", "true", "yes")
        if end_listings:
            dropped = product_drop(user=request.user, product=product, acting_user=request.user, request=request)
            if not dropped.untracked:
                reasons = "; ".join(f"{listing.store_account}: {reason}" for listing, reason in dropped.refused)
                raise Conflict(DROP_REFUSED_MESSAGE.format(count=len(dropped.refused), reasons=reasons))
        else:
            try:
                product_stop_tracking(user=request.user, product=product, request=request)
            except ProductListed as exc:
                raise Conflict(LISTED_MESSAGE.format(count=exc.count), code="listed") from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProductRefreshView(ProductQueryMixin, SellerAPIView):
    problem_statuses = (409, 503)

    @extend_schema(
        operation_id="products_refresh",
        summary="Refresh now",
        description=(
            "The whole tracking cycle for this product (read the page, listings follow, alerts) as a Job; a "
            "refresh already under way is returned instead of starting another."
        ),
        request=None,
        responses={202: JobSerializer},
        tags=["products"],
    )
    def post(self, request, pk):
        try:
            job = product_refresh_start(user=request.user, product=self.get_object())
        except RefreshRefused as exc:
            raise Conflict(exc.message, code="archived") from exc
        return job_accepted(job)


# --- History --------------------------------------------------------------------------------

KIND_RANK = {"price": 0, "stock": 1}
HISTORY_KINDS = tuple(KIND_RANK)


class HistoryRowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=HISTORY_KINDS)
    id = serializers.IntegerField()
    recorded_at = serializers.DateTimeField()
    reason = serializers.ChoiceField(choices=ChangeReason.choices)
    old_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True, required=False)
    new_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True, required=False)
    currency = serializers.CharField(required=False)
    change_percent = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True, required=False)
    old_stock = serializers.IntegerField(allow_null=True, required=False)
    new_stock = serializers.IntegerField(allow_null=True, required=False)
    old_availability = serializers.CharField(allow_blank=True, required=False)
    new_availability = serializers.ChoiceField(choices=Availability.choices, required=False)


def _history_row(row) -> dict:
    if isinstance(row, PriceHistory):
        return {
            "kind": "price",
            "id": row.pk,
            "recorded_at": row.recorded_at,
            "reason": row.reason,
            "old_price": row.old_price,
            "new_price": row.new_price,
            "currency": row.currency,
            "change_percent": row.price_change_percent,
        }
    return {
        "kind": "stock",
        "id": row.pk,
        "recorded_at": row.recorded_at,
        "reason": row.reason,
        "old_stock": row.old_stock,
        "new_stock": row.new_stock,
        "old_availability": row.old_availability,
        "new_availability": row.new_availability,
    }


class HistoryPagination:
    """Price and stock changes in one list, newest first, by (recorded_at, kind, id): each table is
    read from the cursor's position (limit + 1 rows each) and the two are merged, so a page is two
    indexed queries however old it is. Cursors and links as config.rest.pagination's."""

    def __init__(self, request, sources: dict):
        self.request, self.sources = request, sources

    def page(self) -> Response:
        request = self.request
        limit = page_limit(request)
        raw = request.query_params.get("cursor")
        position = decode_cursor(raw) if raw else None
        if position is not None and (position.key != "recorded_at" or not isinstance(position.value, list)):
            raise QueryValidationError({"cursor": [CURSOR_INVALID]})
        forward = position is None or position.forward
        rows = []
        for kind, queryset in self.sources.items():
            if position is not None:
                at, rank = position.value
                queryset = queryset.filter(self._beyond(KIND_RANK[kind], at, rank, position.pk, forward=forward))
            order = ("-recorded_at", "-pk") if forward else ("recorded_at", "pk")
            rows += [(row, KIND_RANK[kind]) for row in queryset.order_by(*order)[: limit + 1]]
        rows.sort(key=lambda item: (item[0].recorded_at, item[1], item[0].pk), reverse=forward)
        more = len(rows) > limit
        rows = rows[:limit]
        if not forward:
            rows.reverse()
        has_next = more if forward else True
        has_previous = (position is not None) if forward else more

        def link(item, *, ahead: bool) -> str:
            row, rank = item
            return cursor_link(
                request, Position("recorded_at", True, [row.recorded_at.isoformat(), rank], row.pk, ahead)
            )

        return Response(
            {
                "next": link(rows[-1], ahead=True) if rows and has_next else None,
                "previous": link(rows[0], ahead=False) if rows and has_previous else None,
                "results": HistoryRowSerializer([_history_row(row) for row, _ in rows], many=True).data,
            }
        )

    @staticmethod
    def _beyond(rank: int, at, cursor_rank: int, pk: int, *, forward: bool) -> Q:
        """Rows of a table of `rank` after (forward, newest first) or before the cursor."""
        if forward:
            if rank < cursor_rank:
                return Q(recorded_at__lte=at)
            if rank == cursor_rank:
                return Q(recorded_at__lt=at) | Q(recorded_at=at, pk__lt=pk)
            return Q(recorded_at__lt=at)
        if rank > cursor_rank:
            return Q(recorded_at__gte=at)
        if rank == cursor_rank:
            return Q(recorded_at__gt=at) | Q(recorded_at=at, pk__gt=pk)
        return Q(recorded_at__gt=at)


class ProductHistoryView(ProductQueryMixin, SellerAPIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="products_history",
        summary="Price and stock changes",
        description=(
            "Newest first, cursor-paginated. With `Accept: text/csv`, the whole history as CSV (the product "
            "page's download)."
        ),
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, enum=list(HISTORY_KINDS), description="Only this kind."),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From a `next` or `previous` link."),
            OpenApiParameter("limit", OpenApiTypes.INT, description="Rows per page, 1 to 200 (default 50)."),
        ],
        responses={
            (200, "application/json"): inline_serializer(
                "PaginatedHistoryList",
                {
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": HistoryRowSerializer(many=True),
                },
            ),
            (200, "text/csv"): OpenApiTypes.STR,
        },
        tags=["products"],
    )
    def get(self, request, pk):
        product = self.get_object()
        if wants_csv(request):
            filename = f"product-{product.pk}-{product.asin}-history.csv"
            return csv_response(filename, HISTORY_CSV_HEADER, history_csv_rows(product))
        kind = request.query_params.get("kind", "")
        if kind and kind not in HISTORY_KINDS:
            raise QueryValidationError({"kind": [f"kind is one of: {', '.join(HISTORY_KINDS)}."]})
        sources = {
            "price": PriceHistory.objects.filter(product=product),
            "stock": StockHistory.objects.filter(product=product),
        }
        if kind:
            sources = {kind: sources[kind]}
        return HistoryPagination(request, sources).page()


# --- The seller's own price and stock ---------------------------------------------------------


class OverrideSerializer(serializers.Serializer):
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, required=False, help_text="In the product's currency."
    )
    currency = serializers.CharField(read_only=True)
    stock = serializers.IntegerField(allow_null=True, required=False, help_text="0 means out of stock.")
    shipping = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        required=False,
        help_text="Your shipping per unit in the product's currency (0 for free), part of your unit cost; "
        "left out of a PUT, the one you set before is kept.",
    )
    note = serializers.CharField(allow_blank=True, required=False, max_length=300)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class ProductOverrideView(ProductQueryMixin, SellerAPIView):
    serializer_class = OverrideSerializer

    def _override(self, request, product):
        override = services.product_override_for(user=request.user, product=product)
        if override is None:
            raise NotFound(NO_OVERRIDE_MESSAGE)
        return override

    @extend_schema(
        operation_id="products_override_retrieve", summary="Your own price, stock and shipping", tags=["products"]
    )
    def get(self, request, pk):
        return Response(OverrideSerializer(self._override(request, self.get_object())).data)

    @extend_schema(
        operation_id="products_override_set",
        summary="Set your own price, stock and/or shipping",
        description=(
            "In force for your listings only (they follow at once), until you clear it or the supplier's value "
            "changes. The shared product and its history are untouched."
        ),
        request=OverrideSerializer,
        responses=OverrideSerializer,
        tags=["products"],
    )
    def put(self, request, pk):
        product = self.get_object()
        raw = dict(request.data) if isinstance(request.data, dict) else {}
        if "shipping" not in raw:  # a script that does not know shipping keeps the seller's
            existing = services.product_override_for(user=request.user, product=product)
            raw["shipping"] = existing.shipping if existing else None
        form = ProductOverrideForm(
            {key: "" if raw.get(key) is None else raw.get(key) for key in ("price", "stock", "shipping", "note")}
        )
        data = form_cleaned(form)
        override = services.product_override_set(
            user=request.user,
            product=product,
            price=data["price"],
            stock=data["stock"],
            shipping=data["shipping"],
            note=data["note"],
            request=request,
        )
        product_own_values_follow(user=request.user, product=product)
        return Response(OverrideSerializer(override).data)

    @extend_schema(
        operation_id="products_override_clear",
        summary="Clear your own values",
        responses={204: None},
        tags=["products"],
    )
    def delete(self, request, pk):
        product = self.get_object()
        self._override(request, product)
        services.product_override_clear(user=request.user, product=product, request=request)
        product_own_values_follow(user=request.user, product=product)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("products/", ProductListView.as_view(), name="product_list"),
    path("products/<int:pk>/", ProductDetailView.as_view(), name="product_detail"),
    path("products/<int:pk>/history/", ProductHistoryView.as_view(), name="product_history"),
    path("products/<int:pk>/refresh/", ProductRefreshView.as_view(), name="product_refresh"),
    path("products/<int:pk>/override/", ProductOverrideView.as_view(), name="product_override"),
]
