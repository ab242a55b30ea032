import datetime
import random
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Availability
from marketplaces.models import ExchangeRate, ListingStatus, MarketplaceData
from marketplaces.pricing import quote_for_price
from marketplaces.services.totals import PERIOD_DAYS, totals_refresh
from marketplaces.tests.factories import ListingFactory, MarketplaceDataFactory, StoreAccountFactory
from monitoring import analytics
from monitoring.analytics import Period, analytics_invalidate, dashboard_analytics, period_last
from monitoring.models import AnalyticsCache

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 23)


def day(days_ago: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days_ago)


def sale(listing, days_ago, revenue, cogs="0.00", fees="0.00", sales=1):
    revenue, cogs, fees = Decimal(revenue), Decimal(cogs), Decimal(fees)
    return MarketplaceDataFactory(
        listing=listing,
        date=day(days_ago),
        sales=sales,
        revenue=revenue,
        cost_of_goods_sold=cogs,
        fees=fees,
        profit=revenue - cogs - fees,
    )


def rates(**per_eur):
    for currency, rate in per_eur.items():
        ExchangeRate.objects.create(currency=currency, per_eur=Decimal(rate), as_of=TODAY)


def figures(user, days=30, now=None):
    return dashboard_analytics(user=user, period=period_last(days, TODAY), now=now)


def comparable(result):
    """What a seller sees of the figures, without the bookkeeping (cache hits, computed at)."""
    return {
        "metrics": [(m.name, m.current, m.previous, m.change) for m in result.metrics],
        "series": [(r.start, r.end, r.revenue, r.profit, r.units) for r in result.series],
        "top": [(r["id"], r["profit"], r["revenue"], r["units"]) for r in result.top],
        "bottom": [(r["id"], r["profit"], r["revenue"], r["units"]) for r in result.bottom],
        "at_risk": result.at_risk,
        "unconverted": [(u.currency, u.revenue, u.profit) for u in result.unconverted],
    }


# ---- Periods -------------------------------------------------------------------------------


def test_previous_period_has_the_same_length_just_before():
    period = Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
    assert period.days == 30
    assert period.previous == Period(datetime.date(2026, 10, 2), datetime.date(2026, 10, 31))
    assert period_last(7, TODAY) == Period(datetime.date(2026, 11, 16), datetime.date(2026, 11, 22))


def test_granularity_follows_the_length_of_the_window():
    assert period_last(90, TODAY).granularity == "daily"
    assert period_last(180, TODAY).granularity == "weekly"
    assert period_last(700, TODAY).granularity == "monthly"


# ---- Sums ----------------------------------------------------------------------------------


def test_summary_sums_the_window_and_compares_with_the_window_before(user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user, currency="USD"))
    sale(listing, 0, "555.00", sales=5)  # today: not a complete day yet, in no window
    sale(listing, 1, "100.00", cogs="60.00", fees="10.00", sales=2)  # yesterday: the 7-day window's last day
    sale(listing, 7, "50.50", cogs="20.25", fees="5.00", sales=1)  # the 7-day window's first day
    sale(listing, 8, "80.00", cogs="50.00", fees="10.00", sales=3)  # the last day of the 7 days before
    sale(listing, 14, "20.00", cogs="5.00", fees="5.00", sales=1)  # the first day of the 7 days before
    sale(listing, 15, "999.00", sales=9)  # outside both

    result = figures(user, days=7)

    metric = result.metric
    assert metric["revenue"].current == Decimal("150.50")
    assert metric["profit"].current == Decimal("55.25")  # 30.00 + 25.25
    assert metric["units"].current == 3
    assert metric["revenue"].previous == Decimal("100.00")
    assert metric["profit"].previous == Decimal("30.00")
    assert metric["units"].previous == 4
    assert metric["revenue"].change == Decimal("50.5")
    assert metric["profit"].change == Decimal("84.2")  # (55.25 − 30) / 30
    assert metric["units"].change == Decimal("-25.0")
    assert metric["margin"].current == Decimal("36.7")  # 55.25 / 150.50
    assert metric["margin"].previous == Decimal("30.0")
    assert metric["margin"].change == Decimal("6.7")  # percentage points


