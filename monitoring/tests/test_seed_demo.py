"""seed_demo: the demo seller's data set and the load-test data set, idempotent and consistent."""

import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import User
from accounts.tests.factories import UserFactory
from catalog import demo_shop
from catalog.models import PriceHistory, Product, ProxyPool, StockHistory, Supplier, price_change_percent
from conftest import CORE_MODELS
from marketplaces.models import Listing, ListingStatus, MarketplaceData, StatusReason, StoreAccount
from marketplaces.tests.test_totals import assert_totals_right
from monitoring.demo import DEMO_EMAIL, DEMO_PASSWORD, LOADTEST_EMAIL, loadtest_seed
from monitoring.models import Alert, AuditLog, Job, JobStatus, Notification

pytestmark = pytest.mark.django_db
SHOP_SKUS = [item.sku for item in demo_shop.ITEMS]


@pytest.fixture(autouse=True)
def shop_clock(monkeypatch):
    """The demo shop held in one window, so what seed_demo writes from it is the same every run."""
    monkeypatch.setattr(demo_shop, "clock", lambda: 1_000 * 120 + 30)


def _seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _counts() -> dict:
    counts = {label: apps.get_model(label).objects.count() for label in CORE_MODELS}
    counts["tracked_products"] = User.tracked_products.through.objects.count()
    return counts


