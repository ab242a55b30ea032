"""Checking a reading before anything is written: is the page our product's, and are its values
inside their bounds? Pure functions over a Product and an Extraction (no database, no parse).

Identity (`reading_identity`), in this order, the first that can tell decides:
1. a page offering variants with none selected (Amazon's parent page) is not our item;
2. the supplier's product id the page states (Amazon's ASIN in its page data, a shop's SKU in its
   structured data) against Product.asin, when the product has such an id (not a URL hash) of the
   same numbering (not Costco's, whose pages state item numbers and links product numbers);
3. the GTIN, else the MPN, when both the page and the product have one;
4. the id in the canonical URL, then in the final URL after redirects (families with URL
   patterns): another id is another product; the same id under another address (a slug rename,
   a regional redirect) is ours. An address equal to the link we fetched proves nothing (a shop
   may serve another item at it), so it passes the question on;
5. title resemblance: the overlap coefficient of the two titles' words (shared words / words of
   the shorter title, READING_TITLE_MIN_OVERLAP, 0.5 by default). Dividing by the shorter title
   forgives a shop that adds or drops words (a longer SEO title, "free shipping"); two different
   items rarely share half of the shorter title beyond brand and category words. It cannot tell
   colours or sizes of one model apart: ids do that where the page states them;
6. nothing to compare (a first reading of a page stating no id): it is ours.

Bounds (`reading_clean`): text loses NUL, other control characters and lone surrogates and is
cut to its field; a price must be > 0, within Product.price's digits and under its currency's
ceiling (READING_PRICE_CEILING), stock ≥ 0 and within its field, the currency a known ISO 4217
code: otherwise the whole reading is invalid. A rating outside 0–5, a bad review count, GTIN or
description, or a shipping hint that is not an amount from 0 up to the currency's ceiling, is
dropped with a note and the rest applies. Numbers are never clamped or flipped.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

import pycountry
from django.conf import settings

from . import identify
from .models import Availability

MAX_TITLE = 500
MAX_DESCRIPTION = 10_000
MAX_ID = 64
MAX_MPN = 100
MAX_BRAND = 200
MAX_IMAGE_URL = 2000
MAX_INT = 2_147_483_647  # an IntegerField's bound on every database we run on
PRICE_LIMIT = Decimal("10") ** 10  # Product.price: 12 digits, 2 after the point
CENT = Decimal("0.01")
RATING_STEP = Decimal("0.01")
GTIN_LENGTHS = frozenset({8, 12, 13, 14})

# Control characters (C0, DEL, C1) and lone surrogates, which no database column takes.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_BREAKS = re.compile(r"[\t\n\r\v\f]+")
_WORD = re.compile(r"\w+")

VARIANT_UNSELECTED = "the page offers a choice of variants with none selected, so it is not our item's page"
DIFFERENT_ID = "the page is for {label} {page}, ours is {ours}"
DIFFERENT_URL_ID = "the {which} names {page}, ours is {ours}"
DIFFERENT_TITLE = "the page's title “{page}” shares too little with ours (“{ours}”)"
REDIRECTED = "; the link now leads to {url}"

PRICE_NOT_A_NUMBER = "the price read is not a number ({value})"
PRICE_NOT_POSITIVE = "the price read is {value}: a price must be more than zero"
PRICE_TOO_MANY_DIGITS = "the price read ({value}) does not fit a price field"
PRICE_OVER_CEILING = "the price read ({value} {currency}) is above the sanity ceiling of {ceiling} {currency}"
CURRENCY_UNKNOWN = "the currency read (“{value}”) is not a known currency code"
STOCK_OUT_OF_BOUNDS = "the stock read ({value}) is not a quantity from 0 to {limit}"
AVAILABILITY_UNKNOWN = "the availability read (“{value}”) is not one we know"
RATING_DROPPED = "rating {value} dropped: not between 0 and 5"
REVIEWS_DROPPED = "review count {value} dropped: not a count"
DESCRIPTION_DROPPED = "description dropped: not text"
TITLE_DROPPED = "title dropped: not text"
GTIN_DROPPED = "GTIN {value} dropped: not 8, 12, 13 or 14 digits"
SHIPPING_DROPPED = "shipping hint {value} dropped: not an amount from 0 to {ceiling}"


# --- Identity -------------------------------------------------------------------------------


@dataclass
class Identity:
    """What the identity check found: `same` or not, how it was told, and both sides in words."""

    same: bool
    by: str  # variants | page id | GTIN | MPN | canonical URL | final URL | title | nothing to compare
    reason: str = ""
    ours: dict = field(default_factory=dict)
    page: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"by": self.by, "ours": self.ours, "page": self.page}


def _norm_id(value) -> str:
    return "".join(str(value).split()).upper() if value else ""


def _norm_gtin(value) -> str:
    return str(value).lstrip("0") if value else ""


# Costco's pages state the item number ("Item # 1124604") while its links, and so our products,
# carry the product number (product.100325708.html): two numberings, so the page's id cannot decide
# and the URL's id does.
URL_NUMBERED_FAMILIES = frozenset({"costco"})


def has_own_id(product) -> bool:
    """The product's asin is an id a page can state (not the hash of a shop's address)."""
    return bool(product.asin) and not product.asin.startswith("url-")


def _same_address(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.hostname, pa.path.rstrip("/"), pa.query) == (pb.hostname, pb.path.rstrip("/"), pb.query)


def title_overlap(a: str, b: str) -> float:
    """Shared words / words of the shorter title (case- and punctuation-blind; one-letter words ignored)."""
    words_a = {w for w in _WORD.findall(a.casefold()) if len(w) > 1}
    words_b = {w for w in _WORD.findall(b.casefold()) if len(w) > 1}
    if not words_a or not words_b:
        return 1.0
    return len(words_a & words_b) / min(len(words_a), len(words_b))


def page_stated_id(extraction) -> str | None:
    """The supplier's product id as the page itself states it (not read from a URL)."""
    value = getattr(extraction, "asin", None)
    sources = getattr(extraction, "sources", None) or {}
    if not value or sources.get("asin") == "url":
        return None
    return value


