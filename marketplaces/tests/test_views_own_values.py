"""On the product page: a seller's own price or stock (their listings only, at once, audited, ended
when the scraped value changes), and "End its listings and stop tracking" (a listed product stays
tracked until its listings are ended). Another seller gets a 404."""

from decimal import Decimal

import httpx
import pytest
from django.urls import reverse

from catalog.forms import OVERRIDE_EMPTY
from catalog.models import PriceHistory, ProductOverride
from catalog.services import product_apply
from catalog.tests.factories import ProductFactory
from marketplaces.pricing import listing_quote
from marketplaces.tests.doubles import audit_rows, ebay_error, ebay_store, isolated_cache, live_listing
from monitoring.cycle import product_follow_up
from monitoring.models import Alert, AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "own-values")


@pytest.fixture
def seller_client(client, listing):
    listing.user.tracked_products.add(listing.product)
    client.force_login(listing.user)
    return client


def url(name, product):
    return reverse(f"catalog:{name}", args=[product.pk])


def test_a_sellers_own_price_reprices_only_their_listings_at_once(ebay, seller_client, listing, product):
    other = live_listing(ebay_store(), product, price=Decimal("30.99"))

    response = seller_client.post(url("product_override", product), {"price": "24.00", "note": "bought at 24"})

    assert response.status_code == 302
    listing.refresh_from_db()
    other.refresh_from_db()
    product.refresh_from_db()
    assert listing.price == listing_quote(cost=Decimal("24.00"), store=listing.store_account).price == Decimal("36.99")
    assert other.price == Decimal("30.99")  # another seller's listing follows the supplier's page
    assert product.price == Decimal("20.00") and not PriceHistory.objects.exists()  # shared product untouched
    [row] = AuditLog.objects.filter(action="override_set")
    assert (row.user, row.owner, row.new_value["price"], row.notes) == (
        listing.user,
        listing.user,
        "24.00",
        "bought at 24",
    )
    assert audit_rows(listing).get().notes.startswith("your own supplier price 24.00 USD")


def test_the_page_says_which_value_is_in_force_and_why(seller_client, listing, product):
    seller_client.post(url("product_override", product), {"price": "24.00", "stock": "0", "note": "supplier blocks us"})

    page = seller_client.get(url("product_detail", product)).content.decode()

    assert '24.00 USD</strong> <span class="badge badge-paused">Your own price</span>' in page
    assert "“supplier blocks us”" in page and "The supplier's page says 20.00 USD" in page
    assert "Your own stock" in page and "Out of stock" in page


def test_own_stock_at_zero_pauses_only_that_sellers_listing(ebay, seller_client, listing, product):
    seller_client.post(url("product_override", product), {"stock": "0"})
    listing.refresh_from_db()
    assert (listing.status, listing.status_reason) == ("paused", "out_of_stock")


