"""Catalog services: adding products, refreshing them (fetch → extract → apply), and what is due."""

import codecs
import csv
import io
import logging
import random
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal
from itertools import chain
from types import SimpleNamespace

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Tier
from monitoring.records import (
    CONTINUE,
    DATABASE_LOST,
    alert_clear,
    alert_raise,
    audit_record,
    audit_values,
    job_out_of_time,
    job_progress,
)

from . import demo_shop
from .extraction import extract
from .fetching import Blocked, FetchError, UnsafeURL, fetch_page
from .identify import IdentifyError, family_configs_from_db, generic_product_id, identify
from .models import (
    Availability,
    ChangeReason,
    HeldReading,
    PriceHistory,
    Product,
    ProductOverride,
    StockHistory,
    Supplier,
)
from .readings import Identity, clean_text, reading_clean, reading_identity

logger = logging.getLogger(__name__)

IN_STOCK_STATES = (Availability.IN_STOCK, Availability.LOW_STOCK)
BLOCKED_PAGE = "The supplier answered with a robot check instead of the product page."
LAYOUT_UNRECOGNISED = "The page no longer looks like a product page we know for this supplier (no title or price)."
LIMIT_REACHED_MESSAGE = "Your {tier} plan tracks at most {limit} products; untrack some or upgrade to add more."
WRONG_PRODUCT_MESSAGE = "The supplier link now shows another product: {reason}."
NOT_WRITTEN_MESSAGE = "The reading could not be written: {error}"
READ_CRASHED_MESSAGE = "Reading the page failed: {error}"
INVALID_MESSAGE = "The reading was refused: {reason}."
# Outcomes that count as a failed refresh (backoff, failure count).
FAILED_STATUSES = ("blocked", "failed", "unrecognised", "invalid", "wrong_product")


class ProductAddError(Exception):
    """A product could not be added; the message is meant for the seller."""


@dataclass
class RefreshOutcome:
    """What one refresh did, for the Job result and for the steps that follow (listings, alerts)."""

    product_id: int
    status: str  # updated | unchanged | held | wrong_product | invalid | blocked | failed | unrecognised
    price_changed: bool = False
    old_price: Decimal | None = None
    new_price: Decimal | None = None
    currency: str = ""
    stock_changed: bool = False
    old_stock: int | None = None
    new_stock: int | None = None
    old_availability: str = ""
    new_availability: str = ""
    message: str = ""
    changed_fields: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # optional values of the reading dropped, and why

    @property
    def failed(self):
        return self.status in FAILED_STATUSES

    @property
    def changed(self):
        return self.price_changed or self.stock_changed

    def as_dict(self):
        data = asdict(self)
        for key in ("old_price", "new_price"):
            data[key] = None if data[key] is None else str(data[key])
        return data


# --- Applying a reading ---------------------------------------------------------------------


def reading_doubt(product: Product, extraction) -> str | None:
    """Why a reading looks wrong enough to need a second fetch before it is applied, or None."""
    if product.price and extraction.price is not None:
        moved = abs(extraction.price - product.price) / product.price * 100
        if moved > settings.PRICE_CHANGE_CONFIRM_PERCENT:
            return f"price moved {moved:.0f}% ({product.price} → {extraction.price})"
    if product.currency and extraction.currency and extraction.currency != product.currency:
        return f"currency changed ({product.currency} → {extraction.currency})"
    if product.availability in IN_STOCK_STATES and extraction.availability == Availability.OUT_OF_STOCK:
        return "went from in stock to out of stock"
    return None


def readings_agree(first, second) -> bool:
    """Two readings of one page tell the same story on the fields that matter for money."""
    return (first.price, first.currency, first.availability) == (second.price, second.currency, second.availability)


def extraction_as_dict(extraction) -> dict:
    return {
        "title": extraction.title,
        "price": None if extraction.price is None else str(extraction.price),
        "currency": extraction.currency,
        "stock": extraction.stock,
        "availability": extraction.availability,
        "rating": None if extraction.rating is None else str(extraction.rating),
        "reviews_count": extraction.reviews_count,
        "asin": getattr(extraction, "asin", None),
        "gtin": getattr(extraction, "gtin", None),
        "shipping_hint": None if getattr(extraction, "shipping_hint", None) is None else str(extraction.shipping_hint),
        "url": getattr(extraction, "page_url", None) or getattr(extraction, "canonical_url", None),
    }


APPLY_BOOKKEEPING = [
    "last_scraped_at",
    "failure_count",
    "wrong_product_count",
    "last_error",
    "refresh_claimed_until",
    "refresh_status",
    "retry_not_before",
    "updated_at",
]
APPLY_CONTENT = ["price", "currency", "stock", "availability", "title", "description", "rating", "reviews_count"]
IDENTITY_FIELDS = ("gtin", "mpn", "brand")


def _reading_changes(product: Product, extraction, *, reason: str, now):
    """Set a good reading's values on the product (in memory); return the outcome and the history
    rows to write. A field the page did not give (None, or availability "unknown") keeps its value."""
    outcome = RefreshOutcome(product_id=product.pk, status="unchanged", currency=product.currency)
    rows = []
    new_currency = extraction.currency or product.currency
    if extraction.price is not None and (extraction.price != product.price or new_currency != product.currency):
        rows.append(
            PriceHistory.build(
                product=product,
                old_price=product.price,
                new_price=extraction.price,
                currency=new_currency,
                reason=reason,
                recorded_at=now,
            )
        )
        outcome.price_changed = True
        outcome.old_price, outcome.new_price = product.price, extraction.price
        product.price, product.currency = extraction.price, new_currency
        outcome.changed_fields += ["price", "currency"]
    outcome.currency = product.currency

    if extraction.availability and extraction.availability != Availability.UNKNOWN:
        new_stock = extraction.stock
        if (new_stock, extraction.availability) != (product.stock, product.availability):
            rows.append(
                StockHistory(
                    product=product,
                    old_stock=product.stock,
                    new_stock=new_stock,
                    old_availability=product.availability,
                    new_availability=extraction.availability,
                    reason=reason,
                    recorded_at=now,
                )
            )
            outcome.stock_changed = True
            outcome.old_stock, outcome.new_stock = product.stock, new_stock
            outcome.old_availability, outcome.new_availability = product.availability, extraction.availability
            product.stock, product.availability = new_stock, extraction.availability
            outcome.changed_fields += ["stock", "availability"]

    for name in ("title", "description", "rating", "reviews_count"):
        value = getattr(extraction, name)
        if value not in (None, "") and value != getattr(product, name):
            setattr(product, name, value[:500] if name == "title" else value)
            outcome.changed_fields.append(name)
    for name in IDENTITY_FIELDS:  # stored when the page states them, for matching across suppliers
        value = getattr(extraction, name, None)
        if value and value != getattr(product, name):
            setattr(product, name, value)
            outcome.changed_fields.append(name)
    if extraction.images and extraction.images != product.images:
        product.images = extraction.images
        outcome.changed_fields.append("images")
    shipping_hint = getattr(extraction, "shipping_hint", None)  # a hint only: never a change to follow
    if shipping_hint is not None and shipping_hint != product.shipping_hint:
        product.shipping_hint = shipping_hint
        outcome.changed_fields.append("shipping_hint")

    if outcome.changed or product.wrong_product_count:
        # A change, or our product's page again after wrong-product readings (listings may be
        # paused for it): the follow-up runs.
        product.follow_pending = True
    if outcome.changed_fields:
        outcome.status = "updated"
    product.refresh_status = outcome.status
    product.last_scraped_at = now
    product.failure_count = 0
    product.wrong_product_count = 0
    product.last_error = ""
    product.refresh_claimed_until = _claim_after_write(product)
    product.retry_not_before = None
    return outcome, rows


