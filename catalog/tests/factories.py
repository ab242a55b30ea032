from decimal import Decimal

import factory

from catalog.models import Availability, PriceHistory, Product, ProxyPool, StockHistory, Supplier


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"shop{n}-example-com")
    base_url = factory.LazyAttribute(lambda o: f"https://{o.name.replace('-', '.')}")
    currency = "USD"
    rate_limit = 30
    family = factory.LazyFunction(lambda: Supplier.objects.get(name="generic"))


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    supplier = factory.SubFactory(SupplierFactory)
    asin = factory.Sequence(lambda n: f"B0{n:08d}")
    title = factory.Faker("sentence", nb_words=6)
    description = factory.Faker("paragraph")
    price = Decimal("19.99")
    currency = "USD"
    stock = None
    availability = Availability.IN_STOCK
    rating = Decimal("4.40")
    reviews_count = 120
    images = factory.LazyFunction(lambda: ["https://images.example.com/a.jpg"])
    url = factory.LazyAttribute(lambda o: f"{o.supplier.base_url}/dp/{o.asin}")


class PriceHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceHistory

    product = factory.SubFactory(ProductFactory)
    old_price = Decimal("19.99")
    new_price = Decimal("21.99")
    currency = "USD"
    price_change_percent = Decimal("10.01")


class StockHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockHistory

    product = factory.SubFactory(ProductFactory)
    old_stock = 10
    new_stock = 3
    old_availability = Availability.IN_STOCK
    new_availability = Availability.LOW_STOCK


class ProxyPoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProxyPool

    host = factory.Sequence(lambda n: f"proxy{n}.example.net")
    port = 8080
    username = "scraper"
    password = "proxy-secret-pass"
    protocol = "http"
    country = "US"
