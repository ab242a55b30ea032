"""manage.py follow_sources [--listing ID …] [--dry-run]: listings with backup sources choose their
source now and follow it, printing each source's standing (beat does the same every ten minutes)."""

from django.core.management.base import CommandError

from config.commands import BaseCommand
from marketplaces.models import Listing
from marketplaces.services import listings_follow
from marketplaces.services.sources import STAY, listing_source_choice

NO_LISTING_MESSAGE = "No live listing with id {ids}."
NOTHING_MESSAGE = "No live listing has backup sources."


class Command(BaseCommand):
    help = (
        "Make the live listings with backup sources (or the given listings) choose their active source by "
        "the rule and follow it: one block per listing with each source's standing and the switch, if any. "
        "--dry-run only prints what the rule would choose."
    )

    def add_arguments(self, parser):
        parser.add_argument("--listing", type=int, action="append", dest="listing_ids", help="A listing's id.")
        parser.add_argument("--dry-run", action="store_true", help="Print the choice; switch and send nothing.")

    def handle(self, *args, listing_ids=None, dry_run=False, **options):
        listings = Listing.objects.live().select_related(
            "store_account", "user", "product__supplier", "active_product__supplier"
        )
        if listing_ids:
            listings = listings.filter(pk__in=listing_ids)
            missing = sorted(set(listing_ids) - set(listings.values_list("pk", flat=True)))
            if missing:
                raise CommandError(NO_LISTING_MESSAGE.format(ids=", ".join(map(str, missing))))
        else:
            listings = listings.with_backups()
        listings = list(listings.order_by("pk"))
        if not listings:
            self.stdout.write(NOTHING_MESSAGE)
            return
        for listing in listings:
            choice = listing_source_choice(listing)
            self.stdout.write(f"Listing {listing.pk} ({listing.title[:60]}):")
            for check in choice.checks:
                mark = "*" if check.position == choice.chosen else " "
                price = f"{check.price} {listing.store_account.currency}" if check.price is not None else "no price"
                standing = "good" if check.qualifies else f"not usable: {check.problem}"
                self.stdout.write(f"  {mark} {check.label}: gives {price}; {standing}")
            if dry_run:
                if choice.kind != STAY:
                    self.stdout.write(f"  would switch: {choice.rule}")
                continue
            [change] = listings_follow(product=listing.product, listing_ids=[listing.pk])
            style = self.style.SUCCESS if change.action not in ("held", "unchanged") else self.style.WARNING
            self.stdout.write(style(f"  {change.action}: {change.message}"))
