"""Notifications: turning alerts (and finished long jobs) into messages, and delivering them.

A seller's NotificationChannel rows say where messages go (email, SMS through Twilio, a signed
webhook), from which severity on and for which alert types. `notifications_queue` makes one
Notification per matching channel for each alert not yet notified (idempotent), unless the seller
asked for the daily digest (`notifications_send_digests`). Delivery is a Celery task per
Notification (`monitoring.tasks.notification_deliver_task` → `notification_deliver`): one attempt
at a time, counted on the row, retried with exponential backoff up to NOTIFICATION_MAX_ATTEMPTS;
an error is recorded on the row; a sent notification is never sent again. A demo seller's
notifications are made like anyone's but delivered to no one (their addresses are made up): they
are recorded as sent, marked `demo` in their metadata, and show in the seller's delivery history.
"""

import json
import logging
import smtplib
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from catalog import netsafety

from .alerts import SEVERITY_RANK
from .job_results import result_view
from .models import (
    Alert,
    AlertSettings,
    AlertType,
    Channel,
    Job,
    JobStatus,
    Notification,
    NotificationChannel,
    NotificationType,
    Severity,
)
from .records import RETRY_BACKOFF_CAP, retry_backoff, task_enqueue
from .webhooks import webhook_post, webhook_secret_for

logger = logging.getLogger(__name__)

SMS_MAX_LENGTH = 480  # three SMS segments; Twilio takes up to 1600 characters
DIGEST_MIN_GAP = timedelta(hours=20)  # a channel gets at most one digest in this time
SWEEP_GRACE = timedelta(minutes=10)  # a delivery this late is taken as lost and enqueued again
SWEEP_HORIZON = timedelta(days=2)  # older undelivered notifications are left alone

SMS_NOT_CONFIGURED = (
    "Text messages are not set up on this site (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER)."
)
SMS_UNREACHABLE = "Twilio could not be reached: {error}"
SMS_REFUSED = "Twilio refused the message (HTTP {status}, error {code}): {message}"
SMS_FAILED_STATUS = "Twilio reports the message as {status}."
EMAIL_REFUSED = "The mail server refused the address: {error}"
EMAIL_FAILED = "The email could not be sent: {error}"
WEBHOOK_REFUSED = "The webhook address is not allowed: {reason}. Use a public address."
WEBHOOK_UNRESOLVABLE = "The webhook host {host} could not be resolved."
WEBHOOK_TIMED_OUT = "The webhook did not answer within {seconds:g} s."
WEBHOOK_UNREACHABLE = "The webhook could not be reached: {error}"
WEBHOOK_REDIRECT = "The webhook answered with a redirect (HTTP {status}); enter the address it redirects to."
WEBHOOK_STATUS = "The webhook answered HTTP {status}."
UNEXPECTED_ERROR = "Unexpected error while sending: {error}"
GAVE_UP = "{error} (gave up after {attempts} attempts)"
INVALID_CHANNEL = "Unknown channel."


class DeliveryError(Exception):
    """A notification could not be delivered; `retryable` says whether trying later can help."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery attempt did: sent | already_sent | retry | failed | busy | missing."""

    status: str
    retry_in: int | None = None  # seconds until the next attempt, when status is "retry"
    error: str = ""


# --- Channels ---------------------------------------------------------------------------------


def channel_matches(channel: NotificationChannel, alert: Alert) -> bool:
    """The channel wants this alert: active, severity at or above its minimum, type in its filter."""
    if not channel.is_active or channel.user_id != alert.user_id:
        return False
    if SEVERITY_RANK[alert.severity] < SEVERITY_RANK[channel.min_severity]:
        return False
    return not channel.alert_types or alert.type in channel.alert_types


# --- Composing messages -----------------------------------------------------------------------


def absolute_url(path: str | None) -> str:
    """A site path as a link a person can open from an email or a text message."""
    if not path:
        return ""
    return settings.SITE_URL.rstrip("/") + path


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _alert_title(alert: Alert) -> str:
    data = alert.data or {}
    return (
        data.get("listing_title")
        or data.get("product_title")
        or (f"Order {data['order_number']}" if data.get("order_number") else "")
        or data.get("store_name")
        or alert.subject
    )


