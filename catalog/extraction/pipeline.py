"""Reading a product page: each field from the first source that gives it.

Order per field: the supplier's selectors (scraper_config), then structured data (JSON-LD,
microdata, OpenGraph), then careful heuristics. The page is parsed once with selectolax; extruct
runs only when that fast path found neither a title nor a price.
"""

from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from catalog import identify

from . import blocked as blocking
from . import reading as sources
from .document import absolute_url, decode, is_blank
from .families import FAMILY_DEFAULT_DOLLAR
from .heuristics import guess_availability, guess_description, guess_images, guess_title
from .phrases import OUT_OF_STOCK, UNKNOWN
from .reading import RECOGNISING_SOURCES, Reading
from .result import Extraction
from .selectors import Finder, reading_from_selectors, selector_list
from .structured import (
    choose_product,
    extruct_readings,
    jsonld_products,
    meta_tags,
    microdata_products,
    reading_from_opengraph,
    reading_from_product,
    structured_nodes,
)

MAX_TITLE = 500  # Product.title's length
MAX_DESCRIPTION = 10_000
MAX_IMAGES = 20
CANONICAL_LINK = 'link[rel="canonical"]@href'


class _Structured:
    """The page's structured data nodes (JSON-LD scripts, microdata, <meta> tags), found the first
    time something asks (a page whose fields all come from the supplier's selectors never needs
    them); `get` reads the <meta> tags as a dict."""

    def __init__(self, tree):
        self._tree = tree
        self._nodes = None
        self._metas = None

    def nodes(self) -> tuple[list, list, list]:
        if self._nodes is None:
            self._nodes = structured_nodes(self._tree)
        return self._nodes

    def get(self, key, default=None):
        if self._metas is None:
            self._metas = meta_tags(self.nodes()[2])
        return self._metas.get(key, default)


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


class _Sources:
    """The readings of one page in the order they are consulted, each computed the first time a
    field needs it. (No bound methods or lambdas are stored on the instance: a reference cycle
    would keep the parsed page alive until the garbage collector runs.)"""

    _COUNT = 4  # selectors, JSON-LD, microdata, OpenGraph

    def __init__(self, structured, *, base_url, page_urls, site_currency, default_dollar, selector_reading):
        self.structured = structured
        self.base_url = base_url
        self.page_urls = page_urls
        self.site_currency = site_currency
        self.default_dollar = default_dollar
        self.extra: list[Reading] = []
        self._done: list[Reading] = [selector_reading]

    def _compute(self, index: int) -> Reading:
        if index == 1:
            return self._product_reading(jsonld_products(self.structured.nodes()[0]), sources.JSON_LD)
        if index == 2:
            return self._product_reading(microdata_products(self.structured.nodes()[1]), sources.MICRODATA)
        return reading_from_opengraph(self.structured, base_url=self.base_url)

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
        )

    def __iter__(self):
        yield from self._done
        while len(self._done) < self._COUNT:
            reading = self._compute(len(self._done))
            self._done.append(reading)
            yield reading
        yield from self.extra

    def first(self, name):
        """(value, source) of the first reading that has the field, else (None, None)."""
        for reading in self:
            value = getattr(reading, name)
            if value not in (None, "", []):
                return value, reading.source
        return None, None

    def price(self):
        for reading in self:
            if reading.price_read:
                return reading
        return None


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
    relative links and the site's currency; the page's canonical link is used otherwise).

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
    default_dollar = site_currency if site_currency else FAMILY_DEFAULT_DOLLAR.get(family)
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
    )

    title, title_source = found.first("title")
    price_reading = found.price()
    if title is None and price_reading is None:
        found.extra = extruct_readings(
            raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace"),
            base_url=base_url,
            page_urls=page_urls,
            site_currency=site_currency,
            default_dollar=default_dollar,
        )
        title, title_source = found.first("title")
        price_reading = found.price()

    recognised = title_source in RECOGNISING_SOURCES or price_reading is not None
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
    result.title = take("title", title[:MAX_TITLE] if title else None, title_source)

    if price_reading is not None:
        result.price = take("price", price_reading.price, price_reading.source)
        result.price_is_range = price_reading.is_range
        result.currency = take("currency", price_reading.currency, price_reading.source)
    if not result.currency:
        for reading in found:
            if reading.currency:
                result.currency = take("currency", reading.currency, reading.source)
                break
    if not result.currency and site_currency:
        result.currency = take("currency", site_currency, sources.SITE)

    availability_reading = next((r for r in found if r.availability), None)
    if availability_reading is not None:
        result.availability = take("availability", availability_reading.availability, availability_reading.source)
        result.stock = take("stock", availability_reading.stock, availability_reading.source)
    elif not selector_list(selectors, "availability"):  # a supplier with its own rules knows better
        value, stock = guess_availability(tree)
        if value:
            result.availability = take("availability", value, sources.HEURISTICS)
            result.stock = take("stock", stock, sources.HEURISTICS)
    if result.availability == OUT_OF_STOCK:
        result.price = None  # nothing a buyer can pay now
    if not result.availability:
        result.availability = UNKNOWN

    result.rating = take("rating", *found.first("rating"))
    result.reviews_count = take("reviews_count", *found.first("reviews_count"))
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

    result.asin = take("asin", *_product_id(found, selector_reading, family, config, page_urls))
    return result


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


def _product_id(found, selector_reading, family, config, page_urls):
    if selector_reading.product_id:
        return selector_reading.product_id, sources.SELECTORS
    if config.get("product_id_patterns"):
        for page_url in page_urls:
            product_id = identify.product_id_from_url(page_url, family, {family: config})
            if product_id:
                return product_id, "url"
    return found.first("product_id")


def _host(url: str | None) -> str | None:
    return urlsplit(url).hostname if url else None
