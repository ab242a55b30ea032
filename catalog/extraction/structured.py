"""Structured data a page carries about its product: JSON-LD, microdata, OpenGraph.

All three are read from the one selectolax tree (JSON-LD through a tolerant json.loads; microdata
and OpenGraph with a small reader of itemprop/meta). extruct (lxml) is used only as a last resort,
when nothing on the fast path gave a title or a price (`extruct_readings`).
"""

import json
import logging
import re
from decimal import Decimal

from . import reading as sources
from .document import absolute_url, clean_string, node_text
from .heuristics import largest_image_url, strip_site_name
from .numbers import currency_in, decimal_value, money, parse_count, parse_rating
from .phrases import IN_STOCK, LOW_STOCK, OUT_OF_STOCK, schema_availability
from .reading import Reading

logger = logging.getLogger(__name__)

PRODUCT_TYPES = frozenset(
    {"product", "productgroup", "individualproduct", "productmodel", "someproducts", "book", "vehicle", "car"}
)
# priceSpecification entries that are not what a buyer pays now.
_NOT_SELLING_PRICE_TYPES = frozenset(
    {"listprice", "strikethroughprice", "srp", "msrp", "invoiceprice", "minimumadvertisedprice"}
)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_MAX_JSON_LD_CHARS = 2_000_000


# --- JSON-LD -----------------------------------------------------------------------------------


def load_json_lenient(text: str):
    """Parse a JSON-LD block, tolerating what sites get wrong: HTML comment or CDATA wrappers,
    raw control characters in strings, trailing commas, several objects one after another.
    Returns None when nothing sensible can be read."""
    if not text:
        return None
    text = text.strip()
    if len(text) > _MAX_JSON_LD_CHARS:
        return None
    for opener, closer in (("<!--", "-->"), ("<![CDATA[", "]]>"), ("//<![CDATA[", "//]]>")):
        if text.startswith(opener):
            text = text[len(opener) :]
            if text.rstrip().endswith(closer):
                text = text.rstrip()[: -len(closer)]
            text = text.strip()
    for candidate in (text, _TRAILING_COMMA.sub(r"\1", text)):
        try:
            return json.loads(candidate, strict=False)
        except (ValueError, RecursionError):
            continue
    return _concatenated_objects(_TRAILING_COMMA.sub(r"\1", text))


def _concatenated_objects(text: str):
    decoder = json.JSONDecoder(strict=False)
    found, index = [], 0
    while index < len(text):
        while index < len(text) and text[index] in " \t\r\n;,":
            index += 1
        if index >= len(text):
            break
        try:
            obj, index = decoder.raw_decode(text, index)
        except (ValueError, RecursionError):
            break
        found.append(obj)
    return found or None


def types_of(node) -> set[str]:
    """The schema.org types of a JSON-LD/microdata node, lower-cased, without vocabulary prefix."""
    if not isinstance(node, dict):
        return set()
    raw = node.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {str(v).rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower() for v in values if v}


def products_in(data, depth: int = 0) -> list[dict]:
    """Product nodes of a JSON-LD document: top level, inside @graph, or a page's mainEntity."""
    if depth > 6 or data is None:
        return []
    if isinstance(data, list):
        return [p for item in data for p in products_in(item, depth + 1)]
    if not isinstance(data, dict):
        return []
    if types_of(data) & PRODUCT_TYPES:
        return [data]
    found = []
    for key in ("@graph", "mainEntity", "mainEntityOfPage"):
        if key in data:
            found += products_in(data[key], depth + 1)
    return found


# --- Finding them -------------------------------------------------------------------------------

_STRUCTURED_CSS = 'script[type="application/ld+json"], [itemscope], [itemprop], meta[content]'


def structured_nodes(tree) -> tuple[list, list, list]:
    """(JSON-LD scripts, microdata nodes, <meta content> tags) of the page, each in page order,
    found in one pass over the page (a pass costs about a tenth of the parse)."""
    scripts, microdata, metas = [], [], []
    for node in tree.css(_STRUCTURED_CSS):
        attrs = node.attributes
        if "itemscope" in attrs or "itemprop" in attrs:
            microdata.append(node)
        tag = node.tag
        if tag == "meta" and "content" in attrs:
            metas.append(node)
        elif tag == "script" and (attrs.get("type") or "").lower() == "application/ld+json":
            scripts.append(node)
    return scripts, microdata, metas