def alert_subject_line(alert: Alert) -> str:
    return _one_line(f"{alert.get_severity_display()}: {alert.get_type_display()} — {_alert_title(alert)}", 200)


def _detail_lines(alert: Alert) -> list[str]:
    data = alert.data or {}
    lines = []
    if data.get("product_title"):
        lines.append(f"Product: {data['product_title']}")
    if data.get("listing_title"):
        lines.append(f"Listing: {data['listing_title']} ({data.get('store_name', '')}, {data.get('marketplace', '')})")
    if data.get("order_number"):
        lines.append(f"Order: {data['order_number']} — {data.get('order_title') or ''}".rstrip(" —"))
    if data.get("store_name") and not data.get("listing_title"):
        lines.append(f"Store: {data['store_name']} ({data.get('marketplace', '')})")
    if data.get("old_price") or data.get("new_price"):
        label = "Supplier price" if alert.type == AlertType.PRICE_DROP else "Listing price"
        lines.append(
            f"{label}: {data.get('old_price') or '—'} → {data.get('new_price') or '—'} {data.get('currency', '')}"
        )
    if data.get("supplier_price") and alert.type != AlertType.PRICE_DROP:
        lines.append(f"Supplier price: {data['supplier_price']} {data.get('supplier_currency', '')}")
    if data.get("margin_percent") is not None and "min_margin_percent" in data:
        lines.append(f"Margin: {data['margin_percent']}% (your minimum {data['min_margin_percent']}%)")
    elif data.get("margin_percent") is not None:
        lines.append(f"Margin: {data['margin_percent']}%")
    if "availability" in data:
        stock = "—" if data.get("stock") is None else data["stock"]
        lines.append(f"Supplier stock: {stock} ({data['availability'].replace('_', ' ')})")
    if data.get("old_quantity") is not None and data.get("new_quantity") not in (None, data["old_quantity"]):
        lines.append(f"Quantity: {data['old_quantity']} → {data['new_quantity']}")
    if data.get("old_status") and data.get("new_status") and data["old_status"] != data["new_status"]:
        lines.append(f"Status: {data['old_status']} → {data['new_status']}")
    if data.get("seller_email"):
        lines.append(f"Seller: {data['seller_email']}")
    if data.get("latest_error"):
        lines.append(f"Latest error: {data['latest_error']}")
    if data.get("path"):
        lines.append(f"Open: {absolute_url(data['path'])}")
    if data.get("supplier_url"):
        lines.append(f"Supplier page: {data['supplier_url']}")
    return lines


def alert_text(alert: Alert) -> str:
    """The plain-text body of an alert email."""
    return "\n".join([alert.message, "", *_detail_lines(alert)])


def _sms_text(alert: Alert) -> str:
    link = absolute_url((alert.data or {}).get("path"))
    text = _one_line(f"{alert.get_severity_display()}: {alert.message}", SMS_MAX_LENGTH - len(link) - 1)
    return f"{text} {link}".strip()


def _alert_payload(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "type": alert.type,
        "severity": alert.severity,
        "subject": alert.subject,
        "message": alert.message,
        "data": alert.data,
        "created_at": alert.created_at.isoformat() if alert.created_at else None,
        "cleared_at": alert.cleared_at.isoformat() if alert.cleared_at else None,
        "url": absolute_url((alert.data or {}).get("path")),
    }


def _webhook_body(notification: Notification, event: str, **fields) -> str:
    """The JSON document POSTed, stored as the Notification's body so every retry sends the same bytes."""
    document = {"id": notification.pk, "event": event, "created_at": notification.created_at.isoformat(), **fields}
    return json.dumps(document, separators=(",", ":"), sort_keys=True, default=str)


def _enqueue(notifications) -> None:
    """Deliver after commit; with the broker down they wait for notifications_sweep."""
    from .tasks import notification_deliver_task

    for notification in notifications:
        transaction.on_commit(lambda pk=notification.pk: task_enqueue(notification_deliver_task, pk))


