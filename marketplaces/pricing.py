"""Unit cost, fees, returns allowance, landed cost, listing price, margin and quantity: the formulas
of DESIGN.md (Decisions), in one place. Every price, cost and margin the app shows or acts on comes
from here, the listing list's margin too (worked out in the database by `listings_with_margin`,
the same formula as `quote_for_price`).

- Unit cost = supplier price + supplier shipping + sales tax at the supplier (a percentage of price
  plus shipping), in the supplier's currency, then converted as a whole to the store's currency.
  The shipping is the seller's own figure for the product, else the supplier site's default, else
  none; the shipping a page states is only a hint shown beside it.
- Fees(P) = marketplace fee + payment fee, each a percentage of the sale price P plus a fixed part;
  returns(P) = the store's returns allowance, a percentage of P.
- Landed cost at P = unit cost + fees(P) + returns(P); margin = (P − landed cost) / P.
- Listing price = round_up_to_store_rounding(((unit cost + fixed markup) × (1 + markup %) + fixed
  fees) / (1 − fee % − payment fee % − returns %)).
- With the store's volatility buffer on, the listing price is the price of the unit cost × (1 + buffer
  %) (to the cent, rounded up): a rise of that size before the next check still leaves the landed
  cost within the price (see `volatility_buffer_of` for the statistic).
- The same formulas in whole cents over numpy arrays (`listing_prices_cents`, `sale_cents`) for the
  backtest, which prices hundreds of thousands of supplier prices at once: they give exactly what
  `listing_quote` and `quote_for_price` give, cent for cent (tested so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from string import Formatter

from django.db import connection
from django.db.models import Aggregate, CharField, Count, DecimalField, F, FilteredRelation, Func, Q, Value

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
ZERO = Decimal("0.00")

# Where the shipping in a unit cost came from.
SHIPPING_SELLER = "seller"
SHIPPING_SUPPLIER = "supplier"
SHIPPING_NONE = "none"
SHIPPING_SOURCE_LABELS = {
    SHIPPING_SELLER: "your own figure",
    SHIPPING_SUPPLIER: "the supplier's default",
    SHIPPING_NONE: "none known",
}

NO_PRICE_LEFT = "The fees and the returns allowance take the whole price: no price covers the cost."
# (amount, from currency, to currency) → the amount in the other currency, or None without a rate.
Converter = Callable[[Decimal, str, str], Decimal | None]


def _cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# --- Unit cost ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitCost:
    """What one unit costs the seller at the supplier, part by part.

    The parts and `total` are in the supplier's currency (`currency`); `amount` is the total
    converted to the store's currency (None when no exchange rate is kept). `shipping_hint` is what
    the supplier's page states for shipping (0 = free; None = nothing): shown, never counted.
    """

    supplier_price: Decimal
    shipping: Decimal
    shipping_source: str  # SHIPPING_SELLER | SHIPPING_SUPPLIER | SHIPPING_NONE
    tax_percent: Decimal
    tax: Decimal
    total: Decimal
    currency: str
    amount: Decimal | None
    store_currency: str
    shipping_hint: Decimal | None = None

    @property
    def shipping_source_label(self) -> str:
        return SHIPPING_SOURCE_LABELS[self.shipping_source]

    @property
    def converted(self) -> bool:
        """The supplier's currency is not the store's (the amount went through an exchange rate)."""
        return self.currency != self.store_currency


def unit_cost_for(
    *,
    price: Decimal | None,
    currency: str,
    store_currency: str,
    convert: Converter,
    seller_shipping: Decimal | None = None,
    supplier_shipping: Decimal | None = None,
    supplier_currency: str = "",
    tax_percent: Decimal | None = None,
    shipping_hint: Decimal | None = None,
) -> UnitCost | None:
    """The unit cost of a supplier price (None when the price is not known).

    `price` and `seller_shipping` are in `currency` (the product's); `supplier_shipping` (the site's
    default) is in `supplier_currency` and is converted to `currency` when they differ. The tax is
    `tax_percent` of price plus shipping, to the cent. The total is converted to `store_currency`.
    """
    if price is None:
        return None
    currency = (currency or store_currency).upper()
    store_currency = (store_currency or currency).upper()
    shipping: Decimal | None = ZERO
    if seller_shipping is not None:
        shipping, source = Decimal(seller_shipping), SHIPPING_SELLER
    elif supplier_shipping is not None:
        source = SHIPPING_SUPPLIER
        site_currency = (supplier_currency or currency).upper()
        shipping = Decimal(supplier_shipping)
        if site_currency != currency:
            shipping = convert(shipping, site_currency, currency)
    else:
        source = SHIPPING_NONE
    price = Decimal(price)
    tax_percent = Decimal(tax_percent or 0)
    if shipping is None:  # the site's shipping cannot be put in the product's currency: no known cost
        return UnitCost(price, ZERO, source, tax_percent, ZERO, price, currency, None, store_currency, shipping_hint)
    tax = _cent((price + shipping) * tax_percent / HUNDRED)
    total = price + shipping + tax
    amount = total if currency == store_currency else convert(total, currency, store_currency)
    return UnitCost(
        supplier_price=price,
        shipping=shipping,
        shipping_source=source,
        tax_percent=tax_percent,
        tax=tax,
        total=total,
        currency=currency,
        amount=amount,
        store_currency=store_currency,
        shipping_hint=shipping_hint,
    )


def product_unit_cost(product, *, currency: str, convert: Converter) -> UnitCost | None:
    """The unit cost of a product in `currency` as its seller sees it: pass the product as that
    seller sees it (catalog's product_as_seen_by / ProductOverride.applied_to), so their own price
    and shipping are in force. Reads the product's supplier (select it with the product)."""
    supplier = product.supplier
    override = getattr(product, "override", None)
    return unit_cost_for(
        price=product.price,
        currency=product.currency or supplier.currency or currency,
        store_currency=currency,
        convert=convert,
        seller_shipping=override.shipping if override is not None else None,
        supplier_shipping=supplier.default_shipping,
        supplier_currency=supplier.currency,
        tax_percent=supplier.sales_tax_percent,
        shipping_hint=getattr(product, "shipping_hint", None),
    )


# --- Fees, landed cost, price and margin ----------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """What a listing at `price` earns on a sale whose unit cost is `cost` (store currency).

    `fees` are the marketplace's and the payment processor's together; `returns` is the returns
    allowance; `profit` = price − landed cost; `unit` holds the unit cost's parts when known.
    """

    cost: Decimal
    price: Decimal
    fees: Decimal
    profit: Decimal
    margin_percent: Decimal  # (price − landed cost) / price × 100; may be negative
    marketplace_fee: Decimal = ZERO
    payment_fee: Decimal = ZERO
    returns: Decimal = ZERO
    unit: UnitCost | None = None
    buffer_percent: Decimal = ZERO  # the volatility buffer the price was worked out with (0: none)

    @property
    def landed_cost(self) -> Decimal:
        """Unit cost + fees + returns allowance at this price."""
        return self.cost + self.fees + self.returns


def round_up_to_ending(amount: Decimal, ending: Decimal | None) -> Decimal:
    """Round up to the cent, then up to the next price ending in `ending` (e.g. 0.99)."""
    amount = amount.quantize(CENT, rounding=ROUND_CEILING)
    if ending is None:
        return amount
    candidate = amount.to_integral_value(rounding=ROUND_CEILING) - 1 + ending
    return candidate if candidate >= amount else candidate + 1


def marketplace_fee_for(price: Decimal, store) -> Decimal:
    """The marketplace's fee on one sale at `price`."""
    return _cent(price * store.fee_percent / HUNDRED + store.fee_fixed)


def payment_fee_for(price: Decimal, store) -> Decimal:
    """The payment processor's fee on one sale at `price`."""
    return _cent(price * store.payment_fee_percent / HUNDRED + store.payment_fee_fixed)


def returns_for(price: Decimal, store) -> Decimal:
    """The returns allowance on one sale at `price`."""
    return _cent(price * store.returns_percent / HUNDRED)


def fees_for(price: Decimal, store) -> Decimal:
    """Marketplace and payment fees on one sale at `price`."""
    return marketplace_fee_for(price, store) + payment_fee_for(price, store)


def sale_percent(store) -> Decimal:
    """The part of the sale price the fees and the returns allowance take, in percent."""
    return store.fee_percent + store.payment_fee_percent + store.returns_percent


def _cost_amount(cost: Decimal | UnitCost) -> tuple[Decimal, UnitCost | None]:
    if isinstance(cost, UnitCost):
        if cost.amount is None:
            raise ValueError("The unit cost has no amount in the store's currency (no exchange rate).")
        return cost.amount, cost
    return Decimal(cost), None


def landed_cost(*, cost: Decimal | UnitCost, price: Decimal, store) -> Decimal:
    """Unit cost + fees(price) + returns(price), in the store's currency."""
    return quote_for_price(cost=cost, price=price, store=store).landed_cost


def quote_for_price(*, cost: Decimal | UnitCost, price: Decimal, store) -> Quote:
    """Fees, returns allowance, profit and margin of selling at a given price (e.g. one the seller
    locked). `cost` is the unit cost in the store's currency, or a UnitCost with its parts."""
    amount, unit = _cost_amount(cost)
    price = Decimal(price)
    marketplace_fee, payment_fee = marketplace_fee_for(price, store), payment_fee_for(price, store)
    returns = returns_for(price, store)
    fees = marketplace_fee + payment_fee
    profit = price - amount - fees - returns
    margin = _cent(profit / price * HUNDRED) if price else Decimal("-100")
    return Quote(
        cost=amount,
        price=price,
        fees=fees,
        profit=profit,
        margin_percent=margin,
        marketplace_fee=marketplace_fee,
        payment_fee=payment_fee,
        returns=returns,
        unit=unit,
    )


def buffer_percent_for(store, buffer: VolatilityBuffer | None) -> Decimal:
    """The buffer in force: the product's when the store has the volatility buffer on, else 0."""
    if buffer is None or not getattr(store, "volatility_buffer", False):
        return ZERO
    return buffer.percent


def buffered_cost(amount: Decimal, buffer_percent: Decimal) -> Decimal:
    """The unit cost a price must cover with the buffer: cost × (1 + buffer %), rounded up to the cent."""
    if not buffer_percent:
        return amount
    return (amount * (HUNDRED + buffer_percent) / HUNDRED).quantize(CENT, rounding=ROUND_CEILING)


def listing_quote(*, cost: Decimal | UnitCost, store, buffer: VolatilityBuffer | None = None) -> Quote:
    """The price our rules give for a unit cost (in the store's currency, or a UnitCost).

    `buffer` is the product's volatility buffer (`product_volatility_buffer`); it counts only when
    the store has the volatility buffer on: the price is then the one of the buffered cost, and the
    quote's cost, fees and margin stay those of the real cost at that price."""
    amount, _ = _cost_amount(cost)
    percent = buffer_percent_for(store, buffer)
    amount = buffered_cost(amount, percent)
    marked_up = (amount + store.markup_fixed) * (1 + store.markup_percent / HUNDRED)
    fixed = store.fee_fixed + store.payment_fee_fixed
    kept = 1 - sale_percent(store) / HUNDRED
    if kept <= 0:
        raise ArithmeticError(NO_PRICE_LEFT)
    raw = (marked_up + fixed) / kept
    quote = quote_for_price(cost=cost, price=round_up_to_ending(raw, store.price_ending), store=store)
    return replace(quote, buffer_percent=percent) if percent else quote


def listing_quantity(*, stock: int | None, store) -> int:
    """Units to offer: the supplier's stock less the safety buffer, capped; a default when unknown."""
    if stock is None:
        return min(store.default_quantity, store.max_quantity)
    return max(0, min(stock - store.safety_buffer, store.max_quantity))


# --- Volatility buffer ------------------------------------------------------------------------

VOLATILITY_WINDOW_DAYS = 90
VOLATILITY_PERCENTILE = 90
VOLATILITY_MIN_RISES = 5


@dataclass(frozen=True)
class VolatilityBuffer:
    """How far a product's price rises in one change: the `percentile`th percentile of its price
    rises (positive `price_change_percent`) over the last `window_days`, or 0 with fewer than
    `min_rises` of them (too few to say what a usual rise is)."""

    percent: Decimal
    rises: int
    window_days: int = VOLATILITY_WINDOW_DAYS
    percentile: int = VOLATILITY_PERCENTILE
    min_rises: int = VOLATILITY_MIN_RISES

    @property
    def applies(self) -> bool:
        return self.rises >= self.min_rises and self.percent > 0

    @property
    def words(self) -> str:
        """What the pages say: "+4.50 % (90th percentile of 12 price rises over 90 days)"."""
        if not self.applies:
            return (
                f"none (too few changes: {self.rises} price rises over {self.window_days} days, "
                f"{self.min_rises} needed)"
            )
        return (
            f"+{self.percent} % ({self.percentile}th percentile of {self.rises} price rises "
            f"over {self.window_days} days)"
        )


def volatility_buffer_of(rises: Iterable[Decimal]) -> VolatilityBuffer:
    """The buffer of a product from its price rises in the window (positive change percents).

    The statistic is the nearest-rank percentile: the smallest rise that at least 90 % of the rises
    do not exceed (the ⌈0.9 × N⌉-th smallest), a rise that really happened, no interpolation. Each
    PriceHistory row is the change between two consecutive readings that differ (history keeps
    changes, not every reading), so each rise is taken as happening within one check interval: a
    price covering cost × (1 + buffer) stays above the landed cost through nine rises in ten until
    the next check reprices it. Below `VOLATILITY_MIN_RISES` rises the buffer is 0: a product that
    seldom moves needs none, and a few rises say little about the next one.
    """
    values = sorted(Decimal(rise) for rise in rises if rise is not None and rise > 0)
    count = len(values)
    if count < VOLATILITY_MIN_RISES:
        return VolatilityBuffer(ZERO, count)
    rank = -(-VOLATILITY_PERCENTILE * count // 100)  # ⌈p × N / 100⌉, in integers
    return VolatilityBuffer(values[rank - 1], count)


NO_BUFFER = VolatilityBuffer(ZERO, 0)


class _PercentileDisc(Aggregate):
    """PostgreSQL's percentile_disc: the first value whose rank / N reaches the fraction, i.e. the
    ⌈p × N⌉-th smallest, the nearest rank of `volatility_buffer_of`."""

    template = f"percentile_disc({VOLATILITY_PERCENTILE / 100}) WITHIN GROUP (ORDER BY %(expressions)s)"


def volatility_buffers(product_ids: Iterable[int], *, until: datetime | None = None) -> dict[int, VolatilityBuffer]:
    """Each product's buffer from its price rises in the VOLATILITY_WINDOW_DAYS up to `until` (now),
    in one query; a product without rises gets NO_BUFFER."""
    from django.utils import timezone

    from catalog.models import PriceHistory

    ids = list(product_ids)
    until = until or timezone.now()
    rows = PriceHistory.objects.filter(
        product_id__in=ids,
        price_change_percent__gt=0,
        recorded_at__gt=until - timedelta(days=VOLATILITY_WINDOW_DAYS),
        recorded_at__lte=until,
    ).order_by()
    buffers = dict.fromkeys(ids, NO_BUFFER)
    if connection.vendor == "postgresql":  # the same nearest rank, worked out by the database

        class PercentileDisc(Aggregate):
            template = f"percentile_disc({VOLATILITY_PERCENTILE / 100}) WITHIN GROUP (ORDER BY %(expressions)s)"

        for product_id, count, percent in (
            rows.values("product_id")
            .annotate(count=Count("pk"), percent=PercentileDisc("price_change_percent"))
            .values_list("product_id", "count", "percent")
        ):
            buffers[product_id] = VolatilityBuffer(percent if count >= VOLATILITY_MIN_RISES else ZERO, count)
        return buffers
    rises: dict[int, list[Decimal]] = {product_id: [] for product_id in ids}
    for product_id, percent in rows.values_list("product_id", "price_change_percent"):
        rises[product_id].append(percent)
    return {product_id: volatility_buffer_of(values) for product_id, values in rises.items()}


def product_volatility_buffer(product, *, until: datetime | None = None) -> VolatilityBuffer:
    """The buffer of one product (see `volatility_buffer_of`)."""
    return volatility_buffers([product.pk], until=until).get(product.pk, NO_BUFFER)


# --- Backup sources -------------------------------------------------------------------------


def source_ceiling(
    *,
    locked_price: Decimal | None,
    max_price: Decimal | None,
    own_rules_price: Decimal | None,
    max_increase_percent: Decimal,
) -> Decimal | None:
    """The most a listing's source may make the listing cost: the locked price when the price is
    locked, else the listing's max_price when set, else the price our rules give its own product ×
    (1 + the store's failover_max_increase_percent / 100), unrounded (None when that is unknown).
    A source qualifies when it is in stock and its rules price is at most this."""
    if locked_price is not None:
        return Decimal(locked_price)
    if max_price is not None:
        return Decimal(max_price)
    if own_rules_price is None:
        return None
    return Decimal(own_rules_price) * (HUNDRED + Decimal(max_increase_percent)) / HUNDRED


# --- The same in whole cents, over arrays (the backtest) -------------------------------------


def _hundredths(value) -> int:
    """A percentage or an amount with two decimals as a whole number of hundredths (cents)."""
    return int((Decimal(value or 0) * HUNDRED).to_integral_value(rounding=ROUND_HALF_UP))


def listing_prices_cents(cost, *, store, buffer_bp=None):
    """`listing_quote(...).price` for each unit cost in `cost` (numpy int64 cents, store currency),
    with `buffer_bp` the products' buffers in hundredths of a percent (counted only when the store
    has the buffer on). Whole-number arithmetic, so it gives the same cents as the Decimal formula."""
    import numpy as np

    amount = np.asarray(cost, dtype=np.int64)
    if buffer_bp is not None and getattr(store, "volatility_buffer", False):
        amount = -(-(amount * (10_000 + np.asarray(buffer_bp, dtype=np.int64))) // 10_000)
    kept = 10_000 - _hundredths(sale_percent(store))
    if kept <= 0:
        raise ArithmeticError(NO_PRICE_LEFT)
    fixed = _hundredths(store.fee_fixed) + _hundredths(store.payment_fee_fixed)
    marked = (amount + _hundredths(store.markup_fixed)) * (10_000 + _hundredths(store.markup_percent))
    price = -(-(marked + fixed * 10_000) // kept)  # ⌈…⌉ to the cent
    if store.price_ending is not None:
        candidate = -(-price // 100) * 100 - 100 + _hundredths(store.price_ending)
        price = np.where(candidate >= price, candidate, candidate + 100)
    return price


def sale_cents(price, cost, *, store):
    """(landed cost, margin in hundredths of a percent) of selling at `price` with unit cost `cost`
    (numpy int64 cents), as `quote_for_price` works them out: each fee and the returns allowance
    rounded half up to the cent, the margin half away from zero (−100 % at a price of 0)."""
    import numpy as np

    price = np.asarray(price, dtype=np.int64)
    cost = np.asarray(cost, dtype=np.int64)

    def part(percent, fixed):
        return (price * _hundredths(percent) + 5_000) // 10_000 + _hundredths(fixed)

    landed = (
        cost
        + part(store.fee_percent, store.fee_fixed)
        + part(store.payment_fee_percent, store.payment_fee_fixed)
        + part(store.returns_percent, 0)
    )
    profit = price - landed
    safe = np.where(price > 0, price, 1)
    magnitude = (2 * np.abs(profit) * 10_000 + safe) // (2 * safe)
    margin = np.where(price > 0, np.sign(profit) * magnitude, -10_000)
    return landed, margin


# --- What a sold line cost beyond the goods --------------------------------------------------


@dataclass(frozen=True)
class SaleCharges:
    """The marketplace fee, payment fee and returns allowance of sold units (store currency)."""

    marketplace_fee: Decimal
    payment_fee: Decimal
    returns: Decimal

    @property
    def fees(self) -> Decimal:
        return self.marketplace_fee + self.payment_fee


def sale_charges(*, unit_price: Decimal, quantity: int, store, marketplace_fee: Decimal | None = None) -> SaleCharges:
    """What `quantity` units sold at `unit_price` cost beyond the goods: the marketplace's fee (its
    own figure for the line when it gives one, else the store's rate per unit), the payment fee and
    the returns allowance per unit."""
    if marketplace_fee is None:
        marketplace_fee = marketplace_fee_for(unit_price, store) * quantity
    return SaleCharges(
        marketplace_fee=marketplace_fee,
        payment_fee=payment_fee_for(unit_price, store) * quantity,
        returns=returns_for(unit_price, store) * quantity,
    )


# --- The same in the database (the listing list sorts and filters by margin) ------------------

_MONEY = DecimalField(max_digits=14, decimal_places=2)


class _Formula(Func):
    """Arithmetic written out once, `formula` naming its expressions {0}, {1}, …: one level of the
    query however many operations it holds (on SQLite, one cast to a number): SQLite's parser
    limits how deep an expression nests, and Django would cast every single operation there."""

    output_field = _MONEY

    def __init__(self, formula: str, *expressions, output_field=None):
        super().__init__(*expressions, output_field=output_field)
        self.formula = formula

    def as_sql(self, compiler, connection, **extra_context):
        compiled = [compiler.compile(expression) for expression in self.get_source_expressions()]
        params = []  # in the order the expressions appear in the formula (one may appear twice)
        for _, name, _, _ in Formatter().parse(self.formula):
            if name is not None:
                params.extend(compiled[int(name)][1])
        return f"({self.formula.format(*(sql for sql, _ in compiled))})", params


def _rate_of(currency: F, rates: list[tuple[str, Decimal]]) -> _Formula:
    """Units of the currency per euro from the kept rates, written into the query (the euro is 1;
    NULL when no rate is kept): one flat CASE, no query per row."""
    whens = " ".join(f"WHEN {{{2 * i + 1}}} THEN {{{2 * i + 2}}}" for i in range(len(rates)))
    values = [Value(part) for code_rate in rates for part in code_rate]
    return _Formula(f"CASE {{0}} WHEN 'EUR' THEN 1.0 {whens} ELSE NULL END", currency, *values)


def listings_with_margin(listings, *, per_eur: dict | None = None):
    """Annotate each listing with what a sale at its price earns now, in its store's currency, as
    `quote_for_price` works it out for the product as the listing's seller sees it (their own price
    and shipping in force): `unit_cost` (converted with the kept rates), `unit_fees` (marketplace +
    payment), `unit_returns`, `unit_profit` (price − landed cost) and `margin_percent`, all None
    when the cost is not known. The cost is the listing's active source's (a backup source while it
    follows one: marketplaces.services.sources). Reads the kept exchange rates once, unless the
    caller has them (`per_eur`: units of each currency per euro)."""
    from marketplaces.models import ExchangeRate

    if per_eur is None:
        per_eur = dict(ExchangeRate.objects.filter(per_eur__gt=0).values_list("currency", "per_eur"))
    rates = sorted((code.upper(), rate) for code, rate in per_eur.items() if rate > 0 and code.upper() != "EUR")
    store = "store_account__"
    # The active source's values (a backup source while the listing follows one, else its own product).
    listings = listings.annotate(
        own_values=FilteredRelation("product__overrides", condition=Q(product__overrides__user=F("user"))),
        active_values=FilteredRelation(
            "active_product__overrides", condition=Q(active_product__overrides__user=F("user"))
        ),
    )

    def source(path: str, *, text: bool = False):
        field = CharField() if text else None
        return _Formula(
            "CASE WHEN {0} IS NULL THEN {1} ELSE {2} END",
            F("active_product_id"),
            F(f"product__{path}"),
            F(f"active_product__{path}"),
            output_field=field,
        )

    listings = listings.annotate(
        src_currency=source("currency", text=True),
        src_site_currency=source("supplier__currency", text=True),
        src_default_shipping=source("supplier__default_shipping"),
        src_tax_percent=source("supplier__sales_tax_percent"),
        src_own_price=_Formula(
            "CASE WHEN {0} IS NULL THEN COALESCE({1}, {2}) ELSE COALESCE({3}, {4}) END",
            F("active_product_id"),
            F("own_values__price"),
            F("product__price"),
            F("active_values__price"),
            F("active_product__price"),
        ),
        src_own_shipping=_Formula(
            "CASE WHEN {0} IS NULL THEN {1} ELSE {2} END",
            F("active_product_id"),
            F("own_values__shipping"),
            F("active_values__shipping"),
        ),
    )
    listings = listings.annotate(
        cost_currency=_Formula(
            "COALESCE(NULLIF({0}, ''), NULLIF({1}, ''), {2})",
            F("src_currency"),
            F("src_site_currency"),
            F(f"{store}currency"),
            output_field=CharField(),
        ),
        supplier_price=F("src_own_price"),
    )
    listings = listings.annotate(
        site_currency=_Formula(
            "COALESCE(NULLIF({0}, ''), {1})", F("src_site_currency"), F("cost_currency"), output_field=CharField()
        ),
    )
    # The seller's shipping, else the site's default (in the site's currency, put in the product's).
    listings = listings.annotate(
        shipping=_Formula(
            "COALESCE({0}, CASE WHEN {1} IS NULL THEN NULL WHEN {2} = {3} THEN {1} "
            "ELSE ROUND({1} * 1.0 * {4} / {5}, 2) END, 0)",
            F("src_own_shipping"),
            F("src_default_shipping"),
            F("site_currency"),
            F("cost_currency"),
            _rate_of(F("cost_currency"), rates),
            _rate_of(F("site_currency"), rates),
        ),
    )
    listings = listings.annotate(
        unit_tax=_Formula(
            "ROUND(({0} + {1}) * COALESCE({2}, 0) / 100.0, 2)",
            F("supplier_price"),
            F("shipping"),
            F("src_tax_percent"),
        ),
    )
    listings = listings.annotate(
        unit_cost=_Formula(
            "CASE WHEN {0} IS NULL THEN NULL WHEN {1} = {2} THEN {0} + {3} + {4} "
            "ELSE ROUND(({0} + {3} + {4}) * 1.0 * {5} / {6}, 2) END",
            F("supplier_price"),
            F("cost_currency"),
            F(f"{store}currency"),
            F("shipping"),
            F("unit_tax"),
            _rate_of(F(f"{store}currency"), rates),
            _rate_of(F("cost_currency"), rates),
        ),
        unit_marketplace_fee=_Formula(
            "ROUND({0} * {1} / 100.0 + {2}, 2)", F("price"), F(f"{store}fee_percent"), F(f"{store}fee_fixed")
        ),
        unit_payment_fee=_Formula(
            "ROUND({0} * {1} / 100.0 + {2}, 2)",
            F("price"),
            F(f"{store}payment_fee_percent"),
            F(f"{store}payment_fee_fixed"),
        ),
        unit_returns=_Formula("ROUND({0} * {1} / 100.0, 2)", F("price"), F(f"{store}returns_percent")),
    )
    profit = "{0} - {1} - {2} - {3} - {4}"
    parts = (F("price"), F("unit_marketplace_fee"), F("unit_payment_fee"), F("unit_returns"), F("unit_cost"))
    return listings.annotate(
        unit_fees=_Formula("{0} + {1}", F("unit_marketplace_fee"), F("unit_payment_fee")),
        unit_profit=_Formula(profit, *parts),
        margin_percent=_Formula(f"ROUND(({profit}) * 100.0 / NULLIF({{0}}, 0), 2)", *parts),
    )
