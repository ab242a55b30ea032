"""The result of reading one product page."""

from dataclasses import dataclass, field
from decimal import Decimal

from .phrases import UNKNOWN

JSON_KEYS = (
    "title",
    "price",
    "currency",
    "stock",
    "availability",
    "rating",
    "reviews_count",
    "images",
    "url",
    "asin",
    "gtin",
    "mpn",
    "brand",
    "blocked",
)


@dataclass
class Extraction:
    """Product fields read from one page. A field the page does not give is None (never 0 or "").

    blocked: the answer was a CAPTCHA / robot check, a login wall, an empty or truncated page;
    every product field is then empty. layout_unrecognised: neither the supplier's selectors nor
    any structured data gave a title or a price; the page is not turned into data either.
    price_is_range: the page shows a price range (variants), which is not a price.
    asin: the supplier's product id as the page states it (on Amazon the selected child ASIN);
    sources["asin"] is "url" when it was read only from a URL (canonical, og:url, the fetched URL).
    shipping_hint: what the page says shipping costs, in the price's currency (0 with shipping_free
    when it says free delivery); a hint shown to sellers, never a cost.
    """

    title: str | None = None
    description: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    stock: int | None = None
    availability: str = UNKNOWN  # in_stock | low_stock | out_of_stock | unknown
    rating: Decimal | None = None
    reviews_count: int | None = None
    images: list[str] = field(default_factory=list)
    canonical_url: str | None = None
    asin: str | None = None
    gtin: str | None = None  # the item's GTIN / EAN / UPC when the page states one
    mpn: str | None = None  # the manufacturer's part number when the page states one
    brand: str | None = None  # the brand when the page states one
    shipping_hint: Decimal | None = None
    shipping_free: bool = False
    variant_unselected: bool = False  # the page offers variants and none is selected (Amazon's parent page)
    blocked: bool = False
    layout_unrecognised: bool = False
    blocked_reason: str | None = None
    price_is_range: bool = False
    page_url: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # field → where it was read (for staff)

    @property
    def url(self) -> str | None:
        return self.canonical_url or self.page_url

    def as_json(self) -> dict:
        """The `manage.py scrape --json` shape: price a decimal string, rating a number, missing
        values None (null)."""
        return {
            "title": self.title,
            "price": None if self.price is None else str(self.price),
            "currency": self.currency,
            "stock": self.stock,
            "availability": self.availability,
            "rating": None if self.rating is None else float(self.rating),
            "reviews_count": self.reviews_count,
            "images": list(self.images),
            "url": self.url,
            "asin": self.asin,
            "gtin": self.gtin,
            "mpn": self.mpn,
            "brand": self.brand,
            "blocked": self.blocked,
        }

    @classmethod
    def for_blocked_page(cls, reason: str, *, page_url: str | None = None) -> "Extraction":
        return cls(blocked=True, blocked_reason=reason, page_url=page_url)
