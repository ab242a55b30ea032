"""Backtest a store's pricing settings: replay the last days of real supplier prices and stock for
every live listing of the store, under the current settings and under edited ones, side by side.

What is replayed, hour by hour over the window (an hourly grid from PriceHistory and StockHistory:
the state at each hour is the last change recorded at or before it, the state before the window
the last change before it; before a product's first recorded change, that change's old value; a
product with no history keeps its current values):

- The listing's sources in order: its own product, then its backup sources (ListingSource by
  position). A source qualifies at an hour when it is in stock and the price our rules give it is at
  most the listing's ceiling (pricing.source_ceiling: the locked price, else the listing's
  max_price, else its own product's rules price × (1 + failover_max_increase_percent / 100)). The
  active source is the first qualifying one, except that a listing on a backup goes back to a more
  preferred source only once that source has qualified at every hour of the last
  SOURCE_SWITCH_BACK_MINUTES; a listing with no qualifying source is paused. Whether a page could
  be read is not replayed: the history keeps no failed fetches.
- The store's rules on the active source (marketplaces.pricing, in whole cents): the rules price
  (with the volatility buffer when the settings have it on) or the locked price; paused under the
  store's minimum supplier stock or with nothing left to list after the safety buffer, and under
  the minimum margin when the store pauses for it. The seller's own price, stock or shipping for a
  product (ProductOverride) is in force over the whole window. Prices in another currency are
  converted at today's kept rates, not the rates of each day.
- The volatility buffer of a product is the one it had at the start of the window (from the rises
  of the VOLATILITY_WINDOW_DAYS before it): a buffer computed from the replayed rises themselves
  would know the future.
- The listing's price and status during an hour are decided at the start of the hour (the check);
  a change recorded during the hour is taken as in force for the whole hour (history keeps the
  reading that saw it, so it happened at most one check before). An hour on sale is "below landed
  cost" when the price decided at its start is under the landed cost at the cost of the hour's end,
  and its margin is the margin at that cost.
- Marketplace calls are the revisions the live follow would send at each hour's decision: a price
  or quantity change of a listing on sale, and a pause or resume (on eBay the pause is quantity 0 in
  the same call as the price).

The work is done over numpy arrays, all listings at once, one step per hour.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db.models import BigIntegerField, F, OuterRef, Subquery
from django.db.models.functions import Cast, Round
from django.utils import timezone

from catalog.models import Availability, PriceHistory, ProductOverride, StockHistory
from marketplaces.models import ExchangeRate, Listing, ListingSource, StoreAccount
from marketplaces.pricing import listing_prices_cents, sale_cents, unit_cost_for, volatility_buffers

from .rates import convert_amount

BACKTEST_DAYS = (30, 90)
TOP_LISTINGS = 5
HOUR = 3600
UNKNOWN = -1  # a cost or price not known at that hour (no price yet, no exchange rate)
_BEFORE_ALL = -(2**38)  # seconds: the synthetic state before a product's first recorded change
_KEY = 2**40  # per-product stride of the combined (product, time) search keys
BAD_DAYS = "A backtest covers 1 to 366 days."
QUANTITY_PAUSE_MARKETPLACES = frozenset({"ebay"})  # as services.follow: pausing is quantity 0


@dataclass(frozen=True)
class Figures:
    """What one set of settings did over the window (all listings, or one listing)."""

    hours_below_cost: int
    hours_paused: int
    calls: int
    hours_on_sale: int
    average_margin: Decimal | None  # percent over the hours on sale; None when never on sale


@dataclass(frozen=True)
class ListingDifference:
    """One listing's figures under the current and the edited settings."""

    listing_id: int
    title: str
    current: Figures
    edited: Figures

    @property
    def score(self) -> int:
        """How much the outcome changes: hours below cost, hours paused and calls, all differences."""
        return (
            abs(self.edited.hours_below_cost - self.current.hours_below_cost)
            + abs(self.edited.hours_paused - self.current.hours_paused)
            + abs(self.edited.calls - self.current.calls)
        )

    @property
    def margin_change(self) -> Decimal:
        if self.current.average_margin is None or self.edited.average_margin is None:
            return Decimal("0")
        return self.edited.average_margin - self.current.average_margin


