import factory
import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission

from accounts.tests.factories import UserFactory
from catalog.admin import FAMILY_NOT_TEMPLATE, SCRAPER_CONFIG_NOT_OBJECT
from catalog.models import Availability, HeldReading, PriceHistory, Product, ProxyPool, StockHistory, Supplier
from catalog.tests.factories import (
    PriceHistoryFactory,
    ProductFactory,
    ProxyPoolFactory,
    StockHistoryFactory,
    SupplierFactory,
)
from config.admin_utils import SECRET_BOTH_ERROR
from monitoring.tests.admin_helpers import (
    admin_form_data,
    admin_url,
    assert_admin_pages_render,
    assert_changelist_queries_flat,
    listed,
    post_action,
)

pytestmark = pytest.mark.django_db

PROXY_PASSWORD = "pr0xy-CLEAR-pass-5521"


@pytest.mark.parametrize(
    ("make", "addable"),
    [
        (SupplierFactory, True),
        (ProductFactory, True),
        (PriceHistoryFactory, False),
        (StockHistoryFactory, False),
        (ProxyPoolFactory, True),
    ],
    ids=["supplier", "product", "price_history", "stock_history", "proxy"],
)
def test_catalog_admin_pages_render(admin_client, make, addable):
    assert_admin_pages_render(admin_client, make(), addable=addable)


# --- Supplier ------------------------------------------------------------------------------


def test_staff_fix_a_selector_in_the_scraper_config(admin_client):
    supplier = Supplier.objects.get(name="generic")
    page = admin_client.get(admin_url(Supplier, "change", supplier.pk))
    data = admin_form_data(page)
    data["scraper_config"] = '{"selectors": {"price": "span.new-price"}}'

    response = admin_client.post(admin_url(Supplier, "change", supplier.pk), data)

    assert response.status_code == 302
    supplier.refresh_from_db()
    assert supplier.scraper_config == {"selectors": {"price": "span.new-price"}}


def test_scraper_config_must_be_a_json_object(admin_client):
    supplier = SupplierFactory(scraper_config={"selectors": {}})
    data = admin_form_data(admin_client.get(admin_url(Supplier, "change", supplier.pk)))
    data["scraper_config"] = '["span.price"]'

    response = admin_client.post(admin_url(Supplier, "change", supplier.pk), data)

    assert response.status_code == 200
    assert SCRAPER_CONFIG_NOT_OBJECT in response.content.decode()
    supplier.refresh_from_db()
    assert supplier.scraper_config == {"selectors": {}}


def test_a_site_cannot_be_the_family_of_another_site(admin_client):
    site = SupplierFactory()
    other = SupplierFactory()
    data = admin_form_data(admin_client.get(admin_url(Supplier, "change", other.pk)))
    data["family"] = str(site.pk)

    response = admin_client.post(admin_url(Supplier, "change", other.pk), data)

    assert FAMILY_NOT_TEMPLATE in response.content.decode()
    other.refresh_from_db()
    assert other.family.name == "generic"


def test_family_picker_offers_only_templates(admin_client):
    SupplierFactory(name="generic-site-example-com")

    response = admin_client.get(
        "/admin/autocomplete/",
        {"app_label": "catalog", "model_name": "supplier", "field_name": "family", "term": "generic"},
    )

    names = [result["text"] for result in response.json()["results"]]
    assert names == ["Any shop (generic)"]  # the template of every shop site


def test_supplier_family_filter_keeps_the_template_and_its_sites(admin_client):
    site = SupplierFactory(name="shop-one-example-com")
    amazon_de = Supplier.objects.create(
        name="amazon-de-test", family=Supplier.objects.get(name="amazon"), base_url="https://www.amazon.de"
    )
    generic = Supplier.objects.get(name="generic")

    html = admin_client.get(admin_url(Supplier, "changelist"), {"family": generic.pk}).content.decode()

    assert listed(html, site, generic, amazon_de) == {site, generic}


# --- Product -------------------------------------------------------------------------------


def test_product_changelist_searches_title_asin_and_url(admin_client):
    lamp = ProductFactory(title="Brass desk lamp", asin="B0LAMP0001")
    kettle = ProductFactory(title="Steel kettle", asin="B0KETTLE01")

    def found(term):
        html = admin_client.get(admin_url(Product, "changelist"), {"q": term}).content.decode()
        return listed(html, lamp, kettle)

    assert found("desk lamp") == {lamp}
    assert found("b0kettle01") == {kettle}
    assert found(lamp.url) == {lamp}


