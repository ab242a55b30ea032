"""manage.py sync_store <id> [--day YYYY-MM-DD]: one store's orders and a day's performance, by hand."""

from datetime import date

from django.core.management.base import CommandError

from config.commands import BaseCommand
from marketplaces.models import StoreAccount
from marketplaces.services import store_sync
from monitoring.analytics import analytics_invalidate

BAD_DAY_MESSAGE = "--day takes a date as YYYY-MM-DD, not {value!r}."
NO_STORE_MESSAGE = "No store with id {value!r}."


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(BAD_DAY_MESSAGE.format(value=value)) from None


class Command(BaseCommand):
    help = (
        "Fetch one store's new orders and import its performance for a day (default: the seller's "
        "yesterday), printing one line. Demo sellers' and disconnected stores are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("store_id", help="The store's id (see the admin or `sync_stores`).")
        parser.add_argument("--day", help="Import the performance of this day (YYYY-MM-DD).")

    def handle(self, *args, store_id, day=None, **options):
        day = parse_day(day)
        if not str(store_id).isdigit():
            raise CommandError(NO_STORE_MESSAGE.format(value=store_id))
        store = StoreAccount.objects.select_related("user").filter(pk=int(store_id)).first()
        if store is None:
            raise CommandError(NO_STORE_MESSAGE.format(value=store_id))
        result = store_sync(store, day=day)
        analytics_invalidate(store.user)
        if result.error:
            raise CommandError(result.line())
        style = self.style.SUCCESS if result.ok else self.style.WARNING
        self.stdout.write(style(result.line()))
