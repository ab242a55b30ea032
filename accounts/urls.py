"""Our account pages. django-allauth's (log in, sign up, email, password, two-factor) are included
beside these at /accounts/ by config/urls.py; our sessions page stands in for allauth's."""

from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/api-key/", views.api_key_regenerate, name="api_key_regenerate"),
    path("settings/api-key/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("sessions/", views.session_list, name="session_list"),
    path("sessions/<int:pk>/sign-out/", views.session_end, name="session_end"),
    path("sessions/sign-out-others/", views.sessions_end_others, name="sessions_end_others"),
    path("sessions/api/<int:pk>/end/", views.api_session_end, name="api_session_end"),
    path("delete/", views.account_delete, name="account_delete"),
    path("email/confirm-again/", views.verification_resend, name="verification_resend"),
]