def _percent_of(amount, percent) -> Decimal:
    return (amount * percent / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _assert_rows_add_up(rows):
    """Every performance row: money never negative, profit = revenue − cost − fees, fees by the store."""
    checked = 0
    for row in rows.select_related("listing__store_account"):
        store = row.listing.store_account
        assert row.revenue >= 0 and row.fees >= 0 and row.cost_of_goods_sold >= 0
        assert row.profit == row.revenue - row.cost_of_goods_sold - row.fees
        marketplace_fee = _percent_of(row.revenue, store.fee_percent) + row.sales * store.fee_fixed
        payment_fee = _percent_of(row.revenue, store.payment_fee_percent) + row.sales * store.payment_fee_fixed
        assert row.fees == marketplace_fee + payment_fee
        if row.clicks is not None:
            assert row.sales <= row.clicks <= row.views
        if not row.sales:
            assert row.revenue == row.cost_of_goods_sold == row.profit == 0
        checked += 1
    assert checked


def test_running_twice_changes_nothing():
    _seed()
    first = _counts()
    made = [label for label, count in first.items() if count]
    assert set(made) >= set(CORE_MODELS) - {"accounts.Session", "monitoring.AnalyticsCache"}
    rows = sorted(MarketplaceData.objects.values_list("listing_id", "date", "sales", "profit"))
    password = User.objects.get(email=DEMO_EMAIL).password

    output = _seed()

    assert _counts() == first
    assert sorted(MarketplaceData.objects.values_list("listing_id", "date", "sales", "profit")) == rows
    assert User.objects.get(email=DEMO_EMAIL).password == password
    assert "nothing" in output


def test_command_prints_login_url_and_working_credentials():
    output = _seed()

    assert "/login" in output
    assert DEMO_EMAIL in output and DEMO_PASSWORD in output
    seller = User.objects.get(email=DEMO_EMAIL)
    assert seller.check_password(DEMO_PASSWORD)
    assert seller.is_demo and seller.tier == "pro"


def test_demo_password_is_restored_when_changed():
    _seed()
    seller = User.objects.get(email=DEMO_EMAIL)
    seller.set_password("something-else-entirely")
    seller.save()

    _seed()

    seller.refresh_from_db()
    assert seller.check_password(DEMO_PASSWORD)


def test_a_real_account_at_the_demo_address_is_never_touched():
    UserFactory(email=DEMO_EMAIL)

    with pytest.raises(CommandError, match="real account"):
        _seed()

    assert not User.objects.get(email=DEMO_EMAIL).is_demo
    assert not Listing.objects.exists() and not Product.objects.exists()


def test_every_listing_status_and_pause_reason_appears():
    _seed()
    listings = Listing.objects.filter(user__email=DEMO_EMAIL).exclude(product__asin__in=SHOP_SKUS)

    assert set(listings.values_list("status", flat=True)) == set(ListingStatus.values)
    paused_reasons = set(listings.filter(status=ListingStatus.PAUSED).values_list("status_reason", flat=True))
    assert paused_reasons == {StatusReason.LOW_MARGIN, StatusReason.OUT_OF_STOCK, StatusReason.MANUAL_PAUSE}
    assert not listings.filter(status=ListingStatus.PENDING, external_listing_id__isnull=False).exists()
    assert not listings.filter(status=ListingStatus.PENDING, marketplace_data__isnull=False).exists()
    assert not listings.filter(status__in=["ended", "delisted"], ended_at__isnull=True).exists()
    out_of_stock = listings.get(status_reason=StatusReason.OUT_OF_STOCK)
    assert out_of_stock.product.availability == "out_of_stock"
    assert out_of_stock.quantity_available == 0


def test_performance_rows_add_up_and_cost_follows_supplier_price():
    _seed()
    _assert_rows_add_up(MarketplaceData.objects.all())
    assert_totals_right(*StoreAccount.objects.all())  # the dashboard's totals of the rows

    for row in MarketplaceData.objects.filter(sales__gt=0).select_related("listing"):
        known_prices = set(
            PriceHistory.objects.filter(product=row.listing.product_id).values_list("new_price", flat=True)
        )
        assert row.cost_of_goods_sold / row.sales in known_prices


def test_performance_has_weekly_rhythm_and_spans_ninety_days():
    _seed()
    ebay = MarketplaceData.objects.filter(listing__store_account__marketplace="ebay")
    weekend = [row.views for row in ebay if row.date.weekday() >= 5]
    weekdays = [row.views for row in ebay if row.date.weekday() < 5]

    assert sum(weekend) / len(weekend) > 1.1 * sum(weekdays) / len(weekdays)
    assert len({row.date for row in ebay}) == 90
    assert not MarketplaceData.objects.filter(listing__store_account__marketplace="shopify", views__isnull=False)


def test_history_rows_are_changes_only_and_end_at_the_current_values():
    _seed()
    for product in Product.objects.filter(trackers__email=DEMO_EMAIL):
        prices = list(product.price_history.order_by("recorded_at"))
        assert prices[0].old_price is None
        for before, after in zip(prices, prices[1:], strict=False):
            assert after.old_price == before.new_price != after.new_price
            assert after.price_change_percent == price_change_percent(after.old_price, after.new_price)
        assert prices[-1].new_price == product.price
        stocks = list(product.stock_history.order_by("recorded_at"))
        for before, after in zip(stocks, stocks[1:], strict=False):
            assert (after.old_stock, after.old_availability) == (before.new_stock, before.new_availability)
            assert (after.new_stock, after.new_availability) != (after.old_stock, after.old_availability)
        assert (stocks[-1].new_stock, stocks[-1].new_availability) == (product.stock, product.availability)


def test_demo_world_is_harmless_and_on_the_supplier_families():
    _seed()
    seller = User.objects.get(email=DEMO_EMAIL)

    assert seller.tracked_products.count() == 50 + len(SHOP_SKUS)  # the static demo and the demo shop
    proxies = ProxyPool.objects.all()
    assert proxies.exists()
    assert not proxies.filter(is_active=True).exists()
    assert all("placeholder" in proxy.deactivated_reason for proxy in proxies)
    stores = StoreAccount.objects.filter(user=seller)
    assert {store.marketplace for store in stores} == {"ebay", "shopify"}
    assert all(store.is_connected for store in stores)
    assert all(not (s.api_key or s.api_secret or s.oauth_token or s.oauth_refresh_token) for s in stores)
    assert Supplier.objects.get(name="amazon-de").family.name == "amazon"
    assert Supplier.objects.get(name="shop-example-com").family.name == "generic"
    used = set(Product.objects.filter(trackers=seller).values_list("supplier__name", flat=True))
    assert used >= {"amazon", "aliexpress", "costco", "amazon-de", "shop-example-com"}
    assert PriceHistory.objects.count() and StockHistory.objects.count()


def _fees(store) -> tuple:
    return (store.fee_percent, store.fee_fixed, store.payment_fee_percent, store.payment_fee_fixed)


def test_store_fees_are_split_into_the_marketplaces_and_the_payment_processors():
    _seed()
    _seed("--listings", "8", "--days", "30")

    demo = StoreAccount.objects.filter(user__email=DEMO_EMAIL)
    assert _fees(demo.get(marketplace="ebay")) == (Decimal("13.25"), Decimal("0.30"), 0, 0)
    assert _fees(demo.get(marketplace="shopify")) == (0, 0, Decimal("2.90"), Decimal("0.30"))
    etsy = StoreAccount.objects.get(user__email=LOADTEST_EMAIL.format(n=1), marketplace="etsy")
    assert _fees(etsy) == (Decimal("6.50"), Decimal("0.20"), Decimal("3.00"), Decimal("0.25"))
    sold = MarketplaceData.objects.filter(sales__gt=0)
    assert sold.filter(listing__store_account__marketplace="shopify").exists()
    assert sold.filter(listing__store_account__marketplace="etsy").exists()
    _assert_rows_add_up(MarketplaceData.objects.all())


def test_a_rerun_splits_the_combined_fee_an_older_seed_wrote():
    _seed("--listings", "8", "--days", "30")
    stores = StoreAccount.objects.filter(user__email=LOADTEST_EMAIL.format(n=1))
    stores.filter(marketplace="shopify").update(
        fee_percent=Decimal("2.90"), fee_fixed=Decimal("0.25"), payment_fee_percent=0, payment_fee_fixed=0
    )
    stores.filter(marketplace="etsy").update(
        fee_percent=Decimal("9.50"), fee_fixed=Decimal("0.45"), payment_fee_percent=0, payment_fee_fixed=0
    )
    stores.filter(marketplace="ebay").update(fee_percent=Decimal("12.00"))  # the seller's own figure stays

    _seed("--listings", "8", "--days", "30")

    assert _fees(stores.get(marketplace="shopify")) == (0, 0, Decimal("2.90"), Decimal("0.30"))
    assert _fees(stores.get(marketplace="etsy")) == (Decimal("6.50"), Decimal("0.20"), Decimal("3.00"), Decimal("0.25"))
    assert {store.fee_percent for store in stores.filter(marketplace="ebay")} == {Decimal("12.00")}


def test_alerts_notifications_jobs_and_audit_rows():
    _seed()
    seller = User.objects.get(email=DEMO_EMAIL)

    alerts = Alert.objects.filter(user=seller)
    assert alerts.open().count() >= 3
    assert alerts.filter(cleared_at__isnull=False).count() == 1
    assert alerts.open().filter(acknowledged_at__isnull=False).count() == 1
    notifications = Notification.objects.filter(user=seller)
    assert notifications.filter(recipient="email", is_sent=True, sent_at__isnull=False).exists()
    failed = notifications.get(is_sent=False)
    assert failed.error
    jobs = {job.status: job for job in Job.objects.filter(user=seller)}
    assert {JobStatus.SUCCESS, JobStatus.FAILED} <= set(jobs)
    assert jobs[JobStatus.FAILED].error_message
    assert not Job.objects.filter(user=seller).unfinished().exists()  # no job "running" with no worker
    audit = AuditLog.objects.all()
    assert audit.count() > 5
    assert set(audit.values_list("owner", flat=True)) == {seller.pk}


def test_load_test_run_makes_rows_and_is_idempotent():
    output = _seed("--listings", "50", "--days", "10", "--sellers", "2")
    first = _counts()

    sellers = User.objects.filter(email__in=[LOADTEST_EMAIL.format(n=n) for n in (1, 2)])
    assert sellers.count() == 2 and all(seller.is_demo for seller in sellers)
    for seller in sellers:
        assert seller.listings.count() == 50
        assert MarketplaceData.objects.filter(listing__user=seller).count() == 50 * 10
        assert seller.email in output
    assert MarketplaceData.objects.count() == 50 * 10 * 2
    assert "Done in" in output
    _assert_rows_add_up(MarketplaceData.objects.all())
    assert_totals_right(*StoreAccount.objects.all())

    _seed("--listings", "50", "--days", "10", "--sellers", "2")

    assert _counts() == first


def test_load_test_extends_a_smaller_run_without_duplicates():
    _seed("--listings", "20", "--days", "5")

    _seed("--listings", "30", "--days", "7")

    seller = User.objects.get(email=LOADTEST_EMAIL.format(n=1))
    assert seller.listings.count() == 30
    assert MarketplaceData.objects.filter(listing__user=seller).count() == 30 * 7


def test_load_test_rows_are_reproducible_whichever_way_they_are_written():
    loadtest_seed(listings=12, days=6, sellers=1)
    snapshot = sorted(
        MarketplaceData.objects.values_list(
            "listing__external_listing_id", "date", "views", "clicks", "sales", "revenue", "fees", "profit"
        )
    )
    MarketplaceData.objects.all().delete()

    loadtest_seed(listings=12, days=6, sellers=1, use_copy=False)

    again = MarketplaceData.objects.values_list(
        "listing__external_listing_id", "date", "views", "clicks", "sales", "revenue", "fees", "profit"
    )
    assert sorted(again) == snapshot


@pytest.mark.parametrize("use_copy", [None, False], ids=["copy", "bulk_create"])
def test_load_test_writes_a_week_of_every_listing_before_the_next_week(use_copy):
    loadtest_seed(listings=6, days=10, sellers=1, use_copy=use_copy)

    dates = sorted({day for (day,) in MarketplaceData.objects.values_list("date")})
    written = list(MarketplaceData.objects.order_by("pk").values_list("listing_id", "date"))
    assert {listing for listing, _ in written[: 6 * 7]} == set(Listing.objects.values_list("pk", flat=True))
    assert {day for _, day in written[: 6 * 7]} == set(dates[:7])  # as the daily import lays them out
    assert {day for _, day in written[6 * 7 :]} == set(dates[7:])


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("supplier_families")
def test_on_postgresql_a_load_test_run_leaves_its_tables_vacuumed_and_analyzed():
    if connection.vendor != "postgresql":
        pytest.skip("VACUUM and the visibility map are PostgreSQL's.")

    output = _seed("--listings", "40", "--days", "20")

    assert "VACUUM (ANALYZE)" in output
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relallvisible, reltuples FROM pg_class WHERE relname = %s", [MarketplaceData._meta.db_table]
        )
        all_visible, tuples = cursor.fetchone()
    assert all_visible > 0 and tuples == 40 * 20


