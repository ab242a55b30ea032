"""Order alerts (not bought in time; near or past the ship-by date), one per order, by each seller's
thresholds; and the buyer's name and address never reaching an alert, a notification, a webhook
or a log line."""

import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import respx
from django.core import mail
from django.utils import timezone

from marketplaces.models import OrderState
from marketplaces.tests.doubles import (
    BUYER_NAME,
    BUYER_STREET,
    EBAY_ORDERS,
    ebay_full_order,
    ebay_orders_page,
    ebay_store,
    isolated_cache,
    live_listing,
    supplier_product,
)
from marketplaces.tests.factories import OrderFactory, SaleFactory
from marketplaces.tests.spec import spec_route
from monitoring.alerts import alert_settings_for, alerts_for_orders
from monitoring.models import Alert, AlertType, NotificationChannel, Severity
from monitoring.notifications import notification_deliver, notifications_queue
from monitoring.tasks import order_alerts_check_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "order-alerts")


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def an_order(*, hours_ago=2, ship_in=None, state=OrderState.TO_BUY, store=None):
    now = timezone.now()
    order = OrderFactory(
        store_account=store or ebay_store(),
        state=state,
        ordered_at=now - timedelta(hours=hours_ago),
        ship_by=None if ship_in is None else now + ship_in,
    )
    order.ship_to = {"name": BUYER_NAME, "line1": BUYER_STREET}
    order.save(update_fields=["ship_to"])
    SaleFactory(order=order, title="Steel bottle")
    return order


def open_alerts(order, type=None):
    alerts = Alert.objects.open().filter(user=order.user, subject=f"order:{order.pk}")
    return alerts.filter(type=type) if type else alerts


def test_an_order_still_to_buy_after_the_sellers_hours_raises_a_warning():
    late = an_order(hours_ago=30)
    recent = an_order(hours_ago=3)
    thresholds = alert_settings_for(recent.user)
    thresholds.order_buy_hours = 2
    thresholds.save()

    raised = alerts_for_orders()

    assert {alert.subject for alert in raised} == {f"order:{late.pk}", f"order:{recent.pk}"}
    [alert] = open_alerts(late, AlertType.ORDER_NOT_BOUGHT)
    assert alert.severity == Severity.WARNING and late.order_number in alert.message
    assert alert.data["path"] == late.get_absolute_url() and alert.data["order_title"] == "Steel bottle"


def test_the_ship_by_date_warns_a_day_before_and_is_critical_after_one_alert_per_order():
    order = an_order(hours_ago=1, ship_in=timedelta(hours=20), state=OrderState.BOUGHT)

    alerts_for_orders()
    [warning] = open_alerts(order, AlertType.ORDER_NOT_SHIPPED)
    assert warning.severity == Severity.WARNING

    alerts_for_orders(now=timezone.now() + timedelta(hours=21))
    alerts_for_orders(now=timezone.now() + timedelta(hours=22))
    [critical] = open_alerts(order, AlertType.ORDER_NOT_SHIPPED)
    assert critical.pk == warning.pk and critical.severity == Severity.CRITICAL
    assert "past its ship-by date" in critical.message


def test_an_order_far_from_its_dates_raises_nothing():
    an_order(hours_ago=1, ship_in=timedelta(days=4))
    assert alerts_for_orders() == [] and not Alert.objects.exists()


def test_buying_clears_not_bought_and_shipping_clears_the_ship_by_alert():
    order = an_order(hours_ago=30, ship_in=timedelta(hours=-1))
    alerts_for_orders()
    assert open_alerts(order).count() == 2

    order.state = OrderState.BOUGHT
    order.save()
    alerts_for_orders()
    assert list(open_alerts(order).values_list("type", flat=True)) == [AlertType.ORDER_NOT_SHIPPED]

    order.state = OrderState.SHIPPED
    order.save()
    alerts_for_orders()
    assert not open_alerts(order).exists()


def test_the_periodic_task_notifies_new_order_alerts_by_email():
    order = an_order(hours_ago=30)
    NotificationChannel.objects.create(user=order.user, channel="email", address=order.user.email, min_severity="info")

    result = order_alerts_check_task.delay().get()

    assert result == {"alerts": 1, "notifications": 1}


def test_no_alert_notification_or_webhook_holds_the_buyers_name_or_address(settings, caplog):
    settings.SCRAPER_ALLOWED_HOSTS = ["127.0.0.1"]
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        caplog.set_level(logging.DEBUG)
        order = an_order(hours_ago=30, ship_in=timedelta(hours=-2))
        user = order.user
        for channel, address in (("email", user.email), ("webhook", f"http://127.0.0.1:{server.server_port}/h")):
            NotificationChannel.objects.create(user=user, channel=channel, address=address, min_severity="info")
        notifications = notifications_queue(alerts=alerts_for_orders())
        for notification in notifications:
            assert notification_deliver(notification_id=notification.pk).status == "sent"
    finally:
        server.shutdown()
        server.server_close()

    assert len(notifications) == 4 and len(received) == 2
    texts = [json.dumps(alert.data) + alert.message for alert in Alert.objects.all()]
    texts += [n.body + n.subject for n in notifications] + [m.body + m.subject for m in mail.outbox]
    texts += [body.decode() for body in received] + [caplog.text]
    for text in texts:
        assert BUYER_NAME not in text and BUYER_STREET not in text and order.buyer_username not in text


def test_importing_an_order_logs_no_name_or_address(api, caplog):
    store = ebay_store()
    listing = live_listing(store, supplier_product())
    order = ebay_full_order("04-9", [(listing.external_listing_id, f"AM-{listing.pk}", 1, "30.99", "Bottle")])
    spec_route(api, "GET", EBAY_ORDERS, status=200, json=ebay_orders_page(order))
    caplog.set_level(logging.DEBUG)

    from marketplaces.services import store_orders_sync

    store_orders_sync(store)

    assert BUYER_NAME not in caplog.text and BUYER_STREET not in caplog.text
