import datetime
import json
from decimal import Decimal

import factory
import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from django.utils.html import escape

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from marketplaces.admin import LISTING_STORE_OWNER_MISMATCH
from marketplaces.models import (
    AutomationSwitch,
    BlocklistTerm,
    ExchangeRate,
    Listing,
    ListingStatus,
    MarketplaceData,
    Sale,
    StatusReason,
    StoreAccount,
)
from marketplaces.tests.doubles import bulk_request, ebay_store, live_listing, supplier_product
from marketplaces.tests.factories import ListingFactory, MarketplaceDataFactory, StoreAccountFactory
from monitoring.models import AuditLog
from monitoring.tests.admin_helpers import (
    admin_form_data,
    admin_url,
    assert_admin_pages_render,
    assert_changelist_queries_flat,
    listed,
    post_action,
)

pytestmark = pytest.mark.django_db

SECRETS = {
    "api_key": "ak-CLEAR-1111",
    "api_secret": "as-CLEAR-2222",
    "oauth_token": "ot-CLEAR-3333",
    "oauth_refresh_token": "rt-CLEAR-4444",
}


@pytest.mark.parametrize(
    "make", [StoreAccountFactory, ListingFactory, MarketplaceDataFactory], ids=["store", "listing", "data"]
)
def test_marketplaces_admin_pages_render(admin_client, make):
    assert_admin_pages_render(admin_client, make(), addable=True)


# --- StoreAccount: masked credentials ------------------------------------------------------


def _store_form(admin_client, store):
    return admin_form_data(admin_client.get(admin_url(StoreAccount, "change", store.pk)))


def _assert_no_secret_in(html):
    for value in SECRETS.values():
        assert value not in html


def test_store_credentials_never_appear_in_admin_pages(admin_client):
    store = StoreAccountFactory(**SECRETS)
    data = _store_form(admin_client, store)
    admin_client.post(admin_url(StoreAccount, "change", store.pk), {**data, "api_key": "ak-NEW-CLEAR-9999"})

    change_page = admin_client.get(admin_url(StoreAccount, "change", store.pk)).content.decode()
    for page in [
        change_page,
        admin_client.get(admin_url(StoreAccount, "changelist")).content.decode(),
        admin_client.get(admin_url(StoreAccount, "changelist"), {"q": store.account_name}).content.decode(),
        admin_client.get(admin_url(StoreAccount, "history", store.pk)).content.decode(),
        admin_client.get(admin_url(StoreAccount, "delete", store.pk)).content.decode(),
        admin_client.get(admin_url(AuditLog, "changelist")).content.decode(),
    ]:
        _assert_no_secret_in(page)
        assert "ak-NEW-CLEAR-9999" not in page
    for label in ("API key", "API secret", "OAuth token", "OAuth refresh token"):
        assert f"{label} is stored" in change_page


def test_store_blank_credentials_keep_the_stored_ones(admin_client):
    store = StoreAccountFactory(**SECRETS)
    data = _store_form(admin_client, store)
    assert {name: data[name] for name in SECRETS} == dict.fromkeys(SECRETS, "")  # nothing to send back
    data["account_name"] = "renamed-store"

    response = admin_client.post(admin_url(StoreAccount, "change", store.pk), {**data, "api_secret": ""})

    assert response.status_code == 302
    store.refresh_from_db()
    assert store.account_name == "renamed-store"
    assert {name: getattr(store, name) for name in SECRETS} == SECRETS


def test_store_typed_credential_replaces_only_that_one_and_the_audit_row_masks_it(admin_client, admin_user):
    store = StoreAccountFactory(**SECRETS)
    data = _store_form(admin_client, store)

    response = admin_client.post(admin_url(StoreAccount, "change", store.pk), {**data, "oauth_token": "ot-NEW-5555"})

    assert response.status_code == 302
    store.refresh_from_db()
    assert store.oauth_token == "ot-NEW-5555"
    assert {name: getattr(store, name) for name in SECRETS if name != "oauth_token"} == {
        name: value for name, value in SECRETS.items() if name != "oauth_token"
    }
    row = AuditLog.objects.get(resource_type="storeaccount")
    assert (row.user, row.owner, row.action) == (admin_user, store.user, "updated")
    assert set(row.new_value) == {"oauth_token"}
    dumped = json.dumps([row.old_value, row.new_value, row.notes])
    assert "ot-NEW-5555" not in dumped and SECRETS["oauth_token"] not in dumped


def test_store_credential_can_be_cleared(admin_client):
    store = StoreAccountFactory(**SECRETS)
    data = _store_form(admin_client, store)

    response = admin_client.post(admin_url(StoreAccount, "change", store.pk), {**data, "api_key_clear": "on"})

    assert response.status_code == 302
    store.refresh_from_db()
    assert store.api_key is None
    assert store.api_secret == SECRETS["api_secret"]


