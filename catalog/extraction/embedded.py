"""The page's own state, read as a source: the data a shop keeps for its scripts.

Where: JSON script blocks (`application/json`: Next.js `__NEXT_DATA__`, Nuxt 3 `__NUXT_DATA__`,
product JSON), JSON object literals assigned or passed in inline scripts (`window.__STATE__ = {…}`,
`dataLayer.push({…})`, `gap.pageProductData = {…}`), JSON in data attributes (`data-product`),
elements whose data attributes name a product and its price, and hidden form inputs (the buy box's
price, currency and SKU). All of it is untrusted text: parsed as JSON only, never run, and bounded
(script and page sizes, the number of documents decoded, of values walked and of nesting levels).

What: product-shaped objects — a name with a price (or a range, or variants), and what goes with
it (currency, availability, stock, SKU, GTIN, MPN, brand, condition) — whose keys are read by
meaning (`keys`). When several objects qualify (carousels, recently viewed), the one named like
the page's title wins. A URL that selects a variant is read as that variant (its price, stock and
SKU), found anywhere in the page's data by its id.
"""

import bisect
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal

from . import keys
from . import reading as sources
from .document import clean_string
from .numbers import currency_in, money, parse_price
from .phrases import (
    IN_STOCK,
    LOW_STOCK,
    OUT_OF_STOCK,
    condition_not_new,
    read_availability,
    says_not_new,
    schema_availability,
)
from .reading import Reading

MAX_SCRIPT_CHARS = 3_000_000  # a bigger inline script is not read
MAX_PAGE_SCRIPT_CHARS = 8_000_000  # script text read from one page
MAX_DOCUMENTS = 32  # JSON documents decoded from one page
MAX_TRIES_PER_SCRIPT = 200  # object literals tried in one inline script
MAX_VALUES = 300_000  # values walked over all documents of a page
MAX_DEPTH = 40
MAX_VARIANTS = 500
MAX_INPUTS = 500
MAX_DATA_NODES = 300
MAX_NAME = 500

_JS_TYPES = frozenset({"", "text/javascript", "application/javascript", "module", "text/ecmascript"})
# A quoted key that holds a price somewhere in a script: worth decoding its object literals.
_PRICE_KEY_HINT = re.compile(r'"[A-Za-z_$]{0,40}(?:[Pp]rice|PRICE|[Aa]mount)[A-Za-z_]{0,40}"\s*:')
# Where a JSON object literal may start in JavaScript: after "=", "(", ":", "," or "[".
_OBJECT_START = re.compile(r"(?:[=(:,\[]|\breturn)\s*(\{\s*\")")
_DEVALUE_TAGS = frozenset(
    {"Reactive", "ShallowReactive", "Ref", "ShallowRef", "EmptyRef", "EmptyShallowRef", "Set", "Map", "Date"}
)
_PRICE_KINDS = frozenset({keys.PRICE, keys.SALE, keys.REGULAR, keys.LOW, keys.HIGH})
_MINOR_UNIT_MARKERS = frozenset(
    {"compare_at_price", "price_min", "price_max", "inventory_management", "requires_shipping"}
)
_WORD = re.compile(r"\w+")
# A price as a string: the number with at most a short currency sign or code around it ("$52.00",
# "52,00 €", "EUR 10,99"), not any text that happens to hold a digit.
_PRICE_TEXT = re.compile(r"^\s*[^\d\s<>]{0,4}\s?\d[\d.,'’ \u00a0]*\s?[^\d\s<>]{0,4}\s*$")


@dataclass
class Facts:
    """What one object of page data says about an item."""

    name: str | None = None
    prices: list[Decimal] = field(default_factory=list)
    sales: list[Decimal] = field(default_factory=list)
    regulars: set[Decimal] = field(default_factory=set)
    low: Decimal | None = None
    high: Decimal | None = None
    currency: str | None = None
    availability: str | None = None
    stock: int | None = None
    sku: str | None = None
    ids: set[str] = field(default_factory=set)
    gtin: str | None = None
    mpn: str | None = None
    brand: str | None = None
    not_new: bool = False
    condition_stated: bool = False
    variants: list["Facts"] = field(default_factory=list)

    def has_price(self) -> bool:
        return bool(self.prices or self.sales or self.low is not None or self.high is not None) or any(
            v.has_price() for v in self.variants
        )


