"""Backtest a store's pricing settings: replay the last days of real supplier prices and stock for
every live listing of the store, under the current settings and under edited ones, side by side.

What is replayed, hour by hour over the window (an hourly grid from PriceHistory and StockHistory:
the state at each hour is the last change recorded at or before it, the state before the window
the last change before it; before a product's first recorded change, that change's old value; a
product with no history keeps its current values):

- The listing's sources in order: its own product, then its backup sources (ListingSource by
  position). A source qualifies at an hour when it is in stock and the price our rules give it is at
  most the listing's ceiling (pricing.source_ceiling: the locked price, else the listing's
  max_price, else its own product's rules price × (1 + failover_max_increase_percent / 100)), which
  never refuses the own product (as when following live). The active source is the first qualifying
  one, except that a listing on a backup goes back to a more preferred source only once that source
  has qualified at every hour of the last SOURCE_SWITCH_BACK_MINUTES; a listing with no qualifying
  source is paused. Whether a page could be read is not replayed: the history keeps no failed
  fetches.
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

The work is done over numpy arrays, all listings and hours at once; a listing with backup sources
is stepped through only where it holds on to a less preferred source. On PostgreSQL outside a
transaction the price changes are read on a second connection while the rest is read and built;
the saved and the edited settings are replayed on two threads.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, Exists, F, Func, IntegerField, OuterRef, Subquery
from django.db.models.functions import Cast, Coalesce
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


class _Epoch(Func):
    """Whole seconds since 1970 of a datetime column, worked out by the database (no datetime object
    per row on our side)."""

    output_field = BigIntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {sql})) AS BIGINT)", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"CAST(strftime('%%s', {sql}) AS INTEGER)", params


class _Sql(Func):
    """A small SQL formula over columns, `{0}`, `{1}`… naming them (whole numbers: no Decimal or None
    per row on our side)."""

    output_field = BigIntegerField()

    def __init__(self, formula: str, *expressions, params: tuple = ()):
        super().__init__(*expressions)
        self.formula, self.extra_params = formula, list(params)

    def as_sql(self, compiler, connection, **extra_context):
        compiled = [compiler.compile(expression) for expression in self.get_source_expressions()]
        params = [param for _, part in compiled for param in part]
        formula = f"CAST(({self.formula.format(*(sql for sql, _ in compiled))}) AS BIGINT)"
        return formula, [*params, *self.extra_params]


class _Cents(_Sql):
    """An amount in whole cents, -1 when NULL (PostgreSQL's numeric is exact and its cast rounds;
    SQLite keeps floats: 19.99 × 100 is 1998.9999…, so it rounds first)."""

    def __init__(self, name: str):
        super().__init__("COALESCE(CAST({0} * 100 AS BIGINT), -1)", F(name))

    def as_sqlite(self, compiler, connection, **extra_context):
        rounded = self.copy()
        rounded.formula = "COALESCE(CAST(ROUND({0} * 100) AS BIGINT), -1)"
        return rounded.as_sql(compiler, connection, **extra_context)


def _cents(name: str) -> _Sql:
    return _Cents(name)


def _currency(name: str, codes: list[str], common: list[str] = ()) -> _Sql:
    """The index of the column's currency in `codes`, -1 when blank or not there. The `common` codes
    are asked first, as written (one or two comparisons for most rows, no upper-casing)."""
    order = [*dict.fromkeys([*common, *codes])]
    whens = " ".join(f"WHEN %s THEN {codes.index(code)}" for code in order)
    if not codes:
        return _Sql("(-1)", F(name))
    any_case = f"CASE UPPER({{0}}) {whens} ELSE -1 END"
    if not common:
        return _Sql(any_case, F(name), params=tuple(order))
    as_written = " ".join(f"WHEN %s THEN {codes.index(code)}" for code in common)
    return _Sql(f"CASE {{0}} {as_written} ELSE {any_case} END", F(name), params=(*common, *order))


def _out(stock: str, availability: str) -> _Sql:
    """1 when the stock row says out of stock (or a quantity of 0 or less), else 0."""
    return _Sql(
        "CASE WHEN {1} = %s OR {0} <= 0 THEN 1 ELSE 0 END",
        F(stock),
        F(availability),
        params=(Availability.OUT_OF_STOCK,),
    )


def _fetch(queryset) -> np.ndarray:
    """The rows of an all-integer values_list as an int64 array, read straight from the cursor."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    width = len(queryset._fields)
    return np.array(rows, dtype=np.int64).reshape(-1, width) if rows else np.zeros((0, width), dtype=np.int64)


