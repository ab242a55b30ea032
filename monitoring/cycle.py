"""The tracking cycle: refresh due products, make their listings follow, raise alerts, queue
notifications — explicit calls in that order (DESIGN.md).

Each product fails alone: a reading that cannot be used is that product's recorded failure
(catalog), and a follow-up that raises (a listing push, an alert rule) is recorded against its
product while the round goes on; the product keeps its follow_pending mark, so the next round
tries the follow-up again.
"""

import logging
import time

from django.conf import settings

from catalog.models import Product
from catalog.refreshing import products_refresh
from catalog.services import FAILED_STATUSES, RefreshOutcome, product_overrides_expire, products_claim
from marketplaces.services import listings_follow
from monitoring.alerts import alerts_for_listing_changes, alerts_for_refresh
from monitoring.notifications import notifications_queue
from monitoring.records import JobCancelled, job_progress

logger = logging.getLogger(__name__)

TRACKING_JOB_TYPE = "track_products"
REFRESH_JOB_TYPE = "refresh_product"
PROGRESS_EVERY = 1.0  # seconds between progress writes
FOLLOW_UP_FAILED = "follow_up_failed"
FOLLOW_UP_FAILED_MESSAGE = "Read, but its listings and alerts could not be updated: {error}"

# The outcomes of a round in words a page can show (RefreshOutcome.status, plus a follow-up failure).
OUTCOME_LABELS = {
    "updated": "updated",
    "unchanged": "unchanged",
    "held": "held for a second look",
    "wrong_product": "another product's page",
    "invalid": "invalid reading",
    "blocked": "blocked by the supplier",
    "failed": "failed",
    "unrecognised": "page not recognised",
    FOLLOW_UP_FAILED: "listings not updated",
}
READ_STATUSES = ("updated", "unchanged", "held")
ROUND_FAILURE_STATUSES = (*FAILED_STATUSES, FOLLOW_UP_FAILED)


def round_result(*, products: int, counts: dict, failures: list[dict], outcomes: list[dict]) -> dict:
    """The Job result of a tracking round, the one shape every page renders:

    summary   one sentence: "3 products: 2 updated, 1 another product's page."
    products  how many products the round took
    counts    {status: n}, statuses as in OUTCOME_LABELS
    failures  [{"product_id", "product", "status", "label", "reason"}], one per product that failed
    outcomes  each product's RefreshOutcome.as_dict() (up to TRACK_RESULT_ROWS)
    """
    parts = [f"{n} {OUTCOME_LABELS.get(status, status)}" for status, n in sorted(counts.items()) if n]
    noun = "product" if products == 1 else "products"
    summary = f"{products} {noun}: {', '.join(parts)}." if parts else f"{products} {noun}: none due."
    return {
        "summary": summary,
        "products": products,
        "counts": counts,
        "failures": failures[: settings.TRACK_RESULT_ROWS],
        "outcomes": outcomes[: settings.TRACK_RESULT_ROWS],
    }


def round_refreshed(result: dict) -> int:
    """How many products of a round were read with a usable answer (applied, unchanged or held)."""
    return sum(result.get("counts", {}).get(status, 0) for status in READ_STATUSES)


def product_follow_up(*, product: Product, outcome: RefreshOutcome) -> list:
    """After a refresh: seller overrides whose scraped value changed end, the product's listings
    follow, then the alert rules run, then their notifications are queued; last, the product's
    follow_pending mark is cleared (a worker stopped before that leaves it for the next round, and
    every step is safe to run again)."""
    alerts = product_overrides_expire(product=product) if outcome.changed or product.follow_pending else []
    changes = (
        listings_follow(product=product, outcome=outcome)
        if outcome.changed or product.follow_pending or _wrong_product_paused(product, outcome)
        else []
    )
    alerts += alerts_for_refresh(product=product, outcome=outcome)
    alerts += alerts_for_listing_changes(changes=changes)
    notifications_queue(alerts=[alert for alert in alerts if getattr(alert, "is_new", False)])
    if product.follow_pending:
        Product.objects.filter(pk=product.pk).update(follow_pending=False)
        product.follow_pending = False
    return changes


