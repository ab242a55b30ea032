"""The alerts page: several alerts at once (select, mark read, acknowledge, mark all read),
sorting by severity, type or time, and times in words."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Alert
from monitoring.tests.factories import AlertFactory

pytestmark = pytest.mark.django_db
LIST = reverse("monitoring:alert_list")
BULK = reverse("monitoring:alert_bulk")


def test_the_selected_alerts_are_marked_read_and_the_message_counts_them(seller_client, user, other_user):
    first, second, untouched = AlertFactory.create_batch(3, user=user)
    theirs = AlertFactory(user=other_user)

    response = seller_client.post(
        BULK, {"action": "read", "ids": [first.pk, second.pk, theirs.pk], "next": LIST + "?show=all"}, follow=True
    )

    assert response.redirect_chain[-1][0] == LIST + "?show=all"
    assert "Marked 2 alerts as read." in response.content.decode()
    assert set(Alert.objects.filter(is_read=True).values_list("pk", flat=True)) == {first.pk, second.pk}
    theirs.refresh_from_db()
    assert not theirs.is_read


def test_one_selected_alert_is_acknowledged_in_the_singular(seller_client, user):
    alert = AlertFactory(user=user)

    response = seller_client.post(BULK, {"action": "acknowledge", "ids": [alert.pk]}, follow=True)

    alert.refresh_from_db()
    assert alert.is_read and alert.acknowledged_at is not None and alert.cleared_at is None
    assert "Acknowledged 1 alert." in response.content.decode()


def test_mark_all_read_reads_every_unread_alert_of_the_seller_only(seller_client, user, other_user):
    AlertFactory.create_batch(3, user=user)
    theirs = AlertFactory(user=other_user)
    page = seller_client.get(LIST).content.decode()
    assert "Mark all 3 as read" in page and 'data-select-all="ids"' in page

    response = seller_client.post(BULK, {"action": "read_all"}, follow=True)

    assert "Marked 3 alerts as read." in response.content.decode()
    assert not user.alerts.filter(is_read=False).exists()
    assert not Alert.objects.get(pk=theirs.pk).is_read


def test_nothing_selected_is_said_and_changes_nothing(seller_client, user):
    alert = AlertFactory(user=user)

    response = seller_client.post(BULK, {"action": "read"}, follow=True)

    assert "Select at least one alert first." in response.content.decode()
    alert.refresh_from_db()
    assert not alert.is_read


def test_alerts_sort_by_severity_and_by_type(seller_client, user):
    AlertFactory(user=user, severity="info", type="price_drop", message="An info alert")
    AlertFactory(user=user, severity="critical", type="low_stock", message="A critical alert")
    AlertFactory(user=user, severity="warning", type="low_margin", message="A warning alert")

    by_severity = seller_client.get(LIST, {"ordering": "-severity"}).content.decode()
    by_type = seller_client.get(LIST, {"ordering": "type"}).content.decode()

    assert (
        by_severity.index("A critical alert")
        < by_severity.index("A warning alert")
        < by_severity.index("An info alert")
    )
    assert by_type.index("A warning alert") < by_type.index("A critical alert") < by_type.index("An info alert")


def test_an_alert_raised_seconds_ago_reads_just_now(seller_client, user):
    AlertFactory(user=user, message="Fresh")
    older = AlertFactory(user=user, message="Older")
    Alert.objects.filter(pk=older.pk).update(created_at=timezone.now() - datetime.timedelta(hours=3, minutes=5))

    page = seller_client.get(LIST).content.decode()

    assert "just now" in page and "3\xa0hours ago" in page and "0\xa0minutes" not in page
