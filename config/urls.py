from django.contrib import admin
from django.urls import include, path

from monitoring.views import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),  # first: its sessions page replaces allauth's
    path("accounts/", include("allauth.urls")),
    path("products/", include("catalog.urls")),
    path("", include("marketplaces.urls")),
    path("", include("monitoring.urls")),
]
