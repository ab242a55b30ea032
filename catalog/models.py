import copy
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_cryptography.fields import encrypt

MONEY = {"max_digits": 12, "decimal_places": 2}


def price_change_percent(old_price, new_price):
    """Percent change from old to new price; None when there is no old price or it is zero."""
    if old_price is None or new_price is None or old_price == 0:
        return None
    change = (Decimal(new_price) - Decimal(old_price)) / Decimal(old_price) * 100
    return change.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class Availability(models.TextChoices):
    IN_STOCK = "in_stock", "In stock"
    LOW_STOCK = "low_stock", "Low stock"
    OUT_OF_STOCK = "out_of_stock", "Out of stock"
    UNKNOWN = "unknown", "Unknown"


class ChangeReason(models.TextChoices):
    SCRAPE = "scrape", "Scrape"
    API = "api", "API"
    MANUAL = "manual", "Manual"


FAMILY_BRANDS = {"amazon": "Amazon", "aliexpress": "AliExpress", "costco": "Costco"}
SUPPLIER_SHIPPING_NEGATIVE = "The default shipping is an amount of 0 or more."
SUPPLIER_TAX_RANGE = "The sales tax is a percentage from 0 up to (not including) 100."


class Supplier(models.Model):
    """One site products are bought from, with how to scrape it (a family template or a site row)."""

    name = models.CharField(max_length=100, unique=True)
    # What sellers read ("Amazon.co.uk", "AliExpress", a shop's own name); empty = from the address.
    display_name = models.CharField(
        max_length=100, blank=True, help_text="The name sellers see; empty: made from the site's address."
    )
    family = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sites",
        help_text="The family's template row this site takes its selectors from; empty on a template.",
    )
    base_url = models.URLField(max_length=300)
    currency = models.CharField(max_length=3, blank=True, help_text="The site's default currency.")
    rate_limit = models.PositiveIntegerField(default=30, help_text="Requests per minute to this site.")
    requires_js = models.BooleanField(default=False)
    scraper_config = models.JSONField(default=dict, blank=True)
    # What buying from this site costs beyond its price (the unit cost, marketplaces.pricing). Per
    # site, never taken from the family's template: the money is in the site's currency and the tax
    # is the site's country's. Empty: none known (counted as nothing).
    default_shipping = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        help_text="What this site charges to ship one unit, in the site's currency; a seller may set their own "
        "per product. Empty: none known.",
    )
    sales_tax_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Sales tax this site adds to price + shipping, in percent (0 to under 100). Empty: none.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "catalog_supplier"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(rate_limit__gt=0), name="supplier_rate_limit_positive"),
            models.CheckConstraint(
                condition=models.Q(default_shipping__isnull=True) | models.Q(default_shipping__gte=0),
                name="supplier_default_shipping_not_negative",
                violation_error_message=SUPPLIER_SHIPPING_NEGATIVE,
            ),
            models.CheckConstraint(
                condition=models.Q(sales_tax_percent__isnull=True)
                | models.Q(sales_tax_percent__gte=0, sales_tax_percent__lt=100),
                name="supplier_sales_tax_range",
                violation_error_message=SUPPLIER_TAX_RANGE,
            ),
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        """The supplier as sellers name it: its display name, else its site's address written as
        a brand writes it (Amazon.co.uk, AliExpress, Costco.ca, shop.example.com)."""
        if self.display_name:
            return self.display_name
        from .identify import family_for_host

        host = (urlsplit(self.base_url).hostname or "").removeprefix("www.")
        family = family_for_host(host) if host else ""
        if family in FAMILY_BRANDS:
            brand = FAMILY_BRANDS[family]
            domain = host[host.find(family) :] if family in host else host
            suffix = domain[len(family) :]
            return brand if family == "aliexpress" and suffix in (".com", "") else brand + suffix
        if self.family_id is None and self.name == "generic":
            return "Any shop (generic)"
        return host or self.name

    @property
    def template(self):
        """The row holding this site's selectors and URL patterns."""
        return self.family or self


class ProductQuerySet(models.QuerySet):
    def live(self):
        return self.filter(is_archived=False)

    def for_user(self, user):
        return self.filter(trackers=user)


