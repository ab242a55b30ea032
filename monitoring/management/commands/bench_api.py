"""`manage.py bench_api`: how fast the seller API lists listings under load.

Seeds its own seller with N listings (`seed_demo`'s load-test data, default 10,000) in a throwaway
database (created and dropped here, never the configured one), exchanges the seller's API key for
an access token, starts gunicorn on that database, then runs C clients that each request
`GET /api/v1/listings/?limit=100` and wait a second (as bench_dashboard), for the duration. Finally it
counts the SQL queries of one request in-process. The last line reads
`api: p50 <ms> ms, p95 <ms> ms warm` (target: p95 under 100 ms on PostgreSQL).

With --url, a running server sharing the configured database is used instead, and the seller's
listings are seeded there (a demo seller the schedule leaves alone).
"""

import logging
import os
import statistics
import threading
import time
from urllib.parse import quote

import httpx
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment, teardown_test_environment

from accounts.models import Tier
from accounts.tokens import api_session_create
from monitoring.demo import loadtest_seed

from .bench_dashboard import Command as DashboardBenchmark
from .bench_dashboard import percentile

P95_TARGET_MS = 100
PATH = "/api/v1/listings/?limit=100"


def database_url(settings_dict: dict) -> str:
    """The URL of a database Django is connected to (for the server process to use the same one)."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    if "postgresql" not in engine:
        raise CommandError(f"bench_api runs on PostgreSQL or SQLite, not {engine}.")
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host, port = settings_dict.get("HOST") or "localhost", settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"


class Command(DashboardBenchmark):
    help = (
        "Benchmark the seller API: seed a seller's listings (default 10,000) in a throwaway database, then N clients "
        "each requesting GET /api/v1/listings/?limit=100 and waiting 1 s, against gunicorn. Ends with: "
        "api: p50 <ms> ms, p95 <ms> ms warm."
    )

    def add_arguments(self, parser):
        parser.add_argument("--listings", type=int, default=10_000, help="Listings seeded for the seller (10,000).")
        parser.add_argument("--clients", type=int, default=20, help="Concurrent clients (default 20).")
        parser.add_argument("--duration", type=float, default=30.0, help="Seconds of warm load (default 30).")
        parser.add_argument("--think", type=float, default=1.0, help="Seconds each client waits between requests.")
        parser.add_argument(
            "--workers", type=int, default=None, help="gunicorn worker processes (default 2 × CPUs + 1)."
        )
        parser.add_argument(
            "--url", help="A running server sharing the configured database (seeded there; no throwaway database)."
        )
        parser.add_argument("--verbose-requests", action="store_true", help="Print every request's time.")
        parser.add_argument("--check", action="store_true", help=f"Exit 1 unless p95 < {P95_TARGET_MS} ms.")

    def handle(self, *args, listings, clients, duration, think, workers, url, verbose_requests, check, **options):
        logging.getLogger("httpx").setLevel(logging.WARNING)
        if listings < 1 or clients < 1 or duration <= 0:
            raise CommandError("--listings and --clients must be at least 1 and --duration above 0.")
        self.stdout.write(
            f"Machine: {os.cpu_count()} CPUs, {self._memory()}, load average {self._load_average()}; database "
            f"{connection.vendor}"
        )
        if url is not None:
            latencies, errors, queries = self._run(listings, clients, duration, think, workers, url, verbose_requests)
        else:
            setup_test_environment()
            old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
            try:
                latencies, errors, queries = self._run(
                    listings, clients, duration, think, workers, None, verbose_requests
                )
            finally:
                connections.close_all()
                connection.creation.destroy_test_db(old_name, verbosity=0)
                teardown_test_environment()
        self._report(latencies, errors, duration, clients)
        self.stdout.write(f"Queries per request: {queries}")
        p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
        self.stdout.write(f"api: p50 {p50:.0f} ms, p95 {p95:.0f} ms warm")
        if check and not (p95 < P95_TARGET_MS and not errors):
            raise CommandError(f"Target missed: p95 under {P95_TARGET_MS} ms, no errors.")

    def _run(self, listings, clients, duration, think, workers, url, verbose):
        started = time.monotonic()
        seller = loadtest_seed(listings=listings, days=1, sellers=1).users[0]
        seller.tier = Tier.ENTERPRISE  # its rate limit is far above 20 clients a second
        seller.save(update_fields=["tier"])
        seller.api_key_generate()
        token = api_session_create(user=seller, name="bench_api").access_token
        self.stdout.write(f"Seeded {listings} listings for {seller.email} in {time.monotonic() - started:.1f} s")
        self._analyze()
        headers = {"Authorization": f"Bearer {token}"}
        server = None
        try:
            if url is None:
                env_database = database_url(connection.settings_dict)
                server, url = self._start_api_server(workers, env_database)
            url = url.rstrip("/")
            self._warm(url, headers, count=workers or self._default_workers())
            latencies, errors = self._load_api(url, headers, clients, duration, think, verbose)
        finally:
            if server is not None:
                self._stop_server(server)
        return latencies, errors, self._queries(token)

    def _analyze(self):
        """Planner statistics for the tables just filled (what autovacuum does soon after a bulk load)."""
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for table in ("marketplaces_listing", "marketplaces_store_account", "catalog_product", "accounts_user"):
                cursor.execute(f'ANALYZE "{table}"')

    def _start_api_server(self, workers, database):
        previous = os.environ.get("DATABASE_URL")
        os.environ["DATABASE_URL"] = database  # the server process uses the throwaway database
        try:
            return self._start_server(workers)
        finally:
            if previous is None:
                os.environ.pop("DATABASE_URL", None)
            else:
                os.environ["DATABASE_URL"] = previous

    def _warm(self, url, headers, count):
        failures = []

        def one():
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                for _ in range(3):
                    response = client.get(PATH)
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:200]}")

        threads = [threading.Thread(target=one, daemon=True) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise CommandError(f"GET {PATH} answered {failures[0]}")

    def _load_api(self, url, headers, clients, duration, think, verbose):
        latencies, errors, lock = [], [], threading.Lock()
        start_gate = threading.Barrier(clients)
        deadline = {}

        def client_loop(number):
            with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
                start_gate.wait()
                time.sleep(think * number / clients)  # spread the clients over the first second
                while time.monotonic() < deadline["at"]:
                    began = time.perf_counter()
                    try:
                        response = client.get(PATH)
                        elapsed = (time.perf_counter() - began) * 1000
                        ok, outcome = response.status_code == 200, response.status_code
                    except httpx.HTTPError as exc:
                        elapsed, ok, outcome = (time.perf_counter() - began) * 1000, False, type(exc).__name__
                    with lock:
                        (latencies if ok else errors).append(elapsed if ok else outcome)
                    if verbose:
                        self.stdout.write(f"client {number:>3}: {outcome} {elapsed:7.1f} ms")
                    time.sleep(think)

        deadline["at"] = time.monotonic() + duration
        threads = [threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(clients)]
        self.stdout.write(
            f"Warm load: {clients} clients × {duration:g} s on GET {PATH}, {think:g} s between requests …"
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return latencies, errors

    def _queries(self, token) -> int:
        """SQL queries of one request, in-process (the same for 100 listings as for 5: a test holds it)."""
        allowed = settings.ALLOWED_HOSTS
        host = "testserver" if not allowed or "*" in allowed else allowed[0].lstrip(".")
        client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")
        # The query log keeps at most 9,000 entries: a full one (after the seeding) would count none.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(PATH)
        if response.status_code != 200:
            raise CommandError(f"In-process GET {PATH} answered {response.status_code}.")
        times = []
        for _ in range(20):
            began = time.perf_counter()
            client.get(PATH)
            times.append((time.perf_counter() - began) * 1000)
        self.stdout.write(
            f"In-process, one request at a time: median {statistics.median(times):.1f} ms, fastest "
            f"{min(times):.1f} ms of {len(times)}; load average {self._load_average()}"
        )
        return len(captured)
