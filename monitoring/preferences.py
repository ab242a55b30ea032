"""A seller's notification settings: alert thresholds, channels and the webhook signing secret.

Each change goes through one function here and writes its audit row (settings are seller-owned,
DESIGN.md). The webhook secret is masked in audit rows (records.audit_values) and shown in clear
only once, on the response that made it. Delivery code reads `alert_settings_for(user=…)`.
"""

from decimal import Decimal
from urllib.parse import urlsplit

from django.db import transaction

from .alerts import alert_settings_for
from .models import AlertSettings, Channel, NotificationChannel
from .records import audit_record
from .webhooks import WEBHOOK_SECRET_PREFIX, webhook_secret_new

MASK = "••••••••"
# The thresholds' allowed ranges: the form says them where they are typed, the service checks again.
THRESHOLD_LIMITS = {
    "price_drop_percent": (
        Decimal("0.01"),
        Decimal("100"),
        "The price drop alert is a percentage from 0.01 to 100.",
    ),
    "low_stock_quantity": (0, 100_000, "The low stock alert is a number of units from 0 to 100000."),
    "min_margin_percent": (Decimal("0"), Decimal("99.99"), "The low margin alert is a percentage from 0 to 99.99."),
    "order_buy_hours": (1, 720, "The order not bought alert is a number of hours from 1 to 720."),
    "order_ship_warning_hours": (1, 720, "The ship-by warning is a number of hours from 1 to 720."),
}


class AlertSettingsError(ValueError):
    """Thresholds out of their range; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def alert_thresholds_problems(values: dict) -> dict[str, str]:
    """Which of these thresholds are out of their range (field → the range in words)."""
    problems = {}
    for name, (low, high, message) in THRESHOLD_LIMITS.items():
        value = values.get(name)
        if value is not None and not (low <= value <= high):
            problems[name] = message
    return problems


def secret_masked(secret: str) -> str:
    """What the page shows of a secret: its prefix and last four characters, never the rest."""
    if not secret:
        return ""
    prefix = WEBHOOK_SECRET_PREFIX if secret.startswith(WEBHOOK_SECRET_PREFIX) else ""
    return f"{prefix}{MASK}{secret[-4:]}"


def _channel_audit_values(channel: NotificationChannel) -> dict:
    address = channel.address
    if channel.channel == Channel.WEBHOOK:
        # A webhook URL's path often is the credential (Slack, Discord): keep only where it goes.
        parts = urlsplit(address)
        address = f"{parts.scheme}://{parts.netloc}/…" if parts.netloc else MASK
    return {
        "channel": channel.channel,
        "address": address,
        "min_severity": channel.min_severity,
        "alert_types": list(channel.alert_types),
        "is_active": channel.is_active,
    }


@transaction.atomic
def alert_settings_update(*, alert_settings: AlertSettings, changes: dict, acting_user, request=None) -> AlertSettings:
    """Save changed thresholds and record who changed what; thresholds out of range raise
    AlertSettingsError and change nothing."""
    problems = alert_thresholds_problems(changes)
    if problems:
        raise AlertSettingsError(problems)
    old_value = {name: getattr(alert_settings, name) for name in changes}
    for name, value in changes.items():
        setattr(alert_settings, name, value)
    alert_settings.save(update_fields=[*changes, "updated_at"])
    audit_record(
        acting_user=acting_user,
        owner=alert_settings.user,
        action="updated",
        resource=alert_settings,
        old_value=old_value,
        new_value=changes,
        request=request,
    )
    return alert_settings


@transaction.atomic
def channel_add(
    *, user, channel: str, address: str, min_severity: str, alert_types: list, acting_user, request=None
) -> NotificationChannel:
    """A new place the seller's alerts go to (validated by ChannelForm)."""
    row = NotificationChannel.objects.create(
        user=user, channel=channel, address=address, min_severity=min_severity, alert_types=list(alert_types)
    )
    audit_record(
        acting_user=acting_user,
        owner=user,
        action="created",
        resource=row,
        new_value=_channel_audit_values(row),
        request=request,
    )
    return row


@transaction.atomic
def channel_toggle(*, channel: NotificationChannel, acting_user, request=None) -> NotificationChannel:
    """Switch a channel off (keeping it for later) or back on."""
    channel.is_active = not channel.is_active
    channel.save(update_fields=["is_active"])
    audit_record(
        acting_user=acting_user,
        owner=channel.user,
        action="resumed" if channel.is_active else "paused",
        resource=channel,
        old_value={"is_active": not channel.is_active},
        new_value={"is_active": channel.is_active},
        request=request,
    )
    return channel


@transaction.atomic
def channel_remove(*, channel: NotificationChannel, acting_user, request=None) -> None:
    """Stop sending to a channel and forget it."""
    audit_record(
        acting_user=acting_user,
        owner=channel.user,
        action="deleted",
        resource=channel,
        old_value=_channel_audit_values(channel),
        request=request,
    )
    channel.delete()


@transaction.atomic
def webhook_secret_regenerate(*, user, acting_user, request=None) -> str:
    """Make a new webhook signing secret (the old one stops verifying at once); return it once."""
    alert_settings = alert_settings_for(user=user)
    had_secret = bool(alert_settings.webhook_secret)
    secret = webhook_secret_new()
    alert_settings.webhook_secret = secret
    alert_settings.save(update_fields=["webhook_secret", "updated_at"])
    audit_record(
        acting_user=acting_user,
        owner=user,
        action="updated",
        resource=alert_settings,
        old_value={"webhook_secret": had_secret or None},
        new_value={"webhook_secret": secret},
        request=request,
        notes="Webhook signing secret regenerated." if had_secret else "Webhook signing secret created.",
    )
    return secret
