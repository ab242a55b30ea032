"""A store's whole sync by hand or by schedule: its orders, then a day's performance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

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
# Listings asked about per step of a sync (one marketplace call each): a step ends well inside a
# Job's batch time, so a worker lost in the middle costs at most one step.
DELISTED_BATCH = 100


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


def store_sync(
    store: StoreAccount, *, day: date | None = None, progress: dict | None = None, on_step=None
) -> StoreSync | None:
    """Fetch the store's new orders, mark the listings the marketplace removed (DELISTED_BATCH at a
    time), then import `day`'s performance (default: the seller's yesterday).

    Demo, disconnected and unauthorised stores are skipped. A marketplace error stops the step it
    happened in and is reported, not raised. Each step done is noted in `progress` (a Job keeps it
    as its checkpoint): given what a sync cut short left there, it carries on from that step.
    `on_step()` runs after each step; when it answers True the sync stops there and returns None.
    """
    result = StoreSync(store=store, day=day or seller_yesterday(store))
    result.skipped = store_sync_skip_reason(store)
    if result.skipped:
        return result
    progress = {} if progress is None else progress
    result.day = date.fromisoformat(progress.setdefault("day", result.day.isoformat()))

    def stop() -> bool:
        return bool(on_step and on_step())

    if "orders" not in progress and "error" not in progress:
        try:
            result.orders = store_orders_sync(store)
            progress["orders"] = result.orders.as_dict()
        except MarketplaceError as exc:
            progress["error"] = f"orders: {exc.message}"
        if stop():
            return None
    progress.setdefault("delisted_after", 0)  # None once every listing was asked about
    while "error" not in progress and progress["delisted_after"] is not None:
        try:
            found, last = store_delisted_find_batch(store, after=progress["delisted_after"], limit=DELISTED_BATCH)
        except MarketplaceError as exc:
            progress["error"] = f"orders: {exc.message}"
            found, last = [], None
        progress["delisted"] = progress.get("delisted", []) + found
        progress["delisted_after"] = last
        if stop():
            return None
    if "performance" not in progress:
        store.refresh_from_db()
        result.performance = store_performance_import(store, result.day)
        progress["performance"] = result.performance.as_dict()
    result.orders = result.orders or _orders_sync_from(progress.get("orders"))
    result.delisted = progress.get("delisted")
    result.performance = result.performance or _performance_import_from(progress["performance"])
    result.error = progress.get("error", "")
    return result


def _orders_sync_from(data: dict | None) -> OrdersSync | None:
    """An orders sync noted by an earlier step, as far as the summary line needs it."""
    if data is None:
        return None
    counts = ("lines", "new_sales", "updated_sales", "cancelled", "unmatched")
    return OrdersSync(
        store_id=data["store_id"],
        since=datetime.fromisoformat(data["since"]),
        **{name: data.get(name, 0) for name in counts},
    )


def _performance_import_from(data: dict) -> PerformanceImport:
    return PerformanceImport(**{**data, "day": date.fromisoformat(data["day"]), "revenue": Decimal(data["revenue"])})


GONE = (RemoteStatus.ENDED, RemoteStatus.MISSING)
DELISTED_NOTE = "The marketplace no longer has this listing for sale (found at sync)."


def store_delisted_find(store: StoreAccount, *, adapter=None) -> list[int]:
    """Mark the store's published listings the marketplace ended or removed as delisted (status
    `delisted`, ended_at set, one audit row each); returns their ids. A listing we ended is already
    `ended` and not asked about."""
    return store_delisted_find_batch(store, adapter=adapter, limit=None)[0]


def store_delisted_find_batch(
    store: StoreAccount, *, after: int = 0, limit: int | None = None, adapter=None
) -> tuple[list[int], int | None]:
    """store_delisted_find for the next `limit` (None: all) published listings after the id
    `after`: returns (the ids delisted, the last id asked about, None when none is left to ask)."""
    adapter = adapter or adapter_for(store)
    published = (
        Listing.objects.live()
        .filter(store_account=store, external_listing_id__isnull=False, pk__gt=after)
        .exclude(status=ListingStatus.PENDING)
        .select_related("user")
        .order_by("pk")
    )
    batch = list(published if limit is None else published[:limit])
    delisted = []
    for listing in batch:
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
    more = limit is not None and len(batch) == limit
    return delisted, (batch[-1].pk if more else None)
