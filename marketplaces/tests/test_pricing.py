from decimal import Decimal

import pytest

from marketplaces.models import StoreAccount
from marketplaces.pricing import listing_quantity, listing_quote, quote_for_price, round_up_to_ending


def store(**overrides):
    settings = dict(
        markup_percent=Decimal("30"),
        markup_fixed=Decimal("0"),
        fee_percent=Decimal("13.25"),
        fee_fixed=Decimal("0.30"),
        price_ending=Decimal("0.99"),
        default_quantity=3,
        max_quantity=10,
        safety_buffer=2,
    )
    return StoreAccount(**{**settings, **overrides})


@pytest.mark.parametrize(
    "amount, ending, expected",
    [
        (Decimal("18.10"), Decimal("0.99"), Decimal("18.99")),
        (Decimal("18.99"), Decimal("0.99"), Decimal("18.99")),
        (Decimal("19.00"), Decimal("0.99"), Decimal("19.99")),
        (Decimal("18.001"), None, Decimal("18.01")),
        (Decimal("18.10"), Decimal("0.49"), Decimal("18.49")),
        (Decimal("18.60"), Decimal("0.49"), Decimal("19.49")),
    ],
)
def test_prices_round_up_to_the_store_ending(amount, ending, expected):
    assert round_up_to_ending(amount, ending) == expected


def test_the_listing_price_follows_the_design_formula():
    # ((10 + 0) × 1.30 + 0.30) / (1 − 0.1325) = 15.33… → 15.99
    quote = listing_quote(cost=Decimal("10.00"), store=store())
    assert quote.price == Decimal("15.99")
    assert quote.fees == Decimal("2.42")  # 15.99 × 13.25% + 0.30 = 2.4186…
    assert quote.profit == Decimal("3.57")
    assert quote.margin_percent == Decimal("22.33")


def test_fixed_markup_is_added_before_the_percent():
    quote = listing_quote(cost=Decimal("10.00"), store=store(markup_fixed=Decimal("2"), price_ending=None))
    # ((10 + 2) × 1.3 + 0.3) / 0.8675 = 18.3285… → 18.33
    assert quote.price == Decimal("18.33")


def test_a_locked_price_under_cost_shows_a_negative_margin():
    quote = quote_for_price(cost=Decimal("20.00"), price=Decimal("19.99"), store=store())
    assert quote.profit < 0 and quote.margin_percent < 0


@pytest.mark.parametrize("stock, expected", [(None, 3), (50, 10), (7, 5), (2, 0), (1, 0)])
def test_quantity_keeps_a_buffer_and_a_cap(stock, expected):
    assert listing_quantity(stock=stock, store=store()) == expected
