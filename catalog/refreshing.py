"""Refreshing many products at once: pages read in overlapping threads, readings written in batches.

The threads only fetch, parse and check (network waits and lexbor parsing overlap); every
database write happens in the calling thread, a few statements per batch
(catalog.services.products_apply, which writes a failed batch again product by product).
Each product fails alone: an exception while reading, recording or following up one product is
that product's failure, and every claim not released by a write is released at the end (except
when another delivery took the round over, or the database connection was lost: the round is
carried on elsewhere and its claims go with it). With a deadline, no
product is started after it: the claims of those left are released for the next batch.
Reading starts with a thread per CPU; threads are added, up to the concurrency
asked for, while readings keep the writer waiting (slow sites, a rate limit): when pages come
fast, more threads would only take turns at the CPUs and the interpreter lock.
"""

import logging
import os
import queue
import threading
import time
from collections.abc import Callable

from django.db import connection

from monitoring.records import DATABASE_LOST, JobLeaseLost

from .models import Product
from .services import (
    RefreshOutcome,
    product_read_guarded,
    product_reading_record,
    product_record_failure,
    products_apply,
    products_claims_release,
)

logger = logging.getLogger(__name__)
APPLY_BATCH = 50  # good readings written together...
APPLY_WAIT = 1.0  # ...or once the first of them has waited this many seconds for the others
GROW_AFTER = 0.1  # seconds without a reading before another reading thread starts


def _reader(todo: queue.Queue, done: queue.Queue, stop: threading.Event, deadline: float | None):
    try:
        while not stop.is_set():
            try:
                product = todo.get_nowait()
            except queue.Empty:
                return
            if deadline is not None and time.monotonic() >= deadline:
                done.put((product, None))  # not started: left for the next batch
                continue
            reading = product_read_guarded(product=product)
            if reading.kind == "failed" and connection.errors_occurred:
                # Our database connection broke (the proxy list or the rate limit lives there), not
                # the supplier's page: read it again on a new connection.
                connection.close()
                reading = product_read_guarded(product=product)
            done.put((product, reading))
    finally:
        connection.close()  # this thread's own connection


def products_refresh(
    products: list[Product],
    *,
    concurrency: int,
    on_outcome: Callable[[Product, RefreshOutcome], None] | None = None,
    deadline: float | None = None,
) -> list[RefreshOutcome]:
    """Refresh the products: read in up to `concurrency` threads, write in batches in this thread.

    `on_outcome(product, outcome)` runs in this thread once the product's reading is written (the
    caller's next steps, which isolate their own failures); an exception it raises (a cancelled
    Job) stops the readers and comes out of here, after the claims still held are released.
    No product is started after `deadline` (time.monotonic()); those are released unread.
    """
    todo, done, stop = queue.Queue(), queue.Queue(), threading.Event()
    for product in products:
        todo.put(product)
    readers: list[threading.Thread] = []
    most = max(1, min(concurrency, len(products)))

    def start_reader():
        reader = threading.Thread(target=_reader, args=(todo, done, stop, deadline), daemon=True)
        reader.start()
        readers.append(reader)

    for _ in range(min(most, os.cpu_count() or 1)):
        start_reader()
    outcomes: list[RefreshOutcome] = []
    good: list[tuple[Product, object]] = []
    notes: list[list[str]] = []
    finished: set[int] = set()

    def written(product, outcome):
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(product, outcome)
        finished.add(product.pk)  # a claim kept for a follow-up that never ran is released below

    def flush():
        batch, batch_notes = good[:], notes[:]
        good.clear()
        notes.clear()
        for (product, _), outcome, dropped in zip(batch, products_apply(batch), batch_notes, strict=True):
            outcome.notes = dropped
            written(product, outcome)

    def record(product, reading):
        try:
            outcome = product_reading_record(product=product, reading=reading)
        except DATABASE_LOST:
            raise  # our connection, not the product: the round carries on elsewhere
        except Exception as exc:  # noqa: BLE001 - one product's failure must not stop the others
            logger.exception("Recording the reading of product %s failed", product.pk)
            outcome = product_record_failure(product=product, status="failed", message=f"{type(exc).__name__}: {exc}")
        written(product, outcome)

    first_waiting = last_reading = time.monotonic()
    keep_claims = False
    try:
        for _ in products:
            while True:
                waits = [first_waiting + APPLY_WAIT] if good else []
                if len(readers) < most and not todo.empty():
                    waits.append(last_reading + GROW_AFTER)
                try:
                    product, reading = done.get(timeout=max(0.0, min(waits) - time.monotonic()) if waits else None)
                    break
                except queue.Empty:
                    now = time.monotonic()
                    if good and now >= first_waiting + APPLY_WAIT:
                        flush()  # the readings in hand have waited long enough
                    if now >= last_reading + GROW_AFTER and len(readers) < most and not todo.empty():
                        start_reader()  # the readers are waiting on the network: overlap more
                        last_reading = now
            last_reading = time.monotonic()
            if reading is None:  # past the deadline: left unread
                continue
            if reading.kind == "good":
                if not good:
                    first_waiting = time.monotonic()
                good.append((product, reading.extraction))
                notes.append(reading.notes)
                if len(good) >= APPLY_BATCH:
                    flush()
            else:
                record(product, reading)
        flush()
    except (JobLeaseLost, *DATABASE_LOST):
        # Taken over, or our connection lost: the claims stay the round's, for whoever carries it on.
        keep_claims = True
        raise
    finally:
        stop.set()
        for reader in readers:
            reader.join()
        left = [product.pk for product in products if product.pk not in finished]
        if left and not keep_claims:  # stopped early, or out of time: let the next batch or round have them
            try:
                products_claims_release(product_ids=left)
            except Exception:  # noqa: BLE001 - the claims lapse by themselves; keep the first error
                logger.exception("Releasing the claims of %s products failed", len(left))
    return outcomes
