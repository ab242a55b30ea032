"""A refresh checks its reading before writing it: another product's page is held (wrong_product),
values out of bounds make the reading invalid, a page or a row that breaks fails alone. Real pages
served on 127.0.0.1."""

from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from catalog.extraction import Extraction
from catalog.models import HeldReading, PriceHistory, Product, StockHistory, Supplier
from catalog.services import ADDED_FIRST_READ_FAILED, product_add, product_apply, product_refresh, products_apply
from catalog.tests.factories import ProductFactory, SupplierFactory
from catalog.tests.fetch_servers import (  # noqa: F401 - fixtures
    Reply,
    fetch_settings_fixture,
    site_fixture,
)
from conftest import BREAKS_EXTRACTION, shared_material

pytestmark = pytest.mark.django_db

KETTLE = """<html><head><title>{title}</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "Product", "name": "{title}",
 {sku} "offers": {{"@type": "Offer", "price": "{price}", "priceCurrency": "USD",
 "availability": "https://schema.org/InStock"}}}}</script></head><body><h1>{title}</h1></body></html>"""


def kettle_page(*, title="Blue enamel kettle 1.7 l", price="24.00", sku="KETTLE-1") -> Reply:
    return Reply(body=KETTLE.format(title=title, price=price, sku=f'"sku": "{sku}",' if sku else ""))


def saved(name: str) -> Reply:
    return Reply(body=shared_material(f"pages/{name}").read_bytes())


@pytest.fixture
def amazon_site(site):
    template = Supplier.objects.get(name="amazon")
    return SupplierFactory(name="amazon-local", family=template, base_url=site.url("/"), rate_limit=60000)


@pytest.fixture
def shop(site):
    return SupplierFactory(
        name="shop-local", family=Supplier.objects.get(name="generic"), base_url=site.url("/"), rate_limit=60000
    )


def unchanged(product, before):
    product.refresh_from_db()
    return (product.title, product.price, product.stock, product.availability, product.last_scraped_at) == before


def snapshot(product):
    return (product.title, product.price, product.stock, product.availability, product.last_scraped_at)


def test_an_amazon_page_whose_selected_child_is_not_ours_writes_nothing_and_is_held(site, amazon_site):
    # The saved page is the parent B07CLN88MV (its canonical URL) with child B07CL39Z8Q selected.
    site.routes["/dp/B07CLN88MV"] = saved("amazon-page-parser/us_B07CL39Z8Q.html")
    product = ProductFactory(
        supplier=amazon_site, asin="B07CLN88MV", url=site.url("/dp/B07CLN88MV"), price=Decimal("20.00")
    )
    before = snapshot(product)

    outcome = product_refresh(product=product)

    assert outcome.status == "wrong_product" and "B07CL39Z8Q" in outcome.message
    assert unchanged(product, before)
    assert site.paths() == ["/dp/B07CLN88MV"]  # no second fetch: identity is never "confirmed"
    assert not PriceHistory.objects.exists() and not StockHistory.objects.exists()
    held = HeldReading.objects.get(product=product)
    assert (held.kind, held.status) == ("wrong_product", "open")
    assert held.identity["ours"] == {"title": product.title, "id": "B07CLN88MV", "url": product.url}
    assert held.identity["page"]["id"] == "B07CL39Z8Q" and held.identity["page"]["title"].startswith("Palarn")
    assert (product.failure_count, product.wrong_product_count) == (1, 1) and product.retry_not_before


def test_a_tracked_link_redirected_to_another_item_is_a_wrong_product(site, amazon_site):
    site.routes["/dp/B00FLYWNYQ"] = Reply(status=301, headers={"Location": "/dp/B07CL39Z8Q"}, body="")
    site.routes["/dp/B07CL39Z8Q"] = saved("amazon-page-parser/us_B07CL39Z8Q.html")
    product = ProductFactory(supplier=amazon_site, asin="B00FLYWNYQ", url=site.url("/dp/B00FLYWNYQ"))

    outcome = product_refresh(product=product)

    assert outcome.status == "wrong_product"
    assert f"the link now leads to {site.url('/dp/B07CL39Z8Q')}" in outcome.message


