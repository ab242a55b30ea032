"""One product's page: its data (escaped), flags, listings, history charts and CSV, and untracking."""

import html
import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import HeldReading
from catalog.tests.factories import PriceHistoryFactory, ProductFactory, StockHistoryFactory
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db


def detail_url(product):
    return reverse("catalog:product_detail", args=[product.pk])


@pytest.fixture
def product(user):
    product = ProductFactory(title="Blue kettle", price=Decimal("24.50"), currency="USD")
    user.tracked_products.add(product)
    return product


def test_detail_shows_history_and_only_the_sellers_listings(seller_client, user, other_user, product):
    PriceHistoryFactory(product=product, old_price="19.99", new_price="24.50")
    mine = ListingFactory(product=product, store_account=StoreAccountFactory(user=user, account_name="my-ebay-shop"))
    ListingFactory(product=product, store_account=StoreAccountFactory(user=other_user, account_name="rival-shop"))

    response = seller_client.get(detail_url(product))

    page = response.content.decode()
    assert response.status_code == 200
    assert "24.50 USD" in page
    assert "my-ebay-shop" in page and reverse("marketplaces:listing_detail", args=[mine.pk]) in page
    assert "rival-shop" not in page


@pytest.mark.parametrize(
    "name",
    ["catalog:product_detail", "catalog:product_history_csv", "catalog:product_untrack", "catalog:product_refresh"],
)
def test_another_sellers_product_is_404_everywhere(seller_client, other_user, name):
    product = ProductFactory()
    other_user.tracked_products.add(product)
    url = reverse(name, args=[product.pk])

    response = (
        seller_client.post(url)
        if name in ("catalog:product_untrack", "catalog:product_refresh")
        else seller_client.get(url)
    )

    assert response.status_code == 404
    assert other_user.tracked_products.filter(pk=product.pk).exists()
    assert not AuditLog.objects.exists()


def test_scraped_title_description_and_links_are_never_trusted(seller_client, user):
    product = ProductFactory(
        title="<script>alert(1)</script>",
        description="<img src=x onerror=alert(2)>",
        images=["javascript:alert(3)", "https://img.example.com/kettle.jpg", "data:image/png;base64,AAAA"],
        url="javascript:alert(4)",
    )
    user.tracked_products.add(product)

    page = seller_client.get(detail_url(product)).content.decode()

    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "javascript:" not in page and "data:image" not in page
    assert 'src="https://img.example.com/kettle.jpg"' in page


def test_the_supplier_link_opens_apart_without_referrer_or_endorsement(seller_client, product):
    page = seller_client.get(detail_url(product)).content.decode()

    assert f'<a href="{product.url}" target="_blank" rel="noopener noreferrer nofollow">' in page


def test_open_held_readings_are_shown_with_their_reason(seller_client, product):
    HeldReading.objects.create(
        product=product,
        reading={"price": "99.00", "currency": "USD", "availability": "out_of_stock"},
        reason="price moved 304% (24.50 → 99.00); a second fetch disagreed",
    )
    HeldReading.objects.create(product=product, reading={}, reason="an old doubt", status=HeldReading.Status.DISCARDED)

    page = seller_client.get(detail_url(product)).content.decode()

    assert "A reading was held: price moved 304% (24.50 → 99.00); a second fetch disagreed" in page
    assert "99.00 USD, out of stock" in page
    assert "an old doubt" not in page


def test_a_product_failing_past_the_threshold_is_flagged_with_the_last_error(seller_client, user, settings):
    settings.SCRAPE_FAILURE_THRESHOLD = 3
    failing = ProductFactory(failure_count=3, last_error="HTTP 503 from the supplier")
    almost = ProductFactory(failure_count=2, last_error="HTTP 503 from the supplier")
    user.tracked_products.add(failing, almost)

    assert "We could not read this product 3 times in a row: HTTP 503 from the supplier" in (
        seller_client.get(detail_url(failing)).content.decode()
    )
    assert "could not read this product" not in seller_client.get(detail_url(almost)).content.decode()


def test_list_this_product_links_to_the_listing_form_with_the_product(seller_client, product):
    page = seller_client.get(detail_url(product)).content.decode()

    assert f'href="/listings/new/?product={product.pk}"' in page


