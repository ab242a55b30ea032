"""manage.py sync_stores [--day YYYY-MM-DD]: every connected store's orders and a day's performance."""

from config.commands import BaseCommand
from marketplaces.models import StoreAccount
from marketplaces.services import store_sync
from monitoring.analytics import analytics_invalidate

from .sync_store import parse_day


class Command(BaseCommand):
    help = (
        "Fetch the new orders of every connected store and import its performance for a day (default: "
        "each seller's yesterday), one line per store. Demo sellers' stores are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--day", help="Import the performance of this day (YYYY-MM-DD).")

    def handle(self, *args, day=None, **options):
        day = parse_day(day)
        stores = StoreAccount.objects.filter(is_connected=True).select_related("user").order_by("pk")
        synced = failed = skipped = 0
        for store in stores:
            result = store_sync(store, day=day)
            analytics_invalidate(store.user)
            if result.skipped:
                skipped += 1
                self.stdout.write(self.style.WARNING(result.line()))
            elif result.error:
                failed += 1
                self.stdout.write(self.style.ERROR(result.line()))
            else:
                synced += 1
                self.stdout.write(self.style.SUCCESS(result.line()))
        self.stdout.write(f"{synced} synced, {failed} failed, {skipped} skipped.")
