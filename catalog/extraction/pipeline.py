"""Reading a product page: each field from the first source that gives it, prices by meaning.

Sources, in the order they are consulted: the supplier's selectors (scraper_config), JSON-LD,
microdata, OpenGraph, the page's own state (`embedded`: script data, data attributes, hidden
inputs), loose microdata, extruct (only when nothing above found a title or a price), and careful
heuristics. The shipping a page states is read as a hint (`shipping`) from the same passes. The
page is parsed once with selectolax; every source after the selectors reads the
elements one pass over that tree collected (`nodes`), each only when a field needs it.

The price is not simply the first one found. Each source also says which prices are not what a
buyer pays now (list / regular / "was" / strike-through prices, offers for used or refurbished
items); those are set aside whichever source states them, a price labelled as the current sale
price wins, and a range (variants, no variant selected) is no price. A page whose only offers are
not new has no price. A URL that selects a variant is read as that variant.
"""

from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from catalog import identify

from . import blocked as blocking
from . import reading as sources
from .buybox import cart_control, page_says_not_new, read_buy_box, scarcity_near, shipping_near
from .document import absolute_url, collapse, decode, is_blank
from .embedded import embedded_reading
from .families import FAMILY_DEFAULT_DOLLAR
from .heuristics import guess_availability, guess_description, guess_images, guess_title
from .microdata import microdata_items
from .nodes import state_nodes, structured_nodes
from .opengraph import meta_tags, reading_from_opengraph
from .phrases import IN_STOCK, OUT_OF_STOCK, UNKNOWN, title_says_not_new
from .reading import RECOGNISING_SOURCES, Reading
from .result import Extraction
from .selectors import Finder, reading_from_selectors, selector_list
from .structured import choose_product, extruct_could_read, extruct_readings, jsonld_products, reading_from_product

MAX_TITLE = 500  # Product.title's length
MAX_DESCRIPTION = 10_000
MAX_IMAGES = 20
MAX_ID = 64
CANONICAL_LINK = 'link[rel="canonical"]@href'

# The dollar a "$" means on a shop's page when its site does not fix the currency: the country of
# its domain, else of its language tag (<html lang="en-CA">), else the US dollar.
_COUNTRY_DOLLARS = {
    "ca": "CAD",
    "au": "AUD",
    "nz": "NZD",
    "mx": "MXN",
    "sg": "SGD",
    "hk": "HKD",
    "tw": "TWD",
    "cl": "CLP",
    "co": "COP",
    "ar": "ARS",
}


class _Structured:
    """The page's data-bearing elements (`nodes`), each walk done the first time something asks (a
    page whose fields all come from the supplier's selectors never needs them); `get` reads the
    <meta> tags as a dict."""

    def __init__(self, tree):
        self._tree = tree
        self._nodes = None
        self._state = None
        self._metas = None
        self._cart = None

    def nodes(self):
        if self._nodes is None:
            self._nodes = structured_nodes(self._tree)
        return self._nodes

    def state(self):
        if self._state is None:
            self._state = state_nodes(self._tree)
        return self._state

    def cart(self):
        """(the page's add-to-cart control, whether it is enabled), found once."""
        if self._cart is None:
            self._cart = cart_control(self.nodes().controls)
        return self._cart

    def get(self, key, default=None):
        if self._metas is None:
            self._metas = meta_tags(self.nodes().metas)
        return self._metas.get(key, default)

    def document_title(self) -> str | None:
        node = self._tree.css_first("title")
        return collapse(node.text()) if node is not None else None


class _PageUrls:
    """The URLs the page answers to (canonical, og:url, the fetched URL), for telling the page's
    own product from others and reading the product id; og:url is looked up only if needed."""

    def __init__(self, canonical, metas, url, base_url):
        self._canonical, self._url = canonical, url
        self._metas = metas
        self._base_url = base_url
        self._all = None

    def __iter__(self):
        if self._all is None:
            og_url = absolute_url((self._metas.get("og:url") or [None])[0], self._base_url)
            self._all = [u for u in (self._canonical, og_url, self._url) if u]
        return iter(self._all)


