"""`manage.py seed_demo`: the demo seller's data set, or with --listings a load-test data set."""

import time

from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.urls import NoReverseMatch, reverse

from catalog import demo_shop
from config.commands import BaseCommand
from monitoring.demo import DemoSeedError, demo_seed, loadtest_seed

LOGIN_PATH_FALLBACK = "/accounts/login/"
# What the counted rows are called, singular and plural.
ROW_NAMES = {
    "alert": ("alert", "alerts"),
    "auditlog": ("audit row", "audit rows"),
    "exchange rate": ("exchange rate", "exchange rates"),
    "job": ("job", "jobs"),
    "listing": ("listing", "listings"),
    "marketplacedata": ("day of listing performance", "days of listing performance"),
    "notification": ("notification", "notifications"),
    "notification channel": ("notification channel", "notification channels"),
    "pricehistory": ("price change", "price changes"),
    "product": ("product", "products"),
    "proxypool": ("proxy", "proxies"),
    "stockhistory": ("stock change", "stock changes"),
    "storeaccount": ("store", "stores"),
    "supplier": ("supplier", "suppliers"),
    "tracked product": ("tracked product", "tracked products"),
    "user": ("seller", "sellers"),
}


def rows_text(name: str, count: int) -> str:
    """ "1 alert", "7 alerts": a count with its noun."""
    singular, plural = ROW_NAMES.get(name, (name, name + "s"))
    return f"{count} {singular if count == 1 else plural}"


# The tables a load-test run fills, by model label.
LOADTEST_TABLES = (
    "marketplaces.MarketplaceData",
    "marketplaces.StoreDayTotal",
    "marketplaces.ListingPeriodTotal",
    "marketplaces.Listing",
    "marketplaces.StoreAccount",
    "catalog.Product",
    "accounts.User_tracked_products",
)


def login_path() -> str:
    try:
        return reverse("account_login")
    except NoReverseMatch:
        return LOGIN_PATH_FALLBACK


class Command(BaseCommand):
    help = (
        "Create the demo seller (demo@example.com, is_demo) with 90 days of products, listings, performance, "
        "alerts, notifications, jobs and audit rows. With --listings N --days D [--sellers S]: a load-test data "
        "set of S sellers with N listings × D days of performance each. Idempotent: re-running adds only what "
        "is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--listings", type=int, help="Load-test mode: listings per seller.")
        parser.add_argument("--days", type=int, help="Load-test mode: days of performance per listing (default 90).")
        parser.add_argument("--sellers", type=int, help="Load-test mode: number of sellers (default 1).")
        parser.add_argument(
            "--no-copy",
            action="store_true",
            help="On PostgreSQL, insert with bulk_create instead of COPY (slower; for comparison).",
        )
        parser.add_argument(
            "--base-url",
            default=None,
            help="Where the site runs, for the printed login URL (default: SITE_URL, which in development is "
            "http://127.0.0.1:$PORT, where `make run` serves it).",
        )

    def _vacuum_analyze(self):
        """On PostgreSQL, what autovacuum does soon after a bulk load: planner statistics and a
        visibility map (index-only scans) for the tables just filled, so the pages and benchmarks
        that read them see them as a running deployment would. Not inside a transaction (VACUUM
        cannot run in one)."""
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return
        started = time.monotonic()
        tables = [apps.get_model(label)._meta.db_table for label in LOADTEST_TABLES]
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f'VACUUM (ANALYZE) "{table}"')
        self.stdout.write(f"VACUUM (ANALYZE) of the {len(tables)} tables filled: {time.monotonic() - started:.1f} s.")

    def handle(self, *args, listings, days, sellers, no_copy, base_url, **options):
        use_copy = False if no_copy else None
        started = time.monotonic()
        try:
            if listings is None:
                if days is not None or sellers is not None:
                    raise CommandError("--days and --sellers belong to load-test mode: add --listings N.")
                result = demo_seed(use_copy=use_copy)
            else:
                days = 90 if days is None else days
                sellers = 1 if sellers is None else sellers
                if listings < 1 or days < 1 or sellers < 1:
                    raise CommandError("--listings, --days and --sellers must be at least 1.")
                self.stdout.write(
                    f"Load test: {rows_text('user', sellers)} × {listings} listings × {days} days "
                    f"= {sellers * listings * days} performance rows."
                )
                result = loadtest_seed(
                    listings=listings, days=days, sellers=sellers, use_copy=use_copy, progress=self.stdout.write
                )
                if result.created:
                    self._vacuum_analyze()
        except DemoSeedError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - started

        made = ", ".join(rows_text(name, count) for name, count in sorted(result.created.items()) if count)
        self.stdout.write(self.style.SUCCESS(f"Done in {elapsed:.1f} s. Created: {made or 'nothing (all there)'}."))
        base_url = (base_url or settings.SITE_URL).rstrip("/")
        self.stdout.write(f"Log in at {base_url}{login_path()}")
        for user in result.users:
            self.stdout.write(f"  email: {user.email}  password: {result.password}")
        if listings is None and demo_shop.is_enabled():
            self.stdout.write(f"Demo shop (development only; prices change every few minutes): {demo_shop.shop_url()}")
