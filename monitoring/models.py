from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_cryptography.fields import encrypt


class AlertType(models.TextChoices):
    LOW_STOCK = "low_stock", "Low stock"
    LOW_MARGIN = "low_margin", "Low margin"
    PRICE_DROP = "price_drop", "Price drop"
    POLICY_TRIGGER = "policy_trigger", "Policy triggered"
    STORE_AUTH = "store_auth", "Store authorisation"
    TRACKING_STALE = "tracking_stale", "Tracking stale"
    JOB_FAILED = "job_failed", "Job failed"
    SCRAPE_FAILING = "scrape_failing", "Product cannot be read"
    WRONG_PRODUCT = "wrong_product", "Supplier link shows another product"
    OVERRIDE_ENDED = "override_ended", "Your own value ended"
    ORDER_NOT_BOUGHT = "order_not_bought", "Order not bought"
    ORDER_NOT_SHIPPED = "order_not_shipped", "Order not shipped"
    CUSTOMER_DATA_REQUEST = "customer_data_request", "Customer data request"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(user=user)

    def open(self):
        return self.filter(cleared_at__isnull=True)


class Alert(models.Model):
    """Something a seller (or staff, for service alerts) should look at."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    type = models.CharField(max_length=30, choices=AlertType.choices)
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    listing = models.ForeignKey(
        "marketplaces.Listing", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    subject = models.CharField(
        max_length=100, help_text="What it is about: listing:12, product:7, store:3, service:tracking."
    )
    is_read = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        db_table = "monitoring_alert"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "type", "subject"],
                condition=Q(cleared_at__isnull=True),
                name="alert_one_open_per_subject",
            ),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="alert_severity_valid"),
        ]
        indexes = [models.Index(fields=["user", "cleared_at", "created_at"], name="alert_user_open_idx")]

    def __str__(self):
        return f"{self.get_type_display()}: {self.subject}"

    def get_absolute_url(self):
        return reverse("monitoring:alert_list")


class NotificationType(models.TextChoices):
    ALERT = "alert", "Alert"
    POLICY_TRIGGER = "policy_trigger", "Policy triggered"
    JOB_COMPLETE = "job_complete", "Job complete"
    REPORT = "report", "Report"
    TEST = "test", "Test"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WEBHOOK = "webhook", "Webhook"


class Notification(models.Model):
    """A message sent (or to be sent) to a seller by email, SMS or webhook."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    alert = models.ForeignKey(Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications")
    type = models.CharField(max_length=20, choices=NotificationType.choices)
    recipient = models.CharField(max_length=10, choices=Channel.choices, help_text="The channel.")
    address = models.CharField(max_length=500, help_text="E-mail address, phone number or webhook URL.")
    subject = models.CharField(max_length=300)
    body = models.TextField()
    is_sent = models.BooleanField(default=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    metadata = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "monitoring_notification"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "created_at"], name="notification_user_time_idx"),
            models.Index(fields=["is_sent"], name="notification_sent_idx"),
        ]

    def __str__(self):
        return f"{self.get_recipient_display()} to {self.address}: {self.subject}"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# What each kind of job is called on the pages and in messages.
JOB_TYPE_LABELS = {
    "add_products": "Adding products",
    "import_csv": "CSV import",
    "refresh_product": "Product refresh",
    "track_products": "Tracking round",
    "scrape_products": "Product refresh",
    "publish_listings": "Publishing listings",
    "bulk_listing": "Bulk listing",
    "listing_bulk_create": "Bulk listing",
    "sync_store": "Store sync",
    "sync_ebay": "eBay sync",
    "sync_shopify": "Shopify sync",
    "sync_etsy": "Etsy sync",
    "import_performance": "Performance import",
}
_PROPER_WORDS = {"ebay": "eBay", "etsy": "Etsy", "shopify": "Shopify", "csv": "CSV", "api": "API"}


def job_type_label(job_type: str) -> str:
    """ "sync_ebay" → "eBay sync"; an unknown type in words, brand names and acronyms as written."""
    if job_type in JOB_TYPE_LABELS:
        return JOB_TYPE_LABELS[job_type]
    words = [_PROPER_WORDS.get(word, word) for word in job_type.split("_") if word]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else "Job"


class JobQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(user=user)

    def unfinished(self):
        return self.filter(status__in=[JobStatus.PENDING, JobStatus.RUNNING])


