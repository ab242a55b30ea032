"""`manage.py bench_dashboard`: how fast the seller dashboard answers under load, warm and cold.

Starts gunicorn on a free port (or uses --url), signs the seller in by creating a Django session
for them directly in the database, times one request with the seller's AnalyticsCache rows
deleted first (cold), then runs N clients that each request the dashboard and wait a second, for
the duration (warm). Finally it counts the SQL queries of one warm dashboard request in-process.
Made for the load-test data set: `manage.py seed_demo --listings 100000 --days 365`.
"""

import importlib.util
import logging
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from catalog.models import Product
from config.commands import BaseCommand
from marketplaces.models import Listing, MarketplaceData, StoreAccount
from monitoring.analytics import analytics_invalidate

WARM_P95_TARGET_MS = 150
COLD_TARGET_MS = 1000
SERVER_START_TIMEOUT = 60
NO_SUCH_SELLER = "No user {email}: make the data set first with `manage.py seed_demo --listings 100000 --days 365`."


def percentile(values: list[float], percent: float) -> float:
    """The nearest-rank percentile (the value under which `percent` % of the samples fall)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session_for(user) -> str:
    """A signed-in browser session for `user`, made directly in the session store; its key."""
    engine = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"])
    session = engine.SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


class Command(BaseCommand):
    help = (
        "Benchmark the seller dashboard: one cold request (the seller's AnalyticsCache rows deleted), then N "
        "clients each requesting it and waiting 1 s, for a duration, against gunicorn (started here on a free "
        "port unless --url is given). Ends with: dashboard: p50 <ms> ms, p95 <ms> ms warm, cold <ms> ms, <n> queries."
    )

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=20, help="Concurrent clients (default 20).")
        parser.add_argument("--duration", type=float, default=30.0, help="Seconds of warm load (default 30).")
        parser.add_argument("--email", default="loadtest1@example.com", help="The seller whose dashboard is asked.")
        parser.add_argument(
            "--url", help="A running server sharing this database (default: start gunicorn on a free port)."
        )
        parser.add_argument("--path", default="/", help="The dashboard's path (default /).")
        parser.add_argument("--think", type=float, default=1.0, help="Seconds each client waits between requests.")
        parser.add_argument(
            "--workers", type=int, default=None, help="gunicorn worker processes (default 2 × CPUs + 1)."
        )
        parser.add_argument(
            "--cold", type=int, default=1, help="Cold requests to time (default 1); the slowest is reported."
        )
        parser.add_argument(
            "--no-analyze",
            action="store_true",
            help="On PostgreSQL, do not ANALYZE the dashboard's tables when they were never analyzed.",
        )
        parser.add_argument("--verbose-requests", action="store_true", help="Print every request's time.")
        parser.add_argument(
            "--check", action="store_true", help=f"Exit 1 unless p95 < {WARM_P95_TARGET_MS} ms and cold < 1 s."
        )

    def handle(
        self,
        *args,
        clients,
        duration,
        email,
        url,
        path,
        think,
        workers,
        cold,
        no_analyze,
        verbose_requests,
        check,
        **options,
    ):
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is --verbose-requests' job
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(NO_SUCH_SELLER.format(email=email))
        if clients < 1 or duration <= 0 or cold < 1:
            raise CommandError("--clients and --cold must be at least 1 and --duration above 0.")
        self.stdout.write(
            f"Machine: {os.cpu_count()} CPUs, {self._memory()}, load average {self._load_average()}; database "
            f"{connection.vendor} ({settings.DATABASES['default'].get('NAME')}){self._jit()}"
        )
        if not no_analyze:
            self._analyze_if_never_analyzed()
        session_key = session_for(user)
        cookies = {settings.SESSION_COOKIE_NAME: session_key}
        server = None
        try:
            if url is None:
                server, url = self._start_server(workers)
            url = url.rstrip("/")
            self._warm_up(url, path, cookies, count=workers or self._default_workers())

            cold_runs = []
            for _ in range(cold):
                analytics_invalidate(user)
                cold_runs.append(self._timed_get(url, path, cookies))
                self.stdout.write(f"Cold request (AnalyticsCache of {email} deleted): {cold_runs[-1]:.0f} ms")
            cold_ms = max(cold_runs)

            latencies, errors = self._load(url, path, cookies, clients, duration, think, verbose_requests)
        finally:
            if server is not None:
                self._stop_server(server)
            engine = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"])
            engine.SessionStore(session_key=session_key).delete()

        queries = self._query_count(user, path)
        self._in_process(user, path)
        self._report(latencies, errors, duration, clients)
        p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
        self.stdout.write(
            f"dashboard: p50 {p50:.0f} ms, p95 {p95:.0f} ms warm, cold {cold_ms:.0f} ms, {queries} queries"
        )
        met = p95 < WARM_P95_TARGET_MS and cold_ms < COLD_TARGET_MS and not errors
        if check and not met:
            raise CommandError(
                f"Targets missed: p95 under {WARM_P95_TARGET_MS} ms warm and under {COLD_TARGET_MS} ms cold, no errors."
            )

    def _analyze_if_never_analyzed(self):
        """Give the planner statistics for tables a bulk load just filled (what autovacuum does soon
        after in any deployment; a server with autovacuum off never would)."""
        if connection.vendor != "postgresql":
            return
        tables = [
            model._meta.db_table
            for model in (MarketplaceData, Listing, StoreAccount, Product, User.tracked_products.through)
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) "
                "AND last_analyze IS NULL AND last_autoanalyze IS NULL",
                [tables],
            )
            never = sorted(row[0] for row in cursor.fetchall())
            for table in never:
                cursor.execute(f'ANALYZE "{table}"')
        if never:
            self.stdout.write(f"ANALYZE {', '.join(never)}: never analyzed (autovacuum off?); --no-analyze skips this.")

    # --- the server -----------------------------------------------------------------------------

    @staticmethod
    def _default_workers() -> int:
        return 2 * (os.cpu_count() or 1) + 1

    @staticmethod
    def _load_average() -> str:
        """The machine's load average over 1, 5 and 15 minutes: other work inflates every latency."""
        try:
            return " ".join(f"{value:.2f}" for value in os.getloadavg())
        except OSError:
            return "unknown"

    @staticmethod
    def _jit() -> str:
        """PostgreSQL's JIT setting: compiling a big aggregate can cost seconds of a cold request."""
        if connection.vendor != "postgresql":
            return ""
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            return f", jit {cursor.fetchone()[0]}"

    @staticmethod
    def _memory() -> str:
        try:
            pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
            return f"{pages * size / 2**30:.1f} GiB memory"
        except (ValueError, OSError, AttributeError):
            return "memory unknown"

    def _start_server(self, workers):
        if importlib.util.find_spec("gunicorn") is None:
            raise CommandError("gunicorn is not installed (requirements.txt); or pass --url of a running server.")
        port = free_port()
        workers = workers or self._default_workers()
        log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        env = {**os.environ, "DEBUG": os.environ.get("BENCH_DEBUG", "false")}
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--error-logfile",
            log.name,
        ]
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=log)  # noqa: S603
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError(f"gunicorn stopped at start; see {log.name}")
            try:
                httpx.get(url + reverse("account_login"), timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            process.terminate()
            raise CommandError(f"gunicorn did not answer within {SERVER_START_TIMEOUT} s; see {log.name}")
        self.stdout.write(f"gunicorn: {workers} workers on {url} (pid {process.pid}, log {log.name})")
        return process, url

    @staticmethod
    def _stop_server(process):
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    # --- requests ---------------------------------------------------------------------------------

    def _timed_get(self, url, path, cookies) -> float:
        with httpx.Client(base_url=url, cookies=cookies, timeout=30) as client:
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise CommandError(f"GET {path} answered {response.status_code}: is the session valid on {url}?")
        return elapsed

    def _warm_up(self, url, path, cookies, count):
        """Let every worker load its code and templates and open its database connection (requests
        sent concurrently, so each worker gets some), so 'cold' measures the cache, not the process.
        One request goes first, alone: with nothing cached, every concurrent one would work out the
        figures at once, past the server's timeout for a seller with 100,000 listings."""
        failures = []
        self._timed_get(url, path, cookies)

        def one():
            with httpx.Client(base_url=url, cookies=cookies, timeout=60) as client:
                for _ in range(3):
                    response = client.get(path)
                    if response.status_code != 200:
                        failures.append(response.status_code)

        threads = [threading.Thread(target=one, daemon=True) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise CommandError(f"GET {path} answered {failures[0]}: is the session valid on {url}?")

    def _load(self, url, path, cookies, clients, duration, think, verbose):
        latencies, errors, lock = [], [], threading.Lock()
        start_gate = threading.Barrier(clients)
        deadline_holder = {}

        def client_loop(number):
            with httpx.Client(base_url=url, cookies=cookies, timeout=30) as client:
                start_gate.wait()
                time.sleep(random.uniform(0, think))  # spread the clients over the first second
                while time.monotonic() < deadline_holder["at"]:
                    started = time.perf_counter()
                    try:
                        response = client.get(path)
                        elapsed = (time.perf_counter() - started) * 1000
                        ok = response.status_code == 200
                        outcome = response.status_code
                    except httpx.HTTPError as exc:
                        elapsed, ok, outcome = (time.perf_counter() - started) * 1000, False, type(exc).__name__
                    with lock:
                        (latencies if ok else errors).append(elapsed if ok else outcome)
                    if verbose:
                        self.stdout.write(f"client {number:>3}: {outcome} {elapsed:7.1f} ms")
                    time.sleep(think)

        deadline_holder["at"] = time.monotonic() + duration
        threads = [threading.Thread(target=client_loop, args=(n + 1,), daemon=True) for n in range(clients)]
        self.stdout.write(f"Warm load: {clients} clients × {duration:g} s, {think:g} s between requests …")
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return latencies, errors

    def _query_count(self, user, path) -> int:
        """SQL queries of one warm dashboard request, in-process with the test client."""
        allowed = settings.ALLOWED_HOSTS
        host = "testserver" if not allowed or "*" in allowed else allowed[0].lstrip(".")
        client = Client(HTTP_HOST=host)
        client.force_login(user)
        client.get(path)  # fills the cache if anything expired meanwhile
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise CommandError(f"In-process GET {path} answered {response.status_code}.")
        client.logout()
        return len(captured)

    def _in_process(self, user, path, requests: int = 20) -> None:
        """Print the median time of warm requests made one at a time in this process (test client,
        no server, no other client): what one request costs, apart from queueing behind others."""
        allowed = settings.ALLOWED_HOSTS
        host = "testserver" if not allowed or "*" in allowed else allowed[0].lstrip(".")
        client = Client(HTTP_HOST=host)
        client.force_login(user)
        client.get(path)
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        client.logout()
        self.stdout.write(
            f"In-process, one request at a time: median {statistics.median(times):.1f} ms, fastest "
            f"{min(times):.1f} ms of {requests}; load average {self._load_average()}"
        )

    def _report(self, latencies, errors, duration, clients):
        count = len(latencies)
        self.stdout.write(f"Requests: {count} ok, {len(errors)} failed, {count / duration:.1f} per second")
        if errors:
            self.stdout.write(self.style.WARNING(f"Failures: {sorted(set(map(str, errors)))}"))
        if latencies:
            self.stdout.write(
                "Latency (ms): "
                f"min {min(latencies):.1f}, mean {statistics.fmean(latencies):.1f}, "
                f"p50 {percentile(latencies, 50):.1f}, p90 {percentile(latencies, 90):.1f}, "
                f"p95 {percentile(latencies, 95):.1f}, p99 {percentile(latencies, 99):.1f}, max {max(latencies):.1f}"
            )