_POSTGRES_EPOCH = 946_684_800  # 2000-01-01 in Unix seconds: binary timestamps count microseconds from it


def _history(queryset, **values) -> list[np.ndarray]:
    """The changes of a history queryset as int64 columns [product_id, seconds since 1970, id,
    *values], each value an integer SQL expression, in no order. On PostgreSQL the rows come packed
    in one binary value (each column's 8-byte binary form), read straight into numpy: no Python object
    per row; elsewhere row by row through the cursor."""
    names = ["row_product", "row_id", *values]
    queryset = queryset.order_by().annotate(
        row_product=_Sql("{0}", F("product_id")), row_id=_Sql("{0}", F("pk")), **values
    )
    if connection.vendor == "postgresql":
        sql, params = queryset.values_list("recorded_at", *names).query.sql_with_params()
        width = len(names) + 1
        aliases = ", ".join(f"c{i}" for i in range(width))
        packed = " || ".join(["timestamptz_send(c0)", *(f"int8send(c{i})" for i in range(1, width))])
        from psycopg import Cursor

        connection.ensure_connection()
        # A cursor that binds on the server can take the answer in binary: the bytes as they are,
        # not written out in hex by the database and read back here.
        with Cursor(connection.connection) as cursor:
            cursor.execute(
                f"SELECT string_agg({packed}, ''::bytea) FROM ({sql}) AS rows ({aliases})", params, binary=True
            )
            data = cursor.fetchone()[0] or b""
        layout = np.dtype([(f"value{i}", ">i8") for i in range(width)])
        rows = np.frombuffer(data, dtype=layout)
        at = rows["value0"].astype(np.int64) // 1_000_000 + _POSTGRES_EPOCH
        columns = [rows[f"value{i}"].astype(np.int64) for i in range(1, width)]
    else:
        rows = _fetch(queryset.annotate(at=_Epoch("recorded_at")).values_list("at", *names))
        at, columns = rows[:, 0], [rows[:, i] for i in range(1, rows.shape[1])]
    return [columns[0], at, *columns[1:]]


def _meanwhile(function, *args, **kwargs):
    """Start `function` (a read) on another thread with its own database connection and return what
    waits for its answer, so the database works on it while this thread goes on. Where another
    connection would not see the same rows (inside a transaction, as in tests) or where the database
    is a file (SQLite), it runs here and now."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        answer = function(*args, **kwargs)
        return lambda: answer

    def on_own_connection():
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()  # this thread's, opened for the read

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(on_own_connection)
    pool.shutdown(wait=False)  # the thread ends with the read
    return future.result


def _changes(columns: list[np.ndarray], ids: np.ndarray, overridden: np.ndarray, initial, start_at: int):
    """The _series of a _history read: products as indexes into `ids`, times from the window's start,
    without the changes of the products whose value the seller overrides."""
    product_id, at, row_id, *values = columns
    pidx = np.searchsorted(ids, product_id)
    keep = ~overridden[pidx]
    return _series(pidx[keep], at[keep] - start_at, row_id[keep], [value[keep] for value in values], initial)


def _series(pidx, times, ids, values: list[np.ndarray], initial: list[np.ndarray]):
    """Change events sorted by (product, time, id), each product led by a synthetic event at the dawn
    of time holding `initial` (its state before its first loaded change): (products, times, values).
    `times` are seconds from the window's start (at least 0)."""
    products = len(initial[0])
    pidx = np.concatenate([np.arange(products, dtype=np.int64), pidx])
    times = np.concatenate([np.full(products, _BEFORE_ALL, dtype=np.int64), times])
    ids = np.concatenate([np.full(products, -1, dtype=np.int64), ids])
    # By id, then stably by one key for (product, time): two sorts that run fast on the nearly sorted
    # rows a table gives back, where sorting on three keys at once does not.
    moment = np.maximum(times, -1) + 1  # the synthetic events at 0, before every change
    key = pidx * (int(moment.max()) + 1) + moment
    by_id = np.argsort(ids, kind="stable")
    order = by_id[np.argsort(key[by_id], kind="stable")]
    columns = [np.concatenate([first, rest])[order] for first, rest in zip(initial, values, strict=True)]
    return pidx[order], times[order], columns


