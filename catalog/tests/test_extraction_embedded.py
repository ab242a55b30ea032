"""The page's own state as a source: framework data (Next.js, Nuxt), product JSON, analytics data
layers, hidden inputs and data attributes — found by the shape of a product, never run, bounded."""

import json
from decimal import Decimal

from catalog.extraction import embedded
from catalog.tests.pages import read, shop_page


def script(data, *, kind="application/json", ident=None) -> str:
    attrs = f' type="{kind}"' + (f' id="{ident}"' if ident else "")
    return f"<script{attrs}>{json.dumps(data)}</script>"


def test_nextjs_page_data_is_read():
    data = {
        "props": {
            "pageProps": {
                "recommendations": [{"name": "Other Kettle", "price": 9.5, "currency": "GBP"}],
                "product": {
                    "name": "Steel Kettle 1.7L",
                    "brand": {"name": "Brewline"},
                    "sku": "KT-17",
                    "gtin13": "5012345678900",
                    "price": {"current": {"value": 24.99}, "was": {"value": 34.99}, "currency": "GBP"},
                    "inStock": True,
                },
            }
        }
    }
    result = read(shop_page(script(data, ident="__NEXT_DATA__"), title="Steel Kettle 1.7L | Brewline"))
    assert (result.title, result.price, result.currency, result.availability) == (
        "Steel Kettle 1.7L",
        Decimal("24.99"),
        "GBP",
        "in_stock",
    )
    assert (result.asin, result.gtin, result.brand, result.sources["price"]) == (
        "KT-17",
        "5012345678900",
        "Brewline",
        "embedded",
    )


def test_nuxt_payload_is_read_through_its_references():
    # Nuxt 3's __NUXT_DATA__: a flat array, every value pointing at others by index.
    payload = [
        ["ShallowReactive", 1],
        {"data": 2},
        {"product": 3},
        {"name": 4, "price": 5, "currency": 6, "available": 7},
        "Trail Shoe",
        89.9,
        "EUR",
        True,
    ]
    result = read(shop_page(script(payload, ident="__NUXT_DATA__"), title="Trail Shoe"))
    assert (result.title, result.price, result.currency, result.availability) == (
        "Trail Shoe",
        Decimal("89.90"),
        "EUR",
        "in_stock",
    )


def test_shopify_product_json_prices_are_in_cents():
    data = {
        "title": "Linen Shirt",
        "vendor": "Coastal",
        "price": 4500,
        "compare_at_price": 6000,
        "available": True,
        "variants": [{"id": 11, "price": 4500, "available": True}, {"id": 12, "price": 4500, "available": False}],
    }
    result = read(shop_page(script(data, ident="ProductJson-main"), title="Linen Shirt"))
    assert (result.price, result.availability, result.brand) == (Decimal("45.00"), "in_stock", "Coastal")


def test_a_json_object_assigned_in_an_inline_script_is_read():
    body = (
        "<script>var site = {a: 1};\nwindow.__INITIAL_STATE__ = "
        '{"page": "pdp", "item": {"productName": "Desk Lamp", "salePrice": "$31.49", "listPrice": "$44.99", '
        '"availabilityStatus": "IN_STOCK", "upc": "012345678905"}};</script>'
    )
    result = read(shop_page(body, title="Desk Lamp"))
    assert (result.title, result.price, result.currency, result.availability, result.gtin) == (
        "Desk Lamp",
        Decimal("31.49"),
        "USD",
        "in_stock",
        "012345678905",
    )


def test_an_analytics_data_layer_is_read():
    layer = {
        "event": "view_item",
        "ecommerce": {
            "currency": "EUR",
            "items": [{"item_name": "Garden Hose 20m", "price": 19.95, "item_id": "GH20"}],
        },
    }
    body = f"<script>dataLayer.push({json.dumps(layer)});</script>"
    result = read(shop_page(body, title="Garden Hose 20m – Shop"))
    assert (result.title, result.price, result.asin) == ("Garden Hose 20m", Decimal("19.95"), "GH20")


def test_the_object_named_like_the_page_wins_over_other_products_in_the_same_data():
    data = {
        "related": [{"name": "Cheap Mug", "price": 4.0}, {"name": "Tea Pot", "price": 30.0}],
        "main": {"name": "Stoneware Mug Set of 4", "price": 24.0},
    }
    result = read(shop_page(script(data), title="Stoneware Mug Set of 4"))
    assert result.price == Decimal("24.00")


def test_products_that_are_not_the_pages_give_nothing():
    data = {"related": [{"name": "Cheap Mug", "price": 4.0}, {"name": "Tea Pot", "price": 30.0}]}
    result = read(shop_page("<h1>Garden Chair</h1>" + script(data), title="Garden Chair"))
    assert result.price is None


def test_a_hidden_input_holding_the_buy_box_price_is_read():
    head = '<meta property="og:title" content="SKECHERS Prima">'
    body = (
        '<form><input type="hidden" name="priceData" value="$75.00">'
        '<input type="hidden" name="sku" value="8958"></form>'
    )
    result = read(shop_page(body, head=head))
    assert (result.price, result.currency, result.asin) == (Decimal("75.00"), "USD", "8958")


def test_data_attributes_naming_the_product_and_its_price_are_read():
    body = (
        '<h1><span data-name="Mechanical Keyboard K80" data-price="59.99" data-id="698072">'
        "Mechanical Keyboard K80</span></h1>"
        '<div class="tile" data-name="Mechanical Keyboard K80 Pro" data-price="119.99"></div>'
    )
    result = read(shop_page(body, title="Mechanical Keyboard K80 - Micro Shop"))
    assert (result.title, result.price) == ("Mechanical Keyboard K80", Decimal("59.99"))


def test_script_code_is_never_run_only_json_is_read():
    body = (
        '<script>var product = {"name": "Desk Lamp", "price": computePrice(1, 2), "currency": "USD"};</script>'
        '<script>window.x = {"name": "Desk Lamp", "price": "<img src=x onerror=alert(1)>"};</script>'
    )
    result = read(shop_page("<h1>Desk Lamp</h1>" + body, title="Desk Lamp"))
    assert result.price is None


def test_embedded_data_is_bounded(monkeypatch):
    monkeypatch.setattr(embedded, "MAX_SCRIPT_CHARS", 200)
    big = {"name": "Desk Lamp", "price": 31.0, "notes": "x" * 400}
    assert read(shop_page(script(big), title="Desk Lamp")).price is None
    deep = '{"a":' * 5000 + "1" + "}" * 5000  # deeper than any parser's stack: not read, no error
    monkeypatch.setattr(embedded, "MAX_SCRIPT_CHARS", 3_000_000)
    result = read(shop_page(f'<script type="application/json">{deep}</script>', title="Desk Lamp"))
    assert (result.price, result.blocked, result.layout_unrecognised) == (None, False, True)


def test_a_used_condition_in_the_shops_data_is_not_the_buy_price():
    data = {"name": "Camera X100", "price": 69.99, "condition": "Used - Like New"}
    head = '<meta property="og:title" content="Camera X100">'
    result = read(shop_page("<p>Used - Like New</p>" + script(data), head=head, title="Camera X100"))
    assert result.price is None


def test_a_product_stated_as_json_in_a_data_attribute_is_read():
    body = (
        '<h1>Desk Lamp</h1><div data-product=\'{"name": "Desk Lamp", "price": "31.00", '
        '"currency": "EUR", "inStock": false}\'></div>'
    )
    result = read(shop_page(body, title="Desk Lamp"))
    assert (result.price, result.currency, result.availability) == (None, "EUR", "out_of_stock")