@dataclass
class _Budget:
    values: int = MAX_VALUES
    chars: int = MAX_PAGE_SCRIPT_CHARS
    documents: int = MAX_DOCUMENTS


@dataclass
class _Context:
    site_currency: str | None
    default_dollar: str | None
    honour_condition: bool = True


# --- Finding the documents ---------------------------------------------------------------------


def _json_documents(nodes, budget: _Budget, *, scan_scripts: bool):
    """Decoded JSON documents of the page's scripts and data attributes, in page order."""
    decoder = json.JSONDecoder(strict=False)
    for script in nodes.scripts:
        if budget.documents <= 0 or budget.chars <= 0:
            return
        kind = (script.attributes.get("type") or "").strip().lower()
        is_json = "json" in kind
        if not is_json and (not scan_scripts or kind not in _JS_TYPES):
            continue
        text = script.text(deep=True)
        if not text or len(text) > MAX_SCRIPT_CHARS:
            continue
        budget.chars -= len(text)
        if is_json:
            document = _loads(text)
            if document is not None:
                budget.documents -= 1
                yield _revive_devalue(document) if _is_devalue(document) else document
            continue
        hints = _price_key_positions(text)
        if hints:
            yield from _object_literals(text, decoder, budget, hints)
    for node in nodes.data_nodes[:MAX_DATA_NODES]:
        value = (node.attrs.get("data-product") or "").strip()
        if value.startswith("{") and len(value) < MAX_SCRIPT_CHARS and budget.documents > 0:
            document = _loads(value)
            if document is not None:
                budget.documents -= 1
                yield document


_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$")
# The words a price key holds, each with the letters that may come before it ("rice" in "Price").
_PRICE_KEY_WORDS = (("rice", "Pp"), ("RICE", "P"), ("mount", "Aa"))


def _price_key_positions(text: str) -> list[int]:
    """Where _PRICE_KEY_HINT matches in the text (the positions finditer would give), found from
    the places its words occur: a regular expression tried at every quote of a large script is
    slower than str.find for a few words."""
    words = []
    for word, heads in _PRICE_KEY_WORDS:
        index = text.find(word)
        while index != -1:
            if index and text[index - 1] in heads:
                words.append(index - 1)
            index = text.find(word, index + 1)
    words.sort()
    positions, end = [], 0
    for word in words:
        quote = word
        while quote > 0 and word - quote < 41 and text[quote - 1] in _KEY_CHARS:
            quote -= 1
        quote -= 1  # the key's opening quote, if it is one
        if quote < end or text[quote] != '"':
            continue
        match = _PRICE_KEY_HINT.match(text, quote)
        if match is not None:
            positions.append(quote)
            end = match.end()
    return positions


def _loads(text: str):
    text = text.strip()
    if text.startswith("<!--"):
        text = text[4:].rsplit("-->", 1)[0]
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return None


def _object_literals(text: str, decoder, budget: _Budget, hints: list[int]):
    """The JSON object literals of an inline script (`x = {"a": …}`) that hold a price key (at the
    `hints` positions, ascending), outermost first."""
    position = tries = 0
    last_hint = hints[-1]
    while tries < MAX_TRIES_PER_SCRIPT and budget.documents > 0:
        match = _OBJECT_START.search(text, position, last_hint)
        if match is None:
            return
        start = match.start(1)
        tries += 1
        try:
            document, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            position = start + 1
            continue
        position = end  # what is inside was decoded with it
        following = bisect.bisect_right(hints, start)
        if isinstance(document, dict) and following < len(hints) and hints[following] < end:
            budget.documents -= 1
            yield document


def _is_devalue(document) -> bool:
    """Nuxt 3's payload: a flat array whose first entry is the root, values pointing by index."""
    if not isinstance(document, list) or len(document) < 2:
        return False
    root = document[0]
    if isinstance(root, list) and len(root) == 2 and root[0] in _DEVALUE_TAGS and isinstance(root[1], int):
        return True
    return isinstance(root, dict) and bool(root) and all(isinstance(v, int) for v in root.values())


