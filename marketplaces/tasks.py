"""Background work of the marketplaces: publishing, held changes, orders, statistics, exchange rates.

Each task takes ids, loads rows and calls one service. The scheduled fan-outs (beat) leave demo
sellers' stores alone, and those that are disconnected or waiting for the seller to connect again.
"""

import logging
from datetime import date

from celery import shared_task
from django.conf import settings

from accounts.models import User
from catalog.models import Product, Supplier
from marketplaces.clients import MarketplaceError, NeedsReauth, Retryable
from marketplaces.models import Listing, StoreAccount
from marketplaces.services import (
    RatesUnavailable,
    listings_follow,
    listings_publish,
    listings_push_pending,
    listings_sources_follow,
    rates_refresh,
    shipments_push,
    shipments_retry,
    store_orders_sync,
    store_performance_import,
    store_pricing_check,
    store_reprice,
    store_statistics_days,
    store_sync,
    store_sync_skip_reason,
    supplier_reprice,
)
from monitoring.analytics import analytics_invalidate
from monitoring.jobs import failure_recorded, job_task, recorded_task
from monitoring.records import CONTINUE, job_out_of_time, job_progress, job_start, task_enqueue

logger = logging.getLogger(__name__)

# Waits longer than settings.TASK_COUNTDOWN_MAX are left to the next scheduled run rather than
# parked in the broker (config/settings.py, "Liveness and recovery").
RATES_RETRY_WAIT = 300


def schedulable_stores():
    """Stores the schedule syncs: connected, authorised, of an active seller who is not the demo."""
    return StoreAccount.objects.filter(
        is_connected=True, needs_reauth=False, user__is_demo=False, user__is_active=True
    ).select_related("user")


@job_task(alert=True)
def listing_publish_task(job):
    """Publish the listings of a Job (params {"listing_ids": [...]}) with progress for the seller.

    A marketplace asking us to wait retries the Job; listings already published are skipped then.
    """
    ids = job.params.get("listing_ids") or []

    def progress(done, total):
        job_progress(job, done=done, total=total)

    return listings_publish(listing_ids=ids, user=job.user, acting_user=job.user, progress=progress)


def _sellers_of(product_id):
    """The sellers with a live listing of a product (whom a failed follow of it hurts)."""

    def sellers():
        user_ids = Listing.objects.live().using_product(product_id).values("user_id")
        return list(User.objects.filter(pk__in=user_ids).order_by("pk"))

    return sellers


@job_task()
def shipments_push_task(job):
    """Send the tracking numbers of a shipping CSV (params {"shipment_ids": [...]}) with progress for
    the seller; one the marketplace cannot take now waits for `shipments_retry_task`."""
    ids = job.params.get("shipment_ids") or []

    def progress(done, total):
        job_progress(job, done=done, total=total)

    return shipments_push(shipment_ids=ids, user=job.user, progress=progress)


@recorded_task(type="retry_shipments")
def shipments_retry_task():
    """Periodic: send again the tracking numbers a marketplace could not take yet, once it may."""
    shipments = shipments_retry()
    return {"tried": len(shipments), "sent": sum(shipment.status == "sent" for shipment in shipments)}


@shared_task(name="marketplaces.tasks.listings_follow_task")
def listings_follow_task(product_id, attempt=0):
    """Make a product's listings follow it again (a marketplace asked us to wait last time)."""
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        return None
    with failure_recorded(
        type="follow_listings", users=_sellers_of(product_id), params={"product_id": product_id}, alert=True
    ):
        changes = listings_follow(product=product, attempt=attempt)
        return {"changes": [change.as_dict() for change in changes]}
    return None


@recorded_task(type="follow_sources")
def listings_sources_follow_task():
    """Periodic: listings with backup sources choose their source again (a source unreadable for too
    long, or good for long enough to switch back to, changes nothing by itself) and follow it."""
    changes = listings_sources_follow()
    return {"changes": len(changes), "pushed": sum(change.pushed for change in changes)}


@shared_task(name="marketplaces.tasks.store_pending_push_task")
def store_pending_push_task(store_id=None):
    """Send the changes held while automation was paused (one store, or every store holding some).

    Each store is sent on its own: one store's failure is recorded for its seller (a failed Job and
    an alert) and the others still go.
    """
    if store_id is not None:
        stores = list(StoreAccount.objects.filter(pk=store_id).select_related("user"))
        if not stores:
            return None
    else:
        holding = Listing.objects.live().exclude(pending_changes={}).values("store_account_id")
        stores = list(StoreAccount.objects.filter(pk__in=holding).select_related("user").order_by("pk"))
    changes = []
    for store in stores:
        with failure_recorded(type="push_held_changes", users=[store.user], params={"store_id": store.pk}, alert=True):
            changes += listings_push_pending(store=store)
    return {"changes": len(changes), "pushed": sum(change.pushed for change in changes)}


@job_task(alert=True)
def store_reprice_task(job):
    """Reprice a store's live listings by its (changed) pricing settings (params {"store_id"}).

    Settings that would price badly (whatever wrote them) fail the Job with what to fix, and the
    seller is alerted; nothing is repriced then.
    """
    store = StoreAccount.objects.get(pk=job.params["store_id"])
    store_pricing_check(store)
    changes = store_reprice(store=store)
    return {"changes": len(changes), "pushed": sum(change.pushed for change in changes)}


