"""A store's whole sync by hand or by schedule: its orders, then a day's performance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from marketplaces.clients import ListingRef, MarketplaceError, RemoteStatus, adapter_for, sku_for
from marketplaces.models import Listing, ListingStatus, StatusReason, StoreAccount
from monitoring.records import audit_record

from .orders import OrdersSync, store_orders_sync
from .performance import PerformanceImport, seller_yesterday, store_performance_import
from .pushing import is_demo_store

DEMO_SKIPPED = "demo seller's store: never synced"
NOT_CONNECTED_SKIPPED = "not connected"
NEEDS_REAUTH_SKIPPED = "connect the store again first"


@dataclass
class StoreSync:
    """What `store_sync` did for one store; `skipped`/`error` say why something did not happen."""

    store: StoreAccount
    day: date | None = None
    orders: OrdersSync | None = None
    performance: PerformanceImport | None = None
    delisted: list[int] | None = None
    skipped: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and not self.skipped

    def line(self) -> str:
        """One readable line for an operator."""
        head = f"{self.store} (#{self.store.pk})"
        if self.skipped:
            return f"{head}: skipped — {self.skipped}"
        parts = []
        if self.orders is not None:
            orders = self.orders
            text = f"{orders.lines} order lines, {orders.new_sales} new sales"
            if orders.updated_sales:
                text += f", {orders.updated_sales} updated"
            if orders.unmatched:
                text += f", {orders.unmatched} not ours"
            parts.append(text)
        if self.delisted:
            parts.append(f"{len(self.delisted)} listings removed on the marketplace (delisted)")
        if self.performance is not None:
            perf = self.performance
            text = f"statistics of {perf.day}: {perf.listings} listings, {perf.sales} sold, revenue {perf.revenue}"
            text += f" {self.store.currency}"
            text += f"; statistics wait: {perf.waiting}" if perf.waiting else f", views from {perf.source}"
            parts.append(text)
        if self.error:
            parts.append(f"FAILED: {self.error}")
        return f"{head}: " + "; ".join(parts)


def store_sync_skip_reason(store: StoreAccount) -> str:
    if is_demo_store(store):
        return DEMO_SKIPPED
    if not store.is_connected:
        return NOT_CONNECTED_SKIPPED
    if store.needs_reauth:
        return NEEDS_REAUTH_SKIPPED
    return ""


def store_sync(store: StoreAccount, *, day: date | None = None) -> StoreSync:
    """Fetch the store's new orders, then import `day`'s performance (default: the seller's yesterday).

    Demo, disconnected and unauthorised stores are skipped. A marketplace error stops the step it
    happened in and is reported, not raised.
    """
    result = StoreSync(store=store, day=day or seller_yesterday(store))
    result.skipped = store_sync_skip_reason(store)
    if result.skipped:
        return result
    try:
        result.orders = store_orders_sync(store)
        result.delisted = store_delisted_find(store)
    except MarketplaceError as exc:
        result.error = f"orders: {exc.message}"
    store.refresh_from_db()
    result.performance = store_performance_import(store, result.day)
    return result


GONE = (RemoteStatus.ENDED, RemoteStatus.MISSING)
DELISTED_NOTE = "The marketplace no longer has this listing for sale (found at sync)."


def store_delisted_find(store: StoreAccount, *, adapter=None) -> list[int]:
    """Mark the store's published listings the marketplace ended or removed as delisted (status
    `delisted`, ended_at set, one audit row each); returns their ids. A listing we ended is already
    `ended` and not asked about."""
    adapter = adapter or adapter_for(store)
    published = (
        Listing.objects.live()
        .filter(store_account=store, external_listing_id__isnull=False)
        .exclude(status=ListingStatus.PENDING)
        .select_related("user")
        .order_by("pk")
    )
    delisted = []
    for listing in published:
        state = adapter.get_remote_state(ListingRef(sku=sku_for(listing), external_id=listing.external_listing_id))
        if state.status not in GONE:
            continue
        old = {"status": listing.status, "status_reason": listing.status_reason}
        listing.status, listing.status_reason, listing.ended_at = (
            ListingStatus.DELISTED,
            StatusReason.NONE,
            timezone.now(),
        )
        listing.save(update_fields=["status", "status_reason", "ended_at", "updated_at"])
        audit_record(
            acting_user=None,
            owner=listing.user,
            action="delisted",
            resource=listing,
            old_value=old,
            new_value={"status": listing.status},
            notes=DELISTED_NOTE,
        )
        delisted.append(listing.pk)
    return delisted
