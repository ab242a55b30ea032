"""A tracking round where some products break: each fails alone, the good ones are refreshed in
the same round, claims are released, the Job result names every failure, `track` exits 0."""

from decimal import Decimal

import pytest
import respx
from django.core.management import CommandError, call_command
from django.db import connection

from catalog import refreshing
from catalog.models import PriceHistory, Product, Supplier
from catalog.services import products_claim
from catalog.tests.factories import ProductFactory, SupplierFactory
from catalog.tests.fetch_servers import (  # noqa: F401 - fixtures
    CAPTCHA_PAGE,
    Reply,
    fetch_settings_fixture,
    site_fixture,
)
from conftest import BREAKS_EXTRACTION
from marketplaces.tests.doubles import EBAY_INV, ebay_store, isolated_cache, live_listing
from monitoring.cycle import FOLLOW_UP_FAILED
from monitoring.models import Job
from monitoring.records import JobCancelled

# The round fetches in worker threads, which see only committed rows.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("supplier_families")]

PAGE = """<html><head><title>{title}</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "Product", "name": "{title}",
 "sku": "{sku}", "offers": {{"@type": "Offer", "price": {price}, "priceCurrency": "USD",
 "availability": "https://schema.org/InStock"}}}}</script></head><body><h1>{title}</h1></body></html>"""


@pytest.fixture
def shop(site, settings):
    isolated_cache(settings, "cycle-isolation")
    return SupplierFactory(
        name="shop-local", family=Supplier.objects.get(name="generic"), base_url=site.url("/"), rate_limit=60000
    )


@pytest.fixture
def seller(user):
    user.tier = "pro"
    user.save(update_fields=["tier"])
    return user


def item(site, shop, seller, sku, *, price='"24.00"', title=None):
    """A tracked product at 20.00 whose page now says `price`."""
    title = title or f"Item {sku}"
    site.routes[f"/{sku}"] = Reply(body=PAGE.format(title=title, sku=sku, price=price))
    product = ProductFactory(supplier=shop, asin=sku, title=title, url=site.url(f"/{sku}"), price=Decimal("20.00"))
    seller.tracked_products.add(product)
    return product


def price_of(product):
    return Product.objects.get(pk=product.pk).price


@pytest.mark.usefixtures("breaking_extraction")
def test_a_page_that_breaks_the_extraction_fails_alone_in_the_round(site, shop, seller):
    good = item(site, shop, seller, "GOOD-1")
    bad = item(site, shop, seller, "BAD-1")
    site.routes["/BAD-1"] = Reply(
        body=PAGE.format(title="Item BAD-1", sku="BAD-1", price='"24.00"') + BREAKS_EXTRACTION
    )
    other = item(site, shop, seller, "GOOD-2")

    call_command("track")

    job = Job.objects.get(type="track_products")
    assert job.status == "success" and job.result["counts"].get("updated") == 2
    assert price_of(good) == price_of(other) == Decimal("24.00") and price_of(bad) == Decimal("20.00")
    [failure] = job.result["failures"]
    assert failure["product_id"] == bad.pk and failure["reason"]
    assert not Product.objects.filter(refresh_claimed_until__isnull=False).exists()


def test_a_reading_the_database_refuses_fails_alone_in_the_round(site, shop, seller):
    good = item(site, shop, seller, "GOOD-1")
    gone = item(site, shop, seller, "GONE-1")
    other = item(site, shop, seller, "GOOD-2")
    page = site.routes["/GONE-1"]

    def deleted_while_read(handler):
        Product.objects.filter(pk=gone.pk).delete()  # staff deleted it while its page was read
        connection.close()  # this server thread's own connection
        return page

    site.routes["/GONE-1"] = deleted_while_read

    call_command("track")

    job = Job.objects.get(type="track_products")
    assert price_of(good) == price_of(other) == Decimal("24.00")
    assert job.result["counts"] == {"updated": 2, "failed": 1}
    [failure] = job.result["failures"]
    assert failure["product_id"] == gone.pk and "could not be written" in failure["reason"]
    assert set(PriceHistory.objects.values_list("product_id", flat=True)) == {good.pk, other.pk}


