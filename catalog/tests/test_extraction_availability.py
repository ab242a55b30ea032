"""Availability by meaning: the phrases of every Amazon site's languages and their regional wording,
shipping times (short is in stock, long is unknown), and the add-to-cart control and the scarcity
statement beside it for shops that say nothing else."""

import pytest
from django.test import override_settings

from catalog.tests.pages import amazon_page, jsonld, read, shop_page


@pytest.mark.parametrize(
    ("text", "availability", "stock"),
    [
        ("Il ne reste plus que 4 exemplaire(s) en stock.", "low_stock", 4),
        (
            "Derzeit nicht verfügbar. Ob und wann dieser Artikel wieder vorrätig sein wird, ist unbekannt.",
            "out_of_stock",
            None,
        ),
        ("Nur noch 1 auf Lager (mehr ist unterwegs).", "low_stock", 1),
        ("Solo quedan 2 en stock (hay más unidades en camino).", "low_stock", 2),
        ("Temporalmente sin stock.", "out_of_stock", None),
        ("Disponibilità immediata", "in_stock", None),
        ("Attualmente non disponibile.", "out_of_stock", None),
        ("Solo 3 pezzi disponibili. Ordina subito.", "low_stock", 3),
        ("Em estoque", "in_stock", None),
        ("残り3点 ご注文はお早めに", "low_stock", 3),
        ("現在お取り扱いできません。", "out_of_stock", None),
        ("在庫あり。", "in_stock", None),
        ("Nog maar 5 op voorraad", "low_stock", 5),
        ("Stokta sadece 2 adet kaldı", "low_stock", 2),
        ("غير متوفر حاليًا.", "out_of_stock", None),
        ("Temporarily out of stock. Order now and we'll deliver when available.", "out_of_stock", None),
        ("Currently unavailable. We don't know when or if this item will be back in stock.", "out_of_stock", None),
        ("Only 6 left in stock (more on the way).", "low_stock", 6),
        ("In Stock on March 3, 2025. Order it now.", "out_of_stock", None),
        ("Available for Pre-order. This item will be released on May 1.", "out_of_stock", None),
        ("Dieser Artikel ist vorbestellbar.", "out_of_stock", None),
    ],
)
def test_availability_phrases_of_regional_sites(text, availability, stock):
    result = amazon_page(f'<div id="availability"><span>{text}</span></div>')
    assert (result.availability, result.stock) == (availability, stock)


@pytest.mark.parametrize(
    ("text", "availability", "stock"),
    [
        # Portuguese of Portugal and of Brazil
        ("Em stock", "in_stock", None),
        ("Apenas 2 em stock", "low_stock", 2),
        ("Sem stock", "out_of_stock", None),
        ("Em estoque.", "in_stock", None),
        ("Restam apenas 3 em estoque (há mais a caminho).", "low_stock", 3),
        ("Fora de estoque", "out_of_stock", None),
        # Spanish of Spain and of Mexico
        ("En stock.", "in_stock", None),
        ("En existencia.", "in_stock", None),
        ("Sólo quedan 3 en existencia (hay más unidades en camino).", "low_stock", 3),
        ("Agotado.", "out_of_stock", None),
        ("No disponible por el momento.", "out_of_stock", None),
        # French of France and of Canada
        ("En stock.", "in_stock", None),
        ("Il n'en reste que 2 en stock - commandez bientôt.", "low_stock", 2),
        ("Seulement 5 en stock.", "low_stock", 5),
        ("Temporairement en rupture de stock.", "out_of_stock", None),
        # Dutch (Netherlands, Belgium), Polish, Swedish, Turkish
        ("Op voorraad.", "in_stock", None),
        ("Tijdelijk uitverkocht.", "out_of_stock", None),
        ("Dostępny", "in_stock", None),
        ("Zostało tylko 2 szt. - zamów wkrótce.", "low_stock", 2),
        ("Chwilowo niedostępny.", "out_of_stock", None),
        ("I lager.", "in_stock", None),
        ("Endast 4 kvar i lager.", "low_stock", 4),
        ("Tillfälligt slut i lager.", "out_of_stock", None),
        ("Stokta var.", "in_stock", None),
        ("Stokta yok.", "out_of_stock", None),
        # Japanese, Chinese, Arabic (UAE, Saudi Arabia, Egypt), Hindi (India)
        ("在庫あり。", "in_stock", None),
        ("在庫切れ。入荷時期は未定です。", "out_of_stock", None),
        ("现在有货。", "in_stock", None),
        ("仅剩3件", "low_stock", 3),
        ("متوفر", "in_stock", None),
        ("لم يتبق سوى 2 - اطلبه الآن.", "low_stock", 2),
        ("स्टॉक में है", "in_stock", None),
        ("केवल 3 बचे हैं", "low_stock", 3),
        ("वर्तमान में अनुपलब्ध।", "out_of_stock", None),
    ],
)
def test_regional_wording_of_every_amazon_site(text, availability, stock):
    result = amazon_page(f'<div id="availability"><span>{text}</span></div>')
    assert (result.availability, result.stock) == (availability, stock)


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("Usually ships within 2 to 3 days.", "Usually ships within 1 to 3 weeks."),
        ("Usually dispatched within 24 hours.", "Usually dispatched within 1 to 2 months."),
        ("Gewöhnlich versandfertig in 1 bis 2 Werktagen.", "Gewöhnlich versandfertig in 2 bis 4 Wochen."),
        ("Habituellement expédié sous 4 à 5 jours.", "Habituellement expédié sous 1 à 2 mois."),
        ("Normalmente se envía en 2 a 3 días.", "Envío en 1-2 meses."),
        ("Generalmente spedito entro 3 giorni.", "Generalmente spedito entro 2-3 settimane."),
        ("Normalmente enviado em 3 a 5 dias.", "Normalmente enviado em 2 a 3 semanas."),
        ("Wordt meestal verzonden binnen 2 tot 3 dagen.", "Wordt meestal verzonden binnen 1 tot 2 weken."),
        ("Zazwyczaj wysyłany w ciągu 2–3 dni.", "Zazwyczaj wysyłany w ciągu 2–3 tygodni."),
        ("Skickas vanligtvis inom 2 till 3 dagar.", "Skickas vanligtvis inom 1 till 2 månader."),
        ("Genellikle 2 - 3 gün içinde kargoya verilir.", "Genellikle 1 - 2 ay içinde kargoya verilir."),
        ("通常2～3日以内に発送します。", "通常1～2か月以内に発送します。"),
        ("通常2-3天内发货", "通常2-3周内发货"),
        ("يُشحن عادةً خلال 2 إلى 3 أيام.", "يُشحن عادةً خلال 2 إلى 3 أسابيع."),
    ],
)
def test_a_short_shipping_time_is_in_stock_and_a_long_one_unknown(short, long):
    assert amazon_page(f'<div id="availability">{short}</div>').availability == "in_stock"
    assert amazon_page(f'<div id="availability">{long}</div>').availability == "unknown"


