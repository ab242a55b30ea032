"""Benchmark of a fleet of workers: 1, 2 and 4 Celery worker processes (each with its reading
threads) running tracking rounds against one PostgreSQL and one Redis, on the saved supplier pages
served from a local HTTP server, in a throwaway database.

For each process count it prints

    fleet: P processes, X products/s, duplicates D, busiest minute M of L/min

duplicates: readings applied twice to one product (counted by a trigger on the product table: must
be 0); busiest minute: the most requests any one supplier site received in a 60-second window,
across all the processes, against its rate limit (must not be above it). A second line gives
what one refresh costs (worker CPU, database statements and round trips, Redis commands) and the
most database connections the fleet held; the last line scales those to a million products an
hour (README, "Scale out").
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import queue
import random
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.db.models import Count
from django.test.utils import setup_test_environment, teardown_test_environment

from accounts.models import User
from catalog import identify
from catalog.extraction import extract
from catalog.management.commands.bench_refresh import busiest_window
from catalog.models import Product, Supplier
from catalog.readings import page_stated_id
from config.material import MaterialMissing, material_path
from monitoring.cycle import TRACKING_JOB_TYPE
from monitoring.models import Job, JobStatus, WorkerHeartbeat
from monitoring.records import job_enqueue
from monitoring.tasks import tracking_cycle_task

NEEDS_SERVICES = "bench_fleet needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL): the fleet shares both."
PRODUCTS_PER_HOUR = 1_000_000
WORKER_START_TIMEOUT = 120  # seconds for a worker process to start on a busy machine
READINGS_TABLE = "bench_fleet_reading"
# Every reading applied (or held) sets last_scraped_at: the trigger notes each, so a product that
# got two in one run shows as a duplicate whichever process wrote them.
READINGS_TRIGGER = f"""
CREATE TABLE {READINGS_TABLE} (
    product_id bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), job_id bigint, status text
);
CREATE FUNCTION bench_fleet_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {READINGS_TABLE} (product_id, job_id, status) VALUES (NEW.id, NEW.refresh_job_id, NEW.refresh_status);
    RETURN NEW;
