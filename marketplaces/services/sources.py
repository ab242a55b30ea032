"""A listing's sources: its own product, then its backup products in order (ListingSource). The
active source is the one the listing is priced from and bought at; when it stops qualifying the
listing switches to the next good one instead of pausing, and back once the preferred one has been
good for a while (DESIGN.md, "A listing's sources").

The rule, in one place (the backtest replays `source_choose` with `source_problem`):

- A source qualifies when it is not out of stock, its page shows our product (no wrong-product
  hold), it was read successfully within SOURCE_READABLE_HOURS, and the listing price the store's
  rules give from its unit cost is at most the ceiling and keeps the store's low-margin rule. The
  ceiling is the locked price when the price is locked (the source must then keep the minimum
  margin at that price), else the listing's max_price, else the own product's rules price plus the
  store's failover_max_increase_percent. The own product always passes the ceiling test.
- The active source stops qualifying: switch at once to the first qualifying source in order.
- A more preferred source qualifies: switch to it only once it has qualified without a break for
  SOURCE_SWITCH_BACK_MINUTES (ListingSource.good_since, Listing.own_good_since).
- None qualifies: back to the own product, whose reason pauses the listing as before.

Each switch is audited with its rule and raises an info alert; marketplaces.services.follow then
reprices the listing from the new source's cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from catalog.models import Availability, Product
from catalog.services import product_as_seen_by
from marketplaces.models import Listing, ListingSource, LowMarginAction
from marketplaces.pricing import Quote, listing_quote, quote_for_price
from monitoring.records import alert_clear, alert_raise, audit_record

from .rates import product_cost

CENT = Decimal("0.01")
HUNDRED = Decimal("100")

SOURCE_OUT_OF_STOCK = "out of stock"
SOURCE_WRONG_PRODUCT = "its page shows another product"
SOURCE_UNREADABLE = "not read successfully for more than {hours} hours"
SOURCE_COST_UNKNOWN = "its unit cost is not known (no price yet, or no exchange rate)"
SOURCE_NO_CEILING = "no ceiling to check it against: the own product's cost is not known and no maximum price is set"
SOURCE_OVER_CEILING = "its price {price} {currency} would be over the ceiling {ceiling} {currency}"
SOURCE_LOW_MARGIN = "margin {margin}% at {price} {currency} under the store minimum {minimum}%"

SWITCH_DOWN_RULE = "{old} {why}: switched to {new}"
SWITCH_BACK_RULE = "{new} has qualified for {minutes} minutes: switched back from {old}"
SWITCH_NONE_RULE = "no source qualifies ({old} {why}): back to {new}"
SOURCE_ALERT_TYPE = "policy_trigger"
SOURCE_ALERT_REASON = "source_switched"

SAME_ITEM_GTIN = "same GTIN {value}"
SAME_ITEM_MPN = "same brand and MPN {value}"
SAME_ITEM_CONFIRMED = "confirmed by the seller"
NOT_SAME_ITEM = (
    "The pages state no GTIN or brand and MPN that match: compare both titles and images, then tick "
    "“This is the same item”."
)
SOURCE_IS_OWN = "This is the listing's own product."
SOURCE_ALREADY = "This product is already a backup source of the listing."
SOURCE_NOT_LIVE = "Only a listing still on sale or able to resume has backup sources."

# Switch kinds (source_choose).
STAY, FAILOVER, SWITCH_BACK, NONE_QUALIFIES = "", "failover", "switch_back", "none_qualifies"


class SourceError(Exception):
    """A backup source cannot be attached or moved; `message` says why, in words."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class SourceCheck:
    """How one source of a listing stands now.

    position 0 is the listing's own product; `product` is as the listing's seller sees it (their
    own values in force). `price` is the listing price the store's rules give from it (the locked
    price when locked); `problem` is why it does not qualify ("" when it does).
    """

    product: Product
    base: Product  # the shared row itself
    position: int
    row: ListingSource | None
    cost: Decimal | None
    quote: Quote | None
    problem: str
    good_since: datetime | None
    active: bool = False

    @property
    def qualifies(self) -> bool:
        return not self.problem

    @property
    def price(self) -> Decimal | None:
        return self.quote.price if self.quote else None

    @property
    def label(self) -> str:
        return source_label(self.product, self.position)


