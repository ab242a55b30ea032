"""Forms of the seller's monitoring pages: dashboard period, audit log filters, notification settings."""

import re
from datetime import date

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, MaxValueValidator, MinValueValidator, URLValidator
from django_filters.widgets import DateRangeWidget

from catalog import netsafety

from .analytics import DEFAULT_DAYS, MAX_DAYS, PERIOD_DAYS, Period, period_last
from .models import AlertSettings, AlertType, AuditLog, Channel, NotificationChannel
from .preferences import THRESHOLD_LIMITS

CUSTOM = "custom"
PERIOD_NEEDS_BOTH_DATES = "Give both a start and an end date."
PERIOD_START_AFTER_END = "The start date must be on or before the end date."
PERIOD_IN_FUTURE = "The end date cannot be in the future."
PERIOD_TOO_LONG = f"Choose at most {MAX_DAYS} days."
PHONE_INVALID = "Enter the number in international format, e.g. +14155550123 (a + and up to 15 digits)."
EMAIL_INVALID = "Enter a valid e-mail address."
WEBHOOK_INVALID = "Enter a full http:// or https:// address."
WEBHOOK_NOT_PUBLIC = "This address cannot receive webhooks: {reason}. Use an address on the public internet."
WEBHOOK_UNRESOLVED = (
    "{host} could not be found right now. The channel is saved; each delivery checks the address again."
)
CHANNEL_DUPLICATE = "You already send alerts to this address on this channel."
CHANNEL_LIMIT = "You can have at most {limit} notification channels; remove one first."
MAX_CHANNELS = 10

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")
_webhook_url = URLValidator(schemes=["http", "https"], message=WEBHOOK_INVALID)
_email = EmailValidator(message=EMAIL_INVALID)


class PeriodForm(forms.Form):
    """The dashboard's window: the last 7, 30 or 90 days, or a custom from/to."""

    period = forms.ChoiceField(
        choices=[(str(days), f"Last {days} days") for days in PERIOD_DAYS] + [(CUSTOM, "Custom")],
        required=False,
    )
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        if "start" in self.errors or "end" in self.errors:
            return data
        start, end = data.get("start"), data.get("end")
        if data.get("period") != CUSTOM and not start and not end:
            return data
        data["period"] = CUSTOM
        if not start or not end:
            raise ValidationError(PERIOD_NEEDS_BOTH_DATES, code="both_dates")
        if start > end:
            raise ValidationError(PERIOD_START_AFTER_END, code="start_after_end")
        if end > self.today:
            raise ValidationError(PERIOD_IN_FUTURE, code="future")
        if (end - start).days + 1 > MAX_DAYS:
            raise ValidationError(PERIOD_TOO_LONG, code="too_long")
        return data

    def chosen(self) -> Period:
        """The window asked for; the default when nothing (or nothing valid) was asked."""
        if self.is_bound and self.is_valid():
            data = self.cleaned_data
            if data["period"] == CUSTOM:
                return Period(data["start"], data["end"])
            if data["period"]:
                return period_last(int(data["period"]), self.today)
        return period_last(DEFAULT_DAYS, self.today)

    def choice(self) -> str:
        """Which switch is on: a number of days or 'custom'."""
        if self.is_bound and self.is_valid() and self.cleaned_data["period"] == CUSTOM:
            return CUSTOM
        return str(self.chosen().days)


