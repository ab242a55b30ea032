"""The supplier's own selectors (scraper_config["selectors"]), tried first for every field.

Staff edit them in the admin, so a broken layout can be fixed without a deploy. Each field maps
to a list of CSS selectors tried in order; the first that yields a readable value wins. A selector
may end in "@attribute" to read an attribute instead of the text ("#acrPopover@title",
"link[rel=canonical]@href"). An invalid selector is skipped (and logged), never fatal.

Fields: title, description, price, currency, availability, rating, reviews_count, images,
product_id (a link to the product page is read for the id in it), canonical_url, gtin, mpn,
brand, shipping (a statement of what shipping costs, a hint: catalog.extraction.shipping), and
two markers: blocked (any match means the page is a block page) and variant_unselected
(any match means the page offers variants and none is selected, e.g. Amazon's "To buy, select
Size" buy box on a parent product).
"""

import logging
import re
from collections import Counter
from functools import lru_cache

from selectolax.lexbor import SelectolaxError

from . import reading as sources
from .document import absolute_url, collapse, node_text
from .heuristics import image_urls_from_attribute
from .numbers import currency_in, parse_count, parse_price, parse_rating
from .phrases import IN_STOCK, is_add_to_cart, read_availability, schema_availability
from .reading import Reading
from .shipping import read_shipping

logger = logging.getLogger(__name__)

FIELDS = (
    "title",
    "description",
    "price",
    "currency",
    "availability",
    "rating",
    "reviews_count",
    "images",
    "product_id",
    "canonical_url",
    "gtin",
    "mpn",
    "brand",
    "shipping",
    "blocked",
    "variant_unselected",
)
_ATTRIBUTE_SUFFIX = re.compile(r"@([A-Za-z_:][-A-Za-z0-9_:.]*)$")
_MAX_TITLE = 500
_MAX_DESCRIPTION = 10_000


@lru_cache(maxsize=2048)
def split_selector(spec: str) -> tuple[str, str | None]:
    """ "#acrPopover@title" → ("#acrPopover", "title"); "#productTitle" → ("#productTitle", None)."""
    spec = spec.strip()
    match = _ATTRIBUTE_SUFFIX.search(spec)
    if match and spec.count("[", 0, match.start()) == spec.count("]", 0, match.start()):
        return spec[: match.start()].strip(), match.group(1)
    return spec, None


def selector_list(selectors: dict, name: str) -> list[str]:
    """The selectors configured for a field; anything malformed in an edited config is ignored."""
    value = selectors.get(name) if isinstance(selectors, dict) else None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return []
    return [s for s in value if isinstance(s, str) and s.strip()]


# "#id", "tag#id.class", "#id descendant selector": anchored on an element with an id.
_ID_ANCHORED = re.compile(
    r"^(?P<compound>(?:[A-Za-z][\w-]*)?#(?P<id>[A-Za-z_][\w-]*)(?:[.\[:][^\s>+~,]*)?)"
    r"(?:\s+(?P<rest>[^\s>+~,][^,]*))?$"
)


@lru_cache(maxsize=2048)
def _id_anchoring(css: str) -> tuple[str, str, str | None] | None:
    match = _ID_ANCHORED.match(css)
    return (match.group("id"), match.group("compound"), match.group("rest")) if match else None


class Finder:
    """Runs selectors on one parsed page.

    Supplier selectors are mostly anchored on an element id (#productTitle, #corePrice_feature_div
    .a-price). Each CSS query walks the whole page, and most of a family's selectors belong to
    other layouts and match nothing; so the page's ids are collected once (one walk) and a
    selector whose id is absent costs nothing, one whose id is present searches only under it.
    """

    def __init__(self, tree):
        self.tree = tree
        self._ids = None
        self._found: dict = {}  # (spec, first_only) → its matches: several fields share selectors

    def _lookup(self, element_id: str):
        """(element, unique) for an id: the first element carrying it and whether it is the only
        one; (None, True) when no element has it."""
        if self._ids is None:
            nodes = self.tree.css("[id]")
            ids = [node.id for node in nodes]
            first = dict(zip(reversed(ids), reversed(nodes), strict=True))  # the earliest of each id wins
            repeated = set() if len(first) == len(ids) else {key for key, n in Counter(ids).items() if n > 1}
            self._ids = (first, repeated)
        first, repeated = self._ids
        node = first.get(element_id)
        return (None, True) if node is None else (node, element_id not in repeated)

    def select(self, spec: str, *, first_only: bool = False) -> list:
        """(node, attribute) pairs a selector spec matches; nothing for an invalid selector.
        With first_only, at most the first match (cheaper than collecting every match)."""
        key = (spec, first_only)
        if key not in self._found:
            self._found[key] = self._select(spec, first_only)
        return self._found[key]

    def _select(self, spec: str, first_only: bool) -> list:
        css, attribute = split_selector(spec)
        if not css:
            return []
        try:
            nodes = self._anchored(css, first_only)
            if nodes is None:
                if first_only:
                    node = self.tree.css_first(css)
                    nodes = [] if node is None else [node]
                else:
                    nodes = self.tree.css(css)
        except SelectolaxError:
            logger.warning("Skipping an invalid selector: %r", spec)
            return []
        return [(node, attribute) for node in nodes]

    def _anchored(self, css: str, first_only: bool):
        """Matches found from the id index, or None when the selector is not id-anchored (or the
        id is on several elements) and needs a whole-page query."""
        anchoring = _id_anchoring(css)
        if anchoring is None:
            return None
        element_id, compound, rest = anchoring
        anchor, unique = self._lookup(element_id)
        if anchor is None:
            return []
        if not unique and (rest or not first_only):
            return None  # an id used twice: matches may sit under either element
        if compound != "#" + element_id and not anchor.css_matches(compound):
            return []
        if not rest:
            return [anchor]
        if first_only:
            found = anchor.css_first(rest)
            if found is not None and found.mem_id == anchor.mem_id:  # css() may match the node itself
                found = next((n for n in anchor.css(rest) if n.mem_id != anchor.mem_id), None)
            return [] if found is None else [found]
        return [n for n in anchor.css(rest) if n.mem_id != anchor.mem_id]

    def iter_matches(self, spec: str):
        """The matches of a spec, fetching all of them only when the first one is not enough."""
        first = self.select(spec, first_only=True)
        if not first:
            return
        yield first[0]
        yield from self.select(spec)[1:]

    def matches_any(self, specs: list[str]) -> str | None:
        """The first spec with a match on the page (used for "blocked")."""
        for spec in specs:
            if self.select(spec, first_only=True):
                return spec
        return None


