"""Locale-aware reading of prices, counts and ratings from the text a page shows.

Sites write numbers their visitors' way: "EUR 10,99", "1.234,56 €", "CDN$ 16.65", "R$ 1.299,00",
"￥1,280", "1,280円", "1.234,56 TL", "1 234,56 €", "CHF 1'234.50". price-parser finds the amount in
a noisy string; which separator is the decimal one, and which currency a symbol means on a given site, is decided here
(price-parser reads "CDN$" as the Namibian dollar and cannot tell a range from a price).
"""

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from price_parser import Price

CENT = Decimal("0.01")

# Digits some sites print instead of ASCII ones (Arabic-Indic, Persian, full-width).
_DIGITS = str.maketrans(
    "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹０１２３４５６７８９٫٬，．",
    "012345678901234567890123456789.,,.",
)
# Spaces used as thousands separators (no-break, narrow no-break, thin).
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u200f": "", "\u200e": ""})

# fmt: off
ISO_CODES = frozenset({
    "USD", "EUR", "GBP", "JPY", "CNY", "CAD", "AUD", "NZD", "MXN", "BRL", "INR", "AED", "SAR", "EGP", "SEK", "NOK",
    "DKK", "PLN", "CZK", "HUF", "RON", "TRY", "CHF", "SGD", "HKD", "TWD", "KRW", "ZAR", "ILS", "RUB", "UAH", "THB",
    "MYR", "IDR", "PHP", "VND", "CLP", "COP", "PEN", "ARS", "NGN", "KWD", "BHD", "OMR", "QAR", "JOD",
})
# fmt: on
# Currencies printed with three decimals: "1.234" there is one unit and 234 fils.
THREE_DECIMAL_CURRENCIES = frozenset({"KWD", "BHD", "OMR", "JOD", "TND", "IQD", "LYD"})
DOLLAR_CURRENCIES = frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD", "CLP", "COP", "ARS"})

# Unambiguous symbols and prefixes, longest first so "CDN$" wins over "$".
_SYMBOLS = [
    ("CDN$", "CAD"),
    ("CAD$", "CAD"),
    ("CA$", "CAD"),
    ("C$", "CAD"),
    ("AU$", "AUD"),
    ("A$", "AUD"),
    ("NZ$", "NZD"),
    ("HK$", "HKD"),
    ("SG$", "SGD"),
    ("S$", "SGD"),
    ("MX$", "MXN"),
    ("NT$", "TWD"),
    ("US$", "USD"),
    ("R$", "BRL"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("￥", "JPY"),
    ("円", "JPY"),
    ("₹", "INR"),
    ("₺", "TRY"),
    ("₩", "KRW"),
    ("₽", "RUB"),
    ("₪", "ILS"),
    ("₱", "PHP"),
    ("฿", "THB"),
    ("₫", "VND"),
    ("₴", "UAH"),
    ("₦", "NGN"),
    ("zł", "PLN"),
    ("Kč", "CZK"),
    ("د.إ", "AED"),
    ("ر.س", "SAR"),
    ("ج.م", "EGP"),
]
_SYMBOL_RE = re.compile("|".join(re.escape(symbol) for symbol, _ in _SYMBOLS))
_SYMBOL_CODES = dict(_SYMBOLS)
_CODE_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(sorted(ISO_CODES)) + r")(?![A-Za-z])")
_US_DOLLAR_RE = re.compile(r"\bUS\s?\$")
# Words and letters that stand for a currency only in some places.
_WORD_CURRENCIES = [
    (re.compile(r"(?<![A-Za-z])(?:Rs\.?|INR)(?![A-Za-z])"), "INR"),
    (re.compile(r"(?<![A-Za-z])TL(?![A-Za-z])"), "TRY"),
    (re.compile(r"(?<![A-Za-z])Ft(?![A-Za-z])"), "HUF"),
    (re.compile(r"(?<![A-Za-z])lei(?![A-Za-z])"), "RON"),
]
_KRONA_RE = re.compile(r"(?<![A-Za-z])(?:kr|Kr)\.?(?![A-Za-z])")
_NUMBER_RE = re.compile(r"\d[\d.,' ’]*\d|\d")
_PLAIN_NUMBER_RE = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$")
_RANGE_RE = re.compile(
    r"\d\s*(?:[-–—~〜～]|\bto\b|\bbis\b|\bà\b|\baté\b|\bal\b)\s*"
    r"(?:US\s?\$|[A-Z]{3}\s?|[A-Z]{0,3}\$|[€£￥¥₹]|R\$)?\s*\d"
)


