"""A supplier link that keeps showing another product: nothing of it is applied, and after
WRONG_PRODUCT_PAUSE_AFTER readings in a row the live listings pause (wrong_product) and every
seller tracking it is alerted once; our product's page again resumes them."""

from decimal import Decimal

import pytest
import respx

from accounts.tests.factories import UserFactory
from catalog.models import PriceHistory, Supplier
from catalog.tests.factories import ProductFactory, SupplierFactory
from catalog.tests.fetch_servers import Reply, fetch_settings_fixture, site_fixture  # noqa: F401 - fixtures
from marketplaces.tests.doubles import EbayDouble, bulk_request, ebay_store, isolated_cache, live_listing
from monitoring.cycle import TRACKING_JOB_TYPE
from monitoring.models import Alert, AlertType, Job
from monitoring.tasks import tracking_cycle_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("supplier_families")]

PAGE = """<html><head><title>{title}</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "Product", "name": "{title}",
 "sku": "{sku}", "offers": {{"@type": "Offer", "price": "{price}", "priceCurrency": "USD",
 "availability": "https://schema.org/InStock"}}}}</script></head><body><h1>{title}</h1></body></html>"""
OURS = PAGE.format(title="Blue enamel kettle", sku="KETTLE-1", price="20.00")
ANOTHER = PAGE.format(title="Garden hose 50 ft", sku="HOSE-9", price="3.00")


@pytest.fixture
def setup(site, settings):
    isolated_cache(settings, "wrong-product")
    settings.WRONG_PRODUCT_PAUSE_AFTER = 2
    shop = SupplierFactory(
        name="shop-local", family=Supplier.objects.get(name="generic"), base_url=site.url("/"), rate_limit=60000
    )
    product = ProductFactory(
        supplier=shop,
        asin="KETTLE-1",
        title="Blue enamel kettle",
        url=site.url("/kettle"),
        price=Decimal("20.00"),
        stock=50,
        availability="in_stock",
    )
    lister, watcher = UserFactory(tier="pro"), UserFactory(tier="pro")
    lister.tracked_products.add(product)
    watcher.tracked_products.add(product)
    listing = live_listing(ebay_store(user=lister), product, price=Decimal("30.99"), quantity_available=10)
    return product, listing, lister, watcher


def track(product):
    """One tracking round for the product, as `track --product` runs it (which exits non-zero when,
    as here, the only product could not be refreshed)."""
    job = Job.objects.create(type=TRACKING_JOB_TYPE, params={"product_ids": [product.pk]})
    tracking_cycle_task.apply(args=[job.pk])
    assert Job.objects.get(pk=job.pk).status == "success"


def test_wrong_product_readings_pause_the_listings_and_alert_each_seller_once(site, setup):
    product, listing, lister, watcher = setup
    site.routes["/kettle"] = Reply(body=ANOTHER)

    with respx.mock(assert_all_called=False) as api:
        api.route(host="127.0.0.1").pass_through()
        ebay = EbayDouble(api)
        track(product)
        listing.refresh_from_db()
        assert listing.status == "active" and not Alert.objects.exists()  # one reading: not yet

        track(product)
        track(product)

    product.refresh_from_db()
    listing.refresh_from_db()
    assert product.price == Decimal("20.00") and product.title == "Blue enamel kettle"
    assert not PriceHistory.objects.exists()
    assert (listing.status, listing.status_reason, listing.price) == ("paused", "wrong_product", Decimal("30.99"))
    sku = f"AM-{listing.pk}"
    assert ebay.bulk_bodies == [bulk_request(sku, offer_id=f"9{listing.pk}", quantity=0)]  # paused once
    alerts = Alert.objects.order_by("user_id")
    assert [(a.user_id, a.type) for a in alerts] == [
        (lister.pk, AlertType.WRONG_PRODUCT),
        (watcher.pk, AlertType.WRONG_PRODUCT),
    ]  # no price, stock or listing alert; one each although three readings were wrong
    assert "HOSE-9" in alerts[0].message and "paused" in alerts[0].message


def test_our_product_page_again_resumes_the_listings_and_clears_the_alerts(site, setup):
    product, listing, lister, watcher = setup
    site.routes["/kettle"] = Reply(body=ANOTHER)
    with respx.mock(assert_all_called=False) as api:
        api.route(host="127.0.0.1").pass_through()
        ebay = EbayDouble(api)
        track(product)
        track(product)
        site.routes["/kettle"] = Reply(body=OURS)  # the supplier fixed its link; the price did not move
        track(product)

    listing.refresh_from_db()
    product.refresh_from_db()
    assert (listing.status, listing.status_reason) == ("active", "")
    assert product.wrong_product_count == 0 and not product.follow_pending
    resumed = ebay.bulk_bodies[-1]["requests"][0]["shipToLocationAvailability"]["quantity"]
    assert resumed == listing.quantity_available > 0
    assert not Alert.objects.filter(type=AlertType.WRONG_PRODUCT, cleared_at__isnull=True).exists()
