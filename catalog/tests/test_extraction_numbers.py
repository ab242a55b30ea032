"""Numbers as regional sites write them: prices and their currency, ratings and review counts."""

from decimal import Decimal

import pytest

from catalog.extraction.numbers import parse_count, parse_price, parse_rating
from catalog.extraction.phrases import read_availability
from catalog.tests.pages import amazon_page


@pytest.mark.parametrize(
    ("shown", "site", "price", "currency"),
    [
        ("EUR 10,99", "https://www.amazon.de/dp/B000000001", "10.99", "EUR"),
        ("1.234,56 €", "https://www.amazon.it/dp/B000000001", "1234.56", "EUR"),
        ("CDN$ 16.65", "https://www.amazon.ca/dp/B000000001", "16.65", "CAD"),
        ("$16.65", "https://www.amazon.ca/dp/B000000001", "16.65", "CAD"),
        ("$16.65", "https://www.amazon.com.mx/dp/B000000001", "16.65", "MXN"),
        ("R$ 1.299,00", "https://www.amazon.com.br/dp/B000000001", "1299.00", "BRL"),
        ("￥1,280", "https://www.amazon.co.jp/dp/B000000001", "1280.00", "JPY"),
        ("AED 49.00", "https://www.amazon.ae/dp/B000000001", "49.00", "AED"),
        ("1 234,56 €", "https://www.amazon.fr/dp/B000000001", "1234.56", "EUR"),
        ("£6.39", "https://www.amazon.co.uk/dp/B000000001", "6.39", "GBP"),
        ("$8.99", None, "8.99", "USD"),
    ],
)
def test_price_formats_of_regional_sites(shown, site, price, currency):
    result = amazon_page(f'<span id="priceblock_ourprice">{shown}</span>', url=site)
    assert (result.price, result.currency) == (Decimal(price), currency)


@pytest.mark.parametrize(
    ("rating_text", "reviews_text", "rating", "reviews"),
    [
        ("4,5 de 5 estrelas", "1.033 avaliações", "4.5", 1033),
        ("5つ星のうち4.3", "1,234個の評価", "4.3", 1234),
        ("4,2 su 5 stelle", "2.345 voti", "4.2", 2345),
        ("4,6 von 5 Sternen", "56 Kundenrezensionen", "4.6", 56),
        ("4,1 sur 5 étoiles", "1 234 évaluations", "4.1", 1234),
        ("5 yıldız üzerinden 4,4", "(1.005)", "4.4", 1005),
    ],
)
def test_ratings_and_review_counts_of_regional_sites(rating_text, reviews_text, rating, reviews):
    result = amazon_page(
        f'<span id="acrPopover" title="{rating_text}"></span><span id="acrCustomerReviewText">{reviews_text}</span>'
    )
    assert (result.rating, result.reviews_count) == (Decimal(rating), reviews)


def test_number_readers_keep_locales_apart():
    assert parse_price("€ 97,39 - 128,72").is_range and parse_price("€ 97,39 - 128,72").amount is None
    assert parse_price("$12.48 ($6.24 / Pack)").amount == Decimal("12.48")
    assert parse_price("Price: $25.99 - Save 20%").amount == Decimal("25.99")
    assert parse_price("CHF 1'234.50").amount == Decimal("1234.50")
    assert parse_price("$0.00").amount is None
    assert parse_count("No customer reviews") is None
    assert parse_count("1,2 mil valoraciones") == 1200
    assert parse_rating("0.0 out of 5 stars") is None
    assert parse_rating(8, best=10) == Decimal("4")
    assert read_availability("Ask a question about this item") is None


@pytest.mark.parametrize(
    ("shown", "site", "price", "currency"),
    [
        ("￥1,280", "https://www.amazon.co.jp/dp/B000000001", "1280.00", "JPY"),
        ("1,280円", "https://www.amazon.co.jp/dp/B000000001", "1280.00", "JPY"),
        ("￥ 12,800 (税込)", "https://www.amazon.co.jp/dp/B000000001", "12800.00", "JPY"),
        ("1.234,56 TL", "https://www.amazon.com.tr/dp/B000000001", "1234.56", "TRY"),
        ("₺1.299,00", "https://www.amazon.com.tr/dp/B000000001", "1299.00", "TRY"),
        ("1.299 TL", "https://www.amazon.com.tr/dp/B000000001", "1299.00", "TRY"),
    ],
)
def test_japanese_and_turkish_number_formats(shown, site, price, currency):
    result = amazon_page(f'<span id="priceblock_ourprice">{shown}</span>', url=site)
    assert (result.price, result.currency) == (Decimal(price), currency)
