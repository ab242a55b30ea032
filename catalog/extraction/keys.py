"""What a key of a shop's own data means: the vocabulary of embedded page state.

Shops name the same things many ways ("price", "salePrice", "currentMinPrice", "compare_at_price",
"items[0][customerVisiblePrice][amount]", "availQuantity", "isInStock"). A key is split into its
words (camelCase, snake_case, brackets) and read by meaning: a price word with a "regular / list /
was / original / strike-through" word is a regular price, with "sale / now / current / final" the
price to pay, with "min / max" one end of a range; "save", "shipping", "per unit" and the like are
not the item's price at all.
"""

import re
from functools import lru_cache

NAME = "name"
PRICE = "price"  # a price with no qualifier
SALE = "sale"  # the price to pay now, labelled as such beside a regular one
REGULAR = "regular"  # list / regular / was / strike-through: not the buy price
LOW = "low"  # one end of a price range
HIGH = "high"
CURRENCY = "currency"
AVAILABLE = "available"  # true / "InStock" means it can be bought
SOLD_OUT = "sold_out"  # true means it cannot
AVAILABILITY_TEXT = "availability_text"  # "Only 2 left", "Sold out"
STOCK = "stock"  # a quantity on hand
SKU = "sku"
ID = "id"
GTIN = "gtin"
MPN = "mpn"
BRAND = "brand"
CONDITION = "condition"
VARIANTS = "variants"

_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")

_NAME_KEYS = frozenset(
    {
        "name",
        "title",
        "productname",
        "producttitle",
        "displayname",
        "itemname",
        "itemtitle",
        "subject",
        "productdisplayname",
    }
)
_SKU_KEYS = frozenset(
    {
        "sku", "skuid", "skuidstr", "productid", "itemid", "asin", "variantid", "productcode", "itemnumber", "itemno",
        "articlenumber", "articleno", "itemcode", "partnumber", "productsku", "variantsku", "offerid", "childasin",
    }
)  # fmt: skip
_ID_KEYS = frozenset({"id", "code", "productsku"})
_GTIN_KEYS = frozenset(
    {
        "gtin",
        "gtin8",
        "gtin12",
        "gtin13",
        "gtin14",
        "ean",
        "ean13",
        "ean8",
        "upc",
        "upccode",
        "isbn",
        "isbn13",
        "barcode",
    }
)
_MPN_KEYS = frozenset({"mpn", "manufacturerpartnumber", "mfrpartnumber", "mfgpartnumber", "manufacturerpartno"})
_BRAND_KEYS = frozenset({"brand", "brandname", "manufacturer", "vendor", "manufacturername"})
_CONDITION_KEYS = frozenset({"condition", "itemcondition", "conditiontype", "offercondition"})
_VARIANT_KEYS = frozenset(
    {"variants", "variations", "skus", "skulist", "skupricelist", "productvariants", "childskus", "children", "offers"}
)
_AVAILABLE_KEYS = frozenset(
    {
        "availability", "available", "isavailable", "availableforpurchase", "instock", "isinstock", "purchasable",
        "ispurchasable", "orderable", "isorderable", "buyable", "isbuyable", "availabilitystatus", "stockstatus",
        "inventorystatus", "availabilitytype", "stockavailability", "inventoryavailability", "availablefororder",
    }
)  # fmt: skip
_SOLD_OUT_KEYS = frozenset({"soldout", "issoldout", "outofstock", "isoutofstock", "notavailable", "unavailable"})
_AVAILABILITY_TEXT_KEYS = frozenset(
    {"availabilitytext", "stocktext", "availabilitymessage", "stockmessage", "availabilitylabel", "stocklabel"}
)
_STOCK_KEYS = frozenset(
    {
        "inventoryquantity", "availablequantity", "availquantity", "stockquantity", "quantityavailable", "stockcount",
        "stocklevel", "inventorylevel", "stock", "inventory", "qtyavailable", "availablestock", "stockqty",
        "quantityinstock", "instockquantity", "availableqty",
    }
)  # fmt: skip
_PRICE_WORDS = frozenset({"price", "prices", "pricing", "amount"})
_NOT_PRICE_WORDS = frozenset(
    {
        "save", "saving", "savings", "saved", "discount", "off", "percent", "percentage", "pct", "unit", "per",
        "shipping", "delivery", "freight", "fee", "fees", "deposit", "installment", "installments", "instalment",
        "monthly", "month", "financing", "member", "members", "club", "prime", "subscription", "subscribe", "type",
        "types", "count", "level", "index", "rule", "prefix", "suffix", "multi", "vip", "history", "alert", "match",
        "drop", "change", "excl", "exclusive", "net", "points", "point", "reward", "rewards", "map", "segment", "tier",
        "bulk", "qty", "quantity", "total", "subtotal", "coupon", "cashback", "bundle", "accessory",
        "warranty", "protection", "insurance", "trade", "rental", "rent", "used", "refurbished", "renewed", "refund",
        "threshold", "filter", "sort", "ids", "id", "visibility", "hidden", "message", "badge", "format", "precision",
        "decimal", "decimals", "locale", "symbol", "position", "code",
    }
)  # fmt: skip
_REGULAR_WORDS = frozenset(
    {
        "regular", "list", "listed", "original", "orig", "was", "old", "standard", "compare", "msrp", "rrp", "srp",
        "strike", "strikethrough", "striked", "strikeout", "crossed", "crossout", "reference", "full", "before", "uvp",
        "retail", "initial", "previous", "prev", "recommended", "suggested", "usual", "normal",
    }
)  # fmt: skip
_LOW_WORDS = frozenset({"min", "minimum", "low", "lowest", "from", "start", "starting"})
_HIGH_WORDS = frozenset({"max", "maximum", "high", "highest", "to"})
_SALE_WORDS = frozenset(
    {
        "sale", "now", "current", "final", "selling", "offer", "special", "promo", "promotional", "promotion", "deal",
        "our", "actual", "customer", "pay", "discounted", "today", "buy", "reduced", "activity", "effective",
    }
)  # fmt: skip


