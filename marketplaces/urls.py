from django.urls import path

from . import views

app_name = "marketplaces"
urlpatterns = [
    path("listings/", views.listing_list, name="listing_list"),
    path("listings/<int:pk>/", views.listing_detail, name="listing_detail"),
    path("stores/", views.store_list, name="store_list"),
    path("stores/<int:pk>/", views.store_detail, name="store_detail"),
]
