"""The store page's Backtest button in headless Chromium: typed settings go with it, the results
appear in the page (HTMX), nothing is saved."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from config.tests.test_browser import browser_page, log_in, shoot  # noqa: F401 - the fixture
from marketplaces.models import StoreAccount
from marketplaces.tests.test_backtest import make_backtest_case

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("supplier_families"),  # a transactional test may follow one that flushed them
]


def test_the_backtest_button_shows_both_settings_side_by_side(browser_page):  # noqa: F811
    page = browser_page
    store, listing_a, _ = make_backtest_case(
        timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    )
    store.user.set_password("a-long-seller-password-3")
    store.user.save()
    log_in(page, store.user.email, "a-long-seller-password-3")
    page.goto(page.base + store.get_absolute_url())
    with page.expect_response(lambda response: "/settings/preview/" in response.url):
        page.fill("#id_markup_percent", "50")  # the live preview of the typed markup answers first
    page.select_option("#backtest-days", "30")
    page.click("button:text-is('Backtest')")
    page.wait_for_selector("#store-backtest table[data-backtest=figures]")
    shoot(page, "40-store-backtest")
    cells = page.locator("tr[data-figure=hours_below_cost] td").all_inner_texts()
    assert cells[1] == "0" and int(cells[0]) > 0  # the typed 50 % markup covers the rises
    assert page.locator(f"tr[data-listing='{listing_a.pk}']").count() == 1
    assert StoreAccount.objects.get(pk=store.pk).markup_percent == Decimal("0.00")
    assert page.problems == []
