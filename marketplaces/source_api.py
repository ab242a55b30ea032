"""The seller API's backup sources of a listing: `/api/v1/listings/{id}/sources/` lists them in order
(the listing's own product first, with which one is active), adds one of the seller's tracked
products, and `…/sources/{source_id}/` moves (PATCH position) or removes (DELETE) one. The rule and
the checks are marketplaces.services.sources; another seller's listing, source or product is a 404."""

from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from config.rest.problems import Conflict
from config.rest.views import SellerAPIView

from .models import Listing
from .services import NOT_SAME_ITEM, SourceError, listing_source_add, listing_source_move, listing_source_remove
from .services.sources import listing_sources_check, same_item_match


class SourceSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="The backup source's id; null for the own product.")
    position = serializers.IntegerField(help_text="0: the listing's own product; 1, 2, …: the backups in order.")
    product = serializers.IntegerField()
    title = serializers.CharField()
    supplier = serializers.CharField()
    supplier_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    supplier_currency = serializers.CharField(allow_blank=True)
    availability = serializers.CharField()
    stock = serializers.IntegerField(allow_null=True)
    price = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, help_text="The listing price it gives (store currency)."
    )
    qualifies = serializers.BooleanField()
    problem = serializers.CharField(allow_blank=True, help_text="Why it cannot be the source now.")
    good_since = serializers.DateTimeField(allow_null=True)
    active = serializers.BooleanField(help_text="The listing follows this one now.")
    same_item = serializers.CharField(allow_blank=True, help_text="How we know it is the same item.")
    confirmed_by_seller = serializers.BooleanField()


class SourcesSerializer(serializers.Serializer):
    listing = serializers.IntegerField()
    currency = serializers.CharField(help_text="The store's currency.")
    max_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    active_product = serializers.IntegerField(help_text="The product the listing follows now.")
    active_since = serializers.DateTimeField(allow_null=True)
    sources = SourceSerializer(many=True)


class SourceAddSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(help_text="One of your tracked products.")
    confirm_same_item = serializers.BooleanField(
        default=False, help_text="Needed when the pages state no matching GTIN, or brand and MPN."
    )


class SourceMoveSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1, help_text="1 = the first backup.")


def _source_data(check) -> dict:
    row, product = check.row, check.product
    return {
        "id": row.pk if row else None,
        "position": check.position,
        "product": product.pk,
        "title": product.title,
        "supplier": str(product.supplier),
        "supplier_price": product.price,
        "supplier_currency": product.currency,
        "availability": product.availability,
        "stock": product.stock,
        "price": check.price,
        "qualifies": check.qualifies,
        "problem": check.problem,
        "good_since": check.good_since,
        "active": check.active,
        "same_item": row.same_item if row else "",
        "confirmed_by_seller": row.confirmed_by_seller if row else False,
    }


def sources_data(listing) -> dict:
    return SourcesSerializer(
        {
            "listing": listing.pk,
            "currency": listing.store_account.currency,
            "max_price": listing.max_price,
            "active_product": listing.active_source.pk,
            "active_since": listing.active_since,
            "sources": [_source_data(check) for check in listing_sources_check(listing)],
        }
    ).data


class SourceQueryMixin:
    model = Listing
    problem_statuses = (409,)

    def seller_queryset(self, user):
        return user.listings.select_related(
            "store_account", "user", "product__supplier", "active_product__supplier"
        ).defer(*(f"store_account__{name}" for name in ("api_key", "api_secret", "oauth_token", "oauth_refresh_token")))

    def get_listing(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class ListingSourcesView(SourceQueryMixin, SellerAPIView):
    @extend_schema(
        operation_id="listings_sources_list",
        summary="A listing's sources in order, and the active one",
        responses=SourcesSerializer,
        tags=["listings"],
    )
    def get(self, request, pk):
        return Response(sources_data(self.get_listing()))

    @extend_schema(
        operation_id="listings_sources_create",
        summary="Add a tracked product as the listing's last backup source",
        description=(
            "It must be the same item: the pages state the same GTIN, or the same brand and MPN; otherwise send "
            "`confirm_same_item: true` once you have compared them (400 without it). The listing follows its "
            "sources at once."
        ),
        request=SourceAddSerializer,
        responses={201: SourcesSerializer},
        tags=["listings"],
    )
    def post(self, request, pk):
        listing = self.get_listing()
        body = SourceAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        product = request.user.tracked_products.filter(pk=body.validated_data["product_id"]).first()
        if product is None:
            raise NotFound()
        confirmed = body.validated_data["confirm_same_item"]
        if not confirmed and not same_item_match(listing.product, product):
            raise ValidationError({"confirm_same_item": [NOT_SAME_ITEM]})
        try:
            row = listing_source_add(
                listing, product=product, confirm_same_item=confirmed, acting_user=request.user, request=request
            )
        except SourceError as exc:
            raise Conflict(exc.message, code="refused") from exc
        response = Response(sources_data(listing), status=status.HTTP_201_CREATED)
        response["Location"] = reverse("api:listing_source_detail", args=[listing.pk, row.pk])
        return response


class ListingSourceDetailView(SourceQueryMixin, SellerAPIView):
    def get_source(self, listing):
        return get_object_or_404(listing.sources.select_related("product"), pk=self.kwargs["source_id"])

    @extend_schema(
        operation_id="listings_sources_update",
        summary="Move a backup source to another position",
        request=SourceMoveSerializer,
        responses=SourcesSerializer,
        tags=["listings"],
    )
    def patch(self, request, pk, source_id):
        listing = self.get_listing()
        source = self.get_source(listing)
        body = SourceMoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        listing_source_move(
            listing, source=source, position=body.validated_data["position"], acting_user=request.user, request=request
        )
        return Response(sources_data(listing))

    @extend_schema(
        operation_id="listings_sources_destroy",
        summary="Remove a backup source (the product stays tracked)",
        responses={204: None},
        tags=["listings"],
    )
    def delete(self, request, pk, source_id):
        listing = self.get_listing()
        source = self.get_source(listing)
        listing_source_remove(listing, source=source, acting_user=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("listings/<int:pk>/sources/", ListingSourcesView.as_view(), name="listing_sources"),
    path("listings/<int:pk>/sources/<int:source_id>/", ListingSourceDetailView.as_view(), name="listing_source_detail"),
]
