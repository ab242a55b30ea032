"""Daily listing performance: sales, money and traffic of each listing of a store for one day.

Sales, revenue, cost, fees and the returns allowance are sums of the imported Sale rows of the day
(in the seller's time zone); the cost is what the seller recorded paying where they did, else
the unit cost (supplier price + shipping + tax) at the time of sale. Views and clicks come from
where each marketplace reports them: eBay's traffic report, Etsy's cumulative view count (the
day's views are the difference from the day before), nothing on Shopify. The marketplaces'
quotas are shared by the whole application and spent on price and stock pushes first: when not
enough is left, statistics wait and the store says why.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext

from marketplaces.clients import MarketplaceError, NeedsReauth, QuotaExhausted, Retryable, adapter_for, usage_count
from marketplaces.clients.ebay import TRAFFIC_MAX_LISTINGS, TRAFFIC_USAGE
from marketplaces.clients.etsy import daily_quota_remaining
from marketplaces.models import DataSource, Listing, MarketplaceData, Sale, StoreAccount
from marketplaces.pricing import sale_charges

from .pushing import is_demo_store
from .rates import convert
from .stores import store_mark_needs_reauth
from .totals import totals_refresh

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
EBAY_TRAFFIC_WAIT = "eBay's daily traffic-report allowance is used up; statistics resume tomorrow"
ETSY_STATS_WAIT = "Etsy's daily request allowance is kept for price and stock updates today; statistics resume tomorrow"
STATS_QUOTA_WAIT = "{marketplace}'s daily request allowance is used up; statistics resume tomorrow"
STATS_RETRY_WAIT = "Statistics could not be fetched ({message}); they are tried again at the next import"
STATS_RECONNECT_WAIT = "Connect the store again to import its statistics"
COST_UNKNOWN_NOTE = (
    "Cost unknown for {count} sale: the supplier price could not be converted.",
    "Cost unknown for {count} sales: the supplier price could not be converted.",
)
REVENUE_UNCONVERTED_NOTE = (
    "{count} sale in another currency could not be converted and is left out.",
    "{count} sales in another currency could not be converted and are left out.",
)


@dataclass
class PerformanceImport:
    """What one day's import of a store wrote."""

    store_id: int
    day: date
    listings: int = 0
    created: int = 0
    updated: int = 0
    sales: int = 0
    revenue: Decimal = ZERO
    source: str = DataSource.NONE
    waiting: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        data["revenue"] = str(self.revenue)
        return data


