"""A listing's life: preview and create from a product, publish, and the seller's own actions.

Every change a seller makes goes through one function here, which sends it to the marketplace
(the adapters' pause/resume/end: eBay quantity 0, Shopify DRAFT, Etsy inactive) and writes one
audit row. A refusal comes back as ListingActionError with the marketplace's words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.limits import TierLimitError, listing_allowed
from catalog.models import Availability
from catalog.services import ProductAddError, product_as_seen_by, product_untrack, tracking_allowed
from marketplaces.clients import (
    ListingData,
    ListingRef,
    MarketplaceError,
    NeedsReauth,
    NotFound,
    PriceQuantity,
    Retryable,
    adapter_for,
    sku_for,
)
from marketplaces.models import Listing, ListingSource, ListingStatus, StatusReason, StoreAccount
from marketplaces.pricing import Quote, UnitCost, listing_quantity, listing_quote, quote_for_price
from monitoring.records import audit_record

from .blocklist import BLOCKED_MESSAGE, blocklist_match, blocklist_match_listing
from .follow import NOT_CONVERTED_MESSAGE, listing_target, listings_follow
from .pushing import connection_block, revision_block, revisions_count
from .rates import product_cost, product_unit_cost
from .stores import store_mark_needs_reauth

logger = logging.getLogger(__name__)
ALREADY_LISTED_MESSAGE = "This product is already listed on {store}."
NOT_YOUR_STORE_MESSAGE = "That store belongs to another seller."
NO_PRICE_MESSAGE = "No price can be worked out ({reason}); enter one."
PRICE_UNKNOWN_REASON = "the supplier's price is not known yet"
NOT_CONVERTIBLE_REASON = "the supplier's price in {source} cannot be converted to {target}: no exchange rate is kept"
BELOW_MINIMUM_REASON = "margin {margin}% is under the store minimum {minimum}%"
NEGATIVE_PRICE_MESSAGE = "A price cannot be negative."
PRICE_LOCK_MAX = Decimal("1000000")
PRICE_LOCK_RANGE = "A locked price is an amount above 0 and up to 1000000."


def price_lock_allowed(price) -> bool:
    """Whether a seller may fix a listing at this price (0 gives the goods away; the rest is a typo)."""
    return Decimal("0") < Decimal(price) <= PRICE_LOCK_MAX


RECONNECT_MESSAGE = "Connect the store again before changing its listings."
NOTHING_TO_SELL_MESSAGE = "Nothing to list: the supplier has no stock to sell."
BUSY_MESSAGE = "The marketplace asked us to wait ({message}). Try again in a minute."
NOT_PAUSABLE_MESSAGE = "Only a listing on sale can be paused."
NOT_RESUMABLE_MESSAGE = "Only a paused listing can be resumed."
NOT_ENDABLE_MESSAGE = "This listing has already ended."
RESUME_BLOCKED_MESSAGE = "It cannot be resumed now: {reason}."
NOT_CONVERTED_PREFIX = NOT_CONVERTED_MESSAGE.split("{")[0]
RESUME_BLOCK_REASONS = {
    StatusReason.OUT_OF_STOCK: "the supplier is out of stock",
    StatusReason.LOW_STOCK: "the supplier's stock is under the store minimum",
    StatusReason.LOW_MARGIN: "its margin is under the store minimum and the store pauses such listings",
    StatusReason.WRONG_PRODUCT: "the supplier link now shows another product",
}


class ListingError(Exception):
    """A listing cannot be created or changed as asked; the message is meant for the seller."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ListingActionError(ListingError):
    """The seller's action on a listing was refused (by our rules or by the marketplace)."""


class ListingLimitError(ListingError):
    """The seller's tier allows no more listings (or tracked products); the message says so."""


# --- Preview and create ---------------------------------------------------------------------


