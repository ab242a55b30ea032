import base64
import json
from datetime import datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from monitoring import notifications
from monitoring.alerts import alert_settings_for
from monitoring.models import Alert, Job, JobStatus, Notification, NotificationChannel, NotificationType, Severity
from monitoring.notifications import (
    notification_deliver,
    notifications_queue,
    notifications_send_digests,
    notifications_sweep,
    notify_job_complete,
)
from monitoring.records import alert_raise
from monitoring.tasks import notification_deliver_task
from monitoring.tests.factories import JobFactory, NotificationFactory

pytestmark = pytest.mark.django_db

SID = "AC" + "0" * 32
TOKEN = "twilio-auth-token-secret"
TWILIO_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"


@pytest.fixture
def eager_retries():
    """Eager tasks run their retries in place instead of raising Retry to the caller."""
    from config.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


@pytest.fixture
def seller():
    return UserFactory(email="seller@example.com")


@pytest.fixture(autouse=True)
def _twilio(settings):
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_API_BASE = "https://api.twilio.com"
    settings.SITE_URL = "https://app.example.com"
    settings.NOTIFICATION_MAX_ATTEMPTS = 4


def _channel(user, channel="email", address=None, min_severity="warning", alert_types=(), is_active=True):
    address = address or {"email": user.email, "sms": "+14155550123", "webhook": "https://93.184.215.14/hook"}[channel]
    return NotificationChannel.objects.create(
        user=user,
        channel=channel,
        address=address,
        min_severity=min_severity,
        alert_types=list(alert_types),
        is_active=is_active,
    )


def _alert(user, type="low_stock", severity="warning", subject=None, **data):
    product = ProductFactory()
    alert, _ = alert_raise(
        user=user,
        type=type,
        subject=subject or f"product:{product.pk}",
        severity=severity,
        message=f"{type} on {product.title}",
        data={"product_id": product.pk, "product_title": product.title, "path": f"/products/{product.pk}/", **data},
        product=product,
    )
    return alert


# --- queueing ---------------------------------------------------------------------------------


def test_an_alert_gets_one_notification_per_matching_channel(seller):
    email = _channel(seller, "email", min_severity="info")
    _channel(seller, "sms", min_severity="critical")  # too high for a warning
    _channel(seller, "webhook", alert_types=["low_margin"])  # another type only
    _channel(seller, "email", address="off@example.com", is_active=False)
    alert = _alert(seller, "low_stock", "warning", stock=2)

    made = notifications_queue(alerts=[alert])
    assert len(made) == 1
    notification = made[0]
    assert notification.alert == alert and notification.user == seller
    assert notification.type == NotificationType.ALERT
    assert (notification.recipient, notification.address) == ("email", email.address)
    assert notification.subject == f"Warning: Low stock — {alert.data['product_title']}"
    assert alert.message in notification.body
    assert f"https://app.example.com/products/{alert.product_id}/" in notification.body


def test_channels_filter_by_severity_and_type(seller):
    _channel(seller, "sms", min_severity="critical")
    _channel(seller, "webhook", alert_types=["low_margin", "policy_trigger"], min_severity="info")
    critical_stock = _alert(seller, "low_stock", "critical")
    info_margin = _alert(seller, "low_margin", "info")
    warning_drop = _alert(seller, "price_drop", "warning")
    made = notifications_queue(alerts=[critical_stock, info_margin, warning_drop])
    assert {(n.alert_id, n.recipient) for n in made} == {(critical_stock.pk, "sms"), (info_margin.pk, "webhook")}


def test_policy_alerts_are_policy_trigger_notifications(seller):
    _channel(seller)
    alert = _alert(seller, "policy_trigger", subject="listing:1")
    assert notifications_queue(alerts=[alert])[0].type == NotificationType.POLICY_TRIGGER


def test_queueing_twice_makes_nothing_new(seller):
    _channel(seller)
    _channel(seller, "sms")
    alert = _alert(seller)
    assert len(notifications_queue(alerts=[alert])) == 2
    assert notifications_queue(alerts=[alert]) == []
    assert notifications_queue() == []
    assert Notification.objects.count() == 2


