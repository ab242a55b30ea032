from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from monitoring.views import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api")),
    path("healthz", healthz, name="healthz"),
    # Pages without our layout (the admin) make the browser ask for /favicon.ico.
    path("favicon.ico", lambda request: redirect(static("img/favicon.svg"), permanent=True)),
    path("accounts/", include("accounts.urls")),  # first: its sessions page replaces allauth's
    path("accounts/", include("allauth.urls")),
    path("products/", include("catalog.urls")),
    path("", include("marketplaces.urls")),
    path("", include("monitoring.urls")),
]
