"""What a page says shipping costs: a hint shown beside the seller's own figure, never a cost.

Read where the page states it, in the passes that already run: the supplier's `shipping`
selectors, schema.org `shippingDetails.shippingRate` of an offer (JSON-LD, microdata), and for
shops without rules of their own the buy box around the add-to-cart control ("FREE delivery",
"+ $5.99 shipping", "Shipping: €4,90"). Free is 0. A statement with a condition ("FREE delivery on
orders over $35", "for Prime members", "on your first order") says nothing about this item alone
and is skipped, as is a rate in another currency than the price: what a page shows depends on
where the visitor is, so the hint stays a hint.
"""

import re
from decimal import Decimal

from .numbers import decimal_value, money, normalise_digits, parse_price

FREE = Decimal("0.00")

_WORDS = (
    r"(?:shipping|delivery|postage|p&p|versand|lieferung|livraison|env[ií]o|spedizione|consegna|verzending|"
    r"bezorging|frete|entrega|wysyłka|dostawa|frakt|leverans)"
)
_FREE_WORDS = r"(?:free|gratis|kostenlose?|kostenfreie?|gratuite?|gratuita|gratuito|gratuitos?|grátis|darmowa)"
_FREE_RE = re.compile(
    rf"\b{_FREE_WORDS}\s+(?:standard\s+|economy\s+|express\s+|ground\s+|2-day\s+|next-day\s+)?{_WORDS}\b"
    rf"|\b{_WORDS}\s*:?\s*{_FREE_WORDS}\b"
    r"|\bversandkostenfrei\b|\bportofrei\b|\blivraison offerte\b",
    re.I,
)
# A money amount as shops print it: a currency sign or code before or after the number.
# (Codes are upper case even where the phrase is matched case-blind: "May 6" is a date.)
_SIGN = r"(?-i:(?:US|CA|AU|NZ|HK|S|R|C|A|MX)?\$|[€£¥₹₺₩]|\b[A-Z]{3}\b)"
_MONEY = rf"{_SIGN}\s?\d(?:[\d.,'’ ]*\d)?|\d(?:[\d.,'’ ]*\d)?\s?(?-i:€|円|TL|zł|kr|\b[A-Z]{{3}}\b)"
_PAID_RE = re.compile(
    rf"(?P<before>{_MONEY})\s*(?:for\s+)?{_WORDS}\b"
    rf"|\b{_WORDS}(?:\s+(?:fee|cost|costs|charge|kosten|frais|coste|costo))?\s*[:\-–]?\s*\+?\s*(?P<after>{_MONEY})",
    re.I,
)
_CONDITION_RE = re.compile(
    r"\b(?:over|above|orders?\s+(?:of|over|above|from)|on\s+(?:your\s+)?(?:first|eligible|qualifying)|first\s+order|"
    r"prime|members?|membership|spend|minimum|eligible|qualifying|ab\s+\d|dès|à partir de|a partir de|desde|"
    r"sopra|oltre|vanaf|when you (?:buy|spend)|with\s+(?:code|coupon))\b",
    re.I,
)
# Where one statement ends and another begins ("FREE delivery Friday. Or Prime members get …").
_CLAUSE_END = re.compile(r"[.;|!?\n]|\s(?:or|oder|ou|o)\s", re.I)
_CLAUSE_BEFORE = 40
_MAX_TEXT = 600
# Every phrase above holds one of these (lower case): a text without any is skipped unsearched.
_STEMS = (
    "ship", "deliver", "postage", "p&p", "versand", "liefer", "livraison", "envío", "envio", "spedizion",
    "consegna", "verzending", "bezorging", "frete", "entrega", "wysyłka", "dostawa", "frakt", "leverans",
    "portofrei",
)  # fmt: skip


def _clause(text: str, start: int, end: int) -> str:
    """The statement a phrase stands in: back to the previous clause end (at most a few words) and
    on to the next one."""
    head = text[max(0, start - _CLAUSE_BEFORE) : start]
    cut = list(_CLAUSE_END.finditer(head))
    if cut:
        head = head[cut[-1].end() :]
    tail = text[end:]
    stop = _CLAUSE_END.search(tail)
    return head + text[start:end] + (tail[: stop.start()] if stop else tail)


def read_shipping(text: str | None, *, site_currency=None, default_dollar=None) -> tuple[Decimal, str | None] | None:
    """(amount, currency) the text states shipping costs, 0 for free (currency None); None when it
    states nothing unconditional. The first unconditional statement wins."""
    if not text:
        return None
    text = text[: _MAX_TEXT * 2]
    lowered = text.lower()
    if not any(stem in lowered for stem in _STEMS):
        return None
    text = normalise_digits(" ".join(text.split()))[:_MAX_TEXT]
    found = []
    for match in _FREE_RE.finditer(text):
        found.append((match.start(), match.end(), None))
    for match in _PAID_RE.finditer(text):
        found.append((match.start(), match.end(), match.group("before") or match.group("after")))
    for start, end, amount_text in sorted(found, key=lambda item: item[0]):
        if _CONDITION_RE.search(_clause(text, start, end)):
            continue
        if amount_text is None:
            return FREE, None
        parsed = parse_price(amount_text, site_currency=site_currency, default_dollar=default_dollar)
        if parsed is not None and parsed.amount is not None and parsed.currency:
            return parsed.amount, parsed.currency
    return None


def offer_shipping(offer: dict) -> tuple[Decimal, str | None] | None:
    """(amount, currency) of an offer's schema.org shippingDetails (the first rate it states)."""
    details = offer.get("shippingDetails")
    for detail in details if isinstance(details, list) else [details]:
        if not isinstance(detail, dict):
            continue
        rates = detail.get("shippingRate")
        for rate in rates if isinstance(rates, list) else [rates]:
            if isinstance(rate, dict):
                value, currency = rate.get("value"), rate.get("currency")
                value = value[0] if isinstance(value, list) and value else value
            else:
                value, currency = rate, None
            amount = decimal_value(value)
            if amount is None:
                continue
            currency = currency[0] if isinstance(currency, list) and currency else currency
            return money(amount), (currency.strip().upper() or None) if isinstance(currency, str) else None
    return None