def jsonld_products(scripts) -> list[dict]:
    """Product nodes of the page's JSON-LD scripts."""
    products = []
    for script in scripts:
        data = load_json_lenient(script.text(deep=True))
        if data is not None:
            products += products_in(data)
    return products


# --- Microdata (the few itemprop rules we need, on the selectolax tree) ------------------------


def _microdata_value(node):
    attrs = node.attributes
    tag = node.tag
    if tag == "meta":
        return attrs.get("content") or ""
    if tag in ("img", "audio", "embed", "iframe", "source", "track", "video"):
        return attrs.get("src") or attrs.get("content") or ""
    if tag in ("a", "area", "link"):
        return attrs.get("href") or attrs.get("content") or ""
    if tag == "object":
        return attrs.get("data") or ""
    if tag in ("data", "meter"):
        return attrs.get("value") or ""
    if tag == "time":
        return attrs.get("datetime") or node_text(node)
    if attrs.get("content"):
        return attrs["content"]
    return node_text(node, skip_hidden=True)


def microdata_products(nodes) -> list[dict]:
    """Product items of the page's microdata (its itemscope and itemprop nodes, in page order) as
    JSON-LD-shaped dicts (nested items included)."""
    if not nodes:
        return []
    scopes = {n.mem_id: n for n in nodes if "itemscope" in n.attributes}
    if not scopes:
        return []
    items = {}
    for mem_id, node in scopes.items():
        itemtype = node.attributes.get("itemtype") or ""
        items[mem_id] = {"@type": itemtype.split()[0] if itemtype.split() else ""}
    owner_of = {}
    for node in nodes:
        if "itemprop" not in node.attributes:
            continue
        parent = node.parent
        while parent is not None and parent.mem_id not in scopes:
            parent = parent.parent
        if parent is None:
            continue
        owner_of[node.mem_id] = parent.mem_id
        value = items[node.mem_id] if node.mem_id in scopes else _microdata_value(node)
        for name in (node.attributes.get("itemprop") or "").split():
            items[parent.mem_id].setdefault(name, []).append(value)
    # Single values as scalars, as JSON-LD writes them.
    for item in items.values():
        for key, value in list(item.items()):
            if isinstance(value, list) and len(value) == 1:
                item[key] = value[0]
    products = []
    for mem_id, item in items.items():
        if not (types_of(item) & PRODUCT_TYPES):
            continue
        owner = owner_of.get(mem_id)
        nested_in_product = False
        while owner is not None:
            if types_of(items[owner]) & PRODUCT_TYPES:
                nested_in_product = True
                break
            owner = owner_of.get(owner)
        if not nested_in_product:
            products.append(item)
    return products


# --- Reading a schema.org Product (JSON-LD, microdata, extruct) ---------------------------------


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first(value):
    for item in _as_list(value):
        if item not in (None, ""):
            return item
    return None


