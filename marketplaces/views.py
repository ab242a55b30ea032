from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from .models import ListingStatus

PAGE_SIZE = 25


def _template(request, page: str, partial: str) -> str:
    """The whole page, or only its named partial for an HTMX swap (not for a history restore)."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{page}#{partial}"
    return page


@login_required
@require_GET
@vary_on_headers("HX-Request")
def listing_list(request):
    """The seller's listings, newest first, filterable by status and store."""
    stores = request.user.store_accounts.order_by("marketplace", "account_name")
    listings = request.user.listings.select_related("product", "store_account").order_by("-created_at", "-pk")
    status = request.GET.get("status", "")
    if status in ListingStatus.values:
        listings = listings.filter(status=status)
    else:
        status = ""
    store = request.GET.get("store", "")
    if store.isdigit() and stores.filter(pk=store).exists():
        listings = listings.filter(store_account_id=int(store))
    else:
        store = ""
    page_obj = Paginator(listings, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page_obj": page_obj,
        "listings": page_obj.object_list,
        "statuses": ListingStatus.choices,
        "stores": stores,
        "status": status,
        "store": store,
        "filtered": bool(status or store),
    }
    return TemplateResponse(request, _template(request, "marketplaces/listing_list.html", "listing-table"), context)


@login_required
@require_GET
def listing_detail(request, pk):
    """One of the seller's listings: price, quantity, status and its recent daily performance."""
    listing = get_object_or_404(request.user.listings.select_related("product__supplier", "store_account"), pk=pk)
    context = {
        "listing": listing,
        "product_tracked": request.user.tracked_products.filter(pk=listing.product_id).exists(),
        "performance": listing.marketplace_data.order_by("-date")[:30],
    }
    return TemplateResponse(request, "marketplaces/listing_detail.html", context)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def store_list(request):
    """The seller's connected (and disconnected) stores, with their listing counts."""
    stores = request.user.store_accounts.annotate(
        listing_count=Count("listings"),
        active_count=Count("listings", filter=Q(listings__status=ListingStatus.ACTIVE)),
    ).order_by("marketplace", "account_name", "pk")
    page_obj = Paginator(stores, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page_obj": page_obj, "stores": page_obj.object_list}
    return TemplateResponse(request, _template(request, "marketplaces/store_list.html", "store-table"), context)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def store_detail(request, pk):
    """One of the seller's stores: connection, pricing settings (never its credentials), its listings."""
    store = get_object_or_404(request.user.store_accounts, pk=pk)
    listings = store.listings.filter(user=request.user).select_related("product").order_by("-created_at", "-pk")
    counts = dict(listings.order_by().values_list("status").annotate(n=Count("pk")))
    page_obj = Paginator(listings, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "store": store,
        "page_obj": page_obj,
        "listings": page_obj.object_list,
        "status_counts": [(label, counts.get(value, 0)) for value, label in ListingStatus.choices],
    }
    return TemplateResponse(request, _template(request, "marketplaces/store_detail.html", "store-listings"), context)
