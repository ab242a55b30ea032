"""A page whose URL selects a variant is read as that variant; one with no variant selected stays a
range. And the identity the page states: GTIN, MPN, brand."""

import json
from decimal import Decimal

import pytest

from catalog.tests.pages import jsonld, read, shop_page

SHIRT_URL = "https://shop.example.com/products/linen-shirt"


def shirt_page() -> str:
    def offer(variant, sku, price, stock):
        return {
            "@type": "Offer",
            "url": f"{SHIRT_URL}?variant={variant}",
            "sku": sku,
            "gtin13": f"500000000{variant}",
            "price": price,
            "priceCurrency": "USD",
            "availability": f"https://schema.org/{stock}",
        }

    product = {
        "@type": "Product",
        "name": "Linen Shirt",
        "brand": {"@type": "Brand", "name": "Coastal"},
        "offers": [offer("1111", "LS-S", "45.00", "InStock"), offer("2222", "LS-XL", "49.00", "OutOfStock")],
    }
    return shop_page("<h1>Linen Shirt</h1>", head=jsonld(product) + f'<link rel="canonical" href="{SHIRT_URL}">')


def test_a_url_selecting_a_variant_reads_its_price_stock_and_sku():
    result = read(shirt_page(), url=f"{SHIRT_URL}?variant=1111")
    assert (result.price, result.availability, result.asin, result.gtin, result.variant_unselected) == (
        Decimal("45.00"),
        "in_stock",
        "LS-S",
        "5000000001111",
        False,
    )
    assert result.canonical_url == f"{SHIRT_URL}?variant=1111"  # the variant keeps an address of its own


def test_another_variant_of_the_same_page_is_read_as_itself():
    result = read(shirt_page(), url=f"{SHIRT_URL}?variant=2222")
    assert (result.price, result.availability, result.asin) == (None, "out_of_stock", "LS-XL")


def test_a_page_with_no_variant_selected_stays_a_range():
    result = read(shirt_page(), url=SHIRT_URL)
    assert (result.price, result.price_is_range, result.variant_unselected) == (None, True, False)
    assert result.canonical_url == SHIRT_URL


def test_a_url_selecting_a_variant_the_page_does_not_have_is_not_that_item():
    result = read(shirt_page(), url=f"{SHIRT_URL}?variant=9999")
    assert (result.variant_unselected, result.price) == (True, None)


def test_a_product_groups_variant_is_read():
    group = {
        "@type": "ProductGroup",
        "name": "Trail Shoe",
        "hasVariant": [
            {
                "@type": "Product",
                "sku": "TS-40",
                "url": "https://shop.example.com/trail-shoe?variant=40",
                "offers": {"@type": "Offer", "price": "89.00", "priceCurrency": "EUR"},
            },
            {
                "@type": "Product",
                "sku": "TS-41",
                "url": "https://shop.example.com/trail-shoe?variant=41",
                "offers": {"@type": "Offer", "price": "95.00", "priceCurrency": "EUR"},
            },
        ],
    }
    page = shop_page("", head=jsonld(group))
    chosen = read(page, url="https://shop.example.com/trail-shoe?variant=41")
    assert (chosen.price, chosen.asin) == (Decimal("95.00"), "TS-41")
    assert (read(page).price, read(page).price_is_range) == (None, True)


def test_a_shops_own_variant_data_is_read_for_the_selected_variant():
    data = {
        "title": "Canvas Tote",
        "price": 2500,
        "price_min": 2500,
        "price_max": 3200,
        "variants": [
            {"id": 31, "sku": "TOTE-S", "price": 2500, "available": True},
            {"id": 32, "sku": "TOTE-L", "price": 3200, "available": False},
        ],
    }
    page = shop_page(
        f'<script type="application/json" id="ProductJson">{json.dumps(data)}</script>', title="Canvas Tote"
    )
    result = read(page, url="https://tote.example.com/products/canvas-tote?variant=32")
    assert (result.price, result.availability, result.asin) == (None, "out_of_stock", "TOTE-L")
    result = read(page, url="https://tote.example.com/products/canvas-tote?variant=31")
    assert (result.price, result.availability, result.asin) == (Decimal("25.00"), "in_stock", "TOTE-S")


