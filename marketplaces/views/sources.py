"""A listing's backup sources on its page: add one of the seller's tracked products (checked to be
the same item, or confirmed side by side), move one up or down, remove one, and the listing's
maximum price. The rule that picks the active source is marketplaces.services.sources."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from marketplaces.forms import MaxPriceForm, SourceAddForm, SourceMoveForm
from marketplaces.services import (
    SourceError,
    listing_set_max_price,
    listing_source_add,
    listing_source_move,
    listing_source_remove,
)

from .listings import _detail_context, _seller_listing

SOURCE_ADDED_MESSAGE = "Backup source {position} added ({how})."
SOURCE_MOVED_MESSAGE = "Backup sources reordered."
SOURCE_REMOVED_MESSAGE = "Backup source removed."
MAX_PRICE_SAVED_MESSAGE = "Maximum price saved."
MAX_PRICE_CLEARED_MESSAGE = "Maximum price cleared: the store's percentage applies."


def _sources_url(listing) -> str:
    return f"{listing.get_absolute_url()}#sources"


def _page(request, listing, **forms):
    return TemplateResponse(request, "marketplaces/listing_detail.html", _detail_context(request, listing, **forms))


@login_required
@require_POST
def listing_source_add_view(request, pk):
    """Attach a tracked product as the listing's next backup source."""
    listing = _seller_listing(request, pk)
    chosen = request.POST.get("product", "")
    if chosen.isdigit() and not request.user.tracked_products.filter(pk=int(chosen)).exists():
        raise Http404  # not one of the seller's products
    form = SourceAddForm(request.POST, listing=listing)
    if not form.is_valid():
        return _page(request, listing, source_form=form)
    try:
        row = listing_source_add(
            listing,
            product=form.cleaned_data["product"],
            confirm_same_item=form.cleaned_data["confirm_same_item"],
            acting_user=request.user,
            request=request,
        )
    except SourceError as exc:
        form.add_error(None, exc.message)
        return _page(request, listing, source_form=form)
    messages.success(request, SOURCE_ADDED_MESSAGE.format(position=row.position, how=row.same_item))
    return redirect(_sources_url(listing))


@login_required
@require_POST
def listing_source_move_view(request, pk, source_id):
    """Move a backup source one place up or down."""
    listing = _seller_listing(request, pk)
    source = get_object_or_404(listing.sources, pk=source_id)
    form = SourceMoveForm(request.POST)
    if form.is_valid():
        step = -1 if form.cleaned_data["direction"] == "up" else 1
        listing_source_move(
            listing, source=source, position=source.position + step, acting_user=request.user, request=request
        )
        messages.success(request, SOURCE_MOVED_MESSAGE)
    return redirect(_sources_url(listing))


@login_required
@require_POST
def listing_source_remove_view(request, pk, source_id):
    """Detach a backup source (the product stays tracked)."""
    listing = _seller_listing(request, pk)
    source = get_object_or_404(listing.sources.select_related("product"), pk=source_id)
    listing_source_remove(listing, source=source, acting_user=request.user, request=request)
    messages.success(request, SOURCE_REMOVED_MESSAGE)
    return redirect(_sources_url(listing))


@login_required
@require_POST
def listing_max_price_view(request, pk):
    """Set or clear the most the listing may cost a buyer while on a backup source."""
    listing = _seller_listing(request, pk)
    form = MaxPriceForm(request.POST)
    if not form.is_valid():
        return _page(request, listing, max_price_form=form)
    max_price = form.cleaned_data["max_price"]
    listing_set_max_price(listing, max_price=max_price, acting_user=request.user, request=request)
    messages.success(request, MAX_PRICE_SAVED_MESSAGE if max_price is not None else MAX_PRICE_CLEARED_MESSAGE)
    return redirect(_sources_url(listing))
