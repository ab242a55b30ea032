import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth.models import Permission

from accounts.tests.factories import UserFactory
from conftest import CORE_MODELS
from monitoring.models import (
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
from monitoring.tests.admin_helpers import (
    admin_form_data,
    admin_url,
    assert_admin_pages_render,
    assert_changelist_queries_flat,
    listed,
    post_action,
)
from monitoring.tests.factories import (
    AlertFactory,
    AnalyticsCacheFactory,
    AuditLogFactory,
    JobFactory,
    NotificationFactory,
)

pytestmark = pytest.mark.django_db

TASK_NAME = "monitoring.tasks.jobs_sweep_task"


@pytest.mark.parametrize(
    ("make", "addable"),
    [
        (AlertFactory, False),
        (NotificationFactory, False),
        (lambda: JobFactory(progress_done=3, progress_total=10), False),
        (AnalyticsCacheFactory, False),
        (AuditLogFactory, False),
    ],
    ids=["alert", "notification", "job", "analytics", "audit"],
)
def test_monitoring_admin_pages_render(admin_client, make, addable):
    assert_admin_pages_render(admin_client, make(), addable=addable)


def test_every_core_model_has_an_admin():
    registered = {f"{model._meta.app_label}.{model.__name__}" for model in admin.site._registry}
    assert set(CORE_MODELS) <= registered


OUR_APPS = {"accounts", "catalog", "marketplaces", "monitoring"}
REGISTERED = sorted(
    f"{model._meta.app_label}.{model.__name__}" for model in admin.site._registry if model._meta.app_label in OUR_APPS
)


@pytest.mark.parametrize("label", REGISTERED)
def test_related_fields_are_picked_by_search_or_id_never_from_a_full_select(rf, admin_user, label):
    """A foreign key staff can edit uses autocomplete or a raw id, so no page lists a whole table."""
    model = apps.get_model(label)
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = admin_user
    if not (model_admin.has_add_permission(request) or model_admin.has_change_permission(request)):
        return  # read-only pages show the related row as a link
    readonly = set(model_admin.get_readonly_fields(request))
    picked = set(model_admin.autocomplete_fields) | set(model_admin.raw_id_fields)
    for field in model._meta.get_fields():
        if not (field.is_relation and field.concrete and field.editable) or field.name in readonly:
            continue
        if field.related_model._meta.app_label == "auth":
            continue  # groups and permissions: small, fixed tables
        assert field.name in picked, f"{label}.{field.name} would render every row as an <option>"


@pytest.mark.parametrize("label", REGISTERED)
def test_change_pages_show_every_model_field(rf, admin_user, label):
    """A field an app adds later still reaches the admin (declared fieldsets or not)."""
    model = apps.get_model(label)
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = admin_user
    obj = model()
    shown = set(flatten_fieldsets(model_admin.get_fieldsets(request, obj)))
    secrets = set(getattr(model_admin, "secret_fields", {}))
    for field in model._meta.get_fields():
        if field.concrete and field.editable and not field.auto_created and field.name not in secrets:
            assert field.name in shown, f"{label}.{field.name} is missing from its admin page"


def test_job_changelist_shows_progress(admin_client):
    JobFactory(status=JobStatus.RUNNING, progress_done=3, progress_total=12)

    html = admin_client.get(admin_url(Job, "changelist")).content.decode()

    assert "3 / 12 (25%)" in html


def test_job_changelist_filters_by_status_and_type(admin_client):
    failed = JobFactory(status=JobStatus.FAILED, type="sync_ebay")
    running = JobFactory(status=JobStatus.RUNNING, type="import_csv")

    by_status = admin_client.get(admin_url(Job, "changelist"), {"status__exact": "failed"}).content.decode()
    by_type = admin_client.get(admin_url(Job, "changelist"), {"type": "import_csv"}).content.decode()

    assert listed(by_status, failed, running) == {failed}
    assert listed(by_type, failed, running) == {running}


def test_retry_action_retries_failed_jobs_once_and_audits_it(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    failed = JobFactory(status=JobStatus.FAILED, task_name=TASK_NAME, params={"ids": [1, 2]})
    running = JobFactory(status=JobStatus.RUNNING, task_name=TASK_NAME)
    already = JobFactory(status=JobStatus.FAILED, task_name=TASK_NAME)
    JobFactory(status=JobStatus.FAILED, task_name=TASK_NAME, retry_of=already)

    with django_capture_on_commit_callbacks() as enqueued:
        response = post_action(admin_client, Job, "retry_failed_jobs", [failed, running, already])

    assert response.status_code == 302
    retry = Job.objects.get(retry_of=failed)
    assert (retry.status, retry.type, retry.params, retry.user) == (
        "pending",
        failed.type,
        {"ids": [1, 2]},
        failed.user,
    )
    assert not Job.objects.filter(retry_of=running).exists()
    assert Job.objects.filter(retry_of=already).count() == 1
    assert len(enqueued) == 1
    row = AuditLog.objects.get()
    assert (row.action, row.user, row.owner, row.new_value) == (
        "retried",
        admin_user,
        failed.user,
        {"retry_job_id": retry.pk},
    )


def test_staff_without_change_permission_on_jobs_cannot_retry(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_job"))
    client.force_login(staff)
    failed = JobFactory(status=JobStatus.FAILED, task_name=TASK_NAME)

    post_action(client, Job, "retry_failed_jobs", [failed])

    assert not Job.objects.filter(retry_of=failed).exists()


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (AuditLogFactory, "action"),
        (NotificationFactory, "subject"),
        (JobFactory, "type"),
        (AnalyticsCacheFactory, "metric_type"),
    ],
    ids=["audit", "notification", "job", "analytics"],
)
def test_records_cannot_be_edited_in_the_admin(admin_client, make, field):
    row = make()
    before = getattr(row, field)

    response = admin_client.post(admin_url(type(row), "change", row.pk), {field: "edited"})

    assert response.status_code == 403
    row.refresh_from_db()
    assert getattr(row, field) == before


def test_only_a_superuser_may_delete_audit_rows(client, admin_client):
    row = AuditLogFactory()
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__model="auditlog"))
    client.force_login(staff)

    assert client.get(admin_url(AuditLog, "delete", row.pk)).status_code == 403
    assert client.get(admin_url(AuditLog, "add")).status_code == 403
    assert admin_client.get(admin_url(AuditLog, "delete", row.pk)).status_code == 200


