"""Structured data a page carries about its product: JSON-LD, microdata, OpenGraph.

All three are read from the one selectolax tree (JSON-LD through a tolerant json.loads; microdata
and OpenGraph with a small reader of itemprop/meta). extruct (lxml) is used only as a last resort,
when nothing on the fast path gave a title or a price (`extruct_readings`).
"""

import json
import logging
import re
from decimal import Decimal

from catalog import identify

from . import reading as sources
from .document import absolute_url, clean_string
from .heuristics import largest_image_url
from .numbers import currency_in, decimal_value, money, parse_count, parse_rating
from .phrases import IN_STOCK, LOW_STOCK, OUT_OF_STOCK, condition_not_new, schema_availability
from .reading import Reading
from .shipping import offer_shipping

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


# --- JSON-LD scripts ----------------------------------------------------------------------------


def jsonld_products(scripts) -> list[dict]:
    """Product nodes of the page's JSON-LD scripts."""
    products = []
    for script in scripts:
        data = load_json_lenient(script.text(deep=True))
        if data is not None:
            products += products_in(data)
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


def _price_type(spec: dict) -> str:
    return str(spec.get("priceType") or "").rstrip("/").rsplit("/", 1)[-1].lower()


def _offer_price(offer: dict, *, site_currency, default_dollar):
    """(price, currency, is_range, read, not_buy, sale) of one Offer / AggregateOffer: not_buy holds
    the list / strike-through prices its priceSpecification names; sale says a SalePrice entry
    gave the price."""
    currency = clean_string(_first(offer.get("priceCurrency")))
    types = types_of(offer)
    not_buy: set[Decimal] = set()
    if "aggregateoffer" in types:
        low, high = decimal_value(_first(offer.get("lowPrice"))), decimal_value(_first(offer.get("highPrice")))
        if low is not None and high is not None:
            if low == high:
                return low, currency, False, True, not_buy, False
            return None, currency, True, True, not_buy, False
        price = decimal_value(_first(offer.get("price")))
        if price is not None:
            return price, currency, False, True, not_buy, False
        if low is not None or high is not None:
            return None, currency, True, True, not_buy, False  # "from X": not the price of this item
        nested = [o for o in _as_list(offer.get("offers")) if isinstance(o, dict)]
        if nested:
            summary = offers_summary(nested, site_currency=site_currency, default_dollar=default_dollar)
            return (
                summary["price"],
                summary["currency"] or currency,
                summary["is_range"],
                summary["read"],
                summary["not_buy"],
                summary["sale"],
            )
        return None, currency, False, False, not_buy, False
    spec_price = spec_currency = None
    sale = spec_range = False
    for spec in _as_list(offer.get("priceSpecification")):
        if not isinstance(spec, dict):
            continue
        price_type = _price_type(spec)
        value = decimal_value(_first(spec.get("price")))
        if price_type in _NOT_SELLING_PRICE_TYPES:
            if value is not None:
                not_buy.add(money(value))
            continue
        if spec_price is not None or spec_range:
            continue
        low, high = decimal_value(_first(spec.get("minPrice"))), decimal_value(_first(spec.get("maxPrice")))
        if low is not None and high is not None and low != high:
            spec_range, spec_currency = True, clean_string(_first(spec.get("priceCurrency"))) or currency
        elif value is not None:
            spec_price = value
            spec_currency = clean_string(_first(spec.get("priceCurrency"))) or currency
            sale = price_type == "saleprice"
    raw = _first(offer.get("price"))
    if raw is None or isinstance(raw, dict) or decimal_value(raw) is None:
        if spec_range:
            return None, spec_currency, True, True, not_buy, False
        if spec_price is not None:
            return spec_price, spec_currency, False, True, not_buy, sale
        return None, currency, False, False, not_buy, False
    price = decimal_value(raw)
    if isinstance(raw, str) and not currency:
        currency = currency_in(raw, site_currency=site_currency, default_dollar=default_dollar)
    if spec_price is not None and sale and spec_price != price:
        return spec_price, spec_currency, False, True, not_buy | {money(price)}, True
    return price, currency, False, True, not_buy, sale


