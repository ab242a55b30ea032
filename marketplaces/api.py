"""The seller API's listings and stores: the listings page's filters and actions, listing a
tracked product (with a dry run that only quotes the price), the stores' connection state (never a
credential) and their pricing settings with the store page's validation and preview; the orders are
in order_api.py. Every query starts from the seller; the work is the services'."""

from decimal import Decimal

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response

from config.rest.filters import api_filterset
from config.rest.pagination import Sort
from config.rest.problems import Conflict, TierLimitReached
from config.rest.views import SellerAPIView, SellerListView, form_cleaned
from monitoring.api import JobSerializer, job_accepted

from . import order_api, services, source_api
from .clients import MarketplaceError
from .filters import ListingFilter, with_margin
from .forms import (
    BULK_MAX,
    PUBLISH_DEFAULT_FIELDS,
    SETTINGS_FIELDS,
    PublishDefaultsForm,
    StorePricingForm,
    listing_publish_settings_save,
)
from .models import Listing, ListingStatus, LowMarginAction, StatusReason, StoreAccount
from .services import (
    ALREADY_LISTED_MESSAGE,
    BLOCKED_MESSAGE,
    ListingActionError,
    ListingError,
    ListingLimitError,
    listing_preview,
)
from .services.listings import NO_PRICE_MESSAGE
from .services.stores import store_preview_rows, store_state
from .views.listings import NOTHING_TO_PUBLISH_MESSAGE, PUBLISH_FAILED_MESSAGE
from .views.stores import NOT_CONNECTED_MESSAGE

PRICE_NEEDS_LOCK = "A price you set is kept only when the price is locked: send price_locked true (or leave it out)."
UNKNOWN_PUBLISH_KEYS = "Not a publish setting of {marketplace}: {keys}. Known: {known}."
NOT_FOUND_IDS = "Not among yours: {ids}."


class MarketplaceRefused(APIException):
    """The marketplace refused or failed the change (its words in the detail)."""

    status_code = 502
    default_detail = "The marketplace did not accept the change."
    default_code = "marketplace_error"


def _refusal(exc: Exception) -> APIException:
    if isinstance(exc, ListingActionError):
        return Conflict(exc.message, code="refused")
    return MarketplaceRefused(getattr(exc, "message", "") or type(exc).__name__)


# --- Listings -------------------------------------------------------------------------------


class MarginSerializer(serializers.Serializer):
    unit_cost = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    unit_fees = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    unit_profit = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    margin_percent = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class ListingSerializer(serializers.ModelSerializer):
    store = serializers.IntegerField(source="store_account_id")
    marketplace = serializers.CharField(source="store_account.marketplace")
    currency = serializers.CharField(source="store_account.currency", help_text="The store's currency.")
    margin = serializers.SerializerMethodField(help_text="What a sale at its price earns now (null: cost unknown).")
    active_product = serializers.IntegerField(help_text="The product it follows now: a backup source, or its own.")

    class Meta:
        model = Listing
        fields = [
            "id",
            "product",
            "store",
            "marketplace",
            "external_listing_id",
            "title",
            "price",
            "currency",
            "price_locked",
            "quantity_available",
            "status",
            "status_reason",
            "publish_settings",
            "pending_changes",
            "last_error",
            "last_pushed_at",
            "margin",
            "max_price",
            "active_product",
            "active_since",
            "created_at",
            "updated_at",
            "ended_at",
        ]

    @extend_schema_field(MarginSerializer)
    def get_margin(self, listing):
        return {name: _money(getattr(listing, name, None)) for name in MARGIN_FIELDS}

    def to_representation(self, listing):
        # The same fields as declared (the schema's), written directly: the listings list sends up
        # to 200 rows, and REST framework's field-by-field path costs more than the query.
        store = listing.store_account
        return {
            "id": listing.pk,
            "product": listing.product_id,
            "store": listing.store_account_id,
            "marketplace": store.marketplace,
            "external_listing_id": listing.external_listing_id,
            "title": listing.title,
            "price": _money(listing.price),
            "currency": store.currency,
            "price_locked": listing.price_locked,
            "quantity_available": listing.quantity_available,
            "status": listing.status,
            "status_reason": listing.status_reason,
            "publish_settings": listing.publish_settings,
            "pending_changes": listing.pending_changes,
            "last_error": listing.last_error,
            "last_pushed_at": _time(listing.last_pushed_at),
            "margin": self.get_margin(listing),
            "max_price": _money(listing.max_price),
            "active_product": listing.active_product_id or listing.product_id,
            "active_since": _time(listing.active_since),
            "created_at": _time(listing.created_at),
            "updated_at": _time(listing.updated_at),
            "ended_at": _time(listing.ended_at),
        }


