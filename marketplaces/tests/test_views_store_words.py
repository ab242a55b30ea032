"""Store and listing pages in words: "Sync now" answers in a sentence, "Last sync" agrees with a
failed sync, connecting shows only the chosen marketplace and says up front when this site is
not set up for it, an unpublished listing has no "Listed" date."""

import pytest
from django.urls import reverse

from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from monitoring.tests.factories import JobFactory

pytestmark = pytest.mark.django_db


def test_sync_now_on_a_demo_store_says_why_in_a_sentence(client):
    store = StoreAccountFactory(account_name="demo-gadget-outlet")
    store.user.is_demo = True
    store.user.save()
    client.force_login(store.user)

    page = client.post(reverse("marketplaces:store_sync", args=[store.pk]), follow=True).content.decode()

    assert "demo-gadget-outlet is a demo store: it is never synced with eBay, nothing is fetched." in page
    assert "Not synced:" not in page


def test_last_sync_agrees_with_a_failed_sync(seller_client, user):
    store = StoreAccountFactory(user=user, last_synced_at=None)
    JobFactory(
        user=user, type="sync_store", status="failed", params={"store_id": store.pk}, error_message="eBay said 503."
    )

    page = seller_client.get(store.get_absolute_url()).content.decode()

    last_sync = page[page.index('id="last-sync"') :]
    last_sync = last_sync[: last_sync.index("</dd>")]
    assert "Never" not in last_sync and "none completed" in last_sync
    assert "failed: eBay said 503." in last_sync


def test_connect_shows_only_the_chosen_marketplace_and_says_when_it_is_not_set_up(seller_client, settings):
    settings.SHOPIFY_CLIENT_ID = ""
    settings.EBAY_CLIENT_ID, settings.EBAY_CLIENT_SECRET, settings.EBAY_RUNAME = "id", "secret", "runame"

    page = seller_client.get(reverse("marketplaces:store_connect"), {"marketplace": "shopify"}).content.decode()

    assert 'id="connect-shopify" data-connect-panel="shopify">' in page  # shown
    assert 'data-connect-panel="ebay" hidden' in page and 'data-connect-panel="etsy" hidden' in page
    shopify = page[page.index('id="connect-shopify"') :]
    assert "Shopify is not set up on this site yet" in shopify[: shopify.index("</article>")]
    assert "SHOPIFY_CLIENT_ID" in page
    ebay = page[page.index('id="connect-ebay"') :]
    assert "not set up on this site" not in ebay[: ebay.index("</article>")]


def test_an_unpublished_listing_has_no_listed_date(seller_client, user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user), status="pending", external_listing_id=None)

    page = seller_client.get(listing.get_absolute_url()).content.decode()

    listed = page[page.index("<dt>Listed</dt>") :]
    assert listed[: listed.index("</dd>")].count("Not published yet") == 1