def test_repeated_wrong_readings_keep_one_held_row_and_count_in_a_row(site, shop):
    site.routes["/kettle"] = kettle_page(title="Garden hose 50 ft", sku=None)
    product = ProductFactory(
        supplier=shop, asin="url-kettle", title="Blue enamel kettle 1.7 l", url=site.url("/kettle")
    )

    product_refresh(product=product)
    product_refresh(product=product)

    product.refresh_from_db()
    assert product.wrong_product_count == 2 and product.failure_count == 2
    assert HeldReading.objects.filter(product=product, kind="wrong_product", status="open").count() == 1


def test_our_page_again_resets_the_count_applies_and_discards_the_held_reading(site, shop):
    product = ProductFactory(
        supplier=shop, asin="KETTLE-1", title="Blue enamel kettle 1.7 l", url=site.url("/kettle"), price=Decimal("20")
    )
    site.routes["/kettle"] = kettle_page(sku="HOSE-9", title="Garden hose")
    assert product_refresh(product=product).status == "wrong_product"

    site.routes["/kettle"] = kettle_page(price="21.00")
    outcome = product_refresh(product=product)

    product.refresh_from_db()
    assert outcome.status == "updated" and product.price == Decimal("21.00")
    assert (product.wrong_product_count, product.failure_count, product.follow_pending) == (0, 0, True)
    assert HeldReading.objects.get(product=product).status == "discarded"


def test_a_price_out_of_bounds_is_an_invalid_reading_that_writes_nothing(site, shop):
    site.routes["/kettle"] = kettle_page(price="99999999999999999.99")
    product = ProductFactory(supplier=shop, asin="KETTLE-1", url=site.url("/kettle"), price=Decimal("20.00"))
    before = snapshot(product)

    outcome = product_refresh(product=product)

    assert outcome.status == "invalid" and "does not fit a price field" in outcome.message
    assert unchanged(product, before) and product.failure_count == 1 and product.retry_not_before
    assert "does not fit" in product.last_error
    assert not PriceHistory.objects.exists() and not HeldReading.objects.exists()


def test_a_nul_in_the_title_is_removed_and_the_rest_applies(site, shop):
    site.routes["/kettle"] = kettle_page(title="Blue enamel\\u0000 kettle 1.7 l")
    product = ProductFactory(supplier=shop, asin="KETTLE-1", url=site.url("/kettle"), title="Blue enamel kettle 1.7 l")

    outcome = product_refresh(product=product)

    product.refresh_from_db()
    assert outcome.status == "updated" and product.price == Decimal("24.00")
    assert product.title == "Blue enamel kettle 1.7 l"


RAISING_PAGE = KETTLE.format(title="Kettle", price="24.00", sku='"sku": "KETTLE-1",') + BREAKS_EXTRACTION


@pytest.mark.usefixtures("breaking_extraction")
def test_a_page_that_makes_the_extraction_raise_is_a_failure_of_that_product(site, shop):
    site.routes["/kettle"] = Reply(body=RAISING_PAGE)
    product = ProductFactory(supplier=shop, asin="KETTLE-1", url=site.url("/kettle"), price=Decimal("20.00"))
    before = snapshot(product)

    outcome = product_refresh(product=product)

    assert outcome.status == "failed" and "the extractor broke" in outcome.message
    assert unchanged(product, before) and product.failure_count == 1