def test_product_changelist_filters_by_family_availability_and_archive(admin_client):
    amazon_site = Supplier.objects.create(
        name="amazon-uk-test", family=Supplier.objects.get(name="amazon"), base_url="https://www.amazon.co.uk"
    )
    on_amazon = ProductFactory(supplier=amazon_site, availability=Availability.OUT_OF_STOCK)
    elsewhere = ProductFactory(availability=Availability.IN_STOCK, is_archived=True)
    amazon = Supplier.objects.get(name="amazon")

    def found(**params):
        html = admin_client.get(admin_url(Product, "changelist"), params).content.decode()
        return listed(html, on_amazon, elsewhere)

    assert found(family=amazon.pk) == {on_amazon}
    assert found(availability__exact="in_stock") == {elsewhere}
    assert found(is_archived__exact="1") == {elsewhere}


def test_product_changelist_makes_no_query_per_row(admin_client):
    # Each product gets its own supplier, so a missing select_related shows as extra queries.
    assert_changelist_queries_flat(admin_client, Product, lambda: ProductFactory(title=""))


def test_product_change_page_picks_the_supplier_by_search_not_from_every_supplier(admin_client):
    suppliers = SupplierFactory.create_batch(30, name=factory.Sequence(lambda n: f"unlisted-shop-{n:03d}"))
    product = ProductFactory(supplier=suppliers[0])

    html = admin_client.get(admin_url(Product, "change", product.pk)).content.decode()

    assert 'data-field-name="supplier"' in html  # the autocomplete widget
    assert not any(supplier.name in html for supplier in suppliers[1:])


def test_product_change_page_shows_recent_history_and_links_to_all_of_it(admin_client):
    product = ProductFactory()
    PriceHistoryFactory.create_batch(12, product=product, new_price="23.45")
    StockHistoryFactory(product=product, new_availability=Availability.OUT_OF_STOCK, new_stock=0)

    html = admin_client.get(admin_url(Product, "change", product.pk)).content.decode()

    assert html.count("23.45") == 10  # the latest rows only
    assert "All 12 price changes" in html
    assert f"{admin_url(PriceHistory, 'changelist')}?product__id__exact={product.pk}" in html
    assert "Out of stock" in html and "All 1 stock changes" in html


def test_price_history_link_from_a_product_lists_only_its_rows(admin_client):
    mine = PriceHistoryFactory()
    other = PriceHistoryFactory()

    html = admin_client.get(
        admin_url(PriceHistory, "changelist"), {"product__id__exact": mine.product_id}
    ).content.decode()

    assert listed(html, mine, other) == {mine}


def test_archive_and_unarchive_actions(admin_client):
    live, other_live, archived = ProductFactory(), ProductFactory(), ProductFactory(is_archived=True)

    assert post_action(admin_client, Product, "archive_products", [live, archived]).status_code == 302
    assert [p.is_archived for p in Product.objects.filter(pk__in=[live.pk, other_live.pk]).order_by("pk")] == [
        True,
        False,
    ]
    assert LogEntry.objects.filter(object_id=str(live.pk), change_message="Archived.").exists()

    assert post_action(admin_client, Product, "unarchive_products", [live, archived]).status_code == 302
    assert not Product.objects.filter(pk__in=[live.pk, archived.pk], is_archived=True).exists()


# --- Price and stock history: read-only ----------------------------------------------------


@pytest.mark.parametrize("make", [PriceHistoryFactory, StockHistoryFactory], ids=["price", "stock"])
def test_history_rows_cannot_be_added_or_edited_even_by_a_superuser(admin_client, make):
    row = make()
    model = type(row)

    response = admin_client.post(admin_url(model, "change", row.pk), {"reason": "manual"})

    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.reason == "scrape"
    html = admin_client.get(admin_url(model, "change", row.pk)).content.decode()
    assert 'name="_save"' not in html


@pytest.mark.parametrize("model", [PriceHistory, StockHistory])
def test_only_a_superuser_may_delete_history_rows(client, admin_client, model):
    make = PriceHistoryFactory if model is PriceHistory else StockHistoryFactory
    row = make()
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__model=model._meta.model_name))
    client.force_login(staff)

    assert client.get(admin_url(model, "delete", row.pk)).status_code == 403
    assert admin_client.get(admin_url(model, "delete", row.pk)).status_code == 200


# --- Proxy pool: masked password, activation ------------------------------------------------


