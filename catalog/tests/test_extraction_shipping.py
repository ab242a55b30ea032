"""What a page says shipping costs, read as a hint: schema.org shippingDetails, the supplier's shipping
selectors (Amazon's delivery message), and "FREE delivery" / "+ $5.99 shipping" beside a shop's buy
button. Conditional offers ("free over $35", "for Prime members") and rates in another currency say
nothing about this item; hidden text is not read."""

from decimal import Decimal

import pytest

from catalog.extraction.shipping import read_shipping
from catalog.tests.pages import amazon_page, jsonld, read, shop_page


def product(offer_extra: dict | None = None, **offer) -> str:
    offer = {"@type": "Offer", "price": "40.00", "priceCurrency": "USD", **offer, **(offer_extra or {})}
    return jsonld({"@type": "Product", "name": "Desk Lamp", "sku": "LAMP-1", "offers": offer})


def rate(value, currency="USD") -> dict:
    return {
        "shippingDetails": {
            "@type": "OfferShippingDetails",
            "shippingRate": {"@type": "MonetaryAmount", "value": value, "currency": currency},
            "shippingDestination": {"@type": "DefinedRegion", "addressCountry": "US"},
        }
    }


def test_structured_data_states_the_shipping_rate():
    result = read(shop_page("<h1>Desk Lamp</h1>", head=product(rate("5.99"))))
    assert (result.price, result.shipping_hint, result.shipping_free) == (Decimal("40.00"), Decimal("5.99"), False)
    assert result.sources["shipping_hint"] == "json-ld"


def test_a_zero_shipping_rate_is_free_delivery():
    result = read(shop_page("<h1>Desk Lamp</h1>", head=product(rate(0))))
    assert (result.shipping_hint, result.shipping_free) == (Decimal("0.00"), True)


def test_a_rate_in_another_currency_than_the_price_is_not_this_prices_shipping():
    result = read(shop_page("<h1>Desk Lamp</h1>", head=product(rate("4.90", currency="EUR"))))
    assert result.shipping_hint is None


def test_the_rates_of_a_list_of_shipping_details_give_the_first_one():
    details = {"shippingDetails": [rate("7.50")["shippingDetails"], rate("12.00")["shippingDetails"]]}
    assert read(shop_page("<h1>Desk Lamp</h1>", head=product(details))).shipping_hint == Decimal("7.50")


@pytest.mark.parametrize(
    ("beside_the_button", "hint"),
    [
        ('<p class="delivery">FREE delivery Friday, August 21</p>', Decimal("0.00")),
        ('<p class="shipping">+ $4.95 shipping</p>', Decimal("4.95")),
        ("<div><span>Shipping:</span> <span>$6.50</span></div>", Decimal("6.50")),
        ('<p class="shipping">Free shipping on orders over $35</p>', None),
        ("<p>FREE delivery for Prime members</p>", None),
        ('<p class="shipping" style="display:none">Free shipping</p>', None),
        ("<p>Ships in 2 days</p>", None),
    ],
)
def test_a_statement_beside_the_buy_button_of_a_shop_without_data_is_read(beside_the_button, hint):
    offers = {"@type": "Offer", "price": "40.00", "priceCurrency": "USD"}
    head = jsonld({"@type": "Product", "name": "Desk Lamp", "offers": offers})
    body = (
        '<h1>Desk Lamp</h1><div class="buy-box"><span class="price">$40.00</span>'
        f'<button type="submit">Add to Cart</button>{beside_the_button}</div>'
    )
    result = read(shop_page(body, head=head))
    assert result.shipping_hint == hint
    if hint is not None:
        assert result.sources["shipping_hint"] == "heuristics"


def test_structured_data_wins_over_the_words_on_the_page():
    body = '<h1>Desk Lamp</h1><button type="submit">Add to Cart</button><p>FREE delivery Friday</p>'
    assert read(shop_page(body, head=product(rate("3.00")))).shipping_hint == Decimal("3.00")


def test_amazons_delivery_message_is_read_by_its_selectors():
    result = amazon_page(
        '<span id="priceblock_ourprice">$24.99</span>'
        '<div id="mir-layout-DELIVERY_BLOCK-slot-PRIMARY_DELIVERY_MESSAGE_LARGE">'
        '<span data-csa-c-delivery-price="$5.99">$5.99 delivery <b>May 6 - 10</b></span></div>'
    )
    assert (result.price, result.shipping_hint, result.sources["shipping_hint"]) == (
        Decimal("24.99"),
        Decimal("5.99"),
        "selectors",
    )


def test_amazons_free_delivery_for_everyone_is_free_and_for_prime_members_is_nothing():
    free = amazon_page(
        '<span id="priceblock_ourprice">$24.99</span>'
        '<div id="deliveryBlockMessage">FREE delivery <b>Friday, August 21</b>. '
        "Or Prime members get FREE delivery Tomorrow, August 17.</div>"
    )
    assert (free.shipping_hint, free.shipping_free) == (Decimal("0.00"), True)
    prime = amazon_page(
        '<span id="priceblock_ourprice">$24.99</span>'
        '<div id="deliveryBlockMessage">FREE delivery Tomorrow for Prime members</div>'
    )
    assert prime.shipping_hint is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FREE delivery Friday, August 21", (Decimal("0.00"), None)),
        ("$5.99 delivery May 6 - 10", (Decimal("5.99"), "USD")),
        ("Versand: 3,99 €", (Decimal("3.99"), "EUR")),
        ("KOSTENFREIE Lieferung Mittwoch, 5. März", (Decimal("0.00"), None)),
        ("Livraison GRATUITE jeudi 6 mars", (Decimal("0.00"), None)),
        ("Delivery May 6 - 10", None),  # a date, not an amount
        ("FREE delivery Sunday, 2 February on your first order", None),
        ("Free Returns", None),
    ],
)
def test_shipping_phrases_in_the_languages_suppliers_answer_in(text, expected):
    assert read_shipping(text, default_dollar="USD") == expected
