import datetime
from decimal import Decimal

import factory

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from marketplaces.models import Listing, ListingStatus, MarketplaceData, StoreAccount


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


__all__ = ["UserFactory", "StoreAccountFactory", "ListingFactory", "MarketplaceDataFactory"]
