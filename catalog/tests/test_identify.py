"""Recognising supplier, site and product from what a seller pastes."""

import pytest

from catalog.extraction import FAMILY_CONFIGS
from catalog.identify import (
    BAD_ISBN,
    NO_PRODUCT_ID,
    SHORT_LINK,
    IdentifyError,
    canonical_generic_url,
    family_configs_from_db,
    generic_product_id,
    identify,
    product_id_from_url,
    site_currency,
    strip_tracking,
    variant_from_url,
    with_variant,
)
from catalog.models import Supplier


@pytest.mark.parametrize(
    ("text", "site_name", "asin", "canonical", "currency"),
    [
        (
            "https://www.amazon.com/Instant-Pot-Multi-Use/dp/B00FLYWNYQ/ref=sr_1_3?keywords=pot&qid=1&sr=8-3",
            "amazon",
            "B00FLYWNYQ",
            "https://www.amazon.com/dp/B00FLYWNYQ",
            "USD",
        ),
        (
            "https://www.amazon.de/gp/product/B00FLYWNYQ?psc=1&tag=x-21",
            "amazon-de",
            "B00FLYWNYQ",
            "https://www.amazon.de/dp/B00FLYWNYQ",
            "EUR",
        ),
        ("amazon.co.uk/dp/0131103628", "amazon-co-uk", "0131103628", "https://www.amazon.co.uk/dp/0131103628", "GBP"),
        (
            "https://smile.amazon.com/dp/1937785734/",
            "amazon",
            "1937785734",
            "https://www.amazon.com/dp/1937785734",
            "USD",
        ),
        (
            "https://www.amazon.co.jp/-/en/dp/B07H57DNVV",
            "amazon-co-jp",
            "B07H57DNVV",
            "https://www.amazon.co.jp/dp/B07H57DNVV",
            "JPY",
        ),
        (
            "https://www.amazon.com.br/gp/aw/d/B01MUGXRT9",
            "amazon-com-br",
            "B01MUGXRT9",
            "https://www.amazon.com.br/dp/B01MUGXRT9",
            "BRL",
        ),
        (
            "https://www.amazon.ca/dp/b00flywnyq",
            "amazon-ca",
            "B00FLYWNYQ",
            "https://www.amazon.ca/dp/B00FLYWNYQ",
            "CAD",
        ),
        (
            "https://www.amazon.ae/WMF/dp/B00008XVAE",
            "amazon-ae",
            "B00008XVAE",
            "https://www.amazon.ae/dp/B00008XVAE",
            "AED",
        ),
        ("https://amzn.com/B00FLYWNYQ", "amazon", "B00FLYWNYQ", "https://www.amazon.com/dp/B00FLYWNYQ", "USD"),
        ("B00FLYWNYQ", "amazon", "B00FLYWNYQ", "https://www.amazon.com/dp/B00FLYWNYQ", "USD"),
        ("  080442957x ", "amazon", "080442957X", "https://www.amazon.com/dp/080442957X", "USD"),
    ],
)
def test_amazon_links_and_bare_asins(text, site_name, asin, canonical, currency):
    found = identify(text)
    assert (found.family, found.site_name, found.product_id, found.canonical_url, found.currency) == (
        "amazon",
        site_name,
        asin,
        canonical,
        currency,
    )


def test_a_bare_asin_goes_to_the_sellers_amazon_site():
    found = identify("B00FLYWNYQ", default_amazon_site="amazon.de")
    assert (found.site_name, found.base_url, found.currency) == ("amazon-de", "https://www.amazon.de", "EUR")


def test_two_links_to_one_product_give_one_site_and_id():
    links = [
        "https://www.amazon.de/Instant-Pot/dp/B00FLYWNYQ?th=1&psc=1&utm_source=mail",
        "https://amazon.de/gp/product/B00FLYWNYQ/ref=ox_sc_act_title_1?smid=A3JWKAKR8XB7XF",
        "http://m.amazon.de/dp/B00FLYWNYQ#reviews",
    ]
    assert {(identify(u).site_name, identify(u).product_id) for u in links} == {("amazon-de", "B00FLYWNYQ")}
    aliexpress = [
        "https://he.aliexpress.com/item/32993251330.html?spm=a2g0o.detail&gatewayAdapt=glo2isr",
        "https://www.aliexpress.com/item/Apple-iPhone-SE/32993251330.html",
        "https://fr.aliexpress.com/item/32993251330.html?aff_platform=x",
    ]
    found = {(identify(u).site_name, identify(u).product_id, identify(u).canonical_url) for u in aliexpress}
    assert found == {("aliexpress", "32993251330", "https://www.aliexpress.com/item/32993251330.html")}


