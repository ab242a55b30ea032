"""Performance totals kept as MarketplaceData is written, so the dashboard reads a few rows where it
would otherwise sum millions: per store and day (StoreDayTotal), and per listing over the
dashboard's periods up to its store's newest day (ListingPeriodTotal).

Whoever writes or deletes MarketplaceData calls `totals_refresh` with what it touched, in the same
transaction: the performance import (a store's day), a listing's day worked out again (recorded
order costs), the admin and the demo data. The totals are sums of the rows, nothing else: working
them out again from the rows always gives the same totals.
"""

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count, DecimalField, IntegerField, Max, Q, Sum, Value
from django.db.models.functions import Coalesce

from marketplaces.models import ListingPeriodTotal, MarketplaceData, StoreAccount, StoreDayTotal

# The dashboard's periods (monitoring.analytics.PERIOD_DAYS). Each is kept in days up to the
# store's newest day, and one day shorter: until a store's yesterday is imported (all day for a
# seller west of the import's time), the period ending yesterday holds exactly the days of the
# shorter one ending the day before.
PERIOD_DAYS = (7, 30, 90)
KEPT_DAYS = tuple(sorted({days - shorter for days in PERIOD_DAYS for shorter in (0, 1)}))
BATCH = 5000


def _sums(condition: Q | None = None, suffix: str = "") -> dict:
    zero, money = Value(0), DecimalField(max_digits=14, decimal_places=2)
    return {
        f"rows{suffix}": Count("pk", filter=condition),
        f"sales{suffix}": Coalesce(Sum("sales", filter=condition), zero, output_field=IntegerField()),
        f"revenue{suffix}": Coalesce(Sum("revenue", filter=condition), zero, output_field=money),
        f"profit{suffix}": Coalesce(Sum("profit", filter=condition), zero, output_field=money),
    }


def store_newest_day(store_id: int) -> date | None:
    """The newest day the store has performance figures for."""
    return StoreDayTotal.objects.filter(store_account_id=store_id).aggregate(newest=Max("date"))["newest"]


@transaction.atomic
def totals_refresh(store_id: int, *, days: Iterable[date] | None = None, listing_ids: Iterable[int] | None = None):
    """Work out again the store's day totals of `days` (None: every day) and the period totals of
    `listing_ids` (None: every listing of the store) after their MarketplaceData was written or
    deleted. When the store's newest day moves, every listing's period totals follow it."""
    # One refresh of a store at a time (the import and a seller's recorded cost may meet here).
    StoreAccount.objects.select_for_update().filter(pk=store_id).exists()
    day_totals = StoreDayTotal.objects.filter(store_account_id=store_id)
    rows = MarketplaceData.objects.filter(listing__store_account_id=store_id)
    if days is not None:
        days = sorted(set(days))
        day_totals, rows = day_totals.filter(date__in=days), rows.filter(date__in=days)
    day_totals.delete()
    StoreDayTotal.objects.bulk_create(
        StoreDayTotal(store_account_id=store_id, date=row["date"], **_totals(row))
        for row in rows.values("date").annotate(**_sums()).order_by()
    )
    end = store_newest_day(store_id)
    # A store's period totals all end on one day: the newest when they were last worked out.
    kept_end = ListingPeriodTotal.objects.filter(store_account_id=store_id).values_list("end", flat=True).first()
    if kept_end != end:
        listing_ids = None  # the periods moved (or were never worked out): every listing's follow
    _period_totals_refresh(store_id, end, listing_ids)


def _totals(row: dict, suffix: str = "") -> dict:
    return {name: row[f"{name}{suffix}"] for name in ("sales", "revenue", "profit")}


def _period_totals_refresh(store_id: int, end: date | None, listing_ids: Iterable[int] | None):
    existing = ListingPeriodTotal.objects.filter(store_account_id=store_id)
    if listing_ids is not None:
        listing_ids = list(listing_ids)
        existing = existing.filter(listing_id__in=listing_ids)
    existing.delete()
    if end is None:
        return
    rows = MarketplaceData.objects.filter(
        listing__store_account_id=store_id, date__gt=end - timedelta(days=max(KEPT_DAYS)), date__lte=end
    )
    if listing_ids is not None:
        rows = rows.filter(listing_id__in=listing_ids)
    sums = {}
    for days in KEPT_DAYS:
        sums.update(_sums(Q(date__gt=end - timedelta(days=days)), suffix=f"_{days}"))
    totals = (
        ListingPeriodTotal(
            store_account_id=store_id, listing_id=row["listing_id"], days=days, end=end, **_totals(row, f"_{days}")
        )
        for row in rows.values("listing_id").annotate(**sums).order_by().iterator(chunk_size=BATCH)
        for days in KEPT_DAYS
        if row[f"rows_{days}"]
    )
    ListingPeriodTotal.objects.bulk_create(totals, batch_size=BATCH)


def rows_touched(rows) -> dict[int, tuple[set, set]]:
    """What these MarketplaceData rows count in: store id → (days, listing ids). Taken before rows
    are changed or deleted by hand (the admin), and after, for `totals_refresh_touched`."""
    touched: dict[int, tuple[set, set]] = {}
    for store_id, day, listing_id in rows.values_list("listing__store_account_id", "date", "listing_id").order_by():
        days, listing_ids = touched.setdefault(store_id, (set(), set()))
        days.add(day)
        listing_ids.add(listing_id)
    return touched


def totals_refresh_touched(*touched: dict[int, tuple[set, set]]):
    """`totals_refresh` for everything the `rows_touched` results name."""
    merged: dict[int, tuple[set, set]] = {}
    for each in touched:
        for store_id, (days, listing_ids) in each.items():
            merged_days, merged_listings = merged.setdefault(store_id, (set(), set()))
            merged_days |= days
            merged_listings |= listing_ids
    for store_id, (days, listing_ids) in merged.items():
        totals_refresh(store_id, days=days, listing_ids=listing_ids)