def test_store_add_page_takes_credentials(admin_client):
    seller = UserFactory()
    data = admin_form_data(admin_client.get(admin_url(StoreAccount, "add")))
    data.update(user=str(seller.pk), marketplace="etsy", account_name="new-etsy-shop", api_key="etsy-CLEAR-key")

    response = admin_client.post(admin_url(StoreAccount, "add"), data)

    assert response.status_code == 302
    store = StoreAccount.objects.get(account_name="new-etsy-shop")
    assert (store.user, store.api_key, store.api_secret) == (seller, "etsy-CLEAR-key", None)
    assert AuditLog.objects.get(resource_type="storeaccount").new_value["api_key"] != "etsy-CLEAR-key"


def test_staff_who_may_only_view_stores_see_which_credentials_are_stored(client):
    store = StoreAccountFactory(**{**SECRETS, "api_secret": None})
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_storeaccount"))
    client.force_login(staff)

    html = client.get(admin_url(StoreAccount, "change", store.pk)).content.decode()

    _assert_no_secret_in(html)
    assert "API key: stored" in html and "API secret: not set" in html


# --- Listing -------------------------------------------------------------------------------


def test_listing_add_page_does_not_list_every_product(admin_client):
    products = ProductFactory.create_batch(30, title=factory.Sequence(lambda n: f"Catalogue item {n:04d}"))

    html = admin_client.get(admin_url(Listing, "add")).content.decode()

    for field in ("product", "store_account", "user"):
        assert f'data-field-name="{field}"' in html
    assert not any(product.title in html for product in products)
    assert html.count("<option") < 30


def test_listing_product_picker_searches_products(admin_client):
    ProductFactory.create_batch(5)
    wanted = ProductFactory(title="Walnut chopping board")

    response = admin_client.get(
        "/admin/autocomplete/",
        {"app_label": "marketplaces", "model_name": "listing", "field_name": "product", "term": "walnut"},
    )

    assert [result["id"] for result in response.json()["results"]] == [str(wanted.pk)]


def test_listing_store_must_belong_to_the_listing_seller(admin_client):
    listing = ListingFactory()
    someone_elses_store = StoreAccountFactory()
    data = admin_form_data(admin_client.get(admin_url(Listing, "change", listing.pk)))
    data["store_account"] = str(someone_elses_store.pk)

    response = admin_client.post(admin_url(Listing, "change", listing.pk), data)

    assert response.status_code == 200
    assert escape(LISTING_STORE_OWNER_MISMATCH) in response.content.decode()
    listing.refresh_from_db()
    assert listing.store_account != someone_elses_store


def test_pause_action_pauses_active_listings_at_the_marketplace_and_audits_each(admin_client, admin_user, ebay):
    active = live_listing(ebay_store(), supplier_product(), status=ListingStatus.ACTIVE, quantity_available=5)
    system_paused = ListingFactory(status=ListingStatus.PAUSED, status_reason=StatusReason.OUT_OF_STOCK)
    ended = ListingFactory(status=ListingStatus.ENDED)

    response = post_action(admin_client, Listing, "pause_listings", [active, system_paused, ended])

    assert response.status_code == 302
    states = {listing.pk: (listing.status, listing.status_reason) for listing in Listing.objects.all()}
    assert states == {
        active.pk: ("paused", "manual_pause"),
        system_paused.pk: ("paused", "out_of_stock"),
        ended.pk: ("ended", ""),
    }
    assert ebay.bulk_bodies == [bulk_request(f"AM-{active.pk}", offer_id=f"9{active.pk}", quantity=0)]
    row = AuditLog.objects.get()
    assert (row.action, row.user, row.owner, row.resource_type, row.resource_id) == (
        "paused",
        admin_user,
        active.user,
        "listing",
        str(active.pk),
    )
    assert row.old_value["status"] == "active" and row.new_value["status"] == "paused"


def test_resume_action_resumes_paused_listings_at_the_marketplace(admin_client, admin_user, ebay):
    paused = live_listing(
        ebay_store(), supplier_product(), status=ListingStatus.PAUSED, status_reason=StatusReason.MANUAL_PAUSE
    )
    pending = ListingFactory(status=ListingStatus.PENDING)

    response = post_action(admin_client, Listing, "resume_listings", [paused, pending])

    assert response.status_code == 302
    paused.refresh_from_db()
    pending.refresh_from_db()
    assert (paused.status, paused.status_reason) == ("active", "")
    assert pending.status == "pending"
    assert len(ebay.bulk_bodies) == 1
    row = AuditLog.objects.get()
    assert (row.action, row.user, row.owner, row.resource_id) == ("resumed", admin_user, paused.user, str(paused.pk))


# --- MarketplaceData -----------------------------------------------------------------------


