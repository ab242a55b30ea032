"""Demo and load-test data, built by `manage.py seed_demo`.

The demo set is one seller with a realistic quarter of history behind every screen; the
load-test set is many listings with a long daily performance series, for timing dashboards,
exports and imports. Both are deterministic (`random.Random` with a fixed seed, dates relative
to today) and idempotent: every row has a natural key, and a re-run only adds what is missing.

Demo data is safe to run anywhere (DESIGN.md): every seller made here is flagged `is_demo`, so
the schedule neither refreshes products tracked only by them nor syncs their stores; their
stores hold no secrets and push through the recording adapter; the demo proxies are inactive
placeholders. In development (settings.DEMO_SHOP_ENABLED) the demo seller also tracks and lists
the demo shop's products (catalog.demo_shop), which the schedule does follow, live: their prices
change on the shop's timetable, so a new user sees a price change reach a listing within minutes.
"""

import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Tier, User
from accounts.services import user_email_mark_verified
from catalog import demo_shop
from catalog.identify import identify
from catalog.models import Availability, ChangeReason, PriceHistory, Product, ProxyPool, StockHistory, Supplier
from catalog.services import supplier_for_site
from marketplaces.models import (
    DataSource,
    Environment,
    ExchangeRate,
    Listing,
    ListingStatus,
    Marketplace,
    MarketplaceData,
    Order,
    OrderState,
    Sale,
    Shipment,
    ShipmentStatus,
    StatusReason,
    StoreAccount,
)
from marketplaces.pricing import listing_quantity, listing_quote, quote_for_price
from marketplaces.services.totals import totals_refresh
from monitoring.models import (
    Alert,
    AlertType,
    AuditLog,
    Channel,
    Job,
    JobStatus,
    Notification,
    NotificationChannel,
    NotificationType,
    Severity,
)
from monitoring.records import audit_values

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-seller-password"  # printed by the command: this account is public by design
DEMO_SEED = 20240601
DEMO_DAYS = 90
LOADTEST_EMAIL = "loadtest{n}@example.com"
LOADTEST_SEED = 424242
LOADTEST_ASIN_PREFIX = "LT"
LOADTEST_PRODUCT_FAMILIES = ("amazon", "aliexpress", "costco")
LOADTEST_DAYS_PER_PASS = 7  # days of every listing written before the next days
PROXY_PLACEHOLDER_REASON = "Demo placeholder, not a real proxy: seed_demo keeps it inactive so scraping never uses it."
NOT_A_DEMO_ACCOUNT = "{email} belongs to a real account (is_demo is off); seed_demo never touches it."
FAMILY_MISSING = "Supplier family '{name}' is missing: run `manage.py migrate` first."

BULK_BATCH = 5000  # rows per INSERT on the bulk_create path
COPY_CHUNK = 20000  # lines handed to COPY per write
WEEKLY = (0.92, 0.88, 0.90, 0.95, 1.03, 1.22, 1.15)  # Monday … Sunday: shoppers browse at weekends

CENT = Decimal("0.01")

# Site rows the demo needs besides the family templates from catalog's migration 0002.
DEMO_SITES = (
    # name, family, base_url, currency, rate_limit
    ("amazon-de", "amazon", "https://www.amazon.de", "EUR", 20),
    ("amazon-co-uk", "amazon", "https://www.amazon.co.uk", "GBP", 20),
    ("shop-example-com", "generic", "https://shop.example.com", "USD", 30),
)

# Fifty products: (supplier site, title, price at the start of the quarter in the site's currency).
DEMO_CATALOGUE = {
    "amazon": [
        ("Stainless Steel Insulated Water Bottle 750 ml", "18.99"),
        ("Wireless Earbuds with Charging Case", "29.99"),
        ("Bamboo Desk Organizer with Drawer", "24.50"),
        ("LED Desk Lamp with USB Charging Port", "32.00"),
        ("Silicone Baking Mat Set (3 pieces)", "13.49"),
        ("Adjustable Aluminium Laptop Stand", "27.99"),
        ("Resistance Bands Set with Handles", "21.95"),
        ("Magnetic Phone Car Mount", "12.99"),
        ("Handheld Electric Milk Frother", "11.49"),
        ("Cast Iron Skillet 10 inch", "24.99"),
        ("Memory Foam Seat Cushion", "34.99"),
        ("Digital Kitchen Scale 5 kg", "14.99"),
        ("Waterproof Hiking Backpack 30 L", "39.99"),
        ("Blue Light Blocking Glasses (2 pack)", "16.99"),
    ],
    "amazon-de": [
        ("Edelstahl-Thermoskanne 1 L", "22.99"),
        ("Bluetooth-Lautsprecher, wasserdicht", "35.99"),
        ("Yogamatte rutschfest 6 mm", "24.90"),
        ("Kabellose Maus, leise", "15.99"),
        ("Gewürzregal mit 20 Gläsern", "29.95"),
        ("LED-Lichterkette 10 m", "12.99"),
        ("Elektrische Kaffeemühle", "27.49"),
        ("Reisekissen aus Memory-Schaum", "19.99"),
    ],
    "amazon-co-uk": [
        ("Electric Kettle 1.7 L", "24.99"),
        ("Heated Throw Blanket", "45.00"),
        ("Garden Kneeler and Seat", "29.99"),
        ("Bike Phone Holder", "11.99"),
    ],
    "aliexpress": [
        ("Mini Projector with 1080p Support", "54.90"),
        ("Smart Watch Fitness Tracker", "19.80"),
        ("Mechanical Keyboard 68 Keys", "32.40"),
        ("RGB LED Strip Lights 5 m", "8.90"),
        ("Portable Neck Fan", "9.75"),
        ("Phone Camera Lens Kit", "12.60"),
        ("Cordless Car Vacuum Cleaner", "23.10"),
        ("Wireless Charging Pad 15 W", "7.85"),
        ("Cable Organizer Box", "6.40"),
        ("Silicone Kitchen Utensil Set", "14.20"),
    ],
    "costco": [
        ("Mixed Nuts 1.1 kg", "19.99"),
        ("Air Fryer 5.8 L", "89.99"),
        ("Memory Foam Pillow (2 pack)", "39.99"),
        ("Stainless Steel Cookware Set, 12 pieces", "149.99"),
        ("Robot Vacuum with Mapping", "199.99"),
        ("Outdoor Folding Chair (2 pack)", "59.99"),
        ("Organic Whole Bean Coffee 1.3 kg", "21.99"),
        ("Cordless Drill Kit 20 V", "79.99"),
    ],
    "shop-example-com": [
        ("Handmade Ceramic Mug", "18.00"),
        ("Scented Soy Candle, Cedar", "16.50"),
        ("Linen Tea Towels (set of 3)", "22.00"),
        ("Leather Card Holder", "25.00"),
        ("Botanical Print A3", "14.00"),
        ("Beeswax Food Wraps", "12.50"),
    ],
}
NUMERIC_STOCK_SITES = {"aliexpress", "costco", "shop-example-com"}  # pages that state a quantity

# The products the demo tells a story about (product key = "<site>:<index>").
LOW_MARGIN = "amazon:0"  # supplier price up 25% two days ago; locked listing paused for low margin
LOCKED_DAYS_AGO = 20  # when the seller locked the LOW_MARGIN listing's price
PRICE_DROP = "amazon:1"  # supplier price down 15% yesterday; listing repriced
MANUAL_PAUSE = "amazon:2"  # the seller paused it 20 days ago
ENDED = "amazon:3"  # the seller ended it 30 days ago
BACK_IN_STOCK = "aliexpress:0"  # out of stock from day -40 to -34, listing paused then resumed
LOW_STOCK = "aliexpress:1"  # 3 left: open alert
DELISTED = "aliexpress:2"  # removed on eBay's side 15 days ago
OUT_OF_STOCK = "costco:0"  # out of stock for 5 days: listing paused
LOW_STOCK_ACKNOWLEDGED = "costco:1"  # 4 left: alert acknowledged by the seller

EBAY_LISTED = (
    [f"amazon:{i}" for i in range(12)]
    + [f"aliexpress:{i}" for i in range(8)]
    + [f"costco:{i}" for i in range(6)]
    + ["shop-example-com:0", "shop-example-com:1"]
)
SHOPIFY_LISTED = [f"amazon-de:{i}" for i in range(8)]
# product key: (status, reason, days ago it stopped selling)
LISTING_STORIES = {
    LOW_MARGIN: (ListingStatus.PAUSED, StatusReason.LOW_MARGIN, 2),
    OUT_OF_STOCK: (ListingStatus.PAUSED, StatusReason.OUT_OF_STOCK, 5),
    MANUAL_PAUSE: (ListingStatus.PAUSED, StatusReason.MANUAL_PAUSE, 20),
    ENDED: (ListingStatus.ENDED, StatusReason.MANUAL_END, 30),
    DELISTED: (ListingStatus.DELISTED, StatusReason.NONE, 15),
    "shop-example-com:0": (ListingStatus.PENDING, StatusReason.NONE, None),
    "shop-example-com:1": (ListingStatus.PENDING, StatusReason.NONE, None),
}
LATE_STARTS = {"aliexpress:5": 60, "aliexpress:6": 60, "aliexpress:7": 45, "costco:4": 45, "costco:5": 30}

