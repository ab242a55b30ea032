"""Buying an order at the supplier: what to check before, recording what it really cost, and the
order's profit.

Recording a cost (when marking the order bought, or later) splits it over the order's lines in
the store's currency and works out again the performance rows of the days those lines sold, so
the dashboard's profit uses what the seller really paid. The entry point that calls these also
forgets the seller's cached dashboard figures (monitoring.analytics.analytics_invalidate).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction

from catalog.models import Availability
from catalog.services import product_as_seen_by
from marketplaces.models import Order, OrderState, Sale
from marketplaces.pricing import sale_charges
from monitoring.records import audit_record

from .orders import order_state_set
from .performance import listing_day_money_refresh, sale_day
from .rates import convert, product_cost

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
NOT_TO_BUY_MESSAGE = "This order is {state}: only an order still to buy can be marked bought."
COSTS_CANCELLED_MESSAGE = "This order is cancelled: there is no cost to record."
NO_RATE_MESSAGE = "No exchange rate from {source} to {target} is kept: enter the costs in {target}."
OUT_OF_STOCK_WARNING = "{title}: the supplier's latest reading is out of stock."
PRICE_UP_WARNING = (
    "{title}: one unit now costs {now} {currency} at the supplier (price, shipping and tax); "
    "the listing's price assumed {then} {currency}."
)
UNREADABLE_URL_WARNING = "{title}: the supplier's page address is not a web address; open it from the product page."


class OrderActionError(Exception):
    """The seller's action on an order cannot be done; `message` says why, in words."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Before buying ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BuyLine:
    """What the seller needs to buy one line: where, how many, and what to watch out for."""

    line: Sale
    product_url: str
    quantity: int
    warnings: tuple[str, ...]


