"""`manage.py bench_orders`: how fast the Orders page answers a large seller under load.

Seeds its own seller (bench-orders@example.com, flagged demo) with --orders orders over a year
(only the ones missing are added), gives PostgreSQL fresh statistics and visibility for the two
tables it just filled, then runs the same load as bench_dashboard: gunicorn on a free port (or
--url), N clients each requesting /orders/ and waiting a second, for the duration. The last line
is `orders: p50 X ms, p95 Y ms warm`.
"""

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from marketplaces.models import Order, Sale
from monitoring.demo import ORDERS_LOADTEST_EMAIL, DemoSeedError, orders_loadtest_seed

from .bench_dashboard import Command as DashboardBenchmark
from .bench_dashboard import percentile, session_for

WARM_P95_TARGET_MS = 150


class Command(DashboardBenchmark):
    help = (
        "Benchmark the Orders page: seed --orders orders (100,000 by default) for its own seller, then N clients "
        "each requesting /orders/ and waiting 1 s, for a duration, against gunicorn (started here unless --url is "
        "given). Ends with: orders: p50 <ms> ms, p95 <ms> ms warm."
    )

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=100_000, help="Orders of the seller (default 100000).")
        parser.add_argument("--days", type=int, default=365, help="Days the orders are spread over (default 365).")
        parser.add_argument("--clients", type=int, default=20, help="Concurrent clients (default 20).")
        parser.add_argument("--duration", type=float, default=30.0, help="Seconds of warm load (default 30).")
        parser.add_argument("--email", default=ORDERS_LOADTEST_EMAIL, help="The seller whose orders are asked.")
        parser.add_argument("--url", help="A running server sharing this database (default: start gunicorn).")
        parser.add_argument("--path", default=None, help="The Orders page's path (default /orders/).")
        parser.add_argument("--think", type=float, default=1.0, help="Seconds each client waits between requests.")
        parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default 2 × CPUs + 1).")
        parser.add_argument("--verbose-requests", action="store_true", help="Print every request's time.")
        parser.add_argument("--check", action="store_true", help=f"Exit 1 unless p95 < {WARM_P95_TARGET_MS} ms.")

    def handle(
        self, *args, orders, days, clients, duration, email, url, path, think, workers, verbose_requests, check, **o
    ):
        if orders < 1 or days < 1 or clients < 1 or duration <= 0:
            raise CommandError("--orders, --days and --clients must be at least 1 and --duration above 0.")
        path = path or reverse("marketplaces:order_list")
        try:
            seller, made = orders_loadtest_seed(count=orders, days=days, email=email, progress=self._progress)
        except DemoSeedError as exc:
            raise CommandError(str(exc)) from exc
        total = Order.objects.filter(user=seller).count()
        self.stdout.write(f"Seller {seller.email}: {total} orders ({made} added now)")
        if made:
            self._vacuum_analyze()
        session_key = session_for(seller)
        cookies = {settings.SESSION_COOKIE_NAME: session_key}
        server = None
        try:
            if url is None:
                server, url = self._start_server(workers)
            url = url.rstrip("/")
            self._warm_up(url, path, cookies, count=workers or self._default_workers())
            latencies, errors = self._load(url, path, cookies, clients, duration, think, verbose_requests)
        finally:
            if server is not None:
                self._stop_server(server)
            engine = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"])
            engine.SessionStore(session_key=session_key).delete()
        queries = self._query_count(seller, path)
        self._in_process(seller, path)
        self._report(latencies, errors, duration, clients)
        self.stdout.write(f"Queries of one Orders page: {queries}")
        p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
        self.stdout.write(f"orders: p50 {p50:.0f} ms, p95 {p95:.0f} ms warm")
        if check and (errors or not p95 < WARM_P95_TARGET_MS):
            raise CommandError(f"Target missed: p95 under {WARM_P95_TARGET_MS} ms warm, no errors.")

    def _progress(self, message):
        self.stdout.write(message)

    def _vacuum_analyze(self):
        """Statistics and a visibility map for the rows just written (what autovacuum does soon after),
        so the planner and the page's count see the tables as a running deployment would."""
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for model in (Order, Sale):
                cursor.execute(f'VACUUM (ANALYZE) "{model._meta.db_table}"')
        self.stdout.write("VACUUM (ANALYZE) of the orders and their lines done.")
