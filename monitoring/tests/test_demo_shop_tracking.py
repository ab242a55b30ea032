"""The demo tracks live, offline: seed_demo's demo-shop products are due every minute or two in
development, a scheduled round reads their pages from the app itself (a real HTTP server here,
as under `make run`), and a price change reaches the listing through the recording adapter, an
alert and a notification. In production the same data stays static."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from catalog import demo_shop
from catalog.models import Product
from catalog.services import products_due
from marketplaces.models import Listing, RecordedPush
from monitoring.demo import DEMO_EMAIL
from monitoring.models import Alert, AlertType, Job, Notification
from monitoring.tasks import tracking_cycle_start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("supplier_families")]
CLOCK = demo_shop.BY_SKU["MF-CLOCK-01"]


def _window_where_the_clock_drops() -> int:
    """A window in which the desk clock costs 0.80 of its price and cost 1.00 in the one before."""
    now = int(timezone.now().timestamp() // 120)
    for window in range(now, now + 12):
        before = demo_shop.item_state(CLOCK, window - 1).price
        if demo_shop.item_state(CLOCK, window).price == (before * Decimal("0.80")).quantize(Decimal("0.01")):
            return window
    raise AssertionError("the clock's timetable has no 20% drop")


@pytest.fixture
def shop(live_server, settings, monkeypatch):
    """The demo shop served by the live server at 127.0.0.1 (as `make run` serves it), its clock
    held in the middle of a window where the desk clock's price drops 20%."""
    port = live_server.url.rsplit(":", 1)[1]
    settings.DEMO_SHOP_ENABLED = True
    settings.DEMO_SHOP_URL = f"http://127.0.0.1:{port}/demo-shop/"
    settings.DEMO_SHOP_WINDOW = 120
    window = _window_where_the_clock_drops()
    monkeypatch.setattr(demo_shop, "clock", lambda: window * 120 + 30)
    return window


def _seed():
    call_command("seed_demo", stdout=io.StringIO())
    return User.objects.get(email=DEMO_EMAIL)


def test_a_price_change_at_the_demo_shop_reaches_the_listing_an_alert_and_a_notification(shop, settings):
    seller = _seed()
    clock = Product.objects.get(asin=CLOCK.sku)
    listing = Listing.objects.get(product=clock, user=seller)
    seeded_price, listed_at = clock.price, listing.price
    due = set(products_due(timezone.now() + timedelta(seconds=1)).values_list("asin", flat=True))
    assert due == {item.sku for item in demo_shop.ITEMS}  # the shop's products, none of the static demo's

    [job_id] = tracking_cycle_start()  # what beat runs every minute in development

    job = Job.objects.get(pk=job_id)
    assert job.status == "success", job.error_message
    assert job.result["products"] == len(demo_shop.ITEMS)
    clock.refresh_from_db()
    expected = demo_shop.item_state(CLOCK, shop).price
    assert clock.price == expected == (seeded_price * Decimal("0.80")).quantize(Decimal("0.01"))
    change = clock.price_history.latest("recorded_at")
    assert (change.old_price, change.new_price) == (seeded_price, expected)

    listing.refresh_from_db()
    assert listing.price < listed_at
    push = RecordedPush.objects.get(listing=listing)
    assert (push.operation, push.price) == ("update", listing.price)

    alert = Alert.objects.get(user=seller, type=AlertType.PRICE_DROP, subject=f"product:{clock.pk}")
    assert str(expected) in alert.message
    notification = Notification.objects.get(user=seller, alert=alert)
    assert notification.is_sent and notification.metadata["demo"] is True

    assert not products_due(timezone.now()).filter(asin__startswith="MF-").exists()  # just read
    later = timezone.now() + settings.DEMO_SHOP_REFRESH_INTERVAL + timedelta(seconds=1)
    assert products_due(later).filter(asin=CLOCK.sku).exists()  # due again within a minute


def test_the_listing_page_shows_the_recorded_pushes(shop, client):
    seller = _seed()
    tracking_cycle_start()
    listing = Listing.objects.get(product__asin=CLOCK.sku, user=seller)
    client.force_login(seller)

    page = client.get(listing.get_absolute_url()).content.decode()

    assert "Recorded pushes" in page
    assert f"{listing.price}" in page


def test_production_keeps_the_demo_static(shop, settings):
    _seed()
    settings.DJANGO_ENV = "production"
    settings.DEMO_SHOP_ENABLED = False

    assert not products_due(timezone.now() + timedelta(hours=2)).exists()
    assert tracking_cycle_start() == []
    assert not Job.objects.filter(user=None).exists()


def test_a_new_user_pastes_a_demo_shop_link_on_the_add_page(shop, client):
    seller = UserFactory()
    client.force_login(seller)
    item = demo_shop.BY_SKU["MF-OPENER-04"]

    response = client.post("/products/add/", {"links": demo_shop.product_url(item)})

    assert response.status_code == 302
    product = seller.tracked_products.get()
    assert (product.asin, product.title) == (item.sku, item.title)
    assert product.price == demo_shop.item_state(item, shop).price
    assert str(product.supplier) == demo_shop.SHOP_NAME