MARGIN_FIELDS = ("unit_cost", "unit_fees", "unit_profit", "margin_percent")
_DATETIME = serializers.DateTimeField()


def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def _time(value) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


class ListingCreateSerializer(serializers.Serializer):
    product = serializers.IntegerField(help_text="One of your tracked products.")
    store = serializers.IntegerField(help_text="One of your connected stores.")
    price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
        help_text="Empty: our pricing rules set it and follow the supplier.",
    )
    price_locked = serializers.BooleanField(default=False, help_text="Keep the price fixed (no automatic repricing).")
    title = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ListingPreviewSerializer(serializers.Serializer):
    product = serializers.IntegerField(source="product_id")
    store = serializers.IntegerField(source="store_id")
    currency = serializers.CharField()
    supplier_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    supplier_currency = serializers.CharField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    fees = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    profit = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    margin_percent = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    quantity = serializers.IntegerField()
    min_margin_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    below_min_margin = serializers.BooleanField()
    low_margin_action = serializers.ChoiceField(choices=LowMarginAction.choices)
    out_of_stock = serializers.BooleanField()
    blocked_by = serializers.CharField(allow_null=True)
    message = serializers.CharField(allow_blank=True)


class ListingUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500, required=False, help_text="Only before it is published.")
    price_locked = serializers.BooleanField(required=False)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, help_text="Sent at once; locks it."
    )
    publish_settings = serializers.DictField(
        required=False, help_text="This listing's own publish settings over its store's defaults (null removes one)."
    )
    max_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
        help_text="The most it may cost a buyer while on a backup source (null: the store's percentage).",
    )


def listing_location(listing) -> str:
    return reverse("api:listing_detail", args=[listing.pk])


SECRET_COLUMNS = ("api_key", "api_secret", "oauth_token", "oauth_refresh_token")


class ListingQueryMixin:
    model = Listing

    def seller_queryset(self, user):
        # The store's credentials are never shown here: not loaded (nor decrypted) for each row.
        stores_without_secrets = [f"store_account__{name}" for name in SECRET_COLUMNS]
        return with_margin(user.listings.select_related("store_account").defer(*stores_without_secrets))

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def listing_data(self, listing) -> dict:
        """The listing as the API shows it, read again with its margin."""
        return ListingSerializer(self.get_queryset().get(pk=listing.pk)).data