def _revive_devalue(data: list):
    """The object a devalue payload stands for (references resolved, bounded, cycles cut)."""
    seen: dict[int, object] = {}
    remaining = [MAX_VALUES]

    def hydrate(index, depth):
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(data):
            return None  # negative indexes are undefined, null, NaN…
        if index in seen:
            return seen[index]
        remaining[0] -= 1
        if remaining[0] <= 0 or depth > MAX_DEPTH:
            return None
        value = data[index]
        if isinstance(value, dict):
            out: dict = {}
            seen[index] = out
            for key, ref in value.items():
                out[key] = hydrate(ref, depth + 1)
            return out
        if isinstance(value, list):
            if value and isinstance(value[0], str) and value[0] in _DEVALUE_TAGS:
                tag = value[0]
                if tag in ("Reactive", "ShallowReactive", "Ref", "ShallowRef") and len(value) > 1:
                    result = hydrate(value[1], depth + 1)
                elif tag == "Set":
                    result = [hydrate(ref, depth + 1) for ref in value[1:]]
                elif tag == "Date" and len(value) > 1:
                    result = value[1]
                else:
                    result = None
                seen[index] = result
                return result
            out_list: list = []
            seen[index] = out_list
            out_list.extend(hydrate(ref, depth + 1) for ref in value)
            return out_list
        seen[index] = value
        return value

    return hydrate(0, 0)


def _dicts(document, budget: _Budget):
    """Every object of a document, in document order (bounded)."""
    stack = [(document, 0)]
    while stack and budget.values > 0:
        value, depth = stack.pop()
        budget.values -= 1
        if isinstance(value, dict):
            yield value
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth < MAX_DEPTH:
            stack.extend((child, depth + 1) for child in reversed(list(children)) if isinstance(child, dict | list))


_SHAPES: dict[str, int] = {}  # key → 1 (a name), 2 (a price or variants), 0 (neither)
_MAX_SHAPES = 50_000


def _shape(key) -> int:
    shape = _SHAPES.get(key)
    if shape is None:
        meaning = keys.meaning(key)
        shape = 1 if meaning == keys.NAME else 2 if meaning in _PRICE_KINDS or meaning == keys.VARIANTS else 0
        if len(_SHAPES) > _MAX_SHAPES:
            _SHAPES.clear()
        _SHAPES[key] = shape
    return shape


def _is_product_shaped(obj: dict) -> bool:
    seen = 0
    for key in obj:
        seen |= _shape(key)
    if seen != 3:
        return False
    return any(_shape(key) == 1 and isinstance(value, str) and value.strip() for key, value in obj.items())


# --- Reading an object -------------------------------------------------------------------------


def _amount(value, ctx: _Context, minor: bool):
    """(amount, currency) of a price value: a JSON number or a price string ("$52.00")."""
    if isinstance(value, bool) or value is None:
        return None, None
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            return None, None
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if minor and isinstance(value, int):
            amount = amount / 100
        return (money(amount), None) if amount > 0 else (None, None)
    if isinstance(value, str) and 0 < len(value) < 60 and _PRICE_TEXT.match(value):
        parsed = parse_price(value, site_currency=ctx.site_currency, default_dollar=ctx.default_dollar)
        if parsed is not None and parsed.amount is not None:
            return parsed.amount, parsed.currency
    return None, None


def _availability(value) -> str | None:
    if isinstance(value, bool):
        return IN_STOCK if value else OUT_OF_STOCK
    if isinstance(value, int) and value in (0, 1):
        return IN_STOCK if value else OUT_OF_STOCK
    if isinstance(value, str) and len(value) < 80:
        mapped = schema_availability(value)
        if mapped:
            return mapped
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if key in ("available", "in_stock", "instock", "true", "yes", "buyable", "purchasable"):
            return IN_STOCK
        if key in ("unavailable", "not_available", "sold_out", "soldout", "out_of_stock", "false", "no"):
            return OUT_OF_STOCK
        found = read_availability(value)
        return found.availability if found else None
    return None


def _text(value) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    return clean_string(value) if isinstance(value, str) and len(value) < 200 else None


