"""Listing a tracked product: the preview before anything is saved (with HTMX refreshes), the
blocklist, cross-listing on the stores it is not on yet, and create + publish."""

import re
from decimal import Decimal

import httpx
import pytest
import respx
from django.urls import reverse

from catalog.tests.factories import ProductFactory
from marketplaces.models import BlocklistTerm, Listing
from marketplaces.tests.doubles import EBAY_INV, ebay_error, ebay_store, isolated_cache, supplier_product
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from marketplaces.tests.spec import check_request, spec_route

pytestmark = pytest.mark.django_db

URL = "marketplaces:listing_create"


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "listing-create")


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def store(user):
    return ebay_store(user=user, account_name="blue-kettles")


@pytest.fixture
def product(user):
    product = supplier_product(title="Steel water bottle 750ml", description="Keeps drinks cold.", stock=50)
    user.tracked_products.add(product)
    return product


def shown(page):
    """The first word of each part the preview shows, by its name (data-part)."""
    found = re.findall(r'<dd data-part="(\w+)">(.*?)</dd>', page, re.S)
    found += re.findall(r'<small [^>]*data-part="(\w+)">(.*?)</small>', page, re.S)
    return {field: re.sub(r"<[^>]+>", " ", value).split()[0] for field, value in found}


def test_the_form_shows_price_fees_profit_margin_and_quantity_first(seller_client, store, product):
    response = seller_client.get(reverse(URL), {"product": product.pk})

    page = response.content.decode()
    assert response.status_code == 200
    # ((20 × 1.3) + 0.30) / 0.8675 = 30.32 → 30.99; fees 30.99 × 13.25% + 0.30 = 4.41; profit 6.58; 21.23%
    assert shown(page) == {
        "supplier_price": "20.00",
        "shipping": "0.00",
        "shipping_source": "none",
        "tax": "0.00",
        "unit_cost": "20.00",
        "price": "30.99",
        "marketplace_fee": "4.41",
        "payment_fee": "0.00",
        "returns": "0.00",
        "landed_cost": "24.41",
        "profit": "6.58",
        "margin": "21.23%",
        "quantity": "10",  # 50 in stock − 2 kept back, at most 10
    }
    assert not Listing.objects.exists()


def test_htmx_refreshes_only_the_preview_for_the_store_and_price(seller_client, user, store, product):
    etsy = StoreAccountFactory(user=user, marketplace="etsy", fee_percent=Decimal("9.50"), fee_fixed=Decimal("0.45"))

    response = seller_client.get(
        reverse(URL),
        {"product": product.pk, "store": etsy.pk, "price": "25.00"},
        headers={"HX-Request": "true", "HX-Target": "listing-preview"},
    )

    page = response.content.decode()
    assert page.lstrip().startswith('<article id="listing-preview"') and "<html" not in page
    # 25.00 × 9.5% + 0.45 = 2.825 → 2.83; profit 25 − 2.83 − 20 = 2.17; 8.68%
    parts = shown(page)
    assert (parts["unit_cost"], parts["price"], parts["marketplace_fee"]) == ("20.00", "25.00", "2.83")
    assert (parts["profit"], parts["margin"], parts["quantity"]) == ("2.17", "8.68%", "10")
    assert "under the store minimum" in page


def test_only_connected_stores_without_the_product_are_offered(seller_client, user, other_user, store, product):
    ListingFactory(store_account=store, product=product)
    shopify = StoreAccountFactory(user=user, marketplace="shopify", shop_domain="demo-store.myshopify.com")
    StoreAccountFactory(user=user, marketplace="etsy", is_connected=False, account_name="not-connected")
    StoreAccountFactory(user=user, marketplace="etsy", needs_reauth=True, account_name="needs-reauth")
    StoreAccountFactory(user=other_user, account_name="rival-store")

    response = seller_client.get(reverse(URL), {"product": product.pk})

    assert list(response.context["form"].fields["store"].queryset) == [shopify]
    page = response.content.decode()
    assert "Already listed on" in page and "blue-kettles" in page
    assert "rival-store" not in page and "not-connected" not in page


def test_with_every_store_used_it_says_so(seller_client, store, product):
    ListingFactory(store_account=store, product=product)
    page = seller_client.get(reverse(URL), {"product": product.pk}).content.decode()
    assert "already listed on every store you have connected" in page


@pytest.mark.parametrize("param", ["abc", "999999"])
def test_an_unknown_or_untracked_product_is_404(seller_client, store, param):
    ProductFactory(pk=999999)
    assert seller_client.get(reverse(URL), {"product": param}).status_code == 404


