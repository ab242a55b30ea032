"""A store's whole sync by hand or by schedule: its orders, then a day's performance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from marketplaces.clients import MarketplaceError
from marketplaces.models import StoreAccount

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
    except MarketplaceError as exc:
        result.error = f"orders: {exc.message}"
    store.refresh_from_db()
    result.performance = store_performance_import(store, result.day)
    return result
