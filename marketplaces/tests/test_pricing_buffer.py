"""The volatility buffer's arithmetic, the backup sources' ceiling, and the whole-cent array formulas
the backtest uses agreeing with the Decimal ones cent for cent."""

import random
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from catalog.tests.factories import PriceHistoryFactory
from marketplaces.models import StoreAccount
from marketplaces.pricing import (
    VOLATILITY_MIN_RISES,
    VolatilityBuffer,
    buffered_cost,
    listing_prices_cents,
    listing_quote,
    product_volatility_buffer,
    quote_for_price,
    sale_cents,
    source_ceiling,
    volatility_buffer_of,
)
from marketplaces.services import listings_follow
from marketplaces.tests.doubles import live_listing

D = Decimal


def store(**overrides):
    values = dict(
        markup_percent=D("30"),
        markup_fixed=D("0"),
        fee_percent=D("13.25"),
        fee_fixed=D("0.30"),
        payment_fee_percent=D("0"),
        payment_fee_fixed=D("0"),
        returns_percent=D("0"),
        price_ending=D("0.99"),
        volatility_buffer=True,
    )
    return StoreAccount(**{**values, **overrides})


# --- The statistic ----------------------------------------------------------------------------


def test_the_buffer_is_the_nearest_rank_90th_percentile_of_the_rises():
    rises = [D(n) for n in ["1", "9", "2", "8", "3", "7", "4", "6", "5", "10"]]
    # Ten rises: rank ⌈0.9 × 10⌉ = 9, the 9th smallest is 9.
    assert volatility_buffer_of(rises) == VolatilityBuffer(D("9"), 10)
    # Eleven: rank ⌈9.9⌉ = 10, the 10th smallest.
    assert volatility_buffer_of([*rises, D("50")]).percent == D("10")


def test_falls_and_unknown_changes_are_not_rises():
    buffer = volatility_buffer_of([D("-20"), None, D("0"), D("2"), D("3"), D("4"), D("5"), D("6")])
    assert (buffer.rises, buffer.percent) == (5, D("6"))


def test_with_too_few_rises_there_is_no_buffer():
    buffer = volatility_buffer_of([D("30")] * (VOLATILITY_MIN_RISES - 1))
    assert (buffer.percent, buffer.applies) == (D("0"), False)
    assert buffer.words == "none (too few changes: 4 price rises over 90 days, 5 needed)"
    assert volatility_buffer_of([D("30")] * VOLATILITY_MIN_RISES).words == (
        "+30 % (90th percentile of 5 price rises over 90 days)"
    )


@pytest.mark.django_db
def test_only_the_rises_of_the_last_90_days_count(product):
    now = timezone.now()
    for days, percent in [(1, "2.00"), (10, "4.00"), (50, "6.00"), (89, "8.00"), (91, "40.00"), (200, "50.00")]:
        PriceHistoryFactory(product=product, price_change_percent=D(percent), recorded_at=now - timedelta(days=days))
    PriceHistoryFactory(product=product, price_change_percent=D("-30.00"), recorded_at=now - timedelta(days=2))
    assert product_volatility_buffer(product, until=now).rises == 4  # not the two older ones nor the fall
    PriceHistoryFactory(product=product, price_change_percent=D("3.00"), recorded_at=now - timedelta(days=3))
    assert product_volatility_buffer(product, until=now) == VolatilityBuffer(D("8.00"), 5)


# --- The price with the buffer ------------------------------------------------------------------


def test_the_price_covers_the_buffered_cost_exactly():
    buffer = VolatilityBuffer(D("7.50"), 12)
    # 10.00 × 1.075 = 10.75; ((10.75 × 1.30) + 0.30) / 0.8675 = 16.455… → 16.99
    quote = listing_quote(cost=D("10.00"), store=store(), buffer=buffer)
    assert (quote.price, quote.buffer_percent, quote.cost) == (D("16.99"), D("7.50"), D("10.00"))
    # Without the buffer: (13.00 + 0.30) / 0.8675 = 15.33… → 15.99.
    assert listing_quote(cost=D("10.00"), store=store(), buffer=None).price == D("15.99")
    # The store's switch off: the product's buffer does not count.
    assert listing_quote(cost=D("10.00"), store=store(volatility_buffer=False), buffer=buffer).price == D("15.99")


def test_the_buffered_cost_rounds_up_to_the_cent():
    assert buffered_cost(D("9.99"), D("3.33")) == D("10.33")  # 10.322667 → 10.33
    assert buffered_cost(D("9.99"), D("0")) == D("9.99")