def seller_zone(store: StoreAccount) -> ZoneInfo:
    try:
        return ZoneInfo(store.user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def seller_today(store: StoreAccount, *, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(seller_zone(store)).date()


def seller_yesterday(store: StoreAccount, *, now: datetime | None = None) -> date:
    """The last whole day in the seller's time zone: what the daily import covers."""
    return seller_today(store, now=now) - timedelta(days=1)


def _day_window(store: StoreAccount, day: date) -> tuple[datetime, datetime]:
    zone = seller_zone(store)
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def _listings_of_day(store: StoreAccount, start: datetime, end: datetime) -> list[Listing]:
    """Listings that existed during the day (or sold during it)."""
    existed = Q(created_at__lt=end) & (Q(ended_at__isnull=True) | Q(ended_at__gte=start))
    sold = Q(sales__ordered_at__gte=start, sales__ordered_at__lt=end)
    return list(store.listings.filter(existed | sold).distinct().order_by("pk"))


# --- Traffic --------------------------------------------------------------------------------


def _traffic(store: StoreAccount, listings: list[Listing], day: date, *, now: datetime | None):
    """({external id: TrafficRow}, source, waiting reason). An empty waiting reason with no rows
    means the marketplace does not report traffic for that day."""
    ids = [listing.external_listing_id for listing in listings if listing.external_listing_id]
    if not ids or is_demo_store(store) or store.marketplace == "shopify":
        return {}, DataSource.NONE, ""
    if store.needs_reauth or not store.is_connected:
        return {}, DataSource.NONE, STATS_RECONNECT_WAIT
    if store.marketplace == "ebay":
        needed = math.ceil(len(ids) / TRAFFIC_MAX_LISTINGS)
        if usage_count(TRAFFIC_USAGE) + needed > settings.EBAY_TRAFFIC_DAILY_CALLS:
            return {}, DataSource.NONE, EBAY_TRAFFIC_WAIT
        source = DataSource.EBAY_TRAFFIC_REPORT
    elif store.marketplace == "etsy":
        # Etsy's count is a running total read now: it only tells about the day just gone.
        if day < seller_yesterday(store, now=now):
            return {}, DataSource.NONE, ""
        remaining = daily_quota_remaining()
        if remaining is not None and remaining < settings.ETSY_STATS_QUOTA_RESERVE:
            return {}, DataSource.NONE, ETSY_STATS_WAIT
        source = DataSource.ETSY_VIEWS_DELTA
    else:
        return {}, DataSource.NONE, ""
    adapter = adapter_for(store)
    try:
        rows = adapter.fetch_traffic(ids, day)
    except NeedsReauth as exc:
        store_mark_needs_reauth(store, exc.message)
        return {}, DataSource.NONE, STATS_RECONNECT_WAIT
    except QuotaExhausted:
        return {}, DataSource.NONE, STATS_QUOTA_WAIT.format(marketplace=store.get_marketplace_display())
    except (Retryable, MarketplaceError) as exc:
        return {}, DataSource.NONE, STATS_RETRY_WAIT.format(message=exc.message)
    finally:
        adapter.http.close()
    return {row.external_id: row for row in rows}, source, ""


def _views_fields(listing: Listing, row, source: str, day: date) -> dict:
    if row is None:
        return {"views": None, "clicks": None, "source": DataSource.NONE, "views_cumulative": None}
    if not row.cumulative:
        known = row.views is not None or row.clicks is not None
        return {
            "views": row.views,
            "clicks": row.clicks,
            "source": source if known else DataSource.NONE,
            "views_cumulative": None,
        }
    previous = (
        MarketplaceData.objects.filter(listing=listing, date=day - timedelta(days=1))
        .values_list("views_cumulative", flat=True)
        .first()
    )
    views = None
    if row.views is not None and previous is not None and row.views >= previous:
        views = row.views - previous
    return {
        "views": views,
        "clicks": None,
        "source": source if views is not None else DataSource.NONE,
        "views_cumulative": row.views,
    }


# --- Import ---------------------------------------------------------------------------------


def _money_of_day(store: StoreAccount, sales: list[Sale]) -> tuple[dict, list[str]]:
    """The day's sales, revenue, cost of goods (what the seller recorded paying, else the unit cost
    when it sold), fees (the marketplace's own where given, else the store's rates; the payment
    fee) and returns allowance, in the store's currency (marketplaces.pricing.sale_charges)."""
    units, revenue, cost, fees, returns = 0, ZERO, ZERO, ZERO, ZERO
    unknown_cost = unconverted = 0
    for sale in sales:
        unit_price = convert(sale.unit_price, from_currency=sale.currency, to_currency=store.currency)
        if unit_price is None:
            unconverted += 1
            continue
        units += sale.quantity
        revenue += unit_price * sale.quantity
        if sale.actual_cost is not None:
            cost += sale.actual_cost  # what the seller recorded paying, once they did
        elif sale.unit_cost is None:
            unknown_cost += 1
        else:
            cost += sale.unit_cost * sale.quantity
        own_fee = None
        if sale.fees is not None:
            own_fee = convert(sale.fees, from_currency=sale.currency, to_currency=store.currency)
        charges = sale_charges(unit_price=unit_price, quantity=sale.quantity, store=store, marketplace_fee=own_fee)
        fees += charges.fees
        returns += charges.returns
    notes = []
    if unknown_cost:
        notes.append(ngettext(*COST_UNKNOWN_NOTE, unknown_cost).format(count=unknown_cost))
    if unconverted:
        notes.append(ngettext(*REVENUE_UNCONVERTED_NOTE, unconverted).format(count=unconverted))
    money = {
        "sales": units,
        "revenue": revenue,
        "cost_of_goods_sold": cost,
        "fees": fees,
        "returns_allowance": returns,
        "profit": MarketplaceData.profit_of(revenue, cost, fees, returns),
    }
    return money, notes


def store_performance_import(store: StoreAccount, day: date, *, now: datetime | None = None) -> PerformanceImport:
    """Fill MarketplaceData of `day` for every listing of the store (run again: same rows).

    When the traffic quota is spent the money figures are still written; views and clicks
    already imported are kept, new rows get none (source "none"), and the store says why
    (`stats_waiting_reason`) until a later import gets them.
    """
    start, end = _day_window(store, day)
    listings = _listings_of_day(store, start, end)
    result = PerformanceImport(store_id=store.pk, day=day, listings=len(listings))
    sales_by_listing: dict[int, list[Sale]] = defaultdict(list)
    for sale in Sale.objects.filter(
        store_account=store, ordered_at__gte=start, ordered_at__lt=end, cancelled=False
    ).order_by("pk"):
        sales_by_listing[sale.listing_id].append(sale)
    traffic, source, waiting = _traffic(store, listings, day, now=now)
    result.source, result.waiting = (source if traffic else DataSource.NONE), waiting
    with transaction.atomic():
        for listing in listings:
            money, notes = _money_of_day(store, sales_by_listing.get(listing.pk, []))
            defaults = {**money, "notes": " ".join(notes) or None}
            if not waiting:
                defaults.update(_views_fields(listing, traffic.get(listing.external_listing_id or ""), source, day))
            _, created = MarketplaceData.objects.update_or_create(listing=listing, date=day, defaults=defaults)
            result.created += created
            result.updated += not created
            result.sales += money["sales"]
            result.revenue += money["revenue"]
        totals_refresh(store.pk, days=[day])
        store.stats_waiting_reason = waiting
        fields = ["stats_waiting_reason"]
        if not waiting and (store.stats_synced_on is None or day > store.stats_synced_on):
            store.stats_synced_on = day
            fields.append("stats_synced_on")
        store.save(update_fields=[*fields, "updated_at"])
    return result


def sale_day(sale: Sale) -> date:
    """The day (seller's time zone) whose performance row counts this sale."""
    return sale.ordered_at.astimezone(seller_zone(sale.store_account)).date()


def listing_day_money_refresh(listing: Listing, day: date) -> MarketplaceData:
    """Work out again the money of one listing's day from its Sale rows (e.g. after the seller
    recorded what an order really cost); views and clicks stay as imported."""
    store = listing.store_account
    start, end = _day_window(store, day)
    sales = list(
        Sale.objects.filter(listing=listing, ordered_at__gte=start, ordered_at__lt=end, cancelled=False).order_by("pk")
    )
    money, notes = _money_of_day(store, sales)
    with transaction.atomic():
        row, _ = MarketplaceData.objects.update_or_create(
            listing=listing, date=day, defaults={**money, "notes": " ".join(notes) or None}
        )
        totals_refresh(store.pk, days=[day], listing_ids=[listing.pk])
    return row


def store_statistics_days(store: StoreAccount, *, until: date | None = None, now=None) -> list[date]:
    """The days a catch-up imports: every day since the last whole import up to `until` (default:
    the seller's yesterday), at most MARKETPLACE_STATS_CATCH_UP_DAYS days."""
    until = until or seller_yesterday(store, now=now)
    if store.stats_synced_on is None:
        return [until]  # a new store starts with its last day, not a week of quota
    if store.stats_synced_on >= until:
        return []
    oldest = until - timedelta(days=settings.MARKETPLACE_STATS_CATCH_UP_DAYS - 1)
    first = max(oldest, store.stats_synced_on + timedelta(days=1))
    return [first + timedelta(days=offset) for offset in range((until - first).days + 1)]


def store_statistics_catch_up(store: StoreAccount, *, until: date | None = None, now=None) -> list[PerformanceImport]:
    """Import every day since the last whole import up to `until` (default: the seller's yesterday),
    at most MARKETPLACE_STATS_CATCH_UP_DAYS days: days that waited for a quota get their turn."""
    return [store_performance_import(store, day, now=now) for day in store_statistics_days(store, until=until, now=now)]


# --- Performance as CSV (the listing page's download and the API's) ----------------------------

PERFORMANCE_CSV_HEADER = [
    "date",
    "views",
    "clicks",
    "sales",
    "revenue",
    "cost_of_goods_sold",
    "fees",
    "profit",
    "currency",
    "source",
]


def performance_csv_cells(day, currency: str) -> tuple:
    """One day of a listing's performance as CSV cells (PERFORMANCE_CSV_HEADER)."""
    return (
        day.date,
        day.views,
        day.clicks,
        day.sales,
        day.revenue,
        day.cost_of_goods_sold,
        day.fees,
        day.profit,
        currency,
        day.source,
    )
