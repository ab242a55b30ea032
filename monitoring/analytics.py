"""The seller dashboard's figures: aggregated in the database, kept in AnalyticsCache.

What is cached, one AnalyticsCache row each per seller (Decimals as strings in `data`):

- `summary:<start>:<end>` (daily): revenue, profit and units of the window and of the window of
  the same length before it, per store currency.
- `series:<start>:<end>` (daily, weekly or monthly by the window's length): revenue, profit and
  units per bucket, per store currency.
- `listings:<start>:<end>` (daily): the best and the worst listings by profit in the window.
- `at_risk` (daily): live listings whose margin at today's price and landed cost (unit cost: supplier
  price + shipping + tax; fees and returns allowance) is under their store's minimum, and live
  listings whose supplier runs low or out.

Summary and series come from the stores' day totals of both windows (StoreDayTotal, a row per
store a day); the listings from the listings' period totals (ListingPeriodTotal: the best and worst
few of each store straight from an index) when the window is a kept period (7, 30 or 90 days) that
ends on the store's newest day or the day after, else from one GROUP BY listing over the rows; both
totals are kept as MarketplaceData is written (marketplaces.services.totals). At-risk from one
query over the live listings that may be at risk (low stock, or a margin the database finds near or
under the minimum; with the seller's own product values joined), quoted exactly in Python. No
query runs per listing. Profit is MarketplaceData's, worked out where the rows are written (actual
costs where the seller recorded them, else unit costs).

Amounts are kept in each store's own currency and converted to the seller's reporting currency
when shown (ExchangeRate: units per EUR), so a new rate or another reporting currency needs no
recomputation; an amount in a currency without a rate is shown unconverted, with a note.

Rows expire (ANALYTICS_TTL, AT_RISK_TTL) and `analytics_invalidate(user)` deletes them: the
performance import calls it after writing a seller's MarketplaceData. A missing or expired row is
recomputed on the next request, with the same numbers a warm cache gives.
"""

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import DecimalField, F, IntegerField, Max, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Availability
from marketplaces.models import (
    ExchangeRate,
    Listing,
    ListingPeriodTotal,
    ListingStatus,
    MarketplaceData,
    StoreAccount,
    StoreDayTotal,
)
from marketplaces.pricing import listings_with_margin, quote_for_price, unit_cost_for
from marketplaces.services.totals import KEPT_DAYS, PERIOD_DAYS

from .models import AnalyticsCache, TimePeriod

ANALYTICS_TTL = timedelta(hours=1)
# Supplier prices and stock change with every refresh, which does not invalidate: keep it short.
AT_RISK_TTL = timedelta(minutes=10)
DEFAULT_DAYS = 30
MAX_DAYS = 731
RANKED_LISTINGS = 5
AT_RISK_SHOWN = 10
EURO = "EUR"
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
AT_RISK_METRIC = "at_risk"
AT_RISK_STATUSES = (ListingStatus.PENDING, ListingStatus.ACTIVE)
LOW_STOCK_AVAILABILITY = (Availability.OUT_OF_STOCK, Availability.LOW_STOCK)
# Percentage points above a store's minimum margin within which the database's margin is checked in
# Python (they differ by rounding to the cent, far less than this).
MARGIN_SLACK = Decimal("1.00")

_SUM = DecimalField(max_digits=20, decimal_places=2)


