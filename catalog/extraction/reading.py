"""What one source says about a page: the unit the extraction pipeline merges field by field."""

from dataclasses import dataclass, field
from decimal import Decimal

# Where a field's value came from, in the order they are consulted.
SELECTORS = "selectors"
JSON_LD = "json-ld"
MICRODATA = "microdata"
OPENGRAPH = "opengraph"
EMBEDDED = "embedded"  # the page's own script data: JSON in scripts, hidden inputs, data attributes
EXTRUCT = "extruct"
HEURISTICS = "heuristics"
SITE = "site"
# Sources whose finding means we recognised the page's layout (a heuristic guess does not).
RECOGNISING_SOURCES = frozenset({SELECTORS, JSON_LD, MICRODATA, OPENGRAPH, EMBEDDED, EXTRUCT})


@dataclass
class Reading:
    """The fields one source gave. `price_read` is True when the source spoke about the price,
    including a range (is_range, price None): a range ends the search for a price.

    Prices the source names as not what a buyer pays now (a list, regular, "was" or strike-through
    price; an offer for a used or refurbished item) are in `not_buy_prices`, so that the pipeline
    can set them aside whichever source states them. `sale_price` says the source labels its price
    as the current sale price beside a regular one. `not_new` says the source offers the item only
    used / refurbished / open box. `variant_missing` says the page's URL selects a variant the
    source does not have (the page shows the product without it).
    """

    source: str
    title: str | None = None
    description: str | None = None
    price: Decimal | None = None
    price_read: bool = False
    is_range: bool = False
    currency: str | None = None
    availability: str | None = None
    stock: int | None = None
    rating: Decimal | None = None
    reviews_count: int | None = None
    images: list[str] = field(default_factory=list)
    product_id: str | None = None
    url: str | None = None
    gtin: str | None = None
    mpn: str | None = None
    brand: str | None = None
    not_buy_prices: set[Decimal] = field(default_factory=set)
    sale_price: bool = False
    not_new: bool = False
    condition_stated: bool = False  # the source names an offer as used / refurbished / open box
    variant_found: bool = False  # the source read the variant the page's URL selects
    variant_missing: bool = False
    shipping: Decimal | None = None  # what the source says shipping costs (0 = free); a hint
    shipping_currency: str | None = None