def source_label(product, position: int) -> str:
    name = f"{product.supplier} · {product.title[:60] or product.asin}"
    if position == 0:
        return f"its own product ({name})"
    return f"backup source {position} ({name})"


# --- The rule -------------------------------------------------------------------------------


def out_of_stock(product) -> bool:
    return product.availability == Availability.OUT_OF_STOCK or (product.stock is not None and product.stock <= 0)


def wrong_product(product) -> bool:
    return getattr(product, "wrong_product_count", 0) >= settings.WRONG_PRODUCT_PAUSE_AFTER


def listing_ceiling(listing, *, own_cost: Decimal | None) -> Decimal | None:
    """The most a backup source may make the listing cost: the locked price, else the listing's
    max_price, else the own product's rules price plus the store's failover percentage (None when
    that is not known)."""
    if listing.price_locked:
        return listing.price
    if listing.max_price is not None:
        return listing.max_price
    if own_cost is None:
        return None
    store = listing.store_account
    base = listing_quote(cost=own_cost, store=store).price
    return (base * (1 + store.failover_max_increase_percent / HUNDRED)).quantize(CENT, rounding=ROUND_HALF_UP)


def source_problem(
    *, listing, product, cost: Decimal | None, ceiling: Decimal | None, own: bool, now: datetime
) -> tuple[str, Quote | None]:
    """Why `product` (as the seller sees it, its unit cost `cost` in the store's currency) cannot be
    the listing's source now, "" when it can; and the quote it gives."""
    store = listing.store_account
    quote = None
    if cost is not None:
        if listing.price_locked:
            quote = quote_for_price(cost=cost, price=listing.price, store=store)
        else:
            quote = listing_quote(cost=cost, store=store)
    if out_of_stock(product):
        return SOURCE_OUT_OF_STOCK, quote
    if wrong_product(product):
        return SOURCE_WRONG_PRODUCT, quote
    readable_since = now - timedelta(hours=settings.SOURCE_READABLE_HOURS)
    if product.last_scraped_at is None or product.last_scraped_at < readable_since:
        return SOURCE_UNREADABLE.format(hours=settings.SOURCE_READABLE_HOURS), quote
    if quote is None:
        return ("" if own else SOURCE_COST_UNKNOWN), None
    if not own and not listing.price_locked:
        if ceiling is None:
            return SOURCE_NO_CEILING, quote
        if quote.price > ceiling:
            return SOURCE_OVER_CEILING.format(price=quote.price, ceiling=ceiling, currency=store.currency), quote
    if quote.margin_percent < store.min_margin_percent and store.low_margin_action == LowMarginAction.PAUSE:
        return (
            SOURCE_LOW_MARGIN.format(
                margin=quote.margin_percent,
                price=quote.price,
                currency=store.currency,
                minimum=store.min_margin_percent,
            ),
            quote,
        )
    return "", quote


def source_choose(
    qualifies: list[bool], good_since: list[datetime | None], *, active: int | None, now: datetime
) -> tuple[int, str]:
    """(index of the source to follow, switch kind) from each source's standing, in order (0 = the
    own product); `active` is the index followed now (None: no longer among the sources)."""
    wait = timedelta(minutes=settings.SOURCE_SWITCH_BACK_MINUTES)
    if active is not None and qualifies[active]:
        for index in range(active):
            since = good_since[index]
            if qualifies[index] and since is not None and now - since >= wait:
                return index, SWITCH_BACK
        return active, STAY
    for index, good in enumerate(qualifies):
        if good:
            return index, FAILOVER
    return 0, (STAY if active == 0 else NONE_QUALIFIES)


