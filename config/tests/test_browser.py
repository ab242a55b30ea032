"""The real app in headless Chromium (Debian's package, driven by Playwright): sign up, log in as
the demo seller, open every page of the navigation. Any server error or browser console error
fails the test; a screenshot of each page is saved under test-artifacts/screenshots/."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections

from catalog.fetching.browser import LAUNCH_FLAGS
from conftest import skip_or_fail

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("supplier_families"),
]
SHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
NAVIGATION = ["Dashboard", "Products", "Listings", "Orders", "Stores", "Alerts", "Jobs", "Settings"]


@pytest.fixture
def browser_page(live_server, monkeypatch):
    chromium = settings.CHROMIUM_PATH
    if not Path(chromium).exists():
        skip_or_fail(f"Chromium is not installed at {chromium} (make test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on(
            "response",
            lambda response: response.status >= 500 and problems.append(f"HTTP {response.status} {response.url}"),
        )
        page.problems = problems
        page.base = live_server.url
        yield page
        # While Playwright's loop runs, the ORM's connections belong to its context (asgiref's
        # Local), not to the thread: close the ones the test opened there, or the test database
        # cannot be dropped at the end of the run.
        connections.close_all()
        browser.close()


def shoot(page, name: str):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_sign_up_then_browse_every_page_as_the_demo_seller(browser_page):
    page = browser_page
    call_command("seed_demo", stdout=io.StringIO())

    page.goto(page.base + "/accounts/signup/")
    page.fill("input[name=email]", "new.seller@example.com")
    page.fill("input[name=password1]", "a-long-new-password-1")
    page.fill("input[name=password2]", "a-long-new-password-1")
    page.click("form [type=submit]")
    page.wait_for_load_state()
    assert "/accounts/" not in page.url, page.content()[:500]
    shoot(page, "00-after-signup")
    page.click("nav .nav-user [type=submit]")  # log out
    page.wait_for_load_state()

    page.goto(page.base + "/accounts/login/")
    page.fill("input[name=username]", "demo@example.com")
    page.fill("input[name=password]", "demo-seller-password")
    page.click("form [type=submit]")
    page.wait_for_load_state()
    shoot(page, "01-dashboard")

    for number, label in enumerate(NAVIGATION, start=2):
        page.click(f"nav .nav-links >> text={label}")
        page.wait_for_load_state("networkidle")
        assert page.locator("nav .nav-links [aria-current=page]").count() == 1, label
        shoot(page, f"{number:02d}-{label.lower()}")
        detail = page.locator("main table tbody a").first
        if detail.count():
            detail.click()
            page.wait_for_load_state("networkidle")
            shoot(page, f"{number:02d}-{label.lower()}-detail")

    # The seller's working pages beyond the navigation.
    page.goto(page.base + "/products/add/")
    page.fill("textarea[name=links]", "B00TESTAS1\nB00TESTAS2")  # several lines: read by the next round
    page.click("#add-region form [type=submit]")
    page.wait_for_selector("text=B00TESTAS2", timeout=15000)
    shoot(page, "10-products-added")
    for number, path in enumerate(
        ["/products/import/", "/stores/connect/", "/notifications/settings/", "/activity/"], start=11
    ):
        page.goto(page.base + path)
        page.wait_for_load_state("networkidle")
        shoot(page, f"{number:02d}{path.replace('/', '-').rstrip('-')}")
    page.goto(page.base + "/products/")
    page.click("main table tbody a")
    page.click("text=List this product")
    page.wait_for_load_state("networkidle")
    assert "/listings/new/" in page.url
    shoot(page, "15-list-this-product")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.base + "/")
    page.wait_for_load_state("networkidle")
    shoot(page, "20-dashboard-phone")
    assert page.problems == []


def test_an_ebay_order_is_bought_and_shipped_in_the_browser(browser_page):
    """Import an order with the buyer's address from the eBay double, then in the browser: open it from
    the Orders page, see the address, record the purchase, send the tracking number to eBay."""
    import json

    import respx

    from marketplaces.models import Order
    from marketplaces.services import store_orders_sync
    from marketplaces.tests.doubles import (
        BUYER_STREET,
        EBAY_ORDERS,
        ebay_full_order,
        ebay_orders_page,
        ebay_ship_route,
        ebay_store,
        live_listing,
        supplier_product,
    )
    from marketplaces.tests.spec import spec_route

    page = browser_page
    store = ebay_store()
    store.user.set_password("a-long-seller-password-2")
    store.user.save()
    listing = live_listing(store, supplier_product(url="https://www.amazon.com/dp/B0TEST"))
    order_line = (listing.external_listing_id, f"AM-{listing.pk}", 1, "30.99", "Steel bottle")
    with respx.mock(assert_all_called=False) as api:
        api.route(host="127.0.0.1").pass_through()  # the live server itself
        spec_route(api, "GET", EBAY_ORDERS, status=200, json=ebay_orders_page(ebay_full_order("04-777", [order_line])))
        ship = ebay_ship_route(api, "04-777")
        store_orders_sync(store)

        page.goto(page.base + "/accounts/login/")
        page.fill("input[name=username]", store.user.email)
        page.fill("input[name=password]", "a-long-seller-password-2")
        page.click("form [type=submit]")
        page.wait_for_load_state()
        page.click("nav .nav-links >> text=Orders")
        page.wait_for_load_state("networkidle")
        assert BUYER_STREET not in page.content()
        page.click("text=04-777")
        page.wait_for_load_state("networkidle")
        assert BUYER_STREET in page.content()
        page.fill("#buy input[name=supplier_order_number]", "112-0000001")
        page.fill("#buy input[name=cost_item]", "18.00")
        page.click("#buy [type=submit]")
        page.wait_for_load_state("networkidle")
        page.fill("#ship input[name=carrier]", "USPS")
        page.fill("#ship input[name=tracking_number]", "9400111899223100012345")
        page.click("#ship [type=submit]")
        page.wait_for_load_state("networkidle")
        shoot(page, "30-order-shipped")
        assert "eBay accepted tracking number" in page.content()

    assert Order.objects.get(order_number="04-777").state == "shipped"
    assert json.loads(ship.calls[0].request.content)["trackingNumber"] == "9400111899223100012345"
    assert page.problems == []