def _facts(obj: dict, ctx: _Context, depth: int = 0, *, in_price: bool = False, minor: bool = False) -> Facts:
    """What an object says; `minor`: its prices are in cents (Shopify's product JSON: its own
    markers, or those of the product it is a variant of)."""
    found = Facts()
    minor = minor or bool(_MINOR_UNIT_MARKERS & obj.keys())
    for key, value in obj.items():
        meaning = keys.meaning(key, in_price=in_price)
        if meaning is None:
            continue
        if meaning in _PRICE_KINDS:
            if isinstance(value, dict):
                if depth < 4:
                    _merge_price(found, _facts(value, ctx, depth + 1, in_price=True, minor=minor), meaning)
                continue
            amount, currency = _amount(value, ctx, minor)
            if amount is None:
                continue
            found.currency = found.currency or currency
            if meaning == keys.PRICE:
                found.prices.append(amount)
            elif meaning == keys.SALE:
                found.sales.append(amount)
            elif meaning == keys.REGULAR:
                found.regulars.add(amount)
            elif meaning == keys.LOW:
                found.low = amount if found.low is None else min(found.low, amount)
            else:
                found.high = amount if found.high is None else max(found.high, amount)
        elif meaning == keys.CURRENCY:
            if isinstance(value, str) and value.strip():
                text = value.strip()
                code = text.upper() if len(text) == 3 and text.isalpha() else currency_in(text)
                found.currency = found.currency or code
        elif meaning == keys.NAME:
            if found.name is None and isinstance(value, str):
                found.name = (clean_string(value) or "")[:MAX_NAME] or None
        elif meaning == keys.AVAILABLE:
            found.availability = found.availability or _availability(value)
        elif meaning == keys.SOLD_OUT:
            if isinstance(value, bool) and (value or found.availability is None):
                found.availability = OUT_OF_STOCK if value else IN_STOCK
        elif meaning == keys.AVAILABILITY_TEXT:
            reading = read_availability(value) if isinstance(value, str) and len(value) < 200 else None
            if reading is not None and found.availability in (None, IN_STOCK):
                found.availability, found.stock = reading.availability, reading.stock or found.stock
        elif meaning == keys.STOCK:
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                found.stock = value if found.stock is None else found.stock
        elif meaning in (keys.SKU, keys.ID):
            text = _text(value)
            if text:
                found.ids.add(text)
                if meaning == keys.SKU and found.sku is None:
                    found.sku = text
        elif meaning == keys.GTIN:
            found.gtin = found.gtin or _text(value)
        elif meaning == keys.MPN:
            found.mpn = found.mpn or _text(value)
        elif meaning == keys.BRAND:
            if isinstance(value, dict):
                value = value.get("name")
            found.brand = found.brand or (_text(value) if isinstance(value, str) else None)
        elif meaning == keys.CONDITION:
            text = value if isinstance(value, str) and len(value) < 80 else None
            if condition_not_new(text) or says_not_new(text):
                found.condition_stated = True
                found.not_new = found.not_new or ctx.honour_condition
        elif meaning == keys.VARIANTS and depth < 4 and not in_price:
            if isinstance(value, dict):  # one offer, or variants keyed by their code
                single = any(keys.meaning(k) in _PRICE_KINDS for k in value)
                items = [value] if single else value.values()
            else:
                items = value if isinstance(value, list) else ()
            for item in list(items)[:MAX_VARIANTS]:
                if isinstance(item, dict):
                    variant = _facts(item, ctx, depth + 1, minor=minor)
                    if variant.has_price() or variant.availability or variant.ids:
                        found.variants.append(variant)
    return found


def _merge_price(into: Facts, price: Facts, meaning: str) -> None:
    """Fold a price object ({"amount": …, "regular": …}) into its owner, under the owner's key."""
    into.currency = into.currency or price.currency
    if meaning == keys.REGULAR:
        into.regulars |= set(price.prices) | set(price.sales) | price.regulars
        return
    if meaning == keys.LOW and price.prices:
        into.low = min(price.prices) if into.low is None else min(into.low, *price.prices)
    elif meaning == keys.HIGH and price.prices:
        into.high = max(price.prices) if into.high is None else max(into.high, *price.prices)
    else:
        (into.sales if meaning == keys.SALE else into.prices).extend(price.prices)
        into.sales.extend(price.sales)
        if price.low is not None:
            into.low = price.low if into.low is None else min(into.low, price.low)
        if price.high is not None:
            into.high = price.high if into.high is None else max(into.high, price.high)
    into.regulars |= price.regulars


