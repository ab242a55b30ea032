"""`manage.py bench_backtest`: how fast a store's pricing backtest answers for a large store.

In a throwaway database (created and dropped here, on the configured server) it seeds one seller
with one store of --listings live listings (every fourth with a backup source), each product with
--days days of history: --changes price changes a day (rises and falls of a few percent) and a
stock change a day (out of stock now and then). Then it runs the backtest of the saved settings
against edited ones (another markup and the volatility buffer on), --runs times, and prints each
run; the last line is `backtest: N listings, D days in X ms` (the median run).
"""

import os
import random
import statistics
import time
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import CommandError
from django.db import connection, connections
from django.test.utils import setup_test_environment, teardown_test_environment
from django.utils import timezone

from config.commands import BaseCommand

TARGET_MS = 2000
BATCH = 10_000


class Command(BaseCommand):
    help = (
        "Benchmark the pricing backtest: seed --listings listings (1000) with --days (90) of history, a few "
        "price changes per product per day, in a throwaway database; run the backtest --runs times. Ends with: "
        "backtest: N listings, D days in X ms."
    )

    def add_arguments(self, parser):
        parser.add_argument("--listings", type=int, default=1000, help="Listings of the store (default 1000).")
        parser.add_argument("--days", type=int, default=90, help="Days of history and of the backtest (default 90).")
        parser.add_argument("--changes", type=int, default=4, help="Price changes per product per day (default 4).")
        parser.add_argument("--runs", type=int, default=3, help="Backtests timed (default 3); the median is kept.")
        parser.add_argument("--keep", action="store_true", help="Keep the seeded database (its name is printed).")
        parser.add_argument("--check", action="store_true", help=f"Exit 1 unless the median is under {TARGET_MS} ms.")

    def handle(self, *args, listings, days, changes, runs, check, keep=False, **options):
        if listings < 1 or not 1 <= days <= 366 or changes < 0 or runs < 1:
            raise CommandError("--listings and --runs must be at least 1, --days from 1 to 366, --changes 0 or more.")
        setup_test_environment()
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            started = time.perf_counter()
            store, counts = self._seed(listings, days, changes)
            self.stdout.write(
                f"Seeded {listings} listings, {counts['products']} products, {counts['prices']} price changes and "
                f"{counts['stocks']} stock changes in {time.perf_counter() - started:.1f} s ({connection.vendor})"
            )
            timings = self._run(store, days, runs)
        finally:
            connections.close_all()
            if keep:
                self.stdout.write(f"Kept the database {connection.settings_dict['NAME']}")
            else:
                connection.creation.destroy_test_db(old_name, verbosity=0)
            teardown_test_environment()
        median = statistics.median(timings)
        self.stdout.write(f"backtest: {listings} listings, {days} days in {median:.0f} ms")
        if check and not median < TARGET_MS:
            raise CommandError(f"Target missed: under {TARGET_MS} ms.")

    def _run(self, store, days, runs) -> list[float]:
        from marketplaces.models import StoreAccount
        from marketplaces.services.backtest import store_backtest

        edited = StoreAccount.objects.get(pk=store.pk)
        edited.markup_percent = Decimal("35.00")
        edited.volatility_buffer = True
        timings = []
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(store_backtest, store=store, edited=edited, days=days)
            pstats.Stats(profiler, stream=self.stdout).sort_stats("cumulative").print_stats(30)
        for run in range(1, runs + 1):
            started, cpu = time.perf_counter(), time.process_time()
            result = store_backtest(store=store, edited=edited, days=days)
            elapsed = (time.perf_counter() - started) * 1000
            cpu = (time.process_time() - cpu) * 1000
            timings.append(elapsed)
            self.stdout.write(
                f"run {run}: {elapsed:.0f} ms ({cpu:.0f} ms CPU here, load average {os.getloadavg()[0]:.1f}) — "
                f"saved: {result.current.hours_below_cost} h below cost, "
                f"{result.current.hours_paused} h paused, {result.current.calls} calls, margin "
                f"{result.current.average_margin}%; edited: {result.edited.hours_below_cost} h, "
                f"{result.edited.hours_paused} h, {result.edited.calls} calls, {result.edited.average_margin}%"
            )
        return timings

    def _seed(self, count: int, days: int, changes: int):
        from accounts.models import User
        from catalog.models import Availability, PriceHistory, Product, StockHistory, Supplier
        from marketplaces.models import Listing, ListingSource, ListingStatus, StoreAccount

        rng = random.Random(20261205)
        seller = User.objects.create_user(email="bench-backtest@example.com", password=None, is_demo=True)
        supplier = Supplier.objects.create(
            name="bench-backtest-example-com", base_url="https://bench-backtest.example.com", rate_limit=60
        )
        store = StoreAccount.objects.create(user=seller, marketplace="ebay", account_name="bench", currency="USD")
        backups = count // 4
        now = timezone.now()
        products = Product.objects.bulk_create(
            [
                Product(
                    supplier=supplier,
                    asin=f"BENCH{i:07d}",
                    title=f"Bench product {i}",
                    price=Decimal(rng.randint(500, 20_000)) / 100,
                    currency="USD",
                    availability=Availability.IN_STOCK,
                    stock=rng.randint(0, 40),
                    url=f"https://bench-backtest.example.com/p/{i}",
                )
                for i in range(count + backups)
            ],
            batch_size=BATCH,
        )
        listings = Listing.objects.bulk_create(
            [
                Listing(
                    user=seller,
                    product=product,
                    store_account=store,
                    title=product.title,
                    price=product.price * Decimal("1.6"),
                    quantity_available=5,
                    status=ListingStatus.ACTIVE,
                )
                for product in products[:count]
            ],
            batch_size=BATCH,
        )
        ListingSource.objects.bulk_create(
            [
                ListingSource(listing=listings[4 * i], product=products[count + i], position=1)
                for i in range(backups)
                if 4 * i < count
            ]
        )
        start = now - timedelta(days=days)
        prices, stocks = [], []
        counts = {"products": len(products), "prices": 0, "stocks": 0}

        def flush(final=False):
            if len(prices) >= BATCH or (final and prices):
                PriceHistory.objects.bulk_create(prices, batch_size=BATCH)
                counts["prices"] += len(prices)
                prices.clear()
            if len(stocks) >= BATCH or (final and stocks):
                StockHistory.objects.bulk_create(stocks, batch_size=BATCH)
                counts["stocks"] += len(stocks)
                stocks.clear()

        for product in products:
            price = product.price
            stock = product.stock
            moments = sorted(start + timedelta(seconds=rng.randint(0, days * 86_400)) for _ in range(days * changes))
            for at in moments:
                change = Decimal(rng.choice([-1, 1]) * rng.randint(50, 800)) / 10_000  # ±0.5 to 8 %
                if rng.random() < 0.03:  # now and then a jump of 15 to 30 %
                    change = Decimal(rng.randint(1500, 3000)) / 10_000
                new = max(Decimal("1.00"), (price * (1 + change)).quantize(Decimal("0.01")))
                percent = ((new - price) / price * 100).quantize(Decimal("0.01"))
                prices.append(
                    PriceHistory(
                        product=product,
                        old_price=price,
                        new_price=new,
                        currency="USD",
                        price_change_percent=percent,
                        recorded_at=at,
                    )
                )
                price = new
            for day in range(days):
                new_stock = 0 if rng.random() < 0.05 else rng.randint(1, 40)
                stocks.append(
                    StockHistory(
                        product=product,
                        old_stock=stock,
                        new_stock=new_stock,
                        old_availability=Availability.IN_STOCK if stock else Availability.OUT_OF_STOCK,
                        new_availability=Availability.IN_STOCK if new_stock else Availability.OUT_OF_STOCK,
                        recorded_at=start + timedelta(days=day, seconds=rng.randint(0, 86_399)),
                    )
                )
                stock = new_stock
            flush()
        flush(final=True)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for table in ("catalog_price_history", "catalog_stock_history", "marketplaces_listing"):
                    cursor.execute(f"ANALYZE {table}")
        return store, counts
