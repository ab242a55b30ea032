"""Benchmark of the refresh pipeline against the real saved pages, served on 127.0.0.1.

Runs in a throwaway test database (created and dropped here), never in the configured one.
"""

import json
import multiprocessing
import os
import queue
import socketserver
import statistics
import time
import uuid

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test.utils import override_settings, setup_test_environment, teardown_test_environment
from selectolax.lexbor import LexborHTMLParser

from accounts.models import User
from catalog import identify
from catalog.extraction import extract
from catalog.models import Product, Supplier
from catalog.readings import URL_NUMBERED_FAMILIES, page_stated_id
from catalog.refreshing import products_refresh
from catalog.services import products_claim
from config.celery import freeze_startup_objects
from config.commands import BaseCommand
from config.material import MaterialMissing, material_path


class _PageServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, files: dict, delay: float, sent):
        self.files, self.delay, self.sent = files, delay, sent
        super().__init__(("127.0.0.1", 0), _PageHandler)


class _PageHandler(socketserver.StreamRequestHandler):
    """GETs on kept-alive HTTP/1.1 connections, answered with a saved page sent straight from its
    file: no more of HTTP than the benchmark needs, so that the server's own work stays small next
    to the pipeline's (a supplier's CPU is not ours)."""

    disable_nagle_algorithm = True  # as web servers do on kept-alive connections

    def handle(self):
        server = self.server
        while request_line := self.rfile.readline(65536):
            while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                pass  # the request's headers
            if server.sent is not None:
                server.sent.put(time.time())
            if server.delay:
                time.sleep(server.delay)
            target = request_line.split()[1].decode() if len(request_line.split()) > 1 else ""
            path = server.files.get(target.split("?")[0].rsplit("/", 1)[-1])
            if path is None:
                self.wfile.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                continue
            with open(path, "rb") as page:
                size = os.fstat(page.fileno()).st_size
                self.wfile.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n" % size
                )
                self.connection.sendfile(page)


def _serve(files: dict, delay: float, port, sent):
    server = _PageServer(files, delay, sent)
    port.put(server.server_address[1])
    server.serve_forever()


class SupplierSite:
    """The saved pages (name → file) served by a separate process, as a remote supplier would be
    (its CPU is not ours); with `record`, it reports the time of every request it received."""

    def __init__(self, files: dict, delay: float = 0.0, *, record: bool = False):
        port = multiprocessing.Queue()
        self._sent = multiprocessing.Queue() if record else None
        self._process = multiprocessing.Process(target=_serve, args=(files, delay, port, self._sent), daemon=True)
        self._process.start()
        self.base_url = f"http://127.0.0.1:{port.get(timeout=30)}"

    def request_times(self) -> list[float]:
        times = []
        while True:
            try:
                times.append(self._sent.get(timeout=0.5))
            except queue.Empty:
                return sorted(times)

    def close(self):
        self._process.terminate()
        self._process.join()