def test_changing_the_period_changes_the_sums(user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user))
    sale(listing, 1, "10.00")
    sale(listing, 20, "200.00")
    sale(listing, 45, "3000.00")

    assert figures(user, days=7).metric["revenue"].current == Decimal("10.00")
    assert figures(user, days=30).metric["revenue"].current == Decimal("210.00")
    assert figures(user, days=90).metric["revenue"].current == Decimal("3210.00")
    assert figures(user, days=30).metric["revenue"].previous == Decimal("3000.00")


def test_series_has_every_day_with_zeros_and_adds_up_to_the_summary(user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user))
    other = ListingFactory(store_account=listing.store_account)
    sale(listing, 2, "12.00", cogs="2.00")
    sale(other, 2, "8.00", cogs="1.00")
    sale(listing, 5, "30.00", cogs="10.00")

    result = figures(user, days=7)

    assert [row.start for row in result.series] == [day(n) for n in range(7, 0, -1)]
    by_day = {row.start: (row.revenue, row.profit, row.units) for row in result.series}
    assert by_day[day(2)] == (Decimal("20.00"), Decimal("17.00"), 2)
    assert by_day[day(5)] == (Decimal("30.00"), Decimal("20.00"), 1)
    assert by_day[day(3)] == (Decimal("0.00"), Decimal("0.00"), 0)
    assert sum(row.revenue for row in result.series) == result.metric["revenue"].current


def test_long_windows_are_grouped_by_week_starting_monday(user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user))
    monday = TODAY - datetime.timedelta(days=TODAY.weekday() + 14)
    for offset, amount in ((0, "10.00"), (3, "5.00"), (6, "1.00"), (7, "100.00")):
        MarketplaceDataFactory(listing=listing, date=monday + datetime.timedelta(days=offset), revenue=Decimal(amount))

    result = figures(user, days=180)

    assert result.granularity == "weekly"
    by_week = {row.start: row.revenue for row in result.series}
    assert by_week[monday] == Decimal("16.00")
    assert by_week[monday + datetime.timedelta(days=7)] == Decimal("100.00")
    assert all(row.start.weekday() == 0 for row in result.series[1:])
    assert result.series[0].start == result.period.start  # the first week is cut at the window's start


def test_another_sellers_data_is_never_counted(user, other_user):
    mine = ListingFactory(store_account=StoreAccountFactory(user=user))
    theirs = ListingFactory(store_account=StoreAccountFactory(user=other_user))
    sale(mine, 1, "10.00")
    sale(theirs, 1, "5000.00")
    ListingFactory(store_account=theirs.store_account, product__availability=Availability.OUT_OF_STOCK)

    result = figures(user)

    assert result.metric["revenue"].current == Decimal("10.00")
    assert [row["id"] for row in result.top] == [mine.pk]
    assert result.at_risk["low_stock_count"] == 0


# ---- Currencies ----------------------------------------------------------------------------


def test_amounts_are_converted_to_the_reporting_currency_with_per_euro_rates(user):
    rates(USD="1.10", GBP="0.85")
    user.currency = "USD"
    user.save()
    usd = ListingFactory(store_account=StoreAccountFactory(user=user, currency="USD"))
    eur = ListingFactory(store_account=StoreAccountFactory(user=user, currency="EUR"))
    gbp = ListingFactory(store_account=StoreAccountFactory(user=user, currency="GBP"))
    sale(usd, 1, "10.00")
    sale(eur, 1, "100.00", cogs="50.00")  # 100 × 1.10 / 1 = 110.00 USD; profit 55.00
    sale(gbp, 2, "85.00")  # 85 × 1.10 / 0.85 = 110.00 USD

    result = figures(user)

    assert result.currency == "USD"
    assert result.metric["revenue"].current == Decimal("230.00")
    assert result.metric["profit"].current == Decimal("175.00")
    assert result.unconverted == []
    by_day = {row.start: row.revenue for row in result.series}
    assert by_day[day(1)] == Decimal("120.00") and by_day[day(2)] == Decimal("110.00")
    top = {row["id"]: row for row in result.top}
    assert top[eur.pk]["profit"] == Decimal("55.00") and top[eur.pk]["shown_currency"] == "USD"


