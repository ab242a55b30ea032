"""Recognising what a seller pasted: which supplier family and site, and which product.

`identify("https://www.amazon.de/gp/product/B00FLYWNYQ?tag=x&psc=1")` →
Identified(family="amazon", site_name="amazon-de", host="www.amazon.de",
base_url="https://www.amazon.de", product_id="B00FLYWNYQ",
canonical_url="https://www.amazon.de/dp/B00FLYWNYQ", currency="EUR").

A link that selects one variant of a product page names that variant, which is a product of its
own (its own price and stock): an Amazon child ASIN is already its own id; an AliExpress link with
`sku_id` gets the id "<item id>-<sku id>" and keeps the parameter in its canonical URL; a shop link
with Shopify's `?variant=` keeps it (the shop's product id then comes from the variant's page data).
Links that select no variant keep the ids they always had.

Pure functions: the families' URL patterns come from their scraper_config (the code defaults in
catalog.extraction.families, or the template rows via `family_configs_from_db()`), so tests need
no database. Anything that is not a product we can track raises `IdentifyError` (a ValueError)
with a message meant for the seller.
"""

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from catalog.extraction.families import FAMILY_CONFIGS

EMPTY_INPUT = "Paste a product link or an ASIN."
NOT_A_PRODUCT_LINK = "“{text}” is neither a product link nor an ASIN."
UNSUPPORTED_SCHEME = "Only http and https links can be tracked (got “{scheme}:”)."
NO_PRODUCT_ID = "This {family} link does not point at a product page: no product id in it."
SHORT_LINK = "Short links ({host}) do not name the product; open the link and paste the full product address."
UNKNOWN_AMAZON_SITE = "{host} is not an Amazon store we know."
NOT_AN_AMAZON_STORE = "{host} is not an Amazon store page."
BAD_ISBN = "“{text}” looks like an ISBN-10 but its check digit is wrong."


class IdentifyError(ValueError):
    """What the seller pasted is not a product we can track; the message says why."""


@dataclass(frozen=True)
class Identified:
    family: str  # amazon | aliexpress | costco | generic
    site_name: str  # the Supplier row's name: amazon, amazon-de, aliexpress, costco-ca, shop-example-com
    host: str
    base_url: str
    product_id: str | None  # None for a generic shop: decided from the page (SKU or URL hash)
    canonical_url: str
    currency: str | None  # the site's currency where the domain fixes it


AMAZON_SITE_CURRENCY = {
    "amazon.com": "USD",
    "amazon.ca": "CAD",
    "amazon.com.mx": "MXN",
    "amazon.com.br": "BRL",
    "amazon.co.uk": "GBP",
    "amazon.de": "EUR",
    "amazon.fr": "EUR",
    "amazon.it": "EUR",
    "amazon.es": "EUR",
    "amazon.nl": "EUR",
    "amazon.com.be": "EUR",
    "amazon.ie": "EUR",
    "amazon.se": "SEK",
    "amazon.pl": "PLN",
    "amazon.com.tr": "TRY",
    "amazon.ae": "AED",
    "amazon.sa": "SAR",
    "amazon.eg": "EGP",
    "amazon.in": "INR",
    "amazon.co.jp": "JPY",
    "amazon.cn": "CNY",
    "amazon.com.au": "AUD",
    "amazon.sg": "SGD",
    "amazon.co.za": "ZAR",
}
COSTCO_SITE_CURRENCY = {
    "costco.com": "USD",
    "costco.ca": "CAD",
    "costco.co.uk": "GBP",
    "costco.com.au": "AUD",
    "costco.co.jp": "JPY",
    "costco.com.mx": "MXN",
    "costco.co.kr": "KRW",
    "costco.com.tw": "TWD",
}
ALIEXPRESS_SITE_CURRENCY = {"aliexpress.com": "USD", "aliexpress.us": "USD", "aliexpress.ru": "RUB"}
# The main site of a family keeps the family's own name (the template row is also that site).
MAIN_SITES = {"amazon.com": "amazon", "aliexpress.com": "aliexpress", "costco.com": "costco"}

_AMAZON_SHORT_HOSTS = {"amzn.to", "amzn.eu", "amzn.asia", "amzn.com", "a.co"}
_AMAZON_STORE_PREFIXES = {"", "www", "smile", "m", "www.m"}
_AMAZON_DOMAIN = re.compile(r"(?:^|\.)(amazon\.(?:com\.[a-z]{2}|co\.[a-z]{2}|[a-z]{2,3}))$")
_ALIEXPRESS_DOMAIN = re.compile(r"(?:^|\.)(aliexpress\.(?:com|us|ru))$")
_COSTCO_DOMAIN = re.compile(r"(?:^|\.)(costco\.(?:com\.[a-z]{2}|co\.[a-z]{2}|[a-z]{2,3}))$")
_ASIN = re.compile(r"^(B[0-9A-Z]{9}|\d{9}[\dX])$")

