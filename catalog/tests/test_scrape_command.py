"""manage.py scrape: what an operator sees for a saved page or a URL; nothing is saved."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog import fetching
from catalog.extraction import JSON_KEYS
from catalog.fetching import Blocked, FetchResult
from catalog.models import Product, Supplier

pytestmark = pytest.mark.django_db

AMAZON_DE_PAGE = """<html><head><title>Amazon.de: Widget</title>
<link rel="canonical" href="https://www.amazon.de/Widget/dp/B0WIDGET01"></head><body>
<span id="productTitle"> Widget Deluxe </span>
<span id="priceblock_ourprice">EUR 1.299,00</span>
<div id="availability"><span>Nur noch 3 auf Lager</span></div>
<span id="acrPopover" title="4,5 von 5 Sternen"></span><span id="acrCustomerReviewText">1.033 Sternebewertungen</span>
<input type="hidden" id="ASIN" value="B0WIDGET01">
</body></html>"""

SHOP_PAGE = """<html><head><title>Lamp | Example Shop</title></head><body><h1>Lamp</h1>
<script type="application/ld+json">{"@type": "Product", "name": "Lamp", "sku": "LMP-7", "gtin13": "4006381333931",
"mpn": "L-7", "brand": {"@type": "Brand", "name": "Lumen"},
"offers": {"@type": "Offer", "price": "40.00", "priceCurrency": "USD", "availability": "InStock"}}</script>
</body></html>"""


def scrape(*args) -> str:
    out = StringIO()
    call_command("scrape", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def page_file(tmp_path):
    def write(html: str, name: str = "page.html"):
        path = tmp_path / name
        path.write_text(html, encoding="utf-8")
        return str(path)

    return write


def test_a_saved_page_prints_one_json_object_guessing_the_supplier_from_the_page(page_file):
    data = json.loads(scrape(page_file(AMAZON_DE_PAGE), "--json"))
    assert tuple(data) == JSON_KEYS
    assert data == {
        "title": "Widget Deluxe",
        "price": "1299.00",
        "currency": "EUR",
        "stock": 3,
        "availability": "low_stock",
        "rating": 4.5,
        "reviews_count": 1033,
        "images": [],
        "url": "https://www.amazon.de/Widget/dp/B0WIDGET01",
        "asin": "B0WIDGET01",
        "gtin": None,
        "mpn": None,
        "brand": None,
        "blocked": False,
    }


def test_the_supplier_option_chooses_the_rules(page_file):
    path = page_file(AMAZON_DE_PAGE)
    as_generic = json.loads(scrape(path, "--supplier", "generic", "--json"))
    assert (as_generic["price"], as_generic["asin"]) == (None, None)  # generic reads structured data only
    as_amazon = json.loads(scrape(path, "--supplier", "Amazon", "--json"))
    assert as_amazon["price"] == "1299.00"


def test_a_page_without_supplier_hints_is_read_as_generic(page_file):
    data = json.loads(scrape(page_file(SHOP_PAGE), "--json"))
    assert (data["title"], data["price"], data["currency"], data["availability"], data["asin"]) == (
        "Lamp",
        "40.00",
        "USD",
        "in_stock",
        "LMP-7",
    )
    assert (data["rating"], data["reviews_count"], data["stock"]) == (None, None, None)
    assert (data["gtin"], data["mpn"], data["brand"]) == ("4006381333931", "L-7", "Lumen")


def test_a_blocked_page_is_reported_as_blocked_with_no_data(page_file):
    path = page_file(
        "<html><head><title>Robot Check</title></head><body><form action='/errors/validateCaptcha'>"
        "</form></body></html>"
    )
    data = json.loads(scrape(path, "--json"))
    assert data["blocked"] is True
    assert [data[k] for k in ("title", "price", "currency", "stock", "rating", "reviews_count")] == [None] * 6
    assert "blocked:" in scrape(path)


def test_the_plain_output_is_readable(page_file):
    text = scrape(page_file(AMAZON_DE_PAGE))
    assert "Widget Deluxe" in text and "1299.00 EUR" in text and "low_stock (stock 3)" in text
    shop = scrape(page_file(SHOP_PAGE))
    assert "4006381333931" in shop and "Lumen" in shop and "L-7" in shop


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/no/such/page.html"], "No such file: /no/such/page.html"),
        (["--supplier", "ebay", "x.html"], "Unknown supplier 'ebay'"),
        (["https://amzn.to/3xYzAbC"], "Short links"),
    ],
)
def test_bad_input_is_one_readable_line(args, message):
    with pytest.raises(CommandError) as raised:
        scrape(*args)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_directory_is_not_a_page(tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        scrape(str(tmp_path))


def test_a_url_is_fetched_through_the_catalog_and_nothing_is_saved(monkeypatch):
    asked = []

    def fake_fetch(*, url, supplier):
        asked.append((url, supplier.name, supplier.pk))
        html = AMAZON_DE_PAGE.replace("B0WIDGET01", "B00FLYWNYQ")
        return FetchResult(url=url, final_url=url, status_code=200, page=html, encoding="utf-8", elapsed=0.1)

    monkeypatch.setattr(fetching, "fetch_page", fake_fetch)
    suppliers, products = Supplier.objects.count(), Product.objects.count()
    data = json.loads(scrape("https://www.amazon.de/gp/product/B00FLYWNYQ?tag=x-21", "--json"))
    assert asked == [("https://www.amazon.de/dp/B00FLYWNYQ", "amazon-de", None)]
    assert (data["asin"], data["price"], data["currency"]) == ("B00FLYWNYQ", "1299.00", "EUR")
    assert (Supplier.objects.count(), Product.objects.count()) == (suppliers, products)


def test_a_url_the_site_refuses_is_reported_blocked(monkeypatch):
    def refused(*, url, supplier):
        raise Blocked("HTTP 503", url=url, status_code=503)

    monkeypatch.setattr(fetching, "fetch_page", refused)
    data = json.loads(scrape("B00FLYWNYQ", "--json"))
    assert data["blocked"] is True and data["price"] is None


def test_save_stores_the_reading_on_the_product(monkeypatch):
    def fake_fetch(*, url, supplier):
        html = AMAZON_DE_PAGE.replace("B0WIDGET01", "B00FLYWNYQ")
        return FetchResult(url=url, final_url=url, status_code=200, page=html, encoding="utf-8", elapsed=0.1)

    monkeypatch.setattr(fetching, "fetch_page", fake_fetch)
    scrape("https://www.amazon.de/dp/B00FLYWNYQ", "--json", "--save")
    product = Product.objects.get(supplier__name="amazon-de", asin="B00FLYWNYQ")
    assert (str(product.price), product.currency) == ("1299.00", "EUR")
    assert product.price_history.count() == 1


def test_save_refuses_a_blocked_page_and_a_file(monkeypatch, page_file):
    monkeypatch.setattr(fetching, "fetch_page", lambda **kw: (_ for _ in ()).throw(Blocked("HTTP 503")))
    with pytest.raises(CommandError, match="Nothing saved"):
        scrape("B00FLYWNYQ", "--save")
    with pytest.raises(CommandError, match="needs a product URL"):
        scrape(page_file("<html><title>A saved page</title></html>"), "--save")
    assert not Product.objects.exists()