STORE_FEES = {
    # marketplace: marketplace fee percent and fixed, payment fee percent and fixed. eBay's fee includes
    # payment processing; Shopify charges no fee of its own, only Shopify Payments' 2.9 % + 30¢; Etsy's
    # 6.5 % transaction fee and 20¢ listing fee, then Etsy Payments' 3 % + 25¢.
    Marketplace.EBAY: (Decimal("13.25"), Decimal("0.30"), Decimal("0.00"), Decimal("0.00")),
    Marketplace.SHOPIFY: (Decimal("0.00"), Decimal("0.00"), Decimal("2.90"), Decimal("0.30")),
    Marketplace.ETSY: (Decimal("6.50"), Decimal("0.20"), Decimal("3.00"), Decimal("0.25")),
}
FEE_FIELDS = ("fee_percent", "fee_fixed", "payment_fee_percent", "payment_fee_fixed")
# What older seeds wrote: one combined fee (fee_percent, fee_fixed) and no payment fee.
COMBINED_FEES = {
    Marketplace.SHOPIFY: (Decimal("2.90"), Decimal("0.25")),
    Marketplace.ETSY: (Decimal("9.50"), Decimal("0.45")),
}
STORE_PRICING = {
    # marketplace: markup percent, price ending
    Marketplace.EBAY: (Decimal("30.00"), Decimal("0.99")),
    Marketplace.SHOPIFY: (Decimal("35.00"), Decimal("0.95")),
    Marketplace.ETSY: (Decimal("32.00"), Decimal("0.99")),
}
LOADTEST_STORES = (Marketplace.EBAY, Marketplace.SHOPIFY, Marketplace.ETSY, Marketplace.EBAY)
LOADTEST_SOURCES = {Marketplace.EBAY: DataSource.EBAY_TRAFFIC_REPORT, Marketplace.ETSY: DataSource.ETSY_VIEWS_DELTA}


class DemoSeedError(Exception):
    """The data set cannot be made (a real account holds a demo address, a family row is missing)."""


@dataclass
class SeedResult:
    """What a seed run made: the sellers to log in as, and the rows created per model."""

    users: list
    password: str
    created: Counter = field(default_factory=Counter)


# --- money and prices --------------------------------------------------------------------------


def _cents(value) -> int:
    return int((Decimal(value) * 100).to_integral_value(ROUND_HALF_UP))


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _money_text(cents: int) -> str:
    if not cents:
        return "0.00"
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _listing_price_cents(cost_cents: int, store) -> int:
    return _cents(listing_quote(cost=_money(cost_cents), store=store).price)


def _margin_percent(price_cents: int, cost_cents: int, store) -> Decimal:
    return quote_for_price(cost=_money(cost_cents), price=_money(price_cents), store=store).margin_percent


def _fee_terms(store) -> tuple[tuple[int, int], tuple[int, int]]:
    """The store's marketplace fee and payment fee, each as (hundredths of a percent, fixed cents):
    integer arithmetic per row."""
    return (
        (int(store.fee_percent * 100), _cents(store.fee_fixed)),
        (int(store.payment_fee_percent * 100), _cents(store.payment_fee_fixed)),
    )


def _availability(stock) -> str:
    if stock is None:
        return Availability.IN_STOCK
    if stock == 0:
        return Availability.OUT_OF_STOCK
    if stock <= 5:
        return Availability.LOW_STOCK
    return Availability.IN_STOCK


def _quantity(stock, store) -> int:
    return listing_quantity(stock=stock, store=store)


# --- the daily performance series (shared by the demo and the load test) -----------------------


def _series(
    rng,
    *,
    listing_id,
    dates,
    views_base,
    ctr,
    cvr,
    prices,
    costs,
    selling,
    fee_terms,
    source,
    views_reported=True,
    clicks_reported=True,
    first=0,
    span=None,
):
    """Rows of one listing's daily performance: (listing_id, date, views, clicks, sales, revenue,
    cost, fees, profit, rating, feedbacks, source), money in integer cents.

    Views follow a weekly rhythm and a slow rise; clicks are a few percent of views, sales a
    fraction of clicks. revenue = sales × the day's listing price, cost = sales × the day's
    supplier price, fees = the marketplace fee plus the payment fee (each revenue × percent + sales ×
    fixed), profit by MarketplaceData.profit_of.
    """
    (fee_bp, fee_fixed), (payment_bp, payment_fixed) = fee_terms
    rand = rng.random
    profit_of = MarketplaceData.profit_of
    span = max(1, span or len(dates))  # `dates` may be a part of the series: days first … of span
    rows = []
    for i, (day, weekday) in enumerate(dates):
        on_sale = selling is None or selling[i]
        views = int(views_base * WEEKLY[weekday] * (0.85 + 0.3 * (first + i) / span) * (0.8 + 0.4 * rand()))
        if not on_sale:
            views = int(views * 0.3)  # still found by search, nothing to buy
        clicks = int(views * ctr + rand())
        sales = int(clicks * cvr + rand()) if on_sale else 0
        if sales:
            revenue = sales * prices[i]
            cost = sales * costs[i]
            fees = (
                (revenue * fee_bp + 5000) // 10000
                + sales * fee_fixed
                + (revenue * payment_bp + 5000) // 10000
                + sales * payment_fixed
            )
            profit = profit_of(revenue, cost, fees)
            if rand() < 0.35:
                feedbacks = 1 + int(rand() * sales)
                rating = 400 + int(rand() * 101)  # hundredths: 4.00 … 5.00
            else:
                feedbacks, rating = 0, None
        else:
            revenue = cost = fees = profit = feedbacks = 0
            rating = None
        rows.append(
            (
                listing_id,
                day,
                views if views_reported else None,  # None: the marketplace does not report it
                clicks if clicks_reported else None,
                sales,
                revenue,
                cost,
                fees,
                profit,
                rating,
                feedbacks,
                source,
            )
        )
    return rows


MD_COLUMNS = (
    "listing_id",
    "date",
    "views",
    "clicks",
    "sales",
    "revenue",
    "cost_of_goods_sold",
    "fees",
    "profit",
    "avg_rating_received",
    "customer_feedbacks",
    "source",
    "notes",
    "created_at",
    "updated_at",
)


def _copy_available() -> bool:
    return connection.vendor == "postgresql"


def _marketplace_data_write(rows, *, use_copy: bool) -> int:
    """Insert series rows: PostgreSQL COPY when asked (much faster), else bulk_create."""
    if not rows:
        return 0
    if use_copy:
        _marketplace_data_copy(rows)
    else:
        MarketplaceData.objects.bulk_create(
            [
                MarketplaceData(
                    listing_id=listing_id,
                    date=day,
                    views=views,
                    clicks=clicks,
                    sales=sales,
                    revenue=_money(revenue),
                    cost_of_goods_sold=_money(cost),
                    fees=_money(fees),
                    profit=_money(profit),
                    avg_rating_received=None if rating is None else _money(rating),
                    customer_feedbacks=feedbacks,
                    source=source,
                )
                for (
                    listing_id,
                    day,
                    views,
                    clicks,
                    sales,
                    revenue,
                    cost,
                    fees,
                    profit,
                    rating,
                    feedbacks,
                    source,
                ) in rows
            ],
            batch_size=BULK_BATCH,
        )
    return len(rows)


def _marketplace_data_copy(rows) -> None:
    stamp = timezone.now().isoformat()
    tail = f"\t\\N\t{stamp}\t{stamp}\n"  # notes, created_at, updated_at
    money = _money_text
    null = "\\N"
    statement = f"COPY {MarketplaceData._meta.db_table} ({', '.join(MD_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        lines = []
        for listing_id, day, views, clicks, sales, revenue, cost, fees, profit, rating, feedbacks, source in rows:
            lines.append(
                f"{listing_id}\t{day}\t{null if views is None else views}\t{null if clicks is None else clicks}\t"
                f"{sales}\t{money(revenue)}\t{money(cost)}\t{money(fees)}\t{money(profit)}\t"
                f"{null if rating is None else money(rating)}\t{feedbacks}\t{source}{tail}"
            )
            if len(lines) >= COPY_CHUNK:
                copy.write("".join(lines))
                lines.clear()
        if lines:
            copy.write("".join(lines))


def _day_window(today: date, days: int):
    """The `days` days before today (the daily import covers finished days), oldest first."""
    return [today - timedelta(days=days - k) for k in range(days)]


# --- sellers, suppliers ------------------------------------------------------------------------


