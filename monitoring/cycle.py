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
    product_read_checked,
    product_reading_record,
    products_apply,
    products_claim,
)
from monitoring.records import JobCancelled, job_progress

logger = logging.getLogger(__name__)
TRACKING_JOB_TYPE = "track_products"
REFRESH_JOB_TYPE = "refresh_product"
PROGRESS_EVERY = 1.0  # seconds between progress writes
APPLY_BATCH = 50  # good readings written together


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


def products_follow_up(products_outcomes) -> None:
    """After a refresh: listings follow, alert rules run; then the products' follow_pending mark
    is cleared (a worker stopped before this point leaves it for the next round)."""
    products = [product for product, _ in products_outcomes]
    if products:
        Product.objects.filter(pk__in=[product.pk for product in products]).update(follow_pending=False)


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
        if product.follow_pending:
            products_follow_up([(product, outcome)])

    def flush(self):
        good, self.good = self.good, []
        outcomes = products_apply(good)
        for (product, _), outcome in zip(good, outcomes, strict=True):
            self.record(product, outcome)
        products_follow_up([(p, o) for (p, _), o in zip(good, outcomes, strict=True) if o.changed])


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