class Product(models.Model):
    """One supplier product, scraped once and shared by every seller who tracks it."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="products")
    asin = models.CharField(max_length=64, help_text="The site's own product id (ASIN, item id, SKU or URL hash).")
    title = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    stock = models.IntegerField(null=True, blank=True, help_text="Quantity the page states; empty when it states none.")
    availability = models.CharField(max_length=20, choices=Availability.choices, default=Availability.UNKNOWN)
    rating = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    reviews_count = models.IntegerField(null=True, blank=True)
    images = models.JSONField(default=list, blank=True)
    url = models.URLField(max_length=1000)
    last_scraped_at = models.DateTimeField(null=True, blank=True)
    # Consecutive failed refreshes; the seller is warned past a threshold (catalog issue).
    failure_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Set while a worker refreshes the product, so no other worker claims it meanwhile (renewed
    # with the heartbeat of the round that holds it).
    refresh_claimed_until = models.DateTimeField(null=True, blank=True)
    # The round (a monitoring Job's id; no foreign key: the catalog knows nothing of Jobs) that
    # claimed it last, and the outcome of its last refresh (RefreshOutcome.status), written in the
    # statement that releases the claim: a round resumed after its worker died takes back exactly
    # the products still claimed for it, never reads again one it finished, and counts them all.
    refresh_job_id = models.BigIntegerField(null=True, blank=True)
    refresh_status = models.CharField(max_length=20, blank=True)
    # After failed reads the schedule waits until then (a seller's "refresh now" does not).
    retry_not_before = models.DateTimeField(null=True, blank=True)
    # A change was applied whose follow-up (listings, alerts) has not finished yet; the next
    # tracking round does it, so a worker killed in between loses nothing.
    follow_pending = models.BooleanField(default=False)
    # What identifies the item beyond the supplier's id, as its page states it: later work matches
    # one item across suppliers by these. Empty when the page never stated one.
    gtin = models.CharField("GTIN", max_length=14, blank=True, help_text="GTIN / EAN / UPC as the page states it.")
    mpn = models.CharField("MPN", max_length=100, blank=True, help_text="The manufacturer's part number.")
    brand = models.CharField(max_length=200, blank=True)
    # The shipping the page last stated (in the product's currency; 0 = free), shown beside the
    # seller's figure as a hint. Never a cost: what a page shows depends on where the visitor is.
    shipping_hint = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Shipping the page last stated (0 = free); a hint only."
    )
    # Readings in a row whose page showed another product (held, never applied); past
    # WRONG_PRODUCT_PAUSE_AFTER the product's live listings are paused.
    wrong_product_count = models.PositiveIntegerField(default=0)
    is_archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        db_table = "catalog_product"
        constraints = [
            models.UniqueConstraint(fields=["supplier", "asin"], name="product_supplier_asin_unique"),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=0, rating__lte=5),
                name="product_rating_0_5",
            ),
            models.CheckConstraint(
                condition=models.Q(price__isnull=True) | models.Q(price__gte=0), name="product_price_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(stock__isnull=True) | models.Q(stock__gte=0), name="product_stock_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(reviews_count__isnull=True) | models.Q(reviews_count__gte=0),
                name="product_reviews_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(shipping_hint__isnull=True) | models.Q(shipping_hint__gte=0),
                name="product_shipping_hint_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(availability__in=Availability.values), name="product_availability_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["last_scraped_at"], name="product_last_scraped_idx"),
            models.Index(fields=["is_archived", "last_scraped_at"], name="product_due_idx"),
            models.Index(fields=["gtin"], name="product_gtin_idx", condition=~models.Q(gtin="")),
            models.Index(fields=["refresh_job_id"], name="product_refresh_job_idx"),
        ]

    def __str__(self):
        return self.title[:80] or f"{self.supplier} {self.asin}"

    def get_absolute_url(self):
        return reverse("catalog:product_detail", args=[self.pk])

    @property
    def thumbnail_url(self) -> str:
        """The first picture the supplier's page gave, when it is an http(s) address (scraped
        addresses are never trusted in a src otherwise); "" when there is none."""
        for image in self.images or []:
            if isinstance(image, str) and urlsplit(image.strip()).scheme.lower() in ("http", "https"):
                return image.strip()
        return ""


class PriceHistory(models.Model):
    """One price change of a product (append-only)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_history")
    old_price = models.DecimalField(**MONEY, null=True, blank=True)
    new_price = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    price_change_percent = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=10, choices=ChangeReason.choices, default=ChangeReason.SCRAPE)

    class Meta:
        db_table = "catalog_price_history"
        ordering = ["-recorded_at"]
        verbose_name_plural = "price history"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(old_price__isnull=True) | models.Q(old_price__gte=0),
                name="pricehistory_old_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(new_price__isnull=True) | models.Q(new_price__gte=0),
                name="pricehistory_new_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["product", "recorded_at"], name="pricehistory_product_time_idx")]

    def __str__(self):
        return f"{self.product_id}: {self.old_price} → {self.new_price} {self.currency}"

    @classmethod
    def build(cls, *, product, old_price, new_price, currency, reason=ChangeReason.SCRAPE, recorded_at=None):
        """An unsaved row with its change percent computed (for save() or bulk_create)."""
        return cls(
            product=product,
            old_price=old_price,
            new_price=new_price,
            currency=currency,
            price_change_percent=price_change_percent(old_price, new_price),
            reason=reason,
            recorded_at=recorded_at or timezone.now(),
        )


