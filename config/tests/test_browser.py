"""The real app in headless Chromium (Debian's package, driven by Playwright): sign up and confirm
the email, log in as the demo seller after a live tracking round against the demo shop, open
every seller page (the navigation, the working pages, the demo shop, the account and security
pages, the API's documentation) and use the list tools, then the admin as staff. Any server error or browser console
error fails the test, and with it any Content-Security-Policy violation (Chromium reports each in
the console, and the page's securitypolicyviolation events are collected too); a screenshot of
each page is saved under test-artifacts/screenshots/."""

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import connections

from catalog.fetching.browser import LAUNCH_FLAGS
from conftest import skip_or_fail
from monitoring.tasks import tracking_cycle_start

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
            lambda response: (
                response.status in (404, 500, 502, 503) and problems.append(f"HTTP {response.status} {response.url}")
            ),
        )
        # Every CSP violation, also the ones a page might not log: kept on window and read per page.
        page.add_init_script(CSP_LISTENER)
        page.problems = problems
        # At 127.0.0.1, the address the demo shop is served at (as under `make run`): its product
        # pictures are then from this very site, as the Content-Security-Policy wants.
        page.base = live_server.url.replace("localhost", "127.0.0.1")
        yield page
        # While Playwright's loop runs, the ORM's connections belong to its context (asgiref's
        # Local), not to the thread: close the ones the test opened there, or the test database
        # cannot be dropped at the end of the run.
        connections.close_all()
        browser.close()


CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = document.location.pathname;
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " at " + where);
});
"""


# Buttons and badges drawn outside the card that holds them (their box past the card's edges).
OUTSIDE_THEIR_CARD = """(selector) => {
  const outside = [];
  for (const card of document.querySelectorAll(selector)) {
    const edge = card.getBoundingClientRect();
    for (const item of card.querySelectorAll("button, .badge, [role=button]")) {
      const box = item.getBoundingClientRect();
      if (box.width && (box.right > edge.right + 1 || box.left < edge.left - 1)) {
        outside.push(selector + ": " + item.textContent.trim());
      }
    }
  }
  return outside;
}"""


def shoot(page, name: str):
    """Screenshot the page, after collecting the CSP violations it saw."""
    violations = page.evaluate("window.__cspViolations || []")
    page.problems.extend(f"CSP: {violation}" for violation in violations)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def visit(page, path: str, name: str):
    page.goto(page.base + path)
    page.wait_for_load_state("networkidle")
    shoot(page, name)


def log_in(page, email: str, password: str):
    page.goto(page.base + "/accounts/login/")
    shoot(page, "00-login")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("main form [type=submit]")
    page.wait_for_load_state()


def test_sign_up_then_browse_every_page_as_the_demo_seller(browser_page, settings):
    page = browser_page
    settings.DEMO_SHOP_ENABLED = True
    settings.DEMO_SHOP_URL = page.base + "/demo-shop/"
    call_command("seed_demo", stdout=io.StringIO())
    assert tracking_cycle_start()  # a live round: prices move, listings follow, alerts, pushes

    page.goto(page.base + "/accounts/signup/")
    shoot(page, "00-signup")
    page.fill("input[name=email]", "new.seller@example.com")
    page.fill("input[name=password1]", "a-long-new-password-1")
    page.fill("input[name=password2]", "a-long-new-password-1")
    page.click("main form [type=submit]")
    page.wait_for_load_state()
    assert "/accounts/confirm-email/" in page.url, page.content()[:500]
    shoot(page, "00-confirm-your-email")
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", mail.outbox[-1].body).group(1)
    page.goto(page.base + link)
    shoot(page, "00-confirm-link")
    page.click("main form [type=submit]")
    page.wait_for_load_state()
    assert "/accounts/" not in page.url, page.content()[:500]
    shoot(page, "00-after-signup")
    page.click("nav .nav-user [type=submit]")  # log out
    page.wait_for_load_state()

    log_in(page, "demo@example.com", "demo-seller-password")
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
        [
            "/products/import/",
            "/stores/connect/",
            "/notifications/settings/",
            "/notifications/",
            "/activity/",
            "/listings/new/",
            "/demo-shop/",
            "/demo-shop/products/walnut-desk-clock/",
        ],
        start=11,
    ):
        visit(page, path, f"{number:02d}{path.replace('/', '-').rstrip('-')}")
    page.goto(page.base + "/products/")
    page.click("main table tbody a")
    page.click("text=List this product")
    page.wait_for_load_state("networkidle")
    assert "/listings/new/" in page.url
    shoot(page, "19-list-this-product")

    # The list tools: select all, several alerts at once, a test message, one marketplace's panel.
    page.goto(page.base + "/listings/")
    page.check("input[data-select-all=ids]")
    assert page.locator("input[name=ids]:checked").count() == page.locator("input[name=ids]").count() > 0
    page.click("main table tbody a:has-text('Walnut Desk Clock')")
    page.wait_for_load_state("networkidle")
    assert page.locator("#recorded-pushes tbody tr").count() >= 1  # the round's push, recorded
    shoot(page, "21-listing-with-pushes")
    page.goto(page.base + "/alerts/")
    page.click("button[value=read_all]")
    page.wait_for_load_state("networkidle")
    assert page.locator("text=as read.").count() == 1
    shoot(page, "22-alerts-all-read")
    page.goto(page.base + "/notifications/settings/")
    page.click("#channel-list button:has-text('Send test')")
    page.wait_for_load_state("networkidle")
    assert page.locator("text=Test recorded for demo@example.com").count() == 1
    page.goto(page.base + "/stores/connect/")
    page.click("label:has(input[name=marketplace][value=shopify])")
    assert page.locator("#connect-shopify").is_visible() and not page.locator("#connect-ebay").is_visible()
    shoot(page, "23-connect-shopify")

    # The account and security pages, with "confirm it's you" on the way.
    for number, path in enumerate(
        [
            "/accounts/email/",
            "/accounts/password/change/",
            "/accounts/2fa/",
            "/accounts/sessions/",
            "/activity/?resource_type=user",
            "/accounts/delete/",
        ],
        start=30,
    ):
        visit(page, path, f"{number:02d}{path.split('?')[0].replace('/', '-').rstrip('-')}")
    page.goto(page.base + "/accounts/2fa/totp/activate/")
    assert "/accounts/reauthenticate/" in page.url
    shoot(page, "40-confirm-its-you")
    page.fill("input[name=password]", "demo-seller-password")
    page.click("main form [type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/accounts/2fa/totp/activate/" in page.url
    assert page.locator(".totp-qr img").evaluate("img => img.naturalWidth") > 0  # the QR code is drawn
    shoot(page, "41-turn-on-two-factor")

    # The seller API's documentation: Swagger UI from our origin, under the same CSP.
    page.goto(page.base + "/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30000)
    assert page.locator(".swagger-ui .opblock").count() > 20  # every operation drawn from the schema
    shoot(page, "45-api-docs")

    for width in (1280, 390):  # a wide screen, then a phone
        page.set_viewport_size({"width": width, "height": 844})
        visit(page, "/", f"24-dashboard-{width}")
        assert page.evaluate(OUTSIDE_THEIR_CARD, "#at-risk") == []
        visit(page, "/notifications/settings/", f"25-notifications-{width}")
        assert page.evaluate(OUTSIDE_THEIR_CARD, "#channels") == []
    assert page.problems == []


def test_staff_use_the_admin_under_the_same_policy(browser_page, django_user_model):
    page = browser_page
    django_user_model.objects.create_superuser("staff@example.com", "a-long-staff-password-1")
    from accounts.services import user_email_mark_verified

    user_email_mark_verified(user=django_user_model.objects.get(email="staff@example.com"))
    seller = django_user_model.objects.create_user("seller@example.com", "a-long-seller-password-1")

    page.goto(page.base + "/admin/")
    assert "/accounts/login/" in page.url  # the admin logs in through allauth (and its second factor)
    page.fill("input[name=login]", "staff@example.com")
    page.fill("input[name=password]", "a-long-staff-password-1")
    page.click("main form [type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.rstrip("/").endswith("/admin"), page.url
    shoot(page, "50-admin")
    for number, path in enumerate(
        [
            "/admin/accounts/user/",
            f"/admin/accounts/user/{seller.pk}/change/",  # filter_horizontal and date widgets (admin JS)
            "/admin/accounts/user/add/",
            "/admin/catalog/product/",
            "/admin/django_celery_beat/periodictask/add/",
        ],
        start=51,
    ):
        visit(page, path, f"{number:02d}-admin{path.replace('/admin', '').replace('/', '-').rstrip('-')}")
    assert page.problems == []


def test_refresh_now_with_the_broker_down_shows_the_message_in_place(browser_page, broker_down):
    from accounts.tests.factories import UserFactory
    from catalog.tests.factories import ProductFactory
    from monitoring.records import BACKGROUND_UNAVAILABLE

    page = browser_page
    seller = UserFactory(email="outage@example.com")
    product = ProductFactory(title="Blue kettle", images=[])  # no picture from a host this machine cannot reach
    seller.tracked_products.add(product)
    log_in(page, "outage@example.com", "correct-horse-battery")

    page.goto(f"{page.base}/products/{product.pk}/")
    page.click("text=Refresh now")
    page.wait_for_selector("#refresh-status .message-error", timeout=10000)

    assert BACKGROUND_UNAVAILABLE in page.inner_text("#refresh-status")
    assert page.locator("#htmx-error").is_hidden()  # shown in place, not as "something went wrong"
    shoot(page, "30-refresh-now-broker-down")
    # The 503 itself is the expected answer; nothing else went wrong.
    assert [problem for problem in page.problems if "503" not in problem] == []


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

        log_in(page, store.user.email, "a-long-seller-password-2")
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