class ListingListView(ListingQueryMixin, SellerListView):
    serializer_class = ListingSerializer
    filterset_class = api_filterset(ListingFilter)
    ordering_fields = {
        "title": Sort("title"),
        "price": Sort("price"),
        "quantity_available": Sort("quantity_available"),
        "status": Sort("status"),
        "margin_percent": Sort("margin_percent", nullable=True),
        "updated_at": Sort("updated_at"),
        "created_at": Sort("created_at"),
    }
    problem_statuses = (409,)

    @extend_schema(operation_id="listings_list", summary="Your listings", tags=["listings"])
    def get(self, request):
        store = request.query_params.get("store", "")
        if store.isdigit() and not request.user.store_accounts.filter(pk=int(store)).exists():
            raise NotFound()  # another seller's store, as in a path
        return self.list(request)

    @extend_schema(
        operation_id="listings_create",
        summary="List a tracked product on a store",
        description=(
            "A pending listing (publish it with POST …/publish/). With `dry_run=true` nothing is saved: the answer "
            "is the price quote (price, fees, profit, margin, quantity) the listing would have."
        ),
        parameters=[OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="Only quote the price.")],
        request=ListingCreateSerializer,
        responses={
            201: ListingSerializer,
            200: OpenApiResponse(ListingPreviewSerializer, description="dry_run: the quote."),
        },
        tags=["listings"],
    )
    def post(self, request):
        body = ListingCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data, user = body.validated_data, request.user
        product = user.tracked_products.filter(pk=data["product"]).first()
        store = user.store_accounts.filter(pk=data["store"]).first()
        if product is None or store is None:
            raise NotFound()
        if not store.is_connected or store.needs_reauth:
            raise Conflict(NOT_CONNECTED_MESSAGE, code="store_not_connected")
        if request.query_params.get("dry_run", "").lower() in ("1", "true", "yes"):
            preview = listing_preview(product, store, price=data.get("price"))
            return Response(ListingPreviewSerializer(preview).data)
        blocked_by = services.listing_blocked_by(user=user, product=product, title=data.get("title", ""))
        if blocked_by:
            raise Conflict(BLOCKED_MESSAGE.format(term=blocked_by), code="blocked")
        try:
            listing = services.listing_create(
                user=user,
                product=product,
                store=store,
                title=data.get("title") or None,
                price=data.get("price"),
                price_locked=data["price_locked"],
                acting_user=user,
                request=request,
            )
        except ListingLimitError as exc:
            raise TierLimitReached(exc.message) from exc
        except ListingError as exc:
            if exc.message == ALREADY_LISTED_MESSAGE.format(store=store):
                raise Conflict(exc.message, code="already_listed") from exc
            if exc.message.startswith(NO_PRICE_MESSAGE.split("(")[0]):
                raise ValidationError({"price": [exc.message]}) from exc
            raise Conflict(exc.message) from exc
        response = Response(self.listing_data(listing), status=status.HTTP_201_CREATED)
        response["Location"] = listing_location(listing)
        return response


class ListingDetailView(ListingQueryMixin, SellerAPIView):
    serializer_class = ListingSerializer
    problem_statuses = (409, 502)

    @extend_schema(operation_id="listings_retrieve", summary="One listing", tags=["listings"])
    def get(self, request, pk):
        return Response(ListingSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="listings_update",
        summary="Change a listing's title, price lock or publish settings",
        request=ListingUpdateSerializer,
        responses=ListingSerializer,
        tags=["listings"],
    )
    def patch(self, request, pk):
        listing = self.get_object()
        body = ListingUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data, user = body.validated_data, request.user
        settings_form = None
        if "publish_settings" in data:
            settings_form = self._publish_settings_form(listing, data["publish_settings"])
        if "price" in data and data.get("price_locked") is False:
            raise ValidationError({"price": [PRICE_NEEDS_LOCK]})
        try:
            if "title" in data:
                services.listing_set_title(listing, title=data["title"], acting_user=user, request=request)
            if "price" in data or "price_locked" in data:
                locked = data.get("price_locked", True if "price" in data else listing.price_locked)
                services.listing_set_price_lock(
                    listing, locked=locked, price=data.get("price"), acting_user=user, request=request
                )
        except (ListingActionError, MarketplaceError) as exc:
            raise _refusal(exc) from exc
        if settings_form is not None:
            listing_publish_settings_save(listing=listing, form=settings_form, acting_user=user, request=request)
        if "max_price" in data:
            services.listing_set_max_price(listing, max_price=data["max_price"], acting_user=user, request=request)
        return Response(self.listing_data(listing))

    @staticmethod
    def _publish_settings_form(listing, changes: dict) -> PublishDefaultsForm:
        """The store page's form for these keys, over the listing's current settings (a null value
        removes a key); unknown keys are refused."""
        store = listing.store_account
        known = [key for key, _, _ in PUBLISH_DEFAULT_FIELDS.get(store.marketplace, [])]
        unknown = sorted(set(changes) - set(known))
        if unknown:
            message = UNKNOWN_PUBLISH_KEYS.format(
                marketplace=store.get_marketplace_display(), keys=", ".join(unknown), known=", ".join(known)
            )
            raise ValidationError({"publish_settings": [message]})
        merged = {**(listing.publish_settings or {}), **changes}
        form = PublishDefaultsForm(
            {key: "" if value is None else value for key, value in merged.items()},
            marketplace=store.marketplace,
            defaults=store.publish_defaults,
        )
        try:
            form_cleaned(form)
        except ValidationError as exc:
            raise ValidationError({"publish_settings": exc.detail}) from exc
        return form