# --- Reading a listing's sources --------------------------------------------------------------


def listing_source_rows(listing) -> list[ListingSource]:
    return list(listing.sources.select_related("product__supplier").order_by("position", "pk"))


def listing_sources_check(listing, *, now: datetime | None = None, rows=None) -> list[SourceCheck]:
    """Every source of the listing, in order (its own product first), with how it stands now."""
    now = now or timezone.now()
    store = listing.store_account
    rows = listing_source_rows(listing) if rows is None else rows
    sources = [(listing.product, 0, None, listing.own_good_since)]
    sources += [(row.product, index, row, row.good_since) for index, row in enumerate(rows, start=1)]
    checks, ceiling = [], None
    for product, position, row, good_since in sources:
        seen = product_as_seen_by(product=product, user=listing.user)
        cost = product_cost(seen, currency=store.currency)
        if position == 0:
            ceiling = listing_ceiling(listing, own_cost=cost)
        problem, quote = source_problem(
            listing=listing, product=seen, cost=cost, ceiling=ceiling, own=position == 0, now=now
        )
        checks.append(
            SourceCheck(
                product=seen,
                base=product,
                position=position,
                row=row,
                cost=cost,
                quote=quote,
                problem=problem,
                good_since=good_since,
                active=product.pk == listing.active_source.pk,
            )
        )
    return checks


# --- Following the rule -----------------------------------------------------------------------


@dataclass
class SourceChoice:
    """A listing's sources as they stand now and what the rule chooses (nothing saved yet).

    `active` is the index of the source followed now (None: no longer among them), `chosen` the one
    to follow, `kind` the switch (STAY when none), `rule` the switch in words.
    """

    checks: list[SourceCheck]
    active: int | None
    chosen: int
    kind: str
    rule: str


def listing_source_choice(listing, *, now: datetime | None = None) -> SourceChoice:
    """Which source the rule gives the listing now, and why; saves nothing (see listing_source_follow)."""
    now = now or timezone.now()
    checks = listing_sources_check(listing, now=now)
    for check in checks:  # a run of good readings goes on, or starts now; a bad one ends it
        check.good_since = (check.good_since or now) if check.qualifies else None
    active = next((check.position for check in checks if check.active), None)
    index, kind = source_choose(
        [check.qualifies for check in checks], [check.good_since for check in checks], active=active, now=now
    )
    chosen, old = checks[index], (checks[active] if active is not None else None)
    old_label = old.label if old else "a removed source"
    if kind == SWITCH_BACK:
        rule = SWITCH_BACK_RULE.format(new=chosen.label, minutes=settings.SOURCE_SWITCH_BACK_MINUTES, old=old_label)
    elif kind == FAILOVER:
        why = old.problem if old else "is no longer a source"
        rule = SWITCH_DOWN_RULE.format(old=old_label, why=why, new=chosen.label)
    elif kind == NONE_QUALIFIES:
        rule = SWITCH_NONE_RULE.format(old=old_label, why=old.problem if old else "was removed", new=chosen.label)
    else:
        rule = ""
    return SourceChoice(checks=checks, active=active, chosen=index, kind=kind, rule=rule)


def listing_source_follow(listing, *, now: datetime | None = None) -> tuple[Product, str]:
    """Choose the listing's source now (switching, audited and alerted, when the rule says so);
    returns the source as the seller sees it and the switch's rule in words ("" when it stays).
    The caller (marketplaces.services.follow) prices the listing from it."""
    now = now or timezone.now()
    choice = listing_source_choice(listing, now=now)
    _good_since_save(listing, choice.checks)
    chosen = choice.checks[choice.chosen]
    if choice.kind == STAY:
        return chosen.product, ""
    old = choice.checks[choice.active] if choice.active is not None else None
    _switch(listing, to=chosen, old=old, rule=choice.rule, kind=choice.kind, now=now)
    return chosen.product, choice.rule