# --- Queueing alerts --------------------------------------------------------------------------


def _notified_rank(notifications) -> dict[int, int]:
    """Per alert, the highest severity a message was already made for (escalations notify again)."""
    ranks: dict[int, int] = {}
    for alert_id, metadata in notifications:
        severity = (metadata or {}).get("severity")
        rank = SEVERITY_RANK.get(severity, SEVERITY_RANK[Severity.CRITICAL])
        ranks[alert_id] = max(ranks.get(alert_id, -1), rank)
    return ranks


def _alert_notification(alert: Alert, channel: NotificationChannel) -> Notification:
    kind = NotificationType.POLICY_TRIGGER if alert.type == AlertType.POLICY_TRIGGER else NotificationType.ALERT
    subject = alert_subject_line(alert)
    body = _sms_text(alert) if channel.channel == Channel.SMS else alert_text(alert)
    notification = Notification.objects.create(
        user=alert.user,
        alert=alert,
        type=kind,
        recipient=channel.channel,
        address=channel.address,
        subject=subject,
        body=body,
        metadata={"alert_id": alert.pk, "severity": alert.severity, "channel_id": channel.pk},
    )
    if channel.channel == Channel.WEBHOOK:
        notification.body = _webhook_body(notification, kind, alert=_alert_payload(alert))
        notification.save(update_fields=["body"])
    return notification


