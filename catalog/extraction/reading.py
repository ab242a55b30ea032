"""What one source says about a page: the unit the extraction pipeline merges field by field."""

from dataclasses import dataclass, field
from decimal import Decimal

# Where a field's value came from, in the order they are consulted.
SELECTORS = "selectors"
JSON_LD = "json-ld"
MICRODATA = "microdata"
OPENGRAPH = "opengraph"
EXTRUCT = "extruct"
HEURISTICS = "heuristics"
SITE = "site"
# Sources whose finding means we recognised the page's layout (a heuristic guess does not).
RECOGNISING_SOURCES = frozenset({SELECTORS, JSON_LD, MICRODATA, OPENGRAPH, EXTRUCT})


@dataclass
class Reading:
    """The fields one source gave. `price_read` is True when the source spoke about the price,
    including a range (is_range, price None): a range ends the search for a price."""

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