def test_an_aliexpress_sku_is_read_from_the_pages_data_and_named_as_that_variant():
    run_params = {
        "data": {
            "titleModule": {"subject": "USB-C Cable 2m"},
            "skuModule": {
                "skuPriceList": [
                    {
                        "skuIdStr": "12000001",
                        "skuVal": {"skuAmount": {"value": 3.5, "currency": "USD"}, "availQuantity": 12},
                    },
                    {
                        "skuIdStr": "12000002",
                        "skuVal": {
                            "skuAmount": {"value": 5.9, "currency": "USD"},
                            "skuActivityAmount": {"value": 4.72, "currency": "USD"},
                            "availQuantity": 7,
                        },
                    },
                ]
            },
        }
    }
    html = (
        '<html><head><link rel="canonical" href="https://www.aliexpress.com/item/1005001.html"></head><body>'
        '<h1 data-pl="product-title">USB-C Cable 2m</h1><div class="product-price-current">'
        '<span class="product-price-value">US $3.50</span></div>'
        f"<script>window.runParams = {json.dumps(run_params)};</script></body></html>"
    )
    result = read(html, family="aliexpress", url="https://www.aliexpress.com/item/1005001.html?sku_id=12000002")
    assert (result.price, result.currency, result.availability, result.stock, result.asin, result.sources["asin"]) == (
        Decimal("4.72"),
        "USD",
        "in_stock",
        7,
        "1005001-12000002",
        "embedded",
    )
    assert result.canonical_url == "https://www.aliexpress.com/item/1005001.html?sku_id=12000002"
    plain = read(html, family="aliexpress", url="https://www.aliexpress.com/item/1005001.html")
    assert (plain.price, plain.asin, plain.sources["asin"]) == (Decimal("3.50"), "1005001", "url")


# --- Identity: GTIN, MPN, brand -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "body", "identity"),
    [
        (
            jsonld(
                {
                    "@type": "Product",
                    "name": "Drill",
                    "gtin13": "4006381333931",
                    "mpn": "DR-18V",
                    "brand": {"@type": "Brand", "name": "Bosch"},
                    "offers": {"@type": "Offer", "price": "99", "priceCurrency": "EUR"},
                }
            ),
            "",
            ("4006381333931", "DR-18V", "Bosch"),
        ),
        (
            "",
            '<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">Drill</span>'
            '<meta itemprop="gtin12" content="012345678905"><span itemprop="brand">Makita</span>'
            '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><meta itemprop="price" content="89">'
            "</div></div>",
            ("012345678905", None, "Makita"),
        ),
        (
            '<meta property="og:title" content="Drill"><meta property="product:price:amount" content="79">'
            '<meta property="product:upc" content="036000291452"><meta property="product:brand" content="Ryobi">'
            '<meta property="product:mfr_part_no" content="P215">',
            "",
            ("036000291452", "P215", "Ryobi"),
        ),
        (
            "",
            '<script>window.__STATE__ = {"product": {"name": "Drill", "price": 59.0, "ean": "4006381333931", '
            '"manufacturerPartNumber": "GSR-12", "brandName": "Bosch"}};</script>',
            ("4006381333931", "GSR-12", "Bosch"),
        ),
    ],
    ids=["json-ld", "microdata", "opengraph", "embedded"],
)
def test_gtin_mpn_and_brand_are_read(head, body, identity):
    result = read(shop_page(body, head=head, title="Drill"))
    assert (result.gtin, result.mpn, result.brand) == identity


def test_a_page_stating_no_identity_has_none():
    result = read(shop_page("", head=jsonld({"@type": "Product", "name": "Drill", "offers": {"price": "9"}})))
    assert (result.gtin, result.mpn, result.brand) == (None, None, None)
