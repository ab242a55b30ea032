"""Orders: import a store's orders (Order with its Sale lines, the ship-to address encrypted), follow
what the marketplace says of them (cancelled, refunded, shipped, delivered), and keep the seller's other
listings of a sold product from overselling."""

from __future__ import annotations

import copy
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import PriceHistory
from catalog.services import product_as_seen_by
from marketplaces.clients import SKU_PREFIX as OUR_SKU_PREFIX
from marketplaces.clients import NeedsReauth, OrderLine, RemoteOrder, adapter_for
from marketplaces.models import Listing, Order, OrderState, Sale, StoreAccount
from monitoring.records import audit_record

from .follow import ListingChange, Plan, plan_finish, plan_sending, plans_execute
from .rates import product_unit_cost
from .stores import store_mark_needs_reauth

logger = logging.getLogger(__name__)

SKU_RE = re.compile(rf"^{re.escape(OUR_SKU_PREFIX)}-(\d+)$")
CROSS_LISTING_RULE = "sold {quantity} on {store} (order {order}): quantity {old} → {new} so it cannot oversell"
REPORTED_NOTE = "{marketplace} reports the order {what} (found at sync)."
REPORTED = {
    OrderState.CANCELLED: "cancelled",
    OrderState.REFUNDED: "refunded",
    OrderState.DELIVERED: "delivered",
    OrderState.SHIPPED: "shipped (marked on the marketplace)",
}
# What a marketplace report may move an order from (a later state is never undone by a sync).
REPORT_MOVES_FROM = {
    OrderState.REFUNDED: {OrderState.TO_BUY, OrderState.BOUGHT, OrderState.SHIPPED, OrderState.DELIVERED},
    OrderState.CANCELLED: {OrderState.TO_BUY, OrderState.BOUGHT, OrderState.SHIPPED},
    OrderState.DELIVERED: {OrderState.TO_BUY, OrderState.BOUGHT, OrderState.SHIPPED},
    OrderState.SHIPPED: {OrderState.TO_BUY, OrderState.BOUGHT},
}
STATE_TIMES = {
    OrderState.BOUGHT: "bought_at",
    OrderState.SHIPPED: "shipped_at",
    OrderState.DELIVERED: "delivered_at",
    OrderState.CANCELLED: "cancelled_at",
    OrderState.REFUNDED: "refunded_at",
}


@dataclass
class OrdersSync:
    """What one orders sync of a store did."""

    store_id: int
    since: datetime
    lines: int = 0
    new_orders: int = 0
    state_changes: int = 0
    new_sales: int = 0
    updated_sales: int = 0
    cancelled: int = 0
    unmatched: int = 0
    cross_listing: list[ListingChange] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "store_id": self.store_id,
            "since": self.since.isoformat(),
            "lines": self.lines,
            "new_orders": self.new_orders,
            "state_changes": self.state_changes,
            "new_sales": self.new_sales,
            "updated_sales": self.updated_sales,
            "cancelled": self.cancelled,
            "unmatched": self.unmatched,
            "cross_listing": [change.as_dict() for change in self.cross_listing],
        }


def unit_cost_at(product, *, at: datetime, currency: str, user=None) -> Decimal | None:
    """The unit cost (marketplaces.pricing: supplier price + shipping + tax) of `product` when it sold
    at `at`, in `currency`; None when unknown or not convertible.

    The supplier's price is the last one recorded at or before `at`; before the first recorded
    change, that change's old price; with no history, the product's price now. Shipping and tax are
    the ones known now (no history is kept of them). With `user`, that seller's own values are in
    force: their shipping, and their own price in place of the recorded one.
    """
    seen = product_as_seen_by(product=product, user=user) if user is not None else product
    override = getattr(seen, "override", None)
    if override is not None and override.price is not None:
        price, source = seen.price, seen.currency
    else:
        history = product.price_history.filter(new_price__isnull=False)
        row = history.filter(recorded_at__lte=at).order_by("-recorded_at", "-pk").first()
        if row is not None:
            price, source = row.new_price, row.currency
        else:
            later: PriceHistory | None = history.filter(recorded_at__gt=at).order_by("recorded_at", "pk").first()
            if later is not None and later.old_price is not None:
                price, source = later.old_price, later.currency
            else:
                price, source = product.price, product.currency
    then = copy.copy(seen)
    then.price, then.currency = price, source or product.currency
    unit = product_unit_cost(then, currency=currency)
    return None if unit is None else unit.amount


def _listing_for(line: OrderLine, *, by_pk: dict[int, Listing], by_external: dict[str, Listing]) -> Listing | None:
    match = SKU_RE.match(line.sku or "")
    if match and int(match.group(1)) in by_pk:
        return by_pk[int(match.group(1))]
    if line.external_id and str(line.external_id) in by_external:
        return by_external[str(line.external_id)]
    return None


