"""Operator commands: sync_store, sync_stores and refresh_rates."""

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import httpx
import pytest
import respx
from django.core.management import CommandError, call_command

from marketplaces.models import ExchangeRate, Listing, MarketplaceData, Sale
from marketplaces.tests.doubles import (
    EBAY_API,
    ECB_DAILY_XML,
    ECB_URL,
    ShopifyDouble,
    ebay_error,
    ebay_store,
    isolated_cache,
    live_listing,
    shopify_order,
    shopify_orders,
    shopify_store,
    supplier_product,
)
from marketplaces.tests.spec import spec_route
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "commands")


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def store_with_a_sale(api):
    store = shopify_store()
    listing = live_listing(store, supplier_product(), external_listing_id="gid://shopify/Product/1")
    Listing.objects.filter(pk=listing.pk).update(created_at=datetime(2026, 3, 1, tzinfo=UTC))
    shop = ShopifyDouble(api)
    shop.answer(
        "Orders",
        shopify_orders(shopify_order(1, sku=f"AM-{listing.pk}", product_id="gid://shopify/Product/1", quantity=2)),
    )
    shop.answer("ProductState", active_product("gid://shopify/Product/1", sku=f"AM-{listing.pk}"))
    return store, listing, shop


def active_product(gid, *, sku):
    variant = {"id": "gid://shopify/ProductVariant/1", "sku": sku, "price": "30.99", "inventoryQuantity": 5}
    return {"product": {"id": gid, "status": "ACTIVE", "variants": {"nodes": [variant]}}}


def test_sync_store_fetches_orders_and_imports_the_day(store_with_a_sale):
    store, listing, shop = store_with_a_sale

    output = run("sync_store", str(store.pk), "--day", "2026-03-02")

    assert shop.operations() == ["Orders", "ProductState"]
    assert Sale.objects.get().quantity == 2
    row = MarketplaceData.objects.get(listing=listing, date=date(2026, 3, 2))
    assert (row.sales, row.revenue) == (2, Decimal("61.98"))
    assert output.count("\n") == 1
    assert f"(#{store.pk}): 1 order lines, 1 new sales; statistics of 2026-03-02: 1 listings, 2 sold" in output


def test_sync_store_finds_listings_removed_on_the_marketplace(store_with_a_sale):
    store, listing, shop = store_with_a_sale
    gone = live_listing(store, supplier_product(), external_listing_id="gid://shopify/Product/2")
    ended = live_listing(store, supplier_product(), external_listing_id="gid://shopify/Product/3", status="ended")
    shop.answers["ProductState"] = [
        active_product("gid://shopify/Product/1", sku=f"AM-{listing.pk}"),
        {"product": None},
        {"product": None},
    ]

    output = run("sync_store", str(store.pk), "--day", "2026-03-02")

    gone.refresh_from_db()
    listing.refresh_from_db()
    ended.refresh_from_db()
    assert (gone.status, listing.status, ended.status) == ("delisted", "active", "ended")
    assert gone.ended_at is not None
    assert shop.operations().count("ProductState") == 2  # our own ended listing is not asked about
    audit = AuditLog.objects.get(resource_type="listing", resource_id=str(gone.pk))
    assert (audit.action, audit.user, audit.owner) == ("delisted", None, gone.user)
    assert "1 listings removed on the marketplace (delisted)" in output


@pytest.mark.parametrize("args", [["12345"], ["abc"], ["1", "--day", "02/03/2026"]])
def test_sync_store_refuses_a_bad_id_or_day(args):
    with pytest.raises(CommandError):
        run("sync_store", *args)


def test_sync_store_says_why_a_demo_store_is_skipped(api):
    store = shopify_store()
    store.user.is_demo = True
    store.user.save()
    assert "skipped — demo seller's store: never synced" in run("sync_store", str(store.pk))
    assert not api.calls


def test_sync_store_fails_with_the_marketplaces_words(api):
    store = ebay_store(oauth_refresh_token=None)
    spec_route(
        api, "GET", f"{EBAY_API}/sell/fulfillment/v1/order", status=401, json=ebay_error("Invalid token", error_id=1001)
    )
    spec_route(api, "GET", f"{EBAY_API}/sell/analytics/v1/traffic_report", status=401, json=ebay_error("x", error_id=1))

    with pytest.raises(CommandError) as error:
        run("sync_store", str(store.pk), "--day", "2026-03-02")

    assert "FAILED: orders: The marketplace no longer accepts this store's authorisation" in str(error.value)
    store.refresh_from_db()
    assert store.needs_reauth


def test_sync_stores_prints_a_line_per_store_and_skips_demo_stores(store_with_a_sale):
    store, _, _ = store_with_a_sale
    demo = shopify_store()
    demo.user.is_demo = True
    demo.user.save()

    output = run("sync_stores", "--day", "2026-03-02")

    lines = output.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{store} (#{store.pk}): 1 order lines")
    assert lines[1] == f"{demo} (#{demo.pk}): skipped — demo seller's store: never synced"
    assert lines[2] == "1 synced, 0 failed, 1 skipped."


def test_refresh_rates_stores_the_ecb_rates(api):
    api.get(ECB_URL).respond(200, content=ECB_DAILY_XML)

    output = run("refresh_rates")

    assert "ECB rates of 2026-03-02: 3 currencies updated (GBP, JPY, USD)." in output
    assert ExchangeRate.objects.count() == 3


def test_refresh_rates_fails_clearly_when_the_ecb_cannot_be_reached(api):
    api.get(ECB_URL).mock(side_effect=httpx.ConnectError("no route"))
    with pytest.raises(CommandError, match="The rates kept so far stay in use"):
        run("refresh_rates")
