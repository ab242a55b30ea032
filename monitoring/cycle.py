"""The tracking cycle: refresh due products, make their listings follow, raise alerts, queue
notifications — explicit calls in that order (DESIGN.md)."""

import logging
import queue
import threading
import time

from django.conf import settings
from django.db import connection

from catalog.models import Product
from catalog.services import (
    PageReading,
    RefreshOutcome,
    product_read_checked,
    product_reading_record,
    products_apply,
    products_claim,
)
from marketplaces.services import listings_follow
from monitoring.alerts import alerts_for_listing_changes, alerts_for_refresh
from monitoring.notifications import notifications_queue
from monitoring.records import JobCancelled, job_progress

logger = logging.getLogger(__name__)
TRACKING_JOB_TYPE = "track_products"
REFRESH_JOB_TYPE = "refresh_product"
PROGRESS_EVERY = 1.0  # seconds between progress writes
APPLY_BATCH = 50  # good readings written together
FAILED_STATUSES = ("blocked", "failed", "unrecognised")


def _read_safely(product) -> PageReading:
    try:
        return product_read_checked(product=product)
    except Exception as exc:  # noqa: BLE001 - one product's failure must not stop the round
        logger.exception("Reading product %s failed", product.pk)
        return PageReading("failed", message=f"{type(exc).__name__}: {exc}")


def _reader(todo: queue.Queue, done: queue.Queue, stop: threading.Event):
    """A fetching thread: reads pages until none are left (fetch and parse overlap across threads)."""
    try:
        while not stop.is_set():
            try:
                product = todo.get_nowait()
            except queue.Empty:
                return
            done.put((product, _read_safely(product)))
    finally:
        connection.close()


def product_follow_up(*, product: Product, outcome: RefreshOutcome) -> list:
    """After a refresh: the product's listings follow, then the alert rules run, then their
    notifications are queued; last, the product's follow_pending mark is cleared (a worker stopped
    before that leaves it for the next round, and every step is safe to run again)."""
    changes = listings_follow(product=product, outcome=outcome) if outcome.changed or product.follow_pending else []
    alerts = alerts_for_refresh(product=product, outcome=outcome)
    alerts += alerts_for_listing_changes(changes=changes)
    notifications_queue(alerts=[alert for alert in alerts if getattr(alert, "is_new", False)])
    if product.follow_pending:
        Product.objects.filter(pk=product.pk).update(follow_pending=False)
        product.follow_pending = False
    return changes


def _needs_follow_up(product: Product, outcome: RefreshOutcome) -> bool:
    failing = outcome.status in FAILED_STATUSES and product.failure_count >= settings.SCRAPE_FAILURE_THRESHOLD
    return outcome.changed or product.follow_pending or failing


class _Round:
    """The bookkeeping of one round in the thread that writes: outcomes, counts, batched applies."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.outcomes: list[dict] = []
        self.good: list[tuple[Product, object]] = []

    def record(self, product, outcome):
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        self.outcomes.append(outcome.as_dict())

    def take(self, product, reading: PageReading):
        if reading.kind == "good":
            self.good.append((product, reading.extraction))
            if len(self.good) >= APPLY_BATCH:
                self.flush()
            return
        outcome = product_reading_record(product=product, reading=reading)
        self.record(product, outcome)
        if _needs_follow_up(product, outcome):
            product_follow_up(product=product, outcome=outcome)

    def flush(self):
        good, self.good = self.good, []
        outcomes = products_apply(good)
        for (product, _), outcome in zip(good, outcomes, strict=True):
            self.record(product, outcome)
            if _needs_follow_up(product, outcome):
                product_follow_up(product=product, outcome=outcome)


def cycle_run(*, job, product_ids=None) -> dict:
    """One round: claim due products (or the given ones), read them in overlapping threads, and in
    this thread write the readings in batches, then make listings follow and evaluate alerts."""
    products = products_claim(limit=settings.TRACK_BATCH_SIZE, product_ids=product_ids)
    total = len(products)
    job_progress(job, done=0, total=total)
    todo, done, stop = queue.Queue(), queue.Queue(), threading.Event()
    for product in products:
        todo.put(product)
    readers = [
        threading.Thread(target=_reader, args=(todo, done, stop), daemon=True)
        for _ in range(max(1, min(settings.TRACK_CONCURRENCY, total)))
    ]
    for reader in readers:
        reader.start()
    current = _Round()
    last_progress = time.monotonic()
    try:
        for finished in range(1, total + 1):
            try:
                product, reading = done.get_nowait()
            except queue.Empty:
                current.flush()  # nothing waiting: write what we have while the readers work
                product, reading = done.get()
            current.take(product, reading)
            if time.monotonic() - last_progress > PROGRESS_EVERY:
                job_progress(job, done=finished - len(current.good))
                last_progress = time.monotonic()
        current.flush()
        job_progress(job, done=total)
    except JobCancelled:
        stop.set()
        raise
    finally:
        stop.set() if current.good else None
        for reader in readers:
            reader.join()
    return {"products": total, "counts": current.counts, "outcomes": current.outcomes[: settings.TRACK_RESULT_ROWS]}