def _claim_after_write(product: Product):
    """A product's claim ends with the statement that writes its reading, unless a follow-up is
    pending (its listings, its alerts): then the follow-up's own last statement ends it
    (product_follow_up_done), so no other worker reads the product meanwhile."""
    return product.refresh_claimed_until if product.follow_pending else None


def products_apply(readings, *, reason: str = "scrape", now=None) -> list[RefreshOutcome]:
    """Write good (already checked) readings [(product, extraction), …] in a few statements:
    history rows only where a value changed, every product in one UPDATE, open held readings
    discarded. When the batch fails, each product is written again alone in its own savepoint, so
    a reading the database refuses fails alone: it becomes that product's recorded failure."""
    if not readings:
        return []
    now = now or timezone.now()
    before = [product.__dict__.copy() for product, _ in readings]  # the batch changes them in memory
    try:
        with transaction.atomic():
            return _products_write(readings, reason=reason, now=now)
    except DATABASE_LOST:
        # Not a bad row: the connection went (maybe after the commit). Writing again here could
        # apply a reading twice; the round carries on elsewhere and reads again what is unwritten.
        raise
    except Exception as exc:  # noqa: BLE001 - one bad row must not lose the batch
        if len(readings) > 1:
            logger.warning("A batch of %s readings failed (%s); writing them one by one", len(readings), exc)
        for (product, _), state in zip(readings, before, strict=True):
            product.__dict__.update(state)
        if len(readings) == 1:
            return [_write_failed(readings[0][0], exc, now=now)]
    outcomes = []
    for (product, extraction), state in zip(readings, before, strict=True):
        try:
            with transaction.atomic():  # its own savepoint (deferred constraints are checked on leaving it)
                [outcome] = _products_write([(product, extraction)], reason=reason, now=now)
        except DATABASE_LOST:
            raise
        except Exception as exc:  # noqa: BLE001
            product.__dict__.update(state)
            outcome = _write_failed(product, exc, now=now)
        outcomes.append(outcome)
    return outcomes


def _write_failed(product: Product, exc: Exception, *, now) -> RefreshOutcome:
    logger.warning("The reading of product %s could not be written: %s", product.pk, exc)
    message = NOT_WRITTEN_MESSAGE.format(error=f"{type(exc).__name__}: {exc}")
    return product_record_failure(product=product, status="failed", message=message, now=now)


def _products_write(readings, *, reason: str, now) -> list[RefreshOutcome]:
    outcomes, price_rows, stock_rows, fields = [], [], [], set(APPLY_BOOKKEEPING)
    for product, extraction in readings:
        outcome, rows = _reading_changes(product, extraction, reason=reason, now=now)
        outcomes.append(outcome)
        price_rows += [row for row in rows if isinstance(row, PriceHistory)]
        stock_rows += [row for row in rows if isinstance(row, StockHistory)]
        fields.update(outcome.changed_fields)
        if product.follow_pending:
            fields.add("follow_pending")
    products = [product for product, _ in readings]
    _rows_insert(PriceHistory, price_rows)
    _rows_insert(StockHistory, stock_rows)
    for product in products:
        product.updated_at = now
    _products_save(products, sorted(fields))
    HeldReading.objects.filter(product__in=products, status=HeldReading.Status.OPEN).update(
        status=HeldReading.Status.DISCARDED, resolved_at=now
    )
    return outcomes


def _products_save(products: list[Product], names: list[str]) -> None:
    """UPDATE the named fields of many products in one batched statement.

    On the refresh hot path: QuerySet.bulk_update builds a CASE expression per field and row,
    which costs more Python time than reading the pages does.
    """
    fields = [Product._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(Product._meta.db_table)} SET {assignments} WHERE {quote(Product._meta.pk.column)} = %s"  # noqa: S608
    _executemany(
        sql,
        [
            [field.get_db_prep_save(getattr(product, field.attname), connection) for field in fields] + [product.pk]
            for product in products
        ],
    )


def _rows_insert(model, objs: list) -> None:
    """INSERT new rows in one batched statement (their primary keys are not read back)."""
    if not objs:
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    values = ", ".join(["%s"] * len(fields))
    _executemany(
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({values})",  # noqa: S608
        [[field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields] for obj in objs],
    )