def _demo_user(email: str, *, first_name: str, last_name: str, created: Counter, **fields) -> User:
    """The flagged demo account at `email`; never takes over a real account."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(
            email, DEMO_PASSWORD, first_name=first_name, last_name=last_name, is_demo=True, tier=Tier.PRO, **fields
        )
        created["user"] += 1
        user_email_mark_verified(user=user)  # the printed login works: sign-in needs a confirmed email
        return user
    if not user.is_demo:
        raise DemoSeedError(NOT_A_DEMO_ACCOUNT.format(email=email))
    if not user.check_password(DEMO_PASSWORD):
        # The printed credentials must work, even after someone changed the demo password.
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password", "updated_at"])
    user_email_mark_verified(user=user)  # the printed login works: sign-in needs a confirmed email
    return user


def _families(names) -> dict:
    families = {supplier.name: supplier for supplier in Supplier.objects.filter(name__in=names, family__isnull=True)}
    for name in names:
        if name not in families:
            raise DemoSeedError(FAMILY_MISSING.format(name=name))
    return families


def _demo_suppliers(created: Counter) -> dict:
    suppliers = _families({"amazon", "aliexpress", "costco", "generic"})
    for name, family, base_url, currency, rate_limit in DEMO_SITES:
        site, made = Supplier.objects.get_or_create(
            name=name,
            defaults={
                "family": suppliers[family],
                "base_url": base_url,
                "currency": currency,
                "rate_limit": rate_limit,
            },
        )
        created["supplier"] += made
        suppliers[name] = site
    return suppliers


def _product_url(site: Supplier, asin: str, title: str) -> str:
    slug = "-".join("".join(ch if ch.isalnum() else " " for ch in title.lower()).split())
    family = site.template.name
    if family == "amazon":
        return f"{site.base_url}/dp/{asin}"
    if family == "aliexpress":
        return f"{site.base_url}/item/{asin}.html"
    if family == "costco":
        return f"{site.base_url}/{slug}.product.{asin}.html"
    return f"{site.base_url}/products/{slug}"


def _demo_asin(site_name: str, index: int) -> str:
    return {
        "amazon": f"B0DEMO{index:04d}",
        "amazon-de": f"B0DEDE{index:04d}",
        "amazon-co-uk": f"B0DEUK{index:04d}",
        "aliexpress": f"10050099{index:08d}",
        "costco": f"99900{index:04d}",
    }.get(site_name, f"demo-sku-{index:03d}")


# --- the demo's product histories --------------------------------------------------------------


@dataclass
class _ProductPlan:
    key: str
    site: str
    index: int
    title: str
    currency: str
    prices: list  # cents on each of the DEMO_DAYS days
    stocks: list  # stock (None = not stated) on each day
    moments: list  # (hour, minute) a change was seen on each day
    rating: Decimal
    reviews: int
    scraped_minutes_ago: int


def _set_from(path: list, start: int, value) -> None:
    for k in range(start, len(path)):
        path[k] = value


def _product_plans(rng: random.Random) -> list:
    """Every demo product's 90 days of price and stock, drawn before the database is read."""
    days = DEMO_DAYS
    currencies = {"amazon-de": "EUR", "amazon-co-uk": "GBP"}
    plans = []
    for site, items in DEMO_CATALOGUE.items():
        for index, (title, start_price) in enumerate(items):
            price = _cents(start_price)
            prices, stocks, moments = [], [], []
            stock = rng.randint(40, 250) if site in NUMERIC_STOCK_SITES else None
            for k in range(days):
                if k and rng.random() < 0.05:
                    change = rng.uniform(0.03, 0.12) * (1 if rng.random() < 0.55 else -1)
                    price = max(99, round(price * (1 + change)))
                if k and stock is not None and rng.random() < 0.12:
                    stock -= rng.randint(1, 12)
                    if stock < 10:
                        stock = rng.randint(60, 250)  # restocked
                prices.append(price)
                stocks.append(stock)
                moments.append((rng.randint(0, 23), rng.randint(0, 59)))
            plans.append(
                _ProductPlan(
                    key=f"{site}:{index}",
                    site=site,
                    index=index,
                    title=title,
                    currency=currencies.get(site, "USD"),
                    prices=prices,
                    stocks=stocks,
                    moments=moments,
                    rating=Decimal(rng.randint(350, 490)).scaleb(-2),
                    reviews=rng.randint(12, 8000),
                    scraped_minutes_ago=rng.randint(3, 55),
                )
            )
    by_key = {plan.key: plan for plan in plans}
    low_margin = by_key[LOW_MARGIN].prices
    _set_from(low_margin, days - 2, round(low_margin[days - 3] * 1.25))
    drop = by_key[PRICE_DROP].prices
    _set_from(drop, days - 1, round(drop[days - 2] * 0.85))
    _set_from(by_key[OUT_OF_STOCK].stocks, days - 5, 0)
    _set_from(by_key[LOW_STOCK].stocks, days - 3, 3)
    _set_from(by_key[LOW_STOCK_ACKNOWLEDGED].stocks, days - 6, 4)
    back = by_key[BACK_IN_STOCK].stocks
    back[days - 40 : days - 33] = [0] * 7
    return plans


def _at(today: date, days_ago: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), tzinfo=UTC).replace(
        hour=hour, minute=minute
    )


def _demo_products(plans, suppliers, today, now, created) -> dict:
    products = {}
    for plan in plans:
        site = suppliers[plan.site]
        asin = _demo_asin(plan.site, plan.index)
        stock = plan.stocks[-1]
        product, made = Product.objects.get_or_create(
            supplier=site,
            asin=asin,
            defaults={
                "title": plan.title,
                "description": f"{plan.title}. Demo product: its prices and stock are made up by seed_demo.",
                "price": _money(plan.prices[-1]),
                "currency": plan.currency,
                "stock": stock,
                "availability": _availability(stock),
                "rating": plan.rating,
                "reviews_count": plan.reviews,
                "url": _product_url(site, asin, plan.title),
                "last_scraped_at": now - timedelta(minutes=plan.scraped_minutes_ago),
            },
        )
        products[plan.key] = product
        if not made:
            continue  # its history was written with it
        created["product"] += 1
        Product.objects.filter(pk=product.pk).update(
            created_at=_at(today, DEMO_DAYS + 1, 22)
        )  # before its first reading
        created["pricehistory"] += len(PriceHistory.objects.bulk_create(_price_rows(plan, product, today)))
        created["stockhistory"] += len(StockHistory.objects.bulk_create(_stock_rows(plan, product, today)))
    return products


def _price_rows(plan, product, today) -> list:
    rows, previous = [], None
    for k, price in enumerate(plan.prices):
        if price != previous:
            rows.append(
                PriceHistory.build(
                    product=product,
                    old_price=None if previous is None else _money(previous),
                    new_price=_money(price),
                    currency=plan.currency,
                    reason=ChangeReason.SCRAPE,
                    recorded_at=_at(today, DEMO_DAYS - k, *plan.moments[k]),
                )
            )
        previous = price
    return rows


def _stock_rows(plan, product, today) -> list:
    rows, previous = [], None
    for k, stock in enumerate(plan.stocks):
        state = (stock, _availability(stock))
        if state != previous:
            rows.append(
                StockHistory(
                    product=product,
                    old_stock=None if previous is None else previous[0],
                    new_stock=stock,
                    old_availability="" if previous is None else previous[1],
                    new_availability=state[1],
                    recorded_at=_at(today, DEMO_DAYS - k, *plan.moments[k]),
                    reason=ChangeReason.SCRAPE,
                )
            )
        previous = state
    return rows


# --- the demo seller's world ---------------------------------------------------------------------


def _demo_proxies(created) -> None:
    for host, port, protocol, country in (
        ("proxy-1.demo.invalid", 8080, "http", "US"),
        ("proxy-2.demo.invalid", 3128, "https", "DE"),
        ("proxy-3.demo.invalid", 1080, "socks5", "GB"),
    ):
        _, made = ProxyPool.objects.get_or_create(
            host=host,
            port=port,
            protocol=protocol,
            defaults={
                "country": country,
                "health_score": 0,
                "is_active": False,
                "deactivated_reason": PROXY_PLACEHOLDER_REASON,
            },
        )
        created["proxypool"] += made


def _store(user, marketplace, account_name, created, **fields) -> StoreAccount:
    """A demo seller's store, its marketplace's fees split into the marketplace's own and the payment
    processor's (a store an older seed made with one combined fee gets the split)."""
    fees = dict(zip(FEE_FIELDS, STORE_FEES[marketplace], strict=True))
    markup_percent, price_ending = STORE_PRICING[marketplace]
    store, made = StoreAccount.objects.get_or_create(
        user=user,
        marketplace=marketplace,
        account_name=account_name,
        defaults={
            "is_connected": True,  # looks connected; the schedule never syncs an is_demo seller's store
            "markup_percent": markup_percent,
            "price_ending": price_ending,
            **fees,
            **fields,
        },
    )
    created["storeaccount"] += made
    combined = COMBINED_FEES.get(marketplace)
    if not made and combined and (store.fee_percent, store.fee_fixed) == combined and not store.payment_fee_percent:
        for name, value in fees.items():
            setattr(store, name, value)
        store.save(update_fields=[*FEE_FIELDS, "updated_at"])
    return store


@dataclass
class _ListingPlan:
    key: str
    store: str
    status: str
    reason: str
    start: int  # day index of the first day on sale
    stop: int | None  # day index it stopped selling (paused, ended, delisted)
    views_base: int
    ctr: float
    cvr: float
    external_id: str


