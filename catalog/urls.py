from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("add/", views.product_add, name="product_add"),
    path("export.csv", views.product_export_csv, name="product_export_csv"),
    path("import/", views.product_import, name="product_import"),
    path("import/template.csv", views.import_template, name="import_template"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("<int:pk>/", views.product_detail, name="product_detail"),
    path("<int:pk>/history.csv", views.product_history_csv, name="product_history_csv"),
    path("<int:pk>/untrack/", views.product_untrack, name="product_untrack"),
    path("<int:pk>/drop/", views.product_drop, name="product_drop"),
    path("<int:pk>/own-values/", views.product_override, name="product_override"),
    path("<int:pk>/own-values/clear/", views.product_override_clear, name="product_override_clear"),
    path("<int:pk>/refresh/", views.product_refresh, name="product_refresh"),
    path("<int:pk>/refresh/<int:job_pk>/", views.product_refresh_status, name="product_refresh_status"),
]