def _executemany(sql: str, rows: list) -> None:
    """One statement for many rows. On PostgreSQL the values travel apart from the statement
    (psycopg's server-side binding) instead of being quoted into its text one by one in Python,
    which on this path costs more than the database's work."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(sql, rows)
            return
        with psycopg.Cursor(connection.connection) as bound:
            bound.executemany(sql, rows)


def product_apply(*, product: Product, extraction, reason: str = "scrape", now=None) -> RefreshOutcome:
    """Write one good reading onto its product (see products_apply)."""
    return products_apply([(product, extraction)], reason=reason, now=now)[0]


@transaction.atomic
def product_hold(*, product: Product, extraction, reason: str, now=None) -> RefreshOutcome:
    """Keep a doubtful reading aside (visible to the seller) without acting on it."""
    now = now or timezone.now()
    HeldReading.objects.create(product=product, reading=extraction_as_dict(extraction), reason=reason[:300])
    product.refresh_claimed_until = _claim_after_write(product)
    Product.objects.filter(pk=product.pk).update(
        last_scraped_at=now, refresh_claimed_until=product.refresh_claimed_until, refresh_status="held"
    )
    return RefreshOutcome(product_id=product.pk, status="held", currency=product.currency, message=reason)


@transaction.atomic
def product_hold_wrong(*, product: Product, extraction, identity: Identity, now=None) -> RefreshOutcome:
    """A reading of another product's page writes nothing of it: it is held (one open row per
    product, kept up to date) with both identities, and counts as a failure (backoff) and as one
    more wrong-product reading in a row (past WRONG_PRODUCT_PAUSE_AFTER the listings pause)."""
    now = now or timezone.now()
    message = WRONG_PRODUCT_MESSAGE.format(reason=identity.reason)
    fields = {
        "reading": extraction_as_dict(extraction),
        "identity": identity.as_dict(),
        "reason": message[:300],
    }
    held = product.held_readings.filter(status=HeldReading.Status.OPEN, kind=HeldReading.Kind.WRONG_PRODUCT).first()
    if held is None:
        HeldReading.objects.create(product=product, kind=HeldReading.Kind.WRONG_PRODUCT, **fields)
    else:
        for name, value in fields.items():
            setattr(held, name, value)
        held.save(update_fields=list(fields))
    product.wrong_product_count += 1
    Product.objects.filter(pk=product.pk).update(wrong_product_count=F("wrong_product_count") + 1)
    outcome = product_record_failure(product=product, status="wrong_product", message=message, now=now)
    return outcome


def failure_backoff(failure_count: int, retry_after: float | None = None) -> timedelta:
    """How long a product that failed `failure_count` times in a row waits before its next try."""
    if retry_after:
        return timedelta(seconds=retry_after)
    ceiling = min(settings.REFRESH_BACKOFF_MAX.total_seconds(), 300 * 2 ** (failure_count - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def product_record_failure(
    *, product: Product, status: str, message: str, retry_after: float | None = None, now=None
) -> RefreshOutcome:
    """Count a failed refresh and back off; known values stay as they were (a blocked page is never data)."""
    now = now or timezone.now()
    message = clean_text(message, 1000) or status
    product.failure_count += 1
    product.last_error = message
    product.refresh_claimed_until = _claim_after_write(product)
    product.refresh_status = status
    product.retry_not_before = now + failure_backoff(product.failure_count, retry_after)
    # An UPDATE, not save(): a product deleted meanwhile is no error of this round's.
    Product.objects.filter(pk=product.pk).update(
        failure_count=F("failure_count") + 1,
        last_error=product.last_error,
        refresh_claimed_until=product.refresh_claimed_until,
        refresh_status=status,
        retry_not_before=product.retry_not_before,
        updated_at=now,
    )
    return RefreshOutcome(product_id=product.pk, status=status, currency=product.currency, message=message)


# --- Reading a product page -----------------------------------------------------------------


def page_extract(*, html: str | bytes, supplier: Supplier, url: str):
    """Extract product fields from a page with the supplier family's rules."""
    template = supplier.template
    return extract(html, supplier_config=template.scraper_config, family=template.name, url=url)


def product_read(*, url: str, supplier: Supplier, avoid_proxy_ids=()):
    """Fetch and extract one page; a blocked page raises Blocked, never returns data."""
    result = fetch_page(url=url, supplier=supplier, avoid_proxy_ids=avoid_proxy_ids)
    extraction = page_extract(html=result.page, supplier=supplier, url=result.final_url)
    if extraction.blocked:
        raise Blocked(extraction.blocked_reason or BLOCKED_PAGE, url=url)
    return extraction, result


@dataclass
class PageReading:
    """What reading a product's page gave, before anything is written."""

    kind: str  # good | held | wrong_product | invalid | blocked | failed | unrecognised
    extraction: object = None
    message: str = ""
    retry_after: float | None = None
    identity: Identity | None = None
    notes: list[str] = field(default_factory=list)


def reading_check(*, product: Product, extraction) -> PageReading:
    """Clean a reading and check it (catalog.readings): another product's page comes back
    "wrong_product", values out of bounds "invalid", else "good" with notes on what was dropped."""
    template = product.supplier.template
    problem, notes = reading_clean(extraction, currency_fallback=product.currency or product.supplier.currency)
    identity = reading_identity(product, extraction, family=template.name, config=template.scraper_config)
    if not identity.same:
        return PageReading("wrong_product", extraction, identity.reason, identity=identity)
    if problem:
        return PageReading("invalid", extraction, INVALID_MESSAGE.format(reason=problem), notes=notes)
    return PageReading("good", extraction, notes=notes)


def product_read_checked(*, product: Product) -> PageReading:
    """Fetch and extract a product's page, writing nothing. The reading is checked first (identity,
    then bounds: reading_check); a doubtful one is then confirmed by a second fetch through another
    proxy, which must be our product's too; unconfirmed, it comes back "held". A second fetch
    never confirms identity: a wrong-product reading is never fetched again."""
    try:
        extraction, result = product_read(url=product.url, supplier=product.supplier)
    except Blocked as exc:
        return PageReading("blocked", message=exc.message, retry_after=exc.retry_after)
    except (FetchError, UnsafeURL) as exc:
        return PageReading("failed", message=str(exc))
    if extraction.layout_unrecognised:
        return PageReading("unrecognised", message=LAYOUT_UNRECOGNISED)
    checked = reading_check(product=product, extraction=extraction)
    if checked.kind != "good":
        return checked
    doubt = reading_doubt(product, extraction)
    if doubt:
        avoid = [result.proxy_id] if result.proxy_id else []
        try:
            second, _ = product_read(url=product.url, supplier=product.supplier, avoid_proxy_ids=avoid)
        except (FetchError, UnsafeURL):
            return PageReading("held", extraction, f"{doubt}; the second fetch failed")
        if second.layout_unrecognised or reading_check(product=product, extraction=second).kind != "good":
            return PageReading("held", extraction, f"{doubt}; the second fetch was not a good reading of our product")
        if not readings_agree(extraction, second):
            return PageReading("held", extraction, f"{doubt}; a second fetch disagreed")
    return checked