def _reported_state(remote: RemoteOrder) -> str | None:
    """The state the marketplace's report puts an order in, or None when it says nothing new."""
    if remote.refunded:
        return OrderState.REFUNDED
    if remote.cancelled:
        return OrderState.CANCELLED
    if remote.delivered_at is not None:
        return OrderState.DELIVERED
    if remote.shipped:
        return OrderState.SHIPPED
    return None


def order_state_set(order: Order, state: str, *, acting_user, at: datetime | None = None, request=None, notes=None):
    """Move an order to `state`, stamp when, and write the audit row (who did it; never the address)."""
    old = order.state
    order.state = state
    fields = ["state", "updated_at"]
    time_field = STATE_TIMES.get(state)
    if time_field:
        setattr(order, time_field, at or timezone.now())
        fields.append(time_field)
    order.save(update_fields=fields)
    audit_record(
        acting_user=acting_user,
        owner=order.user,
        action=state,
        resource=order,
        old_value={"state": old},
        new_value={"state": state},
        request=request,
        notes=notes,
    )
    return order


def _order_fields(store: StoreAccount, remote: RemoteOrder) -> dict:
    total = sum(
        (
            max(Decimal("0"), line.unit_price) * max(0, int(line.quantity))
            for line in remote.lines
            if not line.cancelled
        ),
        Decimal("0"),
    )
    return {
        "order_number": (remote.number or remote.order_id)[:100],
        "buyer_username": remote.buyer_username[:150],
        "ordered_at": remote.ordered_at,
        "ship_by": remote.ship_by,
        "currency": remote.currency or store.currency,
        "total": total,
        "marketplace_fees": remote.fees,
    }


def _order_upsert(store: StoreAccount, remote: RemoteOrder, existing: Order | None, result: OrdersSync) -> Order:
    """Create the order or bring it up to date; a new state the marketplace reports is audited."""
    fields = _order_fields(store, remote)
    ship_to = remote.ship_to.as_dict() if remote.ship_to is not None and not remote.ship_to.is_empty else None
    reported = _reported_state(remote)
    if existing is None:
        state = reported or OrderState.TO_BUY
        order = Order(user=store.user, store_account=store, marketplace_order_id=remote.order_id, state=state, **fields)
        order.ship_to = ship_to
        time_field = STATE_TIMES.get(state)
        if time_field:
            setattr(order, time_field, remote.delivered_at if state == OrderState.DELIVERED else timezone.now())
        order.save()
        result.new_orders += 1
        return order
    order = existing
    changed = [name for name, value in fields.items() if getattr(order, name) != value]
    for name in changed:
        setattr(order, name, fields[name])
    # An address wiped (retention, the buyer's request) is never brought back by a later sync.
    if ship_to is not None and order.ship_to_erased_at is None and order.ship_to != ship_to:
        order.ship_to = ship_to
        changed.append("ship_to")
    if changed:
        order.save(update_fields=[*changed, "updated_at"])
    if reported and order.state in REPORT_MOVES_FROM[reported]:
        order_state_set(
            order,
            reported,
            acting_user=None,
            at=remote.delivered_at if reported == OrderState.DELIVERED else None,
            notes=REPORTED_NOTE.format(marketplace=store.get_marketplace_display(), what=REPORTED[reported]),
        )
        result.state_changes += 1
    return order