@dataclass
class _Price:
    price: Decimal | None = None
    is_range: bool = False
    sale: bool = False
    not_buy: set[Decimal] = field(default_factory=set)


def _resolve(found: Facts) -> _Price:
    """The price an object states: its sale price, else its price, else its range, else its
    variants' (one price, or a range when they differ)."""
    result = _Price(not_buy=set(found.regulars))
    if found.not_new:
        result.not_buy |= set(found.prices) | set(found.sales)
        return result
    sales = [p for p in found.sales if p not in result.not_buy]
    plain = [p for p in found.prices if p not in result.not_buy]
    if sales:
        result.price, result.sale = sales[0], True
        result.not_buy |= {p for p in plain if p != sales[0]}
        return result
    if plain:
        result.price = plain[0]
        return result
    if found.low is not None or found.high is not None:
        if found.low is not None and found.low == found.high:
            result.price = found.low
        else:
            result.is_range = True
        return result
    prices = set()
    for variant in found.variants:
        if variant.not_new:
            continue
        own = _resolve(variant)
        result.not_buy |= own.not_buy
        if own.is_range:
            result.is_range = True
        elif own.price is not None:
            prices.add(own.price)
    if len(prices) > 1:
        result.is_range = True
    elif prices and not result.is_range:
        result.price = prices.pop()
    return result


def _availability_of(found: Facts) -> str | None:
    if found.availability:
        return found.availability
    if found.stock is not None:  # a quantity on hand says it, when nothing else does
        return IN_STOCK if found.stock > 0 else OUT_OF_STOCK
    states = [v.availability for v in found.variants if v.availability and not v.not_new]
    if any(state in (IN_STOCK, LOW_STOCK) for state in states):
        return IN_STOCK
    if states:
        return OUT_OF_STOCK
    return None


# --- The reading -------------------------------------------------------------------------------


def _words(text: str | None) -> set[str]:
    return {w for w in _WORD.findall((text or "").casefold()) if len(w) > 1}


def name_likeness(name: str | None, title: str | None) -> tuple[float, float]:
    """(shared words / words of the shorter name, shared words / words of the longer name)."""
    a, b = _words(name), _words(title)
    if not a or not b:
        return 0.0, 0.0
    shared = len(a & b)
    return shared / min(len(a), len(b)), shared / max(len(a), len(b))


def names_match(name: str | None, title: str | None) -> bool:
    """Half of the shorter of the two names' words are shared (word order and extra words aside)."""
    return name_likeness(name, title)[0] >= 0.5


def _score(found: Facts, title: str | None) -> tuple:
    price = _resolve(found)
    likeness = name_likeness(found.name, title)
    return (
        likeness[0] >= 0.5,
        price.price is not None or price.is_range,
        likeness[1],
        bool(found.currency) + bool(_availability_of(found)) + bool(found.sku) + bool(found.gtin or found.brand),
    )


def _find_variant(documents, wanted: str, ctx: _Context, budget: _Budget) -> Facts | None:
    for document in documents:
        objects = list(_dicts(document, budget))
        minor = any(_MINOR_UNIT_MARKERS & obj.keys() for obj in objects)  # a Shopify product's variants
        for obj in objects:
            for key, value in obj.items():
                if keys.meaning(key) in (keys.SKU, keys.ID) and _text(value) == wanted:
                    found = _facts(obj, ctx, minor=minor)
                    if not found.has_price():  # AliExpress keeps the SKU's price one level down (skuVal)
                        for child in obj.values():
                            if isinstance(child, dict):
                                inner = _facts(child, ctx, 1)
                                if inner.has_price():
                                    _merge_price(found, inner, keys.PRICE)
                                    found.stock = found.stock if found.stock is not None else inner.stock
                                    found.availability = found.availability or inner.availability
                    if found.has_price() or found.availability:
                        found.sku = found.sku or wanted
                        return found
    return None