def test_load_test_options_need_listings():
    with pytest.raises(CommandError, match="--listings"):
        _seed("--days", "10")


def test_the_demo_seller_has_orders_in_every_state_once():
    from marketplaces.models import Order, OrderState

    _seed()
    _seed()

    seller = User.objects.get(email=DEMO_EMAIL)
    orders = Order.objects.filter(user=seller)
    assert set(orders.values_list("state", flat=True)) == set(OrderState.values)
    assert orders.count() == orders.values("store_account", "marketplace_order_id").distinct().count()
    to_buy = orders.filter(state=OrderState.TO_BUY)
    assert all(order.ship_to["name"] and order.ship_by for order in to_buy)
    assert to_buy.filter(lines__listing__isnull=True).exists()  # a line "not listed here"
    shipped = orders.get(state=OrderState.SHIPPED)
    assert shipped.shipments.get().status == "sent" and shipped.actual_cost() is not None


def test_a_rerun_never_brings_back_a_job_the_seller_cancelled_or_retried():
    _seed()
    seller = User.objects.get(email=DEMO_EMAIL)
    Job.objects.filter(user=seller).update(status=JobStatus.CANCELLED)
    before = set(Job.objects.filter(user=seller).values_list("pk", "status"))

    _seed()

    assert set(Job.objects.filter(user=seller).values_list("pk", "status")) == before