def test_price_and_stock_charts_carry_the_history_in_the_sellers_zone(client, user, product):
    user.timezone = "Europe/Berlin"
    user.save(update_fields=["timezone"])
    client.force_login(user)
    PriceHistoryFactory(product=product, new_price="21.99", recorded_at=datetime(2024, 1, 10, 12, 0, tzinfo=UTC))
    PriceHistoryFactory(product=product, new_price="20.00", recorded_at=datetime(2024, 1, 12, 9, 30, tzinfo=UTC))
    StockHistoryFactory(product=product, new_stock=3, recorded_at=datetime(2024, 1, 11, 8, 0, tzinfo=UTC))

    page = client.get(detail_url(product)).content.decode()

    charts = [json.loads(html.unescape(raw)) for raw in re.findall(r'data-chart="([^"]*)"', page)]
    price, stock = charts
    assert price["timeAxis"] == {"timeZone": "Europe/Berlin"}  # dates in the seller's zone, spaced by time
    prices = price["data"]["datasets"][0]["data"]
    assert [(p["x"], p["y"]) for p in prices[:2]] == [(1704888000000, 21.99), (1705051800000, 20.0)]
    assert prices[2]["y"] == 24.5 and prices[2]["x"] > prices[1]["x"]  # the current price carries on to now
    stocks = stock["data"]["datasets"][0]["data"]
    assert [p["y"] for p in stocks] == [3, None]  # the page gives no quantity now
    assert stocks[0]["x"] == 1704960000000
    assert "chartjs/chart.umd.min.js" in page and "js/charts.js" in page


def test_availability_is_charted_when_the_page_never_gives_a_quantity(seller_client, product):
    StockHistoryFactory(product=product, old_stock=None, new_stock=None, new_availability="out_of_stock")

    page = seller_client.get(detail_url(product)).content.decode()

    (stock,) = [json.loads(html.unescape(raw)) for raw in re.findall(r'data-chart="([^"]*)"', page)]
    assert stock["options"]["scales"]["y"]["type"] == "category"
    assert [point["y"] for point in stock["data"]["datasets"][0]["data"]] == ["Out of stock", "In stock"]


def test_htmx_asks_for_one_region_and_gets_only_it(seller_client, user, product):
    PriceHistoryFactory(product=product, new_price="24.50")
    ListingFactory(product=product, store_account=StoreAccountFactory(user=user, account_name="my-ebay-shop"))
    history = seller_client.get(detail_url(product), headers={"HX-Request": "true", "HX-Target": "product-history"})
    summary = seller_client.get(detail_url(product), headers={"HX-Request": "true", "HX-Target": "product-summary"})
    listings = seller_client.get(detail_url(product), headers={"HX-Request": "true", "HX-Target": "product-listings"})

    history_page, summary_page = history.content.decode(), summary.content.decode()
    assert "<html" not in history_page and history_page.lstrip().startswith('<section id="product-history"')
    assert "data-chart" in history_page
    assert "<html" not in summary_page and summary_page.lstrip().startswith('<section id="product-summary"')
    assert "Blue kettle" in summary_page
    listings_page = listings.content.decode()
    assert listings_page.lstrip().startswith('<section id="product-listings"') and "my-ebay-shop" in listings_page
    assert "data-chart" not in listings_page


# ---- History CSV ----------------------------------------------------------------------------


def test_history_csv_is_exact_in_the_sellers_zone_and_neutralises_formulas(client, user):
    user.timezone = "Europe/Berlin"
    user.save(update_fields=["timezone"])
    client.force_login(user)
    product = ProductFactory(title="=1+2 kettle", asin="B0KETTLE01")
    user.tracked_products.add(product)
    PriceHistoryFactory(
        product=product,
        old_price="19.99",
        new_price="21.99",
        price_change_percent="10.01",
        recorded_at=datetime(2024, 1, 10, 12, 0, tzinfo=UTC),
    )
    StockHistoryFactory(
        product=product,
        old_stock=10,
        new_stock=3,
        old_availability="in_stock",
        new_availability="low_stock",
        recorded_at=datetime(2024, 1, 11, 8, 0, tzinfo=UTC),
    )
    PriceHistoryFactory(
        product=product,
        old_price="21.99",
        new_price="20.00",
        price_change_percent="-9.05",
        reason="=cmd",
        recorded_at=datetime(2024, 1, 12, 9, 30, tzinfo=UTC),
    )

    response = client.get(reverse("catalog:product_history_csv", args=[product.pk]))

    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="product-{product.pk}-B0KETTLE01-history.csv"' in response["Content-Disposition"]
    assert response.content.decode().splitlines() == [
        "recorded_at,product,kind,old,new,currency,change_percent,reason",
        "2024-01-10T13:00:00+01:00,'=1+2 kettle,price,19.99,21.99,USD,10.01,scrape",
        "2024-01-11T09:00:00+01:00,'=1+2 kettle,stock,10,3,,,scrape",
        "2024-01-11T09:00:00+01:00,'=1+2 kettle,availability,in_stock,low_stock,,,scrape",
        "2024-01-12T10:30:00+01:00,'=1+2 kettle,price,21.99,20.00,USD,-9.05,'=cmd",
    ]