def _offer_price(offer: dict, *, site_currency, default_dollar):
    """(price, currency, is_range, read) of one Offer / AggregateOffer."""
    currency = clean_string(_first(offer.get("priceCurrency")))
    types = types_of(offer)
    if "aggregateoffer" in types:
        low, high = decimal_value(_first(offer.get("lowPrice"))), decimal_value(_first(offer.get("highPrice")))
        if low is not None and high is not None:
            return (low, currency, False, True) if low == high else (None, currency, True, True)
        price = decimal_value(_first(offer.get("price")))
        if price is not None:
            return price, currency, False, True
        if low is not None or high is not None:
            return None, currency, True, True  # "from X": not the price of this item
        nested = [o for o in _as_list(offer.get("offers")) if isinstance(o, dict)]
        if nested:
            summary = offers_summary(nested, site_currency=site_currency, default_dollar=default_dollar)
            return summary["price"], summary["currency"] or currency, summary["is_range"], summary["read"]
        return None, currency, False, False
    raw = _first(offer.get("price"))
    if raw is None or isinstance(raw, dict):
        for spec in _as_list(offer.get("priceSpecification")):
            if not isinstance(spec, dict):
                continue
            price_type = str(spec.get("priceType") or "").rstrip("/").rsplit("/", 1)[-1].lower()
            if price_type in _NOT_SELLING_PRICE_TYPES:
                continue
            spec_currency = clean_string(_first(spec.get("priceCurrency"))) or currency
            low, high = decimal_value(_first(spec.get("minPrice"))), decimal_value(_first(spec.get("maxPrice")))
            if low is not None and high is not None and low != high:
                return None, spec_currency, True, True
            price = decimal_value(_first(spec.get("price")))
            if price is not None:
                return price, spec_currency, False, True
        return None, currency, False, False
    price = decimal_value(raw)
    if isinstance(raw, str) and not currency:
        currency = currency_in(raw, site_currency=site_currency, default_dollar=default_dollar)
    if price is None:
        return None, currency, False, False
    return price, currency, False, True


def offers_summary(offers: list[dict], *, site_currency=None, default_dollar=None) -> dict:
    """One price (or none) for the product from its offers: several different prices are variants
    or other sellers, which is not one price."""
    prices, currencies, availabilities, stocks = set(), set(), [], []
    is_range = read = False
    for offer in offers:
        price, currency, offer_range, offer_read = _offer_price(
            offer, site_currency=site_currency, default_dollar=default_dollar
        )
        read = read or offer_read
        is_range = is_range or offer_range
        if price is not None and price > 0:
            prices.add(price)
        if currency:
            currencies.add(currency.upper())
        availability = schema_availability(_first(offer.get("availability")))
        if availability:
            availabilities.append(availability)
        level = offer.get("inventoryLevel")
        if isinstance(level, dict):
            level = _first(level.get("value"))
        count = parse_count(level) if level is not None else None
        if count is not None:
            stocks.append(count)
    price = None
    if len(prices) > 1:
        is_range = True
    elif prices and not is_range:
        price = money(prices.pop())
    availability = None
    for wanted in (IN_STOCK, LOW_STOCK, OUT_OF_STOCK):
        if wanted in availabilities:
            availability = wanted
            break
    return {
        "price": price,
        "currency": currencies.pop() if len(currencies) == 1 else None,
        "is_range": is_range,
        "read": read,
        "availability": availability,
        "stock": stocks[0] if len(stocks) == 1 else None,
    }


def _image_urls(value, base_url) -> list[str]:
    urls = []
    for item in _as_list(value):
        if isinstance(item, dict):
            item = _first(item.get("contentUrl")) or _first(item.get("url"))
        if isinstance(item, str):
            url = absolute_url(item, base_url)
            url = largest_image_url(url) if url else None
            if url and url not in urls:
                urls.append(url)
    return urls


def reading_from_product(
    product: dict, *, source: str, base_url=None, site_currency=None, default_dollar=None
) -> Reading:
    offers = [o for o in _as_list(product.get("offers")) if isinstance(o, dict)]
    for variant in _as_list(product.get("hasVariant")):
        if isinstance(variant, dict):
            offers += [o for o in _as_list(variant.get("offers")) if isinstance(o, dict)]
    summary = offers_summary(offers, site_currency=site_currency, default_dollar=default_dollar)
    rating_node = _first(product.get("aggregateRating"))
    rating = reviews = None
    if isinstance(rating_node, dict):
        rating = parse_rating(_first(rating_node.get("ratingValue")), best=_first(rating_node.get("bestRating")))
        reviews = parse_count(_first(rating_node.get("reviewCount")))
        if reviews is None:
            reviews = parse_count(_first(rating_node.get("ratingCount")))
    product_id = clean_string(_first(product.get("sku"))) or clean_string(_first(product.get("productID")))
    url = _first(product.get("url"))
    if not isinstance(url, str):
        url = product.get("@id") if isinstance(product.get("@id"), str) else None
    return Reading(
        source=source,
        title=clean_string(_first(product.get("name"))),
        description=clean_string(_first(product.get("description"))),
        price=summary["price"],
        price_read=summary["read"],
        is_range=summary["is_range"],
        currency=summary["currency"],
        availability=summary["availability"],
        stock=summary["stock"],
        rating=rating,
        reviews_count=reviews,
        images=_image_urls(product.get("image"), base_url),
        product_id=product_id,
        url=absolute_url(url.split("#", 1)[0], base_url) if url else None,
    )