def _listing_plans(rng: random.Random) -> list:
    plans = []
    for store, keys in (("ebay", EBAY_LISTED), ("shopify", SHOPIFY_LISTED)):
        for number, key in enumerate(keys):
            status, reason, stopped_days_ago = LISTING_STORIES.get(key, (ListingStatus.ACTIVE, StatusReason.NONE, None))
            external = (
                f"{110_500_000_000 + number * 7919}" if store == "ebay" else f"{8_012_345_600_000 + number * 104_729}"
            )
            plans.append(
                _ListingPlan(
                    key=key,
                    store=store,
                    status=status,
                    reason=reason,
                    start=DEMO_DAYS - LATE_STARTS.get(key, DEMO_DAYS),
                    stop=None if stopped_days_ago is None else DEMO_DAYS - stopped_days_ago,
                    views_base=rng.randint(25, 260),
                    ctr=rng.uniform(0.02, 0.06),
                    cvr=rng.uniform(0.05, 0.18),
                    external_id=None if status == ListingStatus.PENDING else external,
                )
            )
    return plans


def _demo_listings(seller, plans, product_plans, products, stores, today, created) -> dict:
    listings = {}
    for plan in plans:
        store = stores[plan.store]
        product_plan = product_plans[plan.key]
        locked = plan.key == LOW_MARGIN  # the seller fixed the price, so the system could only pause it
        cost = product_plan.prices[DEMO_DAYS - LOCKED_DAYS_AGO] if locked else product_plan.prices[-1]
        paused_or_gone = plan.status in (ListingStatus.PAUSED, ListingStatus.ENDED, ListingStatus.DELISTED)
        listing, made = Listing.objects.get_or_create(
            product=products[plan.key],
            store_account=store,
            defaults={
                "user": seller,
                "external_listing_id": plan.external_id,
                "title": product_plan.title[:80],
                "description": f"{product_plan.title}. Fast shipping, 30-day returns.",
                "price": _money(_listing_price_cents(cost, store)),
                "price_locked": locked,
                "quantity_available": 0 if paused_or_gone else _quantity(product_plan.stocks[-1], store),
                "status": plan.status,
                "status_reason": plan.reason,
                "ended_at": _at(today, DEMO_DAYS - plan.stop, 10) if plan.status in ("ended", "delisted") else None,
            },
        )
        listings[plan.key] = listing
        if made:
            created["listing"] += 1
            days_ago = 1 if plan.status == ListingStatus.PENDING else DEMO_DAYS - plan.start
            Listing.objects.filter(pk=listing.pk).update(created_at=_at(today, days_ago, 9, 30))
    return listings


def _demo_marketplace_data(plans, product_plans, listings, stores, today, *, use_copy) -> int:
    dates = [(day, day.weekday()) for day in _day_window(today, DEMO_DAYS)]
    have = set(
        MarketplaceData.objects.filter(listing__in=listings.values(), date__gte=dates[0][0]).values_list(
            "listing_id", "date"
        )
    )
    rows = []
    for plan in plans:
        if plan.status == ListingStatus.PENDING:
            continue  # never published: nothing to report
        store = stores[plan.store]
        listing = listings[plan.key]
        product_plan = product_plans[plan.key]
        last = plan.stop if plan.status in (ListingStatus.ENDED, ListingStatus.DELISTED) else DEMO_DAYS
        span = range(plan.start, last)
        prices_by_cost = {}
        prices, costs, selling = [], [], []
        for k in span:
            cost = product_plan.prices[k]
            if listing.price_locked and k >= DEMO_DAYS - LOCKED_DAYS_AGO:
                prices.append(_cents(listing.price))
            else:
                if cost not in prices_by_cost:
                    prices_by_cost[cost] = _listing_price_cents(cost, store)
                prices.append(prices_by_cost[cost])
            costs.append(cost)
            in_stock = product_plan.stocks[k] != 0
            selling.append(in_stock and (plan.stop is None or k < plan.stop))
        series = _series(
            random.Random(f"{DEMO_SEED}:{plan.store}:{plan.key}"),
            listing_id=listing.pk,
            dates=dates[plan.start : last],
            views_base=plan.views_base,
            ctr=plan.ctr,
            cvr=plan.cvr,
            prices=prices,
            costs=costs,
            selling=selling,
            fee_terms=_fee_terms(store),
            source=DataSource.EBAY_TRAFFIC_REPORT if store.marketplace == Marketplace.EBAY else DataSource.NONE,
            views_reported=store.marketplace == Marketplace.EBAY,  # Shopify reports no views or clicks
            clicks_reported=store.marketplace == Marketplace.EBAY,
        )
        rows.extend(row for row in series if (row[0], row[1]) not in have)
    return _marketplace_data_write(rows, use_copy=use_copy)


DEMO_IMPORT_ROWS = [
    # row, text, status, message: a finished CSV import with the kinds of line a seller meets.
    (2, "https://www.amazon.com/dp/B0DEMO0004", "already_tracked", "You already track this product."),
    (3, "B0DEMO0005", "already_tracked", "You already track this product."),
    (4, "https://www.aliexpress.com/item/1005009900000003.html", "already_tracked", "You already track this product."),
    (
        5,
        "https://www.ebay.com/itm/123456789012",
        "error",
        "“https://www.ebay.com/itm/123456789012” is not a "
        "product page we can read: eBay is a marketplace you sell on, not a supplier.",
    ),
    (6, "", "error", "Empty row: no url or asin."),
    (
        7,
        "https://amzn.to/3xYzAbC",
        "error",
        "Short links (amzn.to) do not name the product; open the link and paste the full product address.",
    ),
]


def _demo_import_result() -> dict:
    rows = [
        {"row": row, "text": text, "supplier": "", "note": "", "status": status, "message": message, "product_id": None}
        for row, text, status, message in DEMO_IMPORT_ROWS
    ]
    counts = Counter(row["status"] for row in rows)
    return {
        "added": counts["added"],
        "tracking": counts["tracking"],
        "already_tracked": counts["already_tracked"],
        "error": counts["error"],
        "rows": rows,
    }


def _demo_jobs(seller, stores, now, created) -> dict:
    """One job of each kind the seller meets. Made once per type: a job the seller cancelled or
    retried stays as they left it, and none is left "running" with no worker behind it."""
    specs = {
        # Finished jobs: the sweep never touches them. The failed sync names its task, so it can be retried.
        "track_products": {
            "status": JobStatus.SUCCESS,
            "params": {"scope": "tracked"},
            "result": {
                "summary": "50 products: 4 updated, 46 unchanged.",
                "products": 50,
                "counts": {"updated": 4, "unchanged": 46},
                "failures": [],
                "outcomes": [],
            },
            "progress_done": 50,
            "progress_total": 50,
            "started_at": now - timedelta(hours=20),
            "completed_at": now - timedelta(hours=20) + timedelta(minutes=3),
        },
        "sync_ebay": {
            "status": JobStatus.FAILED,
            "params": {"store_id": stores["ebay"].pk},
            "task_name": "marketplaces.tasks.store_sync_task",  # its Retry runs the real sync (skipped: demo)
            "error_message": "eBay answered 503 Service Unavailable three times; the next scheduled sync tries again.",
            "retry_count": 3,
            "progress_done": 12,
            "progress_total": 28,
            "started_at": now - timedelta(hours=6),
            "completed_at": now - timedelta(hours=6) + timedelta(minutes=9),
        },
        "import_csv": {
            "status": JobStatus.SUCCESS,
            "params": {"filename": "supplier-list.csv"},
            "result": _demo_import_result(),
            "progress_done": len(DEMO_IMPORT_ROWS),
            "progress_total": len(DEMO_IMPORT_ROWS),
            "started_at": now - timedelta(hours=2),
            "completed_at": now - timedelta(hours=2) + timedelta(seconds=4),
        },
    }
    jobs = {}
    for job_type, fields in specs.items():
        job = Job.objects.filter(user=seller, type=job_type).order_by("created_at", "pk").first()
        if job is None:
            job = Job.objects.create(user=seller, type=job_type, **fields)
            created["job"] += 1
            Job.objects.filter(pk=job.pk).update(created_at=fields["started_at"] - timedelta(seconds=4))
        elif job.status in (JobStatus.PENDING, JobStatus.RUNNING) and not job.task_name:
            # Made by an older seed as a picture of a running job: nothing would ever finish it.
            Job.objects.filter(pk=job.pk).update(**{k: v for k, v in fields.items() if k != "params"})
            job.refresh_from_db()
        jobs[job_type] = job
    return jobs