END $$;
CREATE TRIGGER bench_fleet_note AFTER UPDATE OF last_scraped_at ON catalog_product FOR EACH ROW
WHEN (NEW.last_scraped_at IS DISTINCT FROM OLD.last_scraped_at) EXECUTE FUNCTION bench_fleet_note();
"""


# --- The supplier sites ------------------------------------------------------------------------


class _SiteServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, files: dict, delay: float, sent):
        self.files, self.delay, self.sent = files, delay, sent
        super().__init__(("127.0.0.1", 0), _SiteHandler)


class _SiteHandler(socketserver.StreamRequestHandler):
    """GETs on kept-alive connections, answered with a saved page sent from its file; each request
    is reported with the site it was for (the first segment of its path: /s<n>/…)."""

    disable_nagle_algorithm = True

    def handle(self):
        # A worker stopped at the end of a run closes its connections mid-request.
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            self._serve_requests()

    def _serve_requests(self):
        server = self.server
        while request_line := self.rfile.readline(65536):
            while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.split()
            target = parts[1].decode() if len(parts) > 1 else ""
            server.sent.put((time.time(), target.split("/")[1] if target.count("/") > 1 else ""))
            if server.delay:
                time.sleep(server.delay)
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


def _serve(files, delay, port, sent):
    server = _SiteServer(files, delay, sent)
    port.put(server.server_address[1])
    server.serve_forever()


class Sites:
    """The saved pages served by a separate process, as remote suppliers would be."""

    def __init__(self, files: dict, delay: float):
        port = multiprocessing.Queue()
        self._sent = multiprocessing.Queue()
        self._process = multiprocessing.Process(target=_serve, args=(files, delay, port, self._sent), daemon=True)
        self._process.start()
        self.base_url = f"http://127.0.0.1:{port.get(timeout=30)}"

    def requests(self) -> dict[str, list[float]]:
        """The times of the requests received since the last call, by site."""
        by_site = defaultdict(list)
        while True:
            try:
                moment, site = self._sent.get(timeout=0.5)
            except queue.Empty:
                return {site: sorted(times) for site, times in by_site.items()}
            by_site[site].append(moment)

    def close(self):
        self._process.terminate()
        self._process.join()


# --- The workers -------------------------------------------------------------------------------


def _database_url() -> str:
    config = connection.settings_dict
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgres://{config['USER']}{password}@{config['HOST'] or '127.0.0.1'}{port}/{config['NAME']}"


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Worker:
    """`manage.py bench_fleet --as-worker`: a Celery worker (solo pool: the tracking round and its
    reading threads run in this one process) that counts its database statements and Redis commands."""

    def __init__(self, *, name: str, env: dict, stats_dir: Path):
        self.name = name
        self.stats = stats_dir / f"{name}.json"
        self.log = stats_dir / f"{name}.log"
        environment = {**os.environ, **env, "BENCH_FLEET_STATS": str(self.stats)}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [sys.executable, "manage.py", "bench_fleet", "--as-worker", name],
                cwd=settings.BASE_DIR,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def counts(self) -> dict:
        try:
            return json.loads(self.stats.read_text())
        except (OSError, ValueError):
            return {}

    def cpu(self) -> float:
        return _cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def run_counted_worker(name: str) -> None:
    """The worker side of the benchmark: count what reaches PostgreSQL (statements, and round trips:
    an executemany is one) and Redis, write the counts every half second, then run the worker."""
    import psycopg
    import redis

    from config.celery import app

    counts = {"statements": 0, "round_trips": 0, "redis": 0}
    lock = threading.Lock()

    def counted(method, statements):
        def wrapper(self, *args, **kwargs):
            with lock:
                counts["statements"] += statements(args, kwargs)
                counts["round_trips"] += 1
            return method(self, *args, **kwargs)

        return wrapper

    psycopg.Cursor.execute = counted(psycopg.Cursor.execute, lambda args, kwargs: 1)
    psycopg.Cursor.executemany = counted(
        psycopg.Cursor.executemany, lambda args, kwargs: len(args[1]) if len(args) > 1 else 1
    )
    execute_command, pipeline_execute = redis.Redis.execute_command, redis.client.Pipeline.execute

    def redis_command(self, *args, **kwargs):
        with lock:
            counts["redis"] += 1
        return execute_command(self, *args, **kwargs)

    def redis_pipeline(self, *args, **kwargs):
        with lock:
            counts["redis"] += len(self.command_stack)
        return pipeline_execute(self, *args, **kwargs)

    redis.Redis.execute_command, redis.client.Pipeline.execute = redis_command, redis_pipeline
    path = Path(os.environ["BENCH_FLEET_STATS"])

    def write():
        while True:
            with lock:
                snapshot = dict(counts)
            path.with_suffix(".tmp").write_text(json.dumps(snapshot))
            path.with_suffix(".tmp").replace(path)
            time.sleep(0.5)

    threading.Thread(target=write, daemon=True).start()
    app.worker_main(
        [
            "worker",
            "--pool",
            "solo",
            "--hostname",
            f"{name}@{socket.gethostname()}",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


# --- The benchmark -----------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Benchmark a fleet of 1, 2 and 4 worker processes refreshing products together against one "
        "PostgreSQL and one Redis, from the saved pages on a local server, in a throwaway database. "
        "Prints products per second, duplicated readings (must be 0) and each supplier's busiest "
        "minute against its limit (must not be above it), what one refresh costs, and that cost "
        "scaled to a million products an hour."
    )

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=6000, help="Products due in each run.")
        parser.add_argument("--duration", type=float, default=90.0, help="Most seconds of each run.")
        parser.add_argument("--processes", default="1,2,4", help="Worker process counts, one run each.")
        parser.add_argument("--limit", type=int, default=1200, help="The family sites' rate limit (requests/minute).")
        parser.add_argument(
            "--shop-limit",
            dest="shop_limit",
            type=int,
            default=300,
            help="The shop site's rate limit (requests/minute).",
        )
        parser.add_argument(
            "--shop-share", dest="shop_share", type=float, default=0.1, help="Share of the products on the shop site."
        )
        parser.add_argument("--delay", type=float, default=0.05, help="Seconds the server takes per page.")
        parser.add_argument("--concurrency", type=int, default=8, help="Most reading threads per worker.")
        parser.add_argument(
            "--changed",
            type=float,
            default=0.1,
            help="Share of products whose supplier price moved since their last reading (their listings and "
            "alerts follow); the others read unchanged, as most do between two readings.",
        )
        parser.add_argument("--as-worker", dest="as_worker", help=argparse.SUPPRESS)  # a worker of the fleet

    def handle(self, *args, **options):
        if options["as_worker"]:
            run_counted_worker(options["as_worker"])
            return
        try:
            counts = [int(part) for part in options["processes"].split(",")]
        except ValueError:
            raise CommandError("--processes takes worker counts separated by commas, e.g. 1,2,4.") from None
        if not counts or min(counts) < 1 or options["products"] < 1 or options["limit"] < 1:
            raise CommandError("--processes, --products and --limit must be positive.")
        if not (0 <= options["changed"] <= 1 and 0 <= options["shop_share"] <= 1) or options["shop_limit"] < 1:
            raise CommandError("--changed and --shop-share are shares between 0 and 1; --shop-limit is positive.")
        if connection.vendor != "postgresql" or not settings.REDIS_URL:
            raise CommandError(NEEDS_SERVICES)
        try:
            expected = material_path("pages/expected.json")
        except MaterialMissing as exc:
            raise CommandError(str(exc)) from None
        entries = [entry for entry in json.loads(expected.read_text()) if not entry.get("blocked")]
        pages = {f"p{i}": expected.parent / entry["file"] for i, entry in enumerate(entries)}
        families = {f"p{i}": entry["supplier"] for i, entry in enumerate(entries)}

        setup_test_environment()
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        sites = Sites(pages, options["delay"])
        results = []
        try:
            with connection.cursor() as cursor:
                cursor.execute(READINGS_TRIGGER)
            info = self._pages(pages, families)
            self.stdout.write(
                f"{len(pages)} saved pages; {options['products']} products a run, {options['shop_share']:.0%} on "
                f"a shop site of {options['shop_limit']}/min, the rest on sites of {options['limit']}/min; "
                f"{os.cpu_count()} CPUs"
            )
            for processes in counts:
                results.append(self._run(processes, info, sites, options))
        finally:
            sites.close()
            connections.close_all()
            connection.creation.destroy_test_db(old_name, verbosity=0)
            teardown_test_environment()
        self._sizing(results)

    def _run(self, processes: int, info: dict, sites: Sites, options) -> dict:
        run = uuid.uuid4().hex[:6]
        products, shop = self._products(run, info, sites, options)
        queue_name = f"bench-fleet-{run}"
        from config.celery import app

        app.conf.task_default_queue = queue_name
        env = {
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_QUEUE": queue_name,
            "TRACK_CONCURRENCY": str(options["concurrency"]),
            # Batches small enough that every process has several to claim (500 in production, where
            # the catalogue is far larger than a batch per process).
            "TRACK_BATCH_SIZE": str(min(500, max(10, options["products"] // (8 * processes)))),
            "SCRAPER_ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "false",
        }
        stats_dir = Path(settings.VAR_DIR) / "bench-fleet"
        stats_dir.mkdir(parents=True, exist_ok=True)
        workers = [Worker(name=f"bench-{run}-{n}", env=env, stats_dir=stats_dir) for n in range(processes)]
        try:
            self._wait_started(workers)
            cpu_before = sum(worker.cpu() for worker in workers)
            counted_before = [worker.counts() for worker in workers]
            sites.requests()  # forget the requests of setting up
            started = time.monotonic()
            for _ in range(processes):  # one round per worker, all claiming from the same due products
                job = Job.objects.create(type=TRACKING_JOB_TYPE, task_name=tracking_cycle_task.name)
                if not job_enqueue(job, tracking_cycle_task):
                    raise CommandError("Could not send the rounds to Redis.")
            unlimited = sorted(set(products) - set(shop))
            peak_connections = self._wait_read(unlimited, started, options["duration"])
            read = Product.objects.filter(pk__in=products, last_scraped_at__isnull=False).count()
            elapsed = time.monotonic() - started
            cpu = sum(worker.cpu() for worker in workers) - cpu_before
            time.sleep(1.0)  # the workers' last counts
            counted = defaultdict(int)
            for worker, before in zip(workers, counted_before, strict=True):
                for key, value in worker.counts().items():
                    counted[key] += value - before.get(key, 0)
        finally:
            for worker in workers:
                worker.stop()
            Job.objects.filter(status__in=[JobStatus.PENDING, JobStatus.RUNNING]).update(status=JobStatus.CANCELLED)
            self._forget_queue(queue_name)
            # The products a run left unread are no longer due: the next run's workers read only theirs.
            Product.objects.filter(pk__in=products).update(is_archived=True)
        requests = sites.requests()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) - count(DISTINCT product_id) FROM {READINGS_TABLE} WHERE product_id = ANY(%s)",  # noqa: S608
                [products],
            )
            [(duplicates,)] = cursor.fetchall()
            if duplicates:
                # What the twice-read products went through, for whoever looks into it.
                reading = "to_char(at, 'HH24:MI:SS.MS') || ' job ' || coalesce(job_id::text, '-') || ' ' || status"
                cursor.execute(
                    f"SELECT product_id, string_agg({reading}, ', ' ORDER BY at) FROM {READINGS_TABLE}"  # noqa: S608
                    " WHERE product_id = ANY(%s) GROUP BY product_id HAVING count(*) > 1 ORDER BY min(at) LIMIT 5",
                    [products],
                )
                for product_id, readings in cursor.fetchall():
                    self.stdout.write(f"  read twice: product {product_id}: {readings}")
        outcomes = dict(
            Product.objects.filter(pk__in=products).order_by().values_list("refresh_status").annotate(n=Count("pk"))
        )
        limits = dict(Supplier.objects.filter(products__pk__in=products).values_list("pk", "rate_limit").distinct())
        # The site of this run whose busiest minute came closest to its limit (across all the processes).
        busiest, limit = max(
            (
                (busiest_window(times), limits[int(site[1:])])
                for site, times in requests.items()
                if site[1:].isdigit() and int(site[1:]) in limits
            ),
            key=lambda pair: pair[0] / pair[1],
            default=(0, options["limit"]),
        )
        result = {
            "processes": processes,
            "rate": read / elapsed,
            "cpu_ms": 1000 * cpu / max(read, 1),
            "statements": counted["statements"] / max(read, 1),
            "round_trips": counted["round_trips"] / max(read, 1),
            "redis": counted["redis"] / max(read, 1),
            "connections": peak_connections,
        }
        self.stdout.write(
            f"fleet: {processes} processes, {result['rate']:.1f} products/s, duplicates {duplicates}, "
            f"busiest minute {busiest} of {limit}/min"
        )
        self.stdout.write(
            f"  {read}/{len(products)} products in {elapsed:.1f} s; per refresh {result['cpu_ms']:.1f} CPU-ms, "
            f"{result['statements']:.1f} statements ({result['round_trips']:.1f} round trips), "
            f"{result['redis']:.1f} Redis commands; at most {peak_connections} database connections"
        )
        self.stdout.write(
            "  outcomes: " + ", ".join(f"{status or 'not read'} {n}" for status, n in sorted(outcomes.items()))
        )
        return result

    def _pages(self, pages: dict, families: dict) -> dict:
        """Per saved page: its family, the id it states (a product of a site must have it to pass the
        identity check; None when it names none) and whether it reads as a product page."""
        info = {}
        for key, path in pages.items():
            family = families[key]
            config = Supplier.objects.get(name=family).scraper_config
            extraction = extract(path.read_bytes(), supplier_config=config, family=family, url=f"http://bench/{key}")
            canonical_id = identify.product_id_from_url(extraction.canonical_url, family, {family: config})
            stated = page_stated_id(extraction) or (canonical_id if family != "generic" else None)
            info[key] = {
                "family": family,
                "id": stated,
                "good": not extraction.layout_unrecognised,
                # What the page says, stored on its products so that a reading finds them unchanged.
                "known": {
                    "price": extraction.price,
                    "currency": extraction.currency or "",
                    "stock": extraction.stock,
                    "availability": extraction.availability or "unknown",
                    "title": (extraction.title or "")[:500],
                    "description": extraction.description or "",
                    "rating": extraction.rating,
                    "reviews_count": extraction.reviews_count,
                    "images": extraction.images or [],
                },
            }
        return info

    def _products(self, run: str, info: dict, sites: Sites, options) -> tuple[list[int], list[int]]:
        """The run's products (and those of the shop), all due, each the product its page shows: a
        share on one shop site with a low limit that they keep busy the whole run (the pages that
        state no id can be any number of its products), the rest on sites of their page's family (a
        page stating an id is one product per site: a site per family and round of pages). A site's
        id names it in the page server's log."""
        seller = User.objects.create_user(f"bench-fleet-{run}@example.com", tier="enterprise")
        suppliers: dict = {}

        def site(family, copy):
            if (family, copy) not in suppliers:
                supplier = Supplier.objects.create(
                    name=f"bench-fleet-{run}-{family}-{copy}",
                    family=Supplier.objects.get(name=family),
                    base_url=sites.base_url,
                    rate_limit=options["limit"],
                )
                supplier.base_url = f"{sites.base_url}/x{supplier.pk}"
                supplier.save(update_fields=["base_url"])
                suppliers[family, copy] = supplier
            return suppliers[family, copy]

        shop_keys = [
            key for key, page in info.items() if page["good"] and page["family"] == "generic" and not page["id"]
        ]
        by_id = {
            (page["family"], page["id"]): key for key, page in reversed(info.items()) if page["good"] and page["id"]
        }
        site_keys = sorted(by_id.values(), key=list(info).index)  # one page per product a site can have
        shop_count = round(options["products"] * options["shop_share"]) if shop_keys else 0
        changed_every = max(1, round(1 / options["changed"])) if options["changed"] > 0 else options["products"] + 1
        products = []
        for number in range(options["products"]):
            if number < shop_count:
                key, supplier = shop_keys[number % len(shop_keys)], site("generic", "shop")
                asin, shop = f"SHOP{number:07d}", supplier
            else:
                index = number - shop_count
                key = site_keys[index % len(site_keys)]
                supplier, asin = site(info[key]["family"], index // len(site_keys)), info[key]["id"]
            known = dict(info[key]["known"])
            if known["price"] is not None and number % changed_every == 0:  # the supplier moved its price
                known["price"] = (known["price"] * Decimal("0.9")).quantize(Decimal("0.01"))
            products.append(
                Product(supplier=supplier, asin=asin, url=f"{supplier.base_url}/item/{number}/{key}", **known)
            )
        random.Random(1).shuffle(products)  # a catalogue's products come in no order of site
        products = Product.objects.bulk_create(products)
        seller.tracked_products.add(*products)
        if shop is not None:
            Supplier.objects.filter(pk=shop.pk).update(rate_limit=options["shop_limit"])
        return [product.pk for product in products], [product.pk for product in products if product.supplier == shop]

    def _wait_started(self, workers: list[Worker]) -> None:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        names = {f"{worker.name}@{socket.gethostname()}" for worker in workers}
        while time.monotonic() < deadline:
            if WorkerHeartbeat.objects.filter(hostname__in=names).count() == len(names):
                return
            for worker in workers:
                if worker.process.poll() is not None:
                    raise CommandError(f"Worker {worker.name} stopped; its log: {worker.log}")
            time.sleep(0.2)
        raise CommandError(
            f"The workers did not start within {WORKER_START_TIMEOUT} s; logs in {workers[0].log.parent}"
        )

    def _wait_read(self, products: list[int], started: float, duration: float) -> int:
        """Until every one of the products was read or `duration` passed; the most connections seen."""
        peak = 0
        while True:
            read = Product.objects.filter(pk__in=products, last_scraped_at__isnull=False).count()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                peak = max(peak, cursor.fetchone()[0])
            if read >= len(products) or time.monotonic() - started > duration:
                return peak
            time.sleep(0.5)

    def _forget_queue(self, name: str) -> None:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).delete(name)

    def _sizing(self, results: list[dict]) -> None:
        """The measured cost of one refresh, times a million products an hour."""
        if not results:
            return
        per_second = PRODUCTS_PER_HOUR / 3600
        cpu_ms = max(result["cpu_ms"] for result in results)
        statements = max(result["statements"] for result in results)
        round_trips = max(result["round_trips"] for result in results)
        redis_commands = max(result["redis"] for result in results)
        self.stdout.write(
            f"sizing: {PRODUCTS_PER_HOUR:,} products/hour = {per_second:.0f}/s: "
            f"{per_second * cpu_ms / 1000:.2f} worker CPU cores busy, PostgreSQL {per_second * statements:,.0f} "
            f"statements/s ({per_second * round_trips:,.0f} round trips/s), Redis {per_second * redis_commands:,.0f} "
            f"commands/s"
        )
