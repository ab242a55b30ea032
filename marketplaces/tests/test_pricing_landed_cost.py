"""The landed cost, part by part, worked out by hand: unit cost (supplier price + shipping + sales tax,
converted as a whole), marketplace fee, payment fee, returns allowance, price and margin."""

from decimal import Decimal

import pytest

from marketplaces.models import StoreAccount
from marketplaces.pricing import (
    NO_PRICE_LEFT,
    SHIPPING_NONE,
    SHIPPING_SELLER,
    SHIPPING_SUPPLIER,
    listing_quote,
    quote_for_price,
    sale_charges,
    unit_cost_for,
)

RATES = {"EUR": Decimal("1"), "USD": Decimal("1.10")}  # units per euro


def convert(amount, source, target):
    if source not in RATES or target not in RATES:
        return None
    return (amount * RATES[target] / RATES[source]).quantize(Decimal("0.01"))


def store(**overrides):
    """Marketplace 10 % + 0.30, payment 2.9 % + 0.30, returns allowance 2 %, markup 30 %, ending .99."""
    settings = dict(
        currency="USD",
        markup_percent=Decimal("30"),
        markup_fixed=Decimal("0"),
        fee_percent=Decimal("10"),
        fee_fixed=Decimal("0.30"),
        payment_fee_percent=Decimal("2.90"),
        payment_fee_fixed=Decimal("0.30"),
        returns_percent=Decimal("2"),
        price_ending=Decimal("0.99"),
    )
    return StoreAccount(**{**settings, **overrides})


def unit(**values):
    values = {"price": Decimal("20.00"), "currency": "USD", "store_currency": "USD", "convert": convert, **values}
    return unit_cost_for(**values)


def test_unit_cost_is_price_plus_shipping_plus_the_tax_on_both():
    cost = unit(supplier_shipping=Decimal("5.00"), supplier_currency="USD", tax_percent=Decimal("8.25"))
    # tax (20.00 + 5.00) × 8.25 % = 2.0625 → 2.06; 20.00 + 5.00 + 2.06 = 27.06
    assert (cost.supplier_price, cost.shipping, cost.tax, cost.total) == (
        Decimal("20.00"),
        Decimal("5.00"),
        Decimal("2.06"),
        Decimal("27.06"),
    )
    assert (cost.amount, cost.shipping_source) == (Decimal("27.06"), SHIPPING_SUPPLIER)


def test_the_sellers_shipping_wins_over_the_suppliers_default_and_none_is_nothing():
    own = unit(seller_shipping=Decimal("3.00"), supplier_shipping=Decimal("5.00"), supplier_currency="USD")
    assert (own.shipping, own.shipping_source, own.amount) == (Decimal("3.00"), SHIPPING_SELLER, Decimal("23.00"))
    free = unit(seller_shipping=Decimal("0"), supplier_shipping=Decimal("5.00"))
    assert (free.shipping, free.shipping_source, free.amount) == (Decimal("0"), SHIPPING_SELLER, Decimal("20.00"))
    bare = unit()
    assert (bare.shipping, bare.shipping_source, bare.tax, bare.amount) == (
        Decimal("0.00"),
        SHIPPING_NONE,
        Decimal("0.00"),
        Decimal("20.00"),
    )


def test_the_page_shipping_hint_is_carried_but_never_counted():
    cost = unit(shipping_hint=Decimal("0.00"), supplier_shipping=Decimal("4.00"), supplier_currency="USD")
    assert cost.shipping_hint == Decimal("0.00") and cost.amount == Decimal("24.00")


def test_the_whole_unit_cost_is_converted_once_to_the_store_currency():
    cost = unit(
        price=Decimal("0.05"),
        currency="EUR",
        seller_shipping=Decimal("0.05"),
        store_currency="USD",
    )
    # (0.05 + 0.05) EUR × 1.10 = 0.11 USD (each part converted alone would make 0.06 + 0.06 = 0.12)
    assert (cost.total, cost.currency, cost.amount, cost.converted) == (Decimal("0.10"), "EUR", Decimal("0.11"), True)