def test_reporting_in_euro_divides_by_the_rate(user):
    rates(USD="1.25")
    user.currency = "EUR"
    user.save()
    sale(ListingFactory(store_account=StoreAccountFactory(user=user, currency="USD")), 1, "100.00")

    assert figures(user).metric["revenue"].current == Decimal("80.00")


def test_a_currency_without_a_rate_is_shown_unconverted_and_left_out_of_totals(user):
    rates(USD="1.10")
    user.currency = "USD"
    user.save()
    usd = ListingFactory(store_account=StoreAccountFactory(user=user, currency="USD"))
    jpy = ListingFactory(store_account=StoreAccountFactory(user=user, currency="JPY"))
    sale(usd, 1, "10.00")
    sale(jpy, 1, "5000.00", cogs="1000.00")
    sale(jpy, 40, "700.00")

    result = figures(user)

    assert result.metric["revenue"].current == Decimal("10.00")  # never 5010
    assert [(u.currency, u.revenue, u.profit, u.previous_revenue) for u in result.unconverted] == [
        ("JPY", Decimal("5000.00"), Decimal("4000.00"), Decimal("700.00"))
    ]
    assert sum(row.revenue for row in result.series) == Decimal("10.00")
    jpy_row = next(row for row in result.top + result.bottom if row["id"] == jpy.pk)
    assert jpy_row["converted"] is False and jpy_row["shown_currency"] == "JPY"
    assert jpy_row["profit"] == Decimal("4000.00")


def test_a_new_rate_applies_without_recomputing(user):
    user.currency = "USD"
    user.save()
    sale(ListingFactory(store_account=StoreAccountFactory(user=user, currency="EUR")), 1, "100.00")
    assert figures(user).unconverted[0].currency == "EUR"

    rates(USD="1.10")
    result = figures(user)

    assert result.cache_hits == {"summary", "series", "listings", "at_risk"}
    assert result.metric["revenue"].current == Decimal("110.00") and result.unconverted == []


# ---- Best and worst listings ---------------------------------------------------------------


def test_best_and_worst_listings_are_ranked_by_converted_profit(user):
    rates(USD="2.00")
    user.currency = "USD"
    user.save()
    usd_store = StoreAccountFactory(user=user, currency="USD")
    eur_store = StoreAccountFactory(user=user, currency="EUR")
    profits = {}
    for profit in ("5.00", "50.00", "-20.00", "1.00", "30.00", "7.00", "0.00"):
        listing = ListingFactory(store_account=usd_store)
        loss = max(Decimal("0"), -Decimal(profit))
        sale(listing, 1, "100.00", cogs=str(Decimal("100.00") - Decimal(profit) - loss), fees=str(loss))
        profits[listing.pk] = Decimal(profit)
    euro_listing = ListingFactory(store_account=eur_store)
    sale(euro_listing, 1, "100.00", cogs="70.00")  # 30 EUR = 60 USD: the best
    profits[euro_listing.pk] = Decimal("60.00")

    result = figures(user)

    ranked = sorted(profits, key=lambda pk: -profits[pk])
    assert [row["id"] for row in result.top] == ranked[:5]
    assert result.top[0]["id"] == euro_listing.pk and result.top[0]["profit"] == Decimal("60.00")
    assert [row["id"] for row in result.bottom] == sorted(profits, key=lambda pk: profits[pk])[:3]
    assert result.bottom[0]["profit"] == Decimal("-20.00")
    assert not {row["id"] for row in result.top} & {row["id"] for row in result.bottom}