def reading_identity(product, extraction, *, family: str = "generic", config: dict | None = None) -> Identity:
    """Is this page our product's? See the module's docstring for the order of the questions."""
    page_id = page_stated_id(extraction)
    final_url = getattr(extraction, "page_url", None)
    canonical = getattr(extraction, "canonical_url", None)
    ours = {"title": product.title, "id": product.asin, "url": product.url}
    page = {
        "title": extraction.title or "",
        "id": page_id or extraction.asin or "",
        "url": final_url or canonical or "",
    }
    redirected = bool(final_url) and not _same_address(final_url, product.url)
    tail = REDIRECTED.format(url=final_url) if redirected else ""

    def verdict(same: bool, by: str, reason: str = "") -> Identity:
        return Identity(same=same, by=by, reason=(reason + tail) if not same else "", ours=ours, page=page)

    if getattr(extraction, "variant_unselected", False):
        return verdict(False, "variants", VARIANT_UNSELECTED)
    own_id = has_own_id(product)
    if page_id and own_id and family not in URL_NUMBERED_FAMILIES:
        same = _norm_id(page_id) == _norm_id(product.asin)
        return verdict(same, "page id", DIFFERENT_ID.format(label="item", page=page_id, ours=product.asin))
    page_gtin, page_mpn = getattr(extraction, "gtin", None), getattr(extraction, "mpn", None)
    if page_gtin and product.gtin:
        same = _norm_gtin(page_gtin) == _norm_gtin(product.gtin)
        return verdict(same, "GTIN", DIFFERENT_ID.format(label="GTIN", page=page_gtin, ours=product.gtin))
    if page_mpn and product.mpn:
        same = _norm_id(page_mpn) == _norm_id(product.mpn)
        return verdict(same, "MPN", DIFFERENT_ID.format(label="part number", page=page_mpn, ours=product.mpn))
    if own_id and family != "generic":
        configs = {family: config} if config else None
        for which, url in (("canonical URL", canonical), ("final URL", final_url)):
            url_id = identify.product_id_from_url(url, family, configs)
            if not url_id:
                continue
            if _norm_id(url_id) != _norm_id(product.asin):
                return verdict(False, which, DIFFERENT_URL_ID.format(which=which, page=url_id, ours=product.asin))
            if not _same_address(url, product.url):
                return verdict(True, which)
    if product.title and extraction.title:
        overlap = title_overlap(product.title, extraction.title)
        same = overlap >= settings.READING_TITLE_MIN_OVERLAP
        return verdict(same, "title", DIFFERENT_TITLE.format(page=extraction.title[:120], ours=product.title[:120]))
    return verdict(True, "nothing to compare")


# --- Bounds and cleaning --------------------------------------------------------------------


def clean_text(value, limit: int, *, keep_lines: bool = False) -> str | None:
    """Text without control characters (line breaks kept when asked), cut to `limit`."""
    if value is None:
        return None
    if keep_lines:
        value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    else:
        value = _CONTROL.sub("", _BREAKS.sub(" ", value)).strip()
    return value[:limit] or None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _currency_known(code: str) -> bool:
    return len(code) == 3 and pycountry.currencies.get(alpha_3=code) is not None


def price_ceiling(currency: str | None) -> Decimal:
    ceilings = settings.READING_PRICE_CEILING
    return Decimal(ceilings.get(currency or "", ceilings.get("*", PRICE_LIMIT)))


