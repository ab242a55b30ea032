"""The elements every source after the supplier's selectors reads, found in one pass over the page.

One CSS query walks the parsed page once (a walk costs about a tenth of the parse) and sorts what
it meets: JSON-LD scripts, microdata, <meta content> tags, the page's other scripts (its own state:
framework data, product JSON, analytics layers), hidden inputs, elements carrying product data in
data attributes, and the buttons that could add the item to the cart. Nothing is read here;
each source reads its list when a field needs it.
"""

from dataclasses import dataclass, field

# data-* attributes that carry a product's price or the whole product as JSON.
DATA_ATTRIBUTES = ("data-price", "data-product-price", "data-price-amount", "data-product", "data-product-json")
_CONTROL_TYPES = frozenset({"submit", "button"})
_PASS_CSS = ", ".join(
    [
        "script",
        "[itemscope]",
        "[itemprop]",
        "meta[content]",
        "input",
        "button",
        *(f"[{name}]" for name in DATA_ATTRIBUTES),
    ]
)


@dataclass
class PageNodes:
    """The page's data-bearing elements, each list in page order."""

    jsonld: list = field(default_factory=list)  # <script type="application/ld+json">
    microdata: list = field(default_factory=list)  # [itemscope] and [itemprop] elements
    metas: list = field(default_factory=list)  # <meta content>
    scripts: list = field(default_factory=list)  # every other inline script (JSON or JavaScript)
    hidden_inputs: list = field(default_factory=list)  # <input type="hidden">
    data_nodes: list = field(default_factory=list)  # elements with one of DATA_ATTRIBUTES
    controls: list = field(default_factory=list)  # <button>, <input type="submit|button">


def page_nodes(tree) -> PageNodes:
    found = PageNodes()
    for node in tree.css(_PASS_CSS):
        attrs = node.attributes
        tag = node.tag
        if "itemscope" in attrs or "itemprop" in attrs:
            found.microdata.append(node)
        if tag == "meta":
            if "content" in attrs:
                found.metas.append(node)
        elif tag == "script":
            kind = (attrs.get("type") or "").strip().lower()
            if kind == "application/ld+json":
                found.jsonld.append(node)
            elif "src" not in attrs:
                found.scripts.append(node)
        elif tag == "input":
            kind = (attrs.get("type") or "").strip().lower()
            if kind == "hidden":
                found.hidden_inputs.append(node)
            elif kind in _CONTROL_TYPES:
                found.controls.append(node)
        elif tag == "button":
            found.controls.append(node)
        if any(name in attrs for name in DATA_ATTRIBUTES):
            found.data_nodes.append(node)
    return found