# --- Periods --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A window of whole days, both ends included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> "Period":
        """The window of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    @property
    def key(self) -> str:
        return f"{self.start.isoformat()}:{self.end.isoformat()}"

    @property
    def granularity(self) -> str:
        if self.days <= 92:
            return TimePeriod.DAILY
        if self.days <= 366:
            return TimePeriod.WEEKLY
        return TimePeriod.MONTHLY


def period_last(days: int, today: date) -> Period:
    """The last `days` complete days: today is left out, because performance is imported once a day
    for the days that have ended (an empty today would read as a drop against the window before)."""
    return Period(today - timedelta(days=days), today - timedelta(days=1))


def _bucket(day: date, granularity: str) -> date:
    if granularity == TimePeriod.WEEKLY:
        return day - timedelta(days=day.weekday())
    if granularity == TimePeriod.MONTHLY:
        return day.replace(day=1)
    return day


def _buckets(period: Period) -> list[date]:
    seen, buckets = set(), []
    day = period.start
    while day <= period.end:
        bucket = _bucket(day, period.granularity)
        if bucket not in seen:
            seen.add(bucket)
            buckets.append(bucket)
        day += timedelta(days=1)
    return buckets


# --- Exchange rates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rates:
    """Staff's exchange rates in memory: units of a currency per euro (the euro itself is 1)."""

    per_eur: dict

    @classmethod
    def load(cls) -> "Rates":
        rates = {currency.upper(): rate for currency, rate in ExchangeRate.objects.values_list("currency", "per_eur")}
        rates = {currency: rate for currency, rate in rates.items() if rate and rate > 0}
        rates[EURO] = Decimal("1")
        return cls(per_eur=rates)

    def factor(self, source: str, target: str) -> Decimal | None:
        """What one unit of `source` is worth in `target`; None when a rate is missing."""
        source, target = (source or target).upper(), target.upper()
        if source == target:
            return Decimal("1")
        if source not in self.per_eur or target not in self.per_eur:
            return None
        return self.per_eur[target] / self.per_eur[source]

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal | None:
        """`amount` × per_eur[target] / per_eur[source], to the cent; None when a rate is missing."""
        factor = self.factor(source, target)
        if factor is None:
            return None
        if factor == 1:
            return amount
        return (amount * factor).quantize(CENT, rounding=ROUND_HALF_UP)


# --- Computing (database) -------------------------------------------------------------------


def _money(value) -> str:
    return str(Decimal(value).quantize(CENT))


def _stores(user) -> dict:
    """The stores of the seller's listings, by id (their currency, fees and minimum margin)."""
    # only() keeps the encrypted credentials out: nothing here needs them decrypted.
    fields = (
        "id",
        "account_name",
        "marketplace",
        "currency",
        "fee_percent",
        "fee_fixed",
        "payment_fee_percent",
        "payment_fee_fixed",
        "returns_percent",
        "min_margin_percent",
    )
    stores = StoreAccount.objects.filter(pk__in=Listing.objects.filter(user=user).values("store_account_id"))
    return {store.pk: store for store in stores.only(*fields)}


def _compute_summary_and_series(user, period: Period, stores: dict) -> tuple[dict, dict]:
    """From the stores' day totals of the window and the one before it (a few rows a day)."""
    previous = period.previous
    rows = StoreDayTotal.objects.filter(
        store_account_id__in=list(stores), date__gte=previous.start, date__lte=period.end
    ).values("date", "store_account_id", "revenue", "profit", units=F("sales"))
    totals = {"current": defaultdict(lambda: [ZERO, ZERO, 0]), "previous": defaultdict(lambda: [ZERO, ZERO, 0])}
    series = defaultdict(lambda: [ZERO, ZERO, 0])  # (bucket, currency) → revenue, profit, units
    for row in rows:
        currency = stores[row["store_account_id"]].currency.upper()
        day = row["date"]
        targets = [totals["previous" if day < period.start else "current"][currency]]
        if day >= period.start:
            targets.append(series[(_bucket(day, period.granularity), currency)])
        for target in targets:
            target[0] += Decimal(row["revenue"])
            target[1] += Decimal(row["profit"])
            target[2] += int(row["units"])
    summary = {
        window: {
            currency: {"revenue": _money(r), "profit": _money(p), "units": u}
            for currency, (r, p, u) in sorted(by_currency.items())
        }
        for window, by_currency in totals.items()
    }
    series_data = {
        "granularity": period.granularity,
        "rows": [
            [bucket.isoformat(), currency, _money(r), _money(p), u]
            for (bucket, currency), (r, p, u) in sorted(series.items())
        ],
    }
    return summary, series_data