def choose_product(products: list[dict], page_urls: list[str]) -> dict | None:
    """The page's own product: the one whose URL is the page's, else one with offers, else the first."""
    if not products:
        return None
    wanted = {_url_key(u) for u in page_urls if u}

    def score(product):
        url = _first(product.get("url")) or product.get("@id")
        return (
            isinstance(url, str) and _url_key(url) in wanted,
            bool(product.get("offers") or product.get("hasVariant")),
            bool(product.get("name")),
        )

    best = products[0]
    for product in products[1:]:
        if score(product) > score(best):
            best = product
    return best


def _url_key(url: str) -> str:
    url = url.split("#", 1)[0].split("?", 1)[0].rstrip("/").lower()
    return url.split("://", 1)[-1].removeprefix("www.")


# --- OpenGraph and other <meta> tags --------------------------------------------------------------


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


def reading_from_opengraph(metas: dict, *, base_url=None, source=sources.OPENGRAPH) -> Reading:
    site_name = _meta(metas, "og:site_name")
    title = clean_string(_meta(metas, "og:title", "twitter:title"))
    price_text = _meta(
        metas, "product:sale_price:amount", "og:sale_price:amount", "product:price:amount", "og:price:amount"
    )
    currency = _meta(metas, "product:price:currency", "og:price:currency", "product:sale_price:currency")
    price = decimal_value(price_text) if price_text else None
    images = []
    for key in ("og:image:secure_url", "og:image", "og:image:url", "twitter:image", "twitter:image:src"):
        for value in metas.get(key, []):
            url = absolute_url(value, base_url)
            url = largest_image_url(url) if url else None
            if url and url not in images:
                images.append(url)
    availability = schema_availability(_meta(metas, "product:availability", "og:availability"))
    return Reading(
        source=source,
        title=strip_site_name(title, site_name) if title else None,
        description=clean_string(_meta(metas, "og:description")),
        price=money(price) if price is not None and price > 0 else None,
        price_read=price is not None,
        currency=currency.strip().upper() if currency else None,
        availability=availability,
        images=images,
        product_id=clean_string(_meta(metas, "product:retailer_item_id")),
        url=absolute_url(_meta(metas, "og:url"), base_url),
    )


# --- The last resort: extruct ---------------------------------------------------------------------


def extruct_readings(
    html: str, *, base_url=None, page_urls=(), site_currency=None, default_dollar=None
) -> list[Reading]:
    """Microdata and OpenGraph as extruct (lxml) reads them, for pages the fast path could not read."""
    import extruct  # imported here: most pages never need it

    try:
        data = extruct.extract(
            html, base_url=base_url, syntaxes=["microdata", "opengraph"], uniform=True, errors="ignore"
        )
    except (ValueError, TypeError, AttributeError) as error:  # lxml rejects some inputs outright
        logger.info("extruct could not read the page: %s", error)
        return []
    found = []
    products = [p for item in data.get("microdata") or [] for p in products_in(item)]
    product = choose_product(products, list(page_urls))
    if product:
        found.append(
            reading_from_product(
                product,
                source=sources.EXTRUCT,
                base_url=base_url,
                site_currency=site_currency,
                default_dollar=default_dollar,
            )
        )
    for og in data.get("opengraph") or []:
        metas = {k.lower(): _as_list(v) for k, v in og.items() if isinstance(k, str) and not k.startswith("@")}
        metas = {k: [str(x) for x in v if isinstance(x, str | int | float | Decimal)] for k, v in metas.items()}
        found.append(reading_from_opengraph(metas, base_url=base_url, source=sources.EXTRUCT))
    return found