def test_an_alert_that_got_worse_is_notified_again(seller):
    _channel(seller, "email")
    _channel(seller, "sms", min_severity="critical")
    alert = _alert(seller, "low_stock", "warning", subject="product:5")
    assert [n.recipient for n in notifications_queue(alerts=[alert])] == ["email"]
    worse, created = alert_raise(
        user=seller, type="low_stock", subject="product:5", message="Out of stock", severity="critical"
    )
    assert not created
    assert sorted(n.recipient for n in notifications_queue(alerts=[worse])) == ["email", "sms"]
    assert notifications_queue(alerts=[worse]) == []


def test_without_alerts_given_the_recent_open_alerts_are_queued(seller):
    _channel(seller)
    recent = _alert(seller)
    old = _alert(seller)
    Alert.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    cleared = _alert(seller)
    Alert.objects.filter(pk=cleared.pk).update(cleared_at=timezone.now())
    assert [n.alert_id for n in notifications_queue()] == [recent.pk]


def test_cleared_alerts_and_digest_sellers_get_no_message(seller):
    _channel(seller)
    cleared = _alert(seller)
    Alert.objects.filter(pk=cleared.pk).update(cleared_at=timezone.now())
    digest_seller = UserFactory()
    _channel(digest_seller)
    alert_settings = alert_settings_for(digest_seller)
    alert_settings.daily_digest = True
    alert_settings.save()
    assert notifications_queue(alerts=[cleared, _alert(digest_seller)]) == []


def test_a_demo_sellers_notification_is_recorded_as_sent_and_mailed_to_no_one():
    demo = UserFactory(is_demo=True)
    _channel(demo, address="demo@example.com")

    [notification] = notifications_queue(alerts=[_alert(demo)])
    assert notification_deliver(notification_id=notification.pk).status == "sent"

    notification.refresh_from_db()
    assert notification.is_sent and notification.metadata["demo"] is True
    assert mail.outbox == []


def test_sms_bodies_are_short_with_a_link(seller):
    _channel(seller, "sms")
    alert = _alert(seller, "low_stock", "warning")
    Alert.objects.filter(pk=alert.pk).update(message="Only 2 left at the supplier. " * 40)
    alert.refresh_from_db()
    body = notifications_queue(alerts=[alert])[0].body
    assert len(body) <= notifications.SMS_MAX_LENGTH
    assert body.startswith("Warning: Only 2 left") and body.endswith(f"/products/{alert.product_id}/")


# --- digest -----------------------------------------------------------------------------------


@pytest.fixture
def digest_seller(seller):
    alert_settings = alert_settings_for(seller)
    alert_settings.daily_digest = True
    alert_settings.save()
    return seller


def test_the_daily_digest_lists_the_days_alerts_once_per_channel(digest_seller):
    _channel(digest_seller, "email", min_severity="info")
    _channel(digest_seller, "webhook", alert_types=["low_margin"])
    stock = _alert(digest_seller, "low_stock", "critical")
    margin = _alert(digest_seller, "low_margin", "warning", subject="listing:3")
    drop = _alert(digest_seller, "price_drop", "info")
    yesterday = _alert(digest_seller, "low_stock", "warning")
    Alert.objects.filter(pk=yesterday.pk).update(created_at=timezone.now() - timedelta(days=2))

    made = notifications_send_digests()
    by_channel = {n.recipient: n for n in made}
    assert set(by_channel) == {"email", "webhook"}
    email = by_channel["email"]
    assert email.type == NotificationType.REPORT and email.alert is None
    assert email.metadata["alert_ids"] == [stock.pk, margin.pk, drop.pk]
    assert email.subject == "Your daily alerts: 3 alerts (highest: Critical)"
    assert stock.message in email.body and drop.message in email.body and yesterday.message not in email.body
    payload = json.loads(by_channel["webhook"].body)
    assert payload["event"] == "report" and [a["id"] for a in payload["alerts"]] == [margin.pk]

    assert notifications_send_digests() == []