# Sources of data the page declares for others to read (its own selectors' aside).
_DECLARED_SOURCES = frozenset({sources.SELECTORS, sources.JSON_LD, sources.MICRODATA, sources.OPENGRAPH})
# The fields besides the price the page's own state is read for (it gives no rating, image or
# description; for a product id or a currency it is used only if the price already read it).
_EMBEDDED_FIELDS = frozenset({"title", "availability"})


class _Sources:
    """The readings of one page in the order they are consulted, each computed the first time a
    field needs it. (No bound methods or lambdas are stored on the instance: a reference cycle
    would keep the parsed page alive until the garbage collector runs.)"""

    # selectors, JSON-LD, microdata, OpenGraph, embedded page state, loose microdata
    _COUNT = 6
    _EMBEDDED = 4

    def __init__(
        self,
        structured,
        *,
        base_url,
        page_urls,
        site_currency,
        default_dollar,
        selector_reading,
        wanted_variant,
        scan_scripts,
    ):
        self.structured = structured
        self.base_url = base_url
        self.page_urls = page_urls
        self.site_currency = site_currency
        self.default_dollar = default_dollar
        self.wanted_variant = wanted_variant
        self.scan_scripts = scan_scripts
        self.extra: list[Reading] = []
        self._done: list[Reading] = [selector_reading]
        self._skipped: dict[int, Reading] = {}
        self._microdata = None
        self.honour_condition = True
        # A supplier with price rules of its own (staff keep them, e.g. Amazon's buy box and twister
        # data) is read by them: its page state is not a source (Amazon's holds every other offer).
        self._embedded_fields = _EMBEDDED_FIELDS if scan_scripts or wanted_variant else frozenset()

    def _compute(self, index: int) -> Reading:
        nodes = self.structured.nodes()
        if index == 1:
            return self._product_reading(jsonld_products(nodes.jsonld), sources.JSON_LD)
        if index == 2:
            return self._product_reading(self._microdata_items()[0], sources.MICRODATA)
        if index == 3:
            return reading_from_opengraph(
                self.structured, base_url=self.base_url, honour_condition=self.honour_condition
            )
        if index == self._EMBEDDED:
            return embedded_reading(
                self.structured.state(),
                title=self._title_so_far(),
                wanted_variant=self.wanted_variant,
                site_currency=self.site_currency,
                default_dollar=self.default_dollar,
                scan_scripts=self.scan_scripts,
                honour_condition=self.honour_condition,
            )
        implied = self._microdata_items()[1]
        return self._product_reading([implied] if implied else [], sources.MICRODATA)

    def _microdata_items(self):
        if self._microdata is None:
            self._microdata = microdata_items(self.structured.nodes().microdata)
        return self._microdata

    def _title_so_far(self) -> str | None:
        for reading in self._done:
            if reading.title:
                return reading.title
        title = self.structured.get("og:title") or self.structured.get("twitter:title")
        return title[0] if title else self.structured.document_title()

    def _product_reading(self, products, source):
        product = choose_product(products, self.page_urls)
        if product is None:
            return Reading(source=source)
        return reading_from_product(
            product,
            source=source,
            base_url=self.base_url,
            site_currency=self.site_currency,
            default_dollar=self.default_dollar,
            wanted_variant=self.wanted_variant,
            honour_condition=self.honour_condition,
        )

    def ignore_condition(self) -> None:
        """Read the sources again without their offers' condition (the page never names it)."""
        self.honour_condition = False
        self._done = self._done[:1]
        self._skipped.clear()

    def _get(self, index: int) -> Reading:
        while len(self._done) <= index:
            position = len(self._done)
            self._done.append(self._skipped.pop(position, None) or self._compute(position))
        return self._done[index]

    def upto(self, count: int):
        """The first `count` readings (computed if needed)."""
        return [self._get(i) for i in range(min(count, self._COUNT))]

    def computed(self):
        """The readings computed so far (no new work), in source order."""
        skipped = [self._skipped[i] for i in sorted(self._skipped)]
        return [*self._done, *skipped, *self.extra]

    def in_order(self, name: str):
        """The readings to consult for a field, in order. The page state (costly to read) is read
        only for the fields it can give, and for a product id or a currency only if already read."""
        for index in range(self._COUNT):
            if index == self._EMBEDDED and index >= len(self._done) and name not in self._embedded_fields:
                continue
            yield self._get_or_skip(index)
        yield from self.extra

    def later_sources(self) -> list[Reading]:
        """The sources after the declared ones: the page state (unless skipped), loose microdata."""
        if self._embedded_fields:
            return self.upto(self._COUNT)[self._EMBEDDED :]
        return [self._get_or_skip(index) for index in range(self._EMBEDDED + 1, self._COUNT)]

    def _get_or_skip(self, index: int) -> Reading:
        if index < len(self._done):
            return self._done[index]
        if index > self._EMBEDDED and len(self._done) <= self._EMBEDDED:
            # the page state was skipped: read the later source without it (kept out of _done)
            self._get(self._EMBEDDED - 1)
            return self._later(index)
        return self._get(index)

    def _later(self, index: int) -> Reading:
        if self._skipped.get(index) is None:
            self._skipped[index] = self._compute(index)
        return self._skipped[index]

    def first(self, name):
        """(value, source) of the first reading that has the field, else (None, None)."""
        for reading in self.in_order(name):
            value = getattr(reading, name)
            if value not in (None, "", []):
                return value, reading.source
        return None, None

    def first_computed(self, name):
        """first() among the readings already computed (for fields not worth a new walk)."""
        for reading in self.computed():
            value = getattr(reading, name)
            if value not in (None, "", []):
                return value, reading.source
        return None, None


