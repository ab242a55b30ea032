import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from monitoring.alerts import alert_settings_for
from monitoring.models import NotificationChannel
from monitoring.notifications import notification_deliver, notifications_queue
from monitoring.records import alert_raise
from monitoring.webhooks import webhook_secret_for, webhook_signature, webhook_verify

pytestmark = pytest.mark.django_db

SECRET = "whsec_test-secret"
BODY = b'{"event":"alert","id":7}'


# --- signature --------------------------------------------------------------------------------


def test_a_signature_verifies_with_the_same_secret_and_body():
    header = webhook_signature(SECRET, BODY, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert webhook_verify(SECRET, header, BODY, now=1_700_000_000)
    assert webhook_verify(SECRET, header, BODY.decode(), now=1_700_000_100)  # a str body is its UTF-8 bytes


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert webhook_signature(SECRET, BODY, timestamp=1_700_000_000) == f"t=1700000000,v1={expected}"


def test_a_tampered_body_or_another_secret_is_rejected():
    header = webhook_signature(SECRET, BODY, timestamp=1_700_000_000)
    assert not webhook_verify(SECRET, header, BODY.replace(b"7", b"8"), now=1_700_000_000)
    assert not webhook_verify("whsec_other", header, BODY, now=1_700_000_000)


@pytest.mark.parametrize("offset", [301, -301, 3600])
def test_a_timestamp_more_than_five_minutes_off_is_rejected(offset):
    header = webhook_signature(SECRET, BODY, timestamp=1_700_000_000)
    assert webhook_verify(SECRET, header, BODY, now=1_700_000_000 + 300)
    assert not webhook_verify(SECRET, header, BODY, now=1_700_000_000 + offset)


def test_the_tolerance_can_be_set_and_now_may_be_a_datetime():
    from datetime import UTC, datetime

    header = webhook_signature(SECRET, BODY, timestamp=1_700_000_000)
    assert not webhook_verify(SECRET, header, BODY, now=1_700_000_060, tolerance=30)
    assert webhook_verify(SECRET, header, BODY, now=datetime.fromtimestamp(1_700_000_010, tz=UTC))


@pytest.mark.parametrize(
    "header",
    ["", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000", "t=1700000000,v1=zz", "t=-5,v1=00", "t=1700000000,v1=é"],
)
def test_malformed_headers_are_rejected(header):
    assert webhook_verify(SECRET, header, BODY, now=1_700_000_000) is False


def test_any_of_several_v1_signatures_may_match():
    good = webhook_signature(SECRET, BODY, timestamp=1_700_000_000).split(",")[1]
    assert webhook_verify(SECRET, f"t=1700000000,v1={'0' * 64},{good}", BODY, now=1_700_000_000)


def test_the_snippet_in_the_docs_verifies_like_the_code():
    import re
    from pathlib import Path

    from django.conf import settings

    text = (Path(settings.BASE_DIR) / "README.md").read_text()
    code = re.search(r"#### Verifying in Python.*?```python\n(.*?)```", text, re.S).group(1)
    namespace = {}
    exec(code, namespace)  # the README's snippet, as a receiver would paste it
    snippet_verify = namespace["webhook_verify"]
    header = webhook_signature(SECRET, BODY, timestamp=1_700_000_000)
    assert snippet_verify(SECRET, header, BODY, now=1_700_000_200)
    assert not snippet_verify(SECRET, header, BODY + b" ", now=1_700_000_000)
    assert not snippet_verify(SECRET, header, BODY, now=1_700_000_301)
    assert not snippet_verify("whsec_other", header, BODY, now=1_700_000_000)


def test_the_sellers_secret_is_made_on_first_use_and_kept():
    seller = UserFactory()
    secret = webhook_secret_for(seller)
    assert secret.startswith("whsec_") and len(secret) > 40
    assert webhook_secret_for(seller) == secret
    assert alert_settings_for(seller).webhook_secret == secret


# --- delivery ---------------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
        time.sleep(self.server.delay)
        self.send_response(self.server.status)
        for name, value in self.server.headers.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received, server.status, server.delay, server.headers = [], 204, 0, {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def local_allowed(settings):
    settings.SCRAPER_ALLOWED_HOSTS = ["127.0.0.1"]


def _webhook_notification(seller, url):
    NotificationChannel.objects.create(user=seller, channel="webhook", address=url, min_severity="info")
    product = ProductFactory(title="Garden hose 30 m")
    alert, _ = alert_raise(
        user=seller,
        type="low_stock",
        subject=f"product:{product.pk}",
        severity="critical",
        message="Out of stock at the supplier.",
        data={"product_id": product.pk, "product_title": product.title, "path": f"/products/{product.pk}/"},
        product=product,
    )
    return notifications_queue(alerts=[alert])[0], alert


def test_a_webhook_is_a_signed_json_post_the_receiver_can_verify(receiver, local_allowed, caplog):
    seller = UserFactory()
    url = f"http://127.0.0.1:{receiver.server_port}/hooks/alerts"
    notification, alert = _webhook_notification(seller, url)
    caplog.set_level(logging.DEBUG)

    assert notification_deliver(notification_id=notification.pk).status == "sent"

    (request,) = receiver.received
    assert request["path"] == "/hooks/alerts"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Webhook-Id"] == str(notification.pk)
    secret = alert_settings_for(seller).webhook_secret
    assert webhook_verify(secret, request["headers"]["X-Signature"], request["body"])
    assert not webhook_verify(secret, request["headers"]["X-Signature"], request["body"] + b" ")
    payload = json.loads(request["body"])
    assert payload["id"] == notification.pk and payload["event"] == "alert"
    assert payload["alert"]["id"] == alert.pk and payload["alert"]["severity"] == "critical"
    assert payload["alert"]["data"]["product_title"] == "Garden hose 30 m"

    notification.refresh_from_db()
    assert notification.is_sent and notification.metadata["http_status"] == 204
    stored = " ".join([notification.body, notification.error or "", json.dumps(notification.metadata)])
    assert secret not in stored and secret not in caplog.text


def test_a_failing_receiver_is_retried_and_the_secret_stays_out_of_errors(receiver, local_allowed, caplog):
    receiver.status = 500
    seller = UserFactory()
    notification, _ = _webhook_notification(seller, f"http://127.0.0.1:{receiver.server_port}/hook")
    outcome = notification_deliver(notification_id=notification.pk)
    assert outcome.status == "retry" and outcome.retry_in >= 15
    notification.refresh_from_db()
    assert notification.error == "The webhook answered HTTP 500." and notification.attempts == 1
    secret = alert_settings_for(seller).webhook_secret
    assert secret not in caplog.text and secret not in notification.error


def test_a_slow_receiver_times_out_and_is_retried(receiver, local_allowed, settings):
    settings.WEBHOOK_TIMEOUT = 0.3
    receiver.delay = 1
    notification, _ = _webhook_notification(UserFactory(), f"http://127.0.0.1:{receiver.server_port}/hook")
    assert notification_deliver(notification_id=notification.pk).status == "retry"
    notification.refresh_from_db()
    assert notification.error == "The webhook did not answer within 0.3 s."


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hook",  # loopback, not allowed here
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.0.0.5/hook",
        "http://[::1]:{port}/hook",
        "file:///etc/passwd",
    ],
)
def test_a_private_loopback_or_metadata_target_is_refused_and_not_retried(receiver, url):
    url = url.format(port=receiver.server_port)
    notification, _ = _webhook_notification(UserFactory(), url)
    outcome = notification_deliver(notification_id=notification.pk)
    assert outcome.status == "failed"
    notification.refresh_from_db()
    assert notification.error.startswith("The webhook address is not allowed:")
    assert notification.attempts == 1 and notification.metadata["failed"] is True and not notification.is_sent
    assert notification_deliver(notification_id=notification.pk).status == "failed"
    assert receiver.received == []


def test_a_redirecting_receiver_is_not_followed(receiver, local_allowed):
    receiver.status, receiver.headers = 301, {"Location": "http://10.0.0.1/"}
    notification, _ = _webhook_notification(UserFactory(), f"http://127.0.0.1:{receiver.server_port}/hook")
    assert notification_deliver(notification_id=notification.pk).status == "failed"
    notification.refresh_from_db()
    assert len(receiver.received) == 1 and "redirect" in notification.error


def test_the_signature_header_goes_out_with_the_stored_body(receiver, local_allowed):
    seller = UserFactory()
    notification, _ = _webhook_notification(seller, f"http://127.0.0.1:{receiver.server_port}/hook")
    assert notification_deliver(notification_id=notification.pk).status == "sent"
    (request,) = receiver.received
    assert request["body"] == notification.body.encode()
    assert webhook_verify(webhook_secret_for(seller), request["headers"]["X-Signature"], request["body"])