class ListingActionView(ListingQueryMixin, SellerAPIView):
    action = ""
    problem_statuses = (409, 502)
    idempotent = False  # pausing twice pauses once

    def post(self, request, pk):
        listing = self.get_object()
        service = {"pause": services.listing_pause, "resume": services.listing_resume, "end": services.listing_end}
        try:
            service[self.action](listing, acting_user=request.user, request=request)
        except (ListingActionError, MarketplaceError) as exc:
            raise _refusal(exc) from exc
        return Response(self.listing_data(listing))


def _action_view(action: str, summary: str, description: str):
    class View(ListingActionView):
        @extend_schema(
            operation_id=f"listings_{action}",
            summary=summary,
            description=description,
            request=None,
            responses=ListingSerializer,
            tags=["listings"],
        )
        def post(self, request, pk):
            return super().post(request, pk)

    View.action = action
    View.__name__ = View.__qualname__ = f"Listing{action.capitalize()}View"
    return View


ListingPauseView = _action_view(
    "pause", "Pause a listing", "It stays at the marketplace with nothing to sell; only you resume it."
)
ListingResumeView = _action_view(
    "resume", "Resume a paused listing", "Refused while a reason to pause holds (out of stock, low margin, …)."
)
ListingEndView = _action_view("end", "End a listing", "Taken off the marketplace; it no longer follows its supplier.")


class ListingPublishView(ListingQueryMixin, SellerAPIView):
    problem_statuses = (409, 503)

    @extend_schema(
        operation_id="listings_publish",
        summary="Publish a pending listing now",
        description=(
            "200 with the listing once published; 409 when it is not pending or the marketplace refused (the "
            "reason is also kept in the listing's last_error); 202 with a Job when the marketplace asked us to "
            "wait (publishing goes on in the background)."
        ),
        request=None,
        responses={200: ListingSerializer, 202: JobSerializer},
        tags=["listings"],
    )
    def post(self, request, pk):
        listing = self.get_object()
        try:
            job = services.listing_publish_now(listing, acting_user=request.user, request=request)
        except ListingActionError as exc:
            raise Conflict(exc.message, code="not_pending") from exc
        if job is not None:
            return job_accepted(job)
        if listing.status != ListingStatus.ACTIVE:
            code = "blocked" if listing.status_reason == StatusReason.POLICY_BLOCKED else "publish_refused"
            raise Conflict(PUBLISH_FAILED_MESSAGE.format(reason=listing.last_error), code=code)
        return Response(self.listing_data(listing))


class BulkRequestSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=services.BULK_ACTIONS)
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=BULK_MAX)


class RefusedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    detail = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField(), help_text="Listings changed (or being published).")
    refused = RefusedSerializer(many=True)
    job = JobSerializer(allow_null=True, help_text="publish: the Job publishing them.")


