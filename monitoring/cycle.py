"""The tracking cycle: refresh due products, make their listings follow, raise alerts, queue
notifications — explicit calls in that order (DESIGN.md).

Each product fails alone: a reading that cannot be used is that product's recorded failure
(catalog), and a follow-up that raises (a listing push, an alert rule) is recorded against its
product while the round goes on; the product keeps its follow_pending mark, so the next round
tries the follow-up again.

A round survives its worker: it claims products in batches under its Job's id, each product's
claim released in the statement that writes its reading (catalog), so a round resumed on another
worker (the sweep, after its heartbeat went stale) takes back only the products still claimed for
it and reads each product once; its counts come from the products themselves, so they cover the
whole round whatever worker read them.
"""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from catalog.models import Product
from catalog.refreshing import products_refresh
from catalog.services import (
    FAILED_STATUSES,
    RefreshOutcome,
    product_overrides_expire,
    products_claim,
    products_claims_end,
    products_claims_renew,
    round_products_done,
)
from marketplaces.services import listings_follow
from monitoring.alerts import alerts_for_listing_changes, alerts_for_refresh
from monitoring.notifications import notifications_queue
from monitoring.records import (
    CONTINUE,
    DATABASE_LOST,
    JobCancelled,
    JobLeaseLost,
    job_out_of_time,
    job_progress,
)

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
    follow_pending mark is cleared with the product's claim (a worker stopped before that leaves it
    for the next round, and every step is safe to run again)."""
    alerts = product_overrides_expire(product=product) if outcome.changed or product.follow_pending else []
    changes = (
        listings_follow(product=product, outcome=outcome)
        if outcome.changed or product.follow_pending or _wrong_product_paused(product, outcome)
        else []
    )
    alerts += alerts_for_refresh(product=product, outcome=outcome)
    alerts += alerts_for_listing_changes(changes=changes)
    notifications_queue(alerts=[alert for alert in alerts if getattr(alert, "is_new", False)])
    if product.follow_pending:  # done: the claim the reading's write kept for it ends too
        Product.objects.filter(pk=product.pk).update(follow_pending=False, refresh_claimed_until=None)
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


def _round_tally(job_id: int) -> tuple[int, int]:
    """(products the round has taken, products it finished), from the products themselves."""
    tally = Product.objects.filter(refresh_job_id=job_id).aggregate(
        total=Count("pk"), done=Count("pk", filter=~Q(refresh_status=""))
    )
    return tally["total"], tally["done"]


def cycle_run(*, job, product_ids=None):
    """One round: claim due products (or the given ones) and refresh them (catalog); as each is
    written, make its listings follow and evaluate the alerts when something changed.

    A scheduled round keeps claiming batches while products are due, for up to
    TRACK_ROUND_SECONDS from its start, so a large catalogue is not limited to one batch per beat
    tick. After each batch the round's checkpoint is saved on its Job; when this delivery's time
    is up (monitoring.records.job_out_of_time) it returns CONTINUE and a new delivery carries on.
    """
    round_ = _Round(job, product_ids)
    lease = getattr(job, "lease", None)
    if lease is not None:  # the heartbeat keeps this round's claims too, one statement a beat
        lease.renewers.append(lambda: products_claims_renew(job_id=job.pk))
    try:
        return round_.run()
    except JobCancelled as exc:
        if not isinstance(exc, JobLeaseLost):  # cancelled: nothing of this round stays claimed
            products_claims_end(job_id=job.pk)
        raise


class _Round:
    """This delivery's part of a round, and the round's checkpoint (saved on its Job after each batch)."""

    def __init__(self, job, product_ids):
        self.job, self.product_ids = job, product_ids
        self.state = dict(job.checkpoint or {}) or {
            "started": timezone.now().isoformat(),
            "outcomes": [],  # the products' detail rows, up to TRACK_RESULT_ROWS
            "follow_ups": [],  # follow-ups that failed (their failure rows, up to TRACK_RESULT_ROWS)...
            "follow_ups_failed": 0,  # ...and how many
            "vanished": [],  # failure rows of products deleted while the round read them (no row to count)
        }
        self.ends = datetime.fromisoformat(self.state["started"]) + timedelta(seconds=settings.TRACK_ROUND_SECONDS)
        deadline = getattr(job, "run_until", None)
        self.deadline = None if deadline is None or deadline == float("inf") else deadline
        self.done = 0
        self.batch_failures: dict[int, dict] = {}
        self.last_progress = time.monotonic()

    def run(self):
        while True:
            fresh = self.product_ids is not None or timezone.now() < self.ends
            products = products_claim(
                limit=settings.TRACK_BATCH_SIZE, product_ids=self.product_ids, job_id=self.job.pk, fresh=fresh
            )
            total, self.done = _round_tally(self.job.pk)
            job_progress(self.job, done=self.done, total=total)
            written = products_refresh(
                products, concurrency=settings.TRACK_CONCURRENCY, on_outcome=self.follow, deadline=self.deadline
            )
            unread = len(products) - len(written)
            if self.batch_failures:  # a failure can be a product deleted meanwhile: it has no row to count
                remaining = set(Product.objects.filter(pk__in=self.batch_failures).values_list("pk", flat=True))
                self.state["vanished"] += [row for pk, row in self.batch_failures.items() if pk not in remaining]
                self.batch_failures.clear()
            job_progress(self.job, done=self.done, checkpoint=self.state)
            last_batch = self.product_ids is not None or len(products) < settings.TRACK_BATCH_SIZE or not fresh
            if last_batch and not unread:
                break
            if job_out_of_time(self.job):
                return CONTINUE
        products_claims_end(job_id=self.job.pk)  # follow-ups a dead worker left: the next round's
        return _round_result(self.job.pk, self.state)

    def follow(self, product, outcome):
        """Once a product's reading is written: note it, and make its listings follow."""
        self.done += 1
        state = self.state
        if len(state["outcomes"]) < settings.TRACK_RESULT_ROWS:
            state["outcomes"].append(outcome.as_dict())
        if outcome.status in FAILED_STATUSES:
            self.batch_failures[product.pk] = _failure(product, outcome.status, outcome.message)
        if _needs_follow_up(product, outcome):
            try:
                product_follow_up(product=product, outcome=outcome)
            except (JobCancelled, *DATABASE_LOST):
                raise  # a stop, or our database connection lost (the Job carries on elsewhere): not the product's
            except Exception as exc:  # noqa: BLE001 - one product's follow-up must not stop the round
                logger.exception("Following up product %s failed", product.pk)
                reason = FOLLOW_UP_FAILED_MESSAGE.format(error=f"{type(exc).__name__}: {exc}")
                Product.objects.filter(pk=product.pk).update(refresh_claimed_until=None)  # the next round's
                state["follow_ups_failed"] += 1
                if len(state["follow_ups"]) < settings.TRACK_RESULT_ROWS:
                    state["follow_ups"].append(_failure(product, FOLLOW_UP_FAILED, reason))
        if time.monotonic() - self.last_progress > PROGRESS_EVERY:
            job_progress(self.job, done=self.done)  # raises JobCancelled when the user cancelled
            self.last_progress = time.monotonic()


