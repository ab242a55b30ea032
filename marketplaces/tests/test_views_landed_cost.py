"""The landed cost on the seller's pages: the listing page shows every part, the listing list's margin
(worked out in the database) is the pricing module's to the cent, and another seller gets a 404."""

import html
import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.services import product_as_seen_by, product_override_set
from catalog.tests.factories import SupplierFactory
from marketplaces.models import ExchangeRate
from marketplaces.pricing import quote_for_price
from marketplaces.services import product_unit_cost
from marketplaces.tests.doubles import isolated_cache, supplier_product
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from marketplaces.views.listings import COST_NOT_CONVERTED, COST_PRICE_UNKNOWN

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "landed-views")


@pytest.fixture
def store(user):
    return StoreAccountFactory(user=user, currency="USD", min_margin_percent=Decimal("10"))


def shown(page):
    found = re.findall(r'<dd data-part="(\w+)">(.*?)</dd>', page, re.S)
    found += re.findall(r'<small [^>]*data-part="(\w+)">(.*?)</small>', page, re.S)
    return {name: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", value)).split()) for name, value in found}


def test_the_listing_page_shows_each_part_of_the_landed_cost(seller_client, store):
    supplier = SupplierFactory(default_shipping=Decimal("5.00"), sales_tax_percent=Decimal("10"))
    product = supplier_product(supplier=supplier, shipping_hint=Decimal("0.00"))
    listing = ListingFactory(store_account=store, product=product, price=Decimal("30.99"))

    parts = shown(seller_client.get(listing.get_absolute_url()).content.decode())

    assert parts["supplier_price"] == "20.00 USD"
    assert parts["shipping"].startswith("5.00 USD") and parts["shipping_source"] == "the supplier's default"
    assert parts["shipping_hint"].startswith("The supplier's page says free delivery")
    assert parts["tax"].startswith("2.50 USD (10 %")  # (20.00 + 5.00) × 10 %
    # unit cost 27.50; fees 30.99 × 13.25 % + 0.30 = 4.41; landed 31.91; profit −0.92; −0.92 / 30.99
    assert [parts[name].split()[0] for name in ("unit_cost", "marketplace_fee", "payment_fee", "returns")] == [
        "27.50",
        "4.41",
        "0.00",
        "0.00",
    ]
    assert [parts[name].split()[0] for name in ("landed_cost", "profit", "margin")] == ["31.91", "-0.92", "-2.97%"]


def test_the_listing_page_shows_the_sellers_own_shipping_as_theirs(seller_client, user, store):
    supplier = SupplierFactory(default_shipping=Decimal("5.00"))
    listing = ListingFactory(store_account=store, product=supplier_product(supplier=supplier))
    product_override_set(user=user, product=listing.product, price=None, stock=None, shipping=Decimal("1.50"))

    parts = shown(seller_client.get(listing.get_absolute_url()).content.decode())

    assert parts["shipping"].startswith("1.50 USD") and parts["shipping_source"] == "your own figure"
    assert parts["unit_cost"].startswith("21.50 USD")


def test_another_sellers_listing_page_is_404(client, other_user, store):
    listing = ListingFactory(store_account=store)
    client.force_login(other_user)
    assert client.get(listing.get_absolute_url()).status_code == 404


def test_the_listing_lists_margin_is_the_pricing_modules_landed_cost_margin(seller_client, user, other_user, store):
    ExchangeRate.objects.create(currency="USD", per_eur=Decimal("1.10"), as_of=date(2026, 3, 2))
    store.payment_fee_percent, store.payment_fee_fixed, store.returns_percent = (
        Decimal("2.90"),
        Decimal("0.30"),
        Decimal("3"),
    )
    store.save()
    taxed = SupplierFactory(default_shipping=Decimal("4.99"), sales_tax_percent=Decimal("8.25"))
    euro_site = SupplierFactory(currency="EUR", default_shipping=Decimal("3.33"), sales_tax_percent=Decimal("19"))
    listings = [
        ListingFactory(store_account=store, product=supplier_product(), price=Decimal("30.99")),
        ListingFactory(store_account=store, product=supplier_product(supplier=taxed), price=Decimal("37.49")),
        # priced in euros on a euro site: everything converted once, at 1.10
        ListingFactory(
            store_account=store, product=supplier_product(supplier=euro_site, currency="EUR"), price=Decimal("49.99")
        ),
        # priced in dollars on a euro site: the site's shipping is put in dollars first
        ListingFactory(store_account=store, product=supplier_product(supplier=euro_site), price=Decimal("44.44")),
    ]
    own = ListingFactory(store_account=store, product=supplier_product(supplier=taxed), price=Decimal("26.00"))
    product_override_set(user=user, product=own.product, price=Decimal("17.50"), stock=None, shipping=Decimal("0"))
    # another seller's own values for the same product change nothing of this seller's margin
    product_override_set(user=other_user, product=listings[1].product, price=None, stock=None, shipping=Decimal("90"))
    listings.append(own)

    response = seller_client.get(reverse("marketplaces:listing_list"), {"ordering": "margin_percent"})

    rows = {row.pk: row for row in response.context["page_obj"].object_list}
    for listing in listings:
        seen = product_as_seen_by(product=listing.product, user=user)
        quote = quote_for_price(cost=product_unit_cost(seen, currency="USD"), price=listing.price, store=store)
        row = rows[listing.pk]
        assert (row.unit_cost, row.unit_profit, row.margin_percent) == (
            quote.cost,
            quote.profit,
            quote.margin_percent,
        ), listing.product
    assert rows[listings[1].pk].unit_cost == Decimal("27.05")  # (20.00 + 4.99) × 1.0825 = 27.052


def test_the_listing_page_says_why_no_landed_cost_is_shown(seller_client, store):
    unknown = ListingFactory(store_account=store, product=supplier_product(price=None))
    no_rate = ListingFactory(store_account=store, product=supplier_product(currency="JPY", price=Decimal("3000")))

    page = seller_client.get(unknown.get_absolute_url()).content.decode()
    assert html.escape(COST_PRICE_UNKNOWN) in page and 'data-part="landed_cost"' not in page
    page = seller_client.get(no_rate.get_absolute_url()).content.decode()
    assert html.escape(COST_NOT_CONVERTED.format(source="JPY", target="USD")) in page