@dataclass(frozen=True)
class ListingPreview:
    """What listing a product on a store would give: for the listing form, before anything is saved.

    Money is in the store's currency. `price` is None when it cannot be worked out (see `message`).
    `cost` is the unit cost (supplier price + shipping + tax); `unit` holds its parts (in the
    supplier's currency) and `quote` the fees, returns allowance and landed cost at the price.
    """

    product_id: int
    store_id: int
    currency: str
    supplier_price: Decimal | None
    supplier_currency: str
    cost: Decimal | None
    price: Decimal | None
    fees: Decimal | None
    profit: Decimal | None
    margin_percent: Decimal | None
    quantity: int
    min_margin_percent: Decimal
    below_min_margin: bool
    low_margin_action: str
    out_of_stock: bool
    blocked_by: str | None
    message: str
    unit: UnitCost | None = None
    quote: Quote | None = None

    @property
    def can_price(self) -> bool:
        return self.price is not None


def listing_preview(product, store: StoreAccount, *, price: Decimal | None = None) -> ListingPreview:
    """Price, fees, profit, margin and quantity a listing of `product` on `store` would have.

    With `price` (what the seller typed) the margin is that price's; otherwise our rules' price.
    The store's seller's own price or stock for the product, if they set one, is the one in force.
    """
    product = product_as_seen_by(product=product, user=store.user)
    supplier_currency = product.currency or getattr(product.supplier, "currency", "") or ""
    unit = product_unit_cost(product, currency=store.currency)
    cost = None if unit is None else unit.amount
    quote, message = None, ""
    if cost is None:
        message = (
            PRICE_UNKNOWN_REASON
            if product.price is None
            else NOT_CONVERTIBLE_REASON.format(source=supplier_currency or "?", target=store.currency)
        )
    elif price is not None:
        quote = quote_for_price(cost=unit, price=Decimal(price), store=store)
    else:
        quote = listing_quote(cost=unit, store=store)
    if quote is None and price is not None:
        price = Decimal(price)
    below = quote is not None and quote.margin_percent < store.min_margin_percent
    if below:
        message = BELOW_MINIMUM_REASON.format(margin=quote.margin_percent, minimum=store.min_margin_percent)
    out_of_stock = product.availability == Availability.OUT_OF_STOCK or (
        product.stock is not None and product.stock <= 0
    )
    return ListingPreview(
        product_id=product.pk,
        store_id=store.pk,
        currency=store.currency,
        supplier_price=product.price,
        supplier_currency=supplier_currency,
        cost=cost,
        price=quote.price if quote else price,
        fees=quote.fees if quote else None,
        profit=quote.profit if quote else None,
        margin_percent=quote.margin_percent if quote else None,
        quantity=0 if out_of_stock else listing_quantity(stock=product.stock, store=store),
        min_margin_percent=store.min_margin_percent,
        below_min_margin=below,
        low_margin_action=store.low_margin_action,
        out_of_stock=out_of_stock,
        blocked_by=blocklist_match(user=store.user, texts=[product.title, product.description]),
        message=message,
        unit=unit,
        quote=quote,
    )


def listing_create(
    *,
    user,
    product,
    store: StoreAccount,
    title: str | None = None,
    description: str | None = None,
    price: Decimal | None = None,
    quantity: int | None = None,
    price_locked: bool = False,
    publish_settings: dict | None = None,
    acting_user,
    request=None,
) -> Listing:
    """A pending listing of `product` on the seller's `store` (published separately).

    Without a price our rules' price is used; a price the seller gives is kept as is (lock it
    with `price_locked` to keep the automatic repricing off). A product is listed once per store.
    Listing a product puts it in the seller's tracked set (a listed product is always tracked,
    so the schedule keeps reading it).
    """
    if store.user_id != user.pk:
        raise ListingError(NOT_YOUR_STORE_MESSAGE)
    if Listing.objects.filter(product=product, store_account=store).exists():
        raise ListingError(ALREADY_LISTED_MESSAGE.format(store=store))
    if price is not None and Decimal(price) < 0:
        raise ListingError(NEGATIVE_PRICE_MESSAGE)
    if price_locked and price is not None and not price_lock_allowed(price):
        raise ListingError(PRICE_LOCK_RANGE)
    preview = listing_preview(product, store, price=price)
    if preview.price is None:
        raise ListingError(NO_PRICE_MESSAGE.format(reason=preview.message))
    try:
        listing_allowed(user)
    except TierLimitError as exc:
        raise ListingLimitError(exc.message) from None
    try:
        with transaction.atomic():
            if not user.tracked_products.filter(pk=product.pk).exists():
                try:  # a listed product is tracked, so it counts toward the tracked-products limit
                    tracking_allowed(user)
                except ProductAddError as exc:
                    raise ListingLimitError(str(exc)) from None
                user.tracked_products.add(product)
            listing = Listing.objects.create(
                user=user,
                product=product,
                store_account=store,
                title=(title or product.title or product.asin)[:500],
                description=description if description is not None else product.description,
                price=preview.price,
                price_locked=price_locked,
                quantity_available=preview.quantity if quantity is None else max(0, int(quantity)),
                status=ListingStatus.PENDING,
                publish_settings=publish_settings or {},
            )
            audit_record(
                acting_user=acting_user,
                owner=user,
                action="created",
                resource=listing,
                new_value={
                    "product_id": product.pk,
                    "store_id": store.pk,
                    "price": listing.price,
                    "price_locked": price_locked,
                    "quantity": listing.quantity_available,
                },
                request=request,
            )
    except IntegrityError:
        raise ListingError(ALREADY_LISTED_MESSAGE.format(store=store)) from None
    return listing


