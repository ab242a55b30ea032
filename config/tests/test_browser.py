"""The real app in headless Chromium (Debian's package, driven by Playwright): sign up and confirm
the email, log in as the demo seller, open every seller page (the navigation, the working pages,
the account and security pages), then the admin as staff. Any server error or browser console
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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("supplier_families"),
]
SHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
NAVIGATION = ["Dashboard", "Products", "Listings", "Stores", "Alerts", "Jobs", "Settings"]


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
        page.base = live_server.url
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


def test_sign_up_then_browse_every_page_as_the_demo_seller(browser_page):
    page = browser_page
    call_command("seed_demo", stdout=io.StringIO())

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
        ["/products/import/", "/stores/connect/", "/notifications/settings/", "/activity/"], start=11
    ):
        visit(page, path, f"{number:02d}{path.replace('/', '-').rstrip('-')}")
    page.goto(page.base + "/products/")
    page.click("main table tbody a")
    page.click("text=List this product")
    page.wait_for_load_state("networkidle")
    assert "/listings/new/" in page.url
    shoot(page, "15-list-this-product")

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

    page.set_viewport_size({"width": 390, "height": 844})
    visit(page, "/", "20-dashboard-phone")
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
    page.goto(page.base + "/accounts/login/")
    page.fill("input[name=login]", "outage@example.com")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("form [type=submit]")
    page.wait_for_load_state()

    page.goto(f"{page.base}/products/{product.pk}/")
    page.click("text=Refresh now")
    page.wait_for_selector("#refresh-status .message-error", timeout=10000)

    assert BACKGROUND_UNAVAILABLE in page.inner_text("#refresh-status")
    assert page.locator("#htmx-error").is_hidden()  # shown in place, not as "something went wrong"
    shoot(page, "30-refresh-now-broker-down")
    # The 503 itself is the expected answer; nothing else went wrong.
    assert [problem for problem in page.problems if "503" not in problem] == []
