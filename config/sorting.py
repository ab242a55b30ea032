"""Sortable table headers, shared by the seller's list pages."""


def sort_links(current: str, fields) -> dict:
    """For each sortable column: the ordering its header link asks for, and the current direction."""
    links = {}
    for field in fields:
        if current == field:
            links[field] = {"value": f"-{field}", "direction": "ascending"}
        elif current == f"-{field}":
            links[field] = {"value": field, "direction": "descending"}
        else:
            links[field] = {"value": field, "direction": ""}
    return links
