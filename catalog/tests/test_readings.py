"""The checks a reading passes before anything is written (catalog.readings): identity, then
bounds and cleaning. Constructed readings; no database."""

from decimal import Decimal

import pytest

from catalog.extraction import Extraction
from catalog.models import Product, Supplier
from catalog.readings import (
    CURRENCY_UNKNOWN,
    DESCRIPTION_DROPPED,
    GTIN_DROPPED,
    RATING_DROPPED,
    REVIEWS_DROPPED,
    reading_clean,
    reading_identity,
    title_overlap,
)

TITLE = "Instant Pot Duo 7-in-1 Electric Pressure Cooker, 6 Quart"


def product(asin="B00FLYWNYQ", *, title=TITLE, url="https://www.amazon.com/dp/B00FLYWNYQ", **fields):
    return Product(supplier=Supplier(name="amazon"), asin=asin, title=title, url=url, **fields)


def page(*, asin=None, asin_source="selectors", url="https://www.amazon.com/dp/B00FLYWNYQ", canonical=None, **fields):
    reading = Extraction(title=fields.pop("title", TITLE), asin=asin, page_url=url, canonical_url=canonical, **fields)
    if asin:
        reading.sources["asin"] = asin_source
    return reading


def same(product, reading, family="amazon"):
    return reading_identity(product, reading, family=family)


# --- Identity ---------------------------------------------------------------------------------


def test_the_page_stated_id_decides_even_when_the_title_was_rewritten():
    assert same(product(), page(asin="B00FLYWNYQ", title="Something else entirely")).same


def test_another_stated_id_is_another_product_with_both_ids_in_the_reason():
    identity = same(product(), page(asin="B07CL39Z8Q", title=TITLE))
    assert not identity.same and identity.by == "page id"
    assert "B07CL39Z8Q" in identity.reason and "B00FLYWNYQ" in identity.reason
    assert identity.ours["title"] == TITLE and identity.page["id"] == "B07CL39Z8Q"


def test_a_costco_item_number_on_the_page_does_not_contradict_the_product_number_of_its_link():
    ours = product("100325708", url="https://www.costco.com/massage-table.product.100325708.html")
    canonical = "https://www.costco.com/inner-strength-massage-table.product.100325708.html"
    identity = same(ours, page(asin="1124604", url=ours.url, canonical=canonical, title="Other words"), "costco")
    assert identity.same and identity.by == "canonical URL"
    moved = "https://www.costco.com/garden-hose.product.100999999.html"
    identity = same(ours, page(asin="1124604", url=moved, canonical=moved), "costco")
    assert not identity.same and identity.by == "canonical URL"


def test_an_amazon_parent_page_with_no_child_selected_is_not_our_reading():
    identity = same(product(), page(asin="B00FLYWNYQ", variant_unselected=True))
    assert not identity.same and identity.by == "variants"


def test_an_id_read_only_from_our_own_url_is_not_the_page_stating_it():
    # The extractor read the id from the URL: the title decides.
    identity = same(product(), page(asin="B00FLYWNYQ", asin_source="url", title="Garden hose 50 ft"))
    assert not identity.same and identity.by == "title"


def test_a_different_gtin_is_another_product_when_no_supplier_id_is_stated():
    shop = product("url-abc", url="https://shop.example.com/p/kettle", gtin="0012345678905")
    assert same(shop, page(gtin="12345678905", url=shop.url), family="generic").same  # leading zeros
    identity = same(shop, page(gtin="4006381333931", url=shop.url), family="generic")
    assert not identity.same and identity.by == "GTIN"


def test_a_different_part_number_is_another_product():
    shop = product("url-abc", url="https://shop.example.com/p/kettle", mpn="KT-100")
    assert not same(shop, page(mpn="KT-200", url=shop.url), family="generic").same
    assert same(shop, page(mpn="kt-100", url=shop.url), family="generic").same


def test_a_canonical_url_naming_another_item_is_another_product():
    identity = same(product(), page(canonical="https://www.amazon.com/Other-Thing/dp/B07CLN88MV"))
    assert not identity.same and identity.by == "canonical URL"


def test_a_regional_redirect_or_slug_rename_of_the_same_item_is_not_a_change():
    moved = page(url="https://www.amazon.de/Neuer-Name/dp/B00FLYWNYQ", title="Schnellkochtopf")
    identity = same(product(), moved)
    assert identity.same and identity.by == "final URL"
    ali = product("1005001", url="https://www.aliexpress.com/item/1005001.html", title="Phone case")
    renamed = page(url="https://www.aliexpress.com/item/new-slug/1005001.html", title="Another title")
    assert same(ali, renamed, family="aliexpress").same