SUPPLIER_REPRICE_JOB_TYPE = "reprice_supplier"


@job_task()
def supplier_reprice_task(job):
    """Make the live listings of a supplier site's products follow their new unit cost (staff changed
    the site's default shipping or sales tax; params {"supplier_id"})."""
    supplier = Supplier.objects.get(pk=job.params["supplier_id"])
    changes = supplier_reprice(supplier=supplier)
    return {"changes": len(changes), "pushed": sum(change.pushed for change in changes)}


@shared_task(bind=True, name="marketplaces.tasks.store_orders_sync_task", max_retries=3)
def store_orders_sync_task(self, store_id):
    """Import one store's new orders (every MARKETPLACE_ORDERS_SYNC_MINUTES, from the fan-out)."""
    store = StoreAccount.objects.select_related("user").filter(pk=store_id).first()
    if store is None or store_sync_skip_reason(store):
        return None
    # The marketplace's own refusals are shown on the store; anything else is a failed Job.
    with failure_recorded(type="sync_orders", users=[store.user], params={"store_id": store.pk}, alert=True):
        try:
            return store_orders_sync(store).as_dict()
        except NeedsReauth as exc:  # the store is flagged and the seller alerted
            return {"error": exc.message}
        except Retryable as exc:
            wait = exc.retry_after if exc.retry_after is not None else 60
            if wait <= settings.TASK_COUNTDOWN_MAX and self.request.retries < self.max_retries:
                raise self.retry(countdown=wait, exc=exc) from exc
            StoreAccount.objects.filter(pk=store.pk).update(last_error=exc.message)
            return {"error": exc.message}
        except MarketplaceError as exc:
            StoreAccount.objects.filter(pk=store.pk).update(last_error=exc.message)
            return {"error": exc.message}
    return None


@recorded_task(type="queue_orders_syncs")
def stores_orders_sync_task():
    """Periodic: queue the orders sync of every store the schedule syncs."""
    ids = list(schedulable_stores().values_list("pk", flat=True))
    for store_id in ids:
        task_enqueue(store_orders_sync_task, store_id)
    return len(ids)


@job_task()
def store_performance_import_task(job):
    """Import a store's daily performance (params {"store_id", "day"?}); without a day, every day
    since the last complete import up to the seller's yesterday. One day per batch: each day done
    is saved on the Job, and a delivery out of time hands on to the next."""
    store = StoreAccount.objects.select_related("user").get(pk=job.params["store_id"])
    skipped = store_sync_skip_reason(store)
    if skipped:
        return {"skipped": skipped}
    state = dict(job.checkpoint) or {"days": [job.params["day"]] if job.params.get("day") else None, "imports": []}
    if state["days"] is None:
        state["days"] = [day.isoformat() for day in store_statistics_days(store)]
    for day in state["days"][len(state["imports"]) :]:
        state["imports"].append(store_performance_import(store, date.fromisoformat(day)).as_dict())
        job_progress(job, done=len(state["imports"]), total=len(state["days"]), checkpoint=state)
        if len(state["imports"]) < len(state["days"]) and job_out_of_time(job):
            return CONTINUE
    analytics_invalidate(store.user)  # the dashboard recomputes from the new rows
    return {"imports": state["imports"]}


@job_task(alert=True)
def store_sync_task(job):
    """A seller's "sync now": the store's new orders, listings removed on the marketplace, and
    yesterday's performance (params {"store_id"}), in steps saved on the Job: a delivery out of
    time, or a worker lost, carries on from the last step done."""
    store = StoreAccount.objects.select_related("user").get(pk=job.params["store_id"])
    progress = dict(job.checkpoint)

    def step_done() -> bool:
        job_progress(job, done=0, checkpoint=progress)
        return job_out_of_time(job)

    result = store_sync(store, progress=progress, on_step=step_done)
    if result is None:
        return CONTINUE
    analytics_invalidate(store.user)
    if result.error:
        raise RuntimeError(result.line())
    return {"summary": result.line()}


@recorded_task(type="queue_performance_imports")
def stores_performance_import_task():
    """Periodic (daily): one import Job per store the schedule syncs, visible to its seller."""
    jobs = [
        job_start(
            store_performance_import_task, type="import_performance", user=store.user, params={"store_id": store.pk}
        )
        for store in schedulable_stores()
    ]
    return len(jobs)


@shared_task(bind=True, name="marketplaces.tasks.rates_refresh_task", max_retries=3)
def rates_refresh_task(self):
    """Periodic (daily): the ECB reference rates; the rates kept so far stay while it is unreachable
    (after the last retry, a failed system Job says why)."""
    with failure_recorded(type="refresh_rates"):
        try:
            refresh = rates_refresh()
        except RatesUnavailable as exc:
            logger.warning("%s", exc)
            raise self.retry(countdown=RATES_RETRY_WAIT, exc=exc) from exc
        return {"as_of": refresh.as_of.isoformat(), "currencies": len(refresh.currencies)}
    return None
