"""Listings follow their supplier: reprice, pause, resume and set quantities after a product refresh.

The monitoring cycle calls `listings_follow(product=…, outcome=…)` after the catalog refreshed a
product. For each live listing of the product the rules of DESIGN.md (Decisions) give a target
price, quantity and status (marketplaces/pricing.py holds the formulas); what differs from the
listing is sent to its store in one revision, unless automation is paused (staff's switch, the
store's switch), the store must be connected again or the marketplace's daily revision cap is
reached: then the change is held in `Listing.pending_changes` and sent by a later run. Running it
again on the same product state sends and records nothing new.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from catalog.models import Availability, ProductOverride
from marketplaces.clients import (
    ListingRef,
    MarketplaceError,
    NeedsReauth,
    PriceQuantity,
    Retryable,
    adapter_for,
    sku_for,
)
from marketplaces.models import (
    AutomationSwitch,
    Listing,
    ListingSource,
    ListingStatus,
    LowMarginAction,
    StatusReason,
)
from marketplaces.pricing import Quote, listing_quantity, listing_quote, quote_for_price
from monitoring.records import alert_clear, alert_raise, audit_record, task_enqueue

from .pushing import (
    HELD_BUSY,
    HELD_NEEDS_RECONNECT,
    NOT_SENT_REFUSED,
    automatic_push_block,
    connection_block,
    is_demo_store,
    revision_block,
    revisions_count,
)
from .rates import product_cost
from .sources import listing_source_follow
from .stores import store_mark_needs_reauth

logger = logging.getLogger(__name__)

# Reasons the system pauses for; only listings paused for one of them resume by themselves.
SYSTEM_PAUSE_REASONS = frozenset(
    {StatusReason.OUT_OF_STOCK, StatusReason.LOW_STOCK, StatusReason.LOW_MARGIN, StatusReason.WRONG_PRODUCT}
)
# Marketplaces where pausing is quantity 0 (eBay): a pause or resume rides on the same
# price/quantity update as the new price, so the listing is revised once.
QUANTITY_PAUSE_MARKETPLACES = frozenset({"ebay"})
NOT_CONVERTED_MESSAGE = (
    "Not repriced: the supplier's price in {source} cannot be converted to this store's currency {target} "
    "(no exchange rate is kept for it)."
)
NOT_CONVERTED_PREFIX = NOT_CONVERTED_MESSAGE.split("{")[0]
CURRENCY_ALERT_TYPE = "policy_trigger"
CURRENCY_ALERT_REASON = "currency_not_converted"
DEMO_RECORDED = "Demo store: recorded on the listing page, nothing is sent to a marketplace."
KEPT_ON_SALE = "margin {margin}% under the store minimum {minimum}%: kept on sale (the store alerts instead of pausing)"
PRICE_NOT_SENT = "The new price was not sent: {reason}"
LOCK_WAIT_SECONDS = 30
LOCK_TIMEOUT_SECONDS = 300


@dataclass
class ListingChange:
    """What following the supplier did to one listing (read by the alert rules).

    action: repriced | paused | resumed | quantity | held | unchanged | not_converted.
    rule: the rule that caused it in words (also the audit row's notes).
    old_*/new_*: the listing before, and after (or, when held, what is waiting to be sent).
    margin_percent: the margin at the new (or locked) price; None when the cost is unknown.
    pushed: something was sent to the marketplace. message: the whole story for the seller.
    """

    listing_id: int
    user_id: int
    action: str
    rule: str
    old_price: Decimal | None
    new_price: Decimal | None
    old_quantity: int | None
    new_quantity: int | None
    old_status: str
    new_status: str
    status_reason: str
    margin_percent: Decimal | None
    pushed: bool
    message: str
    product_id: int | None = None
    store_id: int | None = None
    below_min_margin: bool = False
    held_reason: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        for key in ("old_price", "new_price", "margin_percent"):
            data[key] = None if data[key] is None else str(data[key])
        return data


@dataclass
class Plan:
    """One listing's target and how it is sent (internal to the listing services)."""

    listing: Listing
    price: Decimal
    quantity: int
    status: str
    reason: str
    action: str
    rule: str
    quote: Quote | None = None
    below_min_margin: bool = False
    notes: list[str] = field(default_factory=list)
    audit_action: str = ""
    # How it is sent: a price/quantity item and/or a pause/resume call; `local` = nothing to send.
    item: PriceQuantity | None = None
    op: str | None = None
    local: bool = True
    demo: bool = False
    # What happened.
    held: str = ""
    op_ok: bool | None = None
    item_ok: bool | None = None
    error: str = ""
    busy_after: float | None = None
    calls: int = 0
    new_external_id: str | None = None

    @property
    def needed_calls(self) -> int:
        return int(self.op is not None) + int(self.item is not None)

    def differs(self) -> bool:
        listing = self.listing
        return (self.price, self.quantity, self.status, self.reason) != (
            listing.price,
            listing.quantity_available,
            listing.status,
            listing.status_reason,
        )


# --- Entry point ----------------------------------------------------------------------------


def listings_follow(
    *, product, outcome=None, listing_ids: Iterable[int] | None = None, attempt: int = 0
) -> list[ListingChange]:
    """Make every live listing that `product` concerns follow its supplier; one ListingChange per listing.

    Those are the listings of the product, and those that have it as a backup source
    (marketplaces.services.sources): a listing with backup sources first chooses its active source
    (switching when the rule says so), then follows that one. `outcome`
    (catalog.services.RefreshOutcome, optional) only words the rule ("supplier price 20.00 → 24.00
    USD"); the decisions use the products as they are now, as each listing's seller sees them: a
    seller's own price or stock (catalog ProductOverride) prices that seller's listings only.
    `listing_ids` limits the run to some listings. A marketplace that asks us to wait gets the
    change again from a task.
    """
    listings = (
        Listing.objects.live()
        .using_product(product)
        .annotate(has_backups=Exists(ListingSource.objects.filter(listing=OuterRef("pk"))))
        .select_related(
            "store_account",
            "store_account__user",
            "user",
            "product",
            "product__supplier",
            "active_product",
            "active_product__supplier",
        )
        .order_by("pk")
    )
    if listing_ids is not None:
        listings = listings.filter(pk__in=list(listing_ids))
    listings = list(listings)
    # One follow of a listing at a time: the lock is its own product's, whichever product was read.
    with ExitStack() as locks:
        for own_product_id in sorted({listing.product_id for listing in listings}):
            locks.enter_context(_follow_lock(own_product_id))
        switch = AutomationSwitch.current()
        plans, changes = [], {}
        overrides = {override.user_id: override for override in ProductOverride.objects.filter(product=product)}
        for listing in listings:
            switched = ""
            if listing.has_backups or listing.active_product_id is not None:
                seen, switched = listing_source_follow(listing)
                own_price = getattr(seen, "override", None) is not None and seen.override.price is not None
                read = seen.pk == product.pk
            else:
                override = overrides.get(listing.user_id)
                seen = override.applied_to(product) if override else product
                own_price = override is not None and override.price is not None
                read = True
            words = outcome if read and not own_price else None
            plan, change = _plan_for(listing, product=seen, outcome=words, switched=switched)
            if plan is None:
                changes[listing.pk] = change
            else:
                plans.append(plan)
        plans_execute(plans, switch=switch)
        for plan in plans:
            changes[plan.listing.pk] = plan_finish(plan)
    _retry_later(product_id=product.pk, plans=plans, attempt=attempt)
    return [changes[listing_id] for listing_id in sorted(changes)]


def _follow_listings(listings) -> list[ListingChange]:
    """Run the follow for some listings, product by product."""
    from catalog.models import Product

    by_product: dict[int, list[int]] = defaultdict(list)
    for listing_id, product_id in listings.values_list("pk", "product_id"):
        by_product[product_id].append(listing_id)
    changes: list[ListingChange] = []
    for product in Product.objects.filter(pk__in=by_product).select_related("supplier").order_by("pk"):
        changes += listings_follow(product=product, listing_ids=by_product[product.pk])
    return changes


def listings_push_pending(*, store=None) -> list[ListingChange]:
    """Send what was held (automation paused, revision cap, a busy or refusing marketplace) once it
    may go. Each held listing follows its supplier again, so what is sent is what the rules say now."""
    held = Listing.objects.live().exclude(pending_changes={})
    if store is not None:
        held = held.filter(store_account=store)
    return _follow_listings(held)


def listings_sources_follow() -> list[ListingChange]:
    """Make every live listing with backup sources follow them again: time alone can make a source
    unreadable for too long, or good for long enough to switch back to (run every few minutes)."""
    return _follow_listings(Listing.objects.live().with_backups())


def store_reprice(*, store) -> list[ListingChange]:
    """Make every live listing of a store follow its product again (its pricing settings changed)."""
    return _follow_listings(Listing.objects.live().filter(store_account=store))


def supplier_reprice(*, supplier) -> list[ListingChange]:
    """Make every live listing of a supplier site's products follow again (staff changed what buying
    there costs: its default shipping or sales tax), without reading the pages again."""
    return _follow_listings(Listing.objects.live().filter(product__supplier=supplier))


# --- Targets --------------------------------------------------------------------------------


def _wrong_product(product) -> bool:
    return getattr(product, "wrong_product_count", 0) >= settings.WRONG_PRODUCT_PAUSE_AFTER


def _pause_reason(*, product, store, quantity: int, quote: Quote | None) -> str:
    if _wrong_product(product):  # nothing the page says is ours: neither cost nor stock is known
        return StatusReason.WRONG_PRODUCT
    if product.availability == Availability.OUT_OF_STOCK or (product.stock is not None and product.stock <= 0):
        return StatusReason.OUT_OF_STOCK
    if product.stock is not None and (product.stock < store.min_supplier_stock or quantity <= 0):
        return StatusReason.LOW_STOCK
    if (
        quote is not None
        and quote.margin_percent < store.min_margin_percent
        and store.low_margin_action == LowMarginAction.PAUSE
    ):
        return StatusReason.LOW_MARGIN
    return ""


def listing_target(listing, *, product, cost: Decimal | None):
    """(price, quantity, status, status_reason, quote, pause_reason) the rules give this listing now."""
    store = listing.store_account
    quote = None
    price = listing.price
    if cost is not None:
        if listing.price_locked:
            quote = quote_for_price(cost=cost, price=listing.price, store=store)
        else:
            quote = listing_quote(cost=cost, store=store)
            price = quote.price
    out = product.availability == Availability.OUT_OF_STOCK or (product.stock is not None and product.stock <= 0)
    quantity = 0 if out else listing_quantity(stock=product.stock, store=store)
    pause_reason = _pause_reason(product=product, store=store, quantity=quantity, quote=quote)
    status, reason = listing.status, listing.status_reason
    if listing.status == ListingStatus.ACTIVE and pause_reason:
        status, reason = ListingStatus.PAUSED, pause_reason
    elif listing.status == ListingStatus.PAUSED and listing.status_reason in SYSTEM_PAUSE_REASONS:
        status, reason = (ListingStatus.PAUSED, pause_reason) if pause_reason else (ListingStatus.ACTIVE, "")
    return price, quantity, status, reason, quote, pause_reason


def _money(value) -> str:
    return "?" if value is None else f"{Decimal(value):.2f}"


def _supplier_words(product, outcome) -> str:
    currency = product.currency or ""
    if getattr(product, "override", None) is not None and product.override.price is not None:
        return f"your own supplier price {_money(product.price)} {currency}".rstrip()
    if outcome is not None and getattr(outcome, "price_changed", False) and outcome.old_price is not None:
        return f"supplier price {_money(outcome.old_price)} → {_money(outcome.new_price)} {currency}".rstrip()
    return f"supplier price {_money(product.price)} {currency}".rstrip()


def _pause_words(reason: str, *, product, store, quote: Quote | None) -> str:
    if reason == StatusReason.WRONG_PRODUCT:
        return "the supplier link now shows another product: paused"
    if reason == StatusReason.OUT_OF_STOCK:
        return "supplier out of stock: paused"
    if reason == StatusReason.LOW_STOCK:
        if product.stock is not None and product.stock < store.min_supplier_stock:
            return f"supplier stock {product.stock} under the store minimum {store.min_supplier_stock}: paused"
        return f"supplier stock {product.stock} leaves nothing to list after the safety buffer: paused"
    margin = _money(quote.margin_percent) if quote else "?"
    return f"margin {margin}% under the store minimum {_money(store.min_margin_percent)}%: paused"


def _resume_words(old_reason: str, *, product, quote: Quote | None) -> str:
    if old_reason == StatusReason.WRONG_PRODUCT:
        return "the supplier link shows our product again: resumed"
    if old_reason == StatusReason.LOW_MARGIN:
        return f"margin back to {_money(quote.margin_percent) if quote else '?'}%: resumed"
    stock = f" ({product.stock})" if product.stock is not None else ""
    return f"supplier back in stock{stock}: resumed"


def _plan_for(listing, *, product, outcome, switched: str = ""):
    """A Plan for a listing with something to do, else (None, its 'unchanged' ListingChange).
    `product` is the listing's active source as its seller sees it; `switched` the rule of a switch
    of source made just now (marketplaces.services.sources), which leads the plan's rule."""
    store = listing.store_account
    cost = product_cost(product, currency=store.currency)
    not_converted = product.price is not None and cost is None
    price, quantity, status, reason, quote, _ = listing_target(listing, product=product, cost=cost)
    below_min = quote is not None and quote.margin_percent < store.min_margin_percent
    _note_conversion(listing, product=product, not_converted=not_converted)

    rules, notes = ([switched] if switched else []), []
    if status != listing.status or (status == ListingStatus.PAUSED and reason != listing.status_reason):
        if status == ListingStatus.PAUSED:
            rules.append(_pause_words(reason, product=product, store=store, quote=quote))
        else:
            rules.append(_resume_words(listing.status_reason, product=product, quote=quote))
    if price != listing.price:
        rules.append(
            f"{_supplier_words(product, outcome)}: repriced by markup rule "
            f"({_money(listing.price)} → {_money(price)} {store.currency})"
        )
    if quantity != listing.quantity_available and status == listing.status:
        if product.availability == Availability.OUT_OF_STOCK:
            stock = "supplier out of stock"
        elif product.stock is None:
            stock = "supplier stock not stated (store default)"
        else:
            stock = f"supplier stock {product.stock}"
        rules.append(f"{stock}: quantity {listing.quantity_available} → {quantity}")
    if below_min and store.low_margin_action == LowMarginAction.ALERT and status != ListingStatus.PAUSED:
        notes.append(KEPT_ON_SALE.format(margin=_money(quote.margin_percent), minimum=_money(store.min_margin_percent)))
    if listing.price_locked and cost is not None:
        rule_price = listing_quote(cost=cost, store=store).price
        if rule_price != listing.price:
            notes.append(
                f"price locked by the seller at {_money(listing.price)} (the markup rule gives {_money(rule_price)})"
            )
    if not_converted:
        notes.append(_not_converted_message(product, store))

    if status != listing.status:
        action = "paused" if status == ListingStatus.PAUSED else "resumed"
    elif status == ListingStatus.PAUSED and reason != listing.status_reason:
        action = "paused"
    elif price != listing.price:
        action = "repriced"
    elif quantity != listing.quantity_available:
        action = "quantity"
    else:
        action = ""
    if not action:
        rule = "; ".join([*rules, *notes]) or "nothing to change"
        if listing.pending_changes:  # what was held is no longer needed
            listing.pending_changes = {}
            listing.save(update_fields=["pending_changes", "updated_at"])
        change = ListingChange(
            listing_id=listing.pk,
            user_id=listing.user_id,
            action="not_converted" if not_converted else "unchanged",
            rule=rule,
            old_price=listing.price,
            new_price=listing.price,
            old_quantity=listing.quantity_available,
            new_quantity=listing.quantity_available,
            old_status=listing.status,
            new_status=listing.status,
            status_reason=listing.status_reason,
            margin_percent=quote.margin_percent if quote else None,
            pushed=False,
            message=rule[:1].upper() + rule[1:] + ".",
            product_id=product.pk,
            store_id=store.pk,
            below_min_margin=below_min,
        )
        return None, change
    plan = Plan(
        listing=listing,
        price=price,
        quantity=quantity,
        status=status,
        reason=reason,
        action=action,
        rule="; ".join(rules),
        quote=quote,
        below_min_margin=below_min,
        notes=notes,
    )
    plan_sending(plan)
    return plan, None


def _not_converted_message(product, store) -> str:
    source = product.currency or getattr(product.supplier, "currency", "") or "?"
    return NOT_CONVERTED_MESSAGE.format(source=source, target=store.currency)


def _note_conversion(listing, *, product, not_converted: bool) -> None:
    """Tell the seller (last_error + one open alert) while the cost cannot be converted; clear it after."""
    store = listing.store_account
    subject = f"listing:{listing.pk}"
    if not_converted:
        message = _not_converted_message(product, store)
        if listing.last_error != message:
            listing.last_error = message
            listing.save(update_fields=["last_error", "updated_at"])
        alert_raise(
            user=listing.user,
            type=CURRENCY_ALERT_TYPE,
            subject=subject,
            message=f"{listing.title[:80]}: {message}",
            severity="warning",
            data={
                "reason": CURRENCY_ALERT_REASON,
                "from_currency": product.currency,
                "to_currency": store.currency,
                "store_id": store.pk,
            },
            product=product,
            listing=listing,
        )
        return
    if listing.last_error.startswith(NOT_CONVERTED_PREFIX):
        listing.last_error = ""
        listing.save(update_fields=["last_error", "updated_at"])
        open_alert = listing.user.alerts.filter(
            type=CURRENCY_ALERT_TYPE, subject=subject, cleared_at__isnull=True, data__reason=CURRENCY_ALERT_REASON
        )
        if open_alert.exists():
            alert_clear(user=listing.user, type=CURRENCY_ALERT_TYPE, subject=subject)


# --- Sending --------------------------------------------------------------------------------


def plan_sending(plan: Plan) -> None:
    """Work out what the plan sends: one price/quantity item and/or a pause/resume call."""
    listing = plan.listing
    store = listing.store_account
    published = listing.status != ListingStatus.PENDING and bool(listing.external_listing_id)
    if not published or plan.status == ListingStatus.PENDING:
        return
    ref = ListingRef(sku=sku_for(listing), external_id=listing.external_listing_id)
    price = plan.price if plan.price != listing.price else None
    quantity_changed = plan.quantity != listing.quantity_available
    by_quantity = store.marketplace in QUANTITY_PAUSE_MARKETPLACES
    was, will = listing.status, plan.status
    item_quantity = None
    if was == ListingStatus.ACTIVE and will == ListingStatus.PAUSED:
        if by_quantity:
            item_quantity = 0
        else:
            plan.op = "pause"
    elif was == ListingStatus.PAUSED and will == ListingStatus.ACTIVE:
        if by_quantity:
            item_quantity = plan.quantity
        else:
            plan.op = "resume"
    elif will == ListingStatus.ACTIVE and quantity_changed:
        item_quantity = plan.quantity
    # A listing that stays paused keeps its quantity at the marketplace (eBay: 0); the new
    # quantity is kept here and sent when it resumes.
    if price is not None or item_quantity is not None:
        plan.item = PriceQuantity(ref=ref, price=price, quantity=item_quantity, currency=store.currency)
    plan.local = plan.item is None and plan.op is None
    plan.demo = is_demo_store(store)  # sent to the recording adapter (clients.recording)


def plans_execute(plans: list[Plan], *, switch=None, automatic: bool = True) -> None:
    """Send the plans that need sending, grouped per store; held plans are marked, not sent."""
    switch = switch or AutomationSwitch.current()
    by_store: dict[int, list[Plan]] = defaultdict(list)
    for plan in plans:
        if plan.local:
            continue
        listing = plan.listing
        store = listing.store_account
        block = automatic_push_block(store, switch=switch) if automatic else connection_block(store)
        block = block or revision_block(listing, needed=plan.needed_calls)
        if block:
            plan.held = block
            continue
        by_store[store.pk].append(plan)
    for store_plans in by_store.values():
        _send_to_store(store_plans)


def _send_to_store(plans: list[Plan]) -> None:
    store = plans[0].listing.store_account
    try:
        adapter = adapter_for(store)
    except MarketplaceError as exc:  # e.g. a Shopify store without a valid shop address
        for plan in plans:
            plan.error = exc.message
            plan.op_ok = False if plan.op else None
            plan.item_ok = False if plan.item is not None else None
        return
    try:
        for plan in plans:
            if plan.op is None:
                continue
            ref = plan.item.ref if plan.item else ListingRef(sku_for(plan.listing), plan.listing.external_listing_id)
            try:
                if plan.op == "pause":
                    adapter.pause(ref)
                else:
                    plan.new_external_id = adapter.resume(ref, quantity=plan.quantity)
                plan.op_ok = True
                plan.calls += 1
            except NeedsReauth:
                raise
            except Retryable as exc:
                plan.op_ok, plan.error, plan.busy_after = False, exc.message, exc.retry_after or 60.0
            except MarketplaceError as exc:
                plan.op_ok, plan.error = False, exc.message
        batch = [plan for plan in plans if plan.item is not None and plan.op_ok is not False]
        if batch:
            try:
                results = adapter.update_price_quantity([plan.item for plan in batch])
            except NeedsReauth:
                raise
            except Retryable as exc:
                for plan in batch:
                    plan.item_ok, plan.error, plan.busy_after = False, exc.message, exc.retry_after or 60.0
            except MarketplaceError as exc:
                for plan in batch:
                    plan.item_ok, plan.error = False, exc.message
            else:
                for plan, result in zip(batch, results, strict=True):
                    if result.ok:
                        plan.item_ok = True
                        plan.calls += 1
                    else:
                        plan.item_ok, plan.error = False, result.error.message
                        if isinstance(result.error, Retryable):
                            plan.busy_after = result.error.retry_after or 60.0
    except NeedsReauth as exc:
        store_mark_needs_reauth(store, exc.message)
        for plan in plans:
            op_waiting = plan.op is not None and plan.op_ok is None
            item_waiting = plan.item is not None and plan.item_ok is None
            if op_waiting or (item_waiting and not plan.op_ok):
                plan.held = HELD_NEEDS_RECONNECT
            elif item_waiting:  # its pause/resume went through before the refusal
                plan.item_ok, plan.error = False, HELD_NEEDS_RECONNECT
    finally:
        adapter.http.close()


# --- Recording ------------------------------------------------------------------------------


def _snapshot(listing) -> dict:
    return {
        "price": listing.price,
        "quantity": listing.quantity_available,
        "status": listing.status,
        "status_reason": listing.status_reason,
    }


def _pending(plan: Plan, reason: str, *, price_only: bool = False) -> dict:
    pending = {"price": str(plan.price)}
    if not price_only:
        pending.update({"quantity": plan.quantity, "status": plan.status, "status_reason": plan.reason})
    pending.update({"reason": reason, "rule": plan.rule})
    return pending


def _same_pending(a: dict, b: dict) -> bool:
    def strip(d):
        return {k: v for k, v in (d or {}).items() if k != "since"}

    return strip(a) == strip(b)


def plan_finish(plan: Plan, *, acting_user=None, request=None, audit_notes: str | None = None) -> ListingChange:
    """Record what happened to the plan's listing: applied (with its audit row) or held."""
    listing = plan.listing
    old = _snapshot(listing)
    if plan.held or plan.op_ok is False or (plan.item is not None and plan.item_ok is False and not plan.op_ok):
        return _hold_all(plan, old)
    price_held = plan.item is not None and plan.item_ok is False  # the pause/resume went, its new price did not
    with transaction.atomic():
        if not price_held:
            listing.price = plan.price
        listing.quantity_available = plan.quantity
        listing.status = plan.status
        listing.status_reason = plan.reason
        if plan.status in (ListingStatus.ENDED, ListingStatus.DELISTED) and listing.ended_at is None:
            listing.ended_at = timezone.now()
        if plan.new_external_id:
            listing.external_listing_id = plan.new_external_id
        fields = ["price", "quantity_available", "status", "status_reason", "ended_at", "external_listing_id"]
        if price_held:
            listing.pending_changes = _pending(plan, plan.error, price_only=True) | {"since": _now_iso()}
            listing.last_error = plan.error
        else:
            listing.pending_changes = {}
            if not listing.last_error.startswith(NOT_CONVERTED_PREFIX):
                listing.last_error = ""
        fields += ["pending_changes", "last_error"]
        if plan.calls:
            listing.last_pushed_at = timezone.now()
            fields.append("last_pushed_at")
        listing.save(update_fields=[*fields, "updated_at"])
        if plan.calls:
            revisions_count(listing, plan.calls)
        audit_record(
            acting_user=acting_user,
            owner=listing.user,
            action=plan.audit_action or _audit_action(plan.action),
            resource=listing,
            old_value=old,
            new_value=_snapshot(listing),
            request=request,
            notes=audit_notes or plan.rule,
        )
    messages = [plan.rule]
    if plan.demo and plan.calls:
        messages.append(DEMO_RECORDED)
    if price_held:
        messages.append(PRICE_NOT_SENT.format(reason=plan.error))
    messages += plan.notes
    return _change(plan, old, new=_snapshot(listing), action=plan.action, messages=messages)


def _hold_all(plan: Plan, old: dict) -> ListingChange:
    """Nothing was applied: keep the target in pending_changes (once: no new row for the same)."""
    listing = plan.listing
    if plan.held:
        reason, audited = plan.held, True
    elif plan.busy_after is not None:
        reason, audited = HELD_BUSY.format(message=plan.error), False
    else:
        reason, audited = NOT_SENT_REFUSED.format(message=plan.error), False
    pending = _pending(plan, reason)
    if not _same_pending(pending, listing.pending_changes):
        since = (listing.pending_changes or {}).get("since") or _now_iso()
        listing.pending_changes = pending | {"since": since}
        fields = ["pending_changes"]
        if not audited:
            listing.last_error = plan.error
            fields.append("last_error")
        with transaction.atomic():
            listing.save(update_fields=[*fields, "updated_at"])
            if audited:
                audit_record(
                    acting_user=None,
                    owner=listing.user,
                    action="held",
                    resource=listing,
                    old_value=old,
                    new_value={key: pending[key] for key in ("price", "quantity", "status", "status_reason")},
                    notes=f"{plan.rule} — {reason}",
                )
    target = {"price": plan.price, "quantity": plan.quantity, "status": plan.status, "status_reason": plan.reason}
    change = _change(plan, old, new=target, action="held", messages=[plan.rule, reason, *plan.notes])
    change.held_reason = reason
    return change


def _change(plan: Plan, old: dict, *, new: dict, action: str, messages: list[str]) -> ListingChange:
    listing = plan.listing
    text = ". ".join(m[:1].upper() + m[1:] for m in messages if m)
    return ListingChange(
        listing_id=listing.pk,
        user_id=listing.user_id,
        action=action,
        rule=plan.rule,
        old_price=old["price"],
        new_price=new["price"],
        old_quantity=old["quantity"],
        new_quantity=new["quantity"],
        old_status=old["status"],
        new_status=new["status"],
        status_reason=new["status_reason"],
        margin_percent=plan.quote.margin_percent if plan.quote else None,
        pushed=plan.calls > 0,
        message=text if text.endswith(".") else text + ".",
        product_id=listing.product_id,
        store_id=listing.store_account_id,
        below_min_margin=plan.below_min_margin,
    )


def _audit_action(action: str) -> str:
    return {"quantity": "quantity_changed"}.get(action, action)


def _now_iso() -> str:
    return timezone.now().isoformat()


# --- Concurrency and retries ----------------------------------------------------------------


@contextmanager
def _follow_lock(product_id: int) -> Iterator[None]:
    """One follow per product at a time across workers (shared cache); after a wait, go on anyway."""
    key, token = f"marketplaces:follow:{product_id}", uuid.uuid4().hex
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    acquired = cache.add(key, token, timeout=LOCK_TIMEOUT_SECONDS)
    while not acquired and time.monotonic() < deadline:
        time.sleep(0.2)
        acquired = cache.add(key, token, timeout=LOCK_TIMEOUT_SECONDS)
    if not acquired:
        logger.warning("Following product %s without its lock (held past %ss)", product_id, LOCK_WAIT_SECONDS)
    try:
        yield
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


def _retry_later(*, product_id: int, plans: list[Plan], attempt: int) -> None:
    waits = [plan.busy_after for plan in plans if plan.busy_after is not None]
    if not waits or attempt >= settings.MARKETPLACE_FOLLOW_RETRIES:
        return
    from marketplaces.tasks import listings_follow_task

    countdown = int(max(waits))
    if countdown > settings.TASK_COUNTDOWN_MAX:
        return  # too long to wait in the broker: the change waits in pending_changes for the hourly push
    transaction.on_commit(
        lambda: task_enqueue(listings_follow_task, product_id, attempt=attempt + 1, countdown=countdown)
    )
