"""Amazon's buy box in each of its layouts, the selected child ASIN, and a parent product's page."""

from decimal import Decimal

import pytest

from catalog.tests.pages import amazon_page, read


@pytest.mark.parametrize(
    ("body", "price"),
    [
        (  # core price block
            '<div id="corePrice_feature_div"><span class="a-price">'
            '<span class="a-offscreen">$12.48</span></span></div>',
            "12.48",
        ),
        (  # apex "price to pay"
            '<div id="corePriceDisplay_desktop_feature_div"><span class="a-price a-text-price">'
            '<span class="a-offscreen">$129.99</span></span><span class="a-price apexPriceToPay">'
            '<span class="a-offscreen">$99.95</span></span></div>',
            "99.95",
        ),
        (  # book format switcher: the buy-new header price
            '<div id="newOfferAccordionRow"><span class="header-price">$21.11</span></div>'
            '<div id="usedAccordionRow"><span class="header-price">$17.99</span></div>',
            "21.11",
        ),
        ('<div id="buyNewSection"><span class="offer-price">$35.64</span></div>', "35.64"),
        (  # the twister's price data for the selected variant
            '<input type="hidden" id="twister-plus-price-data-price" value="29.99">'
            '<input type="hidden" id="twister-plus-price-data-price-unit" value="$">',
            "29.99",
        ),
        (  # the buy box form's own price
            '<div id="qualifiedBuybox"><form id="addToCart">'
            '<input type="hidden" name="items[0.base][customerVisiblePrice][amount]" value="45.99">'
            '<input type="hidden" name="items[0.base][customerVisiblePrice][currencyCode]" value="USD"></form></div>',
            "45.99",
        ),
        ('<span id="actualPriceValue"><b class="priceLarge">$18.77</b></span>', "18.77"),  # 2013 desktop
        (  # 2013-2014 mobile price table
            '<table id="prices"><tr><td class="a-text-strike">$24.95</td></tr>'
            '<tr><td class="a-color-price">$17.09</td></tr></table>',
            "17.09",
        ),
        (  # 2018 mobile Kindle
            '<div class="kindle-price price_label"><div class="price-value"><span>$25.00</span></div></div>',
            "25.00",
        ),
    ],
    ids=["core", "apex", "format-switcher", "buy-new", "twister", "buy-box-form", "desktop-2013", "mobile", "kindle"],
)
def test_every_buy_box_layout_is_read(body, price):
    carousel = '<div class="sims"><span class="a-price"><span class="a-offscreen">$3.99</span></span></div>'
    result = amazon_page(carousel + body)
    assert (result.price, result.currency, result.sources["price"]) == (Decimal(price), "USD", "selectors")


@pytest.mark.parametrize(
    "heading",
    [
        '<span id="btAsinTitle">Knit Noro <span>[Hardcover]</span></span>',
        '<div id="udp"><h1>Knit Noro (Paperback)</h1></div>',
        '<h1 id="product-title">Knit Noro</h1>',
        '<span id="ebooksTitle" role="heading">Knit Noro</span>',
    ],
    ids=["desktop-2013", "mobile-2013", "mobile-2014", "kindle-mobile"],
)
def test_old_and_mobile_layouts_give_the_title(heading):
    html = (
        f'<html><body>{heading}<table id="prices"><tr><td class="a-color-price">$17.09</td></tr></table></body></html>'
    )
    result = read(html, family="amazon")
    assert result.title.startswith("Knit Noro") and result.price == Decimal("17.09")


def test_the_selected_child_asin_is_the_pages_id():
    html = (
        '<html><head><link rel="canonical" href="https://www.amazon.com/Case/dp/B0DL98MQBC"></head><body>'
        '<span id="productTitle">Phone Case</span><span id="priceblock_ourprice">$9.99</span>'
        '<form id="addToCart"><input type="hidden" id="ASIN" name="ASIN" value="B0CCJPGYC2"></form></body></html>'
    )
    result = read(html, family="amazon")
    assert (result.asin, result.sources["asin"], result.variant_unselected) == ("B0CCJPGYC2", "selectors", False)


def test_an_id_read_only_from_a_url_says_so():
    html = (
        '<html><head><link rel="canonical" href="https://www.amazon.com/Case/dp/B0DL98MQBC"></head><body>'
        '<span id="productTitle">Phone Case</span><span id="priceblock_ourprice">$9.99</span></body></html>'
    )
    result = read(html, family="amazon")
    assert (result.asin, result.sources["asin"]) == ("B0DL98MQBC", "url")


def test_the_buy_boxs_asin_is_the_selected_childs():
    result = amazon_page('<div id="desktop_qualifiedBuyBox" data-csa-c-asin="B0CHILD002"></div>')
    assert (result.asin, result.sources["asin"]) == ("B0CHILD002", "selectors")


def test_an_old_mobile_page_states_its_asin_in_its_buy_form():
    result = amazon_page('<form><input type="hidden" name="a" value="0596516177"></form>')
    assert (result.asin, result.sources["asin"]) == ("0596516177", "selectors")


def test_a_parent_product_with_no_variant_selected_is_no_item_and_no_price():
    result = amazon_page(
        '<div id="corePrice_feature_div"><span class="a-price-range"><span class="a-price"><span class="a-offscreen">'
        '$12.99</span></span> - <span class="a-price"><span class="a-offscreen">$24.99</span></span></span></div>'
        '<div id="partialStateBuyBox_feature_div"><div id="partialStateBuybox">To buy, select <b>Size</b></div></div>'
    )
    assert (result.variant_unselected, result.price, result.price_is_range) == (True, None, True)


def test_a_page_with_a_variant_selected_is_that_item():
    result = amazon_page(
        '<span id="priceblock_ourprice">$12.99</span><input type="hidden" id="ASIN" value="B0CHILD001">'
    )
    assert (result.variant_unselected, result.price, result.asin) == (False, Decimal("12.99"), "B0CHILD001")
