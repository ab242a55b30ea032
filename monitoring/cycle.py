"""The tracking cycle: refresh due products, make their listings follow, raise alerts, queue
notifications — explicit calls in that order (DESIGN.md)."""

import time

from django.conf import settings

from catalog.models import Product
from catalog.refreshing import products_refresh
from catalog.services import RefreshOutcome, products_claim
from marketplaces.services import listings_follow
from monitoring.alerts import alerts_for_listing_changes, alerts_for_refresh
from monitoring.notifications import notifications_queue
from monitoring.records import job_progress

TRACKING_JOB_TYPE = "track_products"
REFRESH_JOB_TYPE = "refresh_product"
PROGRESS_EVERY = 1.0  # seconds between progress writes
FAILED_STATUSES = ("blocked", "failed", "unrecognised")


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


def cycle_run(*, job, product_ids=None) -> dict:
    """One round: claim due products (or the given ones) and refresh them (catalog); as each is
    written, make its listings follow and evaluate the alerts when something changed.

    A scheduled round keeps claiming batches while products are due, for up to
    TRACK_ROUND_SECONDS, so a large catalogue is not limited to one batch per beat tick.
    """
    started = time.monotonic()
    counts: dict[str, int] = {}
    outcomes: list[dict] = []
    total = 0
    last_progress = time.monotonic()

    def follow(product, outcome):
        nonlocal last_progress
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        outcomes.append(outcome.as_dict())
        if _needs_follow_up(product, outcome):
            product_follow_up(product=product, outcome=outcome)
        if time.monotonic() - last_progress > PROGRESS_EVERY:
            job_progress(job, done=len(outcomes))  # raises JobCancelled when the user cancelled
            last_progress = time.monotonic()

    while True:
        products = products_claim(limit=settings.TRACK_BATCH_SIZE, product_ids=product_ids)
        total += len(products)
        job_progress(job, done=len(outcomes), total=total)
        products_refresh(products, concurrency=settings.TRACK_CONCURRENCY, on_outcome=follow)
        out_of_time = time.monotonic() - started > settings.TRACK_ROUND_SECONDS
        if product_ids is not None or len(products) < settings.TRACK_BATCH_SIZE or out_of_time:
            break
    job_progress(job, done=total)
    return {"products": total, "counts": counts, "outcomes": outcomes[: settings.TRACK_RESULT_ROWS]}
