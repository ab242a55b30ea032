"""Careful guesses, used only where the supplier's selectors and the structured data are silent.

Never a price: a number near the word "price" is as likely another product's, a list price or a
shipping fee, and a wrong price costs a seller money. Titles, descriptions, images and (through the
phrase table) availability only.
"""

import json
import re
from urllib.parse import urlsplit

from .document import absolute_url, clean_string, collapse, node_text
from .phrases import read_availability

_TITLE_SEPARATOR = re.compile(r"\s+[|\-–—:·•»]\s+|\s*\|\s*")
_AMAZON_TITLE_PREFIX = re.compile(r"^\s*amazon(?:\.[a-z]{2,3}){1,2}\s*:\s*", re.I)
_ALNUM = re.compile(r"[^0-9a-z]+")
# #availability, .availability, .product-availability and the like, .stock-status, [data-availability]:
# each selector of a list costs the parser about as much as a pass over the page, so the substring matches stand for
# the names they contain (#availability in [id*=availab i], the classes in [class*=availab i]).
_AVAILABILITY_NODES = "[id*=availab i], [class*=availab i], [id*=stock i], .stock-status, [data-availability]"
_MAX_AVAILABILITY_TEXT = 400  # a longer element is a container, not a statement
_MAX_TITLE = 500
_MAX_DESCRIPTION = 10_000

# Image CDNs whose URLs carry a size: dropping it gives the original (largest) image.
_AMAZON_IMAGE_HOST = re.compile(r"(^|\.)(media-amazon\.com|ssl-images-amazon\.com|images-amazon\.com)$")
_AMAZON_SIZE = re.compile(r"\._[^/]*_\.(jpe?g|png|gif|webp)$", re.I)
_ALICDN_HOST = re.compile(r"(^|\.)alicdn\.com$")
_ALICDN_SIZE = re.compile(r"(\.(?:jpe?g|png|webp))_[^/]*$", re.I)
_EBAY_IMAGE_HOST = re.compile(r"(^|\.)ebayimg\.com$")
_EBAY_SIZE = re.compile(r"/s-l\d+\.(jpe?g|png|webp)$", re.I)


def _brand(text: str | None) -> str:
    return _ALNUM.sub("", (text or "").lower())


def strip_site_name(title: str | None, site_name: str | None = None, host: str | None = None) -> str | None:
    """ "Tully Sconce | Pottery Barn" → "Tully Sconce" when the last part names the site."""
    if not title:
        return title
    title = _AMAZON_TITLE_PREFIX.sub("", collapse(title))
    names = {_brand(site_name)} if site_name else set()
    if host:
        labels = [label for label in host.lower().split(".") if label not in ("www", "m", "shop", "store")]
        if labels:
            names.add(_brand(labels[0]))
            names.add(_brand("".join(labels)))
    names.discard("")
    if not names:
        return title
    while True:
        separators = list(_TITLE_SEPARATOR.finditer(title))
        if not separators:
            break
        last = separators[-1]
        tail = _brand(title[last.end() :])
        if tail and any(
            tail == n or (min(len(n), len(tail)) >= 3 and (tail.startswith(n) or n.startswith(tail))) for n in names
        ):
            title = title[: last.start()].rstrip()
            continue
        break
    return title


def largest_image_url(url: str) -> str:
    """The full-size version of a CDN thumbnail URL (Amazon "._AC_SX679_.jpg", AliExpress
    "_50x50.jpg", eBay "s-l300.jpg")."""
    host = urlsplit(url).hostname or ""
    if _AMAZON_IMAGE_HOST.search(host):
        return _AMAZON_SIZE.sub(r".\1", url)
    if _ALICDN_HOST.search(host):
        return _ALICDN_SIZE.sub(r"\1", url)
    if _EBAY_IMAGE_HOST.search(host):
        return _EBAY_SIZE.sub(r"/s-l1600.\1", url)
    return url


def image_urls_from_attribute(value: str | None, base_url: str | None) -> list[str]:
    """Image URLs from an attribute: a plain URL, a srcset, or Amazon's data-a-dynamic-image JSON
    ({url: [width, height]}), largest first."""
    if not value:
        return []
    value = value.strip()
    candidates: list[tuple[int, str]] = []
    if value.startswith("{"):
        try:
            sizes = json.loads(value)
        except ValueError:
            sizes = {}
        if isinstance(sizes, dict):
            for url, size in sizes.items():
                area = 0
                if isinstance(size, list) and len(size) >= 2 and all(isinstance(x, int | float) for x in size[:2]):
                    area = int(size[0] * size[1])
                candidates.append((area, url))
    elif "," in value and " " in value and re.search(r"\s\d+[wx]\s*(,|$)", value):
        for item in value.split(","):
            bits = item.strip().split()
            if bits:
                width = re.match(r"(\d+)", bits[1]) if len(bits) > 1 else None
                candidates.append((int(width.group(1)) if width else 0, bits[0]))
    else:
        candidates.append((0, value))
    candidates.sort(key=lambda pair: -pair[0])
    urls = []
    for _, url in candidates:
        url = absolute_url(url, base_url)
        if url:
            url = largest_image_url(url)
            if url not in urls:
                urls.append(url)
    return urls


def guess_title(tree, metas: dict, *, host=None) -> str | None:
    """The first <h1>, else <title> without the site's name."""
    h1 = tree.css_first("h1")
    title = node_text(h1, skip_hidden=True) if h1 is not None else ""
    if not title:
        node = tree.css_first("title")
        if node is not None:
            site_name = (metas.get("og:site_name") or [None])[0]
            title = strip_site_name(node_text(node), site_name, host) or ""
    return title[:_MAX_TITLE] or None


def guess_description(metas: dict) -> str | None:
    """<meta name="description">."""
    description = clean_string((metas.get("description") or [None])[0])
    return description[:_MAX_DESCRIPTION] if description else None


def guess_availability(tree):
    """(availability, stock) from a visible element named for it (#availability, .stock-status,
    .availabilityTrunc, …) read through the phrase table; (None, None) when none says anything we
    recognise."""
    from .buybox import is_hidden

    for node in tree.css(_AVAILABILITY_NODES):
        text = node.attributes.get("data-availability") or node.text(deep=True, separator=" ")
        if not text or len(text) > _MAX_AVAILABILITY_TEXT or is_hidden(node):
            continue
        found = read_availability(text)
        if found:
            return found.availability, found.stock
    return None, None


def guess_images(tree, *, base_url=None) -> list[str]:
    """<link rel="image_src">."""
    link = tree.css_first('link[rel="image_src"]')
    return image_urls_from_attribute(link.attributes.get("href"), base_url) if link is not None else []