def _compute_listings(user, period: Period, stores: dict) -> dict:
    """The best and worst few listings by profit in the window, per store currency: straight from
    the listings' period totals where they cover the window, summed from the performance rows for
    the other stores (another window, or a store whose imports are more than a day behind)."""
    from_totals, from_rows = _listings_totals_plan(period, stores)
    rows = [
        (total.listing_id, total.store_account_id, total.revenue, total.profit, total.sales)
        for store_id, (days, end) in from_totals.items()
        for order in (("-profit", "listing_id"), ("profit", "listing_id"))
        for total in ListingPeriodTotal.objects.filter(store_account_id=store_id, days=days, end=end)
        .order_by(*order)
        .only("listing_id", "store_account_id", "revenue", "profit", "sales")[:RANKED_LISTINGS]
    ]
    if from_rows:
        rows += (
            MarketplaceData.objects.filter(
                listing__user=user,
                listing__store_account_id__in=from_rows,
                date__gte=period.start,
                date__lte=period.end,
            )
            .values_list("listing_id", "listing__store_account_id")
            .annotate(
                revenue=Coalesce(Sum("revenue"), Value(ZERO), output_field=_SUM),
                profit=Coalesce(Sum("profit"), Value(ZERO), output_field=_SUM),
                units=Coalesce(Sum("sales"), Value(0), output_field=IntegerField()),
            )
            .order_by()
        )
    by_currency = defaultdict(list)
    for listing_id, store_id, revenue, profit, units in set(rows):
        by_currency[stores[store_id].currency.upper()].append((Decimal(profit), listing_id, store_id, revenue, units))
    chosen = {}
    for currency, items in by_currency.items():
        # Within one currency the order by profit is the same after conversion, so the overall
        # best and worst are among each currency's best and worst.
        best = heapq.nlargest(RANKED_LISTINGS, items, key=lambda item: (item[0], -item[1]))
        worst = heapq.nsmallest(RANKED_LISTINGS, items, key=lambda item: (item[0], item[1]))
        for item in best + worst:
            chosen[item[1]] = (currency, item)
    titles = dict(Listing.objects.filter(pk__in=list(chosen)).values_list("pk", "title")) if chosen else {}
    listings = []
    for listing_id, (currency, (profit, _id, store_id, revenue, units)) in sorted(chosen.items()):
        store = stores[store_id]
        listings.append(
            {
                "id": listing_id,
                "title": titles.get(listing_id, ""),
                "store": str(store),
                "currency": currency,
                "revenue": _money(revenue),
                "profit": _money(profit),
                "units": int(units),
            }
        )
    return {"listings": listings}


def _listings_totals_plan(period: Period, stores: dict) -> tuple[dict, set]:
    """Where each store's listings are ranked from: {store id: (days, end)} of the kept period
    totals that hold exactly the window's days (the window is a kept period and the store's newest
    day is its last day, or the day before: then nothing is in yet for its last day), and the set of
    stores summed from the rows. A store with no row in the window is in neither."""
    if period.days not in PERIOD_DAYS:
        return {}, set(stores)
    newest = dict(
        StoreDayTotal.objects.filter(store_account_id__in=list(stores))
        .values("store_account_id")
        .annotate(newest=Max("date"))
        .values_list("store_account_id", "newest")
    )
    from_totals, from_rows = {}, set()
    for store_id in stores:
        end = newest.get(store_id)
        if end is None or end < period.start:
            continue
        days = period.days - (period.end - end).days
        if end <= period.end and days in KEPT_DAYS:
            from_totals[store_id] = (days, end)
        else:
            from_rows.add(store_id)
    return from_totals, from_rows


