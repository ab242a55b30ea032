from django.urls import path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard/revenue.csv", views.dashboard_csv, name="dashboard_csv"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/bulk/", views.alert_bulk, name="alert_bulk"),
    path("alerts/<int:pk>/read/", views.alert_read, name="alert_read"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("jobs/<int:pk>/row/", views.job_row, name="job_row"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:pk>/retry/", views.job_retry, name="job_retry"),
    path("activity/", views.audit_list, name="audit_list"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
    path("notifications/channels/add/", views.notification_channel_add, name="notification_channel_add"),
    path(
        "notifications/channels/<int:pk>/toggle/", views.notification_channel_toggle, name="notification_channel_toggle"
    ),
    path(
        "notifications/channels/<int:pk>/delete/", views.notification_channel_delete, name="notification_channel_delete"
    ),
    path("notifications/channels/<int:pk>/test/", views.notification_channel_test, name="notification_channel_test"),
    path("notifications/webhook-secret/", views.webhook_secret_regenerate, name="webhook_secret_regenerate"),
    path("service-health/", views.service_health, name="service_health"),
]
