import datetime
from decimal import Decimal

import factory
from django.conf import settings

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from marketplaces.models import Listing, ListingStatus, MarketplaceData, Order, OrderState, Sale, StoreAccount
from marketplaces.services.totals import totals_refresh


class StoreAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StoreAccount

    user = factory.SubFactory(UserFactory)
    marketplace = "ebay"
    account_name = factory.Sequence(lambda n: f"store-{n}")
    oauth_token = "v^1.1#i^1#oauth-access-token-secret"
    oauth_refresh_token = "v^1.1#r^1#oauth-refresh-token-secret"
    is_connected = True
    currency = "USD"
    # A store connected now: its grant has every scope we ask for (shipping included).
    granted_scopes = factory.LazyAttribute(lambda o: list(getattr(settings, f"{o.marketplace.upper()}_SCOPES", [])))


class ListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Listing

    user = factory.LazyAttribute(lambda o: o.store_account.user)
    store_account = factory.SubFactory(StoreAccountFactory)
    product = factory.SubFactory(ProductFactory)
    title = factory.LazyAttribute(lambda o: o.product.title)
    price = Decimal("29.99")
    quantity_available = 5
    status = ListingStatus.ACTIVE


class MarketplaceDataFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketplaceData

    listing = factory.SubFactory(ListingFactory)
    date = factory.Sequence(lambda n: datetime.date(2026, 1, 1) + datetime.timedelta(days=n))
    views = 40
    clicks = 4
    sales = 2
    revenue = Decimal("59.98")
    cost_of_goods_sold = Decimal("39.98")
    fees = Decimal("8.55")
    profit = factory.LazyAttribute(lambda o: MarketplaceData.profit_of(o.revenue, o.cost_of_goods_sold, o.fees))
    source = "ebay_traffic_report"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Saved as the app writes a performance row: with the totals kept."""
        row = super()._create(model_class, *args, **kwargs)
        totals_refresh(row.listing.store_account_id, days=[row.date], listing_ids=[row.listing_id])
        return row


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    store_account = factory.SubFactory(StoreAccountFactory)
    user = factory.LazyAttribute(lambda o: o.store_account.user)
    marketplace_order_id = factory.Sequence(lambda n: f"12-{n:05d}-00001")
    order_number = factory.LazyAttribute(lambda o: o.marketplace_order_id)
    buyer_username = factory.Sequence(lambda n: f"buyer_{n}")
    state = OrderState.TO_BUY
    ordered_at = factory.LazyFunction(lambda: datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2))
    currency = "USD"
    total = Decimal("30.99")


class SaleFactory(factory.django.DjangoModelFactory):
    """An order line; give `listing` for one that matches a listing (None: "not listed here")."""

    class Meta:
        model = Sale

    order = factory.SubFactory(OrderFactory)
    store_account = factory.LazyAttribute(lambda o: o.order.store_account)
    listing = None
    marketplace_order_id = factory.LazyAttribute(lambda o: o.order.marketplace_order_id)
    line_id = factory.Sequence(lambda n: f"line-{n}")
    title = factory.LazyAttribute(lambda o: o.listing.title if o.listing else "Unlisted widget")
    quantity = 1
    unit_price = Decimal("30.99")
    unit_cost = Decimal("20.00")
    currency = "USD"
    ordered_at = factory.LazyAttribute(lambda o: o.order.ordered_at)


__all__ = [
    "UserFactory",
    "StoreAccountFactory",
    "ListingFactory",
    "MarketplaceDataFactory",
    "OrderFactory",
    "SaleFactory",
]