def offers_summary(
    offers: list[dict], *, site_currency=None, default_dollar=None, item_not_new: bool = False, honour_condition=True
) -> dict:
    """One price (or none) for the product from its offers: several different prices are variants
    or other sellers, which is not one price. An offer for a used, refurbished or damaged item
    gives no price (its price is set aside as not a buy price); with only such offers, `not_new`."""
    prices, currencies, availabilities, stocks = set(), set(), [], []
    not_buy: set[Decimal] = set()
    is_range = read = sale = False
    new_offers = used_offers = 0
    condition_stated = False
    shipping = None
    for offer in offers:
        price, currency, offer_range, offer_read, offer_not_buy, offer_sale = _offer_price(
            offer, site_currency=site_currency, default_dollar=default_dollar
        )
        not_buy |= offer_not_buy
        if currency:
            currencies.add(currency.upper())
        if item_not_new or condition_not_new(_first(offer.get("itemCondition"))):
            condition_stated = True
        if (
            condition_stated
            and honour_condition
            and (item_not_new or condition_not_new(_first(offer.get("itemCondition"))))
        ):
            used_offers += 1
            if price is not None and price > 0:
                not_buy.add(money(price))
            continue
        new_offers += 1
        if shipping is None:
            shipping = offer_shipping(offer)
        read = read or offer_read
        is_range = is_range or offer_range
        sale = sale or offer_sale
        if price is not None and price != 0:  # 0 is a placeholder; a negative price is kept for the bounds
            prices.add(price)
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
        "not_buy": not_buy,
        "sale": sale and price is not None,
        "not_new": used_offers > 0 and new_offers == 0,
        "condition_stated": condition_stated,
        "shipping": shipping,
    }


def variant_keys(node: dict) -> set[str]:
    """The ids a variant (an Offer or a variant Product) answers to: its SKU, product id, GTIN, and
    the variant a URL of it selects ("?variant=123", AliExpress "?sku_id=…")."""
    keys = set()
    for name in ("sku", "productID", "gtin", "gtin13", "gtin12", "gtin14", "mpn"):
        value = clean_string(_first(node.get(name)))
        if value:
            keys.add(value)
    for name in ("url", "@id"):
        value = _first(node.get(name))
        if isinstance(value, str) and value:
            selected = identify.variant_from_url(value)
            if selected:
                keys.add(selected)
    return keys


def _select_variant(nodes: list[dict], wanted: str) -> tuple[list[dict], bool]:
    """(the nodes that are the wanted variant, whether the nodes carry variant ids at all)."""
    identified = False
    chosen = []
    for node in nodes:
        keys = variant_keys(node)
        identified = identified or bool(keys)
        if wanted in keys:
            chosen.append(node)
    return chosen, identified


def _brand(value) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = _first(value.get("name"))
    return clean_string(value)