def test_a_redirect_to_another_item_is_another_product_and_says_where_it_led():
    identity = same(product(), page(url="https://www.amazon.com/dp/B07CLN88MV", title=TITLE))
    assert not identity.same and identity.by == "final URL"
    assert "the link now leads to https://www.amazon.com/dp/B07CLN88MV" in identity.reason


def test_our_own_address_proves_nothing_so_the_title_decides():
    shop = product("url-abc", title="Blue enamel kettle 1.7 l", url="https://shop.example.com/p/kettle")
    assert same(shop, page(title="Blue Enamel Kettle, 1.7 L – free shipping", url=shop.url), family="generic").same
    identity = same(shop, page(title="Garden hose 50 ft", url=shop.url), family="generic")
    assert not identity.same and identity.by == "title"


def test_a_shop_sku_against_a_product_known_by_its_address_falls_to_the_title():
    shop = product("url-abc", title="Blue enamel kettle", url="https://shop.example.com/p/kettle")
    assert not same(shop, page(asin="SKU-9", title="Garden hose", url=shop.url), family="generic").same
    assert same(shop, page(asin="SKU-9", title="Blue enamel kettle", url=shop.url), family="generic").same


def test_a_first_reading_with_nothing_to_compare_is_ours():
    new = product("url-abc", title="", url="https://shop.example.com/p/kettle")
    identity = same(new, page(title="Anything", url=new.url), family="generic")
    assert identity.same and identity.by == "nothing to compare"


def test_title_overlap_divides_by_the_shorter_title():
    assert title_overlap("Blue kettle", "Blue enamel kettle 1.7 l, free shipping") == 1.0
    assert title_overlap("Blue enamel kettle", "Red garden hose") == 0.0


# --- Bounds and cleaning ----------------------------------------------------------------------


def clean(**fields):
    reading = Extraction(title=fields.pop("title", "Kettle"), **fields)
    return reading, *reading_clean(reading)


@pytest.mark.parametrize(
    ("price", "currency", "words"),
    [
        (Decimal("99999999999999999.99"), "USD", "does not fit"),
        (Decimal("-15.00"), "USD", "more than zero"),
        (Decimal("0"), "USD", "more than zero"),
        (Decimal("0.001"), "USD", "more than zero"),
        (Decimal("NaN"), "USD", "not a number"),
        (Decimal("2000000"), "USD", "sanity ceiling of 1000000 USD"),
    ],
)
def test_a_price_out_of_bounds_makes_the_whole_reading_invalid(price, currency, words):
    reading, problem, _ = clean(price=price, currency=currency)
    assert problem and words in problem
    assert reading.price == price or price.is_nan()  # never clamped nor flipped


def test_the_ceiling_is_per_currency():
    _, problem, _ = clean(price=Decimal("2000000"), currency="JPY")
    assert problem is None


def test_an_unknown_currency_makes_the_reading_invalid():
    _, problem, _ = clean(price=Decimal("10"), currency="XYZ")
    assert problem == CURRENCY_UNKNOWN.format(value="XYZ")


@pytest.mark.parametrize("stock", [-1, 2_147_483_648, True])
def test_a_stock_out_of_bounds_makes_the_reading_invalid(stock):
    _, problem, _ = clean(price=Decimal("10"), currency="USD", stock=stock, availability="in_stock")
    assert problem and "stock" in problem


def test_a_bad_rating_review_count_description_or_gtin_is_dropped_with_a_note_and_the_rest_applies():
    reading, problem, notes = clean(
        price=Decimal("10.00"),
        currency="USD",
        rating=Decimal("7"),
        reviews_count=-3,
        description=["not", "text"],
        gtin="12AB",
    )
    assert problem is None and reading.price == Decimal("10.00")
    assert (reading.rating, reading.reviews_count, reading.description, reading.gtin) == (None, None, None, None)
    assert notes == [
        DESCRIPTION_DROPPED,
        GTIN_DROPPED.format(value="12AB"),
        RATING_DROPPED.format(value="7"),
        REVIEWS_DROPPED.format(value="-3"),
    ]


def test_text_loses_nul_and_control_characters_and_is_cut_to_its_field():
    reading, problem, _ = clean(
        title="Kettle\x00 blue\x1b\n" + "x" * 600, description="Line one\r\nLine\x00 two\x07", brand="Ac\x00me"
    )
    assert problem is None
    assert "\x00" not in reading.title and reading.title.startswith("Kettle blue ") and len(reading.title) == 500
    assert reading.description == "Line one\nLine two" and reading.brand == "Acme"


def test_a_price_is_rounded_to_the_cent_never_clamped():
    reading, problem, _ = clean(price=Decimal("19.999"), currency="usd")
    assert problem is None and reading.price == Decimal("20.00") and reading.currency == "USD"
