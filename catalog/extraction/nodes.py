"""The elements the sources after the supplier's selectors read, found by walks over the parsed page.

A walk is one CSS query in the parser (it costs about a tenth of the parse) that sorts what it
meets; nothing is read here, each source reads its list when a field needs it:

- the structured-data walk: JSON-LD scripts, microdata, <meta content> tags, and the buttons that
  could add the item to the cart (most pages need it);
- the page-state walk, only for pages whose declared data left a field open: the page's inline
  scripts (its own state: framework data, product JSON, analytics layers), hidden inputs and
  elements carrying product data in data attributes.
"""

from dataclasses import dataclass, field

# data-* attributes that carry a product's price or the whole product as JSON.
DATA_ATTRIBUTES = ("data-price", "data-product")  # (each attribute looked for costs a walk's fifth)
_STRUCTURED_CSS = (
    'script[type="application/ld+json"], [itemscope], [itemprop], meta[content], '
    "button, input[type=submit], input[type=button]"
)
_STATE_CSS = ", ".join(
    [
        'script:not([src]):not([type="application/ld+json"])',
        "input[type=hidden]",
        *(f"[{name}]" for name in DATA_ATTRIBUTES),
    ]
)


@dataclass
class StructuredNodes:
    jsonld: list = field(default_factory=list)  # <script type="application/ld+json">
    microdata: list = field(default_factory=list)  # [itemscope] and [itemprop] elements
    metas: list = field(default_factory=list)  # <meta content>
    controls: list = field(default_factory=list)  # <button>, <input type="submit|button">


@dataclass
class StateNodes:
    scripts: list = field(default_factory=list)  # inline scripts other than JSON-LD (JSON or JavaScript)
    hidden_inputs: list = field(default_factory=list)  # <input type="hidden">
    data_nodes: list = field(default_factory=list)  # elements with one of DATA_ATTRIBUTES


def structured_nodes(tree) -> StructuredNodes:
    found = StructuredNodes()
    for node in tree.css(_STRUCTURED_CSS):
        tag = node.tag
        if tag == "button" or tag == "input":
            found.controls.append(node)
            continue
        attrs = node.attributes
        if "itemscope" in attrs or "itemprop" in attrs:
            found.microdata.append(node)
        if tag == "meta" and "content" in attrs:
            found.metas.append(node)
        elif tag == "script" and (attrs.get("type") or "").lower() == "application/ld+json":
            found.jsonld.append(node)
    return found


def state_nodes(tree) -> StateNodes:
    found = StateNodes()
    for node in tree.css(_STATE_CSS):
        tag = node.tag
        if tag == "script":
            found.scripts.append(node)
            continue
        if tag == "input" and (node.attrs.get("type") or "").strip().lower() == "hidden":
            found.hidden_inputs.append(node)
        attrs = node.attrs
        if any(name in attrs for name in DATA_ATTRIBUTES):
            found.data_nodes.append(node)
    return found