def _choose_price(found: _Sources, tree) -> tuple[Reading | None, bool]:
    """(the reading whose price is the buy price — or a range —, whether the page's prices are all
    set aside: regular or not-new only, so no heuristic may guess one).

    An offer's condition in structured data ("UsedCondition") is trusted when the page itself
    names a not-new condition somewhere (open box, refurbished, renewed, used…); otherwise the
    markup is read without it (shops copy examples that mark everything used)."""
    selectors = found.upto(1)[0]
    if found.wanted_variant:  # the variant the URL selects, wherever the page's data states it
        readings = found.upto(found._COUNT)
        variant = next((r for r in readings if r.variant_found and r.price_read), None)
        if variant is not None:
            return variant, False
        if not any(r.variant_found for r in readings) and any(r.variant_missing for r in readings):
            return next(r for r in readings if r.variant_missing), True
    if selectors.price_read:
        return selectors, False
    chosen = _choose_structured_price(found)
    if found.honour_condition and any(r.condition_stated for r in found.computed()) and not page_says_not_new(tree):
        found.ignore_condition()
        chosen = _choose_structured_price(found)
    return chosen


def _choose_structured_price(found: _Sources) -> tuple[Reading | None, bool]:
    readings = found.upto(found._EMBEDDED)
    priced = [r for r in readings if r.price_read]
    settled = (
        priced
        and len({(r.price, r.is_range) for r in priced}) == 1
        and not any(r.not_buy_prices or r.not_new or r.sale_price for r in readings)
        and not found.wanted_variant
    )
    if not settled:
        readings = [*readings, *found.later_sources(), *found.extra]
    not_buy = set().union(*(r.not_buy_prices for r in readings))
    priced = [r for r in readings if r.price_read and (r.is_range or r.price is not None)]
    for reading in [r for r in priced if r.sale_price and r.price not in not_buy] + priced:
        if reading.is_range or reading.price not in not_buy:
            return reading, False
    return None, bool(not_buy) or any(r.not_new for r in readings)


def _default_dollar(family, site_currency, tree, urls) -> str | None:
    if site_currency:
        return site_currency
    if family in FAMILY_DEFAULT_DOLLAR:
        return FAMILY_DEFAULT_DOLLAR[family]
    for url in urls:
        host = urlsplit(url).hostname or ""
        country = host.rsplit(".", 1)[-1]
        if country in _COUNTRY_DOLLARS:
            return _COUNTRY_DOLLARS[country]
    root = tree.root
    lang = (root.attributes.get("lang") or "") if root is not None else ""
    region = lang.replace("_", "-").rsplit("-", 1)[-1].lower() if "-" in lang or "_" in lang else ""
    return _COUNTRY_DOLLARS.get(region, "USD")