def _safe_url(url: str) -> str:
    """The supplier page's address when it is an http(s) URL (never a javascript: or data: link)."""
    url = (url or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else ""


def order_buy_lines(order: Order, lines: list[Sale]) -> list[BuyLine]:
    """Each line still to buy with its supplier page and quantity, warning when the supplier's latest
    reading is out of stock or costs more than the price the listing assumed when it sold."""
    store = order.store_account
    result = []
    for line in lines:
        if line.cancelled:
            continue
        listing = line.listing
        title = (listing.title if listing else line.title) or line.sku or line.line_id
        if listing is None:
            result.append(BuyLine(line=line, product_url="", quantity=line.quantity, warnings=()))
            continue
        product = listing.active_source  # a backup source while the listing follows one
        warnings = []
        if product.availability == Availability.OUT_OF_STOCK or product.stock == 0:
            warnings.append(OUT_OF_STOCK_WARNING.format(title=title))
        now_cost = product_cost(product_as_seen_by(product=product, user=order.user_id), currency=store.currency)
        if now_cost is not None and line.unit_cost is not None and now_cost > line.unit_cost:
            warnings.append(
                PRICE_UP_WARNING.format(title=title, now=now_cost, then=line.unit_cost, currency=store.currency)
            )
        url = _safe_url(product.url)
        if product.url and not url:
            warnings.append(UNREADABLE_URL_WARNING.format(title=title))
        result.append(BuyLine(line=line, product_url=url, quantity=line.quantity, warnings=tuple(warnings)))
    return result


# --- Recording what it cost ------------------------------------------------------------------


def _split(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`total` split pro rata to `weights` in cents (equal shares when all weigh nothing); the last
    share takes the rounding rest."""
    if not weights:
        return []
    whole = sum(weights)
    if not whole:
        weights, whole = [Decimal("1")] * len(weights), Decimal(len(weights))
    shares = [(total * weight / whole).quantize(CENT, ROUND_HALF_UP) for weight in weights[:-1]]
    shares.append((total - sum(shares, Decimal("0"))).quantize(CENT))
    return shares


def _costs_in_store_currency(order: Order, total: Decimal, currency: str) -> Decimal:
    target = order.store_account.currency
    converted = convert(total, from_currency=currency or target, to_currency=target)
    if converted is None:
        raise OrderActionError(NO_RATE_MESSAGE.format(source=currency.upper(), target=target.upper()))
    return converted


def _costs_apply(order: Order, *, supplier_order_number, cost_item, cost_shipping, cost_tax, cost_currency) -> dict:
    """Put the costs on the order and split them over its lines; returns the audit values."""
    currency = (cost_currency or order.store_account.currency).upper()
    total = sum((c for c in (cost_item, cost_shipping, cost_tax) if c is not None), Decimal("0"))
    in_store = _costs_in_store_currency(order, total, currency)
    order.supplier_order_number = (supplier_order_number or "").strip()[:100]
    order.cost_item, order.cost_shipping, order.cost_tax = cost_item, cost_shipping, cost_tax
    order.cost_currency = currency
    lines = list(order.lines.select_related("listing__store_account__user", "store_account__user").order_by("pk"))
    open_lines = [line for line in lines if not line.cancelled]
    shares = _split(in_store, [line.unit_price * line.quantity for line in open_lines])
    for line, share in zip(open_lines, shares, strict=True):
        line.actual_cost = share
    for line in lines:
        if line.cancelled:
            line.actual_cost = None
    Sale.objects.bulk_update(lines, ["actual_cost"])
    for listing, day in {(line.listing, sale_day(line)) for line in lines if line.listing is not None}:
        listing_day_money_refresh(listing, day)
    return {
        "supplier_order_number": order.supplier_order_number,
        "cost_item": cost_item,
        "cost_shipping": cost_shipping,
        "cost_tax": cost_tax,
        "cost_currency": currency,
    }


COST_FIELDS = ["supplier_order_number", "cost_item", "cost_shipping", "cost_tax", "cost_currency", "updated_at"]


@transaction.atomic
def order_buy(
    order: Order,
    *,
    supplier_order_number: str,
    cost_item: Decimal | None,
    cost_shipping: Decimal | None = None,
    cost_tax: Decimal | None = None,
    cost_currency: str = "",
    acting_user,
    request=None,
) -> Order:
    """The seller bought the order at the supplier: record the supplier's order number and what they
    paid (goods, shipping, tax), and the order is bought (audited). Recomputes the days its lines sold."""
    order = Order.objects.select_for_update().select_related("store_account", "user").get(pk=order.pk)
    if order.state != OrderState.TO_BUY:
        raise OrderActionError(NOT_TO_BUY_MESSAGE.format(state=order.get_state_display().lower()))
    values = _costs_apply(
        order,
        supplier_order_number=supplier_order_number,
        cost_item=cost_item,
        cost_shipping=cost_shipping,
        cost_tax=cost_tax,
        cost_currency=cost_currency,
    )
    order.save(update_fields=COST_FIELDS)
    order_state_set(order, OrderState.BOUGHT, acting_user=acting_user, request=request)
    audit_record(
        acting_user=acting_user,
        owner=order.user,
        action="costs_recorded",
        resource=order,
        new_value=values,
        request=request,
    )
    return order


@transaction.atomic
def order_costs_record(
    order: Order,
    *,
    supplier_order_number: str,
    cost_item: Decimal | None,
    cost_shipping: Decimal | None = None,
    cost_tax: Decimal | None = None,
    cost_currency: str = "",
    acting_user,
    request=None,
) -> Order:
    """Record (or correct) what the seller paid for an order in any state but cancelled, without
    moving it; the days its lines sold are worked out again (audited with the old values)."""
    order = Order.objects.select_for_update().select_related("store_account", "user").get(pk=order.pk)
    if order.state == OrderState.CANCELLED:
        raise OrderActionError(COSTS_CANCELLED_MESSAGE)
    old = {name: getattr(order, name) for name in COST_FIELDS if name != "updated_at"}
    values = _costs_apply(
        order,
        supplier_order_number=supplier_order_number,
        cost_item=cost_item,
        cost_shipping=cost_shipping,
        cost_tax=cost_tax,
        cost_currency=cost_currency,
    )
    order.save(update_fields=COST_FIELDS)
    audit_record(
        acting_user=acting_user,
        owner=order.user,
        action="costs_recorded",
        resource=order,
        old_value=old,
        new_value=values,
        request=request,
    )
    return order


# --- Profit ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderProfit:
    """What one order earns, in the store's currency: what the buyer paid less what the goods cost
    (what the seller recorded paying, else the unit cost when it sold), the marketplace and payment
    fees and the returns allowance (marketplaces.pricing.sale_charges)."""

    currency: str
    revenue: Decimal
    cost: Decimal | None  # None: not known (a line with no supplier price, or no exchange rate)
    cost_is_actual: bool
    fees: Decimal  # marketplace + payment fees
    profit: Decimal | None
    marketplace_fees: Decimal = Decimal("0")
    payment_fees: Decimal = Decimal("0")
    returns_allowance: Decimal = Decimal("0")

    @property
    def margin_percent(self) -> Decimal | None:
        if self.profit is None or not self.revenue:
            return None
        return (self.profit / self.revenue * HUNDRED).quantize(CENT, ROUND_HALF_UP)


def order_profit(order: Order, lines: list[Sale]) -> OrderProfit:
    """The order's profit with today's fee model: the marketplace's own fee where it gives one, else
    the store's marketplace fee per unit; the store's payment fee and returns allowance per unit."""
    store = order.store_account
    currency = store.currency
    revenue = marketplace_fees = payment_fees = returns = Decimal("0")
    estimated_cost: Decimal | None = Decimal("0")
    actual_known = True
    actual = Decimal("0")
    for line in lines:
        if line.cancelled:
            continue
        unit_price = convert(line.unit_price, from_currency=line.currency or currency, to_currency=currency)
        if unit_price is None:
            return OrderProfit(currency, Decimal("0"), None, False, Decimal("0"), None)
        revenue += unit_price * line.quantity
        own_fee = None
        if line.fees is not None:
            own_fee = convert(line.fees, from_currency=line.currency or currency, to_currency=currency)
        charges = sale_charges(unit_price=unit_price, quantity=line.quantity, store=store, marketplace_fee=own_fee)
        marketplace_fees += charges.marketplace_fee
        payment_fees += charges.payment_fee
        returns += charges.returns
        if line.actual_cost is None:
            actual_known = False
        else:
            actual += line.actual_cost
        if estimated_cost is not None:
            estimated_cost = None if line.unit_cost is None else estimated_cost + line.unit_cost * line.quantity
    use_actual = actual_known and order.actual_cost() is not None
    cost = actual if use_actual else estimated_cost
    fees = marketplace_fees + payment_fees
    profit = None if cost is None else revenue - cost - fees - returns
    return OrderProfit(
        currency=currency,
        revenue=revenue,
        cost=cost,
        cost_is_actual=use_actual,
        fees=fees,
        profit=profit,
        marketplace_fees=marketplace_fees,
        payment_fees=payment_fees,
        returns_allowance=returns,
    )