@dataclass(frozen=True)
class ParsedPrice:
    """A price string read: the amount (None when there is no single price), its currency, and
    whether the string was a range ("€ 97,39 - 128,72"), which is not a price."""

    amount: Decimal | None
    currency: str | None
    is_range: bool = False


def normalise_digits(text: str) -> str:
    if text.isascii():  # nothing to translate (both tables map non-ASCII characters only)
        return text
    return text.translate(_DIGITS).translate(_SPACES)


def currency_in(text: str, *, site_currency: str | None = None, default_dollar: str | None = None) -> str | None:
    """The ISO currency a price string names, using the site's currency for ambiguous symbols.

    "$" is the site's currency when that is a dollar (amazon.ca → CAD), else `default_dollar`;
    "¥" is CNY on a CNY site, else JPY; "kr" is the site's krona/krone.
    """
    if not text:
        return None
    if _US_DOLLAR_RE.search(text):
        return "USD"
    match = _SYMBOL_RE.search(text)
    if match:
        return _SYMBOL_CODES[match.group(0)]
    match = _CODE_RE.search(text)
    if match:
        return match.group(1)
    for pattern, code in _WORD_CURRENCIES:
        if pattern.search(text):
            return code
    if "¥" in text:
        return "CNY" if site_currency == "CNY" else "JPY"
    if _KRONA_RE.search(text):
        return site_currency if site_currency in {"SEK", "NOK", "DKK", "ISK"} else None
    if "$" in text:
        if site_currency in DOLLAR_CURRENCIES:
            return site_currency
        return default_dollar
    return None


def decimal_from_number_text(token: str, *, currency: str | None = None) -> Decimal | None:
    """Read one number as written ("1.234,56", "1,234.56", "10,99", "1 234", "1'234.50").

    The last of two different separators is the decimal one; a lone separator followed by exactly
    three digits groups thousands (no shop prices in thousandths, except three-decimal currencies);
    followed by one or two digits it is the decimal point.
    """
    token = token.strip().replace("'", "").replace("’", "").replace(" ", "")
    if not token:
        return None
    has_dot, has_comma = "." in token, "," in token
    if has_dot and has_comma:
        decimal_sep = "." if token.rfind(".") > token.rfind(",") else ","
        group_sep = "," if decimal_sep == "." else "."
        whole, _, fraction = token.rpartition(decimal_sep)
        number = whole.replace(group_sep, "") + "." + fraction
    elif has_dot or has_comma:
        sep = "." if has_dot else ","
        parts = token.split(sep)
        if len(parts) > 2 or len(parts[1]) == 3 and currency not in THREE_DECIMAL_CURRENCIES:
            number = "".join(parts)
        else:
            number = parts[0] + "." + parts[1]
    else:
        number = token
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_price(
    text: str | None, *, site_currency: str | None = None, default_dollar: str | None = None
) -> ParsedPrice | None:
    """Read a price string; None when it holds no number at all.

    A range gives amount None with its currency; a zero or negative amount is no price.
    """
    if text is None:
        return None
    text = normalise_digits(str(text)).strip()
    if not text or not any(ch.isdigit() for ch in text):
        return None
    currency = currency_in(text, site_currency=site_currency, default_dollar=default_dollar)
    if _RANGE_RE.search(text):
        return ParsedPrice(None, currency, is_range=True)
    found = Price.fromstring(text)
    token = found.amount_text
    if not token:
        match = _NUMBER_RE.search(text)
        token = match.group(0) if match else None
    if not token:
        return None
    amount = decimal_from_number_text(token, currency=currency)
    if amount is None or amount <= 0:
        return ParsedPrice(None, currency)
    return ParsedPrice(money(amount), currency)