def reading_clean(extraction, *, currency_fallback: str = "") -> tuple[str | None, list[str]]:
    """Clean the reading in place; return (why the whole reading is invalid or None, notes on the
    optional values dropped). Never clamps or flips a number."""
    notes: list[str] = []
    for name, limit in (("title", MAX_TITLE), ("asin", MAX_ID), ("mpn", MAX_MPN), ("brand", MAX_BRAND)):
        value = getattr(extraction, name, None)
        if value is None:
            continue
        if not isinstance(value, str):
            setattr(extraction, name, None)
            if name == "title":
                notes.append(TITLE_DROPPED)
            continue
        setattr(extraction, name, clean_text(value, limit))
    description = extraction.description
    if description is not None:
        if isinstance(description, str):
            extraction.description = clean_text(description, MAX_DESCRIPTION, keep_lines=True)
        else:
            extraction.description = None
            notes.append(DESCRIPTION_DROPPED)
    if extraction.images:
        images = [clean_text(url, MAX_IMAGE_URL) for url in extraction.images if isinstance(url, str)]
        extraction.images = [url for url in images if url]
    gtin = getattr(extraction, "gtin", None)
    if gtin is not None:
        digits = "".join(str(gtin).split())
        if digits.isascii() and digits.isdigit() and len(digits) in GTIN_LENGTHS:
            extraction.gtin = digits
        else:
            extraction.gtin = None
            notes.append(GTIN_DROPPED.format(value=clean_text(str(gtin), 40)))

    currency = extraction.currency
    if currency is not None:
        code = clean_text(str(currency), 10) or ""
        code = code.upper()
        if not _currency_known(code):
            return CURRENCY_UNKNOWN.format(value=code), notes
        extraction.currency = code
    price = extraction.price
    if price is not None:
        if not isinstance(price, Decimal | int) or isinstance(price, bool):
            return PRICE_NOT_A_NUMBER.format(value=clean_text(str(price), 40)), notes
        price = Decimal(price)
        if not price.is_finite():
            return PRICE_NOT_A_NUMBER.format(value=price), notes
        if price <= 0:
            return PRICE_NOT_POSITIVE.format(value=price), notes
        if price >= PRICE_LIMIT:
            return PRICE_TOO_MANY_DIGITS.format(value=price), notes
        price_currency = extraction.currency or currency_fallback
        ceiling = price_ceiling(price_currency)
        if price > ceiling:
            return PRICE_OVER_CEILING.format(value=price, currency=price_currency or "", ceiling=ceiling), notes
        rounded = price.quantize(CENT)
        if rounded <= 0:
            return PRICE_NOT_POSITIVE.format(value=price), notes
        extraction.price = rounded
    stock = extraction.stock
    if stock is not None and (not _is_int(stock) or not 0 <= stock <= MAX_INT):
        return STOCK_OUT_OF_BOUNDS.format(value=clean_text(str(stock), 40), limit=MAX_INT), notes
    if extraction.availability not in Availability.values:
        return AVAILABILITY_UNKNOWN.format(value=clean_text(str(extraction.availability), 40)), notes

    rating = extraction.rating
    if rating is not None:
        valid = isinstance(rating, Decimal | int | float) and not isinstance(rating, bool)
        value = Decimal(str(rating)) if valid else None
        if value is None or not value.is_finite() or not 0 <= value <= 5:
            extraction.rating = None
            notes.append(RATING_DROPPED.format(value=clean_text(str(rating), 40)))
        else:
            extraction.rating = value.quantize(RATING_STEP)
    reviews = extraction.reviews_count
    if reviews is not None and (not _is_int(reviews) or not 0 <= reviews <= MAX_INT):
        extraction.reviews_count = None
        notes.append(REVIEWS_DROPPED.format(value=clean_text(str(reviews), 40)))
    _shipping_clean(extraction, notes, currency=extraction.currency or currency_fallback)
    return None, notes


def _shipping_clean(extraction, notes: list[str], *, currency: str) -> None:
    """Keep the page's shipping hint only as an amount from 0 up to the price ceiling of its currency."""
    hint = getattr(extraction, "shipping_hint", None)
    if hint is None:
        return
    ceiling = min(price_ceiling(currency), PRICE_LIMIT - CENT)
    valid = isinstance(hint, Decimal | int) and not isinstance(hint, bool)
    value = Decimal(hint) if valid else None
    if value is None or not value.is_finite() or not 0 <= value <= ceiling:
        extraction.shipping_hint = None
        extraction.shipping_free = False
        notes.append(SHIPPING_DROPPED.format(value=clean_text(str(hint), 40), ceiling=ceiling))
        return
    extraction.shipping_hint = value.quantize(CENT)