def test_the_longest_shipping_time_counted_as_in_stock_is_a_setting():
    text = '<div id="availability">Usually ships within 3 to 4 days.</div>'
    assert amazon_page(text).availability == "in_stock"
    with override_settings(AVAILABILITY_SHIPS_WITHIN_DAYS=2):
        assert amazon_page(text).availability == "unknown"


def test_a_stock_statement_before_a_shipping_time_decides():
    assert amazon_page('<div id="availability">In Stock. Ships within 3 weeks.</div>').availability == "in_stock"
    result = amazon_page('<div id="availability">Only 2 left in stock. Usually ships within 2 months.</div>')
    assert (result.availability, result.stock) == ("low_stock", 2)


LAMP = jsonld(
    {"@type": "Product", "name": "Desk Lamp", "offers": {"@type": "Offer", "price": "40.00", "priceCurrency": "USD"}}
)


@pytest.mark.parametrize(
    ("button", "availability"),
    [
        ('<button id="buy" type="submit">Add to Cart</button>', "in_stock"),
        ('<button type="submit">In den Warenkorb</button>', "in_stock"),
        ('<input type="submit" value="Ajouter au panier">', "in_stock"),
        ('<button type="button" id="add-to-cart-button">  </button>', "in_stock"),
        ('<button type="submit" disabled>Add to Cart</button>', "unknown"),
        ('<div style="display:none"><button type="submit">Add to Cart</button></div>', "unknown"),
        ('<button type="button">Add to Wish List</button>', "unknown"),
    ],
)
def test_an_add_to_cart_control_is_a_sign_of_availability_when_no_phrase_says_anything(button, availability):
    result = read(shop_page(f"<h1>Desk Lamp</h1>{button}", head=LAMP))
    assert (result.availability, result.price) == (availability, 40)


def test_a_phrase_beats_the_add_to_cart_control():
    body = '<h1>Desk Lamp</h1><p class="stock-status">Sold out</p><button type="submit">Add to Cart</button>'
    assert read(shop_page(body, head=LAMP)).availability == "out_of_stock"


def test_a_scarcity_statement_beside_the_buy_button_refines_in_stock():
    offers = {"@type": "Offer", "price": "40.00", "priceCurrency": "USD", "availability": "https://schema.org/InStock"}
    head = jsonld({"@type": "Product", "name": "Desk Lamp", "offers": offers})
    body = (
        '<h1>Desk Lamp</h1><form><div class="buttons"><button type="submit">Add to basket</button></div>'
        '<div class="nudge"><span class="display-none">There is only 1 available.</span>'
        "<span>Don't miss out: there's only <b>4</b> available.</span></div></form>"
    )
    result = read(shop_page(body, head=head))
    assert (result.availability, result.stock) == ("low_stock", 4)
    quiet = read(shop_page(body.replace("there's only <b>4</b> available", "order soon"), head=head))
    assert (quiet.availability, quiet.stock) == ("in_stock", None)


def test_amazons_add_to_cart_button_is_read_when_the_page_states_no_availability():
    result = amazon_page(
        '<span id="priceblock_ourprice">$9.99</span><input id="add-to-cart-button" value="Add to Cart">'
    )
    assert result.availability == "in_stock"