def product_read_guarded(*, product: Product) -> PageReading:
    """product_read_checked, where any exception (a page that makes the extraction raise) becomes
    this product's failed reading instead of stopping the caller."""
    try:
        return product_read_checked(product=product)
    except Exception as exc:  # noqa: BLE001 - one product's failure must not stop the others
        logger.exception("Reading product %s failed", product.pk)
        return PageReading("failed", message=READ_CRASHED_MESSAGE.format(error=f"{type(exc).__name__}: {exc}"))


def product_reading_record(*, product: Product, reading: PageReading) -> RefreshOutcome:
    """Record a reading that is not applied: held for the seller to see, or a failure."""
    if reading.kind == "held":
        return product_hold(product=product, extraction=reading.extraction, reason=reading.message)
    if reading.kind == "wrong_product":
        return product_hold_wrong(product=product, extraction=reading.extraction, identity=reading.identity)
    return product_record_failure(
        product=product, status=reading.kind, message=reading.message, retry_after=reading.retry_after
    )


def product_refresh(*, product: Product) -> RefreshOutcome:
    """Fetch → extract → check → apply for one product (see product_read_checked and
    products_apply); whatever goes wrong is this product's recorded failure, never an exception."""
    reading = product_read_guarded(product=product)
    if reading.kind == "good":
        outcome = products_apply([(product, reading.extraction)])[0]
        outcome.notes = reading.notes
        return outcome
    try:
        return product_reading_record(product=product, reading=reading)
    except Exception as exc:  # noqa: BLE001
        logger.exception("Recording the reading of product %s failed", product.pk)
        return product_record_failure(product=product, status="failed", message=f"{type(exc).__name__}: {exc}")


# --- What is due ----------------------------------------------------------------------------


def products_due(now=None):
    """Products whose refresh is due: not archived, tracked by a real seller, and last read longer
    ago than the most demanding such seller's tier allows; in development also the demo shop's
    products, whoever tracks them, every DEMO_SHOP_REFRESH_INTERVAL. (A listed product stays in its seller's
    tracked set, so who tracks a product is the whole question.)"""
    now = now or timezone.now()
    due = Q()
    for tier in Tier.values:
        stale = Q(last_scraped_at__isnull=True) | Q(last_scraped_at__lt=now - settings.TIER_REFRESH_INTERVALS[tier])
        tracked = Q(trackers__tier=tier, trackers__is_demo=False, trackers__is_active=True)
        due |= tracked & stale
    if demo_shop.is_enabled():
        # Development: the demo shop's products (the demo seller's included) are followed live.
        stale = Q(last_scraped_at__isnull=True) | Q(last_scraped_at__lt=now - settings.DEMO_SHOP_REFRESH_INTERVAL)
        due |= Q(url__startswith=demo_shop.shop_url(), trackers__is_active=True) & stale
    claimable = Q(refresh_claimed_until__isnull=True) | Q(refresh_claimed_until__lt=now)
    not_backing_off = Q(retry_not_before__isnull=True) | Q(retry_not_before__lt=now)
    return Product.objects.live().filter(due, claimable, not_backing_off).distinct()


def products_waiting(now=None) -> bool:
    """Is there anything for a scheduled round to do: a product due, or a follow-up left unfinished?"""
    unfinished = Product.objects.filter(follow_pending=True, is_archived=False)
    return products_due(now).exists() or unfinished.exists()


