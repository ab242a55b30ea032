"""Blocklist: brands and words that must not be published (staff's global terms and a seller's own)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db.models import Q

from marketplaces.models import BlocklistTerm

BLOCKED_MESSAGE = "Blocked by the word '{term}'"


def _pattern(term: str) -> re.Pattern:
    # Lookarounds rather than \b, so a term that starts or ends with a symbol ("C++", "#1")
    # still needs a whole-word match.
    return re.compile(rf"(?<!\w){re.escape(term.strip())}(?!\w)", re.IGNORECASE)


def blocklist_terms(*, user) -> list[str]:
    """The terms that apply to a seller: every global term and the seller's own."""
    terms = BlocklistTerm.objects.filter(Q(user__isnull=True) | Q(user=user)).order_by("term")
    return [term for term in terms.values_list("term", flat=True) if term.strip()]


def blocklist_match(*, user, texts: Iterable[str]) -> str | None:
    """The first term (as written in the list) found as a whole word in any of `texts`, or None."""
    texts = [text for text in texts if text]
    for term in blocklist_terms(user=user):
        pattern = _pattern(term)
        if any(pattern.search(text) for text in texts):
            return term
    return None


def blocklist_match_listing(listing) -> str | None:
    """The term blocking a listing: its own title/description or its product's."""
    product = listing.product
    return blocklist_match(
        user=listing.user, texts=[listing.title, listing.description, product.title, product.description]
    )