class ListingBulkView(SellerAPIView):
    model = Listing

    problem_statuses = (409, 503)

    def seller_queryset(self, user):
        return user.listings.all()

    @extend_schema(
        operation_id="listings_bulk",
        summary="Pause, resume, end or publish many listings",
        description=(
            f"Up to {BULK_MAX} ids, all yours (otherwise 404 naming the others). Pause, resume and end go one by "
            "one (`refused` says which could not, and why); publish starts a Job for the pending ones (202)."
        ),
        request=BulkRequestSerializer,
        responses={200: BulkResultSerializer, 202: BulkResultSerializer},
        tags=["listings"],
    )
    def post(self, request):
        body = BulkRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        action, ids = body.validated_data["action"], body.validated_data["ids"]
        owned = set(self.get_queryset().filter(pk__in=ids).values_list("pk", flat=True))
        missing = sorted(set(ids) - owned)
        if missing:
            raise NotFound(NOT_FOUND_IDS.format(ids=", ".join(map(str, missing))))
        result = services.listings_bulk_action(
            user=request.user, action=action, ids=ids, acting_user=request.user, request=request
        )
        if action == "publish" and result.job is None:
            raise Conflict(NOTHING_TO_PUBLISH_MESSAGE, code="nothing_to_publish")
        data = {
            "done": [listing.pk for listing in result.done],
            "refused": [{"id": listing.pk, "detail": reason} for listing, reason in result.refused],
            "job": result.job,
        }
        if result.job is not None:
            job_accepted(result.job)  # 503 when the publishing Job could not start
        code = status.HTTP_202_ACCEPTED if result.job is not None else status.HTTP_200_OK
        return Response(BulkResultSerializer(data).data, status=code)


# --- Stores ---------------------------------------------------------------------------------


class StoreStateSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=["connected", "expiring", "needs_reauth", "denied", "disconnected"])
    label = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    until = serializers.DateTimeField(allow_null=True)


class StoreSerializer(serializers.ModelSerializer):
    """A store's connection and settings as the seller sees them; never a credential."""

    state = serializers.SerializerMethodField()
    listing_count = serializers.IntegerField(read_only=True)
    active_listing_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = StoreAccount
        fields = [
            "id",
            "marketplace",
            "account_name",
            "environment",
            "shop_domain",
            "currency",
            "state",
            "is_connected",
            "needs_reauth",
            "automation_paused",
            "last_synced_at",
            "stats_waiting_reason",
            "listing_count",
            "active_listing_count",
            "created_at",
            "updated_at",
        ]

    def get_state(self, store) -> StoreStateSerializer:
        return StoreStateSerializer(store_state(store)).data


class StoreQueryMixin:
    model = StoreAccount

    def seller_queryset(self, user):
        return user.store_accounts.defer(*SECRET_COLUMNS).annotate(
            listing_count=Count("listings"),
            active_listing_count=Count("listings", filter=Q(listings__status=ListingStatus.ACTIVE)),
        )

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class StoreListView(StoreQueryMixin, SellerListView):
    serializer_class = StoreSerializer
    ordering_fields = {"created_at": Sort("created_at"), "account_name": Sort("account_name")}
    default_ordering = "created_at"

    @extend_schema(operation_id="stores_list", summary="Your stores and their connection state", tags=["stores"])
    def get(self, request):
        return self.list(request)


class StoreDetailView(StoreQueryMixin, SellerAPIView):
    serializer_class = StoreSerializer

    @extend_schema(operation_id="stores_retrieve", summary="One store", tags=["stores"])
    def get(self, request, pk):
        return Response(StoreSerializer(self.get_object()).data)


class PricingSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = StoreAccount
        fields = list(SETTINGS_FIELDS)
        extra_kwargs = {name: {"required": False} for name in SETTINGS_FIELDS}


class PreviewRowSerializer(serializers.Serializer):
    label = serializers.CharField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    fees = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    profit = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    margin_percent = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    below_minimum = serializers.BooleanField()
    note = serializers.CharField(allow_blank=True)


