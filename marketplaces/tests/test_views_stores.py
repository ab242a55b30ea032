"""A store's page: pricing settings with their live preview, documented fees, automation pause and
publishing defaults (typed or fetched from the marketplace)."""

import re
from decimal import Decimal

import pytest
import respx
from django.urls import reverse
from django.utils.html import escape

from catalog.tests.factories import ProductFactory, SupplierFactory
from marketplaces.forms import SETTINGS_FIELDS, StorePricingForm
from marketplaces.models import SALE_PERCENTAGES_TOO_HIGH, StoreAccount
from marketplaces.services import MAX_BELOW_DEFAULT, PRICING_LIMITS, StoreSettingsError, store_settings_update
from marketplaces.tests.doubles import EBAY_API, ebay_account_defaults, isolated_cache
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from marketplaces.tests.spec import spec_route
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "store-views")


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def store(user):
    return StoreAccountFactory(user=user, marketplace="ebay", account_name="blue-kettles", currency="USD")


def settings_data(store, **changes):
    data = {name: ("" if value is None else value) for name, value in StorePricingForm.initial_for(store).items()}
    return {**data, **{name: str(value) for name, value in changes.items()}}


def preview_cells(html, parts=("price", "marketplace_fee", "profit", "margin")):
    """The named parts of each preview row, as shown (their first word)."""
    rows = re.findall(r'<section class="preview-row">(.*?)</section>', html, re.S)
    cells = []
    for row in rows:
        values = {}
        for part in parts:
            cell = re.search(rf'data-part="{part}">(.*?)</(?:dd|small)>', row, re.S).group(1)
            values[part] = re.sub(r"<[^>]+>", " ", cell).split()[0]
        cells.append(values)
    return cells


URL_PREVIEW = "marketplaces:store_pricing_preview"