def test_marketplace_data_profit_is_computed_on_save(admin_client):
    row = MarketplaceDataFactory(
        revenue=Decimal("100.00"), cost_of_goods_sold=Decimal("60.00"), fees=Decimal("13.00"), profit=Decimal("27.00")
    )
    data = admin_form_data(admin_client.get(admin_url(MarketplaceData, "change", row.pk)))
    data["fees"] = "20.00"

    response = admin_client.post(admin_url(MarketplaceData, "change", row.pk), data)

    assert response.status_code == 302
    row.refresh_from_db()
    assert row.profit == Decimal("20.00")


def test_marketplace_data_date_drilldown_lists_the_day(admin_client):
    day = MarketplaceDataFactory(date=datetime.date(2026, 3, 14))
    other = MarketplaceDataFactory(date=datetime.date(2026, 4, 1))

    html = admin_client.get(
        admin_url(MarketplaceData, "changelist"), {"date__year": 2026, "date__month": 3}
    ).content.decode()

    assert listed(html, day, other) == {day}


def test_marketplaces_changelists_make_no_query_per_row(admin_client):
    assert_changelist_queries_flat(admin_client, StoreAccount, StoreAccountFactory)
    assert_changelist_queries_flat(admin_client, Listing, ListingFactory)
    assert_changelist_queries_flat(admin_client, MarketplaceData, MarketplaceDataFactory)


# --- Sales, exchange rates, blocklist, the global switch -------------------------------------


def test_sale_pages_render_read_only(admin_client):
    listing = ListingFactory()
    sale = Sale.objects.create(
        listing=listing,
        store_account=listing.store_account,
        marketplace_order_id="12-34567-89012",
        line_id="1",
        quantity=1,
        unit_price=Decimal("29.99"),
        currency="USD",
        ordered_at=timezone.now(),
    )
    assert_admin_pages_render(admin_client, sale, addable=False)


def test_exchange_rate_and_blocklist_pages_render(admin_client):
    rate = ExchangeRate.objects.create(currency="GBP", per_eur=Decimal("0.85"), as_of=datetime.date(2026, 1, 2))
    assert_admin_pages_render(admin_client, rate, addable=True)
    assert_admin_pages_render(admin_client, BlocklistTerm.objects.create(term="acme"), addable=True)


def test_blocklist_scope_filter_separates_global_terms(admin_client):
    global_term = BlocklistTerm.objects.create(term="acme")
    own_term = BlocklistTerm.objects.create(term="zenith", user=UserFactory())

    html = admin_client.get(admin_url(BlocklistTerm, "changelist"), {"scope": "global"}).content.decode()

    assert listed(html, global_term, own_term) == {global_term}


def test_staff_flip_the_global_automation_switch(admin_client):
    switch = AutomationSwitch.current()
    assert_admin_pages_render(admin_client, switch, addable=False)
    data = admin_form_data(admin_client.get(admin_url(AutomationSwitch, "change", switch.pk)))

    response = admin_client.post(
        admin_url(AutomationSwitch, "change", switch.pk), {**data, "pushes_paused": "on", "reason": "eBay outage"}
    )

    assert response.status_code == 302
    switch.refresh_from_db()
    assert switch.pushes_paused and switch.reason == "eBay outage"
    assert admin_client.get(admin_url(AutomationSwitch, "delete", switch.pk)).status_code == 403


def test_order_pages_show_staff_that_an_address_is_held_never_the_address(admin_client):
    from marketplaces.models import Order
    from marketplaces.tests.doubles import BUYER_NAME, BUYER_STREET
    from marketplaces.tests.factories import OrderFactory, SaleFactory

    order = OrderFactory()
    order.ship_to = {"name": BUYER_NAME, "line1": BUYER_STREET}
    order.save(update_fields=["ship_to"])
    SaleFactory(order=order)
    assert_admin_pages_render(admin_client, order, addable=False)

    pages = admin_client.get(admin_url(Order, "change", order.pk)).content.decode()
    pages += admin_client.get(admin_url(Order, "changelist")).content.decode()

    assert "held encrypted" in pages and order.order_number in pages
    assert BUYER_NAME not in pages and BUYER_STREET not in pages


def test_listing_change_page_shows_its_backup_sources_in_order(admin_client):
    from marketplaces.models import ListingSource

    listing = ListingFactory()
    second = ListingSource.objects.create(
        listing=listing, product=ProductFactory(title="Second choice kettle"), position=2
    )
    first = ListingSource.objects.create(
        listing=listing, product=ProductFactory(title="First choice kettle"), position=1, same_item="same GTIN 1"
    )

    html = admin_client.get(admin_url(Listing, "change", listing.pk)).content.decode()

    assert "Backup sources" in html and "same GTIN 1" in html
    assert html.index(f'value="{first.pk}"') < html.index(f'value="{second.pk}"')
    assert 'name="max_price"' in html