def _compute_at_risk(user, stores: dict, rates: Rates) -> dict:
    """Live listings under their store's minimum margin at today's price and landed cost (the unit
    cost with the seller's own price and shipping in force, marketplaces.pricing), and live listings
    whose supplier is low on or out of stock: one query, quotes in Python.

    The query leaves out the listings the database finds clearly above their minimum margin
    (`_at_risk_candidates`): a seller with 100,000 listings has a few hundred quoted, not all.
    """
    low_margin, low_stock, no_rate = [], [], set()
    low_margin_count = low_stock_count = 0
    for (
        pk,
        title,
        price,
        status,
        store_id,
        cost,
        cost_currency,
        availability,
        stock,
        site_currency,
        site_shipping,
        tax_percent,
        own_price,
        own_currency,
        own_shipping,
    ) in _at_risk_candidates(user, rates):
        store = stores[store_id]
        if availability in LOW_STOCK_AVAILABILITY:
            low_stock_count += 1
            entry = (0 if availability == Availability.OUT_OF_STOCK else 1, stock or 0, pk)
            item = {"id": pk, "title": title, "store": str(store), "availability": availability, "stock": stock}
            low_stock.append((entry, item))
            if len(low_stock) > 4 * AT_RISK_SHOWN:
                low_stock = heapq.nsmallest(AT_RISK_SHOWN, low_stock, key=lambda pair: pair[0])
        if own_price is not None:
            cost, cost_currency = own_price, own_currency or cost_currency
        if cost is None or price is None:
            continue
        unit = unit_cost_for(
            price=cost,
            currency=cost_currency or site_currency or store.currency,
            store_currency=store.currency,
            convert=rates.convert,
            seller_shipping=own_shipping,
            supplier_shipping=site_shipping,
            supplier_currency=site_currency,
            tax_percent=tax_percent,
        )
        if unit.amount is None:
            no_rate.add(unit.currency)
            continue
        quote = quote_for_price(cost=unit, price=price, store=store)
        if quote.margin_percent < store.min_margin_percent:
            low_margin_count += 1
            item = {
                "id": pk,
                "title": title,
                "store": str(store),
                "status": status,
                "currency": store.currency.upper(),
                "price": _money(price),
                "cost": _money(unit.amount),
                "landed_cost": _money(quote.landed_cost),
                "margin_percent": str(quote.margin_percent),
                "min_margin_percent": str(store.min_margin_percent),
            }
            low_margin.append(((quote.margin_percent, pk), item))
            if len(low_margin) > 4 * AT_RISK_SHOWN:
                low_margin = heapq.nsmallest(AT_RISK_SHOWN, low_margin, key=lambda pair: pair[0])
    return {
        "low_margin_count": low_margin_count,
        "low_margin": [item for _, item in heapq.nsmallest(AT_RISK_SHOWN, low_margin, key=lambda pair: pair[0])],
        "low_stock_count": low_stock_count,
        "low_stock": [item for _, item in heapq.nsmallest(AT_RISK_SHOWN, low_stock, key=lambda pair: pair[0])],
        "margin_unknown_currencies": sorted(no_rate),
    }


def _at_risk_candidates(user, rates: Rates):
    """The seller's live listings that may be at risk, with what quoting them needs: those whose
    supplier runs low or out, those whose margin as the database works it out (`listings_with_margin`)
    is under or near their store's minimum (within MARGIN_SLACK points, more than rounding to the
    cent can move it), and those whose cost it may work out otherwise than `quote_for_price`
    (unknown, in another currency, the seller's own price or shipping, or a backup source the
    listing follows). The rest are clearly fine."""
    store = "store_account__"
    live = Listing.objects.filter(user=user, status__in=AT_RISK_STATUSES)
    margins = listings_with_margin(live.annotate(min_margin=F(f"{store}min_margin_percent")), per_eur=rates.per_eur)
    may_be_at_risk = (
        Q(product__availability__in=LOW_STOCK_AVAILABILITY)
        | Q(margin_percent__lt=F("min_margin") + MARGIN_SLACK)
        | Q(unit_cost__isnull=True)
        | Q(active_product__isnull=False)
        | ~Q(cost_currency=F(f"{store}currency"))
        | ~Q(site_currency=F("cost_currency"))
        | Q(own_values__price__isnull=False)
        | Q(own_values__shipping__isnull=False)
    )
    return margins.filter(may_be_at_risk).values_list(
        "pk",
        "title",
        "price",
        "status",
        "store_account_id",
        "product__price",
        "product__currency",
        "product__availability",
        "product__stock",
        "product__supplier__currency",
        "product__supplier__default_shipping",
        "product__supplier__sales_tax_percent",
        "own_values__price",
        "own_values__currency",
        "own_values__shipping",
    )


# --- The cache ------------------------------------------------------------------------------


def analytics_invalidate(user) -> int:
    """Forget every cached figure of `user` (a User or its id); the next dashboard request recomputes them.

    Call it after writing or changing MarketplaceData of any of the seller's listings (the daily
    performance import does, from its task or command: an entry point, since marketplaces' services
    do not import monitoring), or anything else their past performance depends on.
    Returns the number of rows deleted.
    """
    deleted, _ = AnalyticsCache.objects.filter(user=user).delete()
    return deleted


def _metric_keys(period: Period) -> dict:
    return {
        "summary": (f"summary:{period.key}", TimePeriod.DAILY),
        "series": (f"series:{period.key}", period.granularity),
        "listings": (f"listings:{period.key}", TimePeriod.DAILY),
        "at_risk": (AT_RISK_METRIC, TimePeriod.DAILY),
    }


@dataclass
class CachedFigures:
    """The raw (unconverted) figures of one window, and whether each came from the cache."""

    data: dict
    computed_at: datetime
    hits: set = field(default_factory=set)