def test_no_alerts_no_digest(digest_seller):
    _channel(digest_seller)
    assert notifications_send_digests() == []


def test_the_next_digest_starts_where_the_last_one_ended(digest_seller):
    _channel(digest_seller)
    _alert(digest_seller)
    first = notifications_send_digests()[0]
    later = timezone.now() + timedelta(hours=22)
    newer = _alert(digest_seller)
    Alert.objects.filter(pk=newer.pk).update(created_at=timezone.now() + timedelta(hours=1))
    second = notifications_send_digests(now=later)
    assert second[0].metadata["alert_ids"] == [newer.pk]
    assert second[0].metadata["period_start"] == first.metadata["period_end"]


# --- delivery ---------------------------------------------------------------------------------


def test_queued_notifications_are_delivered_by_email_after_commit(seller, django_capture_on_commit_callbacks):
    _channel(seller)
    alert = _alert(seller)
    with django_capture_on_commit_callbacks(execute=True):
        notification = notifications_queue(alerts=[alert])[0]
    notification.refresh_from_db()
    assert notification.is_sent and notification.sent_at and notification.attempts == 1 and notification.error is None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [seller.email] and message.subject == notification.subject
    assert alert.message in message.body


def test_a_sent_notification_is_never_sent_twice(seller):
    notification = NotificationFactory(user=seller)
    assert notification_deliver(notification_id=notification.pk).status == "sent"
    assert notification_deliver(notification_id=notification.pk).status == "already_sent"
    notification_deliver_task.delay(notification.pk)
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.attempts == 1


def test_an_attempt_claimed_by_another_worker_is_not_sent_again(seller, monkeypatch):
    notification = NotificationFactory(user=seller)

    def other_worker_claims_first(_notification):
        raise AssertionError("must not send")

    # Another worker bumps the attempt between our read and our claim.
    real_filter = Notification.objects.filter

    def racing_filter(*args, **kwargs):
        if "attempts" in kwargs:
            Notification.objects.filter(pk=notification.pk).update(attempts=1)
        return real_filter(*args, **kwargs)

    monkeypatch.setitem(notifications.SENDERS, "email", other_worker_claims_first)
    monkeypatch.setattr(Notification.objects, "filter", racing_filter)
    assert notification_deliver(notification_id=notification.pk).status == "busy"


def _sms(seller, body="Critical: out of stock https://app.example.com/products/1/"):
    return NotificationFactory(user=seller, recipient="sms", address="+14155550123", body=body)


@respx.mock
def test_sms_goes_to_twilios_messages_resource_with_basic_auth_and_a_form(seller):
    route = respx.post(TWILIO_URL).respond(
        201, json={"sid": "SM" + "1" * 32, "status": "queued", "to": "+14155550123", "body": "…"}
    )
    notification = _sms(seller)
    assert notification_deliver(notification_id=notification.pk).status == "sent"

    request = route.calls.last.request
    assert request.method == "POST" and str(request.url) == TWILIO_URL
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "To": ["+14155550123"],
        "From": ["+15005550006"],
        "Body": [notification.body],
    }
    notification.refresh_from_db()
    assert notification.is_sent and notification.metadata["twilio_sid"] == "SM" + "1" * 32
    assert notification.metadata["twilio_status"] == "queued"


@respx.mock
def test_a_twilio_server_error_is_recorded_and_retried_with_growing_waits(seller):
    respx.post(TWILIO_URL).respond(
        503,
        json={
            "code": 20503,
            "message": "Service unavailable",
            "more_info": "https://www.twilio.com/docs/errors/20503",
            "status": 503,
        },
    )
    notification = _sms(seller)
    first = notification_deliver(notification_id=notification.pk)
    assert first.status == "retry" and 15 <= first.retry_in <= 30
    notification.refresh_from_db()
    assert notification.attempts == 1 and not notification.is_sent
    assert notification.error == "Twilio refused the message (HTTP 503, error 20503): Service unavailable"
    assert "next_attempt_at" in notification.metadata

    second = notification_deliver(notification_id=notification.pk)
    assert second.status == "retry" and 30 <= second.retry_in <= 60
    notification.refresh_from_db()
    assert notification.attempts == 2
    assert TOKEN not in (notification.error + json.dumps(notification.metadata))