@dataclass
class BacktestResult:
    """The side-by-side answer of a backtest."""

    store_id: int
    days: int
    start: datetime
    end: datetime
    listings: int
    current: Figures
    edited: Figures
    top: list[ListingDifference] = field(default_factory=list)
    listing_figures: dict[int, ListingDifference] = field(default_factory=dict)

    @property
    def hours(self) -> int:
        return self.days * 24


# --- Loading the history ---------------------------------------------------------------------


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@dataclass
class _Series:
    """Change events of every product, sorted by (product index, time), with their search keys."""

    keys: np.ndarray
    columns: dict[str, np.ndarray]

    def at(self, product_count: int, times: np.ndarray) -> np.ndarray:
        """Index of the event in force at each time for each product: (products, times)."""
        queries = np.arange(product_count, dtype=np.int64)[:, None] * _KEY + (times[None, :] + _KEY // 2)
        return np.searchsorted(self.keys, queries, side="right") - 1


def _series(index: dict[int, int], rows: list[tuple], initial: dict[int, tuple], start_at: int) -> _Series:
    """Events from (product_id, epoch, *values) rows plus one synthetic event per product before all
    the others holding `initial[product_id]` (its state before its first loaded change)."""
    width = len(next(iter(initial.values())))
    product_idx, times, values = [], [], [[] for _ in range(width)]
    for product_id, state in initial.items():
        product_idx.append(index[product_id])
        times.append(_BEFORE_ALL)
        for column, value in zip(values, state, strict=True):
            column.append(value)
    for product_id, at, *state in rows:
        product_idx.append(index[product_id])
        times.append(at - start_at)
        for column, value in zip(values, state, strict=True):
            column.append(value)
    pidx = np.asarray(product_idx, dtype=np.int64)
    rel = np.asarray(times, dtype=np.int64)
    keys = pidx * _KEY + (rel + _KEY // 2)
    order = np.argsort(keys, kind="stable")
    columns = {"product": pidx[order]}
    for position, column in enumerate(values):
        columns[str(position)] = np.asarray(column, dtype=object)[order]
    return _Series(keys=keys[order], columns=columns)


def _last_before(model, product_ids: list[int], start: datetime) -> list[int]:
    """The id of each product's last change at or before `start` (one query)."""
    last = (
        model.objects.filter(product_id=OuterRef("product_id"), recorded_at__lte=start)
        .order_by("-recorded_at", "-pk")
        .values("pk")[:1]
    )
    rows = (
        model.objects.filter(product_id__in=product_ids, recorded_at__lte=start)
        .values("product_id")
        .distinct()
        .annotate(last=Subquery(last))
        .values_list("last", flat=True)
    )
    return [pk for pk in rows.order_by() if pk is not None]


def _cents_expression(name: str):
    return Cast(Round(F(name) * 100), BigIntegerField())


def _price_rows(product_ids: list[int], start: datetime, end: datetime) -> list[tuple]:
    """(product_id, epoch, new price cents or None, currency, old price cents or None) of the
    changes in the window and the last one before it, oldest first."""
    before = _last_before(PriceHistory, product_ids, start)
    # Whole cents from the database: no Decimal per row.
    rows = (
        PriceHistory.objects.filter(pk__in=before)
        | PriceHistory.objects.filter(product_id__in=product_ids, recorded_at__gt=start, recorded_at__lte=end)
    ).annotate(new_cents=_cents_expression("new_price"), old_cents=_cents_expression("old_price"))
    return [
        (product_id, _epoch(at), new, currency, old)
        for product_id, at, new, currency, old in rows.order_by("recorded_at", "pk").values_list(
            "product_id", "recorded_at", "new_cents", "currency", "old_cents"
        )
    ]


def _stock_rows(product_ids: list[int], start: datetime, end: datetime) -> list[tuple]:
    """(product_id, epoch, new stock, new availability, old stock, old availability), oldest first."""
    before = _last_before(StockHistory, product_ids, start)
    rows = StockHistory.objects.filter(pk__in=before) | StockHistory.objects.filter(
        product_id__in=product_ids, recorded_at__gt=start, recorded_at__lte=end
    )
    return [
        (product_id, _epoch(at), *rest)
        for product_id, at, *rest in rows.order_by("recorded_at", "pk").values_list(
            "product_id", "recorded_at", "new_stock", "new_availability", "old_stock", "old_availability"
        )
    ]


# --- The replay ------------------------------------------------------------------------------


@dataclass
class _World:
    """Everything that does not depend on the settings: listings, sources, the products' states on
    the hourly grid."""

    listing_ids: list[int]
    titles: list[str]
    marketplace: str
    sources: np.ndarray  # (listings, sources): product index or -1
    locked: np.ndarray  # (listings,): locked price in cents or -1
    price_now: np.ndarray  # (listings,): the listing's price now, in cents
    max_price: np.ndarray  # (listings,): max price in cents or -1
    price_state: np.ndarray  # (products, hours + 1): index into the price events
    stock_state: np.ndarray  # (products, hours + 1): index into the stock events
    price_cents: np.ndarray  # per price event: supplier price cents (object: None unknown)
    price_currency: np.ndarray  # per price event
    price_product: np.ndarray  # per price event: product index
    stock_value: np.ndarray  # per stock event: stock (-1 unknown)
    stock_out: np.ndarray  # per stock event: out of stock
    products: list  # product rows by index: (pk, currency, supplier currency, default shipping, tax %, shipping)
    buffer_bp: np.ndarray  # per product: volatility buffer in hundredths of a percent


def _world(store: StoreAccount, *, start: datetime, end: datetime) -> _World:
    listings = list(
        Listing.objects.live()
        .filter(store_account=store, user=store.user)
        .order_by("pk")
        .values_list("pk", "title", "product_id", "price", "price_locked", "max_price")
    )
    backups = defaultdict(list)
    for listing_id, product_id in (
        ListingSource.objects.filter(listing__store_account=store, listing__in=[row[0] for row in listings])
        .order_by("listing_id", "position", "pk")
        .values_list("listing_id", "product_id")
    ):
        backups[listing_id].append(product_id)
    chains = [[row[2], *[p for p in backups[row[0]] if p != row[2]]] for row in listings]
    if not listings:
        return _World([], [], store.marketplace, *([np.zeros(0, dtype=np.int64)] * 13))
    product_ids = list(dict.fromkeys(p for chain in chains for p in chain))
    index = {product_id: i for i, product_id in enumerate(product_ids)}
    width = max((len(chain) for chain in chains), default=1)
    sources = np.full((len(listings), width), -1, dtype=np.int64)
    for row, chain in enumerate(chains):
        sources[row, : len(chain)] = [index[p] for p in chain]

    from catalog.models import Product

    products = {
        row[0]: row
        for row in Product.objects.filter(pk__in=product_ids).values_list(
            "pk",
            "price",
            "currency",
            "stock",
            "availability",
            "supplier__currency",
            "supplier__default_shipping",
            "supplier__sales_tax_percent",
        )
    }
    overrides = {
        row[0]: row
        for row in ProductOverride.objects.filter(user=store.user, product_id__in=product_ids).values_list(
            "product_id", "price", "currency", "stock", "shipping"
        )
    }
    price_rows = _price_rows(product_ids, start, end)
    stock_rows = _stock_rows(product_ids, start, end)
    first_price, first_stock = {}, {}
    for row in price_rows:
        first_price.setdefault(row[0], row)
    for row in stock_rows:
        first_stock.setdefault(row[0], row)

    def cents(value) -> int | None:
        return None if value is None else int(value * 100)

    price_initial, stock_initial = {}, {}
    for product_id in product_ids:
        pk, price, currency, stock, availability, *_ = products[product_id]
        override = overrides.get(product_id)
        if override is not None and override[1] is not None:
            price_rows = [row for row in price_rows if row[0] != product_id]  # their own price, all along
            price_initial[product_id] = (cents(override[1]), override[2] or currency)
        elif product_id in first_price:
            row = first_price[product_id]
            price_initial[product_id] = (row[4], row[3] or currency)
        else:
            price_initial[product_id] = (cents(price), currency)
        if override is not None and override[3] is not None:
            stock_rows = [row for row in stock_rows if row[0] != product_id]
            stock_initial[product_id] = (override[3], Availability.IN_STOCK if override[3] > 0 else "out_of_stock")
        elif product_id in first_stock:
            row = first_stock[product_id]
            stock_initial[product_id] = (row[4], row[5] or Availability.UNKNOWN)
        else:
            stock_initial[product_id] = (stock, availability)
    start_at = _epoch(start)
    prices = _series(index, [(p, at, new, cur) for p, at, new, cur, _ in price_rows], price_initial, start_at)
    stocks = _series(index, [(p, at, new, avail) for p, at, new, avail, _, _ in stock_rows], stock_initial, start_at)
    hours = int((end - start).total_seconds() // HOUR)
    grid = np.arange(hours + 1, dtype=np.int64) * HOUR
    stock_numbers = stocks.columns["0"]
    known_stock = np.asarray([value is not None for value in stock_numbers], dtype=bool)
    stock_value = np.where(known_stock, np.asarray([v or 0 for v in stock_numbers], dtype=np.int64), -1)
    stock_out = (stocks.columns["1"] == Availability.OUT_OF_STOCK) | (known_stock & (stock_value <= 0))
    buffers = volatility_buffers(product_ids, until=start)
    product_info = []
    for product_id in product_ids:
        pk, price, currency, stock, availability, site_currency, default_shipping, tax = products[product_id]
        override = overrides.get(product_id)
        product_info.append(
            (pk, currency or site_currency or "", site_currency or "", default_shipping, tax, override and override[4])
        )
    return _World(
        listing_ids=[row[0] for row in listings],
        titles=[row[1] for row in listings],
        marketplace=store.marketplace,
        sources=sources,
        locked=np.asarray([cents(row[3]) if row[4] else -1 for row in listings], dtype=np.int64),
        price_now=np.asarray([cents(row[3]) for row in listings], dtype=np.int64),
        max_price=np.asarray([cents(row[5]) if row[5] is not None else -1 for row in listings], dtype=np.int64),
        price_state=prices.at(len(product_ids), grid),
        stock_state=stocks.at(len(product_ids), grid),
        price_cents=prices.columns["0"],
        price_currency=prices.columns["1"],
        price_product=prices.columns["product"],
        stock_value=stock_value,
        stock_out=stock_out,
        products=product_info,
        buffer_bp=np.asarray(
            [int(buffers[p].percent * 100) if buffers[p].applies else 0 for p in product_ids], dtype=np.int64
        ),
    )


def _event_costs(world: _World, settings_store: StoreAccount) -> np.ndarray:
    """The unit cost (store currency, cents) of every price event, UNKNOWN where it is not known:
    supplier price + shipping + tax, converted at today's rates (as pricing.unit_cost_for)."""
    target = (settings_store.currency or "").upper()
    count = len(world.price_cents)
    known = np.asarray([value is not None for value in world.price_cents], dtype=bool)
    price = np.asarray([value or 0 for value in world.price_cents], dtype=np.int64)
    currencies = np.asarray([(c or "").upper() for c in world.price_currency], dtype=object)
    for i, info in enumerate(world.products):  # a blank currency is the product's own
        mask = (world.price_product == i) & (currencies == "")
        currencies[mask] = (info[1] or target).upper()
    shipping = np.zeros(count, dtype=np.int64)
    tax_bp = np.zeros(count, dtype=np.int64)
    shipping_known = np.ones(count, dtype=bool)
    pairs = defaultdict(list)
    for position, (product, currency) in enumerate(zip(world.price_product, currencies, strict=True)):
        pairs[(int(product), currency)].append(position)
    for (product, currency), positions in pairs.items():
        _, _, site_currency, default_shipping, tax, own_shipping = world.products[product]
        unit = unit_cost_for(
            price=Decimal("0"),
            currency=currency,
            store_currency=currency,
            convert=convert_amount,
            seller_shipping=own_shipping,
            supplier_shipping=default_shipping,
            supplier_currency=site_currency,
            tax_percent=tax,
        )
        shipping[positions] = int(unit.shipping * 100)
        tax_bp[positions] = int(Decimal(tax or 0) * 100)
        shipping_known[positions] = unit.amount is not None
    base = price + shipping
    total = base + (base * tax_bp + 5_000) // 10_000
    cost = np.full(count, UNKNOWN, dtype=np.int64)
    rates = {code.upper(): rate for code, rate in ExchangeRate.objects.values_list("currency", "per_eur")}
    rates["EUR"] = Decimal("1")
    for currency in set(currencies.tolist()):
        mask = (currencies == currency) & known & shipping_known
        if currency == target:
            cost[mask] = total[mask]
            continue
        source_rate, target_rate = rates.get(currency), rates.get(target)
        if not source_rate or not target_rate:
            continue
        scale_to, scale_from = int(target_rate * 1_000_000), int(source_rate * 1_000_000)
        values = total[mask].astype(object)  # Python integers: no overflow whatever the rate
        cost[mask] = np.asarray(
            [(2 * v * scale_to + scale_from) // (2 * scale_from) for v in values.tolist()], dtype=np.int64
        )
    return cost


def _quantity(stock: np.ndarray, store: StoreAccount) -> np.ndarray:
    """pricing.listing_quantity over an array (stock -1: not stated)."""
    stated = np.maximum(0, np.minimum(stock - store.safety_buffer, store.max_quantity))
    return np.where(stock < 0, min(store.default_quantity, store.max_quantity), stated)


def _replay(world: _World, store: StoreAccount, switch_back_points: int) -> dict[str, np.ndarray]:
    """Per listing and hour under one set of settings: on sale, paused, below landed cost, margin
    (hundredths of a percent) and marketplace calls."""
    listings, width = world.sources.shape
    hours = world.price_state.shape[1] - 1
    event_cost = _event_costs(world, store)
    known = event_cost >= 0
    event_price = np.full(len(event_cost), UNKNOWN, dtype=np.int64)
    if known.any():
        buffer = world.buffer_bp[world.price_product[known].astype(np.int64)]
        event_price[known] = listing_prices_cents(event_cost[known], store=store, buffer_bp=buffer)
    cost = event_cost[world.price_state]  # (products, hours + 1)
    rules = event_price[world.price_state]
    stock = world.stock_value[world.stock_state]
    out = world.stock_out[world.stock_state]

    valid = world.sources >= 0
    src = np.where(valid, world.sources, 0)
    src_rules = rules[src]  # (listings, sources, hours + 1)
    own_rules = src_rules[:, 0, :]
    percent = 10_000 + int(Decimal(store.failover_max_increase_percent) * 100)
    locked = world.locked[:, None, None]
    max_price = world.max_price[:, None, None]
    within_own = (own_rules[:, None, :] >= 0) & (src_rules * 10_000 <= own_rules[:, None, :] * percent)
    within = np.where(locked >= 0, src_rules <= locked, np.where(max_price >= 0, src_rules <= max_price, within_own))
    qualifies = valid[:, :, None] & ~out[src] & (src_rules >= 0) & within

    active = np.full((listings, hours), -1, dtype=np.int64)
    rows = np.arange(listings)
    columns = np.arange(width)[None, :]
    run = np.zeros((listings, width), dtype=np.int64)
    current = np.full(listings, -1, dtype=np.int64)
    for hour in range(hours):
        now = qualifies[:, :, hour]
        run = np.where(now, run + 1, 0)
        any_now = now.any(axis=1)
        first = np.where(any_now, now.argmax(axis=1), -1)
        still = (current >= 0) & now[rows, np.maximum(current, 0)]
        ready = now & (run >= switch_back_points) & (columns < current[:, None])
        back = np.where(ready.any(axis=1), ready.argmax(axis=1), current)
        current = np.where(still, back, first) if hour else first
        active[:, hour] = current

    on_source = active >= 0
    product = np.where(on_source, src[rows[:, None], np.maximum(active, 0)], 0)  # (listings, hours)
    hour_index = np.arange(hours)[None, :]
    decided_cost = cost[product, hour_index]
    end_cost = cost[product, hour_index + 1]
    end_cost = np.where(end_cost >= 0, end_cost, decided_cost)
    rules_price = rules[product, hour_index]
    price = np.where(world.locked[:, None] >= 0, world.locked[:, None], rules_price)
    priced = on_source & (price >= 0) & (decided_cost >= 0)
    # A listing with no source keeps its last price (the first hours: the price it has now).
    last = np.where(priced, hour_index, -1)
    last = np.maximum.accumulate(last, axis=1)
    carried = np.where(last >= 0, price[rows[:, None], np.maximum(last, 0)], world.price_now[:, None])
    price = np.where(priced, price, carried)

    source_stock = stock[product, hour_index]
    quantity = _quantity(source_stock, store)
    low_stock = (source_stock >= 0) & ((source_stock < store.min_supplier_stock) | (quantity <= 0))
    _, decided_margin = sale_cents(np.maximum(price, 0), np.maximum(decided_cost, 0), store=store)
    min_margin = int(Decimal(store.min_margin_percent) * 100)
    low_margin = priced & (decided_margin < min_margin) & (store.low_margin_action == "pause")
    paused = ~priced | low_stock | low_margin
    on_sale = ~paused
    landed, margin = sale_cents(np.maximum(price, 0), end_cost, store=store)
    below = on_sale & (price < landed)

    price_changed = np.zeros_like(paused)
    price_changed[:, 1:] = price[:, 1:] != price[:, :-1]
    status_changed = np.zeros_like(paused)
    status_changed[:, 1:] = paused[:, 1:] != paused[:, :-1]
    quantity_changed = np.zeros_like(paused)
    quantity_changed[:, 1:] = (quantity[:, 1:] != quantity[:, :-1]) & on_sale[:, 1:] & on_sale[:, :-1]
    if world.marketplace in QUANTITY_PAUSE_MARKETPLACES:
        calls = (price_changed | quantity_changed | status_changed).astype(np.int64)
    else:
        calls = (price_changed | quantity_changed).astype(np.int64) + status_changed
    return {"on_sale": on_sale, "paused": paused, "below": below, "margin": margin, "calls": calls}


def _figures(outcome: dict[str, np.ndarray], rows=slice(None)) -> Figures:
    on_sale = outcome["on_sale"][rows]
    hours_on_sale = int(on_sale.sum())
    margin = None
    if hours_on_sale:
        total = int(outcome["margin"][rows][on_sale].sum())
        margin = (Decimal(total) / Decimal(hours_on_sale) / 100).quantize(Decimal("0.01"))
    return Figures(
        hours_below_cost=int(outcome["below"][rows].sum()),
        hours_paused=int(outcome["paused"][rows].sum()),
        calls=int(outcome["calls"][rows].sum()),
        hours_on_sale=hours_on_sale,
        average_margin=margin,
    )


def store_backtest(
    *, store: StoreAccount, edited: StoreAccount | None = None, days: int = 90, now: datetime | None = None
) -> BacktestResult:
    """Replay the last `days` of supplier prices and stock for every live listing of `store` under
    its saved settings and under `edited` (an unsaved copy with other settings; the saved ones when
    None), side by side, with the TOP_LISTINGS listings whose outcome changes most. Reads only."""
    if not 1 <= days <= 366:
        raise ValueError(BAD_DAYS)
    edited = edited or store
    end = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    world = _world(store, start=start, end=end)
    if not world.listing_ids:
        nothing = Figures(0, 0, 0, 0, None)
        return BacktestResult(store.pk, days, start, end, 0, nothing, nothing)
    minutes = settings.SOURCE_SWITCH_BACK_MINUTES
    switch_back_points = 1 + -(-minutes // 60)  # qualified at every hour of the last N minutes, and now
    current = _replay(world, store, switch_back_points)
    changed = _replay(world, edited, switch_back_points) if edited is not store else current
    result = BacktestResult(
        store_id=store.pk,
        days=days,
        start=start,
        end=end,
        listings=len(world.listing_ids),
        current=_figures(current),
        edited=_figures(changed),
    )
    for row, (listing_id, title) in enumerate(zip(world.listing_ids, world.titles, strict=True)):
        result.listing_figures[listing_id] = ListingDifference(
            listing_id=listing_id, title=title, current=_figures(current, row), edited=_figures(changed, row)
        )
    moved = [diff for diff in result.listing_figures.values() if diff.score or diff.margin_change]
    moved.sort(key=lambda diff: (-diff.score, -abs(diff.margin_change), diff.listing_id))
    result.top = moved[:TOP_LISTINGS]
    return result