# Query parameters that track a visit and never choose the product, on any site.
# fmt: off
TRACKING_PARAMS = frozenset({
    "ref", "ref_", "tag", "psc", "smid", "spm", "gclid", "gclsrc", "dclid", "fbclid", "msclkid", "yclid",
    "igshid", "twclid", "ttclid", "srsltid", "_ga", "_gl", "mc_cid", "mc_eid", "cjevent", "irclickid", "irgwc",
    "ranmid", "ransiteid", "raneaid", "epik",
})
# More of them on Amazon, AliExpress and Costco, whose product is in the path (harmless to drop there,
# while a shop of its own may use "src" or "sr" to choose a variant).
MARKETPLACE_TRACKING_PARAMS = frozenset({
    "th", "qid", "sr", "sprefix", "crid", "dchild", "keywords", "linkcode", "linkid", "camp", "creative",
    "creativeasin", "ascsubtag", "content-id", "_encoding", "ie", "scm", "algo_pvid", "algo_exp_id", "sk",
    "af", "cv", "cn", "dp", "src", "gatewayadapt", "_randl_currency", "_randl_shipto", "terminal_id",
    "afsmartredirect", "trk", "langid",
})
# fmt: on
_TRACKING_PREFIXES = ("utm_", "pf_rd_", "pd_rd_", "aff_", "mc_", "hsa_", "_hs")
# Query parameters that select one variant of a product page: Shopify's ?variant=, AliExpress's SKU.
VARIANT_PARAMS = ("variant", "sku_id", "skuId", "skuid")
_VARIANT_VALUE = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")
# Families whose product id names the variant a link selects (AliExpress SKUs).
_VARIANT_ID_FAMILIES = frozenset({"aliexpress"})


def identify(text: str, *, default_amazon_site: str = "amazon.com", configs: dict | None = None) -> Identified:
    """Which family, site and product a pasted link or bare ASIN names.

    `configs` maps family name → scraper_config (hosts, product_id_patterns); the shipped defaults
    when omitted. A bare ASIN goes to `default_amazon_site` (the seller's setting).
    """
    configs = configs or FAMILY_CONFIGS
    text = (text or "").strip()
    if not text:
        raise IdentifyError(EMPTY_INPUT)
    if "/" not in text and "." not in text:
        return _amazon(amazon_domain(default_amazon_site), _bare_asin(text))
    url = text if "://" in text else "https://" + text.lstrip("/")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise IdentifyError(UNSUPPORTED_SCHEME.format(scheme=parts.scheme))
    host = normalise_host(parts.hostname or "")
    if not host or "." not in host:
        raise IdentifyError(NOT_A_PRODUCT_LINK.format(text=text[:200]))
    family = family_for_host(host, configs)
    path = parts.path or "/"
    if family == "amazon":
        return _identify_amazon(host, path, configs, default_amazon_site)
    if family == "aliexpress":
        item_id = product_id_from_path(path, configs["aliexpress"])
        if not item_id:
            raise IdentifyError(NO_PRODUCT_ID.format(family="AliExpress"))
        match = _ALIEXPRESS_DOMAIN.search(host)
        domain = match.group(1) if match else "aliexpress.com"
        site_host = "aliexpress.ru" if domain == "aliexpress.ru" else f"www.{domain}"
        base_url = f"https://{site_host}"
        sku = variant_from_url(url)
        return Identified(
            family="aliexpress",
            site_name=site_name_for(domain),
            host=site_host,
            base_url=base_url,
            product_id=variant_product_id(item_id, sku),
            canonical_url=f"{base_url}/item/{item_id}.html" + (f"?sku_id={sku}" if sku else ""),
            currency=ALIEXPRESS_SITE_CURRENCY.get(domain),
        )
    if family == "costco":
        product_id = product_id_from_path(path, configs["costco"])
        if not product_id:
            raise IdentifyError(NO_PRODUCT_ID.format(family="Costco"))
        match = _COSTCO_DOMAIN.search(host)
        domain = match.group(1) if match else "costco.com"
        base_url = f"https://www.{domain}"
        return Identified(
            family="costco",
            site_name=site_name_for(domain),
            host=f"www.{domain}",
            base_url=base_url,
            product_id=product_id,
            canonical_url=base_url + path,
            currency=COSTCO_SITE_CURRENCY.get(domain),
        )
    canonical = canonical_generic_url(url)
    canonical_parts = urlsplit(canonical)
    return Identified(
        family="generic",
        site_name=site_name_for(host),
        host=host,
        base_url=f"{canonical_parts.scheme}://{canonical_parts.netloc}",
        product_id=None,
        canonical_url=canonical,
        currency=None,
    )


