"""Admin for alerts, notifications, background jobs (with retry), cached analytics and the audit log."""

from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import ngettext

from config.admin_utils import (
    AppendOnlyAdminMixin,
    AuditedAdminMixin,
    SecretsAdminMixin,
    SingletonAdminMixin,
    change_link,
)

from .models import (
    Alert,
    AlertSettings,
    AnalyticsCache,
    AuditLog,
    Job,
    JobStatus,
    Notification,
    NotificationChannel,
    RetentionPolicy,
)
from .records import BACKGROUND_UNAVAILABLE, audit_record, job_retry, job_unavailable


class AlertStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("cleared", "Cleared")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(cleared_at__isnull=True)
        if self.value() == "cleared":
            return queryset.filter(cleared_at__isnull=False)
        return queryset


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Alerts are raised by the rules (one open per seller, type and subject); staff read and tidy them."""

    list_display = ("created_at", "type", "severity", "subject", "user", "is_read", "acknowledged_at", "cleared_at")
    list_filter = (AlertStateFilter, "type", "severity", "is_read")
    list_select_related = ("user",)
    search_fields = ("subject", "message", "user__email")
    autocomplete_fields = ("user", "product", "listing")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at",)

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """A record of what was sent to whom: read-only; old rows may be deleted."""

    list_display = ("created_at", "user", "type", "recipient", "address", "subject", "is_sent", "attempts", "sent_at")
    list_filter = ("is_sent", "type", "recipient")
    list_select_related = ("user",)
    search_fields = ("address", "subject", "user__email")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Jobs are written by the workers; staff follow them and retry the failed ones."""

    list_display = ("id", "type", "user", "status", "progress", "retry_count", "created_at", "completed_at", "error")
    list_filter = ("status", "type")
    list_select_related = ("user",)
    search_fields = ("type", "user__email", "error_message")
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = ("progress", "retries_summary")
    actions = ("retry_failed_jobs",)

    @admin.display(description="Progress")
    def progress(self, obj):
        if not obj.progress_total:
            return f"{obj.progress_percent}%"
        return f"{obj.progress_done} / {obj.progress_total} ({obj.progress_percent}%)"

    @admin.display(description="Error")
    def error(self, obj):
        return (obj.error_message or "")[:120]

    @admin.display(description="Retried as")
    def retries_summary(self, obj):
        retries = list(obj.retries.order_by("created_at"))
        if not retries:
            return "—"
        return format_html_join(
            ", ", "{}", ((change_link(retry, f"#{retry.pk} ({retry.status})"),) for retry in retries)
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return request.user.has_perm("monitoring.change_job")

    @admin.action(description="Retry selected failed jobs", permissions=["retry"])
    def retry_failed_jobs(self, request, queryset):
        selected = queryset.count()
        # A job already retried is followed through its retry (retry that one if it failed too).
        retryable = queryset.filter(status=JobStatus.FAILED, retries__isnull=True).exclude(task_name="")
        retried, new_jobs = 0, []
        with transaction.atomic():
            for job in retryable.select_related("user"):
                new_job = job_retry(job)
                new_jobs.append(new_job)
                audit_record(
                    acting_user=request.user,
                    owner=job.user,
                    action="retried",
                    resource=job,
                    new_value={"retry_job_id": new_job.pk},
                    request=request,
                    notes="Retried by staff in the admin.",
                )
                self.log_change(request, job, f"Retried as job #{new_job.pk}.")
                retried += 1
        self.message_user(
            request,
            ngettext("{count} job retried.", "{count} jobs retried.", retried).format(count=retried),
            messages.SUCCESS,
        )
        if any(job_unavailable(new_job) for new_job in new_jobs):  # enqueued at commit, just above
            self.message_user(request, BACKGROUND_UNAVAILABLE, messages.ERROR)
        if selected - retried:
            self.message_user(
                request,
                ngettext(
                    "{count} job left alone: not failed, already retried, or without a task.",
                    "{count} jobs left alone: not failed, already retried, or without a task.",
                    selected - retried,
                ).format(count=selected - retried),
                messages.WARNING,
            )


@admin.register(AnalyticsCache)
class AnalyticsCacheAdmin(admin.ModelAdmin):
    """Computed figures: read-only; deleting a row makes it be computed again."""

    list_display = ("user", "metric_type", "time_period", "computed_at", "expires_at", "is_expired")
    list_filter = ("time_period",)
    list_select_related = ("user",)
    search_fields = ("metric_type", "user__email")

    @admin.display(description="Expired", boolean=True)
    def is_expired(self, obj):
        return obj.expires_at <= timezone.now()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("timestamp", "action", "resource_type", "resource_id", "user", "owner", "ip_address")
    list_filter = ("action", "resource_type")
    list_select_related = ("user", "owner")
    search_fields = ("=resource_id", "user__email", "owner__email", "notes")
    date_hierarchy = "timestamp"
    show_full_result_count = False


@admin.register(AlertSettings)
class AlertSettingsAdmin(SecretsAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    secret_fields = {"webhook_secret": "Webhook signing secret"}
    list_display = ("user", "price_drop_percent", "low_stock_quantity", "min_margin_percent", "daily_digest")
    list_filter = ("daily_digest",)
    list_select_related = ("user",)
    search_fields = ("user__email",)
    autocomplete_fields = ("user",)
    readonly_fields = ("updated_at",)
    fields = (
        "user",
        "price_drop_percent",
        "low_stock_quantity",
        "min_margin_percent",
        "order_buy_hours",
        "order_ship_warning_hours",
        "daily_digest",
        ("webhook_secret", "webhook_secret_clear"),
        "updated_at",
    )


@admin.register(NotificationChannel)
class NotificationChannelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("user", "channel", "address", "min_severity", "is_active", "created_at")
    list_filter = ("channel", "min_severity", "is_active")
    list_select_related = ("user",)
    search_fields = ("address", "user__email")
    autocomplete_fields = ("user",)


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(SingletonAdminMixin, admin.ModelAdmin):
    """How long jobs, notifications and audit rows are kept (price and stock history always are)."""

    list_display = ("__str__", "job_days", "notification_days", "audit_days", "order_address_days", "updated_at")
    readonly_fields = ("updated_at",)
