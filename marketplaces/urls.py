from django.urls import path

from . import views

app_name = "marketplaces"
urlpatterns = [
    # Listings
    path("listings/", views.listing_list, name="listing_list"),
    path("listings/new/", views.listing_create, name="listing_create"),
    path("listings/export.csv", views.listing_export_csv, name="listing_export_csv"),
    path("listings/bulk/", views.listing_bulk, name="listing_bulk"),
    path("listings/<int:pk>/", views.listing_detail, name="listing_detail"),
    path("listings/<int:pk>/pause/", views.listing_pause, name="listing_pause"),
    path("listings/<int:pk>/resume/", views.listing_resume, name="listing_resume"),
    path("listings/<int:pk>/end/", views.listing_end, name="listing_end"),
    path("listings/<int:pk>/publish/", views.listing_publish, name="listing_publish"),
    path("listings/<int:pk>/price-lock/", views.listing_price_lock, name="listing_price_lock"),
    path("listings/<int:pk>/publish-settings/", views.listing_publish_settings, name="listing_publish_settings"),
    path("listings/<int:pk>/performance.csv", views.listing_performance_csv, name="listing_performance_csv"),
    path("listings/<int:pk>/sources/", views.listing_source_add_view, name="listing_source_add"),
    path("listings/<int:pk>/sources/<int:source_id>/move/", views.listing_source_move_view, name="listing_source_move"),
    path(
        "listings/<int:pk>/sources/<int:source_id>/remove/",
        views.listing_source_remove_view,
        name="listing_source_remove",
    ),
    path("listings/<int:pk>/max-price/", views.listing_max_price_view, name="listing_max_price"),
    # Orders
    path("orders/", views.order_list, name="order_list"),
    path("orders/export.csv", views.order_list_csv, name="order_list_csv"),
    path("orders/ship-csv/", views.order_ship_csv, name="order_ship_csv"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/buy/", views.order_buy_view, name="order_buy"),
    path("orders/<int:pk>/costs/", views.order_costs, name="order_costs"),
    path("orders/<int:pk>/ship/", views.order_ship_view, name="order_ship"),
    # Stores
    path("stores/", views.store_list, name="store_list"),
    path("stores/connect/", views.store_connect, name="store_connect"),
    path("stores/ebay/callback/", views.oauth_callback_ebay, name="oauth_callback_ebay"),
    path("stores/etsy/callback/", views.oauth_callback_etsy, name="oauth_callback_etsy"),
    path("stores/shopify/callback/", views.oauth_callback_shopify, name="oauth_callback_shopify"),
    path("stores/<int:pk>/", views.store_detail, name="store_detail"),
    path("stores/<int:pk>/reconnect/", views.store_reconnect, name="store_reconnect"),
    path("stores/<int:pk>/disconnect/", views.store_disconnect, name="store_disconnect"),
    path("stores/<int:pk>/settings/", views.store_settings, name="store_settings"),
    path("stores/<int:pk>/settings/preview/", views.store_pricing_preview, name="store_pricing_preview"),
    path("stores/<int:pk>/automation/", views.store_automation, name="store_automation"),
    path("stores/<int:pk>/sync/", views.store_sync_now, name="store_sync"),
    path("stores/<int:pk>/publish-defaults/", views.store_publish_defaults, name="store_publish_defaults"),
    path(
        "stores/<int:pk>/publish-defaults/fetch/",
        views.store_publish_defaults_fetch,
        name="store_publish_defaults_fetch",
    ),
    # Called by the marketplaces (signed requests; no login, no CSRF)
    path("marketplaces/ebay/account-deletion/", views.ebay_account_deletion, name="ebay_account_deletion"),
    path("marketplaces/shopify/privacy/", views.shopify_privacy_webhook, name="shopify_privacy_webhook"),
]