def test_the_preview_shows_exact_numbers_for_the_sample_and_a_real_product(seller_client, store):
    ListingFactory(store_account=store, product=ProductFactory(price=Decimal("20.00"), currency="USD"))
    typed = settings_data(
        store, markup_percent="50", markup_fixed="0", fee_percent="10", fee_fixed="0.30", price_ending="0.99"
    )

    response = seller_client.get(reverse(URL_PREVIEW, args=[store.pk]), typed, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="pricing-preview"') and "<html" not in html
    # 10 × 1.5 + 0.30 = 15.30; ÷ 0.9 = 17.00 → next .99 = 17.99; fees 1.799 + 0.30 = 2.10; profit 5.89; 5.89 / 17.99
    # 20 × 1.5 + 0.30 = 30.30; ÷ 0.9 = 33.67 → 33.99; fees 3.399 + 0.30 = 3.70; profit 10.29; 10.29 / 33.99
    assert preview_cells(html) == [
        {"price": "17.99", "marketplace_fee": "2.10", "profit": "5.89", "margin": "32.74%"},
        {"price": "33.99", "marketplace_fee": "3.70", "profit": "10.29", "margin": "30.27%"},
    ]
    store.refresh_from_db()
    assert store.markup_percent == Decimal("30.00")  # a preview saves nothing


def test_the_preview_marks_a_margin_under_the_minimum(seller_client, store):
    typed = settings_data(store, markup_percent="0", fee_percent="10", fee_fixed="0", min_margin_percent="20")
    html = seller_client.get(reverse(URL_PREVIEW, args=[store.pk]), typed, headers={"HX-Request": "true"}).content
    assert "below the minimum" in html.decode()


def test_the_preview_of_bad_input_asks_to_fix_it(seller_client, store):
    typed = settings_data(store, fee_percent="100")
    html = seller_client.get(reverse(URL_PREVIEW, args=[store.pk]), typed, headers={"HX-Request": "true"}).content
    assert "Fix the settings marked above" in html.decode()


def test_the_preview_of_a_negative_markup_says_why_it_is_refused_and_shows_the_loss(seller_client, store):
    typed = settings_data(store, markup_percent="-50", markup_fixed="0", fee_percent="10", fee_fixed="0")

    response = seller_client.get(reverse(URL_PREVIEW, args=[store.pk]), typed, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="pricing-preview"')
    assert escape(PRICING_LIMITS["markup_percent"].message) in html
    # 10 × 0.5 = 5.00; ÷ 0.9 = 5.56 → 5.99; fees 0.60; profit 5.99 − 0.60 − 10 = −4.61
    assert preview_cells(html)[0] == {
        "price": "5.99",
        "marketplace_fee": "0.60",
        "profit": "-4.61",
        "margin": "-76.96%",
    }


def test_the_preview_of_a_markup_under_minus_100_shows_a_price_under_zero(seller_client, store):
    ListingFactory(store_account=store, product=ProductFactory(price=Decimal("20.00"), currency="USD"))
    typed = settings_data(store, markup_percent="-150")

    response = seller_client.get(reverse(URL_PREVIEW, args=[store.pk]), typed, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert all(cells["price"].startswith("-") for cells in preview_cells(response.content.decode()))


def test_the_preview_without_htmx_is_the_whole_page_with_the_typed_values(seller_client, store):
    typed = settings_data(store, markup_percent="55.5")
    response = seller_client.get(reverse(URL_PREVIEW, args=[store.pk]), typed)
    html = response.content.decode()
    assert "<html" in html and 'value="55.5"' in html and 'id="pricing-preview"' in html


def test_saving_settings_changes_the_store_and_is_audited(seller_client, store):
    response = seller_client.post(
        reverse("marketplaces:store_settings", args=[store.pk]),
        settings_data(store, markup_percent="45.00", currency="eur", account_name="Kettles EU"),
        follow=True,
    )

    assert "Settings saved." in response.content.decode()
    store.refresh_from_db()
    assert (store.markup_percent, store.currency, store.account_name) == (Decimal("45.00"), "EUR", "Kettles EU")
    row = AuditLog.objects.get(resource_type="storeaccount", action="settings_updated")
    assert row.new_value["markup_percent"] == "45.00" and row.user == store.user


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("fee_percent", "100", PRICING_LIMITS["fee_percent"].message),
        ("markup_percent", "lots", "Enter a number."),
        ("markup_percent", "-150", PRICING_LIMITS["markup_percent"].message),
        ("markup_percent", "-50", PRICING_LIMITS["markup_percent"].message),
        ("markup_percent", "5000", PRICING_LIMITS["markup_percent"].message),
        ("markup_fixed", "-5", PRICING_LIMITS["markup_fixed"].message),
        ("markup_fixed", "250000", PRICING_LIMITS["markup_fixed"].message),
        ("fee_fixed", "-1", PRICING_LIMITS["fee_fixed"].message),
        ("min_margin_percent", "95", PRICING_LIMITS["min_margin_percent"].message),
        ("max_quantity", "0", PRICING_LIMITS["max_quantity"].message),
        ("default_quantity", "20", MAX_BELOW_DEFAULT),
    ],
)
def test_bad_settings_come_back_with_the_input_and_the_allowed_range(seller_client, store, field, value, message):
    response = seller_client.post(
        reverse("marketplaces:store_settings", args=[store.pk]),
        settings_data(store, **{field: value, "account_name": "Typed name"}),
    )

    html = response.content.decode()
    form = response.context["pricing_form"]
    assert response.status_code == 200
    assert message in [error for errors in form.errors.values() for error in errors]
    assert f'value="{value}"' in html and 'value="Typed name"' in html
    assert StoreAccount.objects.get(pk=store.pk).account_name == "blue-kettles"
    assert not AuditLog.objects.filter(action="settings_updated").exists()


def test_the_documented_fees_are_shown_dated_and_can_be_taken(seller_client, store):
    html = seller_client.get(reverse("marketplaces:store_detail", args=[store.pk])).content.decode()
    assert "marketplace 13.60% + 0.40, payment 0.00% + 0.00 per sale" in html
    assert "as of 2026-01" in html and "per-order fee" in html

    seller_client.post(reverse("marketplaces:store_settings", args=[store.pk]), {"apply_fee_defaults": "1"})

    store.refresh_from_db()
    assert (store.fee_percent, store.fee_fixed) == (Decimal("13.60"), Decimal("0.40"))
    assert (store.payment_fee_percent, store.payment_fee_fixed) == (Decimal("0.00"), Decimal("0.00"))


def test_taking_etsys_documented_fees_sets_its_marketplace_and_payment_parts(seller_client, user):
    store = StoreAccountFactory(user=user, marketplace="etsy", fee_percent=Decimal("9.50"), fee_fixed=Decimal("0.45"))
    html = seller_client.get(reverse("marketplaces:store_detail", args=[store.pk])).content.decode()
    assert "marketplace 6.50% + 0.20, payment 3.00% + 0.25 per sale" in html

    seller_client.post(reverse("marketplaces:store_settings", args=[store.pk]), {"apply_fee_defaults": "1"})

    store.refresh_from_db()
    fees = (store.fee_percent, store.fee_fixed, store.payment_fee_percent, store.payment_fee_fixed)
    assert fees == (Decimal("6.50"), Decimal("0.20"), Decimal("3.00"), Decimal("0.25"))


def test_automation_pause_with_htmx_swaps_the_card(seller_client, store):
    url = reverse("marketplaces:store_automation", args=[store.pk])

    response = seller_client.post(url, {"paused": "1"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<article id="store-automation"') and "Resume automatic changes" in html
    store.refresh_from_db()
    assert store.automation_paused

    back = seller_client.post(url, {"paused": "0"})
    assert back.status_code == 302
    store.refresh_from_db()
    assert not store.automation_paused
    assert list(AuditLog.objects.filter(resource_type="storeaccount").values_list("action", flat=True)) == [
        "automation_resumed",
        "automation_paused",
    ]


def test_publish_defaults_form_has_the_marketplaces_keys(seller_client, user):
    etsy = StoreAccountFactory(user=user, marketplace="etsy", publish_defaults={"taxonomy_id": 1296, "extra": "kept"})
    html = seller_client.get(reverse("marketplaces:store_detail", args=[etsy.pk])).content.decode()
    for key in ("taxonomy_id", "shipping_profile_id", "readiness_state_id", "who_made", "when_made"):
        assert f'name="{key}"' in html
    assert 'value="1296"' in html and "extra = kept" in html

    response = seller_client.post(
        reverse("marketplaces:store_publish_defaults", args=[etsy.pk]),
        {"taxonomy_id": "1296", "shipping_profile_id": "206001", "readiness_state_id": "", "who_made": "i_did"},
    )

    assert response.status_code == 302
    etsy.refresh_from_db()
    assert etsy.publish_defaults == {
        "taxonomy_id": 1296,
        "shipping_profile_id": 206001,
        "who_made": "i_did",
        "extra": "kept",
    }


def test_bad_publish_defaults_come_back_with_the_reason(seller_client, user):
    etsy = StoreAccountFactory(user=user, marketplace="etsy")
    response = seller_client.post(
        reverse("marketplaces:store_publish_defaults", args=[etsy.pk]),
        {"taxonomy_id": "not-a-number", "who_made": "a robot"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Enter a whole number." in html and "Select a valid choice" in html
    etsy.refresh_from_db()
    assert etsy.publish_defaults == {}


def test_fetching_defaults_from_ebay_fills_what_is_missing(seller_client, store, api):
    store.publish_defaults = {"category_id": "20625", "fulfillment_policy_id": "mine"}
    store.save()
    ebay_account_defaults(api)

    response = seller_client.post(reverse("marketplaces:store_publish_defaults_fetch", args=[store.pk]), follow=True)

    assert "eBay gave:" in response.content.decode()
    store.refresh_from_db()
    assert store.publish_defaults == {
        "category_id": "20625",
        "fulfillment_policy_id": "mine",
        "payment_policy_id": "6196936000",
        "return_policy_id": "6196940000",
        "merchant_location_key": "WH1",
    }


def test_a_refused_fetch_is_a_message(seller_client, store, api):
    refusal = {
        "errors": [{"errorId": 20403, "domain": "API_ACCOUNT", "category": "REQUEST", "message": "Not eligible."}]
    }
    spec_route(api, "GET", f"{EBAY_API}/sell/account/v1/fulfillment_policy", status=400, json=refusal)

    response = seller_client.post(reverse("marketplaces:store_publish_defaults_fetch", args=[store.pk]), follow=True)

    assert "could not be asked for defaults: Not eligible." in response.content.decode()


def test_store_detail_htmx_gets_only_the_listings(seller_client, store):
    ListingFactory(store_account=store, title="Blue kettle listing")
    html = seller_client.get(
        reverse("marketplaces:store_detail", args=[store.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert html.lstrip().startswith('<div id="store-listings"') and "Blue kettle listing" in html


def test_the_settings_form_covers_every_store_setting():
    assert set(SETTINGS_FIELDS) == set(StorePricingForm().fields)


def test_sync_now_runs_the_store_sync_as_a_job(client, django_capture_on_commit_callbacks, api):
    from marketplaces.tests.doubles import ShopifyDouble, shopify_orders, shopify_store
    from monitoring.models import Job

    store = shopify_store()
    client.force_login(store.user)
    shop = ShopifyDouble(api)
    shop.answer("Orders", shopify_orders())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("marketplaces:store_sync", args=[store.pk]))

    job = Job.objects.get(type="sync_store", user=store.user)
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    assert job.status == "success", job.error_message
    assert job.params == {"store_id": store.pk}
    assert "0 order lines" in job.result["summary"]
    store.refresh_from_db()
    assert store.last_synced_at is not None


def test_sync_now_of_another_sellers_store_is_404(client, other_user):
    from marketplaces.tests.doubles import shopify_store

    store = shopify_store()
    client.force_login(other_user)
    assert client.post(reverse("marketplaces:store_sync", args=[store.pk])).status_code == 404


def test_the_preview_shows_the_payment_fee_returns_allowance_and_the_products_shipping_and_tax(seller_client, store):
    supplier = SupplierFactory(default_shipping=Decimal("5.00"), sales_tax_percent=Decimal("10"))
    ListingFactory(store_account=store, product=ProductFactory(supplier=supplier, price=Decimal("20.00")))
    typed = settings_data(
        store,
        markup_percent="30",
        markup_fixed="0",
        fee_percent="10",
        fee_fixed="0.30",
        payment_fee_percent="2.90",
        payment_fee_fixed="0.30",
        returns_percent="2",
        price_ending="0.99",
    )

    html = seller_client.get(reverse(URL_PREVIEW, args=[store.pk]), typed, headers={"HX-Request": "true"}).content

    names = ("supplier_price", "shipping", "tax", "unit_cost", "price", "payment_fee", "returns", "landed_cost")
    sample, real = preview_cells(html.decode(), parts=names)
    # the sample: 10.00, nothing else; (10 × 1.3 + 0.60) / 0.851 = 15.98 → 15.99
    assert sample == {
        "supplier_price": "10.00",
        "shipping": "0.00",
        "tax": "0.00",
        "unit_cost": "10.00",
        "price": "15.99",
        "payment_fee": "0.76",  # 15.99 × 2.9 % + 0.30 = 0.7637
        "returns": "0.32",  # 15.99 × 2 % = 0.3198
        "landed_cost": "12.98",  # 10.00 + 1.90 + 0.76 + 0.32
    }
    # the product: (20.00 + 5.00) × 1.10 = 27.50; (27.50 × 1.3 + 0.60) / 0.851 = 42.71 → 42.99
    assert (real["shipping"], real["tax"], real["unit_cost"], real["price"]) == ("5.00", "2.50", "27.50", "42.99")


def test_fees_and_returns_that_take_the_whole_price_are_refused_and_nothing_is_saved(seller_client, store):
    typed = settings_data(store, fee_percent="60", payment_fee_percent="30", returns_percent="10")

    response = seller_client.post(reverse("marketplaces:store_settings", args=[store.pk]), typed)

    assert response.status_code == 200
    assert SALE_PERCENTAGES_TOO_HIGH in response.context["pricing_form"].non_field_errors()
    assert 'value="30"' in response.content.decode()
    store.refresh_from_db()
    assert (store.fee_percent, store.payment_fee_percent, store.returns_percent) == (
        Decimal("13.25"),
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_the_settings_service_refuses_them_too_whatever_calls_it(store, user):
    with pytest.raises(StoreSettingsError) as refused:
        store_settings_update(
            store=store, changes={"returns_percent": Decimal("90")}, acting_user=user
        )  # 13.25 + 0 + 90 ≥ 100
    assert refused.value.errors == {"__all__": [SALE_PERCENTAGES_TOO_HIGH]}
    store.refresh_from_db()
    assert store.returns_percent == Decimal("0.00")
