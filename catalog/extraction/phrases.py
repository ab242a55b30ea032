"""What availability text means, in the languages suppliers answer in.

Rules are written per meaning, not per page: each row is a phrase (a regular expression, matched
case-insensitively on whitespace-collapsed text) that says the item is scarce ("Only 3 left in
stock", with the quantity as group 1), out of stock, or in stock. When a text holds several
phrases, the one that starts first wins ("Currently unavailable. We don't know when or if this
item will be back in stock." is out of stock), so "no disponible" beats "disponible".
"""

import re
from dataclasses import dataclass

from .numbers import normalise_digits

IN_STOCK = "in_stock"
LOW_STOCK = "low_stock"
OUT_OF_STOCK = "out_of_stock"
UNKNOWN = "unknown"
AVAILABILITY_VALUES = (IN_STOCK, LOW_STOCK, OUT_OF_STOCK, UNKNOWN)

_N = r"(\d+)"

# A small remaining quantity the page states: availability low_stock, stock = the number.
LOW_STOCK_PHRASES = {
    "en": [
        rf"\bonly {_N} left in stock",
        rf"\bonly {_N} left\b",
        rf"\bonly {_N} (?:items? |units? |pieces? )?(?:remaining|available)\b",
        rf"\bjust {_N} left\b",
    ],
    "de": [rf"\bnur noch {_N}(?: stück| exemplare?| artikel)? (?:auf lager|vorrätig|verfügbar|übrig)"],
    "fr": [rf"\bil ne reste plus que {_N}", rf"\bplus que {_N} (?:exemplaires?(?:\(s\))? )?en stock"],
    "es": [rf"\bs[oó]lo queda(?:n)? {_N}", rf"\bquedan s[oó]lo {_N}", rf"\búltimas? {_N} unidad"],
    "it": [
        rf"\bsolo {_N} (?:pezz[io] |articol[io] |unità )?(?:disponibil[ei]|rimast[io]|in magazzino)",
        rf"\bdisponibilit[àa]:? solo {_N}",
        rf"\b(?:ne )?rimangono solo {_N}",
        rf"\b(?:ne )?rimane solo {_N}",
    ],
    "pt": [
        rf"\b(?:restam )?apenas {_N} (?:unidades? )?(?:em estoque|restantes?|dispon[ií]ve(?:l|is))",
        rf"\bs[oó] restam {_N}",
        rf"\brestam apenas {_N}",
        rf"\bresta(?:m)? s[oó] {_N}",
    ],
    "nl": [rf"\bnog (?:maar |slechts )?{_N} (?:op voorraad|beschikbaar|over)"],
    "pl": [
        rf"\b(?:zostało|zostały|pozostało|pozostały)(?: tylko)? {_N}",
        rf"\btylko {_N} (?:szt\.? )?(?:w magazynie|dostępn)",
    ],
    "sv": [rf"\b(?:endast|bara|enbart) {_N} kvar"],
    "tr": [rf"\bstokta (?:sadece|yalnızca) {_N}"],
    "ja": [rf"残り{_N}点", rf"在庫(?:は)?あと{_N}"],
    "zh": [rf"仅剩{_N}件", rf"只剩{_N}件", rf"库存仅剩{_N}"],
    "ar": [rf"لم يتبق سوى {_N}", rf"(?:متبقي|متبقية|تبقى|يتبقى) {_N} فقط"],
}

OUT_OF_STOCK_PHRASES = {
    "en": [
        r"\bin stock on\b",  # "In Stock on March 3": back later, nothing to ship now
        r"\bpre-?order\b",
        r"\bcurrently unavailable\b",
        r"\btemporarily (?:out of stock|unavailable)\b",
        r"\bout of stock\b",
        r"\bsold out\b",
        r"\bno longer available\b",
        r"\bnot (?:currently )?available\b",
        r"\bnot in stock\b",
    ],
    "de": [
        r"\bvorbestellbar\b",
        r"\bderzeit nicht (?:verfügbar|auf lager|lieferbar)",
        r"\bvorübergehend nicht (?:auf lager|verfügbar|vorrätig)",
        r"\bnicht (?:auf lager|vorrätig|verfügbar|lieferbar)",
        r"\bausverkauft\b",
    ],
    "fr": [
        r"\ben stock le\b",
        r"\bpré-?commande\b",
        r"\bactuellement indisponible\b",
        r"\btemporairement (?:en rupture de stock|indisponible)",
        r"\ben rupture de stock\b",
        r"\brupture de stock\b",
        r"\bindisponible\b",
        r"\bnon disponible\b",
        r"\bépuisé",
    ],
    "es": [
        r"\bactualmente no disponible\b",
        r"\btemporalmente (?:sin stock|agotado|no disponible)",
        r"\bno disponible\b",
        r"\bsin stock\b",
        r"\bagotado\b",
    ],
    "it": [
        r"\battualmente non disponibile\b",
        r"\btemporaneamente non disponibile\b",
        r"\bnon disponibile\b",
        r"\besaurit[oa]\b",
    ],
    "pt": [
        r"\bnão disponível\b",
        r"\bindisponível\b",
        r"\btemporariamente (?:fora de estoque|indisponível|esgotado)",
        r"\bfora de estoque\b",
        r"\bsem estoque\b",
        r"\besgotad[oa]\b",
    ],
    "nl": [
        r"\bmomenteel niet (?:verkrijgbaar|beschikbaar|leverbaar)",
        r"\btijdelijk (?:niet op voorraad|uitverkocht)",
        r"\bniet op voorraad\b",
        r"\buitverkocht\b",
        r"\bniet (?:beschikbaar|leverbaar)\b",
    ],
    "pl": [
        r"\bobecnie niedostępny\b",
        r"\btymczasowo niedostępny\b",
        r"\bniedostępny\b",
        r"\bbrak w magazynie\b",
        r"\bwyprzedan[ey]\b",
    ],
    "sv": [
        r"\bför närvarande (?:otillgänglig|inte tillgänglig|slut)",
        r"\btillfälligt slut",
        r"\bslut i lager\b",
        r"\bej i lager\b",
        r"\bslutsåld\b",
    ],
    "tr": [r"\bşu anda mevcut değil\b", r"\bgeçici olarak stokta yok\b", r"\bstokta yok\b", r"\btükendi\b"],
    "ja": ["現在お取り扱いできません", "一時的に在庫切れ", "在庫切れ", "売り切れ", "品切れ"],
    "zh": ["目前无货", "暂时缺货", "缺货", "售罄", "无货"],
    "ar": ["غير متوفر حاليًا", "غير متوفر حاليا", "غير متوفر", "نفدت الكمية", "نفذت الكمية", "غير متاح"],
}