def listing_blocked_by(*, user, product, title: str = "") -> str | None:
    """The blocklist term that stops listing `product` (its title and description, or the title the
    seller typed), or None: checked before a listing is created, on the page and in the API."""
    return blocklist_match(user=user, texts=[product.title, product.description]) or (
        blocklist_match(user=user, texts=[title]) if title else None
    )


TITLE_PUBLISHED_MESSAGE = "The title of a published listing cannot be changed here: change it at the marketplace."
TITLE_EMPTY_MESSAGE = "A title cannot be empty."


def listing_set_title(listing: Listing, *, title: str, acting_user, request=None) -> Listing:
    """The seller renames a listing before it is published (afterwards the marketplace's copy is
    the one buyers see, and our adapters do not rewrite it); audited."""
    title = (title or "").strip()[:500]
    if not title:
        raise ListingActionError(TITLE_EMPTY_MESSAGE)
    if title == listing.title:
        return listing
    if listing.status != ListingStatus.PENDING:
        raise ListingActionError(TITLE_PUBLISHED_MESSAGE)
    old = {"title": listing.title}
    listing.title = title
    with transaction.atomic():
        listing.save(update_fields=["title", "updated_at"])
        audit_record(
            acting_user=acting_user,
            owner=listing.user,
            action="updated",
            resource=listing,
            old_value=old,
            new_value={"title": title},
            request=request,
        )
    return listing


# --- Publish --------------------------------------------------------------------------------


def _publish_refused(listing: Listing, *, reason: str, message: str, acting_user, request, action: str) -> Listing:
    """The listing stays pending with the reason and the words the seller needs (recorded once)."""
    if (listing.status_reason, listing.last_error) == (reason, message):
        return listing
    old = {"status_reason": listing.status_reason, "last_error": listing.last_error}
    listing.status_reason = reason
    listing.last_error = message
    with transaction.atomic():
        listing.save(update_fields=["status_reason", "last_error", "updated_at"])
        audit_record(
            acting_user=acting_user,
            owner=listing.user,
            action=action,
            resource=listing,
            old_value=old,
            new_value={"status_reason": reason, "last_error": message},
            request=request,
            notes=message,
        )
    return listing


def listing_data_for(listing: Listing) -> ListingData:
    """What is published for a listing: its product's title, description and images, our price and
    quantity, and the store's publish defaults overridden by the listing's own settings."""
    product, store = listing.product, listing.store_account
    return ListingData(
        sku=sku_for(listing),
        title=listing.title or product.title,
        description=listing.description or product.description or listing.title,
        price=listing.price,
        currency=store.currency,
        quantity=listing.quantity_available,
        image_urls=tuple(product.images or ()),
        cost=product_cost(
            product_as_seen_by(product=listing.active_source, user=listing.user_id), currency=store.currency
        ),
        publish_settings={**(store.publish_defaults or {}), **(listing.publish_settings or {})},
    )


