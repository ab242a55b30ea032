"""OpenGraph and the other <meta> tags a page carries about its product.

The price tags come in pairs on many shops: `product:price:amount` is what a buyer pays, and
`og:price:standard_amount` / `product:original_price:amount` the regular price beside it;
`product:sale_price:amount`, when present, is the sale price and wins. Regular prices are kept as
prices that are not the buy price, for the pipeline to set aside whichever source states them.
"""

import re

from . import reading as sources
from .document import absolute_url, clean_string
from .heuristics import largest_image_url, strip_site_name
from .numbers import decimal_value, money
from .phrases import condition_not_new, schema_availability
from .reading import Reading

_SALE_KEYS = ("product:sale_price:amount", "og:sale_price:amount")
_PRICE_KEYS = ("product:price:amount", "og:price:amount")
_REGULAR_KEYS = (
    "og:price:standard_amount",
    "product:price:standard_amount",
    "product:original_price:amount",
    "og:original_price:amount",
)
# A share title that ends with the price: "H&M Bomber Jacket $24.99".
_TRAILING_PRICE = re.compile(r"\s*[-–|:]?\s*(?:(?:US|CA|AU|R)?[$€£¥￥₹₺]\s?\d[\d.,]*|\d[\d.,]*\s?(?:€|EUR|USD|TL))\s*$")


def meta_tags(nodes) -> dict[str, list[str]]:
    """<meta property|name=… content=…> tags as a dict, keys lower-cased, values in page order."""
    metas: dict[str, list[str]] = {}
    for node in nodes:
        attrs = node.attributes
        key = attrs.get("property") or attrs.get("name")
        content = attrs.get("content")
        if key and content and content.strip():
            metas.setdefault(key.strip().lower(), []).append(content.strip())
    return metas


def _meta(metas, *keys) -> str | None:
    for key in keys:
        values = metas.get(key)
        if values:
            return values[0]
    return None


def _amount(metas, keys):
    text = _meta(metas, *keys)
    value = decimal_value(text) if text else None
    return money(value) if value is not None and value > 0 else None, text is not None


def share_title(title: str | None, site_name: str | None) -> str | None:
    """An og:title without the price some shops append, and without the site's name before or after
    it ("H&M Bomber Jacket $24.99" → "Bomber Jacket")."""
    if not title:
        return None
    title = _TRAILING_PRICE.sub("", title) or title
    title = strip_site_name(title, site_name)
    if site_name and title and title.lower().startswith(site_name.lower() + " "):
        rest = title[len(site_name) :].strip()
        if len(rest.split()) >= 2:
            title = rest
    return title


def reading_from_opengraph(metas: dict, *, base_url=None, source=sources.OPENGRAPH, honour_condition=True) -> Reading:
    site_name = _meta(metas, "og:site_name")
    title = clean_string(_meta(metas, "og:title", "twitter:title"))
    sale, sale_read = _amount(metas, _SALE_KEYS)
    price, price_read = _amount(metas, _PRICE_KEYS)
    regular, _ = _amount(metas, _REGULAR_KEYS)
    not_buy = {regular} if regular is not None and regular != (sale or price) else set()
    if sale is not None and price is not None and sale != price:
        not_buy.add(price)
    chosen = sale if sale is not None else price
    currency = _meta(metas, "product:price:currency", "og:price:currency", "product:sale_price:currency")
    images = []
    for key in ("og:image:secure_url", "og:image", "og:image:url", "twitter:image", "twitter:image:src"):
        for value in metas.get(key, []):
            url = absolute_url(value, base_url)
            url = largest_image_url(url) if url else None
            if url and url not in images:
                images.append(url)
    condition_stated = condition_not_new(_meta(metas, "product:condition", "og:condition"))
    not_new = condition_stated and honour_condition
    if not_new and chosen is not None:
        not_buy.add(chosen)
    return Reading(
        source=source,
        title=share_title(title, site_name),
        description=clean_string(_meta(metas, "og:description")),
        price=None if not_new else chosen,
        price_read=(sale_read or price_read) and not not_new,
        currency=currency.strip().upper() if currency else None,
        availability=None if not_new else schema_availability(_meta(metas, "product:availability", "og:availability")),
        images=images,
        product_id=clean_string(_meta(metas, "product:retailer_item_id")),
        url=absolute_url(_meta(metas, "og:url"), base_url),
        gtin=clean_string(_meta(metas, "product:gtin", "product:ean", "product:upc", "product:isbn")),
        mpn=clean_string(_meta(metas, "product:mfr_part_no")),
        brand=clean_string(_meta(metas, "product:brand", "og:brand")),
        not_buy_prices=not_buy,
        sale_price=sale is not None and bool(not_buy),
        not_new=not_new,
        condition_stated=condition_stated,
    )
