"""What may be sent to a marketplace and when: automation switches, the revision cap, demo stores.

Shared by the services that change listings on a marketplace (follow, orders, seller actions).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from marketplaces.models import AutomationSwitch, Listing

HELD_GLOBAL_SWITCH = "Held: staff paused every automatic change to marketplaces."
HELD_STORE_PAUSED = "Held: automation is paused for this store."
HELD_NEEDS_RECONNECT = "Held: connect the store again to send changes."
HELD_REVISION_CAP = (
    "Held: {marketplace} allows {cap} changes a day to one listing and today's are used up; sent tomorrow."
)
HELD_BUSY = "Held: the marketplace asked us to wait ({message}); tried again shortly."
NOT_SENT_REFUSED = "Not sent: the marketplace refused the change: {message}"


def today() -> date:
    """The calendar day revisions are counted in (UTC)."""
    return timezone.now().date()


def is_demo_store(store) -> bool:
    """A demo seller's store: computed and shown, never sent to a marketplace."""
    return bool(store.user.is_demo)


def connection_block(store) -> str | None:
    """Why nothing at all can be sent to this store now, or None."""
    if store.needs_reauth or not store.is_connected:
        return HELD_NEEDS_RECONNECT
    return None


def automatic_push_block(store, *, switch: AutomationSwitch | None = None) -> str | None:
    """Why an automatic change (not one the seller asked for) is held for this store, or None."""
    switch = switch or AutomationSwitch.current()
    if switch.pushes_paused:
        return HELD_GLOBAL_SWITCH
    if store.automation_paused:
        return HELD_STORE_PAUSED
    return connection_block(store)


def revision_cap(store) -> int | None:
    return settings.MARKETPLACE_DAILY_REVISION_CAPS.get(store.marketplace)


def revisions_used(listing: Listing, *, on: date | None = None) -> int:
    on = on or today()
    return listing.revisions_today if listing.revisions_on == on else 0


def revision_block(listing: Listing, *, needed: int = 1) -> str | None:
    """Why `needed` more revisions of this listing would pass the marketplace's daily cap, or None."""
    store = listing.store_account
    cap = revision_cap(store)
    if cap is None or revisions_used(listing) + needed <= cap:
        return None
    return HELD_REVISION_CAP.format(marketplace=store.get_marketplace_display(), cap=cap)


def revisions_count(listing: Listing, count: int = 1) -> None:
    """Add `count` revisions to the listing's tally for today (atomic across workers)."""
    if count <= 0:
        return
    on = today()
    updated = Listing.objects.filter(pk=listing.pk, revisions_on=on).update(
        revisions_today=F("revisions_today") + count
    )
    if not updated:
        Listing.objects.filter(pk=listing.pk).update(revisions_on=on, revisions_today=count)
    listing.refresh_from_db(fields=["revisions_on", "revisions_today"])