def test_a_follow_up_that_raises_fails_alone_and_is_tried_again_next_round(site, shop, seller):
    good = item(site, shop, seller, "GOOD-1")
    listed = item(site, shop, seller, "LISTED-1")
    listing = live_listing(ebay_store(user=seller), listed, price=Decimal("30.99"))

    with respx.mock(assert_all_called=False) as api:
        api.route(host="127.0.0.1").pass_through()  # the supplier pages are really fetched
        api.get(f"{EBAY_INV}/offer").mock(side_effect=RuntimeError("the marketplace client broke"))
        api.post(f"{EBAY_INV}/bulk_update_price_quantity").mock(side_effect=RuntimeError("the client broke"))
        call_command("track")

    job = Job.objects.get(type="track_products")
    assert job.status == "success" and job.result["counts"] == {"updated": 2, FOLLOW_UP_FAILED: 1}
    [failure] = job.result["failures"]
    assert failure["product_id"] == listed.pk and "RuntimeError" in failure["reason"]
    assert price_of(good) == price_of(listed) == Decimal("24.00")
    assert Product.objects.get(pk=listed.pk).follow_pending  # the next round makes the listing follow
    listing.refresh_from_db()
    assert listing.price == Decimal("30.99")


def test_track_with_given_products_exits_zero_and_prints_every_failure(site, shop, seller, capsys):
    good = item(site, shop, seller, "GOOD-1")
    bad = item(site, shop, seller, "BAD-1", price='"99999999999999999.99"')

    call_command("track", "--product", str(good.pk), "--product", str(bad.pk))

    printed = capsys.readouterr().out
    assert "2 products: 1 invalid reading, 1 updated." in printed
    assert f"product {bad.pk} (invalid reading): The reading was refused" in printed
    assert price_of(good) == Decimal("24.00") and price_of(bad) == Decimal("20.00")


def test_track_fails_when_nothing_could_be_refreshed(site, shop, seller):
    site.routes["/CAPTCHA"] = Reply(body=CAPTCHA_PAGE)
    blocked = ProductFactory(supplier=shop, asin="CAPTCHA", url=site.url("/CAPTCHA"))
    seller.tracked_products.add(blocked)

    with pytest.raises(CommandError, match="none of its 1 products could be refreshed"):
        call_command("track")
    assert Job.objects.get(type="track_products").result["counts"] == {"blocked": 1}


def test_track_with_nothing_due_exits_zero(seller, capsys):
    call_command("track")
    assert "0 products: none due." in capsys.readouterr().out


def test_a_round_stopped_midway_releases_the_claims_it_still_holds(site, shop, seller):
    products = [item(site, shop, seller, f"ITEM-{n}") for n in range(4)]
    claimed = products_claim(limit=10, product_ids=[p.pk for p in products])
    assert Product.objects.filter(refresh_claimed_until__isnull=False).count() == 4

    def cancel(product, outcome):
        raise JobCancelled("Cancelled by the user.")

    with pytest.raises(JobCancelled):
        refreshing.products_refresh(claimed, concurrency=1, on_outcome=cancel)

    assert not Product.objects.filter(refresh_claimed_until__isnull=False).exists()


def test_the_job_result_says_each_outcome_in_words(site, shop, seller):
    item(site, shop, seller, "GOOD-1")
    wrong = item(site, shop, seller, "WRONG-1")
    site.routes["/WRONG-1"] = Reply(body=PAGE.format(title="Garden hose", sku="HOSE-9", price='"9.00"'))

    call_command("track")

    result = Job.objects.get(type="track_products").result
    assert result["summary"] == "2 products: 1 updated, 1 another product's page."
    [failure] = result["failures"]
    assert failure == {
        "product_id": wrong.pk,
        "product": "Item WRONG-1",
        "status": "wrong_product",
        "label": "another product's page",
        "reason": "The supplier link now shows another product: the page is for item HOSE-9, ours is WRONG-1.",
    }