def listing_publish(listing: Listing, *, acting_user=None, request=None) -> Listing:
    """Publish a pending listing; it becomes active with the marketplace's id.

    Stays pending with a status_reason and last_error when blocked by a blocklist word
    (policy_blocked), refused by the marketplace or the store needs connecting again
    (publish_failed). A marketplace asking us to wait raises Retryable (the task retries); a
    listing already published is left as it is, so a retried job publishes nothing twice.
    """
    if listing.status != ListingStatus.PENDING:
        return listing
    store = listing.store_account
    refuse = dict(acting_user=acting_user, request=request)
    term = blocklist_match_listing(listing)
    if term:
        message = BLOCKED_MESSAGE.format(term=term)
        return _publish_refused(
            listing, reason=StatusReason.POLICY_BLOCKED, message=message, action="blocked", **refuse
        )
    failed = dict(reason=StatusReason.PUBLISH_FAILED, action="publish_failed", **refuse)
    if connection_block(store):
        return _publish_refused(listing, message=RECONNECT_MESSAGE, **failed)
    if listing.quantity_available <= 0:
        return _publish_refused(listing, message=NOTHING_TO_SELL_MESSAGE, **failed)
    adapter = adapter_for(store)
    try:
        external_id = adapter.publish(listing_data_for(listing))
    except NeedsReauth as exc:
        store_mark_needs_reauth(store, exc.message)
        return _publish_refused(listing, message=exc.message, **failed)
    except Retryable:
        raise
    except MarketplaceError as exc:
        return _publish_refused(listing, message=exc.message, **failed)
    finally:
        adapter.http.close()
    old = {"status": listing.status, "status_reason": listing.status_reason}
    listing.status = ListingStatus.ACTIVE
    listing.status_reason = ""
    listing.external_listing_id = str(external_id)
    listing.last_error = ""
    listing.pending_changes = {}
    listing.last_pushed_at = timezone.now()
    with transaction.atomic():
        listing.save(
            update_fields=[
                "status",
                "status_reason",
                "external_listing_id",
                "last_error",
                "pending_changes",
                "last_pushed_at",
                "updated_at",
            ]
        )
        audit_record(
            acting_user=acting_user,
            owner=listing.user,
            action="published",
            resource=listing,
            old_value=old,
            new_value={
                "status": listing.status,
                "external_listing_id": listing.external_listing_id,
                "price": listing.price,
                "quantity": listing.quantity_available,
            },
            request=request,
        )
    return listing


def listings_publish(
    *, listing_ids: Iterable[int], user=None, acting_user=None, progress: Callable[[int, int], None] | None = None
) -> dict:
    """Publish several listings one by one (the bulk "list on my store"); a summary for the Job.

    `user` limits it to that seller's listings. Retryable stops the run (the job retries it;
    the listings already published are skipped then).
    """
    ids = list(dict.fromkeys(int(pk) for pk in listing_ids))
    listings = Listing.objects.filter(pk__in=ids).select_related("store_account", "store_account__user", "product")
    if user is not None:
        listings = listings.filter(user=user)
    found = {listing.pk: listing for listing in listings}
    summary = {"published": [], "failed": {}, "blocked": {}, "missing": [pk for pk in ids if pk not in found]}
    for done, pk in enumerate(ids, start=1):
        listing = found.get(pk)
        if listing is not None:
            listing_publish(listing, acting_user=acting_user)
            if listing.status == ListingStatus.ACTIVE:
                summary["published"].append(pk)
            elif listing.status_reason == StatusReason.POLICY_BLOCKED:
                summary["blocked"][str(pk)] = listing.last_error
            else:
                summary["failed"][str(pk)] = listing.last_error
        if progress is not None:
            progress(done, len(ids))
    return summary


def listings_publish_start(*, user, listing_ids: Iterable[int]):
    """Start publishing listings as a Job the seller can follow (progress, result, retries)."""
    from marketplaces.tasks import listing_publish_task
    from monitoring.records import job_start

    ids = [int(pk) for pk in listing_ids]
    return job_start(
        listing_publish_task, type="publish_listings", user=user, params={"listing_ids": ids}, total=len(ids)
    )