def _demo_alerts(seller, products, listings, product_plans, stores, jobs, today, created) -> dict:
    low_margin = listings[LOW_MARGIN]
    plan = product_plans[LOW_MARGIN]
    margin = _margin_percent(_cents(low_margin.price), plan.prices[-1], stores["ebay"])
    drop_plan = product_plans[PRICE_DROP]
    failed = jobs["sync_ebay"]
    specs = [
        # name, type, subject, severity, message, data, product, listing, created (days ago or a moment), extra
        (
            "low_margin",
            AlertType.LOW_MARGIN,
            f"listing:{low_margin.pk}",
            Severity.CRITICAL,
            f"Margin fell to {margin}% (minimum {stores['ebay'].min_margin_percent}%) after the supplier price "
            "rose 25%; the listing is paused.",
            {"margin_percent": str(margin), "supplier_price": str(_money(plan.prices[-1]))},
            products[LOW_MARGIN],
            low_margin,
            2,
            {},
        ),
        (
            "out_of_stock",
            AlertType.LOW_STOCK,
            f"product:{products[OUT_OF_STOCK].pk}",
            Severity.WARNING,
            "Out of stock at the supplier; its listing is paused.",
            {"stock": 0},
            products[OUT_OF_STOCK],
            None,
            5,
            {},
        ),
        (
            "low_stock",
            AlertType.LOW_STOCK,
            f"product:{products[LOW_STOCK].pk}",
            Severity.WARNING,
            "Only 3 left at the supplier.",
            {"stock": 3},
            products[LOW_STOCK],
            None,
            3,
            {},
        ),
        (
            "price_drop",
            AlertType.PRICE_DROP,
            f"product:{products[PRICE_DROP].pk}",
            Severity.INFO,
            f"Supplier price dropped 15% to {_money(drop_plan.prices[-1])} USD; the listing was repriced.",
            {"old_price": str(_money(drop_plan.prices[-2])), "new_price": str(_money(drop_plan.prices[-1]))},
            products[PRICE_DROP],
            listings[PRICE_DROP],
            1,
            {},
        ),
        (
            "job_failed",
            AlertType.JOB_FAILED,
            f"job:{failed.pk}",
            Severity.WARNING,
            f"The eBay sync failed: {failed.error_message}",
            {"job_id": failed.pk},
            None,
            None,
            failed.completed_at,
            {},
        ),
        (
            "acknowledged",
            AlertType.LOW_STOCK,
            f"product:{products[LOW_STOCK_ACKNOWLEDGED].pk}",
            Severity.WARNING,
            "Only 4 left at the supplier.",
            {"stock": 4},
            products[LOW_STOCK_ACKNOWLEDGED],
            None,
            6,
            {"is_read": True, "read_at": _at(today, 5, 8), "acknowledged_at": _at(today, 5, 8, 2)},
        ),
        (
            "cleared",
            AlertType.LOW_STOCK,
            f"product:{products[BACK_IN_STOCK].pk}",
            Severity.WARNING,
            "Out of stock at the supplier; its listing is paused.",
            {"stock": 0},
            products[BACK_IN_STOCK],
            None,
            40,
            {"is_read": True, "read_at": _at(today, 40, 9), "cleared_at": _at(today, 33, 7)},
        ),
    ]
    alerts = {}
    for name, alert_type, subject, severity, message, data, product, listing, days_ago, extra in specs:
        cleared = "cleared_at" in extra
        alert = Alert.objects.filter(
            user=seller, type=alert_type, subject=subject, cleared_at__isnull=not cleared
        ).first()
        if alert is None:
            alert = Alert.objects.create(
                user=seller,
                type=alert_type,
                subject=subject,
                severity=severity,
                message=message,
                data=data,
                product=product,
                listing=listing,
                **extra,
            )
            when = days_ago if isinstance(days_ago, datetime) else _at(today, days_ago, 6, 15)
            Alert.objects.filter(pk=alert.pk).update(created_at=when)
            created["alert"] += 1
        alerts[name] = alert
    return alerts


def _demo_notifications(seller, alerts, jobs, now, created) -> None:
    specs = [
        {
            "type": NotificationType.ALERT,
            "recipient": "email",
            "address": seller.email,
            "subject": "Listing paused: margin under your minimum",
            "body": alerts["low_margin"].message,
            "alert": alerts["low_margin"],
            "is_sent": True,
            "sent_at": now - timedelta(days=2),
            "attempts": 1,
        },
        {
            "type": NotificationType.JOB_COMPLETE,
            "recipient": "email",
            "address": seller.email,
            "subject": "Tracking finished: 50 products refreshed",
            "body": "4 price changes and 6 stock changes were recorded.",
            "is_sent": True,
            "sent_at": jobs["track_products"].completed_at,
            "attempts": 1,
        },
        {
            "type": NotificationType.ALERT,
            "recipient": "webhook",
            "address": "https://hooks.example.com/demo-seller",
            "subject": "Price drop",
            "body": alerts["price_drop"].message,
            "alert": alerts["price_drop"],
            "is_sent": False,
            "attempts": 3,
            "error": "Connection refused by hooks.example.com (3 attempts); delivery stopped.",
        },
    ]
    for spec in specs:
        notification, made = Notification.objects.get_or_create(
            user=seller, type=spec["type"], recipient=spec["recipient"], subject=spec["subject"], defaults=spec
        )
        if made:
            created["notification"] += 1
            moment = spec.get("sent_at") or now - timedelta(days=1)
            Notification.objects.filter(pk=notification.pk).update(created_at=moment - timedelta(seconds=2))


def _demo_audit(seller, stores, listings, plans, today, created) -> None:
    def row(actor, action, resource, days_ago, old=None, new=None, notes=None):
        return (actor, action, resource, _at(today, days_ago, 9, 45), old, new, notes)

    entries = [row(seller, "updated", seller, 95, {"timezone": "UTC"}, {"timezone": seller.timezone})]
    for store in stores.values():
        entries.append(
            row(seller, "created", store, 95, None, {"account_name": store.account_name, "currency": store.currency})
        )
    for plan in plans:
        listing = listings[plan.key]
        days_ago = 1 if plan.status == ListingStatus.PENDING else DEMO_DAYS - plan.start
        entries.append(row(seller, "created", listing, days_ago, None, {"price": listing.price, "status": "pending"}))
    paused = {"status": "paused"}
    active = {"status": "active"}
    entries += [
        row(seller, "updated", listings[LOW_MARGIN], LOCKED_DAYS_AGO, {"price_locked": False}, {"price_locked": True}),
        row(None, "paused", listings[LOW_MARGIN], 2, active, {**paused, "status_reason": "low_margin"}),
        row(None, "paused", listings[OUT_OF_STOCK], 5, active, {**paused, "status_reason": "out_of_stock"}),
        row(seller, "paused", listings[MANUAL_PAUSE], 20, active, {**paused, "status_reason": "manual_pause"}),
        row(None, "paused", listings[BACK_IN_STOCK], 40, active, {**paused, "status_reason": "out_of_stock"}),
        row(None, "resumed", listings[BACK_IN_STOCK], 33, paused, active, "The supplier has stock again."),
        row(seller, "ended", listings[ENDED], 30, active, {"status": "ended"}),
        row(
            None, "delisted", listings[DELISTED], 15, active, {"status": "delisted"}, "Removed on eBay; found at sync."
        ),
    ]
    for actor, action, resource, moment, old, new, notes in entries:
        key = {
            "owner": seller,
            "action": action,
            "resource_type": resource._meta.model_name,
            "resource_id": str(resource.pk),
        }
        if AuditLog.objects.filter(**key).exists():
            continue
        AuditLog.objects.create(
            **key,
            user=actor,
            old_value=audit_values(old),
            new_value=audit_values(new),
            timestamp=moment,
            notes=notes,
        )
        created["auditlog"] += 1


# --- orders --------------------------------------------------------------------------------------

# Fictitious buyers (the demo's addresses are made up): name, street, city, state, postal code, country.
DEMO_BUYERS = (
    ("Alex Sample", "742 Evergreen Terrace", "Springfield", "IL", "62704", "US"),
    ("Sam Placeholder", "31 Spooner Street", "Quahog", "RI", "02903", "US"),
    ("Robin Example", "12 Grimmauld Place", "London", "", "NW1 6XE", "GB"),
    ("Kim Muster", "Musterstraße 1", "Berlin", "", "10115", "DE"),
)
# number, store, product keys sold, state, sold hours ago, ship-by hours from now, buyer index, extras
DEMO_ORDERS = (
    ("04-11823-57001", "ebay", ["amazon:5"], OrderState.TO_BUY, 3, 46, 0, {}),
    ("04-11823-57002", "ebay", ["aliexpress:3", None], OrderState.TO_BUY, 30, 10, 1, {}),
    ("04-11823-57003", "ebay", ["costco:2"], OrderState.BOUGHT, 20, -4, 2, {"paid": ("92.80", "0.00", "7.42")}),
    ("04-11823-57004", "ebay", ["amazon:7"], OrderState.SHIPPED, 80, -30, 0, {"paid": ("12.99", "3.49", "1.04")}),
    ("#1041", "shopify", ["amazon-de:2"], OrderState.DELIVERED, 160, -110, 3, {"paid": ("24.90", "0.00", "0.00")}),
    ("04-11823-57005", "ebay", ["amazon:9"], OrderState.CANCELLED, 50, 20, 1, {}),
    ("#1042", "shopify", ["amazon-de:4"], OrderState.REFUNDED, 200, -150, 3, {"paid": ("29.95", "0.00", "0.00")}),
)
SHIPPED_BEFORE = (OrderState.SHIPPED, OrderState.DELIVERED, OrderState.REFUNDED)
DEMO_UNLISTED_TITLE = "Gift wrapping"