def words(key: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(key)]


@lru_cache(maxsize=8192)
def meaning(key: str, *, in_price: bool = False) -> str | None:
    """What a data key means (one of this module's constants), or None when it is nothing we read.
    `in_price`: the key sits in an object that is itself a price ({"amount": …, "regular": …})."""
    if not isinstance(key, str) or len(key) > 80:
        return None
    parts = words(key)
    joined = "".join(parts)
    if joined in _NAME_KEYS:
        return NAME
    if joined in _SKU_KEYS:
        return SKU
    if joined in _GTIN_KEYS:
        return GTIN
    if joined in _MPN_KEYS:
        return MPN
    if joined in _BRAND_KEYS:
        return BRAND
    if joined in _CONDITION_KEYS:
        return CONDITION
    if joined in _VARIANT_KEYS:
        return VARIANTS
    if joined in _ID_KEYS:
        return ID
    if joined in _SOLD_OUT_KEYS:
        return SOLD_OUT
    if joined in _AVAILABILITY_TEXT_KEYS:
        return AVAILABILITY_TEXT
    if joined in _AVAILABLE_KEYS:
        return AVAILABLE
    if joined in _STOCK_KEYS:
        return STOCK
    found = set(parts)
    if "currency" in found and not found & {"without", "with", "converted"}:
        return CURRENCY
    if in_price and joined in ("value", "amount", "formatted", "display", "text", "raw"):
        return PRICE
    if not found & _PRICE_WORDS:
        return meaning(key + "Price") if in_price else None
    if found & _NOT_PRICE_WORDS and "without" not in found:
        return None
    if found & _REGULAR_WORDS:
        return REGULAR
    if found & _LOW_WORDS:
        return LOW
    if found & _HIGH_WORDS:
        return HIGH
    if found & _SALE_WORDS:
        return SALE
    return PRICE