def extract(
    html: str | bytes,
    *,
    supplier_config: dict | None = None,
    family: str = "generic",
    url: str | None = None,
) -> Extraction:
    """Read one product page into an `Extraction`.

    html: the page as fetched or saved (bytes are decoded by their BOM / <meta charset>, else
    UTF-8, else windows-1252). supplier_config: the supplier's scraper_config (its family
    template's), whose "selectors" are tried first and whose "product_id_patterns" read the
    product id from the canonical URL. family: amazon | aliexpress | costco | generic (the "$" on
    an Amazon page is the site's dollar). url: where the page came from, if known (resolves
    relative links and the site's currency; the page's canonical link is used otherwise; a URL
    that selects a variant — "?variant=", "?sku_id=" — is read as that variant).

    Never raises on page content; a page that is not a product page comes back with
    `blocked=True` or `layout_unrecognised=True` and no product fields.
    """
    if is_blank(html):
        return Extraction.for_blocked_page(blocking.EMPTY_PAGE, page_url=url)
    raw = decode(html)
    tree = LexborHTMLParser(raw)
    config = supplier_config if isinstance(supplier_config, dict) else {}
    selectors = config.get("selectors") if isinstance(config.get("selectors"), dict) else {}

    finder = Finder(tree)
    reason = blocking.strong_block_reason(
        tree, raw, supplier_selectors_hit=finder.matches_any(selector_list(selectors, "blocked"))
    )
    if reason:
        return Extraction.for_blocked_page(reason, page_url=url)

    structured = _Structured(tree)
    canonical = _canonical_url(finder, selectors, structured, url)
    base_url = url or canonical
    site_currency = identify.site_currency(url) or identify.site_currency(canonical)
    default_dollar = _default_dollar(family, site_currency, tree, [u for u in (url, canonical) if u])
    wanted_variant = identify.variant_from_url(url)
    own_price_rules = bool(selector_list(selectors, "price"))
    selector_reading = reading_from_selectors(
        finder, selectors, base_url=base_url, site_currency=site_currency, default_dollar=default_dollar
    )
    page_urls = _PageUrls(canonical, structured, url, base_url)
    found = _Sources(
        structured,
        base_url=base_url,
        page_urls=page_urls,
        site_currency=site_currency,
        default_dollar=default_dollar,
        selector_reading=selector_reading,
        wanted_variant=wanted_variant,
        scan_scripts=not own_price_rules or bool(wanted_variant),
    )

    title, title_source = found.first("title")
    price_reading, prices_set_aside = _choose_price(found, tree)
    if price_reading is not None and price_reading.source in _DECLARED_SOURCES:
        found.scan_scripts = False  # the page's scripts are read for a price, not for the rest
    if title is None and price_reading is None and not prices_set_aside and extruct_could_read(raw):
        found.extra = extruct_readings(
            raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace"),
            base_url=base_url,
            page_urls=page_urls,
            site_currency=site_currency,
            default_dollar=default_dollar,
        )
        title, title_source = found.first("title")
        price_reading, prices_set_aside = _choose_price(found, tree)

    shown = None  # the buy box as the page shows it, for shops that state no data
    if price_reading is None and not prices_set_aside and not own_price_rules:
        guessed_title = title or guess_title(tree, structured, host=_host(base_url))
        shown = read_buy_box(tree, title=guessed_title, site_currency=site_currency, default_dollar=default_dollar)
        price_reading = shown.price

    recognised = title_source in RECOGNISING_SOURCES or price_reading is not None or prices_set_aside
    if not recognised:
        wall = blocking.weak_block_reason(tree, raw)
        if wall:
            return Extraction.for_blocked_page(wall, page_url=url)
        return Extraction(layout_unrecognised=True, canonical_url=canonical, page_url=url)

    result = Extraction(canonical_url=canonical, page_url=url)
    result.sources = {}

    def take(name, value, source):
        if value not in (None, "", []):
            result.sources[name] = source
        return value

    if title is None:
        title, title_source = guess_title(tree, structured, host=_host(base_url)), sources.HEURISTICS
    elif title_source in (sources.JSON_LD, sources.MICRODATA):
        title, title_source = _with_brand(title, title_source, found, tree)
    result.title = take("title", title[:MAX_TITLE] if title else None, title_source)

    variant_unselected = bool(finder.matches_any(selector_list(selectors, "variant_unselected")))
    if price_reading is not None and price_reading.variant_missing:
        variant_unselected = True
    if price_reading is not None and not price_reading.variant_missing:
        result.price = take("price", price_reading.price, price_reading.source)
        result.price_is_range = price_reading.is_range
        result.currency = take("currency", price_reading.currency, price_reading.source)
    if not result.currency:
        result.currency = take("currency", *found.first("currency"))
    if not result.currency and site_currency:
        result.currency = take("currency", site_currency, sources.SITE)
    if not result.currency and not own_price_rules:
        if shown is None:  # the currency the page shows its prices in
            shown = read_buy_box(tree, title=result.title, site_currency=site_currency, default_dollar=default_dollar)
        result.currency = take("currency", shown.currency, sources.HEURISTICS)

    _read_availability(result, found, tree, structured, selectors, take)
    _read_shipping(result, found, structured, selectors, take, site_currency, default_dollar)
    if result.availability == OUT_OF_STOCK:
        result.price = None  # nothing a buyer can pay now
    if title_says_not_new(result.title):
        result.price = None  # the item itself is renewed / refurbished / used: no new-item price
    if variant_unselected:
        result.variant_unselected = True
        result.price, result.price_is_range = None, True

    result.rating = take("rating", *found.first("rating"))
    result.reviews_count = take("reviews_count", *found.first("reviews_count"))
    if result.rating is None and shown is not None and shown.rating is not None:
        result.rating = take("rating", shown.rating, sources.HEURISTICS)
        result.reviews_count = result.reviews_count or take("reviews_count", shown.reviews_count, sources.HEURISTICS)
    if result.rating is not None and result.reviews_count == 0:
        result.rating = None  # a rating with no reviews is a placeholder

    images, source = found.first("images")
    if not images:
        images, source = guess_images(tree, base_url=base_url), sources.HEURISTICS
    result.images = take("images", list(images or [])[:MAX_IMAGES], source) or []

    description, source = found.first("description")
    if description is None:
        description, source = guess_description(structured), sources.HEURISTICS
    result.description = take("description", description[:MAX_DESCRIPTION] if description else None, source)

    for name in ("gtin", "mpn", "brand"):
        value, source = found.first_computed(name)
        setattr(result, name, take(name, value[:MAX_ID] if value else None, source))

    product_id, source = _product_id(found, selector_reading, family, config, page_urls, price_reading, url)
    result.asin = take("asin", product_id[:MAX_ID] if product_id else None, source)
    if wanted_variant and not result.variant_unselected and result.canonical_url:
        result.canonical_url = identify.with_variant(result.canonical_url, wanted_variant)
    return result