def _demo_orders(seller, listings, product_plans, stores, now, created) -> None:
    """A few orders in every state, so the Orders page and the order page are not empty."""
    for number, store_key, keys, state, sold_hours, ship_hours, buyer, extras in DEMO_ORDERS:
        store = stores[store_key]
        remote_id = f"gid://shopify/Order/{number.lstrip('#')}" if store_key == "shopify" else number
        if Order.objects.filter(store_account=store, marketplace_order_id=remote_id).exists():
            continue
        ordered_at = now - timedelta(hours=sold_hours)
        lines = []
        for index, key in enumerate(keys):
            listing = listings.get(key) if key else None
            price = listing.price if listing else Decimal("4.99")
            cost = _money(product_plans[key].prices[-1]) if key else None
            lines.append((f"{remote_id}-{index}", listing, price, cost))
        name, street, city, region, postal, country = DEMO_BUYERS[buyer]
        closed = state not in (OrderState.TO_BUY, OrderState.BOUGHT)
        order = Order(
            user=seller,
            store_account=store,
            marketplace_order_id=remote_id,
            order_number=number,
            buyer_username=f"demo_buyer_{buyer + 1}" if store_key == "ebay" else "",
            state=state,
            ordered_at=ordered_at,
            ship_by=now + timedelta(hours=ship_hours),
            currency=store.currency,
            total=sum((price for _, _, price, _ in lines), Decimal("0")),
            bought_at=ordered_at + timedelta(hours=2) if "paid" in extras else None,
            shipped_at=ordered_at + timedelta(hours=26) if state in SHIPPED_BEFORE else None,
            delivered_at=ordered_at + timedelta(hours=96) if state == OrderState.DELIVERED else None,
            cancelled_at=ordered_at + timedelta(hours=5) if state == OrderState.CANCELLED else None,
            refunded_at=ordered_at + timedelta(hours=120) if state == OrderState.REFUNDED else None,
        )
        order.ship_to = {"name": name, "line1": street, "city": city, "state": region, "postal_code": postal}
        order.ship_to["country"] = country
        if "paid" in extras:
            order.supplier_order_number = f"SUP-{number.lstrip('#')}"
            order.cost_item, order.cost_shipping, order.cost_tax = (Decimal(v) for v in extras["paid"])
            order.cost_currency = store.currency
        order.save()
        created["order"] += 1
        sales = [
            Sale.objects.create(
                listing=listing,
                store_account=store,
                order=order,
                marketplace_order_id=remote_id,
                line_id=line_id,
                title=listing.title if listing else DEMO_UNLISTED_TITLE,
                sku=f"AM-{listing.pk}" if listing else "",
                quantity=1,
                unit_price=price,
                unit_cost=cost,
                currency=store.currency,
                ordered_at=ordered_at,
                cancelled=state == OrderState.CANCELLED,
            )
            for line_id, listing, price, cost in lines
        ]
        if closed and state != OrderState.CANCELLED:
            shipment = Shipment.objects.create(
                order=order,
                carrier="USPS" if store_key == "ebay" else "DHL",
                tracking_number=f"9400111899{order.pk:012d}",
                status=ShipmentStatus.SENT,
                attempts=1,
                shipped_at=order.shipped_at,
                sent_at=order.shipped_at,
                created_by=seller,
            )
            shipment.lines.set(sales)


# --- The demo shop's products (development only) -------------------------------------------------

DEMO_SHOP_HISTORY_DAYS = 14
DEMO_SHOP_RATE_LIMIT = 120  # requests a minute: the shop is this app, on this machine
DEMO_SHOP_LOCKED = "MF-CANDLE-06"  # its listing's price is locked: a rising cost pauses it for low margin