@pytest.mark.parametrize("price", ['"-15.00"', "1e308", '"1e308"', "-15"])
def test_a_negative_or_absurd_page_price_is_an_invalid_reading_never_flipped_or_cut(site, shop, price):
    site.routes["/kettle"] = Reply(
        body=KETTLE.replace('"{price}"', price).format(title="Kettle", sku='"sku": "KETTLE-1",')
    )
    product = ProductFactory(supplier=shop, asin="KETTLE-1", url=site.url("/kettle"), price=Decimal("20.00"))
    before = snapshot(product)

    outcome = product_refresh(product=product)

    assert outcome.status == "invalid" and "price" in outcome.message
    assert unchanged(product, before)


def test_adding_a_shop_page_whose_first_reading_is_invalid_keeps_the_product_added(site):
    site.routes["/kettle"] = kettle_page(price="99999999999999999.99")
    seller = UserFactory()

    result = product_add(user=seller, text=site.url("/kettle"))

    assert result.status == "added"
    assert result.message.startswith(ADDED_FIRST_READ_FAILED.split("(")[0])
    product = Product.objects.get(pk=result.product_id)
    assert product.price is None and product.failure_count == 1
    assert seller.tracked_products.filter(pk=product.pk).exists()


@pytest.mark.usefixtures("breaking_extraction")
def test_adding_a_page_that_breaks_the_extraction_is_refused_and_creates_nothing(site):
    site.routes["/kettle"] = Reply(body=RAISING_PAGE)
    result = product_add(user=UserFactory(), text=site.url("/kettle"))
    assert result.status == "error" and result.message
    assert not Product.objects.exists()


def test_what_identifies_the_item_is_stored_when_the_page_states_it():
    product = ProductFactory(gtin="", mpn="", brand="")
    reading = Extraction(title=product.title, gtin="00012345678905", mpn="KT-100", brand="Acme")

    outcome = product_apply(product=product, extraction=reading)

    product.refresh_from_db()
    assert (product.gtin, product.mpn, product.brand) == ("00012345678905", "KT-100", "Acme")
    assert {"gtin", "mpn", "brand"} <= set(outcome.changed_fields)


@pytest.mark.django_db(transaction=True)  # deferred foreign keys are checked when a transaction commits
@pytest.mark.usefixtures("supplier_families")
def test_a_reading_the_database_refuses_fails_alone_and_the_batch_is_written():
    first, gone, last = (ProductFactory(price=Decimal("10.00")) for _ in range(3))
    readings = [(p, Extraction(title=p.title, price=Decimal("12.00"), currency="USD")) for p in (first, gone, last)]
    Product.objects.filter(pk=gone.pk).delete()  # staff deleted it while its page was read

    outcomes = products_apply(readings)

    assert [o.status for o in outcomes] == ["updated", "failed", "updated"]
    assert "could not be written" in outcomes[1].message
    assert gone.price == Decimal("10.00")  # its in-memory values are put back
    assert set(PriceHistory.objects.values_list("product_id", flat=True)) == {first.pk, last.pk}
    first.refresh_from_db()
    last.refresh_from_db()
    assert first.price == last.price == Decimal("12.00")


@pytest.mark.usefixtures("breaking_extraction")
def test_a_csv_import_goes_on_past_a_row_whose_page_breaks(site):
    from catalog.tasks import products_import_task
    from monitoring.models import Job

    site.routes["/broken"] = Reply(body=RAISING_PAGE)
    site.routes["/kettle"] = kettle_page(sku="KETTLE-2")
    seller = UserFactory()
    rows = [
        {"row": 2, "text": site.url("/broken"), "supplier": "", "note": ""},
        {"row": 3, "text": site.url("/kettle"), "supplier": "", "note": ""},
    ]
    job = Job.objects.create(user=seller, type="import_csv", params={"rows": rows, "read_now": False})

    products_import_task.apply(args=[job.pk])

    job.refresh_from_db()
    assert job.status == "success" and job.result["added"] >= 1
    statuses = {row["row"]: row["status"] for row in job.result["rows"]}
    assert statuses == {2: "error", 3: "added"}
    assert seller.tracked_products.filter(asin="KETTLE-2", price=Decimal("24.00")).exists()
