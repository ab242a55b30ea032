"""The backtest on the store page (HTMX and plain), from the command line and through the API; the
volatility buffer on the store page's preview and the listing page."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from catalog.tests.factories import PriceHistoryFactory, ProductFactory
from marketplaces.forms import StorePricingForm
from marketplaces.management.commands.backtest_pricing import NO_STORE_MESSAGE
from marketplaces.models import StoreAccount
from marketplaces.services.backtest import store_backtest
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from marketplaces.tests.test_backtest import make_backtest_case
from marketplaces.views.stores import BACKTEST_DAYS_CHOICE, BACKTEST_INVALID

pytestmark = pytest.mark.django_db


def form_data(store, **changes):
    data = {name: ("" if value is None else value) for name, value in StorePricingForm.initial_for(store).items()}
    data = {name: value for name, value in data.items() if value is not False}  # an unticked box is absent
    return {**data, **changes}


def figure_cells(html, figure):
    row = re.search(rf'<tr data-figure="{figure}">(.*?)</tr>', html, re.S).group(1)
    return [cell.strip() for cell in re.findall(r'<td class="num">(.*?)</td>', row, re.S)]


@pytest.fixture
def backtest_case():
    """The hand-worked case of test_backtest, its day ending at the last full hour. In a window of
    30 or 90 days it also holds pA's rises of the days before (each 9.00 → 10.00)."""
    return make_backtest_case(timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1))


@pytest.fixture
def seller_store(client, backtest_case):
    store, listing_a, listing_c = backtest_case
    client.force_login(store.user)
    return store, listing_a, listing_c


def expected(store, days, **changes):
    """The service's own answer for the saved settings and these changes."""
    edited = StoreAccount.objects.get(pk=store.pk)
    for name, value in changes.items():
        setattr(edited, name, value)
    return store_backtest(store=store, edited=edited, days=days)


# --- The store page -----------------------------------------------------------------------------


def test_the_store_page_has_the_backtest_button_and_the_buffer_box(client, seller_store):
    store, _, _ = seller_store
    html = client.get(store.get_absolute_url()).content.decode()
    assert f'hx-post="{reverse("marketplaces:store_backtest", args=[store.pk])}"' in html
    assert 'name="backtest_days"' in html and 'name="volatility_buffer"' in html