def _states(pidx: np.ndarray, times: np.ndarray, products: int, hours: int) -> np.ndarray:
    """Index of the event in force at each hour of the grid for each product, (products, hours + 1):
    the last event at or before it. An event at time t is in force from grid point ⌈t / HOUR⌉ on."""
    bucket = np.clip(-(-times // HOUR), 0, hours)
    cell = pidx * (hours + 1) + bucket
    last = np.ones(len(cell), dtype=bool)  # the last event of each (product, hour): events are sorted
    last[:-1] = cell[1:] != cell[:-1]
    states = np.full((products, hours + 1), -1, dtype=np.int32)  # half the bytes of int64 to go through
    states.ravel()[cell[last]] = np.nonzero(last)[0]
    return np.maximum.accumulate(states, axis=1)


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
    own_state: np.ndarray  # (listings, hours + 1): the own product's price event in force
    own_in_stock: np.ndarray  # (listings, hours + 1)
    own_stock: np.ndarray  # (listings, hours + 1): the own product's stock stated, -1 not stated
    chained: np.ndarray  # the listings (rows) that have backup sources
    backup_state: np.ndarray  # (chained, sources - 1, hours + 1): each backup's price event in force
    backup_in_stock: np.ndarray  # (chained, sources - 1, hours + 1): the backup exists and is in stock
    backup_stock: np.ndarray  # (chained, sources - 1, hours + 1)
    price_cents: np.ndarray  # per price event: supplier price in cents, -1 unknown
    price_currency: np.ndarray  # per price event: index in `codes`, -1 the product's own
    price_product: np.ndarray  # per price event: product index
    products: list  # by index: (currency, supplier currency, default shipping, tax %, own shipping)
    codes: list  # currency codes the currency indexes name
    buffer_bp: np.ndarray  # per product: volatility buffer in hundredths of a percent


def _cents_of(value) -> int:
    return -1 if value is None else int(value * 100)


def _world(store: StoreAccount, *, start: datetime, end: datetime) -> _World:
    from catalog.models import Product

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
        return _World([], [], store.marketplace, *([np.zeros(0, dtype=np.int64)] * 18))
    product_ids = sorted({p for chain in chains for p in chain})
    ids = np.asarray(product_ids, dtype=np.int64)
    index = {product_id: i for i, product_id in enumerate(product_ids)}
    width = max((len(chain) for chain in chains), default=1)
    sources = np.full((len(listings), width), -1, dtype=np.int64)
    for row, chain in enumerate(chains):
        sources[row, : len(chain)] = [index[p] for p in chain]

    rates = {code.upper() for code in ExchangeRate.objects.values_list("currency", flat=True)}
    products = list(
        Product.objects.filter(pk__in=product_ids)
        .order_by("pk")
        .values_list(
            "pk",
            "price",
            "currency",
            "stock",
            "availability",
            "supplier__currency",
            "supplier__default_shipping",
            "supplier__sales_tax_percent",
        )
    )
    codes = sorted(rates | {"EUR"} | {(row[2] or "").upper() for row in products} - {""})
    tally = Counter((row[2] or "").upper() for row in products)
    common = [code for code, _ in tally.most_common() if code in codes]
    # The price changes are the longest read (the database packs them): it runs meanwhile.
    window = dict(product_id__in=product_ids, recorded_at__gt=start, recorded_at__lte=end)
    price_history = _meanwhile(
        _history,
        PriceHistory.objects.filter(**window),
        cents=_cents("new_price"),
        code=_currency("currency", codes, common),
    )
    overrides = {
        row[0]: row
        for row in ProductOverride.objects.filter(user=store.user, product_id__in=product_ids).values_list(
            "product_id", "price", "currency", "stock", "shipping"
        )
    }

    # Each product's state before the window: its last change before it, else its first change's
    # old value, else what it holds now.
    def last_before(model):
        return model.objects.filter(product=OuterRef("pk"), recorded_at__lte=start).order_by("-recorded_at", "-pk")

    def first_in(model):
        window = dict(recorded_at__gt=start, recorded_at__lte=end)
        return model.objects.filter(product=OuterRef("pk"), **window).order_by("recorded_at", "pk")

    def one(queryset, expression):
        return Coalesce(Subquery(queryset.annotate(value=expression).values("value")[:1]), -1)

    initial_rows = _fetch(
        Product.objects.filter(pk__in=product_ids)
        .order_by("pk")
        .annotate(
            p_before=Cast(Exists(last_before(PriceHistory)), IntegerField()),
            p_before_cents=one(last_before(PriceHistory), _cents("new_price")),
            p_before_currency=one(last_before(PriceHistory), _currency("currency", codes)),
            p_first=Cast(Exists(first_in(PriceHistory)), IntegerField()),
            p_first_cents=one(first_in(PriceHistory), _cents("old_price")),
            s_before=Cast(Exists(last_before(StockHistory)), IntegerField()),
            s_before_stock=one(last_before(StockHistory), Coalesce("new_stock", -1)),
            s_before_out=one(last_before(StockHistory), _out("new_stock", "new_availability")),
            s_first=Cast(Exists(first_in(StockHistory)), IntegerField()),
            s_first_stock=one(first_in(StockHistory), Coalesce("old_stock", -1)),
            s_first_out=one(first_in(StockHistory), _out("old_stock", "old_availability")),
        )
        .values_list(
            "p_before",
            "p_before_cents",
            "p_before_currency",
            "p_first",
            "p_first_cents",
            "s_before",
            "s_before_stock",
            "s_before_out",
            "s_first",
            "s_first_stock",
            "s_first_out",
        )
    )
    price_initial = [np.full(len(products), -1, dtype=np.int64) for _ in range(2)]
    stock_initial = [np.full(len(products), -1, dtype=np.int64), np.zeros(len(products), dtype=np.int64)]
    own_price, own_stock = np.zeros(len(products), dtype=bool), np.zeros(len(products), dtype=bool)
    product_info = []
    for i, (row, state) in enumerate(zip(products, initial_rows.tolist(), strict=True)):
        _, price, currency, stock, availability, site_currency, default_shipping, tax = row
        p_before, p_before_cents, p_before_currency, p_first, p_first_cents = state[:5]
        s_before, s_before_stock, s_before_out, s_first, s_first_stock, s_first_out = state[5:]
        override = overrides.get(row[0])
        if override is not None and override[1] is not None:  # their own price, all along
            own_price[i] = True
            own_currency = (override[2] or currency or "").upper()
            price_initial[0][i] = _cents_of(override[1])
            price_initial[1][i] = codes.index(own_currency) if own_currency in codes else -1
        elif p_before:
            price_initial[0][i], price_initial[1][i] = p_before_cents, p_before_currency
        elif p_first:
            price_initial[0][i] = p_first_cents
        else:
            price_initial[0][i] = _cents_of(price)
        if override is not None and override[3] is not None:
            own_stock[i] = True
            stock_initial[0][i], stock_initial[1][i] = override[3], int(override[3] <= 0)
        elif s_before:
            stock_initial[0][i], stock_initial[1][i] = s_before_stock, s_before_out
        elif s_first:
            stock_initial[0][i], stock_initial[1][i] = s_first_stock, s_first_out
        else:
            out = availability == Availability.OUT_OF_STOCK or (stock is not None and stock <= 0)
            stock_initial[0][i], stock_initial[1][i] = -1 if stock is None else stock, int(out)
        product_info.append(
            (
                (currency or site_currency or "").upper(),
                site_currency or "",
                default_shipping,
                tax,
                override[4] if override is not None else None,
            )
        )

    stock_rows = _history(
        StockHistory.objects.filter(**window),
        stock=_Sql("COALESCE({0}, -1)", F("new_stock")),
        out=_out("new_stock", "new_availability"),
    )
    start_at = _epoch(start)
    stock_product, stock_times, (stock_value, stock_out) = _changes(stock_rows, ids, own_stock, stock_initial, start_at)
    hours = int((end - start).total_seconds() // HOUR)
    stock_state = _states(stock_product, stock_times, len(product_ids), hours)
    in_stock = ~stock_out.astype(bool)[stock_state]  # (products, hours + 1)
    stock_grid = stock_value[stock_state]
    buffers = volatility_buffers(product_ids, until=start)
    price_rows = price_history()
    price_product, price_times, (price_cents, price_currency) = _changes(
        price_rows, ids, own_price, price_initial, start_at
    )
    price_state = _states(price_product, price_times, len(product_ids), hours)
    chained = np.nonzero((sources >= 0).sum(axis=1) > 1)[0]
    backups = np.maximum(sources[chained, 1:], 0)
    return _World(
        listing_ids=[row[0] for row in listings],
        titles=[row[1] for row in listings],
        marketplace=store.marketplace,
        sources=sources,
        locked=np.asarray([_cents_of(row[3]) if row[4] else -1 for row in listings], dtype=np.int64),
        price_now=np.asarray([_cents_of(row[3]) for row in listings], dtype=np.int64),
        max_price=np.asarray([_cents_of(row[5]) for row in listings], dtype=np.int64),
        price_state=price_state,
        own_state=price_state[sources[:, 0]],
        own_in_stock=in_stock[sources[:, 0]],
        own_stock=stock_grid[sources[:, 0]],
        chained=chained,
        backup_state=price_state[backups][:, :, :],
        backup_in_stock=(sources[chained, 1:] >= 0)[:, :, None] & in_stock[backups],
        backup_stock=stock_grid[backups],
        price_cents=price_cents,
        price_currency=price_currency,
        price_product=price_product,
        products=product_info,
        codes=codes,
        buffer_bp=np.asarray(
            [int(buffers[p].percent * 100) if buffers[p].applies else 0 for p in product_ids], dtype=np.int64
        ),
    )


def _shipping(info, currency: str) -> tuple[int, bool]:
    """A product's shipping in `currency`, in cents, and whether it is known (pricing.unit_cost_for)."""
    own_currency, site_currency, default_shipping, tax, own_shipping = info
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
    return int(unit.shipping * 100), unit.amount is not None


def _event_costs(world: _World, settings_store: StoreAccount) -> np.ndarray:
    """The unit cost (store currency, cents) of every price event, UNKNOWN where it is not known:
    supplier price + shipping + tax, converted at today's rates (as pricing.unit_cost_for)."""
    codes = world.codes
    target = (settings_store.currency or "").upper()
    product_code = np.asarray(
        [codes.index(info[0]) if info[0] in codes else -1 for info in world.products], dtype=np.int64
    )
    shipping_known = [_shipping(info, info[0] or target) for info in world.products]
    ship = np.asarray([cents for cents, _ in shipping_known], dtype=np.int64)
    ship_ok = np.asarray([known for _, known in shipping_known], dtype=bool)
    tax_bp = np.asarray([int(Decimal(info[3] or 0) * 100) for info in world.products], dtype=np.int64)
    pidx = world.price_product
    code = np.where(world.price_currency >= 0, world.price_currency, product_code[pidx])
    event_ship, event_ship_ok = ship[pidx], ship_ok[pidx]
    other = np.nonzero((code != product_code[pidx]) & (code >= 0))[0]  # a change in another currency
    for position in other.tolist():
        event_ship[position], event_ship_ok[position] = _shipping(world.products[pidx[position]], codes[code[position]])
    price = world.price_cents
    base = price + event_ship
    total = base + (base * tax_bp[pidx] + 5_000) // 10_000
    known = (price >= 0) & event_ship_ok
    cost = np.full(len(price), UNKNOWN, dtype=np.int64)
    target_code = codes.index(target) if target in codes else -2
    same = known & (code == target_code)
    cost[same] = total[same]
    rates = {c.upper(): r for c, r in ExchangeRate.objects.values_list("currency", "per_eur") if r and r > 0}
    rates["EUR"] = Decimal("1")
    if target not in rates:
        return cost
    scale = np.asarray([int(rates[c] * 1_000_000) if c in rates else 0 for c in codes] + [0], dtype=np.int64)
    source = scale[np.where(code >= 0, code, len(codes))]
    convert = known & ~same & (source > 0)
    if convert.any():
        to_rate = int(rates[target] * 1_000_000)
        values, source = total[convert], source[convert]
        if int(values.max()) * 2 * to_rate < 2**62:
            cost[convert] = (2 * values * to_rate + source) // (2 * source)
        else:  # amounts too large for 64 bits: Python integers
            cost[convert] = [
                (2 * v * to_rate + s) // (2 * s) for v, s in zip(values.tolist(), source.tolist(), strict=True)
            ]
    return cost


def _quantity(stock: np.ndarray, store: StoreAccount) -> np.ndarray:
    """pricing.listing_quantity over an array (stock -1: not stated)."""
    stated = np.maximum(0, np.minimum(stock - store.safety_buffer, store.max_quantity))
    return np.where(stock < 0, min(store.default_quantity, store.max_quantity), stated)


def _active_sources(qualifies: np.ndarray, switch_back_points: int) -> np.ndarray:
    """The source in force at each hour, -1 none, from whether each source qualifies (rows, sources,
    hours): the first qualifying one, except that a listing stays on a less preferred source while it
    still qualifies, until a more preferred one has qualified at the last `switch_back_points` hours
    (going then to the first such one). A listing follows the first qualifying source except in
    such holds, so only the holds are stepped through, one step per hold rather than per hour."""
    rows, width, hours = qualifies.shape
    first = np.full((rows, hours), -1)  # (rows, hours); a step per source: across them is slow in numpy
    for source in reversed(range(width)):
        first[qualifies[:, source]] = source
    chosen = first.copy()
    counts = np.zeros((rows, width, hours + 1), dtype=np.int32)
    np.cumsum(qualifies, axis=2, out=counts[:, :, 1:])
    ready = np.zeros_like(qualifies)  # qualified at each of the last switch_back_points hours
    if switch_back_points <= hours:
        ready[:, :, switch_back_points - 1 :] = (
            counts[:, :, switch_back_points:] - counts[:, :, :-switch_back_points] == switch_back_points
        )
    # A hold on a source ends at the first hour it no longer qualifies or a more preferred one is ready.
    ready_before = np.zeros_like(ready)
    for source in range(1, width):
        ready_before[:, source] = ready_before[:, source - 1] | ready[:, source - 1]
    ends = np.where(~qualifies | ready_before, np.arange(hours), hours)
    next_end = np.minimum.accumulate(ends[:, :, ::-1], axis=2)[:, :, ::-1]
    # Holds begin where a more preferred source qualifies again while the one in force still does.
    before = first[:, :-1]
    kept = np.zeros_like(before, dtype=bool)
    for source in range(width):
        kept |= (before == source) & qualifies[:, source, 1:]
    done = np.full(rows, -1)
    for row, hour in zip(*np.nonzero(kept & (first[:, 1:] < before)), strict=True):
        hour += 1
        if hour <= done[row]:  # within a hold already stepped through
            continue
        source = first[row, hour - 1]
        while True:
            end = next_end[row, source, hour]
            chosen[row, hour:end] = source
            if end == hours:
                done[row] = hours
                break
            preferred = qualifies[row, source, end]  # else the source in force stopped qualifying
            source = ready[row, :source, end].argmax() if preferred else first[row, end]
            chosen[row, end] = source
            if source == first[row, end] or end + 1 == hours:
                done[row] = end
                break
            hour = end + 1
    return chosen


def _replay(
    world: _World, store: StoreAccount, switch_back_points: int, event_cost: np.ndarray
) -> dict[str, np.ndarray]:
    """Per listing and hour under one set of settings, with the price events' unit costs in the
    store's currency (_event_costs): on sale, paused, below landed cost, margin (hundredths of a
    percent) and marketplace calls. Makes no query."""
    hours = world.price_state.shape[1] - 1
    known = event_cost >= 0
    event_price = np.full(len(event_cost), UNKNOWN, dtype=np.int64)
    if known.any():
        buffer = world.buffer_bp[world.price_product[known]]
        event_price[known] = listing_prices_cents(event_cost[known], store=store, buffer_bp=buffer)
    # Each change's own sale at its rules price: the margin that hour decides with, worked out once.
    event_landed, event_margin = sale_cents(np.maximum(event_price, 0), np.maximum(event_cost, 0), store=store)
    min_margin = int(Decimal(store.min_margin_percent) * 100)
    pauses_for_margin = store.low_margin_action == "pause"
    percent = 10_000 + int(Decimal(store.failover_max_increase_percent) * 100)
    locked, max_price = world.locked[:, None], world.max_price[:, None]

    own_rules = event_price.take(world.own_state)  # (listings, hours + 1)
    own_ok = world.own_in_stock & (own_rules >= 0)  # the own product always passes the ceiling test

    # The active source of the listings that have backups (the others are on their own product or
    # on none).
    active = np.where(own_ok[:, :hours], 0, -1)
    chained = world.chained
    if len(chained):
        backup_rules = event_price.take(world.backup_state)  # (chained, backups, hours + 1)
        own = own_rules[chained][:, None, :]
        by_percent = (own >= 0) & (backup_rules * 10_000 <= own * percent)
        chained_locked, chained_max = locked[chained][:, :, None], max_price[chained][:, :, None]
        backup_within = np.where(
            chained_locked >= 0,
            backup_rules <= chained_locked,
            np.where(chained_max >= 0, backup_rules <= chained_max, by_percent),
        )
        backup_ok = world.backup_in_stock & (backup_rules >= 0) & backup_within
        qualifies = np.concatenate([own_ok[chained][:, None, :], backup_ok], axis=1)[:, :, :hours]
        chosen = _active_sources(qualifies, switch_back_points)
        active[chained] = chosen

    on_source = active >= 0
    # The change in force when each hour is decided and at its end, and the stock: the own product's,
    # or a backup's where one is active.
    event, event_end = world.own_state[:, :hours].copy(), world.own_state[:, 1:].copy()
    source_stock = world.own_stock[:, :hours].copy()
    if len(chained):
        on_backup = chosen > 0
        rows, hour = np.nonzero(on_backup)
        slot = chosen[rows, hour] - 1
        listing_rows = chained[rows]
        event[listing_rows, hour] = world.backup_state[rows, slot, hour]
        event_end[listing_rows, hour] = world.backup_state[rows, slot, hour + 1]
        source_stock[listing_rows, hour] = world.backup_stock[rows, slot, hour]
    is_locked = (world.locked >= 0)[:, None]
    cost = event_cost.take(event)
    price = np.where(is_locked, world.locked[:, None], event_price.take(event))
    priced = on_source & (price >= 0) & (cost >= 0)
    # A listing with no source keeps its last price (the first hours: the price it has now).
    if not priced.all():
        cells = np.arange(price.size, dtype=np.int32).reshape(price.shape)  # flat positions, rising along a row
        last = np.maximum.accumulate(np.where(priced, cells, -1), axis=1).ravel()  # the last priced cell
        gaps = np.flatnonzero(~priced)
        before = last.take(gaps)
        carried = np.where(before >= 0, price.take(np.maximum(before, 0)), world.price_now.take(gaps // hours))
        price.put(gaps, carried)

    quantity = _quantity(source_stock, store)
    low_stock = (source_stock >= 0) & ((source_stock < store.min_supplier_stock) | (quantity <= 0))
    margin = event_margin.take(event)  # at the decided cost; replaced below where the price or cost differs
    landed = event_landed.take(event)
    if is_locked.any():
        rows_locked = np.broadcast_to(is_locked, price.shape)
        landed[rows_locked], margin[rows_locked] = sale_cents(
            np.maximum(price[rows_locked], 0), np.maximum(cost[rows_locked], 0), store=store
        )
    low_margin = priced & (margin < min_margin) if pauses_for_margin else np.zeros_like(priced)
    paused = ~priced | low_stock | low_margin
    on_sale = ~paused
    end_cost = event_cost.take(event_end)
    moved = on_sale & (event_end != event) & (end_cost >= 0)  # the cost changed within the hour
    if moved.any():
        cells = np.flatnonzero(moved)
        moved_landed, moved_margin = sale_cents(price.take(cells), end_cost.take(cells), store=store)
        landed.put(cells, moved_landed)
        margin.put(cells, moved_margin)
    below = on_sale & (price < landed)

    price_changed = np.zeros_like(paused)
    price_changed[:, 1:] = price[:, 1:] != price[:, :-1]
    status_changed = np.zeros_like(paused)
    status_changed[:, 1:] = paused[:, 1:] != paused[:, :-1]
    quantity_changed = np.zeros_like(paused)
    quantity_changed[:, 1:] = (quantity[:, 1:] != quantity[:, :-1]) & on_sale[:, 1:] & on_sale[:, :-1]
    if world.marketplace in QUANTITY_PAUSE_MARKETPLACES:
        calls = price_changed | quantity_changed | status_changed  # one call each hour at most
    else:
        calls = (price_changed | quantity_changed).astype(np.int8) + status_changed
    return {"on_sale": on_sale, "paused": paused, "below": below, "margin": margin, "calls": calls}


def _average(total: int, hours: int) -> Decimal | None:
    """A margin in percent from a sum of hundredths over the hours on sale."""
    return (Decimal(total) / Decimal(hours) / 100).quantize(Decimal("0.01")) if hours else None


def _figures(outcome: dict[str, np.ndarray]) -> tuple[Figures, list[Figures]]:
    """The figures of all listings and of each listing (sums per row, once)."""
    on_sale = outcome["on_sale"]
    margins = np.where(on_sale, outcome["margin"], 0).sum(axis=1).tolist()
    columns = zip(
        outcome["below"].sum(axis=1).tolist(),
        outcome["paused"].sum(axis=1).tolist(),
        outcome["calls"].sum(axis=1).tolist(),
        on_sale.sum(axis=1).tolist(),
        margins,
        strict=True,
    )
    rows = [
        Figures(below, paused, calls, hours, _average(margin, hours)) for below, paused, calls, hours, margin in columns
    ]
    hours = sum(row.hours_on_sale for row in rows)
    total = Figures(
        hours_below_cost=sum(row.hours_below_cost for row in rows),
        hours_paused=sum(row.hours_paused for row in rows),
        calls=sum(row.calls for row in rows),
        hours_on_sale=hours,
        average_margin=_average(sum(margins), hours),
    )
    return total, rows


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
    current_cost = _event_costs(world, store)
    if edited is store:
        current = changed = _replay(world, store, switch_back_points, current_cost)
    else:
        same_currency = (edited.currency or "").upper() == (store.currency or "").upper()
        edited_cost = current_cost if same_currency else _event_costs(world, edited)
        # The replays share nothing they change and numpy lets go of the interpreter lock while it
        # works, so on two CPUs they run side by side.
        with ThreadPoolExecutor(max_workers=1) as pool:
            edited_replay = pool.submit(_replay, world, edited, switch_back_points, edited_cost)
            current = _replay(world, store, switch_back_points, current_cost)
            changed = edited_replay.result()
    current_total, current_rows = _figures(current)
    edited_total, edited_rows = _figures(changed)
    result = BacktestResult(
        store_id=store.pk,
        days=days,
        start=start,
        end=end,
        listings=len(world.listing_ids),
        current=current_total,
        edited=edited_total,
    )
    for listing_id, title, before, after in zip(
        world.listing_ids, world.titles, current_rows, edited_rows, strict=True
    ):
        result.listing_figures[listing_id] = ListingDifference(listing_id, title, before, after)
    moved = [diff for diff in result.listing_figures.values() if diff.score or diff.margin_change]
    moved.sort(key=lambda diff: (-diff.score, -abs(diff.margin_change), diff.listing_id))
    result.top = moved[:TOP_LISTINGS]
    return result