def _gtin(node: dict) -> str | None:
    for name in ("gtin", "gtin13", "gtin14", "gtin12", "gtin8", "isbn"):
        value = clean_string(_first(node.get(name)))
        if value:
            return value
    return None


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
    product: dict,
    *,
    source: str,
    base_url=None,
    site_currency=None,
    default_dollar=None,
    wanted_variant: str | None = None,
    honour_condition: bool = True,
) -> Reading:
    """What one schema.org Product says. With `wanted_variant` (the variant the page's URL
    selects), a product group is read as that variant: its offer, its SKU and stock. Offers marked
    as not new give no price unless `honour_condition` is False (the page itself never says so)."""
    offers = [o for o in _as_list(product.get("offers")) if isinstance(o, dict)]
    variants = [v for v in _as_list(product.get("hasVariant")) if isinstance(v, dict)]
    item = product
    variant_missing = variant_found = False
    if wanted_variant and (variants or len(offers) > 1):
        chosen, identified = _select_variant(variants, wanted_variant) if variants else ([], False)
        if chosen:
            item, variant_found = chosen[0], True
            offers = [o for o in _as_list(item.get("offers")) if isinstance(o, dict)]
        else:
            chosen_offers, offers_identified = _select_variant(offers, wanted_variant)
            if chosen_offers:
                offers, variant_found = chosen_offers, True
            elif identified or offers_identified:
                variant_missing = True
                offers = []
    else:
        for variant in variants:
            offers += [o for o in _as_list(variant.get("offers")) if isinstance(o, dict)]
    summary = offers_summary(
        offers,
        site_currency=site_currency,
        default_dollar=default_dollar,
        item_not_new=condition_not_new(_first(item.get("itemCondition"))),
        honour_condition=honour_condition,
    )
    rating_node = _first(product.get("aggregateRating"))
    rating = reviews = None
    if isinstance(rating_node, dict):
        rating = parse_rating(_first(rating_node.get("ratingValue")), best=_first(rating_node.get("bestRating")))
        reviews = parse_count(_first(rating_node.get("reviewCount")))
        if reviews is None:
            reviews = parse_count(_first(rating_node.get("ratingCount")))
    product_id = clean_string(_first(item.get("sku"))) or clean_string(_first(item.get("productID")))
    if variant_found and item is product:  # an offer of the product is the variant: its SKU
        product_id = next((clean_string(_first(o.get("sku"))) for o in offers if o.get("sku")), None)
    if variant_found and not product_id:
        product_id = wanted_variant
    url = _first(product.get("url"))
    if not isinstance(url, str):
        url = product.get("@id") if isinstance(product.get("@id"), str) else None
    offer_ids = [o for o in offers if _gtin(o) or o.get("mpn") or o.get("sku")]
    return Reading(
        source=source,
        title=clean_string(_first(product.get("name"))),
        description=clean_string(_first(product.get("description"))),
        price=summary["price"],
        price_read=summary["read"] or variant_missing,
        is_range=summary["is_range"],
        currency=summary["currency"],
        availability=summary["availability"],
        stock=summary["stock"],
        rating=rating,
        reviews_count=reviews,
        images=_image_urls(item.get("image") or product.get("image"), base_url),
        product_id=product_id or (clean_string(_first(offer_ids[0].get("sku"))) if len(offer_ids) == 1 else None),
        url=absolute_url(url.split("#", 1)[0], base_url) if url else None,
        gtin=_gtin(item) or (_gtin(offer_ids[0]) if len(offer_ids) == 1 else None),
        mpn=clean_string(_first(item.get("mpn"))) or clean_string(_first(product.get("mpn"))),
        brand=_brand(item.get("brand")) or _brand(product.get("brand")),
        not_buy_prices=summary["not_buy"],
        sale_price=summary["sale"],
        not_new=summary["not_new"],
        condition_stated=summary["condition_stated"],
        variant_found=variant_found,
        variant_missing=variant_missing,
        shipping=summary["shipping"][0] if summary["shipping"] else None,
        shipping_currency=summary["shipping"][1] if summary["shipping"] else None,
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


# --- The last resort: extruct ---------------------------------------------------------------------


def extruct_could_read(html: str | bytes) -> bool:
    """Whether extruct could find anything on the page: it reads only elements carrying itemscope
    and <meta property> tags, so a page whose markup never writes either word (in any case) gives it
    nothing, however lxml parses it. Spares such a page its second parse."""
    data = html if isinstance(html, bytes | bytearray) else html.encode("utf-8", errors="replace")
    lowered = data.lower()
    return b"itemscope" in lowered or b"property" in lowered


def extruct_readings(
    html: str, *, base_url=None, page_urls=(), site_currency=None, default_dollar=None
) -> list[Reading]:
    """Microdata and OpenGraph as extruct (lxml) reads them, for pages the fast path could not read."""
    import extruct  # imported here: most pages never need it

    from .opengraph import reading_from_opengraph

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