def _identify_amazon(host, path, configs, default_amazon_site) -> Identified:
    product_id = product_id_from_path(path, configs["amazon"])
    if product_id:
        product_id = product_id.upper()
        if not _ASIN.match(product_id):
            product_id = None
    if host in _AMAZON_SHORT_HOSTS:
        if not product_id:
            raise IdentifyError(SHORT_LINK.format(host=host))
        domain = "amazon.com" if host == "amzn.com" else amazon_domain(default_amazon_site)
        return _amazon(domain, product_id)
    match = _AMAZON_DOMAIN.search(host)
    if not match or match.group(1) not in AMAZON_SITE_CURRENCY:
        raise IdentifyError(UNKNOWN_AMAZON_SITE.format(host=host))
    domain = match.group(1)
    if host[: -len(domain)].rstrip(".") not in _AMAZON_STORE_PREFIXES:
        raise IdentifyError(NOT_AN_AMAZON_STORE.format(host=host))
    if not product_id:
        raise IdentifyError(NO_PRODUCT_ID.format(family="Amazon"))
    return _amazon(domain, product_id)


def _amazon(domain: str, asin: str) -> Identified:
    base_url = f"https://www.{domain}"
    return Identified(
        family="amazon",
        site_name=site_name_for(domain),
        host=f"www.{domain}",
        base_url=base_url,
        product_id=asin,
        canonical_url=f"{base_url}/dp/{asin}",
        currency=AMAZON_SITE_CURRENCY.get(domain),
    )


def _bare_asin(text: str) -> str:
    asin = text.upper()
    if not _ASIN.match(asin):
        raise IdentifyError(NOT_A_PRODUCT_LINK.format(text=text[:200]))
    if asin[0] != "B" and not _isbn10_valid(asin):
        raise IdentifyError(BAD_ISBN.format(text=text))
    return asin


def _isbn10_valid(isbn: str) -> bool:
    total = sum((10 - i) * (10 if ch == "X" else int(ch)) for i, ch in enumerate(isbn))
    return total % 11 == 0


def amazon_domain(site: str) -> str:
    """ "amazon.de", "www.amazon.de", "https://www.amazon.de/" → "amazon.de"."""
    site = (site or "amazon.com").strip().lower()
    host = urlsplit(site if "://" in site else "https://" + site).hostname or ""
    match = _AMAZON_DOMAIN.search(host)
    if not match or match.group(1) not in AMAZON_SITE_CURRENCY:
        raise IdentifyError(UNKNOWN_AMAZON_SITE.format(host=site))
    return match.group(1)


def normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def family_for_host(host: str, configs: dict | None = None) -> str:
    """The family whose host patterns match (generic when none does)."""
    configs = configs or FAMILY_CONFIGS
    host = normalise_host(host or "")
    for family, config in configs.items():
        if family == "generic":
            continue
        for pattern in _patterns(config, "hosts"):
            try:
                if re.search(pattern, host):
                    return family
            except re.error:
                continue
    return "generic"


def _patterns(config, key) -> list[str]:
    """A config's list of regexes; a malformed edit (not a list of strings) is ignored."""
    value = config.get(key) if isinstance(config, dict) else None
    if isinstance(value, str):
        value = [value]
    return [p for p in value if isinstance(p, str)] if isinstance(value, list | tuple) else []


def product_id_from_path(path: str, config: dict | None) -> str | None:
    """Group 1 of the first of the family's product_id_patterns found in a URL path."""
    for pattern in _patterns(config, "product_id_patterns"):
        try:
            match = re.search(pattern, path or "")
            found = match.group(1) if match else None
        except (re.error, IndexError):  # a broken or group-less pattern from an edited config
            continue
        if found:
            return found
    return None