def test_an_older_seeds_frozen_running_job_is_finished_by_a_rerun():
    _seed()
    seller = User.objects.get(email=DEMO_EMAIL)
    Job.objects.filter(user=seller, type="import_csv").update(status=JobStatus.RUNNING, progress_done=37)

    _seed()

    job = Job.objects.get(user=seller, type="import_csv")
    assert job.status == JobStatus.SUCCESS and job.progress_done == job.progress_total


def test_in_development_the_demo_shop_products_are_tracked_listed_and_alerted_by_email(settings):
    settings.DEMO_SHOP_URL = "http://127.0.0.1:8123/demo-shop/"
    output = _seed()
    seller = User.objects.get(email=DEMO_EMAIL)

    shop = Product.objects.filter(asin__in=SHOP_SKUS)
    assert shop.count() == len(SHOP_SKUS) and seller.tracked_products.filter(asin__in=SHOP_SKUS).count() == 6
    assert all(p.url.startswith("http://127.0.0.1:8123/demo-shop/products/") for p in shop)
    assert str(shop.first().supplier) == demo_shop.SHOP_NAME
    for product in shop:  # as the shop had it one window ago: the first round sees the shop move on
        item = demo_shop.BY_SKU[product.asin]
        assert product.price == demo_shop.item_state(item, demo_shop.window_now() - 1).price
        assert product.listings.get(user=seller).store_account.marketplace == "ebay"
    assert seller.notification_channels.get().address == DEMO_EMAIL
    assert "Demo shop" in output and "http://127.0.0.1:8123/demo-shop/" in output


def test_a_rerun_on_another_port_moves_the_demo_shop_products_there(settings):
    _seed()
    settings.DEMO_SHOP_URL = "http://127.0.0.1:8765/demo-shop/"

    _seed()

    urls = Product.objects.filter(asin__in=SHOP_SKUS).values_list("url", flat=True)
    assert all(url.startswith("http://127.0.0.1:8765/demo-shop/") for url in urls)
    assert Supplier.objects.get(display_name=demo_shop.SHOP_NAME).base_url == "http://127.0.0.1:8765"


def test_in_production_the_demo_has_no_demo_shop(settings):
    settings.DJANGO_ENV = "production"
    settings.DEMO_SHOP_ENABLED = False

    output = _seed()

    assert not Product.objects.filter(asin__in=SHOP_SKUS).exists()
    assert "Demo shop" not in output


def test_the_printed_address_is_where_the_site_runs_and_counts_read_as_words(settings):
    settings.SITE_URL = "http://127.0.0.1:8765"

    output = _seed()

    assert "Log in at http://127.0.0.1:8765/accounts/login/" in output
    assert "1 seller." in output and " 7 alerts," in output and " alert," not in output
