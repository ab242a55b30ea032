"""Orders: import a store's sales, and keep the seller's other listings of a sold product from overselling."""

from __future__ import annotations

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
from marketplaces.clients import SKU_PREFIX as OUR_SKU_PREFIX
from marketplaces.clients import NeedsReauth, OrderLine, adapter_for
from marketplaces.models import Listing, Sale, StoreAccount

from .follow import ListingChange, Plan, plan_finish, plan_sending, plans_execute
from .rates import convert
from .stores import store_mark_needs_reauth

logger = logging.getLogger(__name__)

SKU_RE = re.compile(rf"^{re.escape(OUR_SKU_PREFIX)}-(\d+)$")
CROSS_LISTING_RULE = "sold {quantity} on {store} (order {order}): quantity {old} → {new} so it cannot oversell"


@dataclass
class OrdersSync:
    """What one orders sync of a store did."""

    store_id: int
    since: datetime
    lines: int = 0
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
            "new_sales": self.new_sales,
            "updated_sales": self.updated_sales,
            "cancelled": self.cancelled,
            "unmatched": self.unmatched,
            "cross_listing": [change.as_dict() for change in self.cross_listing],
        }


def unit_cost_at(product, *, at: datetime, currency: str) -> Decimal | None:
    """The supplier's price of `product` at `at`, in `currency` (None when unknown or not convertible).

    The last price recorded at or before `at`; before the first recorded change, that change's
    old price; with no history, the product's price now.
    """
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
    source = source or product.currency or getattr(product.supplier, "currency", "") or currency
    return convert(price, from_currency=source, to_currency=currency)


def _listing_for(line: OrderLine, *, by_pk: dict[int, Listing], by_external: dict[str, Listing]) -> Listing | None:
    match = SKU_RE.match(line.sku or "")
    if match and int(match.group(1)) in by_pk:
        return by_pk[int(match.group(1))]
    if line.external_id and str(line.external_id) in by_external:
        return by_external[str(line.external_id)]
    return None


def store_orders_sync(store: StoreAccount, *, now: datetime | None = None) -> OrdersSync:
    """Fetch the store's orders changed since the last sync and keep them as Sale rows.

    Lines are deduplicated on (store, order, line); a cancelled line is flagged. A new sale
    lowers the quantity of the seller's other live listings of the same product and sends that
    at once (the sold listing's own marketplace already lowered its quantity). Raises the
    adapter's errors (the task retries Retryable; NeedsReauth also flags the store).
    """
    started = now or timezone.now()
    if store.orders_synced_at:
        since = store.orders_synced_at - settings.MARKETPLACE_ORDERS_OVERLAP
    else:
        since = started - settings.MARKETPLACE_ORDERS_FIRST_SYNC
    result = OrdersSync(store_id=store.pk, since=since)
    adapter = adapter_for(store)
    try:
        lines = adapter.fetch_orders(since)
    except NeedsReauth as exc:
        store_mark_needs_reauth(store, exc.message)
        raise
    finally:
        adapter.http.close()
    result.lines = len(lines)
    listings = list(store.listings.select_related("product", "product__supplier"))
    by_pk = {listing.pk: listing for listing in listings}
    by_external = {listing.external_listing_id: listing for listing in listings if listing.external_listing_id}
    sold: dict[int, list[tuple[OrderLine, int]]] = defaultdict(list)
    with transaction.atomic():
        for line in lines:
            listing = _listing_for(line, by_pk=by_pk, by_external=by_external)
            if listing is None:
                result.unmatched += 1
                continue
            fields = {
                "listing": listing,
                "quantity": max(0, int(line.quantity)),
                "unit_price": max(Decimal("0"), line.unit_price),
                "fees": line.fees,
                "currency": line.currency or store.currency,
                "ordered_at": line.ordered_at,
                "cancelled": line.cancelled,
            }
            sale = Sale.objects.filter(store_account=store, order_id=line.order_id, line_id=line.line_id).first()
            if sale is None:
                Sale.objects.create(
                    store_account=store,
                    order_id=line.order_id,
                    line_id=line.line_id,
                    unit_cost=unit_cost_at(listing.product, at=line.ordered_at, currency=store.currency),
                    **fields,
                )
                result.new_sales += 1
                if line.cancelled:
                    result.cancelled += 1
                if not line.cancelled and fields["quantity"]:
                    sold[listing.pk].append((line, fields["quantity"]))
                continue
            changed = [name for name, value in fields.items() if getattr(sale, name) != value]
            if changed:
                if "cancelled" in changed and line.cancelled:
                    result.cancelled += 1
                for name in changed:
                    setattr(sale, name, fields[name])
                sale.save(update_fields=[*changed, "updated_at"])
                result.updated_sales += 1
        for listing_pk, sales in sold.items():
            quantity = sum(q for _, q in sales)
            listing = by_pk[listing_pk]
            listing.quantity_available = max(0, listing.quantity_available - quantity)
            listing.save(update_fields=["quantity_available", "updated_at"])
        store.orders_synced_at = started
        store.last_synced_at = timezone.now()
        store.save(update_fields=["orders_synced_at", "last_synced_at", "updated_at"])
    for listing_pk, sales in sold.items():
        result.cross_listing += _cross_listing_drop(by_pk[listing_pk], sales)
    return result


def _cross_listing_drop(sold_listing: Listing, sales: list[tuple[OrderLine, int]]) -> list[ListingChange]:
    """Lower the seller's other live listings of the product by what sold, and send it now."""
    quantity = sum(q for _, q in sales)
    others = (
        Listing.objects.live()
        .filter(user=sold_listing.user, product=sold_listing.product)
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