def test_aliexpress_regional_domains_are_sites_of_their_own():
    found = identify("https://aliexpress.ru/item/1005004.html")
    assert (found.family, found.site_name, found.product_id, found.currency) == (
        "aliexpress",
        "aliexpress-ru",
        "1005004",
        "RUB",
    )


@pytest.mark.parametrize(
    ("url", "site_name", "currency"),
    [
        ("https://www.costco.com/afa-sink.product.100432602.html?langId=-1", "costco", "USD"),
        ("https://www.costco.ca/afa-sink.product.100432602.html", "costco-ca", "CAD"),
        ("https://www.costco.co.uk/afa-sink.product.100432602.html", "costco-co-uk", "GBP"),
    ],
)
def test_costco_item_pages(url, site_name, currency):
    found = identify(url)
    assert (found.family, found.site_name, found.product_id, found.currency) == (
        "costco",
        site_name,
        "100432602",
        currency,
    )
    assert "?" not in found.canonical_url


def test_any_other_shop_is_generic_with_its_site_named_after_the_host():
    found = identify("https://shop.example.com/p/lamp?id=7&utm_source=x&fbclid=y&gclid=z#top")
    assert (found.family, found.site_name, found.product_id, found.currency) == (
        "generic",
        "shop-example-com",
        None,
        None,
    )
    assert found.canonical_url == "https://shop.example.com/p/lamp?id=7"
    assert identify("https://www.example.com/p/lamp").site_name == "example-com"


def test_generic_product_id_is_the_sku_or_a_stable_hash_of_the_canonical_url():
    assert generic_product_id("https://shop.example.com/p/lamp", sku="LMP-7") == "LMP-7"
    same = {
        generic_product_id("https://shop.example.com/p/lamp"),
        generic_product_id("http://www.shop.example.com/p/lamp/"),
        generic_product_id("https://SHOP.example.com:443/p/lamp?utm_campaign=x#a"),
    }
    assert len(same) == 1 and len(same.pop()) <= 64
    assert generic_product_id("https://shop.example.com/p/lamp?id=7") != generic_product_id(
        "https://shop.example.com/p/lamp?id=8"
    )


def test_tracking_parameters_are_stripped_and_the_rest_kept():
    assert strip_tracking("https://x.com/a?utm_medium=m&color=red&ref=abc&spm=1&size=9") == (
        "https://x.com/a?color=red&size=9"
    )
    assert canonical_generic_url("HTTPS://Shop.Example.com:8443/a?b=1") == "https://shop.example.com:8443/a?b=1"
    # A shop may choose a variant with "sr" or "src"; on Amazon they are search tracking.
    assert strip_tracking("https://shop.example.com/p?sr=2&src=x&gclid=1") == "https://shop.example.com/p?sr=2&src=x"
    assert strip_tracking("https://www.amazon.com/dp/B00FLYWNYQ?sr=8-3&qid=1&th=1") == (
        "https://www.amazon.com/dp/B00FLYWNYQ"
    )


@pytest.mark.parametrize(
    ("text", "message_start"),
    [
        ("", "Paste a product link"),
        ("ftp://example.com/file", "Only http and https"),
        ("https://amzn.to/3xYzAbC", SHORT_LINK.format(host="amzn.to")),
        ("https://www.amazon.com/s?k=kettle", NO_PRODUCT_ID.format(family="Amazon")),
        ("https://www.amazon.xyz/dp/B00FLYWNYQ", "www.amazon.xyz is not an Amazon store"),
        ("https://aws.amazon.com/dp/B00FLYWNYQ", "aws.amazon.com is not an Amazon store page"),
        (
            "https://www.aliexpress.com/category/100003109/women-clothing.html",
            NO_PRODUCT_ID.format(family="AliExpress"),
        ),
        ("0131103629", BAD_ISBN.format(text="0131103629")),
        ("hello", "“hello” is neither"),
    ],
)
def test_what_cannot_be_tracked_is_refused_with_a_clear_message(text, message_start):
    with pytest.raises(IdentifyError) as raised:
        identify(text)
    assert isinstance(raised.value, ValueError)
    assert message_start in str(raised.value)


