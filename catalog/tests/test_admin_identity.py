"""Staff, in the admin: accept the identity a tracked link now shows (audited), and enter a price or
stock for every seller (written as manual history)."""

from decimal import Decimal

import pytest

from catalog.models import HeldReading, PriceHistory, StockHistory
from catalog.services import IDENTITY_ID_TAKEN
from catalog.tests.factories import ProductFactory
from monitoring.models import AuditLog
from monitoring.tests.admin_helpers import admin_form_data, admin_url, post_action

pytestmark = pytest.mark.django_db


def wrong_product_held(product, *, page_id="B07CL39Z8Q", title="Palarn Women Tops"):
    return HeldReading.objects.create(
        product=product,
        kind=HeldReading.Kind.WRONG_PRODUCT,
        reason="The supplier link now shows another product: the page is for item B07CL39Z8Q, ours is B07CLN88MV.",
        reading={"title": title, "price": "2.27", "currency": "USD", "asin": page_id, "gtin": None},
        identity={
            "by": "page id",
            "ours": {"title": product.title, "id": product.asin, "url": product.url},
            "page": {"title": title, "id": page_id, "url": product.url},
        },
    )


def test_staff_accept_the_identity_the_link_now_shows(admin_client, admin_user):
    product = ProductFactory(asin="B07CLN88MV", wrong_product_count=3, failure_count=3, title="Old title")
    held = wrong_product_held(product)

    listing_page = admin_client.get(admin_url(HeldReading, "changelist")).content.decode()
    assert "Old title (B07CLN88MV) → Palarn Women Tops (B07CL39Z8Q)" in listing_page
    post_action(admin_client, HeldReading, "accept_identity", [held])

    product.refresh_from_db()
    held.refresh_from_db()
    assert (product.asin, product.title, product.wrong_product_count, product.failure_count) == (
        "B07CL39Z8Q",
        "Palarn Women Tops",
        0,
        0,
    )
    assert product.follow_pending and product.last_scraped_at is None  # read and followed by the next round
    assert held.status == "confirmed"
    row = AuditLog.objects.get(action="identity_accepted")
    assert (row.user, row.old_value["asin"], row.new_value["asin"]) == (admin_user, "B07CLN88MV", "B07CL39Z8Q")


def test_an_identity_another_product_already_has_is_refused(admin_client):
    taken = ProductFactory(asin="B07CL39Z8Q")
    product = ProductFactory(supplier=taken.supplier, asin="B07CLN88MV")
    held = wrong_product_held(product)

    response = post_action(admin_client, HeldReading, "accept_identity", [held])

    product.refresh_from_db()
    assert product.asin == "B07CLN88MV" and HeldReading.objects.get(pk=held.pk).status == "open"
    messages = [str(m) for m in response.wsgi_request._messages]
    expected = IDENTITY_ID_TAKEN.format(other=taken.pk, asin="B07CL39Z8Q", supplier=product.supplier)
    assert any(expected in message for message in messages)


def test_a_doubtful_reading_has_no_identity_to_accept(admin_client):
    held = HeldReading.objects.create(product=ProductFactory(), reading={}, reason="price moved 400%")
    post_action(admin_client, HeldReading, "accept_identity", [held])
    assert HeldReading.objects.get(pk=held.pk).status == "open"


def test_staff_values_are_written_as_manual_history_for_everyone(admin_client):
    product = ProductFactory(price=Decimal("20.00"), stock=5, availability="in_stock")
    page = admin_client.get(admin_url(product, "change", product.pk))
    data = admin_form_data(page) | {"price": "25.00", "stock": "0", "availability": "out_of_stock"}

    response = admin_client.post(admin_url(product, "change", product.pk), data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.price, product.stock, product.availability) == (Decimal("25.00"), 0, "out_of_stock")
    assert PriceHistory.objects.get(product=product).reason == "manual"
    assert StockHistory.objects.get(product=product).reason == "manual"
    assert product.follow_pending and product.last_scraped_at is None