@pytest.mark.parametrize("days", PERIOD_DAYS)
def test_the_best_and_worst_from_the_period_totals_are_those_the_performance_rows_give(user, monkeypatch, days):
    """The kept totals rank exactly as summing the rows does (ties included), for every kept period:
    stores whose newest day is yesterday and the day before from the totals, the others from rows."""
    rng = random.Random(days)
    rates(USD="1.10", GBP="0.85")
    newest = {"USD": 1, "EUR": 1, "GBP": 2, "CAD": 3, "AUD": 10}  # days ago, by store currency
    stores = {currency: StoreAccountFactory(user=user, currency=currency) for currency in newest}
    stores["USD again"] = StoreAccountFactory(user=user, currency="USD")
    for name, store in stores.items():
        last = newest.get(name, 1)
        for listing in ListingFactory.create_batch(9, store_account=store):
            for days_ago in {last, *rng.sample(range(last, 120), 25)}:
                profit = Decimal(rng.choice((-1500, -20, 0, 35, 35, 790, 4000))) / 100
                revenue = Decimal("90.00")
                MarketplaceData.objects.create(listing=listing, date=day(days_ago), revenue=revenue, profit=profit)
        totals_refresh(store.pk)
    by_id = analytics._stores(user)
    period = period_last(days, TODAY)

    from_totals, from_rows = analytics._listings_totals_plan(period, by_id)
    assert {store_id: lengths for store_id, (lengths, _end) in from_totals.items()} == {
        stores[name].pk: days - (newest.get(name, 1) - 1) for name in ("USD", "EUR", "GBP", "USD again")
    }
    assert from_rows == {stores["CAD"].pk} | ({stores["AUD"].pk} if days > 10 else set())
    ranked = analytics._compute_listings(user, period, by_id)
    with monkeypatch.context() as patched:
        patched.setattr(analytics, "_listings_totals_plan", lambda period, stores: ({}, set(stores)))
        summed = analytics._compute_listings(user, period, by_id)
    assert ranked == summed and len(summed["listings"]) >= 2 * analytics.RANKED_LISTINGS


def test_another_window_is_summed_from_the_rows(user):
    store = StoreAccountFactory(user=user)
    listing = ListingFactory(store_account=store)
    sale(listing, 1, "10.00")
    sale(listing, 12, "30.00")
    by_id = analytics._stores(user)
    assert analytics._listings_totals_plan(Period(day(14), day(1)), by_id) == ({}, {store.pk})  # 14 days: not kept
    ranked = analytics._compute_listings(user, Period(day(14), day(1)), by_id)["listings"]
    assert [(row["id"], row["revenue"]) for row in ranked] == [(listing.pk, "40.00")]


# ---- Listings at risk ----------------------------------------------------------------------


def test_low_margin_uses_the_stores_minimum_and_the_converted_supplier_cost(user):
    rates(USD="1.25")
    store = StoreAccountFactory(user=user, currency="EUR", min_margin_percent=Decimal("25.00"))
    thin = ListingFactory(
        store_account=store, price=Decimal("30.00"), product__price=Decimal("25.00"), product__currency="USD"
    )  # cost 20.00 EUR
    fine = ListingFactory(
        store_account=store, price=Decimal("60.00"), product__price=Decimal("25.00"), product__currency="USD"
    )
    ListingFactory(
        store_account=store,
        price=Decimal("30.00"),
        product__price=Decimal("25.00"),
        product__currency="USD",
        status=ListingStatus.ENDED,
    )  # ended: not at risk
    ListingFactory(store_account=store, price=Decimal("30.00"), product__price=Decimal("5000"), product__currency="JPY")

    at_risk = figures(user).at_risk

    expected = quote_for_price(cost=Decimal("20.00"), price=Decimal("30.00"), store=store).margin_percent
    assert expected < store.min_margin_percent
    assert quote_for_price(cost=Decimal("20.00"), price=Decimal("60.00"), store=store).margin_percent >= Decimal("25")
    assert at_risk["low_margin_count"] == 1
    assert [item["id"] for item in at_risk["low_margin"]] == [thin.pk]
    assert at_risk["low_margin"][0]["margin_percent"] == str(expected)
    assert at_risk["low_margin"][0]["cost"] == "20.00"
    assert fine.pk not in [item["id"] for item in at_risk["low_margin"]]
    assert at_risk["margin_unknown_currencies"] == ["JPY"]