def _shop_state_at(item, moment: datetime):
    return demo_shop.item_state(item, int(moment.timestamp() // settings.DEMO_SHOP_WINDOW))


def _availability_of(state) -> str:
    if state.availability == "OutOfStock":
        return Availability.OUT_OF_STOCK
    if state.availability == "LimitedAvailability":
        return Availability.LOW_STOCK
    return Availability.IN_STOCK


def _demo_shop_history(product, item, now) -> tuple[list, list]:
    """A price and stock history sampled from the shop's own timetable, one reading a day, ending
    with the reading seed_demo writes as current (the shop's previous window)."""
    # One reading a day at a different hour each day, so the readings fall on different windows.
    moments = [now - timedelta(days=days, hours=(days * 7) % 24) for days in range(DEMO_SHOP_HISTORY_DAYS, 0, -1)]
    states = [_shop_state_at(item, moment) for moment in moments]
    moments.append(now - timedelta(seconds=settings.DEMO_SHOP_WINDOW))
    states.append(demo_shop.item_state(item, demo_shop.window_now() - 1))
    prices, stocks, last_price, last_stock = [], [], None, None
    for moment, state in zip(moments, states, strict=True):
        if state.price != last_price:
            prices.append(
                PriceHistory.build(
                    product=product,
                    old_price=last_price,
                    new_price=state.price,
                    currency=demo_shop.CURRENCY,
                    reason=ChangeReason.SCRAPE,
                    recorded_at=moment,
                )
            )
        stock = (state.stock if item.states_quantity else None, _availability_of(state))
        if stock != last_stock:
            stocks.append(
                StockHistory(
                    product=product,
                    old_stock=None if last_stock is None else last_stock[0],
                    new_stock=stock[0],
                    old_availability="" if last_stock is None else last_stock[1],
                    new_availability=stock[1],
                    recorded_at=moment,
                    reason=ChangeReason.SCRAPE,
                )
            )
        last_price, last_stock = state.price, stock
    return prices, stocks


def _demo_shop_supplier(created) -> Supplier:
    identified = identify(demo_shop.product_url(demo_shop.ITEMS[0]))
    before = Supplier.objects.filter(name=identified.site_name).exists()
    supplier = supplier_for_site(
        family="generic", site_name=identified.site_name, base_url=identified.base_url, currency=demo_shop.CURRENCY
    )
    created["supplier"] += not before
    changed = {
        "display_name": demo_shop.SHOP_NAME,
        "base_url": identified.base_url,  # the port may have changed since the last seed
        "rate_limit": max(supplier.rate_limit, DEMO_SHOP_RATE_LIMIT),
    }
    if any(getattr(supplier, name) != value for name, value in changed.items()):
        for name, value in changed.items():
            setattr(supplier, name, value)
        supplier.save(update_fields=[*changed, "updated_at"])
    return supplier


def _demo_shop_products(seller, store, now, created) -> list:
    """The demo shop's products, tracked by the demo seller and listed on the demo eBay store,
    as the shop had them one window ago: the first tracking round after `make run` sees a change.
    Products already there keep their values; only their address follows the shop's."""
    if not demo_shop.is_enabled():
        return []
    supplier = _demo_shop_supplier(created)
    previous = now - timedelta(seconds=settings.DEMO_SHOP_WINDOW)
    window = demo_shop.window_now() - 1
    products = []
    for number, item in enumerate(demo_shop.ITEMS):
        state = demo_shop.item_state(item, window)
        url = demo_shop.product_url(item)
        product, made = Product.objects.get_or_create(
            supplier=supplier,
            asin=item.sku,
            defaults={
                "title": item.title,
                "description": item.description,
                "price": state.price,
                "currency": demo_shop.CURRENCY,
                "stock": state.stock if item.states_quantity else None,
                "availability": _availability_of(state),
                "rating": Decimal(item.rating),
                "reviews_count": item.reviews,
                "images": [demo_shop.origin_url() + f"/static/demo-shop/{item.image}"],
                "url": url,
                "brand": demo_shop.SHOP_NAME,
                "last_scraped_at": previous,
            },
        )
        if made:
            created["product"] += 1
            Product.objects.filter(pk=product.pk).update(created_at=now - timedelta(days=DEMO_SHOP_HISTORY_DAYS + 1))
            prices, stocks = _demo_shop_history(product, item, now)
            created["pricehistory"] += len(PriceHistory.objects.bulk_create(prices))
            created["stockhistory"] += len(StockHistory.objects.bulk_create(stocks))
        elif product.url != url:
            image = demo_shop.origin_url() + f"/static/demo-shop/{item.image}"
            Product.objects.filter(pk=product.pk).update(url=url, images=[image])
        if not seller.tracked_products.filter(pk=product.pk).exists():
            seller.tracked_products.add(product)
            created["tracked product"] += 1
        _demo_shop_listing(seller, store, product, item, product.stock, number, now, created)
        products.append(product)
    return products


def _demo_shop_listing(seller, store, product, item, stock, number, now, created) -> Listing:
    cost = _cents(product.price) if product.price is not None else 0
    out = product.availability == Availability.OUT_OF_STOCK
    listing, made = Listing.objects.get_or_create(
        product=product,
        store_account=store,
        defaults={
            "user": seller,
            "external_listing_id": f"{110_700_000_000 + number * 7919}",
            "title": item.title[:80],
            "description": f"{item.description} Ships in two days.",
            "price": _money(_listing_price_cents(cost, store)),
            "price_locked": item.sku == DEMO_SHOP_LOCKED,
            "quantity_available": 0 if out else _quantity(stock, store),
            "status": ListingStatus.PAUSED if out else ListingStatus.ACTIVE,
            "status_reason": StatusReason.OUT_OF_STOCK if out else StatusReason.NONE,
        },
    )
    if made:
        created["listing"] += 1
        listed_at = now - timedelta(days=DEMO_SHOP_HISTORY_DAYS)
        Listing.objects.filter(pk=listing.pk).update(created_at=listed_at)
        row = AuditLog.objects.create(
            owner=seller,
            user=seller,
            action="created",
            resource_type="listing",
            resource_id=str(listing.pk),
            new_value=audit_values({"price": listing.price, "status": listing.status}),
        )
        AuditLog.objects.filter(pk=row.pk).update(timestamp=listed_at)
        created["auditlog"] += 1
    return listing


def _demo_channel(seller, created) -> None:
    """Alerts reach the demo seller by email (every severity): recorded as sent, mailed to no one."""
    _, made = NotificationChannel.objects.get_or_create(
        user=seller, channel=Channel.EMAIL, address=seller.email, defaults={"min_severity": Severity.INFO}
    )
    created["notification channel"] += made


# Euro reference rates of a recent day, so the dashboard converts before the first ECB refresh.
DEMO_RATES = {"USD": "1.0830", "GBP": "0.8420", "JPY": "162.50", "CAD": "1.4710", "AED": "3.9770", "BRL": "5.8900"}


def _demo_exchange_rates(today: date, created: Counter) -> None:
    for currency, per_eur in DEMO_RATES.items():
        _, made = ExchangeRate.objects.get_or_create(
            currency=currency, defaults={"per_eur": Decimal(per_eur), "as_of": today, "source": "demo"}
        )
        created["exchange rate"] += made


@transaction.atomic
def demo_seed(*, today: date | None = None, use_copy: bool | None = None) -> SeedResult:
    """Make (or complete) the demo seller's data set: what a new visitor sees behind every screen.

    Idempotent: each row has a natural key and is made only when missing; the product
    histories and the performance series are drawn from a fixed seed before the database is read.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    use_copy = _copy_available() if use_copy is None else use_copy
    created = Counter()
    rng = random.Random(DEMO_SEED)
    product_plans = _product_plans(rng)
    listing_plans = _listing_plans(rng)
    by_key = {plan.key: plan for plan in product_plans}

    seller = _demo_user(
        DEMO_EMAIL, first_name="Dana", last_name="Demo", created=created, timezone="America/New_York", currency="USD"
    )
    suppliers = _demo_suppliers(created)
    products = _demo_products(product_plans, suppliers, today, now, created)
    tracked_before = seller.tracked_products.count()
    seller.tracked_products.add(*products.values())
    created["tracked product"] += seller.tracked_products.count() - tracked_before
    _demo_proxies(created)
    _demo_exchange_rates(today, created)
    stores = {
        "ebay": _store(
            seller,
            Marketplace.EBAY,
            "demo-gadget-outlet",
            created,
            currency="USD",
            environment=Environment.SANDBOX,
            default_quantity=3,
        ),
        "shopify": _store(
            seller,
            Marketplace.SHOPIFY,
            "Demo Home & Kitchen EU",
            created,
            currency="EUR",
            shop_domain="demo-home-kitchen.myshopify.com",
            default_quantity=3,
        ),
    }
    listings = _demo_listings(seller, listing_plans, by_key, products, stores, today, created)
    created["marketplacedata"] += _demo_marketplace_data(
        listing_plans, by_key, listings, stores, today, use_copy=use_copy
    )
    _demo_shop_products(seller, stores["ebay"], now, created)
    _demo_channel(seller, created)
    jobs = _demo_jobs(seller, stores, now, created)
    alerts = _demo_alerts(seller, products, listings, by_key, stores, jobs, today, created)
    _demo_notifications(seller, alerts, jobs, now, created)
    _demo_audit(seller, stores, listings, listing_plans, today, created)
    _demo_orders(seller, listings, by_key, stores, now, created)
    for store in stores.values():
        totals_refresh(store.pk)
    return SeedResult(users=[seller], password=DEMO_PASSWORD, created=created)


# --- load test -----------------------------------------------------------------------------------


def _loadtest_products(count: int, created: Counter) -> list:
    """`count` products shared by every load-test seller: (id, price in cents), made when missing."""
    families = _families(LOADTEST_PRODUCT_FAMILIES)
    asins = [f"{LOADTEST_ASIN_PREFIX}{j:08d}" for j in range(count)]
    existing = {}
    for start in range(0, count, 900):
        chunk = asins[start : start + 900]
        existing.update(
            {
                (supplier_id, asin): (pk, price)
                for pk, supplier_id, asin, price in Product.objects.filter(
                    supplier__in=families.values(), asin__in=chunk
                ).values_list("pk", "supplier_id", "asin", "price")
            }
        )
    missing = []
    rng = random.Random()
    for j, asin in enumerate(asins):
        family = families[LOADTEST_PRODUCT_FAMILIES[j % len(LOADTEST_PRODUCT_FAMILIES)]]
        if (family.pk, asin) in existing:
            continue
        rng.seed(LOADTEST_SEED * 7919 + j)
        title = f"Load-test product {j + 1}"
        stock = rng.randint(50, 500)
        missing.append(
            Product(
                supplier=family,
                asin=asin,
                title=title,
                description="Load-test product made by seed_demo.",
                price=_money(rng.randint(500, 15000)),
                currency="USD",
                stock=stock,
                availability=_availability(stock),
                rating=Decimal(rng.randint(300, 500)).scaleb(-2),
                reviews_count=rng.randint(0, 5000),
                url=_product_url(family, asin, title),
            )
        )
    if missing:
        Product.objects.bulk_create(missing, batch_size=2000, ignore_conflicts=True)
        created["product"] += len(missing)
        for start in range(0, count, 900):
            existing.update(
                {
                    (supplier_id, asin): (pk, price)
                    for pk, supplier_id, asin, price in Product.objects.filter(
                        supplier__in=families.values(), asin__in=asins[start : start + 900]
                    ).values_list("pk", "supplier_id", "asin", "price")
                }
            )
    result = []
    for j, asin in enumerate(asins):
        family = families[LOADTEST_PRODUCT_FAMILIES[j % len(LOADTEST_PRODUCT_FAMILIES)]]
        pk, price = existing[(family.pk, asin)]
        result.append((pk, _cents(price)))
    return result


def _loadtest_listings(seller, stores, products, count: int, created: Counter) -> list:
    """The seller's `count` listings: listing i puts product i // stores on store i % stores."""
    store_count = len(stores)
    wanted = []
    for i in range(count):
        wanted.append((products[i // store_count], stores[i % store_count]))
    existing = dict(
        ((product_id, store_id), pk)
        for pk, product_id, store_id in Listing.objects.filter(store_account__in=stores).values_list(
            "pk", "product_id", "store_account_id"
        )
    )
    missing = []
    for i, ((product_id, cost), store) in enumerate(wanted):
        if (product_id, store.pk) in existing:
            continue
        status, reason = ListingStatus.ACTIVE, StatusReason.NONE
        if i % 50 == 7:
            status, reason = ListingStatus.ENDED, StatusReason.MANUAL_END
        elif i % 25 == 3:
            status, reason = ListingStatus.PAUSED, StatusReason.MANUAL_PAUSE
        missing.append(
            Listing(
                user=seller,
                product_id=product_id,
                store_account=store,
                external_listing_id=f"LT-{seller.pk}-{i}",
                title=f"Load-test listing {i + 1}",
                price=_money(_listing_price_cents(cost, store)),
                quantity_available=0 if status != ListingStatus.ACTIVE else store.max_quantity,
                status=status,
                status_reason=reason,
            )
        )
    if missing:
        Listing.objects.bulk_create(missing, batch_size=2000, ignore_conflicts=True)
        created["listing"] += len(missing)
        existing = dict(
            ((product_id, store_id), pk)
            for pk, product_id, store_id in Listing.objects.filter(store_account__in=stores).values_list(
                "pk", "product_id", "store_account_id"
            )
        )
    return [(existing[(product_id, store.pk)], cost, store) for (product_id, cost), store in wanted]


def _existing_days(listing_ids, first_day, days: int) -> dict:
    """For listings that already have some of the window's rows: the dates they have."""
    counts = {}
    for start in range(0, len(listing_ids), 900):
        counts.update(
            MarketplaceData.objects.filter(listing_id__in=listing_ids[start : start + 900], date__gte=first_day)
            .values_list("listing_id")
            .annotate(rows=Count("id"))
        )
    have = {listing_id: None for listing_id, rows in counts.items() if rows >= days}  # None: all there
    partial = [listing_id for listing_id, rows in counts.items() if rows < days]
    for start in range(0, len(partial), 900):
        for listing_id, day in MarketplaceData.objects.filter(
            listing_id__in=partial[start : start + 900], date__gte=first_day
        ).values_list("listing_id", "date"):
            have.setdefault(listing_id, set()).add(day)
    return have


def _loadtest_series(*, n, sellers, seller_listings, dates, rng, use_copy, rows_per_write, progress, started) -> int:
    """Write the missing days of seller n's listings, a few days of every listing at a time (as the
    daily import writes them, so rows of the same days lie together on disk). Each listing's views,
    click and sale rates are drawn once; each stretch of days has its own seed, so the rows are the
    same whichever stretch a run resumes from."""
    count, days = len(seller_listings), len(dates)
    have = _existing_days([listing_id for listing_id, _, _ in seller_listings], dates[0][0], days)
    plans, prices, fee_terms = [], {}, {}
    for i, (_, cost, store) in enumerate(seller_listings):
        rng.seed(LOADTEST_SEED * 1_000_003 + n * 10_000_019 + i)
        if (cost, store.pk) not in prices:
            prices[(cost, store.pk)] = _listing_price_cents(cost, store)
        if store.pk not in fee_terms:
            fee_terms[store.pk] = _fee_terms(store)
        plans.append((rng.randint(10, 300), rng.uniform(0.02, 0.06), rng.uniform(0.05, 0.18)))
    written, rows = 0, []

    def write():
        nonlocal written
        with transaction.atomic():
            written += _marketplace_data_write(rows, use_copy=use_copy)
        rows.clear()

    for first in range(0, days, LOADTEST_DAYS_PER_PASS):
        stretch = dates[first : first + LOADTEST_DAYS_PER_PASS]
        for i, (listing_id, cost, store) in enumerate(seller_listings):
            known = have.get(listing_id, ())
            if known is None:
                continue  # every day already there
            rng.seed((LOADTEST_SEED * 1_000_003 + n * 10_000_019 + i) * 1_000 + first // LOADTEST_DAYS_PER_PASS)
            views_base, ctr, cvr = plans[i]
            price = prices[(cost, store.pk)]
            series = _series(
                rng,
                listing_id=listing_id,
                dates=stretch,
                views_base=views_base,
                ctr=ctr,
                cvr=cvr,
                prices=[price] * len(stretch),
                costs=[cost] * len(stretch),
                selling=None,
                fee_terms=fee_terms[store.pk],
                source=LOADTEST_SOURCES.get(store.marketplace, DataSource.NONE),
                views_reported=store.marketplace != Marketplace.SHOPIFY,
                clicks_reported=store.marketplace == Marketplace.EBAY,
                first=first,
                span=days,
            )
            rows.extend(series if not known else [row for row in series if row[1] not in known])
            if len(rows) >= rows_per_write:
                write()
        if rows:
            write()
        progress(
            f"seller {n}/{sellers}: {min(first + LOADTEST_DAYS_PER_PASS, days)}/{days} days of {count} listings, "
            f"{written} new rows, {time.monotonic() - started:.1f} s"
        )
    return written


def loadtest_seed(
    *,
    listings: int,
    days: int,
    sellers: int = 1,
    today: date | None = None,
    use_copy: bool | None = None,
    rows_per_write: int = 100_000,
    progress=None,
) -> SeedResult:
    """Make the load-test data set: `sellers` demo sellers, each with `listings` listings and
    `days` days of MarketplaceData per listing (rows already there are skipped).

    Products are shared: each seller has four stores, so listing i is product i // 4 on store
    i % 4 (a product is listed at most once per store). Rows go in by PostgreSQL COPY when the
    database is PostgreSQL (much faster), else by bulk_create, a week of every listing after
    another; each write commits on its own, so an interrupted run resumes where it stopped.
    """
    today = today or timezone.localdate()
    use_copy = _copy_available() if use_copy is None else use_copy
    progress = progress or (lambda message: None)
    started = time.monotonic()
    created = Counter()
    dates = [(day, day.weekday()) for day in _day_window(today, days)]
    store_count = min(len(LOADTEST_STORES), listings)
    with transaction.atomic():
        products = _loadtest_products(math.ceil(listings / store_count), created)
    users = []
    rng = random.Random()
    for n in range(1, sellers + 1):
        with transaction.atomic():
            seller = _demo_user(LOADTEST_EMAIL.format(n=n), first_name="Load", last_name=f"Test {n}", created=created)
            stores = [
                _store(seller, marketplace, f"Load test store {k + 1}", created, currency="USD")
                for k, marketplace in enumerate(LOADTEST_STORES[:store_count])
            ]
            product_ids = [pk for pk, _ in products]
            tracked_before = seller.tracked_products.count()
            for start in range(0, len(product_ids), 900):
                seller.tracked_products.add(*product_ids[start : start + 900])
            created["tracked product"] += seller.tracked_products.count() - tracked_before
            seller_listings = _loadtest_listings(seller, stores, products, listings, created)
        users.append(seller)
        written = _loadtest_series(
            n=n,
            sellers=sellers,
            seller_listings=seller_listings,
            dates=dates,
            rng=rng,
            use_copy=use_copy,
            rows_per_write=rows_per_write,
            progress=progress,
            started=started,
        )
        created["marketplacedata"] += written
        for store in stores:
            totals_refresh(store.pk)
        progress(f"seller {n}/{sellers}: totals worked out, {time.monotonic() - started:.1f} s")
    return SeedResult(users=users, password=DEMO_PASSWORD, created=created)


# --- load test: orders ---------------------------------------------------------------------------

ORDERS_LOADTEST_EMAIL = "bench-orders@example.com"
ORDERS_LOADTEST_SEED = 161616
ORDERS_BATCH = 5000
# The share of each state among a large seller's year of orders (most are long shipped).
ORDER_STATE_MIX = (
    (OrderState.DELIVERED, 0.30),
    (OrderState.SHIPPED, 0.58),
    (OrderState.CANCELLED, 0.04),
    (OrderState.REFUNDED, 0.02),
    (OrderState.BOUGHT, 0.04),
    (OrderState.TO_BUY, 0.02),
)


def _order_state(value: float) -> str:
    for state, share in ORDER_STATE_MIX:
        if value < share:
            return state
        value -= share
    return OrderState.SHIPPED


def orders_loadtest_seed(*, count: int, days: int = 365, email: str = ORDERS_LOADTEST_EMAIL, progress=None):
    """A demo-flagged seller with two stores and `count` orders over `days` days (one or two lines
    each, most shipped long ago, their addresses wiped; the open ones with an address and a ship-by
    date), for timing the Orders page. Orders already there are kept: a re-run only adds the rest.
    Returns (seller, orders made)."""
    progress = progress or (lambda message: None)
    created = Counter()
    with transaction.atomic():
        seller = _demo_user(email, first_name="Bench", last_name="Orders", created=created)
        stores = [
            _store(seller, Marketplace.EBAY, "Bench orders eBay", created, currency="USD"),
            _store(seller, Marketplace.SHOPIFY, "Bench orders Shopify", created, currency="USD"),
        ]
    have = Order.objects.filter(user=seller).count()
    now = timezone.now()
    rng = random.Random()
    made = 0
    for start in range(have, count, ORDERS_BATCH):
        orders, line_plans = [], []
        for i in range(start, min(start + ORDERS_BATCH, count)):
            rng.seed(ORDERS_LOADTEST_SEED * 1_000_003 + i)
            store = stores[i % len(stores)]
            state = _order_state(rng.random())
            open_ = state in (OrderState.TO_BUY, OrderState.BOUGHT)
            ordered_at = now - timedelta(hours=rng.uniform(1, 72) if open_ else rng.uniform(72, days * 24))
            prices = [_money(rng.randint(900, 15000)) for _ in range(1 if rng.random() < 0.8 else 2)]
            number = f"{20 + i // 100000:02d}-{i:06d}-{store.pk % 100:02d}{i % 1000:03d}"
            order = Order(
                user=seller,
                store_account=store,
                marketplace_order_id=number if store.marketplace == Marketplace.EBAY else f"gid://shopify/Order/{i}",
                order_number=number if store.marketplace == Marketplace.EBAY else f"#{100000 + i}",
                buyer_username=f"bench_buyer_{i % 5000}" if store.marketplace == Marketplace.EBAY else "",
                state=state,
                ordered_at=ordered_at,
                ship_by=ordered_at + timedelta(days=3),
                currency=store.currency,
                total=sum(prices, Decimal("0")),
                shipped_at=None if open_ or state == OrderState.CANCELLED else ordered_at + timedelta(days=1),
                delivered_at=ordered_at + timedelta(days=5) if state == OrderState.DELIVERED else None,
                cancelled_at=ordered_at + timedelta(hours=3) if state == OrderState.CANCELLED else None,
                refunded_at=ordered_at + timedelta(days=9) if state == OrderState.REFUNDED else None,
                ship_to_erased_at=None if open_ else ordered_at + timedelta(days=40),
            )
            order.ship_to = (
                {"name": f"Bench Buyer {i}", "line1": f"{i} Load Street", "country": "US"} if open_ else None
            )
            orders.append(order)
            line_plans.append((order, store, prices, ordered_at, state == OrderState.CANCELLED))
        with transaction.atomic():
            Order.objects.bulk_create(orders, batch_size=1000)
            Sale.objects.bulk_create(
                [
                    Sale(
                        order=order,
                        store_account=store,
                        marketplace_order_id=order.marketplace_order_id,
                        line_id=f"{order.marketplace_order_id}-{n}",
                        title=f"Bench item {order.pk % 997}-{n}",
                        quantity=1,
                        unit_price=price,
                        unit_cost=(price * Decimal("0.6")).quantize(CENT),
                        currency=store.currency,
                        ordered_at=ordered_at,
                        cancelled=cancelled,
                    )
                    for order, store, prices, ordered_at, cancelled in line_plans
                    for n, price in enumerate(prices)
                ],
                batch_size=2000,
            )
        made += len(orders)
        progress(f"orders: {have + made}/{count}")
    return seller, made
