"""The seller's notifications: a test message per channel, and every delivery's history (sent,
failed with the last error, retrying), which only staff could see before."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.tests.factories import UserFactory
from monitoring.models import Notification, NotificationChannel
from monitoring.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db
HISTORY = reverse("monitoring:notification_list")
SETTINGS = reverse("monitoring:notification_settings")


def _channel(user, channel="email", address=None):
    address = address or {"email": user.email, "webhook": "https://10.0.0.5/hook"}[channel]
    return NotificationChannel.objects.create(user=user, channel=channel, address=address)


def _test(client, channel):
    return client.post(reverse("monitoring:notification_channel_test", args=[channel.pk]), follow=True)


def test_send_test_mails_the_channel_and_says_so(seller_client, user):
    channel = _channel(user, address="me@shop.example")
    assert (
        reverse("monitoring:notification_channel_test", args=[channel.pk])
        in seller_client.get(SETTINGS).content.decode()
    )

    response = _test(seller_client, channel)

    assert "Test sent to me@shop.example." in response.content.decode()
    [message] = mail.outbox
    assert message.to == ["me@shop.example"] and "test" in message.subject.lower()
    notification = Notification.objects.get(user=user)
    assert (notification.type, notification.is_sent) == ("test", True)


def test_a_test_that_cannot_be_delivered_says_why_and_shows_as_failed(seller_client, user):
    channel = _channel(user, "webhook")  # a private address: refused without retrying

    response = _test(seller_client, channel)

    page = response.content.decode()
    assert "The test to https://10.0.0.5/hook could not be sent: The webhook address is not allowed" in page
    history = seller_client.get(HISTORY).content.decode()
    assert "Failed" in history and "not allowed" in history


def test_a_demo_sellers_test_is_recorded_and_mailed_to_no_one(client):
    demo = UserFactory(is_demo=True)
    client.force_login(demo)

    response = _test(client, _channel(demo))

    assert "this is a demo account, so nothing is sent" in response.content.decode()
    assert mail.outbox == []


def test_another_sellers_channel_cannot_be_tested(seller_client, other_user):
    channel = _channel(other_user)

    assert seller_client.post(reverse("monitoring:notification_channel_test", args=[channel.pk])).status_code == 404
    assert not Notification.objects.exists()


def test_the_history_shows_each_delivery_in_words_and_only_the_sellers_own(seller_client, user, other_user):
    NotificationFactory(user=user, subject="Stock is back", is_sent=True)
    NotificationFactory(
        user=user, subject="Margin low", error="The webhook answered HTTP 500.", attempts=2, metadata={}
    )
    NotificationFactory(
        user=user, subject="Price drop", error="Twilio refused the message.", attempts=1, metadata={"failed": True}
    )
    NotificationFactory(user=other_user, subject="Not yours")

    page = seller_client.get(HISTORY).content.decode()
    failed_only = seller_client.get(HISTORY, {"show": "failed"}).content.decode()

    assert "Stock is back" in page and "Sent" in page
    assert "Retrying" in page and "attempt 2 of 5 failed: The webhook answered HTTP 500." in page
    assert "Twilio refused the message." in page
    assert "Not yours" not in page
    assert "Price drop" in failed_only and "Margin low" not in failed_only and "Stock is back" not in failed_only
    assert HISTORY in seller_client.get(SETTINGS).content.decode()


def test_the_daily_digest_checkbox_sits_in_its_label(seller_client):
    page = seller_client.get(SETTINGS).content.decode()

    label = page[page.index('<label for="id_daily_digest">') :]
    assert label.index('name="daily_digest"') < label.index("</label>")