def median_run(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The (products/s, ceiling) run whose ratio is the median; with an even count, the lower of
    the middle two, so the figure is never flattered."""
    ordered = sorted(runs, key=lambda run: run[0] / run[1])
    return ordered[(len(ordered) - 1) // 2]


def busiest_window(times: list[float], width: float = 60.0) -> int:
    """Most requests that fell in any `width`-second span."""
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= width:
            start += 1
        best = max(best, end - start + 1)
    return best


class Command(BaseCommand):
    help = (
        "Benchmark the refresh pipeline (claim, fetch, extract, apply) on the saved supplier pages "
        "served from a local HTTP server, in a throwaway database. Prints products refreshed per "
        "second against the selectolax parse ceiling, then the request rate achieved under a "
        "supplier rate limit with a slow server."
    )

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=1000, help="Products refreshed in each throughput run.")
        parser.add_argument(
            "--runs", type=int, default=3, help="Throughput runs, each between two ceilings; the median is printed."
        )
        parser.add_argument("--duration", type=float, default=70.0, help="Seconds of the rate-limit run (≥ 30).")
        parser.add_argument("--limit", type=int, default=600, help="Supplier rate limit (requests/minute).")
        parser.add_argument("--delay", type=float, default=0.5, help="Server delay per response in the rate run.")
        parser.add_argument(
            "--concurrency", type=int, default=8, help="Most reading threads in the worker (TRACK_CONCURRENCY)."
        )

    def handle(self, *args, **options):
        try:
            expected = material_path("pages/expected.json")
        except MaterialMissing as exc:
            raise CommandError(str(exc)) from None
        if options["duration"] < 30:
            raise CommandError("--duration must be at least 30 seconds.")
        if options["runs"] < 1:
            raise CommandError("--runs must be at least 1.")
        entries = [e for e in json.loads(expected.read_text()) if not e.get("blocked")]
        pages = {f"p{i}": expected.parent / e["file"] for i, e in enumerate(entries)}
        families = {f"p{i}": e["supplier"] for i, e in enumerate(entries)}
        bodies = [path.read_bytes() for path in pages.values()]
        self.stdout.write(
            f"{len(pages)} pages, {statistics.mean(map(len, bodies)) / 1024:.0f} KiB on average; "
            f"database {connection.vendor}; {os.cpu_count()} CPUs"
        )
        ceiling = self._parse_ceiling(bodies)

        setup_test_environment()
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        freeze_startup_objects()  # as a worker does once started
        try:
            # As in production: DEBUG off (no query log), the local server allowed as a supplier.
            with override_settings(
                DEBUG=False, SCRAPER_ALLOWED_HOSTS=["127.0.0.1"], TRACK_CONCURRENCY=options["concurrency"]
            ):
                # This machine's speed drifts (a shared virtual CPU): the ceiling is taken on both
                # sides of every run and the faster kept, so no run's ratio is flattered, and the
                # median run is printed, so neither is one fast or slow moment.
                page_ids = self._page_ids(pages, families)
                runs = []
                for number in range(1, options["runs"] + 1):
                    refreshed = self._throughput(pages, families, page_ids, options)
                    after = self._parse_ceiling(bodies)
                    runs.append((refreshed, max(ceiling, after)))
                    self.stdout.write(
                        f"run {number}: {refreshed:.1f} products/s, parse ceiling {runs[-1][1]:.1f} pages/s, "
                        f"ratio {refreshed / runs[-1][1]:.2f}"
                    )
                    ceiling = after
                refreshed, ceiling = median_run(runs)
                rate, window, limit = self._rate(pages, families, options)
        finally:
            connections.close_all()
            connection.creation.destroy_test_db(old_name, verbosity=0)
            teardown_test_environment()

        self.stdout.write(
            f"refresh: {refreshed:.1f} products/s, parse ceiling {ceiling:.1f} pages/s, ratio {refreshed / ceiling:.2f}"
        )
        self.stdout.write(
            f"rate: {rate:.0f}/min of {limit}/min, fraction {rate / limit:.3f}, busiest 60 s window {window}/min"
        )

    def _parse_ceiling(self, bodies: list[bytes]) -> float:
        """Pages per second that parsing alone manages, the fastest way lexbor offers (bytes in,
        one thread), on the same pages in this process."""
        rounds, started = 0, time.perf_counter()
        while time.perf_counter() - started < 3.0:
            for body in bodies:
                LexborHTMLParser(body).css_first("title")
            rounds += 1
        return rounds * len(bodies) / (time.perf_counter() - started)

    def _page_ids(self, pages, families) -> dict:
        """The id each page's product must have to pass the identity check (the id the page states,
        else the one in its canonical URL; None when it names none), read once before timing."""
        ids = {}
        for key, path in pages.items():
            family = families[key]
            config = Supplier.objects.get(name=family).scraper_config
            extraction = extract(path.read_bytes(), supplier_config=config, family=family, url=f"http://bench/{key}")
            canonical_id = identify.product_id_from_url(extraction.canonical_url, family, {family: config})
            stated = page_stated_id(extraction) if family not in URL_NUMBERED_FAMILIES else None
            ids[key] = stated or (canonical_id if family != "generic" else None)
        return ids

    def _setup(self, pages, families, page_ids, count, *, base_url, rate_limit, one_site=False):
        """`count` products over the saved pages, each the product its page shows (so the readings
        pass the identity check): the same page's products are one item on different sites, a site
        per family and round of pages. With `one_site`, one site holds every product and only the
        pages that state no id are used (one item can be only one product of a site)."""
        seller = User.objects.create_user(f"bench-{uuid.uuid4().hex[:8]}@example.com", tier="enterprise")
        keys = [key for key in pages if not (one_site and page_ids[key])]
        # Saved pages of one item (the same ASIN in two layouts) go to different sites of their family.
        seen_ids: dict = {}
        twin = {}
        for key in keys:
            same = (families[key], page_ids[key])
            twin[key] = seen_ids.get(same, 0) if page_ids[key] else 0
            seen_ids[same] = twin[key] + 1
        sites: dict = {}

        def site_for(page_key, copy):
            family = families[page_key]
            key = (family, 0 if one_site else copy, twin[page_key])
            if key not in sites:
                sites[key] = Supplier.objects.create(
                    name=f"bench-{family}-{key[1]}-{uuid.uuid4().hex[:6]}",
                    family=Supplier.objects.get(name=family),
                    base_url=base_url,
                    rate_limit=rate_limit,
                )
            return sites[key]

        products = Product.objects.bulk_create(
            Product(
                supplier=site_for(keys[i % len(keys)], i // len(keys)),
                asin=page_ids[keys[i % len(keys)]] or f"BENCH{i:06d}",
                url=f"{base_url}/item/{i}/{keys[i % len(keys)]}",
            )
            for i in range(count)
        )
        seller.tracked_products.add(*products)
        return [product.pk for product in products]

    def _run_rounds(self, product_ids):
        """The catalog's refresh pipeline as a tracking round runs it: claim, read, write."""

        remaining = list(product_ids)
        while remaining:
            batch, remaining = remaining[: settings.TRACK_BATCH_SIZE], remaining[settings.TRACK_BATCH_SIZE :]
            products = products_claim(limit=len(batch), product_ids=batch)
            products_refresh(products, concurrency=settings.TRACK_CONCURRENCY)

    def _throughput(self, pages, families, page_ids, options) -> float:
        site = SupplierSite(pages)
        try:
            ids = self._setup(pages, families, page_ids, options["products"], base_url=site.base_url, rate_limit=10**6)
            started = time.perf_counter()
            self._run_rounds(ids)
            elapsed = time.perf_counter() - started
        finally:
            site.close()
        done = Product.objects.filter(pk__in=ids, last_scraped_at__isnull=False).count()
        self.stdout.write(f"throughput run: {done}/{len(ids)} products refreshed in {elapsed:.1f} s")
        return done / elapsed

    def _rate(self, pages, families, options):
        limit, duration = options["limit"], options["duration"]
        site = SupplierSite(pages, delay=options["delay"], record=True)
        try:
            # One supplier site for the whole run, so one limit governs every request.
            one_family = {key: "generic" for key in families}
            count = int(limit / 60 * duration)
            page_ids = self._page_ids(pages, one_family)
            ids = self._setup(
                pages, one_family, page_ids, count, base_url=site.base_url, rate_limit=limit, one_site=True
            )
            self._run_rounds(ids)
            times = site.request_times()
        finally:
            site.close()
        span = times[-1] - times[0] if len(times) > 1 else 1.0
        achieved = (len(times) - 1) / span * 60
        self.stdout.write(f"rate run: {len(times)} requests in {span:.1f} s")
        return achieved, busiest_window(times), limit