def _round_result(job_id: int, state: dict) -> dict:
    """The round's result from the products it finished, whichever worker read them."""
    outcomes, follow_ups, vanished = state["outcomes"], state["follow_ups"], state["vanished"]
    follow_ups_failed = state["follow_ups_failed"]
    finished = round_products_done(job_id=job_id)
    counts = dict(finished.order_by().values_list("refresh_status").annotate(n=Count("pk")))
    for row in vanished:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    products = sum(counts.values())
    if follow_ups_failed:
        counts[FOLLOW_UP_FAILED] = follow_ups_failed
    failed = finished.filter(refresh_status__in=FAILED_STATUSES).select_related("supplier").order_by("pk")
    failures = [
        _failure(product, product.refresh_status, product.last_error)
        for product in failed[: settings.TRACK_RESULT_ROWS]
    ]
    if len(outcomes) < settings.TRACK_RESULT_ROWS:  # read by a worker that died before saving them
        listed = {outcome["product_id"] for outcome in outcomes}
        for product in finished.exclude(pk__in=listed).order_by("pk")[: settings.TRACK_RESULT_ROWS - len(outcomes)]:
            message = product.last_error if product.refresh_status in FAILED_STATUSES else ""
            outcomes.append(
                RefreshOutcome(
                    product_id=product.pk, status=product.refresh_status, currency=product.currency, message=message
                ).as_dict()
            )
    failures = (failures + vanished)[: settings.TRACK_RESULT_ROWS]
    return round_result(products=products, counts=counts, failures=failures + follow_ups, outcomes=outcomes)


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