def _with_brand(title, source, found, tree):
    """The page's own name for the product when it only adds what the structured name leaves out in
    front (the brand): OpenGraph and the page's heading both say "SKECHERS Prima - Leather Laces"
    where the microdata says "Prima - Leather Laces"."""
    shared = found.upto(4)[3].title
    if not shared or len(shared) <= len(title) or not shared.casefold().endswith(" " + title.casefold()):
        return title, source
    if len(shared.split()) - len(title.split()) > 3:
        return title, source
    heading = tree.css_first("h1")
    if heading is not None and collapse(heading.text(deep=True, separator=" ")).casefold() == shared.casefold():
        return shared, sources.OPENGRAPH
    return title, source


def _read_availability(result, found, tree, structured, selectors, take):
    """Availability from the first source that states it; for suppliers without rules of their own,
    then the page's availability text, then an add-to-cart control. A scarcity statement beside
    the buy button refines a plain "in stock"."""
    own_rules = bool(selector_list(selectors, "availability"))
    variant = next((r for r in found.computed() if r.variant_found and r.availability), None)
    reading = variant or next((r for r in found.in_order("availability") if r.availability), None)
    if reading is not None:
        result.availability = take("availability", reading.availability, reading.source)
        result.stock = take("stock", reading.stock, reading.source)
    elif not own_rules:
        value, stock = guess_availability(tree)
        if value:
            result.availability = take("availability", value, sources.HEURISTICS)
            result.stock = take("stock", stock, sources.HEURISTICS)
        else:
            control, enabled = structured.cart()
            if control is not None and enabled:
                result.availability = take("availability", IN_STOCK, sources.HEURISTICS)
    if result.availability == IN_STOCK and result.stock is None and not own_rules:
        control, _ = structured.cart()
        scarce = scarcity_near(control) if control is not None else None
        if scarce is not None:
            result.availability = take("availability", scarce.availability, sources.HEURISTICS)
            result.stock = take("stock", scarce.stock, sources.HEURISTICS)
    if not result.availability:
        result.availability = UNKNOWN