class PricingSerializer(serializers.Serializer):
    settings = PricingSettingsSerializer()
    preview = PreviewRowSerializer(many=True, help_text="What the settings give a sample cost and one of yours.")


def _pricing_form(store, changes: dict) -> StorePricingForm:
    """The store page's form, bound with the current settings and the changes sent."""
    current = StorePricingForm.initial_for(store)
    unknown = sorted(set(changes) - set(SETTINGS_FIELDS))
    if unknown:
        raise ValidationError({name: ["Not a pricing setting."] for name in unknown})
    merged = {**current, **changes}
    return StorePricingForm({name: "" if value is None else value for name, value in merged.items()})


class StorePricingView(StoreQueryMixin, SellerAPIView):
    def seller_queryset(self, user):
        return user.store_accounts.all()

    def _answer(self, request, store, preview_store) -> Response:
        data = {
            "settings": preview_store,
            "preview": store_preview_rows(store=store, preview_store=preview_store, user=request.user),
        }
        return Response(PricingSerializer(data).data)

    @extend_schema(
        operation_id="stores_pricing_retrieve",
        summary="A store's pricing settings and what they give",
        responses=PricingSerializer,
        tags=["stores"],
    )
    def get(self, request, pk):
        store = self.get_object()
        return self._answer(request, store, store)

    @extend_schema(
        operation_id="stores_pricing_update",
        summary="Change a store's pricing settings",
        description="Checked as on the store page; live listings on the store are repriced by the new settings.",
        request=PricingSettingsSerializer,
        responses=PricingSerializer,
        tags=["stores"],
    )
    def patch(self, request, pk):
        store = self.get_object()
        form = _pricing_form(store, request.data if isinstance(request.data, dict) else {})
        form_cleaned(form)
        try:
            services.store_settings_update(
                store=store, changes=form.changes(), acting_user=request.user, request=request
            )
        except services.StoreSettingsError as exc:
            raise ValidationError(exc.errors) from exc
        return self._answer(request, store, store)


class StorePricingPreviewView(StoreQueryMixin, SellerAPIView):
    idempotent = False  # nothing is saved

    def seller_queryset(self, user):
        return user.store_accounts.all()

    @extend_schema(
        operation_id="stores_pricing_preview",
        summary="What other pricing settings would give (nothing is saved)",
        request=PricingSettingsSerializer,
        responses=PricingSerializer,
        tags=["stores"],
    )
    def post(self, request, pk):
        store = self.get_object()
        form = _pricing_form(store, request.data if isinstance(request.data, dict) else {})
        form_cleaned(form)
        preview_store = form.preview_store(store)
        data = {
            "settings": preview_store,
            "preview": store_preview_rows(store=store, preview_store=preview_store, user=request.user),
        }
        return Response(PricingSerializer(data).data)


urlpatterns = [
    path("listings/", ListingListView.as_view(), name="listing_list"),
    path("listings/bulk/", ListingBulkView.as_view(), name="listing_bulk"),
    path("listings/<int:pk>/", ListingDetailView.as_view(), name="listing_detail"),
    path("listings/<int:pk>/pause/", ListingPauseView.as_view(), name="listing_pause"),
    path("listings/<int:pk>/resume/", ListingResumeView.as_view(), name="listing_resume"),
    path("listings/<int:pk>/end/", ListingEndView.as_view(), name="listing_end"),
    path("listings/<int:pk>/publish/", ListingPublishView.as_view(), name="listing_publish"),
    path("stores/", StoreListView.as_view(), name="store_list"),
    path("stores/<int:pk>/", StoreDetailView.as_view(), name="store_detail"),
    path("stores/<int:pk>/pricing/", StorePricingView.as_view(), name="store_pricing"),
    path("stores/<int:pk>/pricing/preview/", StorePricingPreviewView.as_view(), name="store_pricing_preview"),
    *order_api.urlpatterns,
    *source_api.urlpatterns,
]
