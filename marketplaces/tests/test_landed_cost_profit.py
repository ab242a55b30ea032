"""Profit with the landed cost: an order's profit (what the buyer paid − what the seller actually paid,
else the unit cost when it sold − marketplace and payment fees − returns allowance) on the order page,
and the dashboard's profit, which takes the actual cost once the seller records it."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.services import product_override_set
from catalog.tests.factories import PriceHistoryFactory
from marketplaces.models import MarketplaceData
from marketplaces.services import store_performance_import, unit_cost_at
from marketplaces.tests.doubles import isolated_cache, live_listing, supplier_product
from marketplaces.tests.factories import OrderFactory, SaleFactory, StoreAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "landed-profit")


@pytest.fixture
def store(user):
    """A Shopify store: no fee per sale from Shopify itself, payment 2.9 % + 0.30, returns allowance 2 %."""
    return StoreAccountFactory(
        user=user,
        marketplace="shopify",
        shop_domain="kettles.myshopify.com",
        fee_percent=Decimal("0"),
        fee_fixed=Decimal("0"),
        payment_fee_percent=Decimal("2.90"),
        payment_fee_fixed=Decimal("0.30"),
        returns_percent=Decimal("2"),
    )


@pytest.fixture
def sold(store):
    """One line sold yesterday at 50.00 whose unit cost when it sold was 27.06."""
    listing = live_listing(store, supplier_product(), price=Decimal("50.00"))
    yesterday = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    order = OrderFactory(store_account=store, ordered_at=yesterday, total=Decimal("50.00"))
    SaleFactory(order=order, listing=listing, unit_price=Decimal("50.00"), unit_cost=Decimal("27.06"))
    return order


def parts(page):
    return {
        name: re.sub(r"<[^>]+>", " ", value).split()[0]
        for name, value in re.findall(r'<dd data-part="(\w+)">(.*?)</dd>', page, re.S)
    }


def record_costs(client, order, **costs):
    data = {"supplier_order_number": "112-7", "cost_currency": "USD", **costs}
    return client.post(reverse("marketplaces:order_costs", args=[order.pk]), data)


def test_the_order_page_shows_profit_with_the_unit_cost_then_with_what_the_seller_paid(seller_client, sold):
    page = seller_client.get(sold.get_absolute_url()).content.decode()

    # 50.00 − 27.06 − 0 marketplace − (1.45 + 0.30) payment − 1.00 returns = 20.19
    assert {key: parts(page)[key] for key in ("revenue", "cost", "marketplace_fee", "payment_fee", "returns")} == {
        "revenue": "50.00",
        "cost": "27.06",
        "marketplace_fee": "0.00",
        "payment_fee": "1.75",
        "returns": "1.00",
    }
    assert parts(page)["profit"] == "20.19" and "Unit cost (estimate)" in page

    record_costs(seller_client, sold, cost_item="22.00", cost_shipping="4.50", cost_tax="1.50")

    page = seller_client.get(sold.get_absolute_url()).content.decode()
    assert (parts(page)["cost"], parts(page)["profit"]) == ("28.00", "19.25")  # 50 − 28.00 − 1.75 − 1.00
    assert "What you paid" in page


def test_another_sellers_order_page_and_costs_are_404(client, other_user, sold):
    client.force_login(other_user)
    assert client.get(sold.get_absolute_url()).status_code == 404
    assert record_costs(client, sold, cost_item="1.00").status_code == 404


def test_the_dashboards_profit_takes_the_actual_cost_once_recorded(seller_client, store, sold):
    store_performance_import(store, sold.ordered_at.date())
    row = MarketplaceData.objects.get(listing=sold.lines.get().listing)
    assert (row.revenue, row.cost_of_goods_sold, row.fees, row.returns_allowance, row.profit) == (
        Decimal("50.00"),
        Decimal("27.06"),
        Decimal("1.75"),
        Decimal("1.00"),
        Decimal("20.19"),
    )

    def dashboard_profit():
        return seller_client.get(reverse("monitoring:dashboard")).context["figures"].metric["profit"].current

    assert dashboard_profit() == Decimal("20.19")

    record_costs(seller_client, sold, cost_item="22.00", cost_shipping="4.50", cost_tax="1.50")

    row.refresh_from_db()
    assert (row.cost_of_goods_sold, row.profit) == (Decimal("28.00"), Decimal("19.25"))
    assert dashboard_profit() == Decimal("19.25")  # the cached figures were forgotten


def test_the_unit_cost_when_it_sold_has_shipping_and_tax_and_the_sellers_own_shipping(user, other_user):
    product = supplier_product(price=Decimal("20.00"))
    supplier = product.supplier
    supplier.default_shipping, supplier.sales_tax_percent = Decimal("5.00"), Decimal("10")
    supplier.save()
    sold_at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    PriceHistoryFactory(product=product, old_price=None, new_price=Decimal("18.00"), recorded_at=sold_at - timedelta(1))
    PriceHistoryFactory(product=product, old_price=Decimal("18.00"), new_price=Decimal("20.00"), recorded_at=sold_at)
    product_override_set(user=user, product=product, price=None, stock=None, shipping=Decimal("3.00"))

    # (18.00 + 5.00) × 1.10 = 25.30 for everyone; (18.00 + 3.00) × 1.10 = 23.10 with the seller's shipping
    before = sold_at - timedelta(hours=1)
    assert unit_cost_at(product, at=before, currency="USD") == Decimal("25.30")
    assert unit_cost_at(product, at=before, currency="USD", user=other_user) == Decimal("25.30")
    assert unit_cost_at(product, at=before, currency="USD", user=user) == Decimal("23.10")
