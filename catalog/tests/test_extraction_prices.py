"""Which price: the one a buyer pays now for a new item, whichever source states it.

Offers for used / refurbished / renewed / open-box items are set aside; a regular, list, "was" or
strike-through price loses to the current one whichever source names it; a shop with no structured
data is read from its buy box only where the page labels the price to pay."""

from decimal import Decimal

import pytest

from catalog.tests.pages import amazon_page, jsonld, read, shop_page


def offer(price, **fields):
    return {"@type": "Offer", "price": price, "priceCurrency": "USD", **fields}


def product(offers, name="Camera X100", **fields):
    return jsonld({"@type": "Product", "name": name, "offers": offers, **fields})


# --- Condition ------------------------------------------------------------------------------------


def test_a_used_only_offer_has_no_buy_price():
    head = product(offer("69.99", itemCondition="https://schema.org/UsedCondition"))
    body = '<h1>Camera X100</h1><p>Outlet: Open Box</p><p class="price">Now $69.99</p><button>Add to Cart</button>'
    result = read(shop_page(body, head=head))
    assert (result.title, result.price, result.currency) == ("Camera X100", None, "USD")


def test_a_new_offer_elsewhere_on_the_page_wins_over_the_used_one():
    head = product(offer("69.99", itemCondition="https://schema.org/UsedCondition")) + (
        '<meta property="product:price:amount" content="149.99"><meta property="product:price:currency" content="USD">'
    )
    result = read(shop_page("<h1>Camera X100</h1><p>Also available: used, like new</p>", head=head))
    assert (result.price, result.sources["price"]) == (Decimal("149.99"), "opengraph")


def test_used_and_new_offers_of_one_product_give_the_new_price():
    head = product(
        [
            offer("69.99", itemCondition="https://schema.org/RefurbishedCondition"),
            offer("149.99", itemCondition="https://schema.org/NewCondition"),
        ]
    )
    result = read(shop_page("<h1>Camera X100</h1><p>Refurbished from $69.99</p>", head=head))
    assert (result.price, result.price_is_range) == (Decimal("149.99"), False)


def test_a_condition_only_the_markup_states_is_not_taken_for_the_pages_word():
    """Markup copied from schema.org's own example marks a plain shop's offer used; the page never
    says so, so the offer is read as it is shown."""
    head = product(offer("119.99", itemCondition="http://schema.org/UsedCondition"))
    assert read(shop_page("<h1>Camera X100</h1><p>In excellent condition</p>", head=head)).price == Decimal("119.99")


def test_an_item_titled_renewed_has_no_new_item_price():
    result = amazon_page('<span id="priceblock_ourprice">$199.00</span>', title="Apple iPhone 12, 64GB (Renewed)")
    assert (result.title, result.price) == ("Apple iPhone 12, 64GB (Renewed)", None)


def test_amazons_used_only_buy_box_is_no_price():
    result = amazon_page(
        '<div id="usedOnlyBuybox"><div id="usedBuySection"><span class="a-color-price offer-price">£12.50</span>'
        '</div></div><div id="olp"><a>2 Used from £12.50</a></div>',
        url="https://www.amazon.co.uk/dp/1849757097",
    )
    assert (result.price, result.currency) == (None, "GBP")


# --- Sale over regular ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "specification",
    [
        [{"@type": "UnitPriceSpecification", "priceType": "https://schema.org/ListPrice", "price": "129.00"}],
        [{"@type": "UnitPriceSpecification", "priceType": "https://schema.org/StrikethroughPrice", "price": "129.00"}],
    ],
)
def test_a_list_or_strikethrough_price_specification_is_not_the_price(specification):
    head = product(offer("99.00", priceSpecification=specification))
    assert read(shop_page("", head=head)).price == Decimal("99.00")


def test_a_sale_price_specification_wins_over_the_offers_regular_price():
    spec = [
        {"@type": "UnitPriceSpecification", "priceType": "https://schema.org/StrikethroughPrice", "price": "129.00"},
        {"@type": "UnitPriceSpecification", "priceType": "https://schema.org/SalePrice", "price": "99.00"},
    ]
    head = product(offer("129.00", priceSpecification=spec))
    assert read(shop_page("", head=head)).price == Decimal("99.00")