def _hidden_inputs(nodes, ctx: _Context) -> Facts | None:
    """The page's hidden inputs as one object (the first input of each name): the buy box's own
    price, currency and SKU on many shops."""
    values: dict[str, str] = {}
    for node in nodes.hidden_inputs[:MAX_INPUTS]:
        attrs = node.attributes
        key = attrs.get("name") or attrs.get("id")
        value = attrs.get("value")
        if key and value and key not in values and keys.meaning(key) != keys.NAME:
            values[key] = value
    if not values:
        return None
    found = _facts(values, ctx)
    return found if found.has_price() else None


_DATA_NAMES = ("data-name", "data-product-name", "data-title", "data-item-name", "data-product-title")


def _data_attribute_objects(nodes, ctx: _Context, title: str | None) -> list[Facts]:
    """Elements that name a product and its price in data attributes (data-name, data-price): the
    one named most like the page's title (the others are other products' tiles)."""
    best, best_likeness = None, (0.0, 0.0)
    for node in nodes.data_nodes[:MAX_DATA_NODES]:
        attrs = node.attrs
        name = next((attrs.get(key) for key in _DATA_NAMES if attrs.get(key)), None)
        if not name:
            continue
        likeness = name_likeness(name, title) if title else (1.0, 1.0)
        if best is None or likeness > best_likeness:
            best, best_likeness = node, likeness
    if best is None:
        return []
    fields = {name[5:]: value for name, value in best.attributes.items() if name.startswith("data-") and value}
    facts = _facts(fields, ctx)
    return [facts] if facts.name and facts.has_price() else []


def embedded_reading(
    nodes,
    *,
    title: str | None,
    wanted_variant: str | None = None,
    site_currency: str | None = None,
    default_dollar: str | None = None,
    scan_scripts: bool = True,
    honour_condition: bool = True,
) -> Reading:
    """What the page's own data says about its product (`title`: the page's title from the other
    sources, used to tell the page's product from others in the same data). `scan_scripts` False
    reads only JSON script blocks, data attributes and hidden inputs (not inline JavaScript)."""
    ctx = _Context(site_currency=site_currency, default_dollar=default_dollar, honour_condition=honour_condition)
    budget = _Budget()
    documents = list(_json_documents(nodes, budget, scan_scripts=scan_scripts))
    candidates = []
    for document in documents:
        for obj in _dicts(document, budget):
            if _is_product_shaped(obj):
                facts = _facts(obj, ctx)
                if facts.has_price() or _availability_of(facts):
                    candidates.append(facts)
    candidates += _data_attribute_objects(nodes, ctx, title)
    best = None
    if candidates:
        ranked = max(candidates, key=lambda c: _score(c, title))
        if names_match(ranked.name, title) or len(candidates) == 1 or not title:
            best = ranked
    reading = Reading(source=sources.EMBEDDED)
    variant = _find_variant(documents, wanted_variant, ctx, _Budget()) if wanted_variant else None
    if best is None and variant is None:
        hidden = _hidden_inputs(nodes, ctx)
        if hidden is None:
            return reading
        best = hidden
    item = variant or best
    reading.variant_found = variant is not None
    price = _resolve(item)
    if wanted_variant and variant is None and best is not None and any(v.ids for v in best.variants):
        reading.variant_missing = True
        price = _Price()
    if best is not None and best is not variant:
        reading.title = best.name
        reading.brand = best.brand
        reading.not_buy_prices |= _resolve(best).not_buy
    reading.price, reading.is_range, reading.sale_price = price.price, price.is_range, price.sale
    reading.not_buy_prices |= price.not_buy
    reading.price_read = price.price is not None or price.is_range or reading.variant_missing
    reading.not_new = item.not_new
    reading.condition_stated = item.condition_stated or any(v.condition_stated for v in item.variants)
    reading.currency = item.currency or (best.currency if best is not None else None)
    if not reading.variant_missing:
        reading.availability = _availability_of(item)
        reading.stock = item.stock
    reading.product_id = item.sku or (best.sku if best is not None and variant is None else None)
    reading.gtin = item.gtin or (best.gtin if best is not None and variant is None else None)
    reading.mpn = item.mpn or (best.mpn if best is not None else None)
    reading.brand = reading.brand or item.brand
    return reading
