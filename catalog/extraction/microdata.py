"""Microdata (itemscope / itemprop) read from the selectolax tree, as JSON-LD-shaped dicts.

Only the rules product pages need: nested items, `itemref` (a Product whose offers or rating sit
elsewhere on the page, pointed at by id), and loose properties. Many shops mark up the offer, the
rating or the SKU without a Product around them (an Offer scope beside the title, a rating widget,
`itemprop="sku"` on a plain span); those loose properties are gathered into one implied product,
read after every declared source.
"""

from .document import node_text
from .structured import PRODUCT_TYPES, types_of

# Properties that make loose microdata worth reading as the page's product.
_LOOSE_PRODUCT_KEYS = frozenset({"offers", "aggregaterating", "sku", "gtin13", "gtin", "mpn", "productid"})


def _value(node):
    attrs = node.attributes
    tag = node.tag
    if tag == "meta":
        return attrs.get("content") or ""
    if tag in ("img", "audio", "embed", "iframe", "source", "track", "video"):
        return attrs.get("src") or attrs.get("content") or ""
    if tag in ("a", "area", "link"):
        return attrs.get("href") or attrs.get("content") or ""
    if tag == "object":
        return attrs.get("data") or ""
    if tag in ("data", "meter"):
        return attrs.get("value") or ""
    if tag == "time":
        return attrs.get("datetime") or node_text(node)
    if attrs.get("content"):
        return attrs["content"]
    return node_text(node, skip_hidden=True)


def microdata_items(nodes) -> tuple[list[dict], dict | None]:
    """(Product items not nested in another product, the implied product of loose properties)
    from the page's itemscope and itemprop nodes (in page order)."""
    if not nodes:
        return [], None
    scopes = {n.mem_id: n for n in nodes if "itemscope" in n.attributes}
    referenced = {}  # element id → the scope whose itemref names it
    for mem_id, node in scopes.items():
        for ref in (node.attributes.get("itemref") or "").split():
            referenced.setdefault(ref, mem_id)
    items = {}
    for mem_id, node in scopes.items():
        itemtype = (node.attributes.get("itemtype") or "").split()
        items[mem_id] = {"@type": itemtype[0] if itemtype else ""}
    loose: dict = {}
    owner_of = {}
    owners = _Owners(scopes, referenced)
    for node in nodes:
        attrs = node.attributes
        if "itemprop" not in attrs:
            continue
        owner = owners.of(node)
        value = items[node.mem_id] if node.mem_id in scopes else _value(node)
        target = loose if owner is None else items[owner]
        if owner is not None:
            owner_of[node.mem_id] = owner
        for name in (attrs.get("itemprop") or "").split():
            target.setdefault(name, []).append(value)
    for item in [*items.values(), loose]:
        for key, value in list(item.items()):  # single values as scalars, as JSON-LD writes them
            if isinstance(value, list) and len(value) == 1:
                item[key] = value[0]
    products = []
    for mem_id, item in items.items():
        if not (types_of(item) & PRODUCT_TYPES):
            continue
        owner = owner_of.get(mem_id)
        while owner is not None and not (types_of(items[owner]) & PRODUCT_TYPES):
            owner = owner_of.get(owner)
        if owner is None:
            products.append(item)
    implied = None
    if {key.lower() for key in loose} & _LOOSE_PRODUCT_KEYS:
        implied = {"@type": "Product", **loose}
    return products, implied


class _Owners:
    """The scope each property belongs to: the nearest enclosing itemscope, or the scope whose
    itemref names the property's element or one of its ancestors. What an element's ancestors
    lead to is remembered, so properties that share ancestors walk up past them once."""

    def __init__(self, scopes, referenced):
        self._scopes, self._referenced = scopes, referenced
        self._above: dict[int, int | None] = {}  # element → the scope it or an ancestor leads to

    def of(self, node):
        if self._referenced:
            own_id = node.id
            if own_id and own_id in self._referenced and self._referenced[own_id] != node.mem_id:
                return self._referenced[own_id]
        return self._from(node.parent)

    def _from(self, element):
        """The scope `element` is, or is named by an itemref, else the one an ancestor leads to."""
        walked, owner = [], None
        while element is not None:
            mem_id = element.mem_id
            if mem_id in self._above:
                owner = self._above[mem_id]
                break
            walked.append(mem_id)
            if mem_id in self._scopes:
                owner = mem_id
                break
            if self._referenced:
                element_id = element.id
                if element_id and element_id in self._referenced:
                    owner = self._referenced[element_id]
                    break
            element = element.parent
        for mem_id in walked:
            self._above[mem_id] = owner
        return owner