def products_claim(
    *, limit: int, product_ids=None, now=None, job_id: int | None = None, fresh: bool = True
) -> list[Product]:
    """Claim up to `limit` due products (and any whose follow-up a stopped worker left unfinished),
    or the given ones, for this worker; rows another worker holds are skipped.

    For a round (`job_id`, its Job): first the products still claimed for it and not yet written,
    which a worker that died left unread; then (unless not `fresh`: its time is up) products it has
    not taken yet, so a round reads each product once. Claiming clears refresh_status: the write
    sets it again, so it tells the products the round wrote from those it has yet to read."""
    now = now or timezone.now()
    claimable = Q(refresh_claimed_until__isnull=True) | Q(refresh_claimed_until__lt=now)
    if product_ids is not None:  # a seller asked: no waiting out a failure backoff
        candidates = Product.objects.live().filter(claimable, pk__in=product_ids)
    else:
        # `claimable` stands on the rows locked, not only inside the subquery: PostgreSQL checks a
        # row again when another worker claimed it since this statement began, and only the
        # conditions on the locked rows themselves are checked again.
        unfinished = Q(follow_pending=True, is_archived=False)
        candidates = Product.objects.filter(claimable, Q(pk__in=products_due(now).values("pk")) | unfinished)
    with transaction.atomic():
        ids = []
        if job_id is not None:
            ids = list(
                Product.objects.filter(refresh_job_id=job_id, refresh_claimed_until__isnull=False, refresh_status="")
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:limit]
            )
            candidates = candidates.exclude(refresh_job_id=job_id)
        if fresh and len(ids) < limit:
            ids += list(
                candidates.order_by(F("last_scraped_at").asc(nulls_first=True), "pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[: limit - len(ids)]
            )
        Product.objects.filter(pk__in=ids).update(
            refresh_claimed_until=now + settings.REFRESH_CLAIM_DURATION, refresh_job_id=job_id, refresh_status=""
        )
    return list(Product.objects.filter(pk__in=ids).select_related("supplier", "supplier__family"))


def products_claims_renew(*, job_id: int, now=None) -> int:
    """Extend the claims a round still holds (one statement, whatever their number): renewed with
    its Job's heartbeat, so a live worker never loses its batch however slow the sites are."""
    now = now or timezone.now()
    return Product.objects.filter(refresh_job_id=job_id, refresh_claimed_until__isnull=False).update(
        refresh_claimed_until=now + settings.REFRESH_CLAIM_DURATION
    )


def products_claims_release(*, product_ids) -> int:
    """Give up claims on products left unread (a round stopped early or ran out of time): due
    still, they go to the next batch or round."""
    return Product.objects.filter(pk__in=product_ids, refresh_claimed_until__isnull=False).update(
        refresh_claimed_until=None, refresh_job_id=None
    )


def products_claims_end(*, job_id: int) -> int:
    """End every claim a round still holds (at its end: follow-ups its dead worker left are the next
    round's, through follow_pending)."""
    return Product.objects.filter(refresh_job_id=job_id, refresh_claimed_until__isnull=False).update(
        refresh_claimed_until=None
    )


def round_products_done(*, job_id: int):
    """The products a round finished (read and written, or its failure recorded)."""
    return Product.objects.filter(refresh_job_id=job_id).exclude(refresh_status="")


# --- Suppliers ------------------------------------------------------------------------------


def supplier_for_site(*, family: str, site_name: str, base_url: str, currency: str) -> Supplier:
    """The site row for a family's site, created on first use from its template."""
    template = Supplier.objects.get(name=family, family__isnull=True)
    if site_name == template.name:
        return template
    supplier, _ = Supplier.objects.get_or_create(
        name=site_name,
        defaults={
            "family": template,
            "display_name": demo_shop.SHOP_NAME if base_url == demo_shop.origin_url() else "",
            "base_url": base_url,
            "currency": currency or template.currency,
            "rate_limit": template.rate_limit,
            "requires_js": template.requires_js,
        },
    )
    return supplier


def product_track(*, user, product: Product, request=None) -> bool:
    """Start tracking a product; False if the seller already tracks it. Enforces the tier limit."""
    if user.tracked_products.filter(pk=product.pk).exists():
        return False
    limit = settings.TIER_PRODUCT_LIMITS.get(user.tier)
    if limit is not None and user.tracked_products.count() >= limit:
        raise ProductAddError(LIMIT_REACHED_MESSAGE.format(tier=user.get_tier_display(), limit=limit))
    user.tracked_products.add(product)
    audit_record(
        acting_user=user,
        owner=user,
        action="tracked",
        resource=product,
        new_value={"url": product.url},
        request=request,
    )
    return True


def product_untrack(*, user, product: Product, request=None) -> None:
    """Stop tracking: the product leaves this seller's list only (archiving is staff's)."""
    user.tracked_products.remove(product)
    audit_record(acting_user=user, owner=user, action="untracked", resource=product, request=request)


def refresh_interval_for(user) -> timedelta:
    return settings.TIER_REFRESH_INTERVALS[user.tier]


# --- Adding products ------------------------------------------------------------------------


@dataclass
class AddResult:
    """The outcome of one pasted link, ASIN or CSV row, as the seller sees it."""

    status: str  # added | tracking | already_tracked | error
    message: str
    product_id: int | None = None


NO_PRODUCT_DATA = "No product data found on this page (no title or price); only product pages can be tracked."
ALREADY_TRACKED = "You already track this product."
NOW_TRACKING = "Known product: now in your list."
ADDED = "Added."
ADDED_READ_LATER = "Added; it will be read in the next tracking round."
ADDED_FIRST_READ_FAILED = "Added; the first read failed ({message}); it will be tried again."


def tracking_allowed(user) -> None:
    """Raise ProductAddError when the seller's tier allows no more tracked products."""
    limit = settings.TIER_PRODUCT_LIMITS.get(user.tier)
    if limit is not None and user.tracked_products.count() >= limit:
        raise ProductAddError(LIMIT_REACHED_MESSAGE.format(tier=user.get_tier_display(), limit=limit))


def amazon_site_hint(hint: str, default: str) -> str:
    """The Amazon site a CSV `supplier` column names ("amazon.de", "amazon-de"), else the default."""
    hint = (hint or "").strip().lower()
    if not hint.startswith("amazon"):
        return default
    return hint.replace("amazon-", "amazon.").replace("co-uk", "co.uk").replace("com-", "com.")


def product_add(*, user, text: str, supplier_hint: str = "", read_now: bool = True, request=None) -> AddResult:
    """Add a product by link or ASIN to the seller's list; a product already known is not read again.

    A generic shop's page is read at once (its product id comes from the page). A known family's
    product is created from its link and read here when `read_now`, else by the next tracking
    round (CSV imports: thousands of rows must not wait on the supplier's rate limit).
    """
    try:
        identified = identify(
            text,
            default_amazon_site=amazon_site_hint(supplier_hint, user.amazon_site),
            configs=family_configs_from_db(),
        )
        supplier = supplier_for_site(
            family=identified.family,
            site_name=identified.site_name,
            base_url=identified.base_url,
            currency=identified.currency or "",
        )
        if identified.product_id:
            existing = Product.objects.filter(supplier=supplier, asin=identified.product_id).first()
            if existing is not None:
                return _track_existing(user=user, product=existing, request=request)
            tracking_allowed(user)
            product = Product.objects.create(
                supplier=supplier,
                asin=identified.product_id,
                url=identified.canonical_url,
                currency=identified.currency or supplier.currency,
            )
            product_track(user=user, product=product, request=request)
            if not read_now:
                return AddResult("added", ADDED_READ_LATER, product.pk)
            outcome = product_refresh(product=product)  # never raises: a failed first read stays added
            if outcome.status in ("updated", "unchanged", "held"):
                return AddResult("added", ADDED, product.pk)
            return AddResult("added", ADDED_FIRST_READ_FAILED.format(message=outcome.message), product.pk)
        tracking_allowed(user)
        return _add_generic(user=user, identified=identified, supplier=supplier, request=request)
    except (IdentifyError, ProductAddError, UnsafeURL) as exc:
        return AddResult("error", str(exc))
    except FetchError as exc:
        return AddResult("error", f"The page could not be read: {exc.message}")


def _track_existing(*, user, product, request) -> AddResult:
    if not product_track(user=user, product=product, request=request):
        return AddResult("already_tracked", ALREADY_TRACKED, product.pk)
    return AddResult("tracking", NOW_TRACKING, product.pk)


def _add_generic(*, user, identified, supplier, request) -> AddResult:
    """A shop's page is read first: the product is what the page says it is (its SKU, else its
    address). The reading is cleaned and bounded as any other; out of bounds, the product is added
    with nothing of it written and the failure recorded."""
    try:
        extraction, result = product_read(url=identified.canonical_url, supplier=supplier)
    except (FetchError, UnsafeURL):
        raise
    except Exception as exc:  # noqa: BLE001 - a page that breaks the extraction is refused, not a crash
        logger.exception("Reading %s failed", identified.canonical_url)
        return AddResult("error", READ_CRASHED_MESSAGE.format(error=f"{type(exc).__name__}: {exc}"))
    if extraction.layout_unrecognised or (extraction.title is None and extraction.price is None):
        return AddResult("error", NO_PRODUCT_DATA)
    problem, _ = reading_clean(extraction, currency_fallback=supplier.currency)
    asin = generic_product_id(extraction.canonical_url or identified.canonical_url, sku=extraction.asin)
    currency = extraction.currency if not problem else ""
    product, created = Product.objects.get_or_create(
        supplier=supplier,
        asin=asin,
        defaults={"url": extraction.canonical_url or result.final_url, "currency": currency or ""},
    )
    if not created:
        return _track_existing(user=user, product=product, request=request)
    product_track(user=user, product=product, request=request)
    if problem:
        outcome = product_record_failure(
            product=product, status="invalid", message=INVALID_MESSAGE.format(reason=problem)
        )
        return AddResult("added", ADDED_FIRST_READ_FAILED.format(message=outcome.message), product.pk)
    outcome = product_apply(product=product, extraction=extraction)
    if outcome.failed:
        return AddResult("added", ADDED_FIRST_READ_FAILED.format(message=outcome.message), product.pk)
    return AddResult("added", ADDED, product.pk)


ADD_JOB_TYPE = "add_products"
IMPORT_JOB_TYPE = "import_csv"


def product_known(*, user, text: str) -> Product | None:
    """The product a link or ASIN names when it is already known here, found without fetching any
    page (None when it is not known yet); IdentifyError when the text names no product."""
    identified = identify(text, default_amazon_site=user.amazon_site, configs=family_configs_from_db())
    products = Product.objects.filter(supplier__name=identified.site_name).select_related("supplier")
    if identified.product_id:
        return products.filter(asin=identified.product_id).first()
    return products.filter(url=identified.canonical_url).order_by("pk").first()


def products_add_start(*, user, rows: list[dict], read_now: bool, job_type: str = ADD_JOB_TYPE):
    """Start adding pasted or imported rows as a Job the seller follows (products_import runs it in
    a worker: no page is fetched in the request). Refused at once (ProductAddError) when the tier
    allows no more products."""
    from monitoring.records import job_start

    from .tasks import products_import_task

    tracking_allowed(user)
    return job_start(
        products_import_task, type=job_type, user=user, params={"rows": rows, "read_now": read_now}, total=len(rows)
    )


# --- History as CSV -------------------------------------------------------------------------

HISTORY_CSV_HEADER = ["recorded_at", "product", "kind", "old", "new", "currency", "change_percent", "reason"]


def history_csv_rows(product):
    """Price and stock changes of a product, oldest first, one CSV row per changed value; times in
    the active (the seller's) time zone."""
    title = product.title or str(product)
    price_rows = (
        (
            row.recorded_at,
            row.pk,
            (
                timezone.localtime(row.recorded_at),
                title,
                "price",
                row.old_price,
                row.new_price,
                row.currency,
                row.price_change_percent,
                row.reason,
            ),
        )
        for row in product.price_history.order_by("recorded_at", "pk")
    )
    stock_rows = []
    for row in product.stock_history.order_by("recorded_at", "pk"):
        at = timezone.localtime(row.recorded_at)
        if row.old_stock != row.new_stock:
            stock_rows.append(
                (row.recorded_at, row.pk, (at, title, "stock", row.old_stock, row.new_stock, "", None, row.reason))
            )
        if row.old_availability != row.new_availability:
            stock_rows.append(
                (
                    row.recorded_at,
                    row.pk,
                    (at, title, "availability", row.old_availability, row.new_availability, "", None, row.reason),
                )
            )
    merged = sorted(chain(price_rows, stock_rows), key=lambda item: item[0])
    return [cells for _, _, cells in merged]


# --- CSV import -----------------------------------------------------------------------------

CSV_COLUMNS = "url or asin, and optionally supplier and note"
CSV_NOT_TEXT = "The file is not UTF-8 or UTF-16 text; save it as CSV (UTF-8) and upload it again."
CSV_NOT_UTF8 = (
    "Row {row} is not UTF-8 text: the file mixes encodings or was saved in another one. "
    "Save it as CSV (UTF-8) and upload it again."
)
CSV_NUL = (
    "Row {row} contains a NUL character, which a CSV file never has: it may be UTF-16 without its "
    "byte-order mark, or not a CSV at all (e.g. an Excel .xlsx). Save it as CSV (UTF-8) and upload it again."
)
CSV_CELL_TOO_LONG = (
    "Row {row} has a cell longer than {limit} characters (a product link or ASIN is far shorter). "
    "Fix that row and upload the file again."
)
CSV_UNCLOSED_QUOTE = (
    'Row {row} opens a quote (") that is never closed, so the rest of the file was read as one field. '
    "Close or remove that quote and upload the file again."
)
CSV_QUOTE_SPANS_LINES = (
    'Row {row} opens a quote (") that only closes on line {end}, so those lines were read as one field. '
    "Close or remove that quote and upload the file again."
)
CSV_UNREADABLE = "Row {row} cannot be read as CSV ({reason}). Fix that row and upload the file again."
CSV_NO_HEADER = "The file is empty; the first line must name the columns: " + CSV_COLUMNS + "."
CSV_WRONG_COLUMNS = "Unexpected columns ({found}); expected " + CSV_COLUMNS + "."
CSV_TOO_MANY_ROWS = "The file has more than {limit} rows; split it into smaller files."
CSV_EMPTY_ROW = "Empty row: no url or asin."
ROW_FAILED = "This row could not be added: {error}"
CSV_ONE_LINE_COLUMNS = ("url", "asin", "supplier")  # never hold a line break; a note may


class CsvImportError(Exception):
    """The whole file is unusable; the message says why."""


def _csv_text(data: bytes) -> str:
    """The file as text; a part that is not text is named by its row (line)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CsvImportError(CSV_NOT_TEXT) from exc
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CsvImportError(CSV_NOT_UTF8.format(row=data.count(b"\n", 0, exc.start) + 1)) from exc
    nul = text.find("\x00")
    if nul >= 0:
        raise CsvImportError(CSV_NUL.format(row=text.count("\n", 0, nul) + 1))
    return text


def _quote_left_open(text: str, start_line: int, end_line: int) -> bool:
    """Whether a quote opened in lines `start_line`..`end_line` (1-based, as csv counts them) is
    still open after them: an odd number of quote characters (a closed cell has pairs)."""
    lines = io.StringIO(text, newline="").readlines()
    return sum(line.count('"') for line in lines[start_line - 1 : end_line]) % 2 == 1


def _csv_error_message(exc: csv.Error, text: str, *, row: int, start_line: int, end_line: int) -> str:
    if "field larger than field limit" in str(exc):
        if _quote_left_open(text, start_line, end_line):
            return CSV_UNCLOSED_QUOTE.format(row=row)
        return CSV_CELL_TOO_LONG.format(row=row, limit=f"{csv.field_size_limit():,}")
    return CSV_UNREADABLE.format(row=row, reason=exc)


def csv_rows_parse(data: bytes) -> list[dict]:
    """Rows of a product CSV as {"row", "text", "supplier", "note"}; a whole-file problem raises,
    naming the row where it is (text that is not UTF-8, a NUL, a huge cell, a quote left open)."""
    text = _csv_text(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CsvImportError(_csv_error_message(exc, text, row=1, start_line=1, end_line=reader.line_num)) from exc
    if not header or not any(cell.strip() for cell in header):
        raise CsvImportError(CSV_NO_HEADER)
    columns = [cell.strip().lower() for cell in header]
    known = {"url", "asin", "supplier", "note"}
    if not ({"url", "asin"} & set(columns)) or set(columns) - known - {""}:
        raise CsvImportError(CSV_WRONG_COLUMNS.format(found=", ".join(cell.strip() for cell in header)))
    rows = []
    number = 1
    while True:
        number += 1
        start_line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            message = _csv_error_message(exc, text, row=number, start_line=start_line, end_line=reader.line_num)
            raise CsvImportError(message) from exc
        if reader.line_num > start_line:  # a quoted cell went on over several lines
            if _quote_left_open(text, start_line, reader.line_num):
                raise CsvImportError(CSV_UNCLOSED_QUOTE.format(row=number))
            spanning = dict(zip(columns, cells, strict=False))
            if any("\n" in spanning.get(name, "") or "\r" in spanning.get(name, "") for name in CSV_ONE_LINE_COLUMNS):
                raise CsvImportError(CSV_QUOTE_SPANS_LINES.format(row=number, end=reader.line_num))
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= settings.CSV_IMPORT_MAX_ROWS:
            raise CsvImportError(CSV_TOO_MANY_ROWS.format(limit=settings.CSV_IMPORT_MAX_ROWS))
        values = dict(zip(columns, (cell.strip() for cell in cells), strict=False))
        rows.append(
            {
                "row": number,
                "text": values.get("url") or values.get("asin") or "",
                "supplier": values.get("supplier", ""),
                "note": values.get("note", ""),
            }
        )
    return rows


def products_import(*, job, user, rows: list[dict], read_now: bool) -> dict | str:
    """Add each row in turn, with progress on the Job; every row's outcome is in the result.

    In batches: when the delivery's time is up (monitoring.records.job_out_of_time) the rows done so
    far are saved on the Job and CONTINUE returned; the next delivery goes on from there. A worker
    lost in a batch makes the next delivery add that batch's rows again, which tracks nothing twice
    (a row added before shows as already tracked)."""
    state = dict(job.checkpoint) or {
        "next": 0,
        "counts": {"added": 0, "tracking": 0, "already_tracked": 0, "error": 0},
        "rows": [],
    }
    counts, outcomes = state["counts"], state["rows"]
    if not state["next"]:
        job_progress(job, done=0, total=len(rows))
    for index in range(state["next"], len(rows)):
        row = rows[index]
        if not row["text"]:
            result = AddResult("error", CSV_EMPTY_ROW)
        else:
            try:
                result = product_add(
                    user=user, text=row["text"], supplier_hint=row.get("supplier", ""), read_now=read_now
                )
            except DATABASE_LOST:
                raise  # not this row's fault: the Job goes on from its last batch on a new connection
            except Exception as exc:  # noqa: BLE001 - one row's failure is that row's, the others go on
                logger.exception("Adding row %s failed", row.get("row"))
                result = AddResult("error", ROW_FAILED.format(error=f"{type(exc).__name__}: {exc}"))
        counts[result.status] += 1
        outcomes.append({**row, "status": result.status, "message": result.message, "product_id": result.product_id})
        done = index + 1
        if done < len(rows) and job_out_of_time(job):
            state["next"] = done
            job_progress(job, done=done, checkpoint=state)
            return CONTINUE
        if done % 25 == 0 or done == len(rows):
            job_progress(job, done=done)
    return {**counts, "rows": outcomes}


# --- Seller overrides and staff's values ----------------------------------------------------

OVERRIDE_ENDED_ALERT = "override_ended"
OVERRIDE_PRICE_ENDED = "Your own price {price} {currency} for “{title}” ended: the supplier's price is now {now}."
OVERRIDE_STOCK_ENDED = "Your own stock {stock} for “{title}” ended: the supplier's stock is now {now}."


def product_override_for(*, user, product: Product) -> ProductOverride | None:
    return ProductOverride.objects.filter(user=user, product=product).first()


def product_as_seen_by(*, product: Product, user) -> Product:
    """The product with the seller's own price/stock in force, if they set one (for pricing that
    seller's listings); the shared product itself otherwise."""
    override = product_override_for(user=user, product=product)
    return override.applied_to(product) if override else product


# `shipping` left out of product_override_set: the seller's shipping stays as it is.
UNCHANGED = object()
OVERRIDE_EMPTY_VALUES = "An own value needs a price, a stock quantity or a shipping cost."


@transaction.atomic
def product_override_set(
    *,
    user,
    product: Product,
    price: Decimal | None,
    stock: int | None,
    note: str = "",
    shipping=UNCHANGED,
    request=None,
) -> ProductOverride:
    """Record the seller's own price, stock and/or shipping (per unit, in the product's currency)
    for a product (audited). Only that seller's listings follow it (the caller makes them follow at
    once); the shared product is untouched. Without `shipping` the seller's shipping is kept. With
    no value left, ValueError (OVERRIDE_EMPTY_VALUES): clearing is product_override_clear."""
    existing = product_override_for(user=user, product=product)
    if shipping is UNCHANGED:
        shipping = existing.shipping if existing else None
    if price is None and stock is None and shipping is None:
        raise ValueError(OVERRIDE_EMPTY_VALUES)
    old = _override_values(existing) if existing else None
    override = existing or ProductOverride(user=user, product=product)
    override.price, override.stock, override.note = price, stock, clean_text(note, 300) or ""
    override.shipping = shipping
    override.currency = product.currency or product.supplier.currency
    override.price_seen, override.currency_seen = product.price, product.currency
    override.stock_seen, override.availability_seen = product.stock, product.availability
    override.save()
    alert_clear(user=user, type=OVERRIDE_ENDED_ALERT, subject=f"product:{product.pk}")
    audit_record(
        acting_user=user,
        owner=user,
        action="override_set",
        resource=product,
        old_value=old,
        new_value=_override_values(override),
        request=request,
        notes=override.note or None,
    )
    return override


@transaction.atomic
def product_override_clear(*, user, product: Product, request=None) -> bool:
    """The seller goes back to the scraped values (audited); False when there was nothing to clear."""
    override = product_override_for(user=user, product=product)
    if override is None:
        return False
    old = _override_values(override)
    override.delete()
    audit_record(
        acting_user=user, owner=user, action="override_cleared", resource=product, old_value=old, request=request
    )
    return True


def _override_values(override: ProductOverride) -> dict:
    return {
        "price": override.price,
        "currency": override.currency,
        "stock": override.stock,
        "shipping": override.shipping,
        "note": override.note,
    }


def product_overrides_expire(*, product: Product) -> list:
    """End the part of each seller's override whose scraped value changed since it was set, and
    tell the seller (one alert, audited). Returns the alerts raised (for notifications)."""
    alerts = []
    for override in ProductOverride.objects.filter(product=product).select_related("user"):
        ended = []
        price_moved = (product.price, product.currency) != (override.price_seen, override.currency_seen)
        if override.price is not None and price_moved:
            now = "unknown" if product.price is None else f"{product.price} {product.currency}"
            ended.append(
                OVERRIDE_PRICE_ENDED.format(
                    price=override.price, currency=override.currency, title=str(product)[:80], now=now
                )
            )
        stock_moved = (product.stock, product.availability) != (override.stock_seen, override.availability_seen)
        if override.stock is not None and stock_moved:
            now = product.get_availability_display().lower()
            if product.stock is not None:
                now = f"{product.stock} ({now})"
            ended.append(OVERRIDE_STOCK_ENDED.format(stock=override.stock, title=str(product)[:80], now=now))
        if not ended:
            continue
        old = _override_values(override)
        with transaction.atomic():
            if override.price is not None and price_moved:
                override.price = None
            if override.stock is not None and stock_moved:
                override.stock = None
            if override.is_empty:
                override.delete()
            else:
                override.save(update_fields=["price", "stock", "updated_at"])
            audit_record(
                acting_user=None,
                owner=override.user,
                action="override_ended",
                resource=product,
                old_value=old,
                new_value=None if override.pk is None else _override_values(override),
                notes=" ".join(ended),
            )
            alert, created = alert_raise(
                user=override.user,
                type=OVERRIDE_ENDED_ALERT,
                subject=f"product:{product.pk}",
                severity="info",
                message=" ".join(ended),
                data={"product_id": product.pk, "product_path": product.get_absolute_url(), "ended": audit_values(old)},
                product=product,
            )
        alert.is_new = created
        alerts.append(alert)
    return alerts


@transaction.atomic
def product_values_set(
    *, product: Product, acting_user, price=None, stock=None, availability=None, request=None
) -> RefreshOutcome:
    """Staff enter a value for everyone: written as a manual reading (PriceHistory / StockHistory
    with ChangeReason.MANUAL) and followed by every seller's listings at the next round."""
    extraction = SimpleNamespace(
        title=None,
        description=None,
        price=price,
        currency=product.currency or None,
        stock=stock,
        availability=availability or Availability.UNKNOWN,
        rating=None,
        reviews_count=None,
        images=[],
    )
    snapshot = {"price": product.price, "stock": product.stock, "availability": product.availability}
    last_scraped_at = product.last_scraped_at
    outcome = product_apply(product=product, extraction=extraction, reason=ChangeReason.MANUAL)
    Product.objects.filter(pk=product.pk).update(last_scraped_at=last_scraped_at)  # not a reading of the page
    product.last_scraped_at = last_scraped_at
    if outcome.changed:
        audit_record(
            acting_user=acting_user,
            owner=None,
            action="values_set",
            resource=product,
            old_value=snapshot,
            new_value={"price": product.price, "stock": product.stock, "availability": product.availability},
            request=request,
        )
    return outcome


# --- Identity -------------------------------------------------------------------------------

IDENTITY_NOT_WRONG_PRODUCT = "Only an open wrong-product reading can be accepted."
IDENTITY_ID_TAKEN = "Product #{other} already has id {asin} at {supplier}; archive one of the two first."


class IdentityAcceptError(Exception):
    """A held reading's identity cannot be accepted; the message says why."""


@transaction.atomic
def product_identity_accept(*, held: HeldReading, acting_user, request=None) -> Product:
    """Staff accept that the product now is the item its link shows (audited): the page's id and
    title become the product's, the held reading is confirmed, and the next round reads it as ours
    (listings paused for the wrong product resume then)."""
    if held.kind != HeldReading.Kind.WRONG_PRODUCT or held.status != HeldReading.Status.OPEN:
        raise IdentityAcceptError(IDENTITY_NOT_WRONG_PRODUCT)
    product = Product.objects.select_for_update().get(pk=held.product_id)
    page = (held.identity or {}).get("page") or {}
    reading = held.reading if isinstance(held.reading, dict) else {}
    old = {"asin": product.asin, "title": product.title, "gtin": product.gtin}
    new_asin = clean_text(page.get("id") or "", 64) or product.asin
    if new_asin != product.asin:
        other = Product.objects.filter(supplier=product.supplier, asin=new_asin).exclude(pk=product.pk).first()
        if other is not None:
            raise IdentityAcceptError(
                IDENTITY_ID_TAKEN.format(other=other.pk, asin=new_asin, supplier=product.supplier)
            )
    product.asin = new_asin
    product.title = clean_text(page.get("title") or "", 500) or product.title
    product.gtin = clean_text(reading.get("gtin") or "", 14) or ""
    product.mpn = product.brand = ""
    product.wrong_product_count = 0
    product.failure_count = 0
    product.last_error = ""
    product.retry_not_before = None
    product.last_scraped_at = None  # due at once
    product.follow_pending = True  # the next round makes the listings follow (and resume)
    product.save()
    HeldReading.objects.filter(pk=held.pk).update(status=HeldReading.Status.CONFIRMED, resolved_at=timezone.now())
    HeldReading.objects.filter(
        product=product, status=HeldReading.Status.OPEN, kind=HeldReading.Kind.WRONG_PRODUCT
    ).update(status=HeldReading.Status.DISCARDED, resolved_at=timezone.now())
    audit_record(
        acting_user=acting_user,
        owner=None,
        action="identity_accepted",
        resource=product,
        old_value=old,
        new_value={"asin": product.asin, "title": product.title, "gtin": product.gtin},
        request=request,
    )
    return product