def test_audit_log_drills_down_by_date_and_searches_resource_id(admin_client):
    match = AuditLogFactory(resource_id="42")
    other = AuditLogFactory(resource_id="420")

    html = admin_client.get(admin_url(AuditLog, "changelist"), {"q": "42"}).content.decode()

    assert listed(html, match, other) == {match}


def test_alert_state_filter_separates_open_and_cleared(admin_client):
    from django.utils import timezone

    open_alert = AlertFactory()
    cleared = AlertFactory(cleared_at=timezone.now())

    html = admin_client.get(admin_url(Alert, "changelist"), {"state": "open"}).content.decode()

    assert listed(html, open_alert, cleared) == {open_alert}


def test_monitoring_changelists_make_no_query_per_row(admin_client):
    assert_changelist_queries_flat(admin_client, Alert, AlertFactory)
    assert_changelist_queries_flat(admin_client, Notification, NotificationFactory)
    assert_changelist_queries_flat(admin_client, Job, JobFactory)
    assert_changelist_queries_flat(admin_client, AnalyticsCache, AnalyticsCacheFactory)
    assert_changelist_queries_flat(admin_client, AuditLog, AuditLogFactory)


# --- Seller alert settings, channels, retention ---------------------------------------------


def test_alert_settings_webhook_secret_is_masked_kept_and_cleared(admin_client):
    settings_row = AlertSettings.objects.create(user=UserFactory(), webhook_secret="whsec-CLEAR-7777")
    assert_admin_pages_render(admin_client, settings_row, addable=True)
    url = admin_url(AlertSettings, "change", settings_row.pk)
    page = admin_client.get(url)
    assert "whsec-CLEAR-7777" not in page.content.decode()
    data = admin_form_data(page)
    data["low_stock_quantity"] = "9"

    assert admin_client.post(url, data).status_code == 302
    settings_row.refresh_from_db()
    assert (settings_row.webhook_secret, settings_row.low_stock_quantity) == ("whsec-CLEAR-7777", 9)

    assert admin_client.post(url, {**data, "webhook_secret_clear": "on"}).status_code == 302
    settings_row.refresh_from_db()
    assert settings_row.webhook_secret == ""


def test_notification_channel_pages_render(admin_client):
    channel = NotificationChannel.objects.create(user=UserFactory(), channel="email", address="me@example.com")
    assert_admin_pages_render(admin_client, channel, addable=True)


def test_retention_policy_is_one_row_never_added_twice_or_deleted(admin_client):
    policy = RetentionPolicy.current()

    assert_admin_pages_render(admin_client, policy, addable=False)
    assert admin_client.get(admin_url(RetentionPolicy, "delete", policy.pk)).status_code == 403