NOT_PENDING_MESSAGE = "Only a listing that is not published yet can be published."


def listing_publish_now(listing: Listing, *, acting_user, request=None):
    """Publish a pending listing now, for the seller who asked: None once it is done (the listing
    is active, or pending with the refusal in last_error), or a Job when the marketplace asked us
    to wait (publishing goes on in the background). ListingActionError when it is not pending."""
    if listing.status != ListingStatus.PENDING:
        raise ListingActionError(NOT_PENDING_MESSAGE)
    try:
        listing_publish(listing, acting_user=acting_user, request=request)
    except Retryable:
        return listings_publish_start(user=listing.user, listing_ids=[listing.pk])
    return None


BULK_ACTIONS = ("pause", "resume", "end", "publish")


@dataclass
class BulkResult:
    """What a bulk action did: the listings changed, those refused with the reason, the publishing
    Job (publish), and the ids that are not the seller's (or do not exist)."""

    done: list[Listing]
    refused: list[tuple[Listing, str]]
    job: object = None
    missing: list[int] | None = None


def listings_bulk_action(*, user, action: str, ids, acting_user, request=None) -> BulkResult:
    """Pause, resume or end the seller's listings one by one, or publish the pending ones as a Job
    (the listings page's bulk actions and the API's). Ids that are not the seller's are left out."""
    ids = list(dict.fromkeys(int(pk) for pk in ids))
    listings = list(
        Listing.objects.filter(user=user, pk__in=ids)
        .select_related("product", "product__supplier", "store_account")
        .order_by("pk")
    )
    found = {listing.pk for listing in listings}
    result = BulkResult(done=[], refused=[], missing=[pk for pk in ids if pk not in found])
    if action == "publish":
        pending = [listing for listing in listings if listing.status == ListingStatus.PENDING]
        if pending:
            result.job = listings_publish_start(user=user, listing_ids=[listing.pk for listing in pending])
            result.done = pending
        result.refused = [(listing, NOT_PENDING_MESSAGE) for listing in listings if listing not in pending]
        return result
    service = {"pause": listing_pause, "resume": listing_resume, "end": listing_end}[action]
    for listing in listings:
        try:
            service(listing, acting_user=acting_user, request=request)
        except (ListingActionError, MarketplaceError) as exc:
            result.refused.append((listing, exc.message or type(exc).__name__))
        else:
            result.done.append(listing)
    return result


# --- The seller's actions -------------------------------------------------------------------


def _ref(listing: Listing) -> ListingRef:
    return ListingRef(sku=sku_for(listing), external_id=listing.external_listing_id)


def _send(listing: Listing, call: Callable, *, ignore_not_found: bool = False):
    """Run one seller-asked call against the listing's store; refusals become ListingActionError.

    Returns the call's result (None for a listing never published). A demo store's calls go to
    the recording adapter (clients.recording).
    """
    store = listing.store_account
    if not listing.external_listing_id:
        return None
    block = (RECONNECT_MESSAGE if connection_block(store) else None) or revision_block(listing)
    if block:
        raise ListingActionError(block.removeprefix("Held: ").replace("sent tomorrow", "try again tomorrow"))
    adapter = adapter_for(store)
    try:
        result = call(adapter, _ref(listing))
    except NeedsReauth as exc:
        store_mark_needs_reauth(store, exc.message)
        raise ListingActionError(exc.message) from exc
    except Retryable as exc:
        raise ListingActionError(BUSY_MESSAGE.format(message=exc.message)) from exc
    except NotFound:
        if not ignore_not_found:
            raise
        return None
    except MarketplaceError as exc:
        listing.last_error = exc.message
        listing.save(update_fields=["last_error", "updated_at"])
        raise ListingActionError(exc.message) from exc
    finally:
        adapter.http.close()
    revisions_count(listing, 1)
    listing.last_pushed_at = timezone.now()
    return result


def _record(listing: Listing, *, action: str, old: dict, fields: list[str], acting_user, request, notes=None):
    if not listing.last_error.startswith(NOT_CONVERTED_PREFIX):
        listing.last_error = ""
    with transaction.atomic():
        listing.save(update_fields=[*fields, "last_error", "last_pushed_at", "updated_at"])
        audit_record(
            acting_user=acting_user,
            owner=listing.user,
            action=action,
            resource=listing,
            old_value=old,
            new_value={key: getattr(listing, key) for key in old},
            request=request,
            notes=notes,
        )
    return listing


def listing_pause(listing: Listing, *, acting_user, request=None) -> Listing:
    """The seller pauses a listing (manual_pause): it stays at the marketplace with nothing to sell,
    and only the seller resumes it. A listing the system paused becomes the seller's pause."""
    if listing.status == ListingStatus.PAUSED and listing.status_reason == StatusReason.MANUAL_PAUSE:
        return listing
    if listing.status not in (ListingStatus.ACTIVE, ListingStatus.PAUSED):
        raise ListingActionError(NOT_PAUSABLE_MESSAGE)
    old = {"status": listing.status, "status_reason": listing.status_reason}
    if listing.status == ListingStatus.ACTIVE:
        _send(listing, lambda adapter, ref: adapter.pause(ref))
    listing.status, listing.status_reason = ListingStatus.PAUSED, StatusReason.MANUAL_PAUSE
    return _record(
        listing, action="paused", old=old, fields=["status", "status_reason"], acting_user=acting_user, request=request
    )


def listing_resume(listing: Listing, *, acting_user, request=None) -> Listing:
    """The seller resumes a paused listing with the quantity the supplier's stock allows now.

    Refused while a reason to pause holds (out of stock, stock under the minimum, margin under
    the minimum with the store set to pause): it would only be paused again.
    """
    if listing.status != ListingStatus.PAUSED:
        raise ListingActionError(NOT_RESUMABLE_MESSAGE)
    product = product_as_seen_by(product=listing.active_source, user=listing.user)
    cost = product_cost(product, currency=listing.store_account.currency)
    *_, pause_reason = listing_target(listing, product=product, cost=cost)
    if pause_reason:
        raise ListingActionError(RESUME_BLOCKED_MESSAGE.format(reason=RESUME_BLOCK_REASONS[pause_reason]))
    quantity = listing_quantity(stock=product.stock, store=listing.store_account)
    old = {
        "status": listing.status,
        "status_reason": listing.status_reason,
        "quantity_available": listing.quantity_available,
        "external_listing_id": listing.external_listing_id,
    }
    new_id = _send(listing, lambda adapter, ref: adapter.resume(ref, quantity=quantity))
    listing.status, listing.status_reason, listing.quantity_available = ListingStatus.ACTIVE, "", quantity
    if new_id:
        listing.external_listing_id = str(new_id)
    listing.pending_changes = {}
    return _record(
        listing,
        action="resumed",
        old=old,
        fields=["status", "status_reason", "quantity_available", "external_listing_id", "pending_changes"],
        acting_user=acting_user,
        request=request,
    )


def listing_end(listing: Listing, *, acting_user, request=None) -> Listing:
    """The seller ends a listing (manual_end): taken off the marketplace; it no longer follows its supplier.

    A listing the marketplace no longer has counts as ended.
    """
    if listing.status in (ListingStatus.ENDED, ListingStatus.DELISTED):
        raise ListingActionError(NOT_ENDABLE_MESSAGE)
    old = {"status": listing.status, "status_reason": listing.status_reason, "ended_at": listing.ended_at}
    if listing.status != ListingStatus.PENDING:
        _send(listing, lambda adapter, ref: adapter.end(ref), ignore_not_found=True)
    listing.status, listing.status_reason = ListingStatus.ENDED, StatusReason.MANUAL_END
    listing.ended_at = timezone.now()
    listing.pending_changes = {}
    return _record(
        listing,
        action="ended",
        old=old,
        fields=["status", "status_reason", "ended_at", "pending_changes"],
        acting_user=acting_user,
        request=request,
    )


