"""Turning a product page (HTML, fetched or saved) into product fields.

    from catalog.extraction import extract
    result = extract(html, supplier_config=supplier.template.scraper_config, family="amazon", url=url)
    if result.blocked: ...             # CAPTCHA / robot check / login wall / empty or truncated page
    elif result.layout_unrecognised: ...  # no title and no price from any source: not data
    else: result.price, result.currency, result.availability, result.stock, ...

Per field, in order: the supplier's own selectors (scraper_config["selectors"], editable by staff),
structured data (JSON-LD, microdata, OpenGraph), the page's own state (script data, hidden inputs,
data attributes), loose microdata, careful heuristics (for shops without rules of their own: the
buy box between the title and the add-to-cart button). The price is chosen by meaning: regular /
list / "was" prices and offers for used items are set aside whichever source states them, a sale
price wins, a range is no price, and a URL that selects a variant is read as that variant.

Modules: `pipeline` (the order and the choice), `selectors`, `structured` (JSON-LD and schema.org
products), `microdata`, `opengraph`, `embedded` (the page's own state) with `keys` (what its keys
mean), `buybox` and `heuristics` (what the page shows), `nodes` (the walks that find the elements),
`numbers` (locale-aware prices and counts), `phrases` (availability, shipping times, conditions and
add-to-cart wording in every Amazon site's language), `shipping` (what a page says shipping costs:
a hint, never a cost), `blocked` (block-page detection), `families` (the shipped scraper_config of
each family).
"""

from .families import FAMILIES, FAMILY_CONFIGS
from .phrases import AVAILABILITY_VALUES, IN_STOCK, LOW_STOCK, OUT_OF_STOCK, UNKNOWN
from .pipeline import extract
from .result import JSON_KEYS, Extraction

__all__ = [
    "AVAILABILITY_VALUES",
    "FAMILIES",
    "FAMILY_CONFIGS",
    "IN_STOCK",
    "JSON_KEYS",
    "LOW_STOCK",
    "OUT_OF_STOCK",
    "UNKNOWN",
    "Extraction",
    "extract",
]