@respx.mock
def test_twilios_retry_after_is_honoured(seller):
    respx.post(TWILIO_URL).respond(
        429, headers={"Retry-After": "42"}, json={"code": 20429, "message": "Too Many Requests"}
    )
    assert notification_deliver(notification_id=_sms(seller).pk).retry_in == 42


@respx.mock
def test_a_wait_too_long_for_a_countdown_is_kept_on_the_row_and_sent_by_the_sweep_when_due(
    seller, django_capture_on_commit_callbacks
):
    route = respx.post(TWILIO_URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "900"}, json={"code": 20429, "message": "Too Many Requests"}),
            httpx.Response(201, json={"sid": "SM1", "status": "queued"}),
        ]
    )
    notification = _sms(seller)

    assert notification_deliver_task.delay(notification.pk).get() == "retry"  # no countdown in the broker

    notification.refresh_from_db()
    assert route.call_count == 1 and not notification.is_sent
    assert notifications_sweep() == []  # not due yet
    due = datetime.fromisoformat(notification.metadata["next_attempt_at"])
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications_sweep(now=due + timedelta(seconds=1)) == [notification.pk]
    notification.refresh_from_db()
    assert route.call_count == 2 and notification.is_sent


@respx.mock
def test_a_number_twilio_refuses_fails_at_once(seller):
    route = respx.post(TWILIO_URL).respond(
        400,
        json={
            "code": 21211,
            "message": "The 'To' number +14155550123 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
    )
    notification = _sms(seller)
    assert notification_deliver_task.delay(notification.pk) is not None
    notification.refresh_from_db()
    assert route.call_count == 1 and notification.attempts == 1 and not notification.is_sent
    assert notification.error.startswith("Twilio refused the message (HTTP 400, error 21211)")
    assert notification.metadata["failed"] is True
    assert notification_deliver(notification_id=notification.pk).status == "failed"
    assert route.call_count == 1


@respx.mock
def test_the_task_retries_until_it_is_sent(seller, eager_retries):
    route = respx.post(TWILIO_URL)
    route.side_effect = [
        httpx.Response(500, json={"code": 20500, "message": "Internal Server Error"}),
        httpx.ConnectError("connection reset"),
        httpx.Response(201, json={"sid": "SM42", "status": "queued"}),
    ]
    notification = _sms(seller)
    notification_deliver_task.delay(notification.pk)
    notification.refresh_from_db()
    assert notification.is_sent and notification.attempts == 3 and notification.error is None
    assert route.call_count == 3


@respx.mock
def test_the_task_gives_up_after_the_maximum_attempts(seller, settings, eager_retries):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    route = respx.post(TWILIO_URL).respond(500, json={"code": 20500, "message": "Internal Server Error"})
    notification = _sms(seller)
    notification_deliver_task.delay(notification.pk)
    notification.refresh_from_db()
    assert route.call_count == 3 and notification.attempts == 3 and not notification.is_sent
    assert notification.error.endswith("(gave up after 3 attempts)")
    assert notification_deliver(notification_id=notification.pk).status == "failed"
    assert route.call_count == 3


def test_sms_without_twilio_settings_fails_with_a_clear_error(seller, settings):
    settings.TWILIO_ACCOUNT_SID = ""
    notification = _sms(seller)
    assert notification_deliver(notification_id=notification.pk).status == "failed"
    notification.refresh_from_db()
    assert notification.error == notifications.SMS_NOT_CONFIGURED


def test_a_mail_server_failure_is_retried(seller, monkeypatch):
    import smtplib

    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(notifications, "send_mail", refuse)
    notification = NotificationFactory(user=seller)
    outcome = notification_deliver(notification_id=notification.pk)
    assert outcome.status == "retry"
    notification.refresh_from_db()
    assert "SMTPServerDisconnected" in notification.error


def test_lost_deliveries_are_enqueued_again(seller, django_capture_on_commit_callbacks):
    never_picked = NotificationFactory(user=seller)
    waiting_retry = NotificationFactory(
        user=seller,
        attempts=1,
        metadata={"next_attempt_at": (timezone.now() + timedelta(minutes=5)).isoformat()},
    )
    overdue_retry = NotificationFactory(
        user=seller,
        attempts=1,
        metadata={"next_attempt_at": (timezone.now() - timedelta(hours=1)).isoformat()},
    )
    failed = NotificationFactory(user=seller, attempts=1, metadata={"failed": True})
    sent = NotificationFactory(user=seller, is_sent=True)
    brand_new = NotificationFactory(user=seller)
    old = timezone.now() - timedelta(minutes=30)
    Notification.objects.exclude(pk=brand_new.pk).update(created_at=old)

    with django_capture_on_commit_callbacks(execute=True):
        requeued = notifications_sweep()
    assert sorted(requeued) == sorted([never_picked.pk, overdue_retry.pk])
    assert not Notification.objects.filter(pk__in=[waiting_retry.pk, failed.pk, brand_new.pk], is_sent=True).exists()
    assert Notification.objects.filter(pk__in=requeued, is_sent=True).count() == 2
    assert Notification.objects.get(pk=sent.pk).attempts == 0


# --- job complete -----------------------------------------------------------------------------


def _finished_job(user, seconds=90, total=10, status=JobStatus.SUCCESS, **fields):
    now = timezone.now()
    return JobFactory(
        user=user,
        type="import_csv",
        status=status,
        started_at=now - timedelta(seconds=seconds),
        completed_at=now,
        progress_done=total,
        progress_total=total,
        **fields,
    )


def test_a_long_job_emails_its_seller_once(seller, django_capture_on_commit_callbacks):
    job = _finished_job(seller, seconds=135, total=120, result={"imported": 118, "skipped": 2})
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify_job_complete(job)
    assert notification.type == NotificationType.JOB_COMPLETE and notification.address == seller.email
    assert notification.subject == "CSV import finished: 120 of 120"
    assert "2 min 15 s" in notification.body and "Imported: 118" in notification.body
    assert f"https://app.example.com/jobs/{job.pk}/" in notification.body
    assert mail.outbox[0].to == [seller.email]
    assert notify_job_complete(job) is None
    assert Notification.objects.filter(type=NotificationType.JOB_COMPLETE).count() == 1


def test_a_job_with_many_items_counts_as_long(seller, settings):
    settings.JOB_NOTIFY_MIN_ITEMS = 100
    assert notify_job_complete(_finished_job(seller, seconds=5, total=100)) is not None


def test_a_failed_long_job_says_why(seller):
    job = _finished_job(seller, status=JobStatus.FAILED, error_message="Row 3: not a product URL")
    notification = notify_job_complete(job)
    assert notification.subject.startswith("CSV import failed") and "Row 3: not a product URL" in notification.body


@pytest.mark.parametrize(
    "change",
    [
        {"seconds": 5, "total": 3},  # short and small
        {"status": JobStatus.CANCELLED},
        {"status": JobStatus.RUNNING},
    ],
)
def test_short_cancelled_and_unfinished_jobs_send_nothing(seller, change):
    assert notify_job_complete(_finished_job(seller, **change)) is None


def test_system_jobs_send_nothing():
    job = JobFactory(user=None, status=JobStatus.SUCCESS, progress_total=500)
    Job.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(hours=1), completed_at=timezone.now())
    assert notify_job_complete(job) is None


def test_severity_rank_covers_every_severity():
    assert set(notifications.SEVERITY_RANK) == set(Severity.values)