IN_STOCK_PHRASES = {
    "en": [r"\bin stock\b", r"\busually (?:ships|dispatched) within\b", r"\bavailable to ship\b"],
    "de": [r"\bauf lager\b", r"\bvorrätig\b", r"\bsofort lieferbar\b", r"\bgewöhnlich versandfertig in\b"],
    "fr": [r"\ben stock\b", r"\bhabituellement expédié sous\b"],
    "es": [r"\ben stock\b", r"\bdisponible\b", r"\bnormalmente se envía en\b"],
    "it": [r"\bdisponibilità immediata\b", r"\bdisponibile\b", r"\bgeneralmente spedito entro\b"],
    "pt": [r"\bem estoque\b", r"\bdisponível\b"],
    "nl": [r"\bop voorraad\b", r"\bleverbaar\b"],
    "pl": [r"\bw magazynie\b", r"\bdostępny\b"],
    "sv": [r"\bi lager\b"],
    "tr": [r"\bstokta var\b", r"\bstokta\b"],
    "ja": ["在庫あり"],
    "zh": ["现在有货", "有货"],
    "ar": ["متوفر في المخزون", "متوفر", "متوفّر"],
}


def _compile(table: dict[str, list[str]], group: str) -> str:
    # Longer phrases first so that, at one position, "temporarily out of stock" beats "out of stock".
    phrases = sorted({p for rows in table.values() for p in rows}, key=len, reverse=True)
    return f"(?P<{group}>" + "|".join(f"(?:{p})" for p in phrases) + ")"


# One pass: alternation order sets priority where two meanings start at the same place.
_LOW_PATTERNS = [re.compile(p, re.I) for rows in LOW_STOCK_PHRASES.values() for p in rows]
_MEANING_RE = re.compile(
    "|".join(
        [
            _compile(LOW_STOCK_PHRASES, "low"),
            _compile(OUT_OF_STOCK_PHRASES, "out"),
            _compile(IN_STOCK_PHRASES, "in"),
        ]
    ),
    re.I,
)
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class StockReading:
    availability: str
    stock: int | None = None


def read_availability(text: str | None) -> StockReading | None:
    """What an availability text says; None when it says nothing we recognise."""
    if not text:
        return None
    text = _WS.sub(" ", normalise_digits(text)).strip()
    match = _MEANING_RE.search(text)
    if not match:
        return None
    if match.group("low"):
        phrase = match.group("low")
        for pattern in _LOW_PATTERNS:
            found = pattern.search(phrase)
            if found:
                quantity = int(found.group(1))
                if quantity == 0:
                    return StockReading(OUT_OF_STOCK, 0)
                return StockReading(LOW_STOCK, quantity)
        return None  # pragma: no cover - the combined pattern only matches rows of the table
    if match.group("out"):
        return StockReading(OUT_OF_STOCK)
    return StockReading(IN_STOCK)


# schema.org ItemAvailability and OpenGraph product:availability values.
_SCHEMA_AVAILABILITY = {
    "instock": IN_STOCK,
    "in stock": IN_STOCK,
    "onlineonly": IN_STOCK,
    "limitedavailability": LOW_STOCK,
    "outofstock": OUT_OF_STOCK,
    "out of stock": OUT_OF_STOCK,
    "oos": OUT_OF_STOCK,
    "soldout": OUT_OF_STOCK,
    "discontinued": OUT_OF_STOCK,
    "backorder": OUT_OF_STOCK,
    "preorder": OUT_OF_STOCK,
    "presale": OUT_OF_STOCK,
    "instoreonly": OUT_OF_STOCK,
    "available for order": IN_STOCK,
    "pending": UNKNOWN,
}


def schema_availability(value) -> str | None:
    """Map "https://schema.org/InStock", "InStock", "instock", "out of stock" to our four words."""
    if not isinstance(value, str):
        return None
    key = value.strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].strip().lower()
    mapped = _SCHEMA_AVAILABILITY.get(key) or _SCHEMA_AVAILABILITY.get(key.replace("_", " "))
    if mapped is None:
        mapped = _SCHEMA_AVAILABILITY.get(key.replace(" ", "").replace("_", ""))
    return None if mapped == UNKNOWN else mapped
