"""Listing price, fees, margin and quantity: the formulas of DESIGN.md (Decisions), in one place."""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Quote:
    """What a listing at `price` earns on a sale when the goods cost `cost` (store currency)."""

    cost: Decimal
    price: Decimal
    fees: Decimal
    profit: Decimal
    margin_percent: Decimal  # (price − fees − cost) / price × 100; may be negative


def round_up_to_ending(amount: Decimal, ending: Decimal | None) -> Decimal:
    """Round up to the cent, then up to the next price ending in `ending` (e.g. 0.99)."""
    amount = amount.quantize(CENT, rounding=ROUND_CEILING)
    if ending is None:
        return amount
    candidate = amount.to_integral_value(rounding=ROUND_CEILING) - 1 + ending
    return candidate if candidate >= amount else candidate + 1


def fees_for(price: Decimal, store) -> Decimal:
    return (price * store.fee_percent / HUNDRED + store.fee_fixed).quantize(CENT, rounding=ROUND_HALF_UP)


def quote_for_price(*, cost: Decimal, price: Decimal, store) -> Quote:
    """Fees, profit and margin of selling at a given price (e.g. a price the seller locked)."""
    fees = fees_for(price, store)
    profit = price - fees - cost
    margin = (profit / price * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP) if price else Decimal("-100")
    return Quote(cost=cost, price=price, fees=fees, profit=profit, margin_percent=margin)


def listing_quote(*, cost: Decimal, store) -> Quote:
    """The price our rules give for a supplier cost (already in the store's currency)."""
    marked_up = (cost + store.markup_fixed) * (1 + store.markup_percent / HUNDRED)
    raw = (marked_up + store.fee_fixed) / (1 - store.fee_percent / HUNDRED)
    return quote_for_price(cost=cost, price=round_up_to_ending(raw, store.price_ending), store=store)


def listing_quantity(*, stock: int | None, store) -> int:
    """Units to offer: the supplier's stock less the safety buffer, capped; a default when unknown."""
    if stock is None:
        return min(store.default_quantity, store.max_quantity)
    return max(0, min(stock - store.safety_buffer, store.max_quantity))