def test_history_csv_of_a_product_without_history_is_the_header_alone(seller_client, product):
    response = seller_client.get(reverse("catalog:product_history_csv", args=[product.pk]))

    assert response.content.decode().splitlines() == ["recorded_at,product,kind,old,new,currency,change_percent,reason"]


# ---- Untrack --------------------------------------------------------------------------------


def test_untrack_removes_it_from_this_sellers_list_only_and_is_audited(seller_client, user, other_user, product):
    other_user.tracked_products.add(product)

    response = seller_client.post(reverse("catalog:product_untrack", args=[product.pk]), follow=True)

    product.refresh_from_db()
    assert response.redirect_chain[-1][0] == reverse("catalog:product_list")
    assert "“Blue kettle” is no longer in your products." in response.content.decode()
    assert not user.tracked_products.filter(pk=product.pk).exists()
    assert other_user.tracked_products.filter(pk=product.pk).exists()
    assert product.is_archived is False
    audit = AuditLog.objects.get()
    assert (audit.user, audit.owner, audit.action) == (user, user, "untracked")
    assert (audit.resource_type, audit.resource_id) == ("product", str(product.pk))
    assert seller_client.get(detail_url(product)).status_code == 404


def test_untrack_needs_a_post(seller_client, user, product):
    response = seller_client.get(reverse("catalog:product_untrack", args=[product.pk]))

    assert response.status_code == 405
    assert user.tracked_products.filter(pk=product.pk).exists()


def test_the_untrack_button_asks_for_confirmation_first(seller_client, product):
    page = seller_client.get(detail_url(product)).content.decode()

    untrack = reverse("catalog:product_untrack", args=[product.pk])
    assert re.search(
        r"<details[^>]*>\s*<summary[^>]*>Untrack…</summary>\s*<form method=\"post\" action=\"" + untrack, page
    )


def test_a_product_read_once_gets_an_axis_around_its_price_and_one_never_read_no_chart(seller_client, user):
    read_once = ProductFactory(price="12.00")
    PriceHistoryFactory(product=read_once, old_price=None, new_price="12.00")
    never_read = ProductFactory(price=None, availability="unknown", last_scraped_at=None)
    user.tracked_products.add(read_once, never_read)

    page = seller_client.get(detail_url(read_once)).content.decode()
    (price,) = [json.loads(html.unescape(raw)) for raw in re.findall(r'data-chart="([^"]*)"', page)]
    empty = seller_client.get(detail_url(never_read)).content.decode()

    y = price["options"]["scales"]["y"]
    assert (y["suggestedMin"], y["suggestedMax"]) == (10.8, 13.2)  # not Chart.js's -1..1 around nothing
    assert "data-chart" not in empty and "Not read yet" in empty


def test_price_history_shows_the_currency_on_both_sides_and_colours_the_change(seller_client, user):
    product = ProductFactory(price="18.00", currency="EUR")
    user.tracked_products.add(product)
    PriceHistoryFactory(
        product=product, old_price="20.00", new_price="18.00", currency="EUR", price_change_percent="-10.00"
    )
    PriceHistoryFactory(
        product=product, old_price="18.00", new_price="20.00", currency="EUR", price_change_percent="11.11"
    )

    page = seller_client.get(detail_url(product)).content.decode()

    assert "20.00 EUR" in page and "18.00 EUR" in page
    assert 'class="cost-down"' in page and "▼ -10.00%" in page
    assert 'class="cost-up"' in page and "▲ +11.11%" in page
