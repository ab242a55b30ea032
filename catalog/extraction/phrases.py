"""What availability text means, in the languages suppliers answer in.

Rules are written per meaning, not per page: each row is a phrase (a regular expression, matched
case-insensitively on whitespace-collapsed text) that says the item is scarce ("Only 3 left in
stock", with the quantity as group 1), out of stock, or in stock. When a text holds several
phrases, the one that starts first wins ("Currently unavailable. We don't know when or if this
item will be back in stock." is out of stock), so "no disponible" beats "disponible".

A shipping-time statement ("Usually ships within 2 to 3 days", "Versandfertig in 1 - 2 Wochen",
"通常2～3日以内に発送") is read for its time: in stock when the latest time it states is at most
settings.AVAILABILITY_SHIPS_WITHIN_DAYS, else unknown (an item that ships in weeks is not one to
sell now). The tables cover the languages of every Amazon site catalog.identify knows, with their
regional wording (Portugal and Brazil, Spain and Mexico, France and Canada, …).

The same module holds the words that say an offer is not for a new item (used, refurbished,
renewed, open box) and the words of add-to-cart / buy-now controls (a secondary availability
signal, used where no phrase says anything).
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
    "fr": [
        rf"\bil ne reste plus que {_N}",
        rf"\bil n'en reste (?:plus )?que {_N}",
        rf"\bplus que {_N} (?:exemplaires?(?:\(s\))? )?en stock",
        rf"\bseulement {_N} (?:exemplaires?(?:\(s\))? )?en stock",
    ],
    "es": [
        rf"\bs[oó]lo queda(?:n)? {_N}",
        rf"\bquedan s[oó]lo {_N}",
        rf"\búltimas? {_N} unidad",
        rf"\bs[oó]lo {_N} (?:unidades? )?(?:disponibles?|en existencia)",
    ],
    "it": [
        rf"\bsolo {_N} (?:pezz[io] |articol[io] |unità )?(?:disponibil[ei]|rimast[io]|in magazzino)",
        rf"\bdisponibilit[àa]:? solo {_N}",
        rf"\b(?:ne )?rimangono solo {_N}",
        rf"\b(?:ne )?rimane solo {_N}",
    ],
    "pt": [
        rf"\b(?:restam )?apenas {_N} (?:unidades? )?(?:em estoque|em stock|restantes?|dispon[ií]ve(?:l|is))",
        rf"\bs[oó] (?:h[aá] )?{_N} (?:unidades? )?em (?:estoque|stock)",
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
    "tr": [rf"\bstokta (?:sadece|yalnızca) {_N}", rf"\bson {_N} (?:adet|ürün)"],
    "ja": [rf"残り{_N}点", rf"在庫(?:は)?あと{_N}"],
    "zh": [rf"仅剩{_N}件", rf"只剩{_N}件", rf"库存仅剩{_N}"],
    "ar": [rf"لم يتبق سوى {_N}", rf"(?:متبقي|متبقية|تبقى|يتبقى) {_N} فقط"],
    "hi": [rf"केवल {_N} (?:ही )?(?:बचे|शेष)", rf"स्टॉक में केवल {_N}"],
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
        r"\bsee all buying options\b",
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
        r"\bpas en stock\b",
    ],
    "es": [
        r"\bactualmente no disponible\b",
        r"\btemporalmente (?:sin stock|agotado|no disponible)",
        r"\bno disponible\b",
        r"\bsin stock\b",
        r"\bsin existencias\b",
        r"\bno hay existencias\b",
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
        r"\bfora de (?:estoque|stock)\b",
        r"\bsem (?:estoque|stock)\b",
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
        r"\b(?:tymczasowo|chwilowo) niedostępny\b",
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
    "ja": ["現在お取り扱いできません", "一時的に在庫切れ", "在庫切れ", "売り切れ", "品切れ", "入荷待ち"],
    "zh": ["目前无货", "暂时缺货", "缺货", "售罄", "无货"],
    "ar": ["غير متوفر حاليًا", "غير متوفر حاليا", "غير متوفر", "نفدت الكمية", "نفذت الكمية", "غير متاح"],
    "hi": ["वर्तमान में अनुपलब्ध", "स्टॉक में नहीं", "अनुपलब्ध"],
}

IN_STOCK_PHRASES = {
    "en": [r"\bin stock\b", r"\bavailable to ship\b", r"\bavailable for immediate (?:shipping|dispatch)\b"],
    "de": [r"\bauf lager\b", r"\bvorrätig\b", r"\bsofort lieferbar\b", r"\bsofort versandfertig\b"],
    "fr": [r"\ben stock\b", r"\bdisponible immédiatement\b"],
    "es": [r"\ben stock\b", r"\ben existencia\b", r"\bdisponible\b"],
    "it": [r"\bdisponibilità immediata\b", r"\bdisponibile\b"],
    "pt": [r"\bem (?:estoque|stock)\b", r"\bdisponível\b"],
    "nl": [r"\bop voorraad\b", r"\bdirect leverbaar\b", r"\bleverbaar\b"],
    "pl": [r"\bw magazynie\b", r"\bdostępny\b"],
    "sv": [r"\bi lager\b"],
    "tr": [r"\bstokta var\b", r"\bstokta\b"],
    "ja": ["在庫あり"],
    "zh": ["现在有货", "有货"],
    "ar": ["متوفر في المخزون", "متوفر", "متوفّر"],
    "hi": ["स्टॉक में है", "स्टॉक में"],
}

# Statements of when the item ships; their time decides (see SHIPPING_* below). Each row is the
# words around the time: the time is looked for just after them, or just before for languages that
# put it first ("2～3日以内に発送", "2 gün içinde kargoya verilir").
SHIPPING_PHRASES = {
    "en": [
        r"\b(?:usually |normally |typically )?(?:ships|dispatches|is dispatched|dispatched|is shipped|shipped) "
        r"(?:with)?in\b",
        r"\bavailable to ship in\b",
        r"\bready to ship in\b",
        r"\bdelivery time\b",
        r"\bprocessing time\b",
    ],
    "de": [
        r"\b(?:gewöhnlich |in der regel |normalerweise )?versandfertig in(?:nerhalb)?\b",
        r"\bversand (?:innerhalb|in)\b",
        r"\blieferbar in(?:nerhalb)?\b",
        r"\blieferzeit\b",
    ],
    "fr": [
        r"\b(?:habituellement |généralement )?expédiée? (?:sous|en|dans)\b",
        r"\bexpédition (?:sous|en|dans)\b",
        r"\bdélai de livraison\b",
    ],
    "es": [
        r"\b(?:normalmente |generalmente )?se envía (?:en|dentro de)\b",
        r"\bsuele enviarse en\b",
        r"\benvío en\b",
        r"\bplazo de entrega\b",
    ],
    "it": [
        r"\b(?:generalmente |di solito )?spedit[oa] (?:entro|in)\b",
        r"\bspedizione (?:entro|in)\b",
        r"\btempi di consegna\b",
    ],
    "pt": [
        r"\b(?:normalmente |geralmente )?(?:é )?(?:enviado|despachado) (?:em|dentro de|no prazo de)\b",
        r"\benvio em\b",
        r"\bprazo de (?:entrega|envio)\b",
    ],
    "nl": [r"\b(?:wordt )?(?:meestal |gewoonlijk )?verzonden (?:binnen|in)\b", r"\blevertijd\b"],
    "pl": [r"\b(?:zazwyczaj |zwykle )?wysyłany w ciągu\b", r"\bwysyłka w ciągu\b", r"\bczas wysyłki\b"],
    "sv": [r"\b(?:skickas|levereras) (?:vanligtvis |normalt )?inom\b", r"\bleveranstid\b"],
    "tr": [r"\biçinde (?:kargoya verilir|kargoda|gönderilir)", r"\bkargoya verilir\b"],
    "ja": ["以内に発送", "以内に出荷", "で発送"],
    "zh": ["内发货", "内发出"],
    "ar": [r"(?:يُ?شحن|يتم الشحن) (?:عادةً? )?خلال"],
    "hi": ["के भीतर भेजा जाता है", "में भेजा जाता है"],
}
# Units of a shipping time and their length in days.
_HOURS = (
    r"hours?|hrs?|stunden?|std\.?|heures?|horas?|ore|ora|uur|godzin[ay]?|timm(?:e|ar)|saat|時間|小时|小時|ساعات|ساعة|घंटे"
)
_DAYS = (
    r"(?:business |working |werk)?days?|werktagen?|arbeitstagen?|tagen?|tage?|jours?(?: ouvrés| ouvrables)?|"
    r"días?(?: hábiles| laborables)?|dias?(?: úteis)?|giorni(?: lavorativi)?|giorno|werkdag(?:en)?|dag(?:en|ar)?|"
    r"dni|dnia|dzień|gün|営業日|日|天|أيام|ايام|يوم|दिन"
)
_WEEKS = (
    r"weeks?|wochen?|semaines?|semanas?|settiman[ae]|weken|week|tygodni(?:e)?|tydzień|veck(?:a|or)|hafta|週間|週|"
    r"周|星期|أسابيع|أسبوع|सप्ताह"
)
_MONTHS = (
    r"months?|monaten?|monate?|mois|mes(?:es)?|mesi|mese|mês|meses|maand(?:en)?|miesi(?:ąc|ące|ęcy)|månad(?:er)?|"
    r"ay|か月|ヶ月|カ月|个月|個月|أشهر|شهور|شهر|महीने"
)
_UNIT_DAYS = ((re.compile(_HOURS, re.I), 1 / 24), (re.compile(_WEEKS, re.I), 7), (re.compile(_MONTHS, re.I), 30))
_RANGE_WORD = r"(?:-|–|—|~|〜|～|to|a|à|bis|até|tot|till|do|ile|al|y|e|and|or|ou|o|إلى|至|到|से)"
_SHIPPING_TIME = re.compile(
    rf"(?P<lo>\d+)(?:\s*{_RANGE_WORD}\s*(?P<hi>\d+))?\s*(?P<unit>{_HOURS}|{_WEEKS}|{_MONTHS}|{_DAYS})(?![a-z])",
    re.I,
)
_SHIPPING_WINDOW = 40  # characters around the statement's words where its time may be


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
            _compile(SHIPPING_PHRASES, "ship"),
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


_LOW_RE = re.compile(_compile(LOW_STOCK_PHRASES, "low"), re.I)
# Plain substrings one of which every low-stock phrase contains (see _search_near).
_LOW_STEMS = (
    "only", "just", "left", "nur ", "reste", "plus que", "seulement", "queda", "sólo", "solo", "últim", "rimang",
    "rimane", "apenas", "restam", "resta", "só ", "nog ", "został", "pozostał", "tylko", "endast", "bara", "enbart",
    "stokta", "son ", "残り", "在庫", "仅剩", "只剩", "库存", "يتبق", "متبقي", "تبقى", "يتبقى", "केवल",
)  # fmt: skip


def _search_near(pattern, text: str, stems, before: int = 40, after: int = 60):
    """pattern.search(text), for a long text tried only around the places its words could be (an
    alternation of many phrases is slow to run along a whole page)."""
    lowered = text.lower()
    if len(text) <= 300:
        return pattern.search(text) if any(stem in lowered for stem in stems) else None
    for stem in stems:
        start = lowered.find(stem)
        while start != -1:
            found = pattern.search(text, max(0, start - before), start + after)
            if found is not None:
                return found
            start = lowered.find(stem, start + 1)
    return None


_DIGIT = re.compile(r"\d")


def read_low_stock(text: str | None) -> StockReading | None:
    """A small remaining quantity the text states anywhere in it ("There's only 4 available")."""
    if not text or _DIGIT.search(text) is None:
        return None
    text = _WS.sub(" ", normalise_digits(text))
    match = _search_near(_LOW_RE, text, _LOW_STEMS)
    return read_availability(match.group(0)) if match else None


def ships_within_days() -> float:
    from django.conf import settings  # read per call: tests and operators change it

    return float(getattr(settings, "AVAILABILITY_SHIPS_WITHIN_DAYS", 7))


def shipping_days(text: str, start: int, end: int) -> float | None:
    """The latest shipping time (in days) stated next to a shipping statement at text[start:end]."""
    best = None
    for found in _SHIPPING_TIME.finditer(text, max(0, start - _SHIPPING_WINDOW), end + _SHIPPING_WINDOW):
        distance = found.start() - end if found.start() >= end else start - found.end()
        if best is None or distance < best[0]:
            best = (distance, found)
    if best is None:
        return None
    found = best[1]
    count = int(found.group("hi") or found.group("lo"))
    unit = found.group("unit")
    factor = next((days for pattern, days in _UNIT_DAYS if pattern.fullmatch(unit)), 1)
    return count * factor


def read_availability(text: str | None) -> StockReading | None:
    """What an availability text says; None when it says nothing we recognise."""
    if not text:
        return None
    text = _WS.sub(" ", normalise_digits(text)).strip()
    position = 0
    while True:
        match = _MEANING_RE.search(text, position)
        if not match:
            return None
        if not match.group("ship"):
            break
        days = shipping_days(text, match.start(), match.end())
        if days is not None:
            return StockReading(IN_STOCK if days <= ships_within_days() else UNKNOWN)
        position = match.end()  # a shipping statement without a time says nothing
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


# Words that say an offer is not for a new item: such a price is not the buy price.
USED_PHRASES = {
    "en": [
        r"\bused\b",
        r"\bpre-?owned\b",
        r"\brefurbished\b",
        r"\brenewed\b",
        r"\bopen[- ]box\b",
        r"\bsecond[- ]hand\b",
        r"\breconditioned\b",
    ],
    "de": [r"\bgebraucht", r"\bgeneralüberholt", r"\bb-ware\b"],
    "fr": [r"\bd'occasion\b", r"\boccasion\b", r"\breconditionnée?s?\b"],
    "es": [r"\busad[oa]s?\b", r"\breacondicionad[oa]s?\b", r"\bde segunda mano\b", r"\bseminuev[oa]s?\b"],
    "it": [r"\busat[oi]\b", r"\bricondizionat[oi]\b"],
    "pt": [r"\busad[oa]s?\b", r"\brecondicionad[oa]s?\b", r"\bseminov[oa]s?\b"],
    "nl": [r"\bgebruikt\b", r"\btweedehands\b"],
    "pl": [r"\bużywan[ya]\b", r"\bodnowion[ya]\b"],
    "sv": [r"\bbegagnad\b", r"\brenoverad\b"],
    "tr": [r"\bikinci el\b", r"\byenilenmiş\b"],
    "ja": ["中古", "整備済み", "再生品"],
    "zh": ["二手", "翻新"],
    "ar": ["مستعمل", "مجدد"],
    "hi": ["पुराना", "नवीनीकृत"],
}
_USED_RE = re.compile(
    "|".join(sorted({p for rows in USED_PHRASES.values() for p in rows}, key=len, reverse=True)), re.I
)
# A title that names the item itself as not new ("… (Renewed)", "[Refurbished]").
_NOT_NEW_TITLE_RE = re.compile(
    r"[(\[](?:[^()\[\]]*\s)?(?:renewed|refurbished|reconditioned|pre-?owned|used|generalüberholt|reconditionné|"
    r"reacondicionado|ricondizionato|recondicionado|odnowiony|yenilenmiş|整備済み|再生品)(?:\s[^()\[\]]*)?[)\]]"
    r"|\brenewed premium\b",
    re.I,
)
# schema.org OfferItemCondition values that are not new.
_NOT_NEW_CONDITIONS = frozenset(
    {
        "usedcondition",
        "refurbishedcondition",
        "damagedcondition",
        "used",
        "refurbished",
        "renewed",
        "openbox",
        "open_box",
        "open box",
        "damaged",
        "preowned",
        "pre-owned",
    }
)

# Controls that put the item in the cart or buy it now (a secondary signal that it can be bought).
ADD_TO_CART_PHRASES = {
    "en": [r"\badd to (?:cart|bag|basket|trolley)\b", r"\bbuy (?:it )?now\b"],
    "de": [r"\bin den (?:einkaufswagen|warenkorb|korb)\b", r"\bjetzt kaufen\b"],
    "fr": [r"\bajouter au panier\b", r"\bacheter (?:maintenant|cet article)\b"],
    "es": [r"\bañadir (?:a la cesta|al carrito)\b", r"\bagregar al carrito\b", r"\bcomprar ahora\b"],
    "it": [r"\baggiungi al carrello\b", r"\bacquista (?:ora|adesso)\b"],
    "pt": [r"\badicionar (?:ao carrinho|à cesta|ao cesto)\b", r"\bcomprar agora\b"],
    "nl": [r"\bin (?:de )?winkelwagen\b", r"\btoevoegen aan (?:winkelwagen|winkelmand)", r"\bnu kopen\b"],
    "pl": [r"\bdodaj do koszyka\b", r"\bkup (?:teraz|przez internet)\b"],
    "sv": [r"\blägg i (?:varukorgen|kundvagnen)\b", r"\bköp nu\b"],
    "tr": [r"\bsepete ekle\b", r"\b(?:hemen|şimdi) al\b"],
    "ja": ["カートに入れる", "今すぐ買う"],
    "zh": ["加入购物车", "立即购买"],
    "ar": ["أضف إلى (?:السلة|عربة التسوق)", "اشتر(?:ِ)? الآن"],
    "hi": ["कार्ट में जोड़ें", "अभी खरीदें"],
}
_ADD_TO_CART_RE = re.compile(
    "|".join(sorted({p for rows in ADD_TO_CART_PHRASES.values() for p in rows}, key=len, reverse=True)), re.I
)
# The same, as the ids and names developers give those controls (addToCart, add-to-cart, buy_now).
_ADD_TO_CART_NAME_RE = re.compile(r"add[-_]?to[-_]?(?:cart|bag|basket)|buy[-_]?(?:it[-_]?)?now", re.I)


# Plain substrings one of which every phrase above contains: a long text holding none of them is
# not searched with the (slower) table.
_USED_STEMS = (
    "used", "owned", "refurb", "renew", "open", "second", "recondition", "gebraucht", "überholt", "b-ware",
    "occasion", "usad", "usat", "seminov", "seminuev", "ricondizion", "gebruikt", "tweedehands", "używan",
    "odnowion", "begagnad", "renoverad", "ikinci el", "yenilenmiş", "中古", "整備済み", "再生品", "二手", "翻新",
    "مستعمل", "مجدد", "पुराना", "नवीनीकृत",
)  # fmt: skip


def says_not_new(text: str | None) -> bool:
    """The text offers a used, refurbished, renewed or open-box item."""
    return bool(text) and _search_near(_USED_RE, text, _USED_STEMS, 30, 40) is not None


def title_says_not_new(title: str | None) -> bool:
    """A product title that names the item itself as not new ("Apple iPhone 12 (Renewed)")."""
    return bool(title) and _NOT_NEW_TITLE_RE.search(title) is not None


def condition_not_new(value) -> bool:
    """A schema.org itemCondition (or a shop's condition field) that is not new."""
    if not isinstance(value, str):
        return False
    key = value.strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].strip().lower()
    return key in _NOT_NEW_CONDITIONS or key.replace(" ", "") in _NOT_NEW_CONDITIONS


# Plain substrings one of which every control phrase above contains.
_ADD_TO_CART_STEMS = (
    "cart", "bag", "basket", "trolley", "buy", "einkaufswagen", "warenkorb", "korb", "kaufen", "panier", "achet",
    "cesta", "carrito", "comprar", "carrello", "acquista", "carrinho", "cesto", "winkelwagen", "winkelmand", "kopen",
    "koszyk", "kup ", "varukorg", "kundvagn", "köp", "sepet", " al", "カート", "買う", "购物车", "购买", "السلة",
    "عربة", "اشتر", "कार्ट", "खरीद",
)  # fmt: skip


_ADD_TO_CART_STEM_RE = re.compile("|".join(map(re.escape, _ADD_TO_CART_STEMS)))


def is_add_to_cart(text: str | None = None, name: str | None = None) -> bool:
    """A control's visible text or its id/name says it adds the item to the cart or buys it now."""
    if text and len(text) < 200 and _ADD_TO_CART_STEM_RE.search(text.lower()) and _ADD_TO_CART_RE.search(text):
        return True
    return bool(name and _ADD_TO_CART_NAME_RE.search(name))