def _good_since_save(listing, checks: list[SourceCheck]) -> None:
    for check in checks:
        if check.row is None:
            if listing.own_good_since != check.good_since:
                listing.own_good_since = check.good_since
                Listing.objects.filter(pk=listing.pk).update(own_good_since=check.good_since)
        elif check.row.good_since != check.good_since:
            check.row.good_since = check.good_since
            ListingSource.objects.filter(pk=check.row.pk).update(good_since=check.good_since)


def _switch(listing, *, to: SourceCheck, old: SourceCheck | None, rule: str, kind: str, now: datetime) -> None:
    def words(check):
        return None if check is None else {"source": check.label, "product_id": check.product.pk}

    with transaction.atomic():
        listing.active_product = None if to.position == 0 else to.base
        listing.active_since = now
        listing.save(update_fields=["active_product", "active_since", "updated_at"])
        audit_record(
            acting_user=None,
            owner=listing.user,
            action="source_switched",
            resource=listing,
            old_value={"active_source": words(old)},
            new_value={"active_source": words(to), "rule": kind},
            notes=rule,
        )
    subject = f"listing:{listing.pk}:source"
    alert_clear(user=listing.user, type=SOURCE_ALERT_TYPE, subject=subject, now=now)  # each switch its own alert
    alert_raise(
        user=listing.user,
        type=SOURCE_ALERT_TYPE,
        subject=subject,
        message=f"{listing.title[:80]}: {rule[:1].upper()}{rule[1:]}.",
        severity="info",
        data={
            "reason": SOURCE_ALERT_REASON,
            "rule": kind,
            "from_product_id": old.product.pk if old else None,
            "to_product_id": to.product.pk,
        },
        product=to.base,
        listing=listing,
    )


# --- What the seller does with backup sources --------------------------------------------------


def same_item_match(product, other) -> str:
    """How we know two products are the same item from what their pages state ("" when we do not):
    the same GTIN, or the same brand and MPN."""
    gtin_a, gtin_b = (product.gtin or "").strip().lstrip("0"), (other.gtin or "").strip().lstrip("0")
    if gtin_a and gtin_a == gtin_b:
        return SAME_ITEM_GTIN.format(value=other.gtin.strip())
    mpn_a, mpn_b = (product.mpn or "").strip().casefold(), (other.mpn or "").strip().casefold()
    brand_a, brand_b = (product.brand or "").strip().casefold(), (other.brand or "").strip().casefold()
    if mpn_a and mpn_a == mpn_b and brand_a and brand_a == brand_b:
        return SAME_ITEM_MPN.format(value=f"{other.brand.strip()} {other.mpn.strip()}")
    return ""


def _audit_sources(listing, *, acting_user, request, action: str, old, notes: str) -> None:
    audit_record(
        acting_user=acting_user,
        owner=listing.user,
        action=action,
        resource=listing,
        old_value={"backup_sources": old},
        new_value={"backup_sources": _source_ids(listing)},
        request=request,
        notes=notes,
    )


def _source_ids(listing) -> list[int]:
    return list(listing.sources.order_by("position", "pk").values_list("product_id", flat=True))


