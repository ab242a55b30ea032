import csv
import datetime
import io
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import Availability
from marketplaces.models import ExchangeRate
from marketplaces.tests.factories import ListingFactory, MarketplaceDataFactory, StoreAccountFactory
from monitoring.analytics import analytics_invalidate
from monitoring.forms import PERIOD_NEEDS_BOTH_DATES, PERIOD_START_AFTER_END
from monitoring.models import AnalyticsCache
from monitoring.tests.factories import AlertFactory, JobFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
DASHBOARD = reverse("monitoring:dashboard")


def today():
    return timezone.localdate()


def yesterday():
    return today() - datetime.timedelta(days=1)


def sale(listing, days_ago, revenue, cogs="0.00", sales=1):
    revenue, cogs = Decimal(revenue), Decimal(cogs)
    return MarketplaceDataFactory(
        listing=listing,
        date=today() - datetime.timedelta(days=days_ago),
        sales=sales,
        revenue=revenue,
        cost_of_goods_sold=cogs,
        fees=Decimal("0.00"),
        profit=revenue - cogs,
    )


def seller_with_listings(user, count, *, currency="USD"):
    store = StoreAccountFactory(user=user, currency=currency)
    listings = ListingFactory.create_batch(count, store_account=store)
    for index, listing in enumerate(listings):
        sale(listing, 1 + index % 20, f"{10 + index}.50", cogs="5.25")
        sale(listing, 35 + index % 10, "3.00")
    for listing in listings[: max(1, count // 5)]:
        listing.product.availability = Availability.LOW_STOCK
        listing.product.save()
    return listings


# ---- The page ----------------------------------------------------------------------------


def test_dashboard_needs_a_signed_in_seller(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and reverse("account_login") in response.url


def test_dashboard_shows_the_sellers_figures_alerts_and_jobs(seller_client, user, other_user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user), title="Copper kettle")
    sale(listing, 1, "1234.50", cogs="1000.00", sales=3)
    rival = ListingFactory(store_account=StoreAccountFactory(user=other_user), title="Rival lamp")
    sale(rival, 1, "9999.00")
    AlertFactory(user=user, message="Kettle almost gone")
    JobFactory(user=user, type="import_csv")

    response = seller_client.get(DASHBOARD)

    page = response.content.decode()
    figures = response.context["figures"]
    assert figures.metric["revenue"].current == Decimal("1234.50")
    assert figures.metric["units"].current == 3
    assert "1,234.50" in page and "234.50" in page  # revenue, profit
    assert "Copper kettle" in page and "Rival lamp" not in page and "9,999.00" not in page
    assert "Kettle almost gone" in page and "CSV import" in page
    assert 'id="dashboard-analytics"' in page and "data-chart=" in page
    assert "vendor/chartjs/chart.umd.min.js" in page and "js/charts.js" in page


def test_chart_configuration_holds_the_series(seller_client, user):
    sale(ListingFactory(store_account=StoreAccountFactory(user=user)), 1, "40.00", cogs="10.00")

    response = seller_client.get(DASHBOARD, {"period": "7"})

    chart = json.loads(response.context["chart_json"])
    assert chart["type"] == "line"
    assert chart["data"]["labels"][-1] == yesterday().isoformat()
    assert [dataset["data"][-1] for dataset in chart["data"]["datasets"]] == [40.0, 30.0]
    assert len(chart["data"]["labels"]) == 7


def test_period_links_work_without_javascript(seller_client, user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user))
    sale(listing, 2, "10.00")
    sale(listing, 50, "500.00")

    week = seller_client.get(DASHBOARD, {"period": "7"})
    quarter = seller_client.get(DASHBOARD, {"period": "90"})

    assert week.context["figures"].period.days == 7 and week.context["period_choice"] == "7"
    assert week.context["figures"].metric["revenue"].current == Decimal("10.00")
    assert quarter.context["figures"].metric["revenue"].current == Decimal("510.00")
    page = week.content.decode()
    assert 'href="?period=90"' in page and 'hx-get="?period=90"' in page
    assert "Latest alerts" in page  # a whole page, not a fragment


def test_period_switch_over_htmx_returns_only_the_figures(seller_client, user):
    sale(ListingFactory(store_account=StoreAccountFactory(user=user)), 2, "10.00")

    response = seller_client.get(DASHBOARD, {"period": "7"}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="dashboard-analytics"')
    assert "Latest alerts" not in page and "<html" not in page
    assert response.context_data["figures"].period.days == 7
    assert "HX-Request" in response.get("Vary", "")


def test_custom_period(seller_client, user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user))
    sale(listing, 10, "10.00")
    sale(listing, 12, "20.00")
    sale(listing, 14, "40.00")
    start, end = today() - datetime.timedelta(days=12), today() - datetime.timedelta(days=10)

    response = seller_client.get(DASHBOARD, {"period": "custom", "start": start, "end": end})

    figures = response.context["figures"]
    assert (figures.period.start, figures.period.end) == (start, end)
    assert figures.metric["revenue"].current == Decimal("30.00")
    assert figures.metric["revenue"].previous == Decimal("40.00")  # the 3 days before
    assert response.context["period_choice"] == "custom"
    assert f"start={start.isoformat()}" in response.context["period_query"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "custom", "start": "2026-01-01"}, PERIOD_NEEDS_BOTH_DATES),
        ({"period": "custom", "start": "2026-02-01", "end": "2026-01-01"}, PERIOD_START_AFTER_END),
    ],
)
def test_a_bad_custom_period_says_why_and_shows_the_default(seller_client, params, message):
    response = seller_client.get(DASHBOARD, params)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["figures"].period.days == 30
    assert response.context["period_form"]["start"].value() == params["start"]  # the input is kept