def _range_around(node):
    """The price-range element a price sits in ("$12.99 - $24.99" across variants), if any."""
    parent = node
    for _ in range(3):
        parent = parent.parent
        if parent is None:
            return None
        if any("price-range" in name for name in (parent.attributes.get("class") or "").split()):
            return parent
    return None


def price_text(node) -> str:
    """A price element's text. Amazon-style prices carry it twice (an off-screen copy and the
    visible digits); take the off-screen one, or the visible one when the copy is blank. A price
    that is one end of a range reads as the whole range (which is no price)."""
    around = _range_around(node)
    if around is not None:
        ends = [_one_price_text(n) for n in around.css(".a-price") if n.mem_id != around.mem_id]
        return " - ".join(ends) if len(ends) > 1 else node_text(around)
    return _one_price_text(node)


def _one_price_text(node) -> str:
    offscreen = node.css_first(".a-offscreen")
    if offscreen is not None and offscreen.mem_id != node.mem_id:
        text = collapse(offscreen.text())
        if text:
            return text
    visible = node.css_first('[aria-hidden="true"]')
    if visible is not None and visible.mem_id != node.mem_id:
        text = collapse(visible.text())
        if text:
            return text
    return node_text(node)


def _value(node, attribute, *, as_price=False, skip_hidden=False) -> str:
    if attribute:
        return collapse(node.attributes.get(attribute) or "")
    return price_text(node) if as_price else node_text(node, skip_hidden=skip_hidden)


def reading_from_selectors(
    finder: Finder, selectors: dict, *, base_url=None, site_currency=None, default_dollar=None
) -> Reading:
    found = Reading(source=sources.SELECTORS)
    if not selectors:
        return found

    def first_value(name, convert, **kwargs):
        for spec in selector_list(selectors, name):
            for node, attribute in finder.iter_matches(spec):
                value = _value(node, attribute, **kwargs)
                if value:
                    converted = convert(value)
                    if converted is not None:
                        return converted
        return None

    title = first_value("title", lambda v: v, skip_hidden=True)
    found.title = title[:_MAX_TITLE] if title else None
    description = first_value("description", lambda v: v)
    found.description = description[:_MAX_DESCRIPTION] if description else None

    def read_price(text):
        parsed = parse_price(text, site_currency=site_currency, default_dollar=default_dollar)
        if parsed is None or (parsed.amount is None and not parsed.is_range):
            return None
        return parsed

    parsed = first_value("price", read_price, as_price=True)
    if parsed is not None:
        found.price, found.is_range, found.price_read = parsed.amount, parsed.is_range, True
        found.currency = parsed.currency

    def read_currency(text):
        text = text.strip()
        if len(text) == 3 and text.isalpha():
            return text.upper()
        return currency_in(text, site_currency=site_currency, default_dollar=default_dollar)

    if not found.currency:
        found.currency = first_value("currency", read_currency)

    def read_stock(text):
        schema = schema_availability(text) if len(text) < 60 else None
        if schema:
            return (schema, None)
        reading = read_availability(text)
        if reading is None and len(text) < 60 and is_add_to_cart(text):
            return (IN_STOCK, None)  # an add-to-cart control: the item can be bought
        return (reading.availability, reading.stock) if reading else None

    stock = first_value("availability", read_stock)
    if stock:
        found.availability, found.stock = stock
    shipping = first_value(
        "shipping", lambda text: read_shipping(text, site_currency=site_currency, default_dollar=default_dollar)
    )
    if shipping is not None:
        found.shipping, found.shipping_currency = shipping
    found.rating = first_value("rating", parse_rating)
    found.reviews_count = first_value("reviews_count", parse_count)
    for spec in selector_list(selectors, "images"):
        urls = []
        for node, attribute in finder.select(spec):
            value = node.attributes.get(attribute or "src")
            for url in image_urls_from_attribute(value, base_url):
                if url not in urls:
                    urls.append(url)
        if urls:
            found.images = urls
            break
    found.product_id = first_value("product_id", lambda v: v.strip() or None)
    found.url = first_value("canonical_url", lambda v: absolute_url(v, base_url))
    for name in ("gtin", "mpn", "brand"):
        setattr(found, name, first_value(name, lambda v: v.strip()[:200] or None))
    return found
