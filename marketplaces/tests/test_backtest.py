"""The backtest against a small case worked out by hand, hour by hour (see `backtest_case`)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from catalog.models import Availability, ProductOverride
from catalog.tests.factories import PriceHistoryFactory, ProductFactory, StockHistoryFactory
from marketplaces.forms import StorePricingForm
from marketplaces.models import ListingSource, ListingStatus, LowMarginAction
from marketplaces.services.backtest import BAD_DAYS, Figures, store_backtest
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 20, tzinfo=UTC)  # the window ends at 12:00, the hour before
START = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # one day: 24 hours, decided at 12:00, 13:00, …


def at(hours: float, start: datetime = START) -> datetime:
    return start + timedelta(hours=hours)


def plain_store(**overrides):
    """No markup, a 10 % fee and nothing else: the rules price of a cost C is ⌈C / 0.9⌉ cents."""
    values = dict(
        markup_percent=Decimal("0"),
        markup_fixed=Decimal("0"),
        fee_percent=Decimal("10"),
        fee_fixed=Decimal("0"),
        payment_fee_percent=Decimal("0"),
        payment_fee_fixed=Decimal("0"),
        returns_percent=Decimal("0"),
        min_margin_percent=Decimal("0"),
        price_ending=None,
        default_quantity=1,
        max_quantity=10,
        safety_buffer=0,
        min_supplier_stock=0,
        failover_max_increase_percent=Decimal("20"),
        volatility_buffer=False,
    )
    return StoreAccountFactory(**{**values, **overrides})


def make_backtest_case(start: datetime = START):
    """Two listings on an eBay store.

    Listing A: own product pA (10.00), backup pB (11.00, never changes, in stock).
      pA rose 5 times in the days before the window (+2, +4, +6, +8, +10 %: buffer 10 %, the
      nearest-rank 90th percentile of five), is out of stock from 16:30 (seen at 17:00, hour 5)
      until 20:00 (hour 8), and rises 10.00 → 10.50 at 03:20 (during hour 15).
      pA and pB state no stock number: both list the store's default quantity, 1.
    Listing C: own product pC (8.00), stock 5, out of stock 22:00–00:00 (hours 10 and 11), then 3.
    """
    store = plain_store()
    a, b = ProductFactory(price=Decimal("10.50")), ProductFactory(price=Decimal("11.00"))
    c = ProductFactory(price=Decimal("8.00"), stock=3)
    for day, percent in enumerate([2, 4, 6, 8, 10]):
        PriceHistoryFactory(
            product=a,
            old_price=Decimal("9.00"),
            new_price=Decimal("10.00"),
            price_change_percent=Decimal(percent),
            recorded_at=start - timedelta(days=10 - day),
        )
    PriceHistoryFactory(
        product=a,
        old_price=Decimal("10.00"),
        new_price=Decimal("10.50"),
        price_change_percent=Decimal("5"),
        recorded_at=at(15 + 20 / 60, start),
    )
    StockHistoryFactory(
        product=a, old_stock=None, new_stock=0, new_availability=Availability.OUT_OF_STOCK, recorded_at=at(4.5, start)
    )
    StockHistoryFactory(product=a, new_stock=None, new_availability=Availability.IN_STOCK, recorded_at=at(8, start))
    StockHistoryFactory(product=c, new_stock=5, new_availability=Availability.IN_STOCK, recorded_at=at(-2, start))
    StockHistoryFactory(product=c, new_stock=0, new_availability=Availability.OUT_OF_STOCK, recorded_at=at(10, start))
    StockHistoryFactory(product=c, new_stock=3, new_availability=Availability.IN_STOCK, recorded_at=at(12, start))
    listing_a = ListingFactory(store_account=store, product=a, title="Listing A")
    ListingSource.objects.create(listing=listing_a, product=b, position=1)
    listing_c = ListingFactory(store_account=store, product=c, title="Listing C")
    ListingFactory(store_account=store, product=ProductFactory(), status=ListingStatus.ENDED)  # not replayed
    return store, listing_a, listing_c


@pytest.fixture
def backtest_case():
    return make_backtest_case(START)


def test_current_settings_replay_exactly_as_worked_out(backtest_case):
    store, listing_a, listing_c = backtest_case
    result = store_backtest(store=store, days=1, now=NOW)
    assert (result.start, result.end, result.listings) == (START, at(24), 2)
    a = result.listing_figures[listing_a.pk].current
    # Hours 0–4 on pA at ⌈1000/0.9⌉ = 1112 (fee 111: margin 1/1112 → 0.09 %, 9 hundredths).
    # Hour 5: pA out of stock → pB, 1223 (fee 122, margin 1/1223 → 8); pB's 1223 ≤ 1112 × 1.2.
    # Hour 8: pA qualifies again but only since this hour; hour 9 (60 minutes on) back to pA, 1112.
    # Hour 15: decided at 1112, the hour ends at cost 1050: landed 1050 + 111 = 1161 > 1112, below
    #   landed cost, margin −49/1112 → −441. Hours 16–23: ⌈1050/0.9⌉ = 1167, fee 117, margin 0.
    # Calls: the prices of hours 5, 9 and 16. Margin: (11 × 9 + 4 × 8 − 441 + 8 × 0) / 24 = −12.9.
    assert a == Figures(hours_below_cost=1, hours_paused=0, calls=3, hours_on_sale=24, average_margin=Decimal("-0.13"))
    c = result.listing_figures[listing_c.pk].current
    # ⌈800/0.9⌉ = 889 (fee 89, margin 0); paused at hour 10 (one call), resumed at hour 12 (one call:
    # eBay resumes with the quantity in the same call as the price).
    assert c == Figures(hours_below_cost=0, hours_paused=2, calls=2, hours_on_sale=22, average_margin=Decimal("0.00"))
    # All listings: margin −310 hundredths over 46 hours on sale.
    assert result.current == Figures(1, 2, 5, 46, Decimal("-0.07"))


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_replay_is_the_same(supplier_families):
    # Outside a transaction PostgreSQL reads the price changes on a second connection meanwhile.
    store, listing_a, _ = make_backtest_case(START)
    result = store_backtest(store=store, days=1, now=NOW)
    assert result.listing_figures[listing_a.pk].current == Figures(1, 0, 3, 24, Decimal("-0.13"))
    assert result.current == Figures(1, 2, 5, 46, Decimal("-0.07"))


def test_the_volatility_buffer_keeps_the_rise_above_landed_cost(backtest_case):
    store, listing_a, listing_c = backtest_case
    edited = StorePricingForm(initial=StorePricingForm.initial_for(store)).initial
    form = StorePricingForm({**edited, "price_ending": "", "volatility_buffer": "on"})
    assert form.is_valid(), form.errors
    result = store_backtest(store=store, edited=form.preview_store(store), days=1, now=NOW)
    a = result.listing_figures[listing_a.pk]
    # pA's cost buffered by 10 %: 1100 → 1223 (real fee 122, margin 101/1223 → 826), the same price
    # as pB's (no rises, no buffer): the switches to pB and back send nothing. Hour 15 ends at cost
    # 1050: landed 1050 + 122 = 1172 ≤ 1223, margin 51/1223 → 417. Hours 16–23: 1050 × 1.1 = 1155 →
    # 1284 (fee 128, margin 106/1284 → 826): one call. (11 × 826 + 4 × 8 + 417 + 8 × 826) / 24 = 672.6.
    assert a.edited == Figures(0, 0, 1, 24, Decimal("6.73"))
    assert a.current.hours_below_cost == 1
    assert result.listing_figures[listing_c.pk].edited == result.listing_figures[listing_c.pk].current
    assert result.edited == Figures(0, 2, 3, 46, Decimal("3.51"))  # 16143 / 46 = 350.9
    assert [diff.listing_id for diff in result.top] == [listing_a.pk]  # C did not change
    assert result.top[0].score == 3  # one hour below cost and two calls fewer


def test_a_backup_over_the_ceiling_never_qualifies(backtest_case):
    store, listing_a, _ = backtest_case
    listing_a.max_price = Decimal("12.00")  # pB's 12.23 is over it: pA's out-of-stock hours pause
    listing_a.save()
    figures = store_backtest(store=store, days=1, now=NOW).listing_figures[listing_a.pk].current
    # Paused hours 5–7 (pA is back at hour 8, and no backup held the listing: no wait to go back).
    assert (figures.hours_paused, figures.calls) == (3, 3)  # pause, resume, the price of hour 16


def test_the_seller_own_price_holds_over_the_window(backtest_case):
    store, listing_a, _ = backtest_case
    ProductOverride.objects.create(user=store.user, product=listing_a.product, price=Decimal("10.00"))
    figures = store_backtest(store=store, days=1, now=NOW).listing_figures[listing_a.pk].current
    assert figures.hours_below_cost == 0  # the rise of hour 15 is not theirs
    assert figures.calls == 2  # to pB and back


def test_a_backtest_covers_1_to_366_days(backtest_case):
    with pytest.raises(ValueError, match=BAD_DAYS):
        store_backtest(store=backtest_case[0], days=0)


def test_prices_with_cents_are_read_exactly():
    store = plain_store()
    product = ProductFactory(price=Decimal("5.00"))
    PriceHistoryFactory(product=product, new_price=Decimal("19.99"), recorded_at=START - timedelta(hours=1))
    listing = ListingFactory(store_account=store, product=product)
    figures = store_backtest(store=store, days=1, now=NOW).listing_figures[listing.pk].current
    # ⌈1999 / 0.9⌉ = 2222, fee 222, landed 2221: margin 1/2222 → 0.05 % (read as 1998 it would be 0).
    assert figures.average_margin == Decimal("0.05")


def test_a_locked_price_is_the_price_and_the_ceiling(backtest_case):
    store, _, listing_c = backtest_case
    listing_c.price, listing_c.price_locked = Decimal("9.00"), True
    listing_c.save()
    figures = store_backtest(store=store, days=1, now=NOW).listing_figures[listing_c.pk].current
    # pC's rules price 889 ≤ 900 qualifies; sold at 900: fee 90, landed 890, margin 10/900 → 1.11 %.
    assert figures == Figures(
        hours_below_cost=0, hours_paused=2, calls=2, hours_on_sale=22, average_margin=Decimal("1.11")
    )
    listing_c.price = Decimal("8.50")  # under pC's rules price 8.89: sold at a loss, fee 85, landed 885
    listing_c.save()
    figures = store_backtest(store=store, days=1, now=NOW).listing_figures[listing_c.pk].current
    assert (figures.hours_paused, figures.calls, figures.average_margin) == (24, 0, None)  # the store pauses
    store.low_margin_action = LowMarginAction.ALERT
    store.save()
    # The own product is never refused by the ceiling (as when following live): it keeps selling.
    figures = store_backtest(store=store, days=1, now=NOW).listing_figures[listing_c.pk].current
    assert (figures.hours_below_cost, figures.hours_paused, figures.average_margin) == (22, 2, Decimal("-4.12"))


def _active_sources_hour_by_hour(qualifies, switch_back_points: int) -> list[list[int]]:
    """The failover rule stated plainly, one hour after another: the first qualifying source; a
    listing on a less preferred one stays while it qualifies, until a more preferred one has
    qualified `switch_back_points` hours in a row (then the first such one)."""
    rows, width, hours = qualifies.shape
    chosen = []
    for row in range(rows):
        current, run, path = -1, [0] * width, []
        for hour in range(hours):
            now = [bool(qualifies[row, source, hour]) for source in range(width)]
            run = [run[source] + 1 if now[source] else 0 for source in range(width)]
            first = now.index(True) if any(now) else -1
            if current >= 0 and now[current]:
                ready = [s for s in range(current) if now[s] and run[s] >= switch_back_points]
                current = ready[0] if ready else current
            else:
                current = first
            path.append(current)
        chosen.append(path)
    return chosen


@pytest.mark.django_db(False)
def test_the_active_source_over_whole_arrays_follows_the_rule_hour_by_hour():
    import random

    import numpy as np

    from marketplaces.services.backtest import _active_sources

    rng = random.Random(17)
    for _case in range(400):
        rows, width, hours = rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 40)
        odds = rng.choice((0.3, 0.6, 0.9))
        qualifies = np.array(
            [[[rng.random() < odds for _ in range(hours)] for _ in range(width)] for _ in range(rows)], dtype=bool
        )
        wait = rng.randint(1, 7)
        assert _active_sources(qualifies, wait).tolist() == _active_sources_hour_by_hour(qualifies, wait)
