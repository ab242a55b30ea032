"""manage.py refresh_rates: the ECB euro reference rates, now."""

from django.core.management.base import CommandError

from config.commands import BaseCommand
from marketplaces.services import RatesUnavailable, rates_refresh


class Command(BaseCommand):
    help = "Fetch the ECB euro reference rates (settings.ECB_RATES_URL) and store one rate per currency."

    def add_arguments(self, parser):
        parser.add_argument("--url", help="Read the rates from this URL instead of settings.ECB_RATES_URL.")

    def handle(self, *args, url=None, **options):
        try:
            refresh = rates_refresh(url=url)
        except RatesUnavailable as exc:
            raise CommandError(f"{exc} The rates kept so far stay in use.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"ECB rates of {refresh.as_of}: {len(refresh.currencies)} currencies updated "
                f"({', '.join(refresh.currencies)})."
            )
        )