def test_the_sites_shipping_in_another_currency_is_put_in_the_products_currency_first():
    cost = unit(currency="USD", supplier_shipping=Decimal("4.00"), supplier_currency="EUR", tax_percent=Decimal("10"))
    # 4.00 EUR = 4.40 USD; tax (20.00 + 4.40) × 10 % = 2.44; 26.84 USD
    assert (cost.shipping, cost.tax, cost.amount) == (Decimal("4.40"), Decimal("2.44"), Decimal("26.84"))


def test_a_unit_cost_without_an_exchange_rate_has_no_amount_and_cannot_be_quoted():
    cost = unit(currency="JPY", price=Decimal("3000"))
    assert cost.amount is None
    with pytest.raises(ValueError):
        quote_for_price(cost=cost, price=Decimal("40.00"), store=store())


def test_fees_payment_returns_and_landed_cost_at_a_price():
    cost = unit(supplier_shipping=Decimal("5.00"), supplier_currency="USD", tax_percent=Decimal("8.25"))

    quote = quote_for_price(cost=cost, price=Decimal("50.00"), store=store())

    # marketplace 50 × 10 % + 0.30 = 5.30; payment 50 × 2.9 % + 0.30 = 1.75; returns 50 × 2 % = 1.00
    assert (quote.marketplace_fee, quote.payment_fee, quote.returns) == (
        Decimal("5.30"),
        Decimal("1.75"),
        Decimal("1.00"),
    )
    assert quote.fees == Decimal("7.05")
    assert quote.landed_cost == Decimal("35.11")  # 27.06 + 7.05 + 1.00
    assert quote.profit == Decimal("14.89")  # 50.00 − 35.11
    assert quote.margin_percent == Decimal("29.78")  # 14.89 / 50.00
    assert quote.unit is cost and quote.cost == Decimal("27.06")


def test_the_listing_price_keeps_both_fees_and_the_returns_allowance_in_its_denominator():
    cost = unit(supplier_shipping=Decimal("5.00"), supplier_currency="USD", tax_percent=Decimal("8.25"))

    quote = listing_quote(cost=cost, store=store())

    # (27.06 × 1.30 + 0.30 + 0.30) / (1 − 0.10 − 0.029 − 0.02) = 35.778 / 0.851 = 42.04… → 42.99
    assert quote.price == Decimal("42.99")
    # 4.299 + 0.30 → 4.60; 1.2467 + 0.30 → 1.55; 0.8598 → 0.86; landed 27.06 + 4.60 + 1.55 + 0.86
    assert (quote.marketplace_fee, quote.payment_fee, quote.returns) == (
        Decimal("4.60"),
        Decimal("1.55"),
        Decimal("0.86"),
    )
    assert (quote.landed_cost, quote.profit, quote.margin_percent) == (
        Decimal("34.07"),
        Decimal("8.92"),
        Decimal("20.75"),
    )


def test_a_plain_cost_is_still_taken_as_the_unit_cost():
    assert listing_quote(cost=Decimal("27.06"), store=store()).price == Decimal("42.99")


def test_fees_and_returns_that_take_the_whole_price_leave_no_price():
    with pytest.raises(ArithmeticError, match=NO_PRICE_LEFT):
        listing_quote(cost=Decimal("10.00"), store=store(fee_percent=Decimal("90"), returns_percent=Decimal("10")))


def test_a_sold_line_takes_the_marketplaces_own_fee_when_it_gives_one():
    estimated = sale_charges(unit_price=Decimal("50.00"), quantity=2, store=store())
    assert (estimated.marketplace_fee, estimated.payment_fee, estimated.returns) == (
        Decimal("10.60"),
        Decimal("3.50"),
        Decimal("2.00"),
    )
    reported = sale_charges(unit_price=Decimal("50.00"), quantity=2, store=store(), marketplace_fee=Decimal("12.34"))
    assert (reported.marketplace_fee, reported.fees, reported.returns) == (
        Decimal("12.34"),
        Decimal("15.84"),
        Decimal("2.00"),
    )
