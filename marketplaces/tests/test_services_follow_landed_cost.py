"""Listings follow their landed cost: shipping and sales tax at the supplier reprice them, and a
listing that was fine on the bare supplier price but loses money once shipping is counted pauses
(or, where the store alerts instead, stays on sale and the seller is told). A seller's own shipping
prices only that seller's listings; staff changing a site's costs in the admin reprices its products' listings."""

import html
from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from catalog.extraction import Extraction
from catalog.models import SUPPLIER_SHIPPING_NEGATIVE, SUPPLIER_TAX_RANGE, ProductOverride, Supplier
from catalog.services import product_apply, product_override_set, product_overrides_expire
from marketplaces.pricing import listing_quote
from marketplaces.services import listings_follow
from marketplaces.tests.doubles import bulk_request, ebay_store, isolated_cache, live_listing
from monitoring.alerts import LOSS_MESSAGE, alerts_for_listing_changes
from monitoring.models import Alert, Job
from monitoring.tests.admin_helpers import admin_form_data, admin_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "follow-landed")


def supplier_costs(product, *, shipping=None, tax=None):
    supplier = product.supplier
    supplier.default_shipping, supplier.sales_tax_percent = shipping, tax
    supplier.save(update_fields=["default_shipping", "sales_tax_percent"])


def test_repricing_covers_the_suppliers_shipping_and_sales_tax(ebay, listing, product):
    supplier_costs(product, shipping=Decimal("5.00"), tax=Decimal("10"))

    [change] = listings_follow(product=product)

    # unit cost (20.00 + 5.00) × 1.10 = 27.50; (27.50 × 1.30 + 0.30) / 0.8675 = 41.56 → 41.99
    assert listing_quote(cost=Decimal("27.50"), store=listing.store_account).price == Decimal("41.99")
    assert change.new_price == Decimal("41.99")
    assert ebay.bulk_bodies == [bulk_request(f"AM-{listing.pk}", offer_id=f"9{listing.pk}", price="41.99")]
    listing.refresh_from_db()
    assert listing.price == Decimal("41.99")


def test_a_listing_fine_on_the_bare_price_pauses_once_shipping_makes_it_lose_money(ebay, listing, product):
    listing.price_locked = True
    listing.save(update_fields=["price_locked"])
    [fine] = listings_follow(product=product)
    assert fine.action == "unchanged" and fine.margin_percent == Decimal("21.23")  # (30.99 − 4.41 − 20) / 30.99

    supplier_costs(product, shipping=Decimal("7.00"))
    [change] = listings_follow(product=product)

    listing.refresh_from_db()
    assert (listing.status, listing.status_reason) == ("paused", "low_margin")
    assert ebay.bulk_bodies == [bulk_request(f"AM-{listing.pk}", offer_id=f"9{listing.pk}", quantity=0)]
    assert change.margin_percent == Decimal("-1.36")  # (30.99 − 4.41 − 27.00) / 30.99
    raised = {alert.type: alert for alert in alerts_for_listing_changes(changes=[change])}
    assert raised["low_margin"].message == LOSS_MESSAGE.format(margin="-1.36")
    assert "paused automatically" in raised["policy_trigger"].message


def test_where_the_store_alerts_the_losing_listing_stays_on_sale_and_the_seller_is_told(ebay, listing, product):
    store = listing.store_account
    store.low_margin_action = "alert"
    store.save(update_fields=["low_margin_action"])
    listing.price_locked = True
    listing.save(update_fields=["price_locked"])
    supplier_costs(product, shipping=Decimal("4.00"), tax=Decimal("8"))

    [change] = listings_follow(product=product)
    alerts_for_listing_changes(changes=[change])

    # (20.00 + 4.00) × 1.08 = 25.92; profit 30.99 − 4.41 − 25.92 = 0.66: 2.13 %, under the 10 % minimum
    listing.refresh_from_db()
    assert listing.status == "active" and ebay.bulk.call_count == 0
    assert change.margin_percent == Decimal("2.13") and change.below_min_margin
    alert = Alert.objects.get(user=listing.user, type="low_margin", subject=f"listing:{listing.pk}")
    assert alert.data["margin_percent"] == "2.13" and alert.data["selling"] is True


def test_a_sellers_own_shipping_prices_only_that_sellers_listings(ebay, listing, product):
    rival = live_listing(ebay_store(user=UserFactory()), product, price=Decimal("30.99"), quantity_available=10)
    product_override_set(user=listing.user, product=product, price=None, stock=None, shipping=Decimal("6.00"))

    changes = {change.listing_id: change for change in listings_follow(product=product)}

    # 20.00 + 6.00 = 26.00; (26.00 × 1.30 + 0.30) / 0.8675 = 39.31 → 39.99
    assert changes[listing.pk].new_price == Decimal("39.99")
    assert changes[rival.pk].action == "unchanged"
    rival.refresh_from_db()
    assert rival.price == Decimal("30.99")
    assert ebay.bulk_bodies == [bulk_request(f"AM-{listing.pk}", offer_id=f"9{listing.pk}", price="39.99")]


def test_own_shipping_stays_when_the_scraped_price_ends_the_own_price(listing, product):
    product_override_set(user=listing.user, product=product, price=Decimal("18.00"), stock=None, shipping=Decimal("2"))

    product_apply(product=product, extraction=Extraction(price=Decimal("21.00"), currency="USD"))
    product_overrides_expire(product=product)

    own = ProductOverride.objects.get(user=listing.user, product=product)
    assert (own.price, own.shipping) == (None, Decimal("2.00"))


def test_staff_changing_a_sites_shipping_in_the_admin_reprices_its_products_listings(
    ebay, admin_client, listing, product, django_capture_on_commit_callbacks
):
    supplier = product.supplier
    change_url = admin_url(Supplier, "change", supplier.pk)
    data = admin_form_data(admin_client.get(change_url))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(change_url, {**data, "default_shipping": "5.00", "sales_tax_percent": ""})

    assert response.status_code == 302
    listing.refresh_from_db()
    # 20.00 + 5.00: (25.00 × 1.30 + 0.30) / 0.8675 = 37.81 → 37.99
    assert listing.price == Decimal("37.99")
    assert Job.objects.get(type="reprice_supplier").status == "success"


def test_staff_cannot_give_a_site_a_negative_shipping_or_a_tax_of_100(admin_client, product):
    supplier = product.supplier
    change_url = admin_url(Supplier, "change", supplier.pk)
    data = admin_form_data(admin_client.get(change_url))

    response = admin_client.post(change_url, {**data, "default_shipping": "-1", "sales_tax_percent": "100"})

    page = response.content.decode()
    assert response.status_code == 200
    assert html.escape(SUPPLIER_SHIPPING_NEGATIVE) in page and html.escape(SUPPLIER_TAX_RANGE) in page
    supplier.refresh_from_db()
    assert (supplier.default_shipping, supplier.sales_tax_percent) == (None, None)