def test_backtest_renders_saved_and_typed_settings_side_by_side(client, seller_store):
    store, listing_a, _ = seller_store
    url = reverse("marketplaces:store_backtest", args=[store.pk])
    response = client.post(url, form_data(store, markup_percent="50", backtest_days="30"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="store-backtest"' in html  # the fragment only
    assert "the last 30 days" in html
    result = expected(store, 30, markup_percent=Decimal("50"))
    assert result.current.hours_below_cost > 0 and result.edited.hours_below_cost == 0  # 50 % covers the rises
    for figure in ("hours_below_cost", "hours_paused", "calls"):
        assert figure_cells(html, figure) == [str(getattr(result.current, figure)), str(getattr(result.edited, figure))]
    assert figure_cells(html, "average_margin") == [
        f"{result.current.average_margin}%",
        f"{result.edited.average_margin}%",
    ]
    assert f'data-listing="{listing_a.pk}"' in html
    store.refresh_from_db()
    assert store.markup_percent == Decimal("0.00")  # nothing saved


def test_backtest_without_htmx_renders_the_whole_page(client, seller_store):
    store, _, _ = seller_store
    url = reverse("marketplaces:store_backtest", args=[store.pk])
    response = client.post(url, form_data(store, backtest_days="90"))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html and "the last 90 days" in html
    result = expected(store, 90)
    assert figure_cells(html, "hours_paused") == [str(result.current.hours_paused)] * 2


def test_invalid_settings_show_their_errors_and_nothing_runs_or_is_saved(client, seller_store):
    store, _, _ = seller_store
    url = reverse("marketplaces:store_backtest", args=[store.pk])
    data = form_data(store, markup_percent="-50", backtest_days="90")
    fragment = client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert BACKTEST_INVALID in fragment and "data-figure" not in fragment
    assert "Markup is a percentage from 0 to 1000" in fragment  # which setting, said in the fragment too
    page = client.post(url, data)
    html = page.content.decode()
    assert page.status_code == 400
    assert 'value="-50"' in html and "Markup is a percentage from 0 to 1000" in html
    bad_days = client.post(url, form_data(store, backtest_days="7"), HTTP_HX_REQUEST="true").content.decode()
    assert BACKTEST_DAYS_CHOICE in bad_days
    store.refresh_from_db()
    assert store.markup_percent == Decimal("0.00")


def test_another_sellers_store_is_404(client, other_user, backtest_case):
    store = backtest_case[0]
    client.force_login(other_user)
    url = reverse("marketplaces:store_backtest", args=[store.pk])
    assert client.post(url, form_data(store, backtest_days="30")).status_code == 404


# --- The command --------------------------------------------------------------------------------


def test_the_command_prints_the_same_figures(backtest_case, capsys):
    store, listing_a, _ = backtest_case
    call_command("backtest_pricing", "--store", str(store.pk), "--days", "30", "--markup", "50")
    out = capsys.readouterr().out
    result = expected(store, 30, markup_percent=Decimal("50"))
    now, edited = result.current, result.edited
    assert re.search(rf"Hours priced below landed cost\s+{now.hours_below_cost}\s+{edited.hours_below_cost}\n", out)
    assert re.search(rf"Hours paused or out of stock\s+{now.hours_paused}\s+{edited.hours_paused}\n", out)
    assert re.search(rf"Price changes pushed \(marketplace calls\)\s+{now.calls}\s+{edited.calls}\n", out)
    assert re.search(rf"Average margin\s+{now.average_margin}%\s+{edited.average_margin}%", out)
    diff = result.listing_figures[listing_a.pk]
    assert f"#{listing_a.pk} Listing A: {diff.current.hours_below_cost} → {diff.edited.hours_below_cost}, " in out


def test_the_command_refuses_bad_settings_in_one_line(backtest_case):
    store = backtest_case[0]
    with pytest.raises(CommandError, match="Markup is a percentage"):
        call_command("backtest_pricing", "--store", str(store.pk), "--markup", "-5")
    with pytest.raises(CommandError, match="--set takes NAME=VALUE"):
        call_command("backtest_pricing", "--store", str(store.pk), "--set", "password=x")


def test_the_command_refuses_an_unknown_store_in_one_line():
    with pytest.raises(CommandError) as error:
        call_command("backtest_pricing", "--store", "999999")
    assert str(error.value) == NO_STORE_MESSAGE.format(value="999999")


# --- The API ------------------------------------------------------------------------------------


@pytest.fixture
def api_case(user, backtest_case):
    store = backtest_case[0]
    StoreAccount.objects.filter(pk=store.pk).update(user=user)
    store.listings.update(user=user)
    store.refresh_from_db()
    return backtest_case


def test_the_api_backtest_answers_with_both_sets_of_figures(seller_api, api_case):
    store, listing_a, _ = api_case
    response = seller_api.post(f"/api/v1/stores/{store.pk}/backtest/", {"markup_percent": "50.00", "days": 30})
    assert response.status_code == 200
    body = response.json()
    result = expected(store, 30, markup_percent=Decimal("50"))
    assert (body["days"], body["listings"]) == (30, 2)
    for figure in ("hours_below_cost", "hours_paused", "calls", "hours_on_sale"):
        assert (body["current"][figure], body["edited"][figure]) == (
            getattr(result.current, figure),
            getattr(result.edited, figure),
        )
    assert Decimal(body["edited"]["average_margin"]) == result.edited.average_margin
    assert [row["listing_id"] for row in body["top"]] == [diff.listing_id for diff in result.top]
    assert listing_a.pk in [row["listing_id"] for row in body["top"]]
    store.refresh_from_db()
    assert store.markup_percent == Decimal("0.00")


def test_the_api_backtest_refuses_bad_settings_and_days(seller_api, api_case):
    store = api_case[0]
    bad = seller_api.post(f"/api/v1/stores/{store.pk}/backtest/", {"markup_percent": "-5"})
    assert bad.status_code == 400 and "markup_percent" in bad.content.decode()
    days = seller_api.post(f"/api/v1/stores/{store.pk}/backtest/", {"days": 0})
    assert days.status_code == 400 and "days" in days.content.decode()


def test_the_api_backtest_of_another_sellers_store_is_404(seller_api, backtest_case):
    store = backtest_case[0]  # not the API seller's
    assert seller_api.post(f"/api/v1/stores/{store.pk}/backtest/", {"days": 30}).status_code == 404


# --- The volatility buffer on the pages ---------------------------------------------------------


@pytest.fixture
def volatile_listing(user):
    store = StoreAccountFactory(user=user, volatility_buffer=True, price_ending=None)
    product = ProductFactory(price=Decimal("10.00"))
    for percent in ["1.00", "2.00", "3.00", "4.00", "5.00"]:
        PriceHistoryFactory(
            product=product, price_change_percent=Decimal(percent), recorded_at=timezone.now() - timedelta(days=3)
        )
    return ListingFactory(store_account=store, product=product)


def test_the_listing_page_shows_the_buffer_and_why(client, user, volatile_listing):
    client.force_login(user)
    html = client.get(volatile_listing.get_absolute_url()).content.decode()
    assert "Volatility buffer" in html
    assert "+5.00 % (90th percentile of 5 price rises over 90 days)" in html


def test_the_listing_page_says_none_with_too_few_changes(client, user):
    client.force_login(user)
    listing = ListingFactory(store_account=StoreAccountFactory(user=user, volatility_buffer=True))
    html = client.get(listing.get_absolute_url()).content.decode()
    assert "none (too few changes: 0 price rises over 90 days, 5 needed)" in html


def test_the_store_preview_shows_the_buffer_in_the_price(client, user, volatile_listing):
    client.force_login(user)
    store = volatile_listing.store_account
    data = form_data(store, volatility_buffer="on")
    html = client.get(reverse("marketplaces:store_pricing_preview", args=[store.pk]), data).content.decode()
    assert "+5.00 % (90th percentile of 5 price rises over 90 days)" in html
    assert "the price covers the unit cost + 5.00 %" in html
    data.pop("volatility_buffer")
    html = client.get(reverse("marketplaces:store_pricing_preview", args=[store.pk]), data).content.decode()
    assert "not counted: the volatility buffer is off" in html
