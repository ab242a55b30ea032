"""Refreshing many products at once: pages read in overlapping threads, readings written in batches.

The threads only fetch and parse (network waits and lexbor parsing overlap); every database
write happens in the calling thread, a few statements per batch (catalog.services.products_apply).
"""

import logging
import queue
import threading
import time
from collections.abc import Callable

from django.db import connection

from .models import Product
from .services import PageReading, RefreshOutcome, product_read_checked, product_reading_record, products_apply

logger = logging.getLogger(__name__)
APPLY_BATCH = 50  # good readings written together...
APPLY_WAIT = 1.0  # ...or once the first of them has waited this many seconds for the others


def _read_safely(product) -> PageReading:
    try:
        return product_read_checked(product=product)
    except Exception as exc:  # noqa: BLE001 - one product's failure must not stop the others
        logger.exception("Reading product %s failed", product.pk)
        return PageReading("failed", message=f"{type(exc).__name__}: {exc}")


def _reader(todo: queue.Queue, done: queue.Queue, stop: threading.Event):
    try:
        while not stop.is_set():
            try:
                product = todo.get_nowait()
            except queue.Empty:
                return
            done.put((product, _read_safely(product)))
    finally:
        connection.close()  # this thread's own connection


def products_refresh(
    products: list[Product],
    *,
    concurrency: int,
    on_outcome: Callable[[Product, RefreshOutcome], None] | None = None,
) -> list[RefreshOutcome]:
    """Refresh the products: read in `concurrency` threads, write in batches in this thread.

    `on_outcome(product, outcome)` runs in this thread once the product's reading is written (the
    caller's next steps); an exception it raises stops the readers and comes out of here.
    """
    todo, done, stop = queue.Queue(), queue.Queue(), threading.Event()
    for product in products:
        todo.put(product)
    readers = [
        threading.Thread(target=_reader, args=(todo, done, stop), daemon=True)
        for _ in range(max(1, min(concurrency, len(products))))
    ]
    for reader in readers:
        reader.start()
    outcomes: list[RefreshOutcome] = []
    good: list[tuple[Product, object]] = []

    def written(product, outcome):
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(product, outcome)

    def flush():
        batch = good[:]
        good.clear()
        for (product, _), outcome in zip(batch, products_apply(batch), strict=True):
            written(product, outcome)

    first_waiting = 0.0
    try:
        for _ in products:
            try:
                wait = max(0.0, first_waiting + APPLY_WAIT - time.monotonic()) if good else None
                product, reading = done.get(timeout=wait)
            except queue.Empty:
                flush()  # the readings in hand have waited long enough
                product, reading = done.get()
            if reading.kind == "good":
                if not good:
                    first_waiting = time.monotonic()
                good.append((product, reading.extraction))
                if len(good) >= APPLY_BATCH:
                    flush()
            else:
                written(product, product_reading_record(product=product, reading=reading))
        flush()
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    return outcomes
