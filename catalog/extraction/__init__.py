"""Turning a product page (HTML, fetched or saved) into product fields.

    from catalog.extraction import extract
    result = extract(html, supplier_config=supplier.template.scraper_config, family="amazon", url=url)
    if result.blocked: ...             # CAPTCHA / robot check / login wall / empty or truncated page
    elif result.layout_unrecognised: ...  # no title and no price from any source: not data
    else: result.price, result.currency, result.availability, result.stock, ...

Per field, in order: the supplier's own selectors (scraper_config["selectors"], editable by staff),
structured data (JSON-LD, microdata, OpenGraph), careful heuristics. Modules: `selectors`,
`structured`, `heuristics`, `numbers` (locale-aware prices and counts), `phrases` (the
multilingual availability table), `blocked` (block-page detection), `families` (the shipped
scraper_config of each family).
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
