from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import LessThan
from django.urls import reverse
from django_cryptography.fields import encrypt

from catalog.models import MONEY


class Marketplace(models.TextChoices):
    EBAY = "ebay", "eBay"
    SHOPIFY = "shopify", "Shopify"
    ETSY = "etsy", "Etsy"


class Environment(models.TextChoices):
    PRODUCTION = "production", "Production"
    SANDBOX = "sandbox", "Sandbox"


SALE_PERCENTAGES_TOO_HIGH = (
    "The marketplace fee, the payment fee and the returns allowance together must stay under 100 % of the price."
)


class LowMarginAction(models.TextChoices):
    PAUSE = "pause", "Pause the listing"
    ALERT = "alert", "Keep selling and alert me"


class StoreAccountQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(user=user)

    def connected(self):
        return self.filter(is_connected=True)


class StoreAccount(models.Model):
    """A seller's store on a marketplace, its encrypted credentials and its pricing settings."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="store_accounts")
    marketplace = models.CharField(max_length=20, choices=Marketplace.choices)
    account_name = models.CharField(max_length=200)
    environment = models.CharField(max_length=20, choices=Environment.choices, default=Environment.PRODUCTION)
    shop_domain = models.CharField(max_length=255, blank=True, help_text="Shopify: the shop's myshopify.com domain.")
    api_key = encrypt(models.TextField(null=True, blank=True))
    api_secret = encrypt(models.TextField(null=True, blank=True))
    oauth_token = encrypt(models.TextField(null=True, blank=True))
    oauth_refresh_token = encrypt(models.TextField(null=True, blank=True))
    oauth_expires_at = models.DateTimeField(null=True, blank=True)
    is_connected = models.BooleanField(default=False)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="USD", help_text="The store's selling currency.")
    # Pricing settings: listing price and margin follow DESIGN.md (Decisions) from these
    # (marketplaces.pricing). The fees and the returns allowance are parts of the sale price: the
    # marketplace's fee (fee_*), the payment processor's (payment_fee_*), and what returns cost on
    # average; together they stay under 100 % of the price.
    markup_percent = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("30.00"))
    markup_fixed = models.DecimalField(**MONEY, default=Decimal("0.00"))
    fee_percent = models.DecimalField("marketplace fee %", max_digits=5, decimal_places=2, default=Decimal("13.25"))
    fee_fixed = models.DecimalField("marketplace fee, fixed", **MONEY, default=Decimal("0.30"))
    payment_fee_percent = models.DecimalField("payment fee %", max_digits=5, decimal_places=2, default=Decimal("0.00"))
    payment_fee_fixed = models.DecimalField("payment fee, fixed", **MONEY, default=Decimal("0.00"))
    returns_percent = models.DecimalField(
        "returns allowance %",
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        help_text="What returns cost you on average, as a percentage of the sale price.",
    )
    min_margin_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("10.00"))
    price_ending = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        default=Decimal("0.99"),
        help_text="Round prices up to end in these cents (e.g. 0.99); empty for whole cents.",
    )
    default_quantity = models.PositiveIntegerField(default=1, help_text="Listed when the supplier gives no number.")
    max_quantity = models.PositiveIntegerField(default=10, help_text="Never list more than this.")
    safety_buffer = models.PositiveIntegerField(default=2, help_text="Keep this many of the supplier's units unlisted.")
    min_supplier_stock = models.PositiveIntegerField(default=0, help_text="Pause below this supplier stock.")
    low_margin_action = models.CharField(max_length=10, choices=LowMarginAction.choices, default=LowMarginAction.PAUSE)
    automation_paused = models.BooleanField(default=False)
    needs_reauth = models.BooleanField(default=False, help_text="The marketplace refused our tokens: connect again.")
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    # Marketplace defaults for publishing (eBay policies, merchant location, category; Etsy shop,
    # shipping profile, readiness state, taxonomy, who/when made; Shopify location), fetched or
    # asked for at connect. A dict because each marketplace needs a different set, passed as is
    # to the adapter's publish_settings; a listing may override any key.
    publish_defaults = models.JSONField(default=dict, blank=True)
    orders_synced_at = models.DateTimeField(null=True, blank=True)
    stats_synced_on = models.DateField(null=True, blank=True, help_text="Last day whose statistics were imported.")
    stats_waiting_reason = models.CharField(max_length=300, blank=True, help_text="Why statistics wait (quota).")
    # The scopes of the store's last grant: shipping needs scopes older grants did not ask for.
    granted_scopes = models.JSONField(default=list, blank=True)
    # Pricing lab: how far a backup source may raise the price, and the volatility buffer.
    failover_max_increase_percent = models.DecimalField(
        "backup source: most % above the preferred source's price",
        max_digits=6,
        decimal_places=2,
        default=Decimal("20.00"),
        help_text="A backup source is used only while its price stays within this of the preferred source's.",
    )
    volatility_buffer = models.BooleanField(
        default=False,
        help_text="Price in enough margin that a usual rise does not turn a sale into a loss before the next check.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoreAccountQuerySet.as_manager()

    class Meta:
        db_table = "marketplaces_store_account"
        constraints = [
            models.CheckConstraint(condition=Q(marketplace__in=Marketplace.values), name="store_marketplace_valid"),
            models.CheckConstraint(condition=Q(markup_fixed__gte=0), name="store_markup_fixed_not_negative"),
            models.CheckConstraint(condition=Q(fee_fixed__gte=0), name="store_fee_fixed_not_negative"),
            models.CheckConstraint(
                condition=Q(fee_percent__gte=0, fee_percent__lt=100), name="store_fee_percent_range"
            ),
            models.CheckConstraint(
                condition=Q(payment_fee_percent__gte=0, payment_fee_fixed__gte=0, returns_percent__gte=0),
                name="store_payment_returns_not_negative",
            ),
            models.CheckConstraint(
                condition=LessThan(F("fee_percent") + F("payment_fee_percent") + F("returns_percent"), 100),
                name="store_sale_percentages_under_100",
                violation_error_message=SALE_PERCENTAGES_TOO_HIGH,
            ),
        ]
        indexes = [models.Index(fields=["user", "marketplace"], name="store_user_marketplace_idx")]

    def __str__(self):
        return f"{self.get_marketplace_display()} · {self.account_name}"

    def get_absolute_url(self):
        return reverse("marketplaces:store_detail", args=[self.pk])

    def shipping_scopes_missing(self) -> list[str]:
        """Scopes sending tracking numbers needs that the store's grant lacks (a write scope implies
        its read scope); empty when shipping works. A store connected before shipping came lacks some."""
        granted = set(self.granted_scopes or [])
        needed = settings.MARKETPLACE_SHIPPING_SCOPES.get(self.marketplace, [])
        return [name for name in needed if name not in granted and f"write_{name.removeprefix('read_')}" not in granted]


class ListingStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"
    DELISTED = "delisted", "Delisted"


class StatusReason(models.TextChoices):
    NONE = "", "—"
    LOW_MARGIN = "low_margin", "Low margin"
    OUT_OF_STOCK = "out_of_stock", "Supplier out of stock"
    LOW_STOCK = "low_stock", "Supplier stock under minimum"
    MANUAL_PAUSE = "manual_pause", "Paused by seller"
    SUPPLIER_PRICE_UP = "supplier_price_up", "Supplier price up"
    PUBLISH_FAILED = "publish_failed", "Publish failed"
    POLICY_BLOCKED = "policy_blocked", "Blocked by policy"
    MANUAL_END = "manual_end", "Ended by seller"
    WRONG_PRODUCT = "wrong_product", "The supplier link now shows another product"


class ListingQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(user=user)

    def active(self):
        return self.filter(status=ListingStatus.ACTIVE)

    def live(self):
        """Listings still on sale or able to resume: the ones that follow their supplier."""
        return self.filter(status__in=[ListingStatus.PENDING, ListingStatus.ACTIVE, ListingStatus.PAUSED])

    def using_product(self, product):
        """Listings a product's reading concerns: their own product, one of their backup sources, or
        the source they follow now."""
        backups = ListingSource.objects.filter(product=product).values("listing_id")
        return self.filter(Q(product=product) | Q(active_product=product) | Q(pk__in=backups))

    def sourced_from(self, product):
        """Listings whose active source (marketplaces.services.sources) is `product` now."""
        return self.filter(Q(active_product=product) | Q(active_product__isnull=True, product=product))

    def with_backups(self):
        """Listings with backup sources, or following one still."""
        return self.filter(Q(pk__in=ListingSource.objects.values("listing_id")) | Q(active_product__isnull=False))


class Listing(models.Model):
    """A product listed on one of the seller's stores."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="listings")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="listings")
    store_account = models.ForeignKey(StoreAccount, on_delete=models.CASCADE, related_name="listings")
    external_listing_id = models.CharField(max_length=100, null=True, blank=True)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    price = models.DecimalField(**MONEY)
    price_locked = models.BooleanField(default=False, help_text="The seller fixed the price: no automatic repricing.")
    quantity_available = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=ListingStatus.choices, default=ListingStatus.PENDING)
    status_reason = models.CharField(max_length=30, choices=StatusReason.choices, blank=True, default="")
    # Overrides of the store's publish_defaults for this listing (e.g. another eBay category).
    publish_settings = models.JSONField(default=dict, blank=True)
    # A change computed but not pushed (automation paused, global switch, revision cap): shown, held.
    pending_changes = models.JSONField(default=dict, blank=True)
    last_pushed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="The marketplace's last refusal, in its own words.")
    revisions_on = models.DateField(null=True, blank=True)
    revisions_today = models.PositiveSmallIntegerField(default=0, help_text="eBay allows 250 revisions a day.")
    # Backup sources: the most the listing may cost a buyer (empty: the store's percentage rule),
    # the source it follows now (empty: its own product) and since when.
    max_price = models.DecimalField(**MONEY, null=True, blank=True)
    active_product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    active_since = models.DateTimeField(null=True, blank=True)
    # Since when the listing's own product has qualified as a source without a break (as
    # ListingSource.good_since for the backups): switching back to it waits for a while.
    own_good_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = ListingQuerySet.as_manager()

    class Meta:
        db_table = "marketplaces_listing"
        constraints = [
            models.UniqueConstraint(fields=["product", "store_account"], name="listing_product_store_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="listing_price_not_negative"),
            models.CheckConstraint(condition=Q(status__in=ListingStatus.values), name="listing_status_valid"),
        ]
        indexes = [
            models.Index(fields=["user", "product", "store_account"], name="listing_user_product_store_idx"),
            models.Index(fields=["status"], name="listing_status_idx"),
            # The seller's listings newest first (the listings page and the API's default order).
            models.Index(fields=["user", "-created_at", "-id"], name="listing_user_created_idx"),
            # The dashboard counts the seller's listings by status: an index-only scan.
            models.Index(fields=["user", "status"], name="listing_user_status_idx"),
        ]

    def __str__(self):
        return f"{self.title[:60]} @ {self.store_account}"

    def get_absolute_url(self):
        return reverse("marketplaces:listing_detail", args=[self.pk])

    @property
    def active_source(self):
        """The product the listing is priced from and bought at now: a backup source while one is
        active (marketplaces.services.sources), else its own product."""
        return self.active_product if self.active_product_id else self.product


class ListingSource(models.Model):
    """A backup source of a listing: another tracked product that is the same item elsewhere,
    used in order of `position` (1 first) when the listing's own product cannot be."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="sources")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="backup_for")
    position = models.PositiveSmallIntegerField()
    # How we know it is the same item: the identifiers match, or the seller confirmed it.
    same_item = models.CharField(max_length=200, blank=True)
    confirmed_by_seller = models.BooleanField(default=False)
    # Since when this source has qualified without a break (switching back waits for a while).
    good_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "marketplaces_listing_source"
        ordering = ["listing", "position"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "product"], name="listing_source_unique"),
        ]

    def __str__(self):
        return f"{self.listing_id} · backup {self.position}: {self.product_id}"


class DataSource(models.TextChoices):
    EBAY_TRAFFIC_REPORT = "ebay_traffic_report", "eBay traffic report"
    ETSY_VIEWS_DELTA = "etsy_views_delta", "Etsy views (daily difference)"
    NONE = "none", "Not reported"


class MarketplaceData(models.Model):
    """One listing's performance on one day.

    `fees` are the marketplace's and the payment processor's; `returns_allowance` is the store's
    returns allowance on the day's revenue, an expense of its own: profit = revenue − cost of goods
    sold − fees − returns allowance.
    """

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="marketplace_data")
    date = models.DateField()
    views = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the marketplace does not report it.")
    clicks = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the marketplace does not report it.")
    sales = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(**MONEY, default=Decimal("0"))
    cost_of_goods_sold = models.DecimalField(**MONEY, default=Decimal("0"))
    fees = models.DecimalField(**MONEY, default=Decimal("0"))
    # A database default too: bulk writers that name their columns (the demo's COPY) leave it out.
    returns_allowance = models.DecimalField(**MONEY, default=Decimal("0"), db_default=Decimal("0"))
    profit = models.DecimalField(**MONEY, default=Decimal("0"))
    avg_rating_received = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    customer_feedbacks = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=30, choices=DataSource.choices, default=DataSource.NONE)
    # Etsy reports a running total of views; the day's views are the difference from the day before.
    views_cumulative = models.PositiveIntegerField(null=True, blank=True)
    notes = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "marketplaces_marketplace_data"
        verbose_name_plural = "marketplace data"
        constraints = [
            models.UniqueConstraint(fields=["listing", "date"], name="marketplacedata_listing_date_unique"),
            models.CheckConstraint(condition=Q(revenue__gte=0), name="marketplacedata_revenue_not_negative"),
            models.CheckConstraint(condition=Q(cost_of_goods_sold__gte=0), name="marketplacedata_cogs_not_negative"),
            models.CheckConstraint(condition=Q(fees__gte=0), name="marketplacedata_fees_not_negative"),
            models.CheckConstraint(condition=Q(returns_allowance__gte=0), name="marketplacedata_returns_not_negative"),
            models.CheckConstraint(
                condition=Q(avg_rating_received__isnull=True)
                | Q(avg_rating_received__gte=0, avg_rating_received__lte=5),
                name="marketplacedata_rating_0_5",
            ),
        ]
        indexes = [models.Index(fields=["date"], name="marketplacedata_date_idx")]

    def __str__(self):
        return f"{self.listing_id} on {self.date}"

    @staticmethod
    def profit_of(revenue, cost_of_goods_sold, fees, returns_allowance=0):
        """Profit of a day: revenue − cost of goods sold − fees − returns allowance (may be negative)."""
        return revenue - cost_of_goods_sold - fees - returns_allowance


class PerformanceSums(models.Model):
    """Sums of MarketplaceData rows, kept for the dashboard (marketplaces.services.totals)."""

    sales = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    profit = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))

    class Meta:
        abstract = True


class StoreDayTotal(PerformanceSums):
    """A store's performance on one day: the sums of its listings' MarketplaceData of that day.

    Kept as the rows are written (`marketplaces.services.totals`), so the dashboard's totals and
    series read a few rows a day instead of one a listing a day.
    """

    store_account = models.ForeignKey(StoreAccount, on_delete=models.CASCADE, related_name="day_totals")
    date = models.DateField()

    class Meta:
        db_table = "marketplaces_store_day_total"
        constraints = [
            models.UniqueConstraint(fields=["store_account", "date"], name="storedaytotal_store_date_unique")
        ]

    def __str__(self):
        return f"{self.store_account_id} on {self.date}"


class ListingPeriodTotal(PerformanceSums):
    """A listing's performance over the last `days` days up to `end` (the newest day its store has
    figures for), for the dashboard's periods: the sums of its MarketplaceData in that window.

    Kept as the rows are written (`marketplaces.services.totals`), so the dashboard ranks a
    seller's listings from one row each, best and worst straight from an index. A listing without
    a row has no performance row in the window. `store_account` repeats the listing's, for that index.
    """

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="period_totals")
    store_account = models.ForeignKey(StoreAccount, on_delete=models.CASCADE, related_name="+")
    days = models.PositiveSmallIntegerField()
    end = models.DateField()

    class Meta:
        db_table = "marketplaces_listing_period_total"
        constraints = [
            models.UniqueConstraint(fields=["listing", "days"], name="listingperiodtotal_listing_days_unique")
        ]
        indexes = [models.Index(fields=["store_account", "days", "end", "profit"], name="listingperiodtotal_rank_idx")]

    def __str__(self):
        return f"{self.listing_id}: {self.days} days to {self.end}"


class OrderState(models.TextChoices):
    TO_BUY = "to_buy", "To buy"
    BOUGHT = "bought", "Bought"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


OPEN_ORDER_STATES = (OrderState.TO_BUY, OrderState.BOUGHT)


class OrderQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(user=user)

    def open(self):
        """Orders the seller still has to buy or ship."""
        return self.filter(state__in=OPEN_ORDER_STATES)


class Order(models.Model):
    """One marketplace order of a seller: its state from sale to delivery, what the seller paid the
    supplier for it, and the buyer's ship-to name and address.

    The address is personal data: encrypted at rest, shown only to the seller who owns the order,
    wiped (`ship_to` None, `ship_to_erased_at` set) the retention period after shipping or
    cancellation, or when the marketplace asks. It never goes into __str__, audit rows, alerts or logs.
    The actual costs are in `cost_currency` (what the supplier charged); profit converts them.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders")
    store_account = models.ForeignKey(StoreAccount, on_delete=models.CASCADE, related_name="orders")
    marketplace_order_id = models.CharField(max_length=100)
    order_number = models.CharField(max_length=100, help_text="The order number the seller sees on the marketplace.")
    buyer_username = models.CharField(max_length=150, blank=True, help_text="The buyer's marketplace user name or id.")
    state = models.CharField(max_length=20, choices=OrderState.choices, default=OrderState.TO_BUY)
    ordered_at = models.DateTimeField()
    ship_by = models.DateTimeField(null=True, blank=True, help_text="The marketplace's ship-by date.")
    currency = models.CharField(max_length=3)
    total = models.DecimalField(**MONEY, default=Decimal("0"), help_text="What the buyer paid for the items.")
    marketplace_fees = models.DecimalField(**MONEY, null=True, blank=True, help_text="The marketplace's own fee.")
    ship_to = encrypt(models.JSONField(null=True, blank=True))
    ship_to_erased_at = models.DateTimeField(null=True, blank=True)
    supplier_order_number = models.CharField(max_length=100, blank=True)
    cost_item = models.DecimalField(**MONEY, null=True, blank=True, help_text="What the seller paid for the goods.")
    cost_shipping = models.DecimalField(**MONEY, null=True, blank=True)
    cost_tax = models.DecimalField(**MONEY, null=True, blank=True)
    cost_currency = models.CharField(max_length=3, blank=True)
    ship_error = models.TextField(blank=True, help_text="The marketplace's last refusal of a tracking number.")
    bought_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        db_table = "marketplaces_order"
        constraints = [
            models.UniqueConstraint(fields=["store_account", "marketplace_order_id"], name="order_store_remote_unique"),
            models.CheckConstraint(condition=Q(state__in=OrderState.values), name="order_state_valid"),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=(Q(cost_item__isnull=True) | Q(cost_item__gte=0))
                & (Q(cost_shipping__isnull=True) | Q(cost_shipping__gte=0))
                & (Q(cost_tax__isnull=True) | Q(cost_tax__gte=0)),
                name="order_costs_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-ordered_at", "-id"], name="order_user_time_idx"),
            models.Index(fields=["user", "state", "ship_by"], name="order_user_state_shipby_idx"),
            models.Index(fields=["store_account", "-ordered_at"], name="order_store_time_idx"),
            models.Index(fields=["user", "order_number"], name="order_user_number_idx"),
            # "Ship by, soonest first" (empty last: PostgreSQL's ascending order) without sorting every order.
            models.Index(fields=["user", "ship_by", "id"], name="order_user_ship_by_sort_idx"),
        ]

    def __str__(self):
        return f"Order {self.order_number} ({self.get_state_display()})"

    def get_absolute_url(self):
        return reverse("marketplaces:order_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ORDER_STATES

    def actual_cost(self) -> Decimal | None:
        """What the seller recorded paying (goods + shipping + tax, in cost_currency), or None."""
        parts = [self.cost_item, self.cost_shipping, self.cost_tax]
        if all(part is None for part in parts):
            return None
        return sum((part for part in parts if part is not None), Decimal("0"))

    def is_overdue(self, now=None) -> bool:
        from django.utils import timezone

        return self.is_open and self.ship_by is not None and self.ship_by < (now or timezone.now())


class Sale(models.Model):
    """One order line, as imported from the marketplace (deduplicated by order and line).

    Its own rows because orders arrive several times (fetched by last change) and the daily
    MarketplaceData sales, revenue, cost and fees are sums of them. A line that matches none of
    the seller's listings has no listing ("not listed here"). `actual_cost` is the line's share of
    what the seller recorded paying for its order, in the store's currency.
    """

    listing = models.ForeignKey(Listing, on_delete=models.SET_NULL, null=True, blank=True, related_name="sales")
    store_account = models.ForeignKey(StoreAccount, on_delete=models.CASCADE, related_name="sales")
    # Null only for lines imported before orders were kept.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True, related_name="lines")
    marketplace_order_id = models.CharField(max_length=100)
    line_id = models.CharField(max_length=100)
    title = models.CharField(max_length=500, blank=True)
    sku = models.CharField(max_length=100, blank=True)
    external_item_id = models.CharField(max_length=100, blank=True, help_text="The marketplace's listing id.")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    # The unit cost (supplier price + shipping + sales tax, marketplaces.pricing) when it sold.
    unit_cost = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Unit cost (price + shipping + tax) at the time of sale."
    )
    actual_cost = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="This line's share of what the seller paid (store currency)."
    )
    fees = models.DecimalField(**MONEY, null=True, blank=True, help_text="The marketplace's actual fee, if given.")
    currency = models.CharField(max_length=3)
    ordered_at = models.DateTimeField()
    cancelled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "marketplaces_sale"
        constraints = [
            models.UniqueConstraint(
                fields=["store_account", "marketplace_order_id", "line_id"], name="sale_store_order_line_unique"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="sale_unit_price_not_negative"),
        ]
        indexes = [models.Index(fields=["listing", "ordered_at"], name="sale_listing_time_idx")]

    def __str__(self):
        return f"{self.marketplace_order_id}/{self.line_id} × {self.quantity}"

    @property
    def shipped(self) -> bool:
        """Whether a shipment the marketplace accepted holds this line (needs shipments prefetched)."""
        return any(shipment.status == ShipmentStatus.SENT for shipment in self.shipments.all())


class ShipmentStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Accepted by the marketplace"
    REFUSED = "refused", "Refused by the marketplace"


class Shipment(models.Model):
    """One package of an order: its carrier and tracking number and how the marketplace took them.

    Its own rows because eBay and Shopify ship some lines of an order at a time, each package with
    its own tracking number, and a tracking number the marketplace could not take yet is sent again
    later (`next_attempt_at`); a refusal keeps the marketplace's words in `error` and is not retried.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    lines = models.ManyToManyField(Sale, related_name="shipments")
    carrier = models.CharField(max_length=100)
    tracking_number = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=ShipmentStatus.choices, default=ShipmentStatus.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    remote_id = models.CharField(max_length=100, blank=True, help_text="The marketplace's id of the shipment.")
    shipped_at = models.DateTimeField(help_text="When the package left, as the seller says.")
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When the marketplace accepted it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "marketplaces_shipment"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ShipmentStatus.values), name="shipment_status_valid"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="shipment_due_idx")]

    def __str__(self):
        return f"{self.carrier} {self.tracking_number} ({self.get_status_display()})"


class ExchangeRate(models.Model):
    """Units of a currency per euro (the ECB reference rates), kept by staff and refreshed daily."""

    currency = models.CharField(max_length=3, unique=True)
    per_eur = models.DecimalField(max_digits=18, decimal_places=6)
    as_of = models.DateField()
    source = models.CharField(max_length=20, default="ecb")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "marketplaces_exchange_rate"
        ordering = ["currency"]
        constraints = [models.CheckConstraint(condition=Q(per_eur__gt=0), name="exchangerate_positive")]

    def __str__(self):
        return f"1 EUR = {self.per_eur} {self.currency} ({self.as_of})"


class BlocklistTerm(models.Model):
    """A brand or keyword that must not be published: staff's global list (no user) or a seller's own."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="blocklist_terms"
    )
    term = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "marketplaces_blocklist_term"
        ordering = ["term"]
        constraints = [models.UniqueConstraint(fields=["user", "term"], name="blocklist_user_term_unique")]

    def __str__(self):
        return self.term if self.user_id else f"{self.term} (global)"