def test_a_price_specification_with_only_a_list_price_gives_no_price():
    spec = [{"@type": "UnitPriceSpecification", "priceType": "https://schema.org/ListPrice", "price": "129.00"}]
    head = jsonld({"@type": "Product", "name": "Camera X100", "offers": {"@type": "Offer", "priceSpecification": spec}})
    assert read(shop_page("<h1>Camera X100</h1><p class='price'>$129.00</p>", head=head)).price is None


def test_opengraph_standard_amount_is_the_regular_price_beside_the_amount():
    head = (
        '<meta property="og:title" content="Camera X100"><meta property="product:price:amount" content="79.00">'
        '<meta property="og:price:standard_amount" content="99.00">'
        '<meta property="product:price:currency" content="EUR">'
    )
    result = read(shop_page("", head=head))
    assert (result.price, result.currency) == (Decimal("79.00"), "EUR")


def test_structured_data_stating_the_regular_price_loses_to_the_sale_price_the_page_states():
    """JSON-LD states the regular price; the meta tags (amount beside standard_amount) and the
    shop's own product data (price beside original price) state the lower sale price."""
    head = (
        product(offer("99.00"))
        + '<meta property="product:price:amount" content="79.00">'
        + '<meta property="og:price:standard_amount" content="99.00">'
    )
    body = '<script>window.product = {"name": "Camera X100", "price": 79.0, "originalPrice": 99.0};</script>'
    result = read(shop_page(body, head=head))
    assert (result.price, result.currency) == (Decimal("79.00"), "USD")


def test_the_shops_own_data_gives_its_sale_price_over_its_regular_one():
    head = jsonld({"@type": "Product", "name": "Camera X100"})
    body = (
        '<script>var productData = {"name": "Camera X100", "regularPrice": "$99.00", "salePrice": "$79.00"};</script>'
    )
    result = read(shop_page(body, head=head))
    assert (result.price, result.currency, result.sources["price"]) == (Decimal("79.00"), "USD", "embedded")


def test_a_sale_price_meta_tag_wins_over_the_price_amount():
    head = (
        '<meta property="og:title" content="Camera X100"><meta property="product:price:amount" content="99.00">'
        '<meta property="product:sale_price:amount" content="79.00">'
        '<meta property="product:price:currency" content="USD">'
    )
    assert read(shop_page("", head=head)).price == Decimal("79.00")


# --- Shops with no structured data: the buy box ---------------------------------------------------


def test_the_buy_boxs_labelled_price_to_pay_is_read_and_the_was_price_is_not():
    body = (
        '<div class="carousel"><span class="price">$5.00</span></div><h1>Camera X100</h1>'
        '<div class="product-price"><span class="price-was">Was $99.00</span>'
        '<span class="price-current">Now $79.00</span><span class="price-save">Save $20.00</span></div>'
        '<button type="submit">Add to Cart</button><div class="related"><span class="price">$12.00</span></div>'
    )
    result = read(shop_page(body, title="Camera X100 | Shop"))
    assert (result.title, result.price, result.currency, result.availability) == (
        "Camera X100",
        Decimal("79.00"),
        "USD",
        "in_stock",
    )


def test_an_unlabelled_number_near_the_title_is_not_taken_for_the_price_but_gives_the_currency():
    body = '<h1>Camera X100</h1><p class="price main">Price: £79.00</p><button type="submit">Add to Cart</button>'
    result = read(shop_page(body, head='<meta property="og:title" content="Camera X100">'))
    assert (result.price, result.currency) == (None, "GBP")


def test_an_open_box_offer_in_the_buy_box_is_another_offer():
    body = (
        '<h1>Camera X100</h1><div class="open-box"><span class="price-current">Open-Box from $50.99</span></div>'
        '<div><span class="customer-price">$59.99</span></div><button type="submit">Add to Cart</button>'
    )
    assert read(shop_page(body)).price == Decimal("59.99")


def test_a_price_range_in_the_buy_box_is_no_price():
    body = (
        '<h1>Camera X100</h1><div class="product-price">$12.97 - $24.99</div><button type="submit">Add to Bag</button>'
    )
    result = read(shop_page(body))
    assert (result.price, result.price_is_range, result.currency) == (None, True, "USD")


def test_the_dollar_of_a_shop_is_its_countrys():
    body = '<h1>Camera X100</h1><div class="sale-price">$79.00</div><button type="submit">Add to Cart</button>'
    assert read(shop_page(body), url="https://shop.example.ca/camera").currency == "CAD"
    assert read(f'<html lang="en-AU">{shop_page(body)[6:]}').currency == "AUD"
    assert read(shop_page(body)).currency == "USD"
