"""The demo shop: product pages written by this project, served by the app itself in development.

A new user without internet sees tracking work: `seed_demo` tracks and lists these products for
the demo seller, the schedule reads their pages every minute or two, and their prices and stock
change on a timetable of their own. Every product's state is a pure function of the time window
(DEMO_SHOP_WINDOW seconds): a second fetch in the same window, which confirms a big move, reads
the same page. Three layouts, as shops write them: schema.org JSON-LD, microdata, and
OpenGraph/product meta tags; every page states its SKU, which is the product's id here.

Nothing here is served or fetched in production (settings.DEMO_SHOP_ENABLED, catalog.netsafety).
"""

import hashlib
import time
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings

SHOP_NAME = "Maple & Finch demo shop"
CURRENCY = "USD"
CENT = Decimal("0.01")

# The clock the pages read; tests replace it to choose a window.
clock = time.time


@dataclass(frozen=True)
class DemoShopItem:
    """One product of the demo shop and the timetable its price and stock follow."""

    sku: str
    slug: str
    title: str
    description: str
    layout: str  # jsonld | microdata | meta
    base_cents: int
    price_steps: tuple  # price factor per window, in turn (1.0 = the base price)
    stock_steps: tuple  # stock per window, in turn (None: the page states no quantity)
    image: str  # file under static/demo-shop/
    rating: str = "4.6"
    reviews: int = 120

    @property
    def states_quantity(self) -> bool:
        """Whether the page states a quantity a reader can take (JSON-LD's inventoryLevel); the
        other layouts say only in or out of stock."""
        return self.layout == "jsonld"


# The timetables are chosen so a new user soon sees each kind of event: the clock's price changes
# every window (a drop of 18-22% from its peak raises a price-drop alert and reprices its listing
# by more than 20%), the pour-over set runs low then out of stock (its listing pauses) and comes
# back, the candles rise until a locked listing's margin is too low. Neighbouring windows (and
# windows two apart) never share a price, so a round always sees the clock change.
ITEMS = (
    DemoShopItem(
        sku="MF-CLOCK-01",
        slug="walnut-desk-clock",
        title="Walnut Desk Clock",
        description="A silent quartz desk clock in oiled walnut, 12 cm across.",
        layout="microdata",
        base_cents=3200,
        price_steps=(1.00, 0.80, 0.92, 1.06, 0.84, 0.96),
        stock_steps=(40, 38, 37, 35, 34, 33),
        image="clock.svg",
        rating="4.7",
        reviews=214,
    ),
    DemoShopItem(
        sku="MF-POUR-02",
        slug="ceramic-pour-over-set",
        title="Ceramic Pour-Over Coffee Set",
        description="A hand-glazed ceramic dripper with a matching 600 ml carafe.",
        layout="jsonld",
        base_cents=2850,
        price_steps=(1.00, 1.00, 1.00, 1.04, 1.04, 1.00),
        stock_steps=(24, 9, 4, 0, 0, 15),
        image="pour-over.svg",
        rating="4.5",
        reviews=88,
    ),
    DemoShopItem(
        sku="MF-APRON-03",
        slug="linen-apron",
        title="Stonewashed Linen Apron",
        description="A full-length apron in stonewashed linen with two deep pockets.",
        layout="meta",
        base_cents=2400,
        price_steps=(1.00, 1.00, 0.95, 0.95, 1.03, 1.03),
        stock_steps=(None,) * 6,
        image="apron.svg",
        rating="4.4",
        reviews=53,
    ),
    DemoShopItem(
        sku="MF-OPENER-04",
        slug="brass-bottle-opener",
        title="Solid Brass Bottle Opener",
        description="A heavy bottle opener machined from one piece of brass.",
        layout="jsonld",
        base_cents=1450,
        price_steps=(1.00,) * 6,
        stock_steps=(60, 57, 55, 52, 50, 47),
        image="opener.svg",
        rating="4.8",
        reviews=301,
    ),
    DemoShopItem(
        sku="MF-TOTE-05",
        slug="cotton-tote-bag",
        title="Organic Cotton Tote Bag",
        description="A heavyweight organic cotton tote with an inside pocket.",
        layout="microdata",
        base_cents=1600,
        price_steps=(1.00, 1.05, 1.05, 0.97, 0.97, 1.02),
        stock_steps=(120, 118, 115, 111, 108, 104),
        image="tote.svg",
        rating="4.3",
        reviews=76,
    ),
    DemoShopItem(
        sku="MF-CANDLE-06",
        slug="beeswax-candle-trio",
        title="Beeswax Candle Trio",
        description="Three hand-poured beeswax pillar candles with cotton wicks.",
        layout="jsonld",
        base_cents=1900,
        price_steps=(1.00, 1.12, 1.25, 1.25, 1.12, 1.00),
        stock_steps=(30, 29, 28, 27, 26, 25),
        image="candles.svg",
        rating="4.6",
        reviews=142,
    ),
)
BY_SLUG = {item.slug: item for item in ITEMS}
BY_SKU = {item.sku: item for item in ITEMS}


@dataclass(frozen=True)
class ItemState:
    """What the shop's page says about an item in one window."""

    price: Decimal
    stock: int | None
    availability: str  # schema.org: InStock | LimitedAvailability | OutOfStock


def window_now() -> int:
    """The current time window's number."""
    return int(clock() // settings.DEMO_SHOP_WINDOW)


def item_state(item: DemoShopItem, window: int) -> ItemState:
    """The item's price and stock in a window: the timetable, in turn, from a start of its own."""
    offset = int(hashlib.sha256(item.sku.encode()).hexdigest()[:8], 16)
    step = (window + offset) % len(item.price_steps)
    price = (Decimal(item.base_cents) * Decimal(str(item.price_steps[step])) / 100).quantize(CENT)
    stock = item.stock_steps[step % len(item.stock_steps)]
    if stock == 0:
        availability = "OutOfStock"
    elif stock is not None and stock <= 5:
        availability = "LimitedAvailability"
    else:
        availability = "InStock"
    return ItemState(price=price, stock=stock, availability=availability)


def is_enabled() -> bool:
    """The demo shop is served (and may be fetched): development only, never in production."""
    return bool(settings.DEMO_SHOP_ENABLED and settings.DEMO_SHOP_URL and settings.DJANGO_ENV != "production")


def shop_url() -> str:
    """The shop's address, ending in a slash ("" when it is off)."""
    return settings.DEMO_SHOP_URL.rstrip("/") + "/" if is_enabled() else ""


def origin_url() -> str:
    """scheme://host:port of the shop (its images are on the same site)."""
    parts = urlsplit(shop_url())
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


def product_url(item: DemoShopItem) -> str:
    return f"{shop_url()}products/{item.slug}/"


def origin() -> tuple[str, int] | None:
    """(host, port) of the shop when it is on: the one address the SSRF rule lets through for it."""
    if not is_enabled():
        return None
    parts = urlsplit(settings.DEMO_SHOP_URL)
    if not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname.lower().rstrip("."), port


def is_shop_url(url: str) -> bool:
    """The address is a page of the demo shop (while it is on)."""
    base = shop_url()
    return bool(base) and isinstance(url, str) and url.startswith(base)