class AutomationSwitch(models.Model):
    """Staff's one global switch: while on, no automatic change is pushed to any marketplace
    (changes are still computed, shown and held). One row."""

    pushes_paused = models.BooleanField(default=False)
    reason = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "marketplaces_automation_switch"
        verbose_name_plural = "automation switches"

    def __str__(self):
        return "Automatic pushes paused" if self.pushes_paused else "Automatic pushes on"

    @classmethod
    def current(cls):
        switch, _ = cls.objects.get_or_create(pk=1)
        return switch


class PushOperation(models.TextChoices):
    PUBLISH = "publish", "Published"
    UPDATE = "update", "Price and quantity"
    PAUSE = "pause", "Paused"
    RESUME = "resume", "Resumed"
    END = "end", "Ended"


class RecordedPush(models.Model):
    """A call a demo store's recording adapter received in place of a marketplace: what a real
    store would have been sent (DESIGN.md: demo stores push through a recording adapter chosen by
    the demo flag). Its own rows so the listing page can show every push, newest first."""

    store_account = models.ForeignKey(StoreAccount, on_delete=models.CASCADE, related_name="recorded_pushes")
    listing = models.ForeignKey(
        Listing, on_delete=models.CASCADE, null=True, blank=True, related_name="recorded_pushes"
    )
    operation = models.CharField(max_length=10, choices=PushOperation.choices)
    sku = models.CharField(max_length=100)
    price = models.DecimalField(**MONEY, null=True, blank=True, help_text="The price sent; empty when unchanged.")
    quantity = models.PositiveIntegerField(null=True, blank=True, help_text="The quantity sent; empty when unchanged.")
    currency = models.CharField(max_length=3, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "marketplaces_recorded_push"
        constraints = [
            models.CheckConstraint(condition=Q(operation__in=PushOperation.values), name="recordedpush_operation_valid")
        ]
        indexes = [models.Index(fields=["listing", "created_at"], name="recordedpush_listing_time_idx")]

    def __str__(self):
        return f"{self.get_operation_display()} {self.sku} ({self.store_account})"