def money(value: Decimal) -> Decimal:
    """A price with the two decimal places the catalog stores; a number too large for cents comes
    back as it is (the reading's bounds refuse it: a page never makes reading it fail)."""
    try:
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return value


def decimal_value(value) -> Decimal | None:
    """A number from structured data (JSON number, "249.99", "48,00", "1.234,50"), else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, str):
        # A minus sign stays (never flipped: the reading's bounds refuse a negative price).
        text = normalise_digits(value).strip().replace("\u2212", "-")
        if _PLAIN_NUMBER_RE.match(text):  # schema.org's own format: "." is the decimal point
            return Decimal(text)
        match = _NUMBER_RE.search(text)
        if not match or _RANGE_RE.search(text):
            return None
        amount = decimal_from_number_text(match.group(0))
        if amount is not None and text[: match.start()].rstrip().endswith("-"):
            amount = -amount
        return amount
    return None


_COUNT_RE = re.compile(r"\d{1,3}(?:[.,' ’]\d{3})+(?!\d)|\d+")
_APPROX_COUNT_RE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(K|k|M|mil|Mil|Tsd\.?|万)(?![A-Za-z])")
_APPROX_FACTOR = {"k": 1000, "m": 1_000_000, "mil": 1000, "tsd": 1000, "tsd.": 1000, "万": 10_000}


def parse_count(text: str | None) -> int | None:
    """An integer count as written ("129,762 ratings", "1.033 avaliações", "(33,006)", "1 234",
    "1.2K"); None when the text holds no number ("No customer reviews")."""
    if text is None:
        return None
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if text >= 0 else None
    if isinstance(text, float):
        return int(text) if text >= 0 and text == int(text) else None
    text = normalise_digits(str(text))
    approx = _APPROX_COUNT_RE.search(text)
    if approx:
        base = Decimal(approx.group(1).replace(",", "."))
        return int(base * _APPROX_FACTOR[approx.group(2).lower()])
    match = _COUNT_RE.search(text)
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group(0))
    return int(digits) if digits else None


# Languages that name the scale before the rating: "5つ星のうち4.5", "5 yıldız üzerinden 4,5".
_SCALE_FIRST_RE = re.compile(r"つ星のうち|yıldız üzerinden|满分|颗星中的")
_RATING_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")


def parse_rating(text, *, best=None) -> Decimal | None:
    """A 0–5 star rating from "4.6 out of 5 stars", "4,5 von 5 Sternen", "5つ星のうち4.5", a JSON
    number, or a value on another scale (`best`, e.g. 10 or 100). 0 means no rating: None."""
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, int | float | Decimal):
        value = decimal_value(text) if not isinstance(text, Decimal) else text
    else:
        normalised = normalise_digits(str(text))
        numbers = _RATING_NUMBER_RE.findall(normalised)
        if not numbers:
            return None
        if len(numbers) >= 2:
            with_point = [n for n in numbers[:2] if "." in n or "," in n]
            if len(with_point) == 1:
                chosen = with_point[0]
            elif _SCALE_FIRST_RE.search(normalised):
                chosen = numbers[1]
            else:
                chosen = numbers[0]
        else:
            chosen = numbers[0]
        value = Decimal(chosen.replace(",", "."))
    if value is None:
        return None
    scale = decimal_value(best) if best is not None else None
    if scale and scale > 0 and scale != 5:
        value = value * 5 / scale
    if value <= 0 or value > 5:
        return None
    if value.as_tuple().exponent < -2:
        value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return value
