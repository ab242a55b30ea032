"""The buy box as a visitor sees it, for shops whose page states no product data.

Only used for suppliers without price rules of their own, after every data source was silent:

- the price: the elements marked as prices (class, id or test id saying "price") between the
  product's title (its <h1>) and the add-to-cart button, read by what they say they are. Only a
  price the page labels as the one to pay now ("customer price", "current", "sale", "Now $52.00",
  "our price") is taken: an unlabelled number near the title is as likely a list price, another
  offer or a per-unit price, and a wrong price costs a seller money. A "was", "list" or
  strike-through price and a saving are never the price; one that offers a used, refurbished or
  open-box item is another offer. An element holding several prices is a container (its parts are
  read instead), unless it is a range ("$12.97 - $24.99"), which is no price. The currency of the
  first price shown is the page's currency even when no price is taken.
- the add-to-cart / buy-now control: a secondary sign that the item can be bought (the first
  visible one; disabled means no sign).
- a scarcity statement next to that control ("There's only 4 available") refines "in stock".
- what shipping costs, as stated next to that control ("FREE delivery", "+ $5.99 shipping"): a hint.
- the rating shown beside the title ("Rating 4.7 out of 5 stars with 166 reviews").
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from . import keys
from . import reading as sources
from .document import collapse, node_text
from .numbers import normalise_digits, parse_count, parse_price, parse_rating
from .phrases import is_add_to_cart, read_low_stock, says_not_new
from .reading import Reading
from .shipping import read_shipping

_BUY_BOX_CSS = (
    "h1, [class*=pric i], [id*=pric i], [data-testid*=pric i], [itemprop=price], "
    "[class*=rating i], [data-testid*=rating i], button, input[type=submit], input[type=button]"
)
# "4.7 out of 5 stars with 166 reviews", "4,5 von 5 Sternen", "5つ星のうち4.5"
_RATING_TEXT = re.compile(
    r"\d(?:[.,]\d+)?\s*(?:out of|von|sur|de|su|van|z|av|/)\s*5\b|5\s*つ星のうち|5 yıldız üzerinden", re.I
)
_REVIEWS_TEXT = re.compile(
    r"(\d[\d.,]*)\s*(?:reviews?|ratings?|bewertungen|rezensionen|avis|évaluations|reseñas|valoraciones|"
    r"recensioni|avaliações|beoordelingen|opinii|omdömen|değerlendirme|件のレビュー|件の評価|条评论)"
    r"|\((\d[\d.,]*)\)",
    re.I,
)
_MAX_CANDIDATES = 80
_HIDDEN_CLASSES = frozenset(
    {"hidden", "hide", "d-none", "display-none", "ng-hide", "is-hidden", "invisible", "aok-hidden", "visually-hidden"}
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_ANCESTORS = 14
_BUY_BOX_LEVELS = 5
_BUY_BOX_CHARS = 4000  # text of the largest element beside the buy button that is read
_BUY_BOX_ELEMENTS = 60
# A shipping statement stands close to the buy button: fewer levels and shorter texts are read.
_SHIPPING_LEVELS = 3
_SHIPPING_ELEMENTS = 30
_SHIPPING_CHARS = 1000
_NOT_CONTENT = frozenset({"-text", "-comment", "script", "style", "noscript", "template", "svg"})
# A money amount as shops print it: with a currency sign or code before or after the number.
_MONEY = re.compile(
    r"(?:(?:US|CA|AU|NZ|HK|S|R|C|A|MX)?\$|[€£¥￥₹₺₩]|\b[A-Z]{3}\b)\s?(\d[\d.,'’ ]*\d|\d)"
    r"|(\d[\d.,'’ ]*\d|\d)\s?(?:€|円|TL|zł|kr|\b[A-Z]{3}\b)"
)
_RANGE_TEXT = re.compile(r"\d\s*(?:-|–|—|to)\s*(?:[A-Z]{0,3}\$|[€£¥￥₹₺])?\s*\d")
_REGULAR_LABEL = re.compile(
    r"\b(?:was|list(?: price)?|reg(?:ular)?\.?|original(?:ly)?|compare at|comp\.? value|msrp|rrp|uvp|statt|"
    r"before|prix conseillé|antes|prezzo consigliato|de)\s*:?\s*$",
    re.I,
)
_NOT_PRICE_LABEL = re.compile(
    r"\b(?:save|you save|savings?|off|sparen|sie sparen|économisez|ahorra|risparmi|economize|bespaar|from|ab|"
    r"à partir de|desde|a partire da|a partir de|vanaf)\b|%",
    re.I,
)
_SALE_LABEL = re.compile(
    r"\b(?:now|sale|sale price|today(?:'s)?(?: price)?|our price|your price|deal price|special price|jetzt|"
    r"nur noch|maintenant|ahora|ora|agora|nu)\s*:?\s*$",
    re.I,
)
_UNIT_PRICE = re.compile(r"\d\s*(?:/|per\b|each\b)\s*\w", re.I)
_STRUCK_TAGS = frozenset({"s", "del", "strike"})


def is_hidden(node) -> bool:
    """The node or one of its ancestors is hidden (hidden attribute, display:none, hiding class)."""
    current, steps = node, 0
    while current is not None and steps < _ANCESTORS:
        attrs = current.attributes
        if "hidden" in attrs:
            return True
        style = attrs.get("style")
        if style and _HIDDEN_STYLE.search(style):
            return True
        classes = attrs.get("class")
        if classes and _HIDDEN_CLASSES.intersection(classes.split()):
            return True
        current, steps = current.parent, steps + 1
    return False


def _control_text(node) -> str:
    attrs = node.attrs
    if node.tag == "input":
        return collapse(attrs.get("value") or "")
    return collapse(node.text(deep=True, separator=" ")) or collapse(
        attrs.get("aria-label") or attrs.get("value") or ""
    )


def _control_name(node) -> str:
    attrs = node.attrs
    return " ".join(filter(None, (attrs.get("id"), attrs.get("name"), attrs.get("data-testid"))))


def is_cart_control(node) -> bool:
    return is_add_to_cart(_control_text(node)) or is_add_to_cart(None, _control_name(node))


def cart_control(controls):
    """(the first visible add-to-cart / buy-now control, whether it is enabled), or (None, False)."""
    for node in controls:
        if not is_cart_control(node) or is_hidden(node):
            continue
        attrs = node.attributes
        classes = (attrs.get("class") or "").split()
        disabled = "disabled" in attrs or attrs.get("aria-disabled") == "true" or "disabled" in classes
        return node, not disabled
    return None, False


def scarcity_near(control):
    """A low-stock statement (with its quantity) in the buy box around the add-to-cart control: in
    the elements beside the control and beside its ancestors, a few levels up (each read on its
    own, so that no large container's text is ever built)."""
    node, budget = control, _BUY_BOX_ELEMENTS
    for _ in range(_BUY_BOX_LEVELS):
        for sibling in (*_siblings(node, "prev"), *_siblings(node, "next")):
            budget -= 1
            if budget <= 0:
                return None
            text = _short_text(sibling, _BUY_BOX_CHARS)
            if text is None or read_low_stock(text) is None or is_hidden(sibling):
                continue
            for child in [*sibling.css("span, p, div, strong, b, li"), sibling]:
                found = _own_scarcity(child)
                if found is not None and not is_hidden(child):
                    return found
        node = node.parent
        if node is None or node.tag in ("body", "html"):
            return None
    return None


def shipping_near(control, *, site_currency=None, default_dollar=None):
    """(amount, currency) of what the buy box around the add-to-cart control says shipping costs (0
    = free), or None: the elements beside the control and beside its ancestors, a few levels up,
    each read on its own and only when visible (as scarcity_near walks)."""
    node, budget = control, _SHIPPING_ELEMENTS
    for _ in range(_SHIPPING_LEVELS):
        for sibling in (*_siblings(node, "prev"), *_siblings(node, "next")):
            budget -= 1
            if budget <= 0:
                return None
            text = _short_text(sibling, _SHIPPING_CHARS)
            if text is None or is_hidden(sibling):
                continue
            found = read_shipping(text, site_currency=site_currency, default_dollar=default_dollar)
            if found is not None:
                return found
        node = node.parent
        if node is None or node.tag in ("body", "html"):
            return None
    return None


def _own_scarcity(node):
    """A low-stock statement the node makes itself (not one that is all inside one of its child
    elements, which is read on its own: it may be hidden)."""
    text = node.text(deep=True, separator=" ")
    if len(text) > 300:
        return None
    found = read_low_stock(text)
    if found is None:
        return None
    child = node.child
    while child is not None:
        if child.is_element_node and read_low_stock(child.text(deep=True, separator=" ")) == found:
            return None
        child = child.next
    return found


def _short_text(node, limit: int) -> str | None:
    """The node's text, or None when it is longer than `limit` (its text nodes' length: lexbor
    joins them faster than a walk over them in Python adds them up)."""
    if len(node.text(deep=True)) > limit:
        return None
    return node.text(deep=True, separator=" ")


def _siblings(node, direction: str, limit: int = 12):
    found, current = [], getattr(node, direction)
    while current is not None and len(found) < limit:
        if current.tag not in _NOT_CONTENT:
            found.append(current)
        current = getattr(current, direction)
    return found


def page_says_not_new(tree) -> bool:
    """The page's visible text names a not-new condition (open box, refurbished, renewed, used…)."""
    body = tree.body
    return body is not None and says_not_new(node_text(body))


def _attribute_kind(node) -> str | None:
    """What the element's class / id / test id say it is: a keys.* price meaning, or "skip"."""
    attrs = node.attributes
    names = (attrs.get("class") or "").split() + [attrs.get("id") or "", attrs.get("data-testid") or ""]
    kind = None
    for name in names:
        if "pric" not in name.lower():
            if any(word in keys.words(name) for word in ("strike", "strikethrough", "old", "was", "regular")):
                return keys.REGULAR
            continue
        meaning = keys.meaning(name.replace("pricing", "price"))
        if meaning is None:
            return "skip"
        if meaning == keys.REGULAR:
            return keys.REGULAR
        if meaning == keys.SALE or kind is None:
            kind = meaning
    return kind


def _struck(node) -> bool:
    current, steps = node, 0
    while current is not None and steps < 4:
        if current.tag in _STRUCK_TAGS:
            return True
        style = current.attributes.get("style") or ""
        if "line-through" in style:
            return True
        current, steps = current.parent, steps + 1
    return False


def _candidate_text(node) -> str:
    text = node_text(node)
    if text and any(ch.isdigit() for ch in text):
        return text
    attrs = node.attributes
    for name in ("content", "data-price", "value"):
        value = attrs.get(name)
        if value and any(ch.isdigit() for ch in value):
            return value
    return ""


@dataclass
class BuyBox:
    """What the buy box shows: the price to pay (a reading; a range is one too), the currency of
    its prices even when none is labelled as the one to pay, and the rating beside the title."""

    price: Reading | None = None
    currency: str | None = None
    rating: Decimal | None = None
    reviews_count: int | None = None


def read_buy_box(tree, *, title: str | None, site_currency=None, default_dollar=None) -> BuyBox:
    """The buy box as the page shows it, between the product's title (<h1>) and its add-to-cart
    control, in one pass over the page."""
    from .embedded import names_match

    found = BuyBox()
    seen_title = False
    plain = None
    candidates = 0
    for node in tree.css(_BUY_BOX_CSS):
        tag = node.tag
        if tag == "h1":
            if not seen_title and (title is None or names_match(node_text(node), title)):
                seen_title = True
            continue
        if tag in ("button", "input"):
            if seen_title and is_cart_control(node):
                break
            continue
        if not seen_title:
            continue
        candidates += 1
        if candidates > _MAX_CANDIDATES:
            break
        attrs = node.attributes
        names = f"{attrs.get('class') or ''} {attrs.get('data-testid') or ''}".lower()
        if "rating" in names and "pric" not in names:
            if found.rating is None:
                _read_rating(node, found)
            continue
        if found.price is not None:
            continue
        candidate = _read_candidate(node, site_currency=site_currency, default_dollar=default_dollar)
        if candidate is None:
            continue
        kind, reading = candidate
        found.currency = found.currency or reading.currency
        if reading.is_range or kind == keys.SALE:
            found.price = reading
        elif plain is None:
            plain = reading
    return found


def _read_rating(node, found: BuyBox) -> None:
    text = collapse(node.text(deep=True, separator=" "))
    if not text or len(text) > 300 or not _RATING_TEXT.search(text):
        return
    found.rating = parse_rating(text)
    reviews = _REVIEWS_TEXT.search(text)
    if reviews is not None:
        found.reviews_count = parse_count(reviews.group(1) or reviews.group(2))


def _read_candidate(node, *, site_currency, default_dollar):
    kind = _attribute_kind(node)
    if kind in ("skip", keys.REGULAR) or _struck(node) or is_hidden(node):
        return None
    text = normalise_digits(_candidate_text(node))
    if not text or len(text) > 200 or says_not_new(text) or _UNIT_PRICE.search(text):
        return None
    amounts = {m.group(1) or m.group(2) for m in _MONEY.finditer(text)}
    if not amounts and text.strip().replace(".", "", 1).replace(",", "", 1).isdigit():
        amounts = {text.strip()}
    if not amounts:
        return None
    first = _MONEY.search(text)
    label = text[: first.start()] if first else ""
    if _NOT_PRICE_LABEL.search(label) or _REGULAR_LABEL.search(label):
        return None
    parsed = parse_price(text, site_currency=site_currency, default_dollar=default_dollar)
    if parsed is None:
        return None
    reading = Reading(source=sources.HEURISTICS, price_read=True, currency=parsed.currency)
    if len(amounts) > 1:
        if not _RANGE_TEXT.search(text):
            return None  # a container of several prices: its parts are read on their own
        reading.is_range = True
        return keys.PRICE, reading
    if parsed.amount is None:
        return None
    reading.price = parsed.amount
    if kind == keys.SALE or _SALE_LABEL.search(label):
        return keys.SALE, reading
    return keys.PRICE, reading