def test_from_the_listings_page_the_seller_first_chooses_one_of_their_products(seller_client, user, store, product):
    someone_elses = ProductFactory(title="Not yours at all")

    listings_page = seller_client.get(reverse("marketplaces:listing_list")).content.decode()
    page = seller_client.get(reverse(URL)).content.decode()

    assert f'href="{reverse(URL)}"' in listings_page
    assert f'<option value="{product.pk}">' in page and someone_elses.title not in page
    assert seller_client.post(reverse(URL), {"store": store.pk}).status_code == 404  # a product must be chosen


def test_a_blocklisted_word_is_shown_and_stops_the_listing(seller_client, store, product):
    BlocklistTerm.objects.create(user=None, term="Steel")

    page = seller_client.get(reverse(URL), {"product": product.pk}).content.decode()
    assert "Blocked by the word &#x27;Steel&#x27;" in page

    response = seller_client.post(reverse(URL), {"product": product.pk, "store": store.pk, "publish_now": "on"})
    assert response.status_code == 200 and "Blocked by the word" in response.content.decode()
    assert not Listing.objects.exists()


def test_a_blocklisted_word_in_the_sellers_own_title_stops_it_too(seller_client, user, store, product):
    BlocklistTerm.objects.create(user=user, term="replica")
    response = seller_client.post(reverse(URL), {"product": product.pk, "store": store.pk, "title": "Replica bottle"})
    assert "Blocked by the word &#x27;replica&#x27;" in response.content.decode()
    assert not Listing.objects.exists()


def test_bad_input_comes_back_with_it(seller_client, store, product):
    response = seller_client.post(
        reverse(URL), {"product": product.pk, "store": store.pk, "price": "-5", "title": "My own title"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "A price cannot be negative." in page
    assert 'value="My own title"' in page and 'value="-5"' in page
    assert not Listing.objects.exists()


def test_listing_creates_and_publishes_then_shows_the_listing(seller_client, store, product, api):
    def item(request):
        check_request(request)
        return httpx.Response(204)

    item_route = api.put(url__regex=rf"{EBAY_INV}/inventory_item/AM-\d+").mock(side_effect=item)
    spec_route(api, "GET", f"{EBAY_INV}/offer", status=404, json=ebay_error())
    spec_route(api, "POST", f"{EBAY_INV}/offer", status=201, json={"offerId": "9876", "warnings": []})
    spec_route(api, "POST", f"{EBAY_INV}/offer/9876/publish", status=200, json={"listingId": "110551990"})

    response = seller_client.post(
        reverse(URL),
        {"product": product.pk, "store": store.pk, "title": "Steel bottle, 750 ml", "publish_now": "on"},
    )

    listing = Listing.objects.get(product=product, store_account=store)
    assert response.url == listing.get_absolute_url()
    assert (listing.status, listing.external_listing_id, listing.title) == (
        "active",
        "110551990",
        "Steel bottle, 750 ml",
    )
    assert listing.price == Decimal("30.99")
    assert str(item_route.calls.last.request.url).endswith(f"/inventory_item/AM-{listing.pk}")


def test_listing_without_publishing_keeps_it_pending_with_the_sellers_locked_price(seller_client, store, product, api):
    response = seller_client.post(
        reverse(URL), {"product": product.pk, "store": store.pk, "price": "34.50", "price_locked": "on"}
    )

    listing = Listing.objects.get(product=product)
    assert response.url == listing.get_absolute_url()
    assert (listing.status, listing.price, listing.price_locked) == ("pending", Decimal("34.50"), True)
    assert not api.calls


def test_a_second_store_can_list_the_same_product(seller_client, user, store, product):
    ListingFactory(store_account=store, product=product)
    etsy = StoreAccountFactory(user=user, marketplace="etsy")

    seller_client.post(reverse(URL), {"product": product.pk, "store": etsy.pk})

    assert Listing.objects.filter(product=product).count() == 2


def test_another_sellers_store_cannot_be_chosen(seller_client, other_user, store, product):
    rival = StoreAccountFactory(user=other_user)
    response = seller_client.post(reverse(URL), {"product": product.pk, "store": rival.pk})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Listing.objects.exists()


def test_the_product_page_links_to_this_form(seller_client, product):
    page = seller_client.get(reverse("catalog:product_detail", args=[product.pk])).content.decode()
    assert f'href="{reverse(URL)}?product={product.pk}" role="button"' in page