def test_a_rise_of_the_buffer_before_the_next_check_still_leaves_landed_cost_within_the_price():
    rng = random.Random(7)
    for _ in range(300):
        settings = store(
            markup_percent=D(rng.randint(0, 5000)) / 100,
            fee_percent=D(rng.randint(0, 2000)) / 100,
            fee_fixed=D(rng.randint(0, 100)) / 100,
            price_ending=rng.choice([None, D("0.99"), D("0.49")]),
        )
        cost = D(rng.randint(100, 100_000)) / 100
        buffer = VolatilityBuffer(D(rng.randint(1, 3000)) / 100, 20)
        price = listing_quote(cost=cost, store=settings, buffer=buffer).price
        risen = buffered_cost(cost, buffer.percent)
        assert quote_for_price(cost=risen, price=price, store=settings).profit >= 0


# --- The ceiling of backup sources --------------------------------------------------------------


def test_the_ceiling_is_the_locked_price_else_the_max_price_else_the_percentage():
    kwargs = dict(own_rules_price=D("20.00"), max_increase_percent=D("15"))
    assert source_ceiling(locked_price=D("25.00"), max_price=D("30.00"), **kwargs) == D("25.00")
    assert source_ceiling(locked_price=None, max_price=D("30.00"), **kwargs) == D("30.00")
    assert source_ceiling(locked_price=None, max_price=None, **kwargs) == D("23.00")
    assert source_ceiling(locked_price=None, max_price=None, own_rules_price=None, max_increase_percent=D("15")) is None


# --- Whole cents over arrays = the Decimal formulas ----------------------------------------------


def test_the_array_formulas_give_the_decimal_formulas_cents():
    rng = random.Random(11)
    for _ in range(40):
        settings = store(
            markup_percent=D(rng.randint(0, 10000)) / 100,
            markup_fixed=D(rng.randint(0, 500)) / 100,
            fee_percent=D(rng.randint(0, 3000)) / 100,
            fee_fixed=D(rng.randint(0, 100)) / 100,
            payment_fee_percent=D(rng.randint(0, 500)) / 100,
            payment_fee_fixed=D(rng.randint(0, 50)) / 100,
            returns_percent=D(rng.randint(0, 500)) / 100,
            price_ending=rng.choice([None, D("0.99"), D("0.00"), D("0.49")]),
            volatility_buffer=rng.choice([True, False]),
        )
        costs = [rng.randint(0, 500_000) for _ in range(50)]
        buffers = [rng.choice([0, rng.randint(1, 5000)]) for _ in costs]
        prices = listing_prices_cents(np.array(costs), store=settings, buffer_bp=np.array(buffers))
        for cost, buffer, price in zip(costs, buffers, prices.tolist(), strict=True):
            quote = listing_quote(cost=D(cost) / 100, store=settings, buffer=VolatilityBuffer(D(buffer) / 100, 9))
            assert D(price) / 100 == quote.price
        sold_at = [rng.randint(0, 500_000) for _ in costs]
        landed, margin = sale_cents(np.array(sold_at), np.array(costs), store=settings)
        for price, cost, land, marg in zip(sold_at, costs, landed.tolist(), margin.tolist(), strict=True):
            quote = quote_for_price(cost=D(cost) / 100, price=D(price) / 100, store=settings)
            assert (D(land) / 100, D(marg) / 100) == (quote.landed_cost, quote.margin_percent)


# --- Following the supplier with the buffer ----------------------------------------------------


@pytest.mark.django_db
def test_following_the_supplier_prices_in_the_buffer(store_with_buffer, product, ebay):
    now = timezone.now()
    for percent in ["2.00", "4.00", "6.00", "8.00", "10.00"]:
        PriceHistoryFactory(product=product, price_change_percent=D(percent), recorded_at=now - timedelta(days=5))
    listing = live_listing(store_with_buffer, product, price=D("30.99"), quantity_available=10)
    [change] = listings_follow(product=product)
    expected = listing_quote(cost=D("20.00"), store=store_with_buffer, buffer=VolatilityBuffer(D("10.00"), 5))
    assert change.new_price == expected.price == D("33.99")  # 22.00 × 1.30 + 0.30 … / 0.8675 → 33.31 → 33.99
    listing.refresh_from_db()
    assert listing.price == D("33.99")


@pytest.fixture
def store_with_buffer(store):
    store.volatility_buffer = True
    store.save(update_fields=["volatility_buffer"])
    return store


@pytest.mark.django_db
def test_the_database_works_out_the_same_buffers_as_the_formula():
    from catalog.tests.factories import ProductFactory
    from marketplaces.pricing import volatility_buffers

    rng = random.Random(5)
    now = timezone.now()
    products, expected = [], {}
    for count in [0, 3, 5, 7, 10, 11, 19, 20, 23]:
        product = ProductFactory()
        rises = [D(rng.randint(1, 2000)) / 100 for _ in range(count)]
        for rise in rises:
            PriceHistoryFactory(product=product, price_change_percent=rise, recorded_at=now - timedelta(days=2))
        products.append(product.pk)
        expected[product.pk] = volatility_buffer_of(rises)
    assert volatility_buffers(products, until=now) == expected