def test_bad_own_values_are_shown_again_with_the_error(seller_client, listing, product):
    response = seller_client.post(url("product_override", product), {"price": "-5", "note": "typo"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="-5"' in page and 'value="typo"' in page and "greater than or equal to 0.01" in page
    response = seller_client.post(url("product_override", product), {"note": "nothing"})
    assert OVERRIDE_EMPTY in response.content.decode()
    assert not ProductOverride.objects.exists()


def test_a_scraped_price_change_ends_the_own_price_and_tells_the_seller(ebay, seller_client, listing, product):
    seller_client.post(url("product_override", product), {"price": "24.00"})

    outcome = product_apply(product=product, extraction=_reading(price=Decimal("22.00")))
    product_follow_up(product=product, outcome=outcome)

    assert not ProductOverride.objects.exists()
    alert = Alert.objects.get(user=listing.user, type="override_ended")
    assert "Your own price 24.00 USD" in alert.message and "22.00 USD" in alert.message
    listing.refresh_from_db()
    assert listing.price == listing_quote(cost=Decimal("22.00"), store=listing.store_account).price
    assert AuditLog.objects.filter(action="override_ended", owner=listing.user).exists()


def test_clearing_own_values_follows_the_supplier_again(ebay, seller_client, listing, product):
    seller_client.post(url("product_override", product), {"price": "24.00"})
    seller_client.post(url("product_override_clear", product))

    listing.refresh_from_db()
    assert listing.price == Decimal("30.99") and not ProductOverride.objects.exists()
    assert AuditLog.objects.filter(action="override_cleared").exists()


def test_untracking_a_listed_product_keeps_it_and_offers_to_end_its_listings(seller_client, listing, product):
    response = seller_client.post(url("product_untrack", product), follow=True)

    assert listing.user.tracked_products.filter(pk=product.pk).exists()
    page = response.content.decode()
    assert "is listed on 1 of your stores" in page
    assert "End its listings and stop tracking" in page


def test_end_its_listings_and_stop_tracking(ebay, seller_client, listing, product):
    pending = live_listing(ebay_store(user=listing.user), product, status="pending", external_listing_id=None)

    response = seller_client.post(url("product_drop", product))

    assert response.status_code == 302 and response["Location"] == reverse("catalog:product_list")
    listing.refresh_from_db()
    pending.refresh_from_db()
    assert (listing.status, pending.status) == ("ended", "ended") and ebay.withdraw.call_count == 1
    assert not listing.user.tracked_products.filter(pk=product.pk).exists()
    actions = set(AuditLog.objects.filter(owner=listing.user).values_list("action", flat=True))
    assert {"ended", "untracked"} <= actions


def test_a_listing_the_marketplace_will_not_end_keeps_the_product_tracked(api, ebay, seller_client, listing, product):
    ebay.withdraw.mock(return_value=httpx.Response(400, json=ebay_error("Not now.", error_id=25002)))

    response = seller_client.post(url("product_drop", product), follow=True)

    assert listing.user.tracked_products.filter(pk=product.pk).exists()
    listing.refresh_from_db()
    assert listing.status == "active"
    assert "stays tracked: 1 listing could not be ended" in response.content.decode()


@pytest.mark.parametrize(
    ("name", "data"), [("product_override", {"price": "1"}), ("product_override_clear", {}), ("product_drop", {})]
)
def test_another_sellers_product_is_not_found(client, other_user, listing, product, name, data):
    client.force_login(other_user)
    assert client.post(url(name, product), data).status_code == 404
    assert not ProductOverride.objects.exists()
    listing.refresh_from_db()
    assert listing.status == "active"


def test_listing_a_product_tracks_it(store):
    from marketplaces.services import listing_create

    product = ProductFactory(price=Decimal("20.00"))
    listing_create(user=store.user, product=product, store=store, acting_user=store.user)
    assert store.user.tracked_products.filter(pk=product.pk).exists()


def _reading(**fields):
    from catalog.extraction import Extraction

    return Extraction(**{"currency": "USD", **fields})


def test_a_sellers_own_shipping_reprices_only_their_listings_at_once(ebay, seller_client, listing, product):
    other = live_listing(ebay_store(), product, price=Decimal("30.99"))

    response = seller_client.post(url("product_override", product), {"shipping": "6.00", "note": "ships from China"})

    assert response.status_code == 302
    listing.refresh_from_db()
    other.refresh_from_db()
    # unit cost 20.00 + 6.00: (26.00 × 1.30 + 0.30) / 0.8675 = 39.31 → 39.99
    assert listing.price == listing_quote(cost=Decimal("26.00"), store=listing.store_account).price == Decimal("39.99")
    assert other.price == Decimal("30.99")
    own = ProductOverride.objects.get(user=listing.user, product=product)
    assert (own.price, own.stock, own.shipping) == (None, None, Decimal("6.00"))
    assert AuditLog.objects.get(action="override_set").new_value["shipping"] == "6.00"


def test_a_negative_own_shipping_is_shown_again_with_the_error(seller_client, listing, product):
    response = seller_client.post(url("product_override", product), {"shipping": "-1"})
    assert response.status_code == 400
    assert 'value="-1"' in response.content.decode() and not ProductOverride.objects.exists()