class AuditLogFilter(django_filters.FilterSet):
    """Filters of the seller's audit trail: what was done, to what kind of thing, and when."""

    action = django_filters.ChoiceFilter(label="Action", empty_label="Any action")
    resource_type = django_filters.ChoiceFilter(label="Kind", empty_label="Anything")
    date = django_filters.DateFromToRangeFilter(
        field_name="timestamp", label="Between", widget=DateRangeWidget(attrs={"type": "date"})
    )
    ordering = django_filters.OrderingFilter(
        fields=(("timestamp", "timestamp"), ("action", "action"), ("resource_type", "resource_type")),
        field_labels={"timestamp": "Time", "action": "Action", "resource_type": "Kind"},
        label="Sort",
        empty_label="Newest first",
    )

    class Meta:
        model = AuditLog
        fields = ["action", "resource_type", "date"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rows = self.queryset.order_by()
        self.filters["action"].extra["choices"] = [
            (value, value.replace("_", " ").capitalize())
            for value in rows.values_list("action", flat=True).distinct().order_by("action")
        ]
        self.filters["resource_type"].extra["choices"] = [
            (value, value.replace("_", " ").capitalize())
            for value in rows.values_list("resource_type", flat=True).distinct().order_by("resource_type")
        ]


def _in_range(name: str) -> list:
    low, high, message = THRESHOLD_LIMITS[name]
    return [MinValueValidator(low, message=message), MaxValueValidator(high, message=message)]


class AlertSettingsForm(forms.ModelForm):
    """The seller's alert thresholds, each refused outside its range with the range in words."""

    price_drop_percent = forms.DecimalField(
        label="Price drop alert (%)",
        max_digits=5,
        decimal_places=2,
        validators=_in_range("price_drop_percent"),
        help_text="Tell me when a supplier price falls by at least this much.",
    )
    low_stock_quantity = forms.IntegerField(
        label="Low stock alert (units)",
        validators=_in_range("low_stock_quantity"),
        help_text="Tell me when a supplier has this many units or fewer.",
    )
    min_margin_percent = forms.DecimalField(
        label="Low margin alert (%)",
        max_digits=5,
        decimal_places=2,
        validators=_in_range("min_margin_percent"),
        help_text="Tell me when a listing's margin falls under this.",
    )
    order_buy_hours = forms.IntegerField(
        label="Order not bought alert (hours)",
        validators=_in_range("order_buy_hours"),
        help_text="Tell me when an order is still to buy this long after it sold.",
    )
    order_ship_warning_hours = forms.IntegerField(
        label="Ship-by warning (hours before)",
        validators=_in_range("order_ship_warning_hours"),
        help_text="Warn me this long before an order's ship-by date; it turns critical once the date has passed.",
    )

    class Meta:
        model = AlertSettings
        fields = (
            "price_drop_percent",
            "low_stock_quantity",
            "min_margin_percent",
            "order_buy_hours",
            "order_ship_warning_hours",
            "daily_digest",
        )
        labels = {"daily_digest": "Send one daily digest instead of a message per alert"}

    def changes(self) -> tuple[dict, dict]:
        """(old values, new values) of the fields the seller changed; call after is_valid()."""
        changed = [name for name in self.changed_data if self.cleaned_data[name] != self.initial.get(name)]
        return {name: self.initial.get(name) for name in changed}, {name: self.cleaned_data[name] for name in changed}


class ChannelForm(forms.ModelForm):
    """A new place to send alerts: an e-mail address, a phone number for SMS or a webhook URL."""

    alert_types = forms.MultipleChoiceField(
        label="Alert types",
        choices=AlertType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to receive every type.",
    )

    class Meta:
        model = NotificationChannel
        fields = ("channel", "address", "min_severity", "alert_types")
        labels = {"min_severity": "Send from severity"}
        help_texts = {"address": "E-mail address, phone number with country code (+…), or webhook URL."}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.warning = ""

    def clean(self):
        data = super().clean()
        channel, address = data.get("channel"), (data.get("address") or "").strip()
        if not channel or not address:
            return data
        if channel == Channel.EMAIL:
            address = address.lower()
            try:
                _email(address)
            except ValidationError as exc:
                self.add_error("address", exc)
                return data
        elif channel == Channel.SMS:
            address = _PHONE_PUNCTUATION.sub("", address)
            if address.startswith("00"):
                address = "+" + address[2:]
            if not E164.match(address):
                self.add_error("address", ValidationError(PHONE_INVALID, code="phone"))
                return data
        elif channel == Channel.WEBHOOK:
            try:
                _webhook_url(address)
            except ValidationError as exc:
                self.add_error("address", exc)
                return data
            # The delivery's SSRF rule, checked now: a host that resolves to a private, loopback,
            # link-local or metadata address is refused; one that does not resolve at the moment
            # is kept with a warning (delivery checks it again).
            try:
                netsafety.check_url(address)
            except netsafety.UnsafeURL as exc:
                reason = str(exc).split(";")[0].rstrip(".")  # "…; it is not fetched" is the scraper's wording
                self.add_error("address", ValidationError(WEBHOOK_NOT_PUBLIC.format(reason=reason), code="not_public"))
                return data
            except (OSError, UnicodeError):
                self.warning = WEBHOOK_UNRESOLVED.format(host=netsafety.check_url(address, resolve=False))
        data["address"] = address
        self.instance.user = self.user
        mine = NotificationChannel.objects.filter(user=self.user)
        if mine.filter(channel=channel, address=address).exists():
            self.add_error("address", ValidationError(CHANNEL_DUPLICATE, code="duplicate"))
        elif mine.count() >= MAX_CHANNELS:
            raise ValidationError(CHANNEL_LIMIT.format(limit=MAX_CHANNELS), code="limit")
        return data

    def validate_unique(self):
        # The (user, channel, address) rule is checked in clean() with the normalised address.
        pass