def _wrong_product_paused(product: Product, outcome: RefreshOutcome) -> bool:
    return outcome.status == "wrong_product" and product.wrong_product_count >= settings.WRONG_PRODUCT_PAUSE_AFTER


def _needs_follow_up(product: Product, outcome: RefreshOutcome) -> bool:
    failing = outcome.status in FAILED_STATUSES and product.failure_count >= settings.SCRAPE_FAILURE_THRESHOLD
    return outcome.changed or product.follow_pending or failing or _wrong_product_paused(product, outcome)


def _failure(product: Product, status: str, reason: str) -> dict:
    return {
        "product_id": product.pk,
        "product": str(product)[:200],
        "status": status,
        "label": OUTCOME_LABELS.get(status, status),
        "reason": reason,
    }


def cycle_run(*, job, product_ids=None) -> dict:
    """One round: claim due products (or the given ones) and refresh them (catalog); as each is
    written, make its listings follow and evaluate the alerts when something changed.

    A scheduled round keeps claiming batches while products are due, for up to
    TRACK_ROUND_SECONDS, so a large catalogue is not limited to one batch per beat tick.
    """
    started = time.monotonic()
    counts: dict[str, int] = {}
    outcomes: list[dict] = []
    failures: list[dict] = []
    total = 0
    last_progress = time.monotonic()

    def follow(product, outcome):
        nonlocal last_progress
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        outcomes.append(outcome.as_dict())
        if outcome.status in FAILED_STATUSES:
            failures.append(_failure(product, outcome.status, outcome.message))
        if _needs_follow_up(product, outcome):
            try:
                product_follow_up(product=product, outcome=outcome)
            except JobCancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - one product's follow-up must not stop the round
                logger.exception("Following up product %s failed", product.pk)
                counts[FOLLOW_UP_FAILED] = counts.get(FOLLOW_UP_FAILED, 0) + 1
                reason = FOLLOW_UP_FAILED_MESSAGE.format(error=f"{type(exc).__name__}: {exc}")
                failures.append(_failure(product, FOLLOW_UP_FAILED, reason))
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
    return round_result(products=total, counts=counts, failures=failures, outcomes=outcomes)


# --- "Refresh now" --------------------------------------------------------------------------

REFRESH_ARCHIVED = "This product was archived by our staff and is no longer read; it cannot be refreshed."


class RefreshRefused(Exception):
    """A product cannot be refreshed now; the message says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def refresh_jobs(*, user, product):
    """The seller's "refresh now" Jobs of one product."""
    return user.jobs.filter(type=REFRESH_JOB_TYPE, params__product_ids=[product.pk])


def product_refresh_start(*, user, product: Product):
    """Refresh now: the whole tracking cycle for this one product as a Job the seller follows. A
    refresh of it already under way is returned instead of starting another (not a pending one no
    worker took in time); an archived product is refused (RefreshRefused). When the broker is down the
    Job comes back failed (records.job_unavailable). The product page and the API both start it here."""
    from monitoring.records import job_abandon, job_followable, job_start
    from monitoring.tasks import tracking_cycle_task

    if product.is_archived:
        raise RefreshRefused(REFRESH_ARCHIVED)
    job = refresh_jobs(user=user, product=product).unfinished().order_by("-created_at").first()
    if not job_followable(job):
        for stalled in refresh_jobs(user=user, product=product).unfinished():
            job_abandon(stalled)  # no worker took it in time (JOB_PICKUP_TIMEOUT): never followed again
        job = job_start(
            tracking_cycle_task, type=REFRESH_JOB_TYPE, user=user, params={"product_ids": [product.pk]}, total=1
        )
    return job