class Job(models.Model):
    """A background task as the seller and staff see it: status, progress, result, error."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="jobs"
    )
    type = models.CharField(max_length=50)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error_message = models.TextField(null=True, blank=True)
    retry_count = models.PositiveSmallIntegerField(default=0)
    retry_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries")
    # The Celery task that runs it, so the sweep can re-enqueue it when the task was lost.
    task_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # The lease (DESIGN: Jobs hold a lease). The delivery running it now (empty: nobody; the next
    # delivery takes it) and when that worker last said it is alive: renewed on a timer while the
    # task runs, so it proves the worker lives, not that it made progress. Older than its type's
    # JOB_STALE_AFTER, the Job is stale: the sweep hands it to another worker.
    lease_token = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When its task was last handed to the broker, so the sweep tells a lost message from a queued one.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # What the next delivery carries on from: long work runs in batches, each saved here when done.
    checkpoint = models.JSONField(default=dict, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        db_table = "monitoring_job"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(retry_count__gte=0, retry_count__lte=3), name="job_retry_count_0_3"),
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="job_status_valid"),
        ]
        indexes = [
            models.Index(fields=["user", "status", "type"], name="job_user_status_type_idx"),
            models.Index(fields=["created_at"], name="job_created_idx"),
            # The sweep (every minute) and the schedule look only at unfinished Jobs.
            models.Index(fields=["type"], name="job_unfinished_idx", condition=Q(status__in=["pending", "running"])),
        ]

    def __str__(self):
        return f"{self.type} #{self.pk} ({self.status})"

    def get_absolute_url(self):
        return reverse("monitoring:job_detail", args=[self.pk])

    @property
    def type_label(self) -> str:
        return job_type_label(self.type)

    @property
    def is_finished(self):
        return self.status in (JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCELLED)

    @property
    def progress_percent(self):
        if not self.progress_total:
            return 100 if self.status == JobStatus.SUCCESS else 0
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def duration(self):
        if not self.started_at:
            return None
        return (self.completed_at or timezone.now()) - self.started_at


class WorkerHeartbeat(models.Model):
    """A Celery worker's latest sign of life, written every WORKER_HEARTBEAT_SECONDS while it runs."""

    hostname = models.CharField(max_length=255, unique=True, help_text="Celery's node name, e.g. celery@host.")
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    class Meta:
        db_table = "monitoring_worker_heartbeat"
        ordering = ["-seen_at"]

    def __str__(self):
        return f"{self.hostname} (seen {self.seen_at:%Y-%m-%d %H:%M:%S})"


class TimePeriod(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class AnalyticsCache(models.Model):
    """A computed metric of one seller, kept until it expires."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="analytics_cache")
    metric_type = models.CharField(max_length=100, help_text="Metric and window, e.g. revenue:last_30d.")
    time_period = models.CharField(max_length=10, choices=TimePeriod.choices, default=TimePeriod.DAILY)
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "monitoring_analytics_cache"
        verbose_name_plural = "analytics cache"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "metric_type", "time_period"], name="analytics_user_metric_period_unique"
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="analytics_expires_idx")]

    def __str__(self):
        return f"{self.user_id} {self.metric_type} ({self.time_period})"


class AuditLog(models.Model):
    """Who changed what (append-only); never holds a secret in clear."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_actions",
        help_text="The actor; empty for the system.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_trail",
        help_text="The seller whose resource it is.",
    )
    action = models.CharField(max_length=30)
    resource_type = models.CharField(max_length=50)
    resource_id = models.CharField(max_length=64)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    timestamp = models.DateTimeField(default=timezone.now)
    notes = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "monitoring_audit_log"
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["owner", "timestamp"], name="audit_owner_time_idx"),
            models.Index(fields=["resource_type", "resource_id"], name="audit_resource_idx"),
        ]

    def __str__(self):
        return f"{self.action} {self.resource_type}:{self.resource_id}"


class AlertSettings(models.Model):
    """A seller's thresholds for the alert rules (sensible defaults until they change them)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_settings")
    price_drop_percent = models.DecimalField(max_digits=5, decimal_places=2, default=10)
    low_stock_quantity = models.PositiveIntegerField(default=5)
    min_margin_percent = models.DecimalField(max_digits=5, decimal_places=2, default=10)
    order_buy_hours = models.PositiveIntegerField(default=24, help_text="Alert when an order is not bought by then.")
    order_ship_warning_hours = models.PositiveIntegerField(
        default=24, help_text="Warn this long before an order's ship-by date; critical once it passed."
    )
    daily_digest = models.BooleanField(default=False, help_text="One message a day instead of one per alert.")
    # Signs webhook notifications (X-Signature); encrypted at rest like every secret.
    webhook_secret = encrypt(models.CharField(max_length=100, blank=True, default=""))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "monitoring_alert_settings"
        verbose_name_plural = "alert settings"

    def __str__(self):
        return f"Alert settings of {self.user}"


class NotificationChannel(models.Model):
    """Where a seller wants alerts: a channel, its address, and which alert types and severities."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_channels")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = models.CharField(max_length=500, help_text="E-mail address, phone number (E.164) or webhook URL.")
    min_severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    alert_types = models.JSONField(default=list, blank=True, help_text="Alert types to send; empty for all.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "monitoring_notification_channel"
        constraints = [
            models.UniqueConstraint(fields=["user", "channel", "address"], name="channel_user_address_unique"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()}: {self.address}"


class RetentionPolicy(models.Model):
    """How long staff keep jobs, notifications, audit rows and buyers' addresses (price and stock
    history are kept). One row."""

    job_days = models.PositiveIntegerField(default=90)
    notification_days = models.PositiveIntegerField(default=180)
    audit_days = models.PositiveIntegerField(default=365)
    order_address_days = models.PositiveIntegerField(
        default=30,
        help_text="Buyers' ship-to names and addresses are wiped this many days after shipping or cancellation.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "monitoring_retention_policy"
        verbose_name_plural = "retention policy"

    def __str__(self):
        return (
            f"Jobs {self.job_days} d, notifications {self.notification_days} d, audit {self.audit_days} d, "
            f"buyers' addresses {self.order_address_days} d"
        )

    @classmethod
    def current(cls):
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy
