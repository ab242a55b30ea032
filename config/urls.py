from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from catalog.views import demo_shop_index, demo_shop_product
from monitoring.views import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api")),
    path("healthz", healthz, name="healthz"),
    # Pages without our layout (the admin) make the browser ask for /favicon.ico.
    path("favicon.ico", lambda request: redirect(static("img/favicon.svg"), permanent=True)),
    # The demo shop: product pages of our own, served in development only (catalog.demo_shop).
    path("demo-shop/", demo_shop_index, name="demo_shop_index"),
    path("demo-shop/products/<slug:slug>/", demo_shop_product, name="demo_shop_product"),
    path("accounts/", include("accounts.urls")),  # first: its sessions page replaces allauth's
    path("accounts/", include("allauth.urls")),
    path("products/", include("catalog.urls")),
    path("", include("marketplaces.urls")),
    path("", include("monitoring.urls")),
]
