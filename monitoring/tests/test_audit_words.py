"""The activity log names what each change was about, links to it, and writes values in words."""

import pytest
from django.urls import reverse

from catalog.tests.factories import ProductFactory
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from monitoring.records import audit_record

pytestmark = pytest.mark.django_db
LOG = reverse("monitoring:audit_list")


def test_a_listing_row_names_the_listing_links_it_and_reads_its_reason(seller_client, user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user), title="Walnut desk clock")
    audit_record(
        acting_user=None,
        owner=user,
        action="paused",
        resource=listing,
        old_value={"status": "active", "status_reason": ""},
        new_value={"status": "paused", "status_reason": "low_margin", "price_locked": True},
    )

    page = seller_client.get(LOG).content.decode()

    assert f'<a href="{listing.get_absolute_url()}">Walnut desk clock</a>' in page
    assert "Low margin" in page and "low_margin" not in page
    assert f"#{listing.pk}" not in page
    assert "<span>Active → Paused</span>" in page and "<span>— → yes</span>" in page


def test_a_product_row_names_the_product_and_a_gone_listing_says_so(seller_client, user):
    product = ProductFactory(title="Brass bottle opener")
    user.tracked_products.add(product)
    audit_record(acting_user=user, owner=user, action="tracked", resource=product, new_value={"url": product.url})
    gone = ListingFactory(store_account=StoreAccountFactory(user=user))
    audit_record(acting_user=user, owner=user, action="quantity_changed", resource=gone)
    gone_id = gone.pk
    gone.delete()

    page = seller_client.get(LOG).content.decode()

    assert f'<a href="{product.get_absolute_url()}">Brass bottle opener</a>' in page
    assert f"listing {gone_id} (no longer there)" in page and "Quantity changed" in page