def _read_shipping(result, found, structured, selectors, take, site_currency, default_dollar):
    """What the page says shipping costs, a hint: from the sources already read (the supplier's
    selectors, schema.org shippingDetails), else, for suppliers without rules of their own, from
    the buy box around the add-to-cart control. A rate in another currency than the price's is
    not this page's price's shipping: none."""
    stated = next(
        ((r.shipping, r.shipping_currency, r.source) for r in found.computed() if r.shipping is not None), None
    )
    if stated is None and not selector_list(selectors, "shipping"):
        control, _ = structured.cart()
        near = shipping_near(control, site_currency=site_currency, default_dollar=default_dollar) if control else None
        if near is not None:
            stated = (*near, sources.HEURISTICS)
    if stated is None:
        return
    amount, currency, source = stated
    if amount > 0 and currency and result.currency and currency.upper() != result.currency:
        return
    result.shipping_hint = take("shipping_hint", amount, source)
    result.shipping_free = amount == 0


def _canonical_url(finder, selectors, metas, url) -> str | None:
    specs = selector_list(selectors, "canonical_url")
    if CANONICAL_LINK not in specs:  # a page without one would be searched twice
        specs.append(CANONICAL_LINK)
    for spec in specs:
        for node, attribute in finder.iter_matches(spec):
            value = absolute_url(node.attributes.get(attribute or "href"), url)
            if value:
                return identify.strip_tracking(value)
    og_url = absolute_url((metas.get("og:url") or [None])[0], url)
    if og_url:
        return identify.strip_tracking(og_url)
    return identify.strip_tracking(url) if url else None


def _product_id(found, selector_reading, family, config, page_urls, price_reading, url):
    """The supplier's product id: as the page's own data states it (the selected variant's when the
    URL selects one), else as its URLs name it (source "url")."""
    patterns = bool(config.get("product_id_patterns"))
    if selector_reading.product_id:
        return _url_id(selector_reading.product_id, family, config), sources.SELECTORS
    wanted = found.wanted_variant
    if wanted and price_reading is not None and price_reading.source != sources.HEURISTICS:
        if patterns and url:
            return identify.product_id_from_url(url, family, {family: config}), price_reading.source
        return price_reading.product_id or wanted, price_reading.source
    value, source = found.first("product_id")
    if value:
        return value, source
    if patterns:
        for page_url in [*page_urls, *([url] if url else [])]:
            product_id = identify.product_id_from_url(page_url, family, {family: config})
            if product_id:
                return product_id, "url"
    return None, None


def _url_id(value: str, family: str, config: dict) -> str:
    """A product id a selector read from a link ("/gp/aw/d/0596516177/ref=…") is the id in it."""
    if "/" in value:
        link = absolute_url(value, "https://example.invalid/")
        from_link = identify.product_id_from_url(link, family, {family: config})
        if from_link:
            return from_link
    return value


def _host(url: str | None) -> str | None:
    return urlsplit(url).hostname if url else None