def figures_for(*, user, period: Period, rates: Rates, now: datetime | None = None) -> CachedFigures:
    """The window's figures from AnalyticsCache, computing and storing whatever is missing or expired."""
    now = now or timezone.now()
    keys = _metric_keys(period)
    wanted = {key: name for name, key in keys.items()}
    found = {}
    computed_at = now
    for metric_type, time_period, data, at in AnalyticsCache.objects.filter(
        user=user, metric_type__in=[metric for metric, _ in keys.values()], expires_at__gt=now
    ).values_list("metric_type", "time_period", "data", "computed_at"):
        name = wanted.get((metric_type, time_period))
        if name:
            found[name] = data
            computed_at = min(computed_at, at)
    missing = set(keys) - set(found)
    if missing:
        stores = _stores(user)
        fresh = {}
        if {"summary", "series"} & missing:
            fresh["summary"], fresh["series"] = _compute_summary_and_series(user, period, stores)
        if "listings" in missing:
            fresh["listings"] = _compute_listings(user, period, stores)
        if "at_risk" in missing:
            fresh["at_risk"] = _compute_at_risk(user, stores, rates)
        rows = [
            AnalyticsCache(
                user=user,
                metric_type=keys[name][0],
                time_period=keys[name][1],
                data=data,
                computed_at=now,
                expires_at=now + (AT_RISK_TTL if name == "at_risk" else ANALYTICS_TTL),
            )
            for name, data in fresh.items()
            if name in missing
        ]
        with transaction.atomic():
            # Expired rows of other windows go; the new ones replace any a concurrent request wrote.
            AnalyticsCache.objects.filter(user=user, expires_at__lte=now).delete()
            AnalyticsCache.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["user", "metric_type", "time_period"],
                update_fields=["data", "computed_at", "expires_at"],
            )
        found.update({name: fresh[name] for name in missing})
    return CachedFigures(data=found, computed_at=computed_at, hits=set(keys) - missing)


# --- Presenting (converted to the reporting currency) ---------------------------------------


@dataclass
class Metric:
    """One headline figure with its value in the previous window and the change between them."""

    name: str
    label: str
    kind: str  # money | units | percent
    current: Decimal | int | None
    previous: Decimal | int | None

    @property
    def change(self) -> Decimal | None:
        """Percent change for money and units; percentage points for a percent."""
        if self.current is None or self.previous is None:
            return None
        if self.kind == "percent":
            return (Decimal(self.current) - Decimal(self.previous)).quantize(TENTH, rounding=ROUND_HALF_UP)
        if not self.previous:
            return None
        change = (Decimal(self.current) - Decimal(self.previous)) / abs(Decimal(self.previous)) * HUNDRED
        return change.quantize(TENTH, rounding=ROUND_HALF_UP)


@dataclass
class Unconverted:
    """Amounts in a currency with no exchange rate: shown as they are, never added in."""

    currency: str
    revenue: Decimal
    profit: Decimal
    previous_revenue: Decimal
    previous_profit: Decimal


@dataclass
class SeriesRow:
    start: date
    end: date
    revenue: Decimal
    profit: Decimal
    units: int

    @property
    def margin(self) -> Decimal | None:
        return margin_percent(self.revenue, self.profit)


@dataclass
class DashboardAnalytics:
    """Everything the dashboard's figures region shows, in the seller's reporting currency."""

    period: Period
    currency: str
    metrics: list
    series: list
    top: list
    bottom: list
    at_risk: dict
    unconverted: list
    computed_at: datetime
    cache_hits: set

    @property
    def previous(self) -> Period:
        return self.period.previous

    @property
    def granularity(self) -> str:
        return self.period.granularity

    @property
    def metric(self) -> dict:
        return {metric.name: metric for metric in self.metrics}

    @property
    def chart(self) -> dict:
        """A Chart.js configuration of revenue and profit over time."""
        return {
            "type": "line",
            "data": {
                "labels": [row.start.isoformat() for row in self.series],
                "datasets": [
                    {"label": f"Revenue ({self.currency})", "data": [float(row.revenue) for row in self.series]},
                    {"label": f"Profit ({self.currency})", "data": [float(row.profit) for row in self.series]},
                ],
            },
        }


def margin_percent(revenue: Decimal, profit: Decimal) -> Decimal | None:
    if not revenue:
        return None
    return (profit / revenue * HUNDRED).quantize(TENTH, rounding=ROUND_HALF_UP)


