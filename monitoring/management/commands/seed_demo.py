"""`manage.py seed_demo`: the demo seller's data set, or with --listings a load-test data set."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.urls import NoReverseMatch, reverse

from monitoring.demo import DemoSeedError, demo_seed, loadtest_seed

LOGIN_PATH_FALLBACK = "/accounts/login/"


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
            "--base-url", default="http://127.0.0.1:8000", help="Where the site runs, for the printed login URL."
        )

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
                    f"Load test: {sellers} seller(s) × {listings} listings × {days} days "
                    f"= {sellers * listings * days} performance rows."
                )
                result = loadtest_seed(
                    listings=listings, days=days, sellers=sellers, use_copy=use_copy, progress=self.stdout.write
                )
        except DemoSeedError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - started

        made = ", ".join(f"{count} {name}" for name, count in sorted(result.created.items()) if count)
        self.stdout.write(self.style.SUCCESS(f"Done in {elapsed:.1f} s. Created: {made or 'nothing (all there)'}."))
        self.stdout.write(f"Log in at {base_url.rstrip('/')}{login_path()}")
        for user in result.users:
            self.stdout.write(f"  email: {user.email}  password: {result.password}")