def test_unconverted_currency_is_noted_on_the_page(seller_client, user):
    user.currency = "USD"
    user.save()
    sale(ListingFactory(store_account=StoreAccountFactory(user=user, currency="JPY")), 1, "5000.00")

    page = seller_client.get(DASHBOARD).content.decode()

    assert 'id="unconverted-note"' in page
    assert "no exchange rate for" in page and "JPY" in page and "5,000.00" in page


def test_amounts_show_in_the_reporting_currency(seller_client, user):
    ExchangeRate.objects.create(currency="GBP", per_eur=Decimal("0.80"), as_of=today())
    user.currency = "GBP"
    user.save()
    sale(ListingFactory(store_account=StoreAccountFactory(user=user, currency="EUR")), 1, "100.00")

    response = seller_client.get(DASHBOARD)

    assert response.context["figures"].metric["revenue"].current == Decimal("80.00")
    assert "in GBP" in response.content.decode()


def test_cold_and_warm_dashboard_show_the_same_numbers(seller_client, user):
    seller_with_listings(user, 8)

    cold = seller_client.get(DASHBOARD)
    warm = seller_client.get(DASHBOARD)
    analytics_invalidate(user)
    cold_again = seller_client.get(DASHBOARD)

    assert warm.context["figures"].cache_hits == {"summary", "series", "listings", "at_risk"}
    assert cold.context["figures"].cache_hits == set() == cold_again.context["figures"].cache_hits
    region = [response.content.decode().split('id="dashboard-analytics"')[1] for response in (cold, warm, cold_again)]
    strip = [text.split("Figures as of")[0] for text in region]
    assert strip[0] == strip[1] == strip[2]


# ---- Query count ---------------------------------------------------------------------------


def _queries(client, params=None, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(DASHBOARD, params or {}, **headers)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("cold", [True, False], ids=["cold", "warm"])
def test_query_count_does_not_grow_with_listings(client, cold):
    from accounts.tests.factories import UserFactory

    counts = []
    for size in (5, 50):
        seller = UserFactory()
        seller_with_listings(seller, size)
        client.force_login(seller)
        if not cold:
            client.get(DASHBOARD)
        counts.append(_queries(client))
        assert AnalyticsCache.objects.filter(user=seller).count() == 4
    assert counts[0] == counts[1]
    # A session's first request also records the browser for the sessions page (two writes); one
    # query counts the orders to buy and ship. Cold, the best and worst listings come from the
    # store's period totals: its newest day, then two queries a store (not a listing).
    assert counts[0] <= (25 if cold else 13)


def test_htmx_period_switch_runs_fewer_queries_than_the_page(seller_client, user):
    seller_with_listings(user, 5)
    seller_client.get(DASHBOARD)

    assert _queries(seller_client, **HTMX) < _queries(seller_client)


# ---- CSV -----------------------------------------------------------------------------------


def test_csv_download_has_the_series_of_the_chosen_window(seller_client, user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user))
    sale(listing, 0, "5.00")  # today: not a complete day, not in "the last 7 days"
    sale(listing, 1, "40.00", cogs="10.00", sales=2)
    sale(listing, 3, "12.50", cogs="2.50")
    sale(listing, 9, "999.00")

    response = seller_client.get(reverse("monitoring:dashboard_csv"), {"period": "7"})

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["from", "to", "revenue", "profit", "margin_percent", "units_sold", "currency", "not_converted"]
    assert len(rows) == 8
    by_day = {row[0]: row for row in rows[1:]}
    assert by_day[yesterday().isoformat()][2:7] == ["40.00", "30.00", "75.0", "2", "USD"]
    assert today().isoformat() not in by_day
    assert by_day[(today() - datetime.timedelta(days=3)).isoformat()][2:4] == ["12.50", "10.00"]
    assert sum(Decimal(row[2]) for row in rows[1:]) == Decimal("52.50")