def _converted_totals(by_currency: dict, currency: str, rates: Rates):
    revenue = profit = ZERO
    units = 0
    unconverted = {}
    for source, values in by_currency.items():
        units += int(values["units"])
        converted_revenue = rates.convert(Decimal(values["revenue"]), source, currency)
        converted_profit = rates.convert(Decimal(values["profit"]), source, currency)
        if converted_revenue is None or converted_profit is None:
            unconverted[source] = (Decimal(values["revenue"]), Decimal(values["profit"]))
            continue
        revenue += converted_revenue
        profit += converted_profit
    return revenue, profit, units, unconverted


def _listing_rows(listings: list, currency: str, rates: Rates) -> tuple[list, list]:
    rows = []
    for item in listings:
        source = item["currency"]
        profit = rates.convert(Decimal(item["profit"]), source, currency)
        revenue = rates.convert(Decimal(item["revenue"]), source, currency)
        converted = profit is not None and revenue is not None
        rows.append(
            {
                **item,
                "converted": converted,
                "shown_currency": currency if converted else source,
                "revenue": revenue if converted else Decimal(item["revenue"]),
                "profit": profit if converted else Decimal(item["profit"]),
                "margin": margin_percent(
                    revenue if converted else Decimal(item["revenue"]),
                    profit if converted else Decimal(item["profit"]),
                ),
            }
        )
    top = sorted(rows, key=lambda row: (-row["profit"], row["id"]))[:RANKED_LISTINGS]
    top_ids = {row["id"] for row in top}
    bottom = [row for row in sorted(rows, key=lambda row: (row["profit"], row["id"])) if row["id"] not in top_ids]
    return top, bottom[:RANKED_LISTINGS]


def dashboard_analytics(*, user, period: Period, now: datetime | None = None) -> DashboardAnalytics:
    """The dashboard's figures for `period` in `user.currency`, from the cache when it holds them."""
    rates = Rates.load()
    figures = figures_for(user=user, period=period, rates=rates, now=now)
    currency = (user.currency or "USD").upper()
    summary, series_data = figures.data["summary"], figures.data["series"]

    revenue, profit, units, unconverted_now = _converted_totals(summary["current"], currency, rates)
    p_revenue, p_profit, p_units, unconverted_before = _converted_totals(summary["previous"], currency, rates)
    metrics = [
        Metric("revenue", "Revenue", "money", revenue, p_revenue),
        Metric("profit", "Profit", "money", profit, p_profit),
        Metric("margin", "Margin", "percent", margin_percent(revenue, profit), margin_percent(p_revenue, p_profit)),
        Metric("units", "Units sold", "units", units, p_units),
    ]
    unconverted = [
        Unconverted(
            currency=source,
            revenue=unconverted_now.get(source, (ZERO, ZERO))[0],
            profit=unconverted_now.get(source, (ZERO, ZERO))[1],
            previous_revenue=unconverted_before.get(source, (ZERO, ZERO))[0],
            previous_profit=unconverted_before.get(source, (ZERO, ZERO))[1],
        )
        for source in sorted(set(unconverted_now) | set(unconverted_before))
    ]

    buckets = defaultdict(lambda: [ZERO, ZERO, 0])
    for bucket, source, bucket_revenue, bucket_profit, bucket_units in series_data["rows"]:
        converted_revenue = rates.convert(Decimal(bucket_revenue), source, currency)
        converted_profit = rates.convert(Decimal(bucket_profit), source, currency)
        values = buckets[date.fromisoformat(bucket)]
        values[2] += int(bucket_units)
        if converted_revenue is not None and converted_profit is not None:
            values[0] += converted_revenue
            values[1] += converted_profit
    starts = _buckets(period)
    series = []
    for index, start in enumerate(starts):
        end = starts[index + 1] - timedelta(days=1) if index + 1 < len(starts) else period.end
        revenue_b, profit_b, units_b = buckets.get(start, (ZERO, ZERO, 0))
        series.append(
            SeriesRow(start=max(start, period.start), end=end, revenue=revenue_b, profit=profit_b, units=units_b)
        )

    top, bottom = _listing_rows(figures.data["listings"]["listings"], currency, rates)
    return DashboardAnalytics(
        period=period,
        currency=currency,
        metrics=metrics,
        series=series,
        top=top,
        bottom=bottom,
        at_risk=figures.data["at_risk"],
        unconverted=unconverted,
        computed_at=figures.computed_at,
        cache_hits=figures.hits,
    )