def listing_set_price_lock(
    listing: Listing, *, locked: bool, price: Decimal | None = None, acting_user, request=None
) -> Listing:
    """Lock the listing's price (optionally setting it, sent at once) or unlock it.

    Locked: no automatic repricing (pauses for stock and margin still apply). Unlocked: the
    listing is repriced by the store's rules straight away (subject to the automation switches).
    """
    if price is not None:
        price = Decimal(price)
        if price < 0:
            raise ListingActionError(NEGATIVE_PRICE_MESSAGE)
    if locked and not price_lock_allowed(price if price is not None else listing.price):
        raise ListingActionError(PRICE_LOCK_RANGE)
    old = {"price_locked": listing.price_locked, "price": listing.price}
    if price is not None and price != listing.price and listing.status in (ListingStatus.ACTIVE, ListingStatus.PAUSED):
        store = listing.store_account

        def update(adapter, ref):
            [result] = adapter.update_price_quantity([PriceQuantity(ref=ref, price=price, currency=store.currency)])
            if result.error is not None:
                raise result.error

        _send(listing, update)
    if price is not None:
        listing.price = price
    listing.price_locked = locked
    if (old["price_locked"], old["price"]) == (listing.price_locked, listing.price):
        return listing
    _record(
        listing,
        action="price_locked" if locked else "price_unlocked",
        old=old,
        fields=["price_locked", "price"],
        acting_user=acting_user,
        request=request,
    )
    if not locked and listing.status in (ListingStatus.PENDING, ListingStatus.ACTIVE, ListingStatus.PAUSED):
        listings_follow(product=listing.product, listing_ids=[listing.pk])
        listing.refresh_from_db()
    return listing


# --- Stopping to follow a product -----------------------------------------------------------


@dataclass
class ProductDrop:
    """What "End its listings and stop tracking" did: the listings ended, those a marketplace
    refused (listing, reason), and whether the product left the seller's tracked set."""

    ended: list[Listing]
    refused: list[tuple[Listing, str]]
    untracked: bool


def product_drop(*, user, product, acting_user, request=None) -> ProductDrop:
    """End the seller's live listings of a product, then take it off their tracked set (each step
    audited). A listed product stays tracked: when a marketplace refuses to end a listing, the
    product stays in the set and the seller is told which listing and why. Where it is only a
    backup source of a listing, it is detached from that listing (which goes on selling)."""
    from .sources import listing_source_remove

    ended, refused = [], []
    backups = ListingSource.objects.filter(listing__user=user, product=product).select_related("listing", "product")
    for source in backups:
        listing_source_remove(source.listing, source=source, acting_user=acting_user, request=request)
    for listing in Listing.objects.live().filter(user=user, product=product).select_related("store_account"):
        try:
            ended.append(listing_end(listing, acting_user=acting_user, request=request))
        except ListingActionError as exc:
            refused.append((listing, str(exc)))
    if refused:
        return ProductDrop(ended=ended, refused=refused, untracked=False)
    product_untrack(user=user, product=product, request=request)
    return ProductDrop(ended=ended, refused=[], untracked=True)


class ProductListed(ListingError):
    """A product with live listings stays tracked (its listings follow the supplier); `count` says
    how many: end them first (product_drop)."""

    def __init__(self, count: int):
        super().__init__(f"{count} live listing(s)")
        self.count = count


def product_stop_tracking(*, user, product, request=None) -> None:
    """Take a product off the seller's list (audited), unless it is listed: a listed product stays
    tracked (ProductListed), so its listings keep following the supplier."""
    listed = Listing.objects.live().filter(user=user).using_product(product).count()
    if listed:
        raise ProductListed(listed)
    product_untrack(user=user, product=product, request=request)


def product_own_values_follow(*, user, product) -> bool:
    """After the seller set or cleared their own price or stock: their live listings of the product
    follow at once (theirs only). False when that failed: the product is marked so the next
    tracking round makes them follow (the values themselves are saved)."""
    from catalog.models import Product

    listings = Listing.objects.live().filter(user=user).using_product(product)
    listing_ids = list(listings.values_list("pk", flat=True))
    if not listing_ids:
        return True
    try:
        listings_follow(product=product, listing_ids=listing_ids)
    except Exception:  # noqa: BLE001 - the values are saved; the next round makes the listings follow
        logger.exception("Following product %s after a seller's own values failed", product.pk)
        Product.objects.filter(pk=product.pk).update(follow_pending=True)
        return False
    return True