def product_id_from_url(url: str | None, family: str, configs: dict | None = None) -> str | None:
    """The product id a URL of this family names (for pages: their canonical URL), else None; a
    variant's own id when the URL selects one (see variant_product_id)."""
    if not url:
        return None
    config = (configs or FAMILY_CONFIGS).get(family)
    product_id = product_id_from_path(urlsplit(url).path, config)
    if product_id and family == "amazon":
        product_id = product_id.upper()
        return product_id if _ASIN.match(product_id) else None
    if product_id and family in _VARIANT_ID_FAMILIES:
        return variant_product_id(product_id, variant_from_url(url))
    return product_id


def variant_from_url(url: str | None) -> str | None:
    """The variant a product link selects (Shopify's ?variant=123, AliExpress's ?sku_id=…), else None."""
    if not url or "?" not in url:
        return None
    params = dict(parse_qsl(urlsplit(url).query))
    for name in VARIANT_PARAMS:
        value = (params.get(name) or "").strip()
        if value and _VARIANT_VALUE.match(value):
            return value
    return None


def variant_product_id(product_id: str, variant: str | None) -> str:
    """The id of one variant of a product in families whose links select variants by parameter."""
    return f"{product_id}-{variant}" if variant else product_id


def with_variant(url: str, variant: str | None) -> str:
    """The URL selecting `variant` with the parameter the link used (added as ?variant= when absent)."""
    if not variant or variant_from_url(url) == variant:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in VARIANT_PARAMS]
    name = "sku_id" if _ALIEXPRESS_DOMAIN.search(normalise_host(parts.hostname or "")) else "variant"
    query.append((name, variant))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def site_name_for(host: str) -> str:
    """The Supplier row name of a site: amazon.de → amazon-de, shop.example.com → shop-example-com."""
    host = normalise_host(host).removeprefix("www.")
    if host in MAIN_SITES:
        return MAIN_SITES[host]
    return host.replace(".", "-")[:100]


def site_currency(url_or_host: str | None) -> str | None:
    """The currency a site's domain fixes (amazon.de → EUR, costco.ca → CAD); None for the rest."""
    if not url_or_host:
        return None
    host = urlsplit(url_or_host).hostname if "://" in url_or_host else url_or_host
    host = normalise_host(host or "")
    match = _AMAZON_DOMAIN.search(host)
    if match and match.group(1) in AMAZON_SITE_CURRENCY:
        return AMAZON_SITE_CURRENCY[match.group(1)]
    match = _COSTCO_DOMAIN.search(host)
    if match and match.group(1) in COSTCO_SITE_CURRENCY:
        return COSTCO_SITE_CURRENCY[match.group(1)]
    return None


def is_tracking_param(name: str, *, marketplace: bool = False) -> bool:
    name = name.lower()
    if name in TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES):
        return True
    return marketplace and (name in MARKETPLACE_TRACKING_PARAMS or name.startswith("pdp_"))


def _without_tracking(query: str, host: str) -> str:
    marketplace = family_for_host(host) != "generic"
    kept = [
        (k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not is_tracking_param(k, marketplace=marketplace)
    ]
    return urlencode(kept, doseq=True)


def strip_tracking(url: str) -> str:
    """The URL without tracking parameters (utm_*, ref, tag, gclid, fbclid, spm, …) or fragment."""
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, _without_tracking(parts.query, parts.hostname or ""), "")
    )


def canonical_generic_url(url: str) -> str:
    """A shop URL in one spelling: lower-case host without default port, tracking parameters and
    fragment dropped; the path and the parameters that choose the product kept as they are."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = normalise_host(parts.hostname or "")
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", _without_tracking(parts.query, host), ""))


def generic_product_id(canonical_url: str, sku: str | None = None) -> str:
    """A generic shop's product id: its SKU when the page gives one, else a hash of its canonical
    URL (scheme, "www." and a trailing slash do not change it). At most 64 characters."""
    sku = (sku or "").strip()
    if sku:
        return sku[:64]
    parts = urlsplit(canonical_generic_url(canonical_url))
    key = (
        parts.netloc.removeprefix("www.") + (parts.path.rstrip("/") or "/") + ("?" + parts.query if parts.query else "")
    )
    return "url-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def family_configs_from_db() -> dict:
    """{family: scraper_config} of the template rows (for identify(configs=…) in views and commands)."""
    from catalog.models import Supplier

    configs = dict(FAMILY_CONFIGS)
    for name, config in Supplier.objects.filter(family__isnull=True, name__in=list(FAMILY_CONFIGS)).values_list(
        "name", "scraper_config"
    ):
        if config:
            configs[name] = {**FAMILY_CONFIGS[name], **config}
    return configs