def notifications_queue(*, alerts=None, now=None) -> list[Notification]:
    """Make the Notifications for new alerts and enqueue their delivery after commit.

    `alerts`: the alerts the rules just raised (any iterable of Alert; cleared ones are skipped);
    None = every open alert raised within NOTIFICATION_QUEUE_WINDOW. An alert gets one Notification
    per matching channel of its user, once: running this again makes nothing new, except that an
    alert whose severity rose since it was notified is notified again. Sellers on the daily digest
    and inactive users get none here. Returns the Notifications made.
    """
    now = now or timezone.now()
    if alerts is None:
        ids = list(
            Alert.objects.open()
            .filter(created_at__gte=now - settings.NOTIFICATION_QUEUE_WINDOW)
            .values_list("pk", flat=True)
        )
    else:
        ids = [alert.pk for alert in alerts]
    if not ids:
        return []
    made: list[Notification] = []
    with transaction.atomic():
        # Locked (PostgreSQL) so two workers queueing the same alerts make one set of messages.
        locked = list(Alert.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
        fresh = list(
            Alert.objects.filter(pk__in=locked, cleared_at__isnull=True)
            .select_related("user", "product", "listing")
            .order_by("pk")
        )
        user_ids = {alert.user_id for alert in fresh}
        digest_users = set(
            AlertSettings.objects.filter(user_id__in=user_ids, daily_digest=True).values_list("user_id", flat=True)
        )
        channels: dict[int, list[NotificationChannel]] = {}
        for channel in NotificationChannel.objects.filter(user_id__in=user_ids, is_active=True).order_by("pk"):
            channels.setdefault(channel.user_id, []).append(channel)
        notified = _notified_rank(
            Notification.objects.filter(alert_id__in=[alert.pk for alert in fresh]).values_list("alert_id", "metadata")
        )
        for alert in fresh:
            user = alert.user
            if not user.is_active or user.pk in digest_users:
                continue
            if notified.get(alert.pk, -1) >= SEVERITY_RANK[alert.severity]:
                continue
            for channel in channels.get(user.pk, []):
                if channel_matches(channel, alert):
                    made.append(_alert_notification(alert, channel))
        _enqueue(made)
    return made


# --- Daily digest -----------------------------------------------------------------------------


def _digest_since(channel: NotificationChannel, now) -> datetime:
    last = (
        Notification.objects.filter(
            user_id=channel.user_id, type=NotificationType.REPORT, recipient=channel.channel, address=channel.address
        )
        .order_by("-created_at")
        .first()
    )
    fallback = now - timedelta(days=1)
    try:
        since = datetime.fromisoformat(last.metadata["period_end"]) if last else None
    except (KeyError, TypeError, ValueError):
        since = None
    return since if since and fallback - timedelta(days=1) < since < now else fallback


def _digest_notification(channel: NotificationChannel, alerts: list[Alert], since, now) -> Notification:
    count = len(alerts)
    worst = max(alerts, key=lambda alert: SEVERITY_RANK[alert.severity]).get_severity_display()
    subject = f"Your daily alerts: {count} alert{'s' if count != 1 else ''} (highest: {worst})"
    if channel.channel == Channel.SMS:
        body = _one_line(f"{subject}. {absolute_url('/alerts/')}", SMS_MAX_LENGTH)
    else:
        parts = [f"{count} alert{'s' if count != 1 else ''} since {since:%Y-%m-%d %H:%M} UTC:", ""]
        for alert in alerts:
            cleared = " (cleared since)" if alert.cleared_at else ""
            parts.append(f"- {alert_subject_line(alert)}{cleared}")
            parts.append(f"  {alert.message}")
            path = (alert.data or {}).get("path")
            if path:
                parts.append(f"  {absolute_url(path)}")
        body = "\n".join(parts)
    notification = Notification.objects.create(
        user=channel.user,
        type=NotificationType.REPORT,
        recipient=channel.channel,
        address=channel.address,
        subject=subject,
        body=body,
        metadata={
            "digest": True,
            "alert_ids": [alert.pk for alert in alerts],
            "period_start": since.isoformat(),
            "period_end": now.isoformat(),
            "channel_id": channel.pk,
        },
    )
    if channel.channel == Channel.WEBHOOK:
        notification.body = _webhook_body(
            notification,
            NotificationType.REPORT,
            period={"start": since.isoformat(), "end": now.isoformat()},
            alerts=[_alert_payload(alert) for alert in alerts],
        )
        notification.save(update_fields=["body"])
    return notification


@transaction.atomic
def notifications_send_digests(*, now=None) -> list[Notification]:
    """Daily: one "report" Notification per channel of each digest seller, listing the day's alerts.

    The day is the time since the channel's previous digest (at most two days back; a day for the
    first one). A channel with no matching alerts gets nothing; a channel that had a digest in the
    last 20 hours is skipped, so running this twice sends one digest.
    """
    now = now or timezone.now()
    user_ids = AlertSettings.objects.filter(daily_digest=True, user__is_active=True, user__is_demo=False).values_list(
        "user_id", flat=True
    )
    made: list[Notification] = []
    for channel in NotificationChannel.objects.filter(user_id__in=user_ids, is_active=True).select_related("user"):
        recent = Notification.objects.filter(
            user_id=channel.user_id,
            type=NotificationType.REPORT,
            recipient=channel.channel,
            address=channel.address,
            created_at__gt=now - DIGEST_MIN_GAP,
        )
        if recent.exists():
            continue
        since = _digest_since(channel, now)
        alerts = [
            alert
            for alert in Alert.objects.filter(user_id=channel.user_id, created_at__gte=since, created_at__lt=now)
            .select_related("user")
            .order_by("created_at", "pk")
            if channel_matches(channel, alert)
        ]
        if alerts:
            made.append(_digest_notification(channel, alerts, since, now))
    _enqueue(made)
    return made


# --- Finished long jobs -----------------------------------------------------------------------


def _duration_text(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _in_sentence(label: str) -> str:
    """ "Tracking round" → "tracking round" inside a sentence; "CSV import" and "eBay sync" stay."""
    return label if label[1:2].isupper() or label[:1].islower() else label[:1].lower() + label[1:]


@transaction.atomic
def notify_job_complete(job, *, now=None) -> Notification | None:
    """Email the job's seller that a long job finished (type job_complete), once per job.

    Long = ran at least JOB_NOTIFY_MIN_SECONDS or handled at least JOB_NOTIFY_MIN_ITEMS items.
    Nothing for system jobs (no user), cancelled or unfinished jobs, inactive sellers.
    Call it when a job a person started and waits for (CSV import, bulk listing) finishes.
    """
    now = now or timezone.now()
    job = Job.objects.select_for_update(of=("self",)).select_related("user").filter(pk=job.pk).first()
    if job is None or job.user is None or job.status not in (JobStatus.SUCCESS, JobStatus.FAILED):
        return None
    user = job.user
    if not user.is_active or not user.email:
        return None
    seconds = ((job.completed_at or now) - job.started_at).total_seconds() if job.started_at else 0
    items = max(job.progress_total, job.progress_done)
    if seconds < settings.JOB_NOTIFY_MIN_SECONDS and items < settings.JOB_NOTIFY_MIN_ITEMS:
        return None
    if Notification.objects.filter(user=user, type=NotificationType.JOB_COMPLETE, metadata__job_id=job.pk).exists():
        return None
    label = job.type_label
    if job.status == JobStatus.SUCCESS:
        subject = f"{label} finished"
        first = f"Your {_in_sentence(label)} finished after {_duration_text(seconds)}."
    else:
        subject = f"{label} failed"
        first = f"Your {_in_sentence(label)} failed after {_duration_text(seconds)}."
    if job.progress_total:
        subject += f": {job.progress_done} of {job.progress_total}"
    lines = [first, ""]
    if job.progress_total:
        lines.append(f"Progress: {job.progress_done} of {job.progress_total}.")
    view = result_view(job)
    if view.facts:
        lines += [f"{label}: {text}" for label, text in view.facts]
    elif view.summary:
        lines.append(view.summary)
    if job.status == JobStatus.FAILED and job.error_message:
        lines.append(f"Error: {job.error_message}")
    lines += ["", f"Details: {absolute_url(job.get_absolute_url())}"]
    notification = Notification.objects.create(
        user=user,
        type=NotificationType.JOB_COMPLETE,
        recipient=Channel.EMAIL,
        address=user.email,
        subject=_one_line(subject, 200),
        body="\n".join(lines),
        metadata={"job_id": job.pk, "job_type": job.type, "job_status": job.status},
    )
    _enqueue([notification])
    return notification


# --- A test message ---------------------------------------------------------------------------

TEST_SUBJECT = "Test message from Arbitrage Monitor"
TEST_TEXT = "This is a test of your {channel} channel: alerts that match it arrive like this. Nothing needs doing."


def notification_send_test(*, channel: NotificationChannel, now=None) -> tuple[Notification, DeliveryOutcome]:
    """Send one test message to a channel now (the seller pressed "Send test") and say how it went.

    It is a Notification like any other, so it shows in the seller's delivery history; a failure
    that may pass is tried again in the background like any other delivery.
    """
    now = now or timezone.now()
    text = TEST_TEXT.format(channel=channel.get_channel_display())
    link = absolute_url(reverse("monitoring:notification_list"))
    notification = Notification.objects.create(
        user=channel.user,
        type=NotificationType.TEST,
        recipient=channel.channel,
        address=channel.address,
        subject=TEST_SUBJECT,
        body=f"{text} {link}" if channel.channel == Channel.SMS else f"{text}\n\nYour notifications: {link}",
        metadata={"channel_id": channel.pk, "test": True},
    )
    if channel.channel == Channel.WEBHOOK:
        notification.body = _webhook_body(notification, NotificationType.TEST, message=text)
        notification.save(update_fields=["body"])
    outcome = notification_deliver(notification_id=notification.pk, now=now)
    if outcome.status == "retry" and outcome.retry_in <= settings.TASK_COUNTDOWN_MAX:  # longer: the sweep's
        from .tasks import notification_deliver_task

        transaction.on_commit(
            lambda: task_enqueue(notification_deliver_task, notification.pk, countdown=outcome.retry_in)
        )
    notification.refresh_from_db()
    return notification, outcome


# --- Delivery ---------------------------------------------------------------------------------


def _send_email(notification: Notification) -> dict:
    try:
        send_mail(
            notification.subject,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.address],
            fail_silently=False,
        )
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(EMAIL_REFUSED.format(error=exc), retryable=False) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(EMAIL_FAILED.format(error=f"{type(exc).__name__}: {exc}")) from None
    return {}


def _retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("retry-after", "")
    return min(int(value), RETRY_BACKOFF_CAP) if value.isdigit() else None


def _send_sms(notification: Notification) -> dict:
    sid, token, sender = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER
    if not (sid and token and sender):
        raise DeliveryError(SMS_NOT_CONFIGURED, retryable=False)
    url = f"{settings.TWILIO_API_BASE.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
    try:
        response = httpx.post(
            url,
            auth=(sid, token),
            data={"To": notification.address, "From": sender, "Body": notification.body},
            headers={"Accept": "application/json"},
            timeout=settings.TWILIO_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(SMS_UNREACHABLE.format(error=type(exc).__name__)) from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if response.status_code in (200, 201):
        status = answer.get("status", "")
        if status in ("failed", "undelivered", "canceled"):
            raise DeliveryError(SMS_FAILED_STATUS.format(status=status), retryable=False)
        return {"twilio_sid": answer.get("sid"), "twilio_status": status}
    retryable = response.status_code == 429 or response.status_code >= 500
    message = SMS_REFUSED.format(
        status=response.status_code,
        code=answer.get("code", "—"),
        message=_one_line(answer.get("message") or response.reason_phrase, 300),
    )
    raise DeliveryError(message, retryable=retryable, retry_after=_retry_after(response))


def _send_webhook(notification: Notification) -> dict:
    secret = webhook_secret_for(notification.user)
    try:
        status = webhook_post(
            url=notification.address, secret=secret, raw_body=notification.body.encode(), delivery_id=notification.pk
        )
    except netsafety.UnsafeURL as exc:
        raise DeliveryError(WEBHOOK_REFUSED.format(reason=str(exc).rstrip(".")), retryable=False) from None
    except socket.gaierror:
        raise DeliveryError(WEBHOOK_UNRESOLVABLE.format(host=httpx.URL(notification.address).host)) from None
    except httpx.TimeoutException:
        raise DeliveryError(WEBHOOK_TIMED_OUT.format(seconds=settings.WEBHOOK_TIMEOUT)) from None
    except httpx.HTTPError as exc:
        raise DeliveryError(WEBHOOK_UNREACHABLE.format(error=type(exc).__name__)) from None
    if 200 <= status < 300:
        return {"http_status": status}
    if 300 <= status < 400:
        raise DeliveryError(WEBHOOK_REDIRECT.format(status=status), retryable=False)
    raise DeliveryError(WEBHOOK_STATUS.format(status=status))


SENDERS = {Channel.EMAIL: _send_email, Channel.SMS: _send_sms, Channel.WEBHOOK: _send_webhook}
DEMO_DELIVERY = {"demo": True}  # a demo seller's message: recorded as sent, sent to no one


def _sender_for(notification: Notification):
    if notification.user.is_demo:
        return lambda _notification: dict(DEMO_DELIVERY)
    return SENDERS.get(notification.recipient)


def notification_deliver(*, notification_id: int, now=None) -> DeliveryOutcome:
    """Make one delivery attempt of a Notification and record what happened on the row.

    The attempt is claimed by bumping `attempts` from the value read (so two workers never send the
    same attempt), a sent notification is left alone, and a failure is recorded in `error`: retryable
    ones return status "retry" with the backoff (exponential with jitter, capped at 10 minutes) until
    NOTIFICATION_MAX_ATTEMPTS; a refused webhook target or a refused number fails at once.
    """
    now = now or timezone.now()
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None:
        return DeliveryOutcome("missing")
    if notification.is_sent:
        return DeliveryOutcome("already_sent")
    metadata = dict(notification.metadata or {})
    if metadata.get("failed") or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
        return DeliveryOutcome("failed", error=notification.error or "")
    attempt = notification.attempts + 1
    metadata.pop("next_attempt_at", None)
    metadata["last_attempt_at"] = now.isoformat()
    claimed = Notification.objects.filter(pk=notification.pk, is_sent=False, attempts=notification.attempts).update(
        attempts=attempt, metadata=metadata
    )
    if not claimed:
        return DeliveryOutcome("busy")
    sender = _sender_for(notification)
    try:
        if sender is None:
            raise DeliveryError(INVALID_CHANNEL, retryable=False)
        extra = sender(notification)
    except DeliveryError as exc:
        return _record_failure(notification, attempt, metadata, exc, now)
    except Exception as exc:
        logger.exception("Notification %s (%s): unexpected error", notification.pk, notification.recipient)
        return _record_failure(
            notification, attempt, metadata, DeliveryError(UNEXPECTED_ERROR.format(error=type(exc).__name__)), now
        )
    Notification.objects.filter(pk=notification.pk).update(
        is_sent=True, sent_at=timezone.now(), error=None, metadata={**metadata, **extra}
    )
    return DeliveryOutcome("sent")


def _record_failure(notification, attempt: int, metadata: dict, exc: DeliveryError, now) -> DeliveryOutcome:
    final = not exc.retryable or attempt >= settings.NOTIFICATION_MAX_ATTEMPTS
    error = str(exc)
    retry_in = None
    if final:
        metadata["failed"] = True
        if exc.retryable:
            error = GAVE_UP.format(error=error, attempts=attempt)
    else:
        retry_in = exc.retry_after or retry_backoff(attempt)
        metadata["next_attempt_at"] = (now + timedelta(seconds=retry_in)).isoformat()
    Notification.objects.filter(pk=notification.pk).update(error=error[:2000], metadata=metadata)
    logger.warning(
        "Notification %s (%s) attempt %s failed%s: %s",
        notification.pk,
        notification.recipient,
        attempt,
        "" if final else f", retrying in {retry_in} s",
        error,
    )
    return DeliveryOutcome("failed" if final else "retry", retry_in=retry_in, error=error)


def _parked_and_due(metadata: dict, now) -> bool:
    """A retry whose wait was too long for a countdown (notification_deliver_task left it on the
    row), now due."""
    if not metadata.get("next_attempt_at") or not metadata.get("last_attempt_at"):
        return False
    due, last = datetime.fromisoformat(metadata["next_attempt_at"]), datetime.fromisoformat(metadata["last_attempt_at"])
    return due <= now and (due - last).total_seconds() > settings.TASK_COUNTDOWN_MAX


def notifications_sweep(*, now=None) -> list[int]:
    """Enqueue again deliveries whose task was lost (never picked up, or its retry long overdue),
    and those whose retry waited on the row (longer than a countdown may) and is due.

    Safe to over-enqueue: delivery is idempotent. Returns the Notification ids enqueued.
    """
    now = now or timezone.now()
    late = now - SWEEP_GRACE
    candidates = Notification.objects.filter(
        is_sent=False,
        attempts__lt=settings.NOTIFICATION_MAX_ATTEMPTS,
        created_at__gte=now - SWEEP_HORIZON,
        created_at__lt=late,
    ).only("pk", "attempts", "metadata")
    lost = []
    for notification in candidates:
        metadata = notification.metadata or {}
        if metadata.get("failed"):
            continue
        due = metadata.get("next_attempt_at") or metadata.get("last_attempt_at")
        try:
            overdue = due is None or datetime.fromisoformat(due) < late or _parked_and_due(metadata, now)
        except (TypeError, ValueError):
            overdue = True
        if overdue:
            lost.append(notification)
    _enqueue(lost)
    return [notification.pk for notification in lost]


# --- What the seller sees of deliveries -----------------------------------------------------------


@dataclass(frozen=True)
class DeliveryState:
    """A notification's delivery in words: sent, recorded (demo), failed, retrying or waiting."""

    key: str  # sent | recorded | failed | retrying | waiting
    label: str
    detail: str = ""


def delivery_state(notification: Notification) -> DeliveryState:
    metadata = notification.metadata or {}
    if notification.is_sent:
        if metadata.get("demo"):
            return DeliveryState("recorded", "Recorded", "Demo account: kept here, sent to no one.")
        return DeliveryState("sent", "Sent")
    if metadata.get("failed"):
        return DeliveryState("failed", "Failed", notification.error or "")
    if notification.error:
        attempts = f"attempt {notification.attempts} of {settings.NOTIFICATION_MAX_ATTEMPTS} failed"
        return DeliveryState("retrying", "Retrying", f"{attempts}: {notification.error}")
    return DeliveryState("waiting", "Waiting to be sent")
