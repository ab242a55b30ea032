"""The demo shop: its pages read as their products in every window, one window serves one price,
and it is served and fetchable in development only."""

import pytest

from catalog import demo_shop, netsafety
from catalog.models import Product
from catalog.services import page_extract, reading_check
from catalog.tests.factories import SupplierFactory

pytestmark = pytest.mark.django_db

SHOP_URL = "http://127.0.0.1:8000/demo-shop/"


@pytest.fixture(autouse=True)
def shop_on(settings):
    settings.DEMO_SHOP_ENABLED = True
    settings.DEMO_SHOP_URL = SHOP_URL
    settings.DEMO_SHOP_WINDOW = 120


def _page(client, item, window, monkeypatch) -> bytes:
    monkeypatch.setattr(demo_shop, "clock", lambda: window * 120 + 60)
    response = client.get(f"/demo-shop/products/{item.slug}/")
    assert response.status_code == 200
    return response.content


@pytest.mark.parametrize("item", demo_shop.ITEMS, ids=lambda item: item.layout + "-" + item.slug)
def test_every_page_reads_as_its_own_product_in_every_window(client, monkeypatch, item):
    supplier = SupplierFactory(name="127-0-0-1", base_url="http://127.0.0.1:8000")
    product = Product(supplier=supplier, asin=item.sku, title=item.title, url=demo_shop.product_url(item))
    for window in range(len(item.price_steps)):
        state = demo_shop.item_state(item, window)
        page = _page(client, item, window, monkeypatch)

        extraction = page_extract(html=page, supplier=supplier, url=product.url)

        assert not extraction.blocked and not extraction.layout_unrecognised
        assert (extraction.title, extraction.asin, extraction.currency) == (item.title, item.sku, "USD")
        if state.availability == "OutOfStock":
            assert extraction.availability == "out_of_stock"
        else:
            assert extraction.price == state.price
        if item.layout == "jsonld":
            assert extraction.stock == state.stock
        assert reading_check(product=product, extraction=extraction).kind == "good"  # identity and bounds


def test_one_window_serves_one_price_so_a_confirming_fetch_agrees(client, monkeypatch):
    clock = demo_shop.BY_SKU["MF-CLOCK-01"]
    monkeypatch.setattr(demo_shop, "clock", lambda: 7 * 120 + 1)
    first = client.get(f"/demo-shop/products/{clock.slug}/").content
    monkeypatch.setattr(demo_shop, "clock", lambda: 7 * 120 + 119)
    second = client.get(f"/demo-shop/products/{clock.slug}/").content
    monkeypatch.setattr(demo_shop, "clock", lambda: 8 * 120)
    next_window = client.get(f"/demo-shop/products/{clock.slug}/").content

    assert first == second
    assert next_window != first
    assert len({demo_shop.item_state(clock, w).price for w in (7, 8, 9)}) == 3  # a round always sees it move


def test_the_front_page_lists_every_product_with_a_link_to_paste(client):
    page = client.get("/demo-shop/").content.decode()

    for item in demo_shop.ITEMS:
        assert item.title in page and demo_shop.product_url(item) in page


@pytest.mark.parametrize("setting", [{"DEMO_SHOP_ENABLED": False}, {"DJANGO_ENV": "production"}])
def test_the_shop_is_not_served_outside_development(client, settings, setting):
    for name, value in setting.items():
        setattr(settings, name, value)

    assert client.get("/demo-shop/").status_code == 404
    assert client.get(f"/demo-shop/products/{demo_shop.ITEMS[0].slug}/").status_code == 404


def test_the_shop_address_may_be_fetched_in_development_and_nothing_else_on_loopback():
    assert netsafety.check_url(SHOP_URL + "products/linen-apron/") == "127.0.0.1"
    for other in ("http://127.0.0.1:6379/", "http://127.0.0.1/demo-shop/", "http://localhost:8000/demo-shop/"):
        with pytest.raises(netsafety.UnsafeURL):
            netsafety.check_url(other)
    netsafety.check_peer("127.0.0.1", "127.0.0.1", 8000)
    with pytest.raises(netsafety.UnsafeURL):
        netsafety.check_peer("127.0.0.1", "127.0.0.1", 5432)


@pytest.mark.parametrize("setting", [{"DEMO_SHOP_ENABLED": False}, {"DJANGO_ENV": "production"}])
def test_the_shop_address_is_refused_outside_development(settings, setting):
    for name, value in setting.items():
        setattr(settings, name, value)

    with pytest.raises(netsafety.UnsafeURL):
        netsafety.check_url(SHOP_URL + "products/linen-apron/")
    with pytest.raises(netsafety.UnsafeURL):
        netsafety.check_peer("127.0.0.1", "127.0.0.1", 8000)


@pytest.mark.parametrize(
    ("name", "base_url", "family", "label"),
    [
        ("amazon", "https://www.amazon.com", None, "Amazon.com"),
        ("amazon-co-uk", "https://www.amazon.co.uk", "amazon", "Amazon.co.uk"),
        ("aliexpress", "https://www.aliexpress.com", None, "AliExpress"),
        ("costco-ca", "https://www.costco.ca", "costco", "Costco.ca"),
        ("shop-example-com", "https://shop.example.com", "generic", "shop.example.com"),
    ],
)
def test_suppliers_go_by_the_name_sellers_know(name, base_url, family, label):
    from catalog.models import Supplier

    supplier = Supplier.objects.filter(name=name).first() or Supplier(name=name)
    supplier.base_url = base_url
    if family:
        supplier.family = Supplier.objects.get(name=family)

    assert str(supplier) == label
    supplier.display_name = "Maple & Finch"
    assert str(supplier) == "Maple & Finch"