def test_site_currency_by_domain():
    assert [
        site_currency(h) for h in ("www.amazon.de", "https://www.amazon.co.uk/dp/X", "amazon.co.jp", "costco.ca")
    ] == [
        "EUR",
        "GBP",
        "JPY",
        "CAD",
    ]
    assert site_currency("https://shop.example.com/") is None


def test_the_families_url_patterns_come_from_their_config():
    configs = {**FAMILY_CONFIGS, "costco": {**FAMILY_CONFIGS["costco"], "product_id_patterns": [r"/item-(\d+)$"]}}
    assert identify("https://www.costco.com/item-42", configs=configs).product_id == "42"
    with pytest.raises(IdentifyError):
        identify("https://www.costco.com/item-42")


@pytest.mark.django_db
def test_staff_edits_of_the_template_rows_are_used():
    amazon = Supplier.objects.get(name="amazon", family__isnull=True)
    amazon.scraper_config = {**amazon.scraper_config, "product_id_patterns": [r"/item/([A-Z0-9]{10})"]}
    amazon.save(update_fields=["scraper_config"])
    configs = family_configs_from_db()
    assert identify("https://www.amazon.com/item/B00FLYWNYQ", configs=configs).product_id == "B00FLYWNYQ"


# --- Links that select one variant --------------------------------------------------------------


def test_an_aliexpress_link_selecting_a_sku_names_that_variant_and_keeps_it_in_its_address():
    found = identify("https://www.aliexpress.com/item/1005004535587878.html?spm=a2g0o&sku_id=12000029541364634")
    assert found.product_id == "1005004535587878-12000029541364634"
    assert found.canonical_url == "https://www.aliexpress.com/item/1005004535587878.html?sku_id=12000029541364634"
    assert product_id_from_url(found.canonical_url, "aliexpress") == found.product_id


def test_links_selecting_no_variant_keep_the_ids_they_always_had():
    assert identify("https://www.aliexpress.com/item/1005004535587878.html?spm=a2g0o").product_id == (
        "1005004535587878"
    )
    assert identify("https://www.amazon.com/dp/B00FLYWNYQ?th=1&psc=1").product_id == "B00FLYWNYQ"
    assert product_id_from_url("https://www.aliexpress.com/item/1005004535587878.html", "aliexpress") == (
        "1005004535587878"
    )


def test_an_amazon_child_asin_is_its_own_product():
    parent, child = identify("https://www.amazon.com/dp/B0DL98MQBC"), identify("https://www.amazon.com/dp/B0CCJPGYC2")
    assert (parent.product_id, child.product_id) == ("B0DL98MQBC", "B0CCJPGYC2")


def test_a_shop_link_selecting_a_variant_keeps_it_so_the_variant_has_an_address_and_id_of_its_own():
    found = identify("https://shop.example.com/products/tee?variant=40112233&utm_source=x")
    assert found.canonical_url == "https://shop.example.com/products/tee?variant=40112233"
    plain = identify("https://shop.example.com/products/tee")
    assert generic_product_id(found.canonical_url) != generic_product_id(plain.canonical_url)


@pytest.mark.parametrize(
    ("url", "variant"),
    [
        ("https://shop.example.com/products/tee?variant=40112233", "40112233"),
        ("https://www.aliexpress.com/item/1.html?skuId=120003", "120003"),
        ("https://shop.example.com/products/tee?colour=red", None),
        ("https://shop.example.com/products/tee?variant=<script>", None),
        (None, None),
    ],
)
def test_the_variant_a_link_selects(url, variant):
    assert variant_from_url(url) == variant


def test_a_page_address_can_be_given_the_variant_read():
    assert with_variant("https://shop.example.com/products/tee?colour=red", "42") == (
        "https://shop.example.com/products/tee?colour=red&variant=42"
    )
    assert (
        with_variant("https://www.aliexpress.com/item/1.html", "7") == "https://www.aliexpress.com/item/1.html?sku_id=7"
    )