def listing_source_add(
    listing, *, product, confirm_same_item: bool = False, acting_user, request=None
) -> ListingSource:
    """Attach one of the seller's tracked products as the listing's last backup source (audited).
    It must be the same item: matching GTIN or brand + MPN, else the seller's confirmation
    (SourceError NOT_SAME_ITEM without it). The product stays in the seller's tracked set, so the
    schedule reads it at their tier's interval like the listing's own; the listing follows at once."""
    if listing.status not in ("pending", "active", "paused"):
        raise SourceError(SOURCE_NOT_LIVE)
    if product.pk == listing.product_id:
        raise SourceError(SOURCE_IS_OWN)
    if listing.sources.filter(product=product).exists():
        raise SourceError(SOURCE_ALREADY)
    match = same_item_match(listing.product, product)
    if not match and not confirm_same_item:
        raise SourceError(NOT_SAME_ITEM)
    old = _source_ids(listing)
    with transaction.atomic():
        Listing.objects.select_for_update().filter(pk=listing.pk).first()  # positions in turn
        last = listing.sources.aggregate(last=Max("position"))["last"] or 0
        row = ListingSource.objects.create(
            listing=listing,
            product=product,
            position=last + 1,
            same_item=match or SAME_ITEM_CONFIRMED,
            confirmed_by_seller=not match,
        )
        # Tracked, so the schedule reads it at the seller's tier interval like the listing's own.
        listing.user.tracked_products.add(product)
        _audit_sources(
            listing,
            acting_user=acting_user,
            request=request,
            action="source_added",
            old=old,
            notes=f"backup source {row.position}: {product} ({row.same_item})",
        )
    _follow_now(listing)
    return row


def listing_source_move(listing, *, source: ListingSource, position: int, acting_user, request=None) -> None:
    """Put a backup source at `position` (1 = first backup), the others keeping their order (audited)."""
    rows = listing_source_rows(listing)
    position = max(1, min(position, len(rows)))
    old = [row.product_id for row in rows]
    ordered = [row for row in rows if row.pk != source.pk]
    ordered.insert(position - 1, next(row for row in rows if row.pk == source.pk))
    if [row.pk for row in ordered] == [row.pk for row in rows]:
        return
    _renumber(listing, ordered)
    _audit_sources(
        listing,
        acting_user=acting_user,
        request=request,
        action="source_moved",
        old=old,
        notes=f"backup source {source.product} moved to position {position}",
    )
    _follow_now(listing)


def listing_source_remove(listing, *, source: ListingSource, acting_user, request=None) -> None:
    """Detach a backup source (audited); a listing following it goes back to the rule's choice at once."""
    old = _source_ids(listing)
    product = source.product
    with transaction.atomic():
        source.delete()
        _renumber(listing, listing_source_rows(listing))
        if listing.active_product_id == product.pk:
            listing.active_product, listing.active_since = None, timezone.now()
            listing.save(update_fields=["active_product", "active_since", "updated_at"])
        _audit_sources(
            listing,
            acting_user=acting_user,
            request=request,
            action="source_removed",
            old=old,
            notes=f"backup source removed: {product}",
        )
    _follow_now(listing)


def _renumber(listing, ordered: list[ListingSource]) -> None:
    with transaction.atomic():
        # Out of the way first, so no two rows ever share a position mid-way.
        ListingSource.objects.filter(listing=listing).update(position=F("position") + 1000)
        for position, row in enumerate(ordered, start=1):
            row.position = position
            ListingSource.objects.filter(pk=row.pk).update(position=position)


def listing_set_max_price(listing, *, max_price: Decimal | None, acting_user, request=None) -> Listing:
    """Set or clear the most the listing may cost a buyer while on a backup source (audited)."""
    if listing.max_price == max_price:
        return listing
    old = {"max_price": listing.max_price}
    with transaction.atomic():
        listing.max_price = max_price
        listing.save(update_fields=["max_price", "updated_at"])
        audit_record(
            acting_user=acting_user,
            owner=listing.user,
            action="updated",
            resource=listing,
            old_value=old,
            new_value={"max_price": max_price},
            request=request,
        )
    _follow_now(listing)
    return listing


def _follow_now(listing) -> None:
    """The listing follows its sources at once (a source may now qualify, or no longer)."""
    from .follow import listings_follow

    if listing.status in ("pending", "active", "paused"):
        listings_follow(product=listing.product, listing_ids=[listing.pk])
        listing.refresh_from_db()
