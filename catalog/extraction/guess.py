"""Which supplier family a saved page belongs to, when nobody said (`manage.py scrape page.html`)."""

from selectolax.lexbor import LexborHTMLParser

from catalog.identify import family_for_host, normalise_host

from .document import decode

# Elements only one family's product pages carry.
_FAMILY_MARKERS = {
    "amazon": "#productTitle, #ebooksProductTitle, input#ASIN, #dp-container",
    "aliexpress": ".product-title-text, [data-pl='product-title'], #root .product-price-current",
    "costco": "[automation-id='productName'], #pull-right-price",
}
_SITE_NAMES = {"amazon": "amazon", "aliexpress": "aliexpress", "costco": "costco"}


def guess_family(html: str | bytes, *, configs: dict | None = None) -> str:
    """amazon / aliexpress / costco from the page's canonical URL, og:url, og:site_name or the
    family's own elements; generic otherwise."""
    tree = LexborHTMLParser(decode(html))
    for selector, attribute in (('link[rel="canonical"]', "href"), ('meta[property="og:url"]', "content")):
        node = tree.css_first(selector)
        value = (node.attributes.get(attribute) or "") if node is not None else ""
        if "//" in value:
            host = normalise_host(value.split("//", 1)[1].split("/", 1)[0].split("?", 1)[0])
            family = family_for_host(host, configs)
            if family != "generic":
                return family
    site = tree.css_first('meta[property="og:site_name"]')
    site_name = (site.attributes.get("content") or "").lower() if site is not None else ""
    for family, word in _SITE_NAMES.items():
        if word in site_name:
            return family
    for family, selector in _FAMILY_MARKERS.items():
        if tree.css_first(selector) is not None:
            return family
    return "generic"
