"""Catalog services: adding products, refreshing them (fetch → extract → apply), and what is due."""

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Tier
from monitoring.records import audit_record

from .models import Availability, HeldReading, PriceHistory, Product, StockHistory, Supplier

IN_STOCK_STATES = (Availability.IN_STOCK, Availability.LOW_STOCK)
LIMIT_REACHED_MESSAGE = "Your {tier} plan tracks at most {limit} products; untrack some or upgrade to add more."


class ProductAddError(Exception):
    """A product could not be added; the message is meant for the seller."""


@dataclass
class RefreshOutcome:
    """What one refresh did, for the Job result and for the steps that follow (listings, alerts)."""

    product_id: int
    status: str  # updated | unchanged | held | blocked | failed | unrecognised
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
    }


@transaction.atomic
def product_apply(*, product: Product, extraction, reason: str = "scrape", now=None) -> RefreshOutcome:
    """Write a good reading onto the product; history rows only where a value changed.

    A field the page did not give (None, or availability "unknown") keeps its known value.
    """
    now = now or timezone.now()
    outcome = RefreshOutcome(product_id=product.pk, status="unchanged", currency=product.currency)
    fields = []

    new_currency = extraction.currency or product.currency
    if extraction.price is not None and (extraction.price != product.price or new_currency != product.currency):
        PriceHistory.build(
            product=product,
            old_price=product.price,
            new_price=extraction.price,
            currency=new_currency,
            reason=reason,
            recorded_at=now,
        ).save()
        outcome.price_changed = True
        outcome.old_price, outcome.new_price = product.price, extraction.price
        product.price, product.currency = extraction.price, new_currency
        fields += ["price", "currency"]
    outcome.currency = product.currency

    if extraction.availability and extraction.availability != Availability.UNKNOWN:
        new_stock = extraction.stock
        if (new_stock, extraction.availability) != (product.stock, product.availability):
            StockHistory.objects.create(
                product=product,
                old_stock=product.stock,
                new_stock=new_stock,
                old_availability=product.availability,
                new_availability=extraction.availability,
                reason=reason,
                recorded_at=now,
            )
            outcome.stock_changed = True
            outcome.old_stock, outcome.new_stock = product.stock, new_stock
            outcome.old_availability, outcome.new_availability = product.availability, extraction.availability
            product.stock, product.availability = new_stock, extraction.availability
            fields += ["stock", "availability"]

    for name in ("title", "description", "rating", "reviews_count"):
        value = getattr(extraction, name)
        if value not in (None, "") and value != getattr(product, name):
            setattr(product, name, value[:500] if name == "title" else value)
            fields.append(name)
    if extraction.images and extraction.images != product.images:
        product.images = extraction.images
        fields.append("images")

    outcome.changed_fields = list(fields)
    product.last_scraped_at = now
    product.failure_count = 0
    product.last_error = ""
    product.refresh_claimed_until = None
    product.save(
        update_fields=[*fields, "last_scraped_at", "failure_count", "last_error", "refresh_claimed_until", "updated_at"]
    )
    product.held_readings.filter(status=HeldReading.Status.OPEN).update(
        status=HeldReading.Status.DISCARDED, resolved_at=now
    )
    if outcome.changed_fields:
        outcome.status = "updated"
    return outcome


def product_hold(*, product: Product, extraction, reason: str, now=None) -> RefreshOutcome:
    """Keep a doubtful reading aside (visible to the seller) without acting on it."""
    now = now or timezone.now()
    HeldReading.objects.create(product=product, reading=extraction_as_dict(extraction), reason=reason)
    Product.objects.filter(pk=product.pk).update(last_scraped_at=now, refresh_claimed_until=None)
    return RefreshOutcome(product_id=product.pk, status="held", currency=product.currency, message=reason)


def product_record_failure(*, product: Product, status: str, message: str) -> RefreshOutcome:
    """Count a failed refresh; known values stay as they were (a blocked page is never data)."""
    product.failure_count += 1
    product.last_error = message[:1000]
    product.refresh_claimed_until = None
    product.save(update_fields=["failure_count", "last_error", "refresh_claimed_until", "updated_at"])
    return RefreshOutcome(product_id=product.pk, status=status, currency=product.currency, message=message)


# --- What is due ----------------------------------------------------------------------------


def products_due(now=None):
    """Products whose refresh is due: not archived, tracked by (or listed live for) a real seller,
    and last read longer ago than the most demanding such seller's tier allows."""
    from marketplaces.models import ListingStatus  # a higher app named by string only in queries

    now = now or timezone.now()
    live = [ListingStatus.PENDING, ListingStatus.ACTIVE, ListingStatus.PAUSED]
    due = Q()
    for tier in Tier.values:
        stale = Q(last_scraped_at__isnull=True) | Q(last_scraped_at__lt=now - settings.TIER_REFRESH_INTERVALS[tier])
        tracked = Q(trackers__tier=tier, trackers__is_demo=False, trackers__is_active=True)
        listed = Q(listings__status__in=live, listings__user__tier=tier, listings__user__is_demo=False)
        due |= (tracked | listed) & stale
    claimable = Q(refresh_claimed_until__isnull=True) | Q(refresh_claimed_until__lt=now)
    return Product.objects.live().filter(due, claimable).distinct()


def products_claim(*, limit: int, now=None) -> list[Product]:
    """Claim up to `limit` due products for this worker; rows other workers hold are skipped."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Product.objects.filter(pk__in=products_due(now).values("pk"))
            .order_by("last_scraped_at", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        Product.objects.filter(pk__in=ids).update(refresh_claimed_until=now + settings.REFRESH_CLAIM_DURATION)
    return list(Product.objects.filter(pk__in=ids).select_related("supplier", "supplier__family"))


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