def store_orders_sync(store: StoreAccount, *, now: datetime | None = None) -> OrdersSync:
    """Fetch the store's orders changed since the last sync and keep them: one Order each (state,
    ship-by date, ship-to address encrypted) with its lines as Sale rows.

    Orders are deduplicated on (store, marketplace order id) and lines on (store, order, line);
    a line that matches none of the seller's listings is kept without one ("not listed here").
    A cancellation, refund, delivery or shipment the marketplace reports moves the order (audited
    as the system). A new sale lowers the quantity of the seller's other live listings of the same
    product and sends that at once (the sold listing's own marketplace already lowered its
    quantity). Raises the adapter's errors (the task retries Retryable; NeedsReauth also flags the store).
    """
    started = now or timezone.now()
    if store.orders_synced_at:
        since = store.orders_synced_at - settings.MARKETPLACE_ORDERS_OVERLAP
    else:
        since = started - settings.MARKETPLACE_ORDERS_FIRST_SYNC
    result = OrdersSync(store_id=store.pk, since=since)
    adapter = adapter_for(store)
    try:
        remote_orders = adapter.fetch_remote_orders(since)
    except NeedsReauth as exc:
        store_mark_needs_reauth(store, exc.message)
        raise
    finally:
        adapter.http.close()
    result.lines = sum(len(remote.lines) for remote in remote_orders)
    listings = list(
        store.listings.select_related("product", "product__supplier", "active_product", "active_product__supplier")
    )
    by_pk = {listing.pk: listing for listing in listings}
    by_external = {listing.external_listing_id: listing for listing in listings if listing.external_listing_id}
    remote_ids = [remote.order_id for remote in remote_orders]
    orders = {order.marketplace_order_id: order for order in store.orders.filter(marketplace_order_id__in=remote_ids)}
    sales = {
        (sale.marketplace_order_id, sale.line_id): sale
        for sale in Sale.objects.filter(store_account=store, marketplace_order_id__in=remote_ids)
    }
    sold: dict[int, list[tuple[OrderLine, int]]] = defaultdict(list)
    with transaction.atomic():
        for remote in remote_orders:
            order = _order_upsert(store, remote, orders.get(remote.order_id), result)
            for line in remote.lines:
                _line_keep(store, order, line, sales, by_pk, by_external, sold, result)
        for listing_pk, sold_lines in sold.items():
            quantity = sum(q for _, q in sold_lines)
            listing = by_pk[listing_pk]
            listing.quantity_available = max(0, listing.quantity_available - quantity)
            listing.save(update_fields=["quantity_available", "updated_at"])
        store.orders_synced_at = started
        store.last_synced_at = timezone.now()
        store.save(update_fields=["orders_synced_at", "last_synced_at", "updated_at"])
    for listing_pk, sold_lines in sold.items():
        result.cross_listing += _cross_listing_drop(by_pk[listing_pk], sold_lines)
    return result


def _line_keep(store, order, line: OrderLine, sales, by_pk, by_external, sold, result: OrdersSync) -> None:
    """Create or update the line's Sale row; count it for cross-listing when it is a new sale."""
    listing = _listing_for(line, by_pk=by_pk, by_external=by_external)
    if listing is None:
        result.unmatched += 1
    fields = {
        "listing": listing,
        "order": order,
        "title": (line.title or "")[:500],
        "sku": (line.sku or "")[:100],
        "external_item_id": str(line.external_id or "")[:100],
        "quantity": max(0, int(line.quantity)),
        "unit_price": max(Decimal("0"), line.unit_price),
        "fees": line.fees,
        "currency": line.currency or store.currency,
        "ordered_at": line.ordered_at,
        "cancelled": line.cancelled,
    }
    sale = sales.get((line.order_id, line.line_id))
    if sale is None:
        Sale.objects.create(
            store_account=store,
            marketplace_order_id=line.order_id,
            line_id=line.line_id,
            unit_cost=None
            if listing is None
            else unit_cost_at(listing.active_source, at=line.ordered_at, currency=store.currency, user=listing.user_id),
            **fields,
        )
        result.new_sales += 1
        if line.cancelled:
            result.cancelled += 1
        if listing is not None and not line.cancelled and fields["quantity"]:
            sold[listing.pk].append((line, fields["quantity"]))
        return
    current = {"listing": sale.listing_id, "order": sale.order_id}
    wanted = {"listing": listing.pk if listing else None, "order": order.pk}
    changed = [
        name
        for name, value in fields.items()
        if (current[name] != wanted[name] if name in current else getattr(sale, name) != value)
    ]
    if "listing" in changed and listing is None:
        changed.remove("listing")  # a listing ended or removed since keeps its past sales
    if changed:
        if "cancelled" in changed and line.cancelled:
            result.cancelled += 1
        for name in changed:
            setattr(sale, name, fields[name])
        sale.save(update_fields=[*changed, "updated_at"])
        result.updated_sales += 1


def _cross_listing_drop(sold_listing: Listing, sales: list[tuple[OrderLine, int]]) -> list[ListingChange]:
    """Lower the seller's other live listings sourced from the same product by what sold (the sold
    listing's active source: the stock of what is bought for it), and send it now."""
    quantity = sum(q for _, q in sales)
    others = (
        Listing.objects.live()
        .filter(user=sold_listing.user)
        .sourced_from(sold_listing.active_source)
        .exclude(pk=sold_listing.pk)
        .select_related("store_account", "store_account__user", "user", "product")
    )
    plans = []
    for other in others:
        new_quantity = max(0, other.quantity_available - quantity)
        if new_quantity == other.quantity_available:
            continue
        rule = CROSS_LISTING_RULE.format(
            quantity=quantity,
            store=sold_listing.store_account,
            order=", ".join(dict.fromkeys(line.order_id for line, _ in sales)),
            old=other.quantity_available,
            new=new_quantity,
        )
        plan = Plan(
            listing=other,
            price=other.price,
            quantity=new_quantity,
            status=other.status,
            reason=other.status_reason,
            action="quantity",
            rule=rule,
        )
        plan_sending(plan)
        plans.append(plan)
    plans_execute(plans)
    return [plan_finish(plan) for plan in plans]