def test_low_stock_lists_live_listings_whose_supplier_runs_low_or_out(user):
    store = StoreAccountFactory(user=user)
    out = ListingFactory(store_account=store, product__availability=Availability.OUT_OF_STOCK, product__stock=0)
    low = ListingFactory(store_account=store, product__availability=Availability.LOW_STOCK, product__stock=3)
    ListingFactory(store_account=store, product__availability=Availability.IN_STOCK)
    ListingFactory(store_account=store, product__availability=Availability.OUT_OF_STOCK, status=ListingStatus.PAUSED)

    at_risk = figures(user).at_risk

    assert at_risk["low_stock_count"] == 2
    assert [item["id"] for item in at_risk["low_stock"]] == [out.pk, low.pk]  # out of stock first


def test_only_listings_near_or_under_their_minimum_margin_are_quoted_and_the_near_ones_are_decided_exactly(user):
    store = StoreAccountFactory(user=user, currency="USD", min_margin_percent=Decimal("20.00"))
    cost = {"product__price": Decimal("10.00"), "product__currency": "USD", "product__supplier__currency": "USD"}
    under = ListingFactory(store_account=store, price=Decimal("15.40"), **cost)
    just_above = ListingFactory(store_account=store, price=Decimal("15.46"), **cost)
    fine = ListingFactory(store_account=store, price=Decimal("25.00"), **cost)
    fine_but_low_stock = ListingFactory(
        store_account=store, price=Decimal("25.00"), product__availability=Availability.LOW_STOCK, **cost
    )
    margin = {
        listing: quote_for_price(cost=Decimal("10.00"), price=listing.price, store=store).margin_percent
        for listing in (under, just_above, fine)
    }
    assert margin[under] < 20 <= margin[just_above] < 20 + analytics.MARGIN_SLACK <= margin[fine]

    quoted = {row[0] for row in analytics._at_risk_candidates(user, analytics.Rates.load())}
    at_risk = figures(user).at_risk

    assert quoted == {under.pk, just_above.pk, fine_but_low_stock.pk}
    assert at_risk["low_margin_count"] == 1
    assert [(item["id"], item["margin_percent"]) for item in at_risk["low_margin"]] == [(under.pk, str(margin[under]))]
    assert [item["id"] for item in at_risk["low_stock"]] == [fine_but_low_stock.pk]


def test_a_listing_following_a_backup_source_is_always_quoted(user):
    store = StoreAccountFactory(user=user, currency="USD", min_margin_percent=Decimal("20.00"))
    cost = {"product__price": Decimal("10.00"), "product__currency": "USD", "product__supplier__currency": "USD"}
    fine = ListingFactory(store_account=store, price=Decimal("25.00"), **cost)
    backup = ListingFactory(store_account=store, price=Decimal("25.00"), **cost).product
    following = ListingFactory(store_account=store, price=Decimal("25.00"), active_product=backup, **cost)

    quoted = {row[0] for row in analytics._at_risk_candidates(user, analytics.Rates.load())}

    assert quoted == {following.pk}
    assert fine.pk not in quoted


# ---- The cache -----------------------------------------------------------------------------


def test_figures_are_cached_per_window_with_decimals_as_strings(user):
    sale(ListingFactory(store_account=StoreAccountFactory(user=user, currency="USD")), 1, "12.34")
    period = period_last(30, TODAY)

    first = figures(user)

    assert first.cache_hits == set()
    rows = {(row.metric_type, row.time_period): row for row in AnalyticsCache.objects.filter(user=user)}
    key = f"{period.start.isoformat()}:{period.end.isoformat()}"
    assert set(rows) == {
        (f"summary:{key}", "daily"),
        (f"series:{key}", "daily"),
        (f"listings:{key}", "daily"),
        ("at_risk", "daily"),
    }
    summary = rows[(f"summary:{key}", "daily")]
    assert summary.data["current"]["USD"]["revenue"] == "12.34"
    assert summary.expires_at > timezone.now()
    assert figures(user).cache_hits == {"summary", "series", "listings", "at_risk"}


