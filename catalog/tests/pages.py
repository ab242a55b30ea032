"""Small hand-made product pages for the extraction tests, and the one call that reads them."""

import json

from catalog.extraction import FAMILY_CONFIGS, extract


def read(html: str, *, family: str = "generic", url: str | None = None):
    return extract(html, supplier_config=FAMILY_CONFIGS[family], family=family, url=url)


def jsonld(data: dict) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def shop_page(body: str, *, head: str = "", title: str = "Shop") -> str:
    return f"<html><head><title>{title}</title>{head}</head><body>{body}</body></html>"


def amazon_page(body: str, *, url: str | None = None, title: str = "Widget"):
    html = (
        '<html><head><title>Amazon</title></head><body><div id="dp-container">'
        f'<span id="productTitle"> {title} </span>{body}</div></body></html>'
    )
    return read(html, family="amazon", url=url)