class StockHistory(models.Model):
    """One stock change (quantity or availability) of a product (append-only)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stock_history")
    old_stock = models.IntegerField(null=True, blank=True)
    new_stock = models.IntegerField(null=True, blank=True)
    old_availability = models.CharField(max_length=20, choices=Availability.choices, blank=True)
    new_availability = models.CharField(max_length=20, choices=Availability.choices)
    recorded_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=10, choices=ChangeReason.choices, default=ChangeReason.SCRAPE)

    class Meta:
        db_table = "catalog_stock_history"
        ordering = ["-recorded_at"]
        verbose_name_plural = "stock history"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(old_stock__isnull=True) | models.Q(old_stock__gte=0),
                name="stockhistory_old_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(new_stock__isnull=True) | models.Q(new_stock__gte=0),
                name="stockhistory_new_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["product", "recorded_at"], name="stockhistory_product_time_idx")]

    def __str__(self):
        return f"{self.product_id}: {self.old_availability or '—'} → {self.new_availability}"


class HeldReading(models.Model):
    """A reading kept aside, never applied: one that looked wrong (price jump, currency change,
    sudden out of stock) and that a second fetch did not confirm, or one whose page showed another
    product (kind wrong_product, with both identities). It is kept here for the seller and staff to
    see; a later good reading discards it, and staff may accept a wrong product's new identity.
    Its own rows: one product may have several over time."""

    class Status(models.TextChoices):
        OPEN = "open", "Held"
        CONFIRMED = "confirmed", "Confirmed"
        DISCARDED = "discarded", "Discarded"

    class Kind(models.TextChoices):
        DOUBTFUL = "doubtful", "Doubtful values"
        WRONG_PRODUCT = "wrong_product", "Another product's page"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="held_readings")
    reading = models.JSONField(help_text="The extracted fields as read.")
    reason = models.CharField(max_length=300)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DOUBTFUL)
    # For a wrong-product reading: {"ours": {"title", "id"}, "page": {"title", "id", "url"}, "by": how
    # it was told}, so the seller and staff see both sides without the page.
    identity = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "catalog_held_reading"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["product", "status"], name="heldreading_product_status_idx")]

    def __str__(self):
        return f"{self.product_id}: {self.reason} ({self.status})"


class ProductOverride(models.Model):
    """A seller's own price, stock and/or shipping for a product, in force for that seller's
    listings only.

    Products are shared by every seller who tracks them, so what one seller knows (the supplier
    blocks us, they buy at another price, shipping to them costs this much) must not rewrite the
    Product or its history: it lives here, one row per (seller, product). The price and stock last
    until the seller clears them or the scraped value they were set against changes (`*_seen`),
    when the follow-up ends them and tells the seller; the shipping lasts until the seller clears it
    (no page states it reliably: it depends on where the visitor is).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="product_overrides")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="overrides")
    price = models.DecimalField(**MONEY, null=True, blank=True, help_text="In the product's currency.")
    currency = models.CharField(max_length=3, blank=True)
    stock = models.IntegerField(null=True, blank=True, help_text="Quantity; 0 means out of stock.")
    shipping = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="What shipping one unit costs the seller, in the product's currency."
    )
    note = models.CharField(max_length=300, blank=True, help_text="Why, in the seller's words.")
    # The scraped values when the override was set: a change of them ends the override.
    price_seen = models.DecimalField(**MONEY, null=True, blank=True)
    currency_seen = models.CharField(max_length=3, blank=True)
    stock_seen = models.IntegerField(null=True, blank=True)
    availability_seen = models.CharField(max_length=20, choices=Availability.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "catalog_product_override"
        constraints = [
            models.UniqueConstraint(fields=["user", "product"], name="productoverride_user_product_unique"),
            models.CheckConstraint(
                condition=models.Q(price__isnull=True) | models.Q(price__gt=0), name="productoverride_price_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(stock__isnull=True) | models.Q(stock__gte=0),
                name="productoverride_stock_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(shipping__isnull=True) | models.Q(shipping__gte=0),
                name="productoverride_shipping_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(price__isnull=False)
                | models.Q(stock__isnull=False)
                | models.Q(shipping__isnull=False),
                name="productoverride_has_a_value",
            ),
        ]
        indexes = [models.Index(fields=["product"], name="productoverride_product_idx")]

    def __str__(self):
        return f"{self.user_id} on {self.product_id}: price {self.price}, stock {self.stock}, shipping {self.shipping}"

    @property
    def is_empty(self) -> bool:
        return self.price is None and self.stock is None and self.shipping is None

    @property
    def availability(self) -> str | None:
        """The availability the overridden stock means (None when only the price is overridden)."""
        if self.stock is None:
            return None
        return Availability.IN_STOCK if self.stock > 0 else Availability.OUT_OF_STOCK

    def applied_to(self, product: "Product") -> "Product":
        """A copy of the shared product with this seller's values in force, for pricing that seller's
        listings (never saved: the shared row keeps the scraped values)."""
        seen = copy.copy(product)
        if self.price is not None:
            seen.price, seen.currency = self.price, self.currency or product.currency
        if self.stock is not None:
            seen.stock, seen.availability = self.stock, self.availability
        seen.override = self
        return seen


class ProxyProtocol(models.TextChoices):
    HTTP = "http", "HTTP"
    HTTPS = "https", "HTTPS"
    SOCKS5 = "socks5", "SOCKS5"


class ProxyPool(models.Model):
    """One outbound proxy used for scraping, with its health."""

    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField()
    username = models.CharField(max_length=255, null=True, blank=True)
    password = encrypt(models.CharField(max_length=255, null=True, blank=True))
    protocol = models.CharField(max_length=10, choices=ProxyProtocol.choices, default=ProxyProtocol.HTTP)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2.")
    health_score = models.PositiveSmallIntegerField(default=100)
    success_count = models.PositiveIntegerField(default=0)
    failure_count = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    # Connection failures in a row; the fetcher deactivates the proxy past PROXY_MAX_CONSECUTIVE_FAILURES.
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Why the proxy was switched off, so staff can see it without reading logs.
    deactivated_reason = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "catalog_proxy_pool"
        verbose_name = "proxy"
        verbose_name_plural = "proxy pool"
        constraints = [
            models.UniqueConstraint(fields=["host", "port", "protocol"], name="proxy_host_port_protocol_unique"),
            models.CheckConstraint(condition=models.Q(port__gte=1, port__lte=65535), name="proxy_port_range"),
            models.CheckConstraint(
                condition=models.Q(health_score__gte=0, health_score__lte=100), name="proxy_health_0_100"
            ),
        ]
        indexes = [
            models.Index(fields=["is_active"], name="proxy_active_idx"),
            models.Index(fields=["health_score"], name="proxy_health_idx"),
        ]

    def __str__(self):
        return f"{self.protocol}://{self.host}:{self.port}"


class RateLimitState(models.Model):
    """The next free send time of one rate limit (e.g. a supplier's), shared by every worker.

    Used by catalog.ratelimit on the embedded default (no Redis): a row per limited key, claimed
    under a row/write lock, so the limit holds across processes; not a JSON blob because every
    claim is one locked row update.
    """

    key = models.CharField(max_length=200, unique=True)
    next_at = models.FloatField(default=0.0, help_text="Unix time (seconds) of the next free send slot.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "catalog_rate_limit_state"

    def __str__(self):
        return self.key