def test_cold_cache_gives_the_same_numbers_as_warm(user):
    rates(USD="1.10", GBP="0.85")
    user.currency = "USD"
    user.save()
    for currency in ("USD", "EUR", "GBP", "JPY"):
        store = StoreAccountFactory(user=user, currency=currency)
        for index in range(3):
            listing = ListingFactory(store_account=store, product__availability=Availability.LOW_STOCK)
            for days_ago in range(0, 60, 7):
                sale(listing, days_ago + index, f"{10 + index * 3 + days_ago}.{index}5", cogs="4.10", fees="1.05")

    cold = figures(user)
    warm = figures(user)
    analytics_invalidate(user)
    cold_again = figures(user)

    assert cold.cache_hits == set() and cold_again.cache_hits == set()
    assert warm.cache_hits == {"summary", "series", "listings", "at_risk"}
    assert comparable(warm) == comparable(cold) == comparable(cold_again)
    assert cold.metric["revenue"].current > 0 and cold.unconverted


def test_a_live_entry_is_served_and_an_expired_one_is_recomputed(user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user))
    sale(listing, 1, "10.00")
    figures(user)
    sale(listing, 2, "5.00")  # new data written without invalidating

    assert figures(user).metric["revenue"].current == Decimal("10.00")  # still the cached figure
    AnalyticsCache.objects.filter(user=user).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    recomputed = figures(user)

    assert recomputed.metric["revenue"].current == Decimal("15.00")
    assert AnalyticsCache.objects.filter(user=user, expires_at__lte=timezone.now()).count() == 0


def test_invalidate_forgets_only_that_sellers_figures(user, other_user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user))
    sale(listing, 1, "10.00")
    figures(user)
    figures(other_user)
    sale(listing, 2, "5.00")

    deleted = analytics_invalidate(user)

    assert deleted == 4
    assert not AnalyticsCache.objects.filter(user=user).exists()
    assert AnalyticsCache.objects.filter(user=other_user).count() == 4
    assert figures(user).metric["revenue"].current == Decimal("15.00")


def test_rates_convert_amount_times_target_over_source():
    table = analytics.Rates(per_eur={"EUR": Decimal("1"), "USD": Decimal("1.10"), "GBP": Decimal("0.85")})
    assert table.convert(Decimal("100.00"), "EUR", "USD") == Decimal("110.00")
    assert table.convert(Decimal("110.00"), "USD", "EUR") == Decimal("100.00")
    assert table.convert(Decimal("85.00"), "GBP", "USD") == Decimal("110.00")
    assert table.convert(Decimal("5.00"), "", "USD") == Decimal("5.00")  # blank: already in the target
    assert table.convert(Decimal("5.00"), "JPY", "USD") is None


def test_at_risk_margins_use_the_landed_cost_with_the_sellers_own_shipping(user, other_user):
    from catalog.services import product_override_set
    from catalog.tests.factories import SupplierFactory

    store = StoreAccountFactory(user=user, min_margin_percent=Decimal("10.00"))  # 13.25 % + 0.30
    shipped = SupplierFactory(default_shipping=Decimal("7.00"), sales_tax_percent=Decimal("0"))
    # 30.99 − 4.41 fees − 20.00 = 21 % on the bare price; with the site's 7.00 shipping it loses money
    product = {"product__supplier": shipped, "product__price": Decimal("20.00"), "product__currency": "USD"}
    losing = ListingFactory(store_account=store, price=Decimal("30.99"), **product)
    own = ListingFactory(store_account=store, price=Decimal("30.99"), **product)
    product_override_set(user=user, product=own.product, price=None, stock=None, shipping=Decimal("0"))
    # another seller's own shipping for the losing product changes nothing here
    product_override_set(user=other_user, product=losing.product, price=None, stock=None, shipping=Decimal("0"))

    at_risk = figures(user).at_risk

    assert [item["id"] for item in at_risk["low_margin"]] == [losing.pk]
    [item] = at_risk["low_margin"]
    assert (item["cost"], item["landed_cost"], item["margin_percent"]) == ("27.00", "31.41", "-1.36")