def test_proxy_password_never_appears_in_admin_pages(admin_client):
    proxy = ProxyPoolFactory(password=PROXY_PASSWORD)
    data = admin_form_data(admin_client.get(admin_url(ProxyPool, "change", proxy.pk)))
    data["country"] = "DE"
    admin_client.post(admin_url(ProxyPool, "change", proxy.pk), {**data, "password": "another-CLEAR-pass"})

    pages = [
        admin_client.get(admin_url(ProxyPool, "change", proxy.pk)),
        admin_client.get(admin_url(ProxyPool, "changelist")),
        admin_client.get(admin_url(ProxyPool, "changelist"), {"q": "proxy"}),
        admin_client.get(admin_url(ProxyPool, "history", proxy.pk)),
        admin_client.get(admin_url(ProxyPool, "delete", proxy.pk)),
    ]

    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert PROXY_PASSWORD not in html and "another-CLEAR-pass" not in html
    assert "Password is stored" in pages[0].content.decode()


def test_proxy_blank_password_keeps_the_stored_one(admin_client):
    proxy = ProxyPoolFactory(password=PROXY_PASSWORD)
    data = admin_form_data(admin_client.get(admin_url(ProxyPool, "change", proxy.pk)))
    assert data["password"] == ""  # the page holds no value to send back
    data["country"] = "FR"

    response = admin_client.post(admin_url(ProxyPool, "change", proxy.pk), {**data, "password": ""})

    assert response.status_code == 302
    proxy.refresh_from_db()
    assert (proxy.password, proxy.country) == (PROXY_PASSWORD, "FR")
    change = LogEntry.objects.get(object_id=str(proxy.pk))
    assert "Password" not in change.get_change_message()


def test_proxy_typed_password_replaces_the_stored_one(admin_client):
    proxy = ProxyPoolFactory(password=PROXY_PASSWORD)
    data = admin_form_data(admin_client.get(admin_url(ProxyPool, "change", proxy.pk)))

    response = admin_client.post(admin_url(ProxyPool, "change", proxy.pk), {**data, "password": "brand-new-pass"})

    assert response.status_code == 302
    proxy.refresh_from_db()
    assert proxy.password == "brand-new-pass"


def test_proxy_password_can_be_cleared_but_not_cleared_and_typed_at_once(admin_client):
    proxy = ProxyPoolFactory(password=PROXY_PASSWORD)
    data = admin_form_data(admin_client.get(admin_url(ProxyPool, "change", proxy.pk)))

    both = admin_client.post(
        admin_url(ProxyPool, "change", proxy.pk), {**data, "password": "typed-CLEAR-pass", "password_clear": "on"}
    )
    proxy.refresh_from_db()
    assert both.status_code == 200 and SECRET_BOTH_ERROR in both.content.decode()
    assert "typed-CLEAR-pass" not in both.content.decode()
    assert proxy.password == PROXY_PASSWORD

    cleared = admin_client.post(admin_url(ProxyPool, "change", proxy.pk), {**data, "password_clear": "on"})
    proxy.refresh_from_db()
    assert cleared.status_code == 302
    assert proxy.password is None


def test_staff_who_may_only_view_proxies_see_whether_a_password_is_stored_not_the_password(client):
    proxy = ProxyPoolFactory(password=PROXY_PASSWORD)
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_proxypool"))
    client.force_login(staff)

    html = client.get(admin_url(ProxyPool, "change", proxy.pk)).content.decode()

    assert PROXY_PASSWORD not in html
    assert "Password: stored" in html


def test_deactivate_and_activate_proxy_actions(admin_client, admin_user):
    healthy, already_off = ProxyPoolFactory(), ProxyPoolFactory(is_active=False, deactivated_reason="banned")

    post_action(admin_client, ProxyPool, "deactivate_proxies", [healthy, already_off])
    healthy.refresh_from_db()
    already_off.refresh_from_db()
    assert not healthy.is_active and admin_user.email in healthy.deactivated_reason
    assert already_off.deactivated_reason == "banned"

    ProxyPool.objects.filter(pk=already_off.pk).update(consecutive_failures=7)
    post_action(admin_client, ProxyPool, "activate_proxies", [healthy, already_off])
    assert list(ProxyPool.objects.values_list("is_active", "deactivated_reason", "consecutive_failures")) == [
        (True, "", 0),
        (True, "", 0),
    ]


def test_history_changelists_make_no_query_per_row(admin_client):
    assert_changelist_queries_flat(admin_client, PriceHistory, lambda: PriceHistoryFactory(product__title=""))
    assert_changelist_queries_flat(admin_client, StockHistory, lambda: StockHistoryFactory(product__title=""))
    assert_changelist_queries_flat(admin_client, Supplier, SupplierFactory)
    assert_changelist_queries_flat(admin_client, ProxyPool, ProxyPoolFactory)


def test_held_readings_pages_render_read_only(admin_client):
    held = HeldReading.objects.create(product=ProductFactory(), reading={"price": "1.00"}, reason="Price fell 95%")
    assert_admin_pages_render(admin_client, held, addable=False)