def test_csv_is_scoped_to_the_seller(seller_client, other_user):
    sale(ListingFactory(store_account=StoreAccountFactory(user=other_user)), 1, "777.00")

    rows = list(csv.reader(io.StringIO(seller_client.get(reverse("monitoring:dashboard_csv")).content.decode())))

    assert all(row[2] == "0.00" for row in rows[1:])


def test_dashboard_link_is_the_csv_of_the_same_window(seller_client):
    page = seller_client.get(DASHBOARD, {"period": "90"}).content.decode()
    assert f"{reverse('monitoring:dashboard_csv')}?period=90" in page


# ---- bench_dashboard -----------------------------------------------------------------------


def test_percentile_is_the_nearest_rank():
    from monitoring.management.commands.bench_dashboard import percentile

    samples = [float(n) for n in range(1, 101)]
    assert (percentile(samples, 50), percentile(samples, 95), percentile(samples, 100)) == (50.0, 95.0, 100.0)
    assert percentile([7.0], 95) == 7.0


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("supplier_families")
def test_bench_dashboard_runs_against_a_server_and_prints_the_summary_line(live_server, user):
    from django.core.management import call_command

    seller_with_listings(user, 3)
    out = io.StringIO()

    call_command(
        "bench_dashboard",
        url=live_server.url,
        email=user.email,
        clients=2,
        duration=0.5,
        think=0.1,
        workers=1,
        stdout=out,
    )

    lines = out.getvalue().strip().splitlines()
    assert lines[-1].startswith("dashboard: p50 ") and " ms warm, cold " in lines[-1]
    assert lines[-1].endswith(" queries")
    assert "0 failed" in out.getvalue()
    assert AnalyticsCache.objects.filter(user=user).exists()


# ---- Orders to work on ---------------------------------------------------------------------


def test_the_dashboard_counts_orders_to_buy_and_to_ship_and_highlights_overdue(seller_client, user):
    from marketplaces.tests.factories import OrderFactory

    store = StoreAccountFactory(user=user)
    for state in ("to_buy", "to_buy", "bought", "shipped", "cancelled"):
        OrderFactory(store_account=store, state=state)
    OrderFactory(store_account=store, state="bought", ship_by=timezone.now() - datetime.timedelta(hours=1))
    OrderFactory(store_account=StoreAccountFactory(), state="to_buy")  # another seller's

    response = seller_client.get(DASHBOARD)

    assert response.context["order_counts"] == {"to_buy": 2, "to_ship": 2, "overdue": 1}
    page = response.content.decode()
    assert "Past ship-by date" in page and f"{reverse('marketplaces:order_list')}?state=overdue" in page


# ---- bench_orders --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("supplier_families")
def test_bench_orders_seeds_its_seller_and_prints_the_orders_line(live_server):
    from django.core.management import call_command

    from marketplaces.models import Order

    out = io.StringIO()
    call_command(
        "bench_orders", url=live_server.url, orders=60, clients=2, duration=0.5, think=0.1, workers=1, stdout=out
    )
    call_command("bench_orders", url=live_server.url, orders=60, clients=1, duration=0.2, think=0.1, stdout=out)

    lines = out.getvalue().strip().splitlines()
    assert lines[-1].startswith("orders: p50 ") and lines[-1].endswith(" ms warm")
    assert "0 failed" in out.getvalue() and "(0 added now)" in out.getvalue()
    assert Order.objects.filter(user__email="bench-orders@example.com", user__is_demo=True).count() == 60
