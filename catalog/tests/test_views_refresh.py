"""Refresh now on a product page: a Job for the whole cycle of that product, followed live."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from catalog.tests.fetch_servers import (  # noqa: F401 - fixtures
    Reply,
    fetch_settings_fixture,
    site_fixture,
    supplier_fixture,
)
from catalog.views import (
    REFRESH_ARCHIVED,
    REFRESH_HELD,
    REFRESH_NOT_CLAIMED,
    REFRESH_NOT_READ,
    REFRESH_STARTED,
    REFRESH_UNCHANGED,
)
from monitoring.cycle import REFRESH_JOB_TYPE
from monitoring.models import Job
from monitoring.tests.factories import JobFactory

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
PRODUCT_PAGE = """<html><head><title>Blue kettle</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product", "name": "Blue kettle",
 "sku": "K1", "offers": {"@type": "Offer", "price": "23.49", "priceCurrency": "USD",
 "availability": "https://schema.org/InStock"}}</script></head><body><h1>Blue kettle</h1></body></html>"""


@pytest.fixture
def product(user):
    product = ProductFactory(title="Blue kettle", price=Decimal("19.99"), currency="USD")
    user.tracked_products.add(product)
    return product


def refresh_url(product):
    return reverse("catalog:product_refresh", args=[product.pk])


def status_url(product, job):
    return reverse("catalog:product_refresh_status", args=[product.pk, job.pk])


def finished_job(user, product, result, status="success"):
    return JobFactory(
        user=user, type=REFRESH_JOB_TYPE, status=status, params={"product_ids": [product.pk]}, result=result
    )


def test_refresh_now_starts_a_job_for_this_product_and_htmx_gets_its_progress(seller_client, user, product):
    response = seller_client.post(refresh_url(product), headers=HX)

    job = Job.objects.get()
    assert (job.user, job.type, job.params, job.progress_total) == (
        user,
        REFRESH_JOB_TYPE,
        {"product_ids": [product.pk]},
        1,
    )
    assert job.task_name == "monitoring.tasks.tracking_cycle_task"
    page = response.content.decode()
    assert "<html" not in page and page.lstrip().startswith('<div id="refresh-status"')
    assert f'hx-get="{status_url(product, job)}" hx-trigger="every 1s"' in page


def test_a_second_click_follows_the_refresh_already_under_way(seller_client, product):
    seller_client.post(refresh_url(product), headers=HX)
    seller_client.post(refresh_url(product), headers=HX)

    assert Job.objects.count() == 1


def test_without_javascript_refresh_now_returns_to_the_page_which_follows_the_job(seller_client, product):
    response = seller_client.post(refresh_url(product), follow=True)

    job = Job.objects.get()
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("catalog:product_detail", args=[product.pk])
    assert REFRESH_STARTED in page
    assert status_url(product, job) in page


def test_an_archived_product_is_not_refreshed(seller_client, product):
    Product.objects.filter(pk=product.pk).update(is_archived=True)

    response = seller_client.post(refresh_url(product), headers=HX)

    assert REFRESH_ARCHIVED in response.content.decode()
    assert not Job.objects.exists()


def test_refresh_now_needs_a_post(seller_client, product):
    assert seller_client.get(refresh_url(product)).status_code == 405
    assert not Job.objects.exists()


def test_status_of_a_running_refresh_keeps_polling(seller_client, user, product):
    job = finished_job(user, product, {}, status="running")

    page = seller_client.get(status_url(product, job), headers=HX).content.decode()

    assert page.lstrip().startswith('<div id="refresh-status"') and "every 1s" in page


def test_a_finished_refresh_swaps_in_the_product_with_its_new_values(seller_client, user, product):
    Product.objects.filter(pk=product.pk).update(price=Decimal("21.99"))
    outcome = {
        "product_id": product.pk,
        "status": "updated",
        "price_changed": True,
        "old_price": "19.99",
        "new_price": "21.99",
        "currency": "USD",
        "stock_changed": True,
        "old_availability": "in_stock",
        "new_availability": "low_stock",
        "changed_fields": ["price", "currency", "stock", "availability", "title"],
    }
    job = finished_job(user, product, {"products": 1, "counts": {"updated": 1}, "outcomes": [outcome]})

    response = seller_client.get(status_url(product, job), headers=HX)

    page = response.content.decode()
    assert response["HX-Retarget"] == "#product-summary" and response["HX-Reswap"] == "outerHTML"
    assert response["HX-Trigger"] == "product-refreshed"
    assert page.lstrip().startswith('<section id="product-summary"') and "<html" not in page
    assert "21.99 USD" in page
    assert "Refreshed just now: price 19.99 → 21.99 USD; stock In stock → Low stock; title updated." in page
    assert "every 1s" not in page


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"products": 0, "outcomes": []}, REFRESH_NOT_CLAIMED),
        ({"products": 1, "outcomes": [{"status": "unchanged"}]}, REFRESH_UNCHANGED),
        (
            {"products": 1, "outcomes": [{"status": "held", "message": "went from in stock to out of stock"}]},
            REFRESH_HELD.format(reason="went from in stock to out of stock"),
        ),
        (
            {"products": 1, "outcomes": [{"status": "blocked", "message": "Robot check"}]},
            REFRESH_NOT_READ.format(message="Robot check"),
        ),
    ],
    ids=["not claimed", "unchanged", "held", "blocked"],
)
def test_every_refresh_outcome_is_told_to_the_seller(seller_client, user, product, result, message):
    job = finished_job(user, product, result)

    page = seller_client.get(status_url(product, job), headers=HX).content.decode()

    assert html_text(message) in page


def test_without_htmx_the_status_address_leads_back_to_the_product(seller_client, user, product):
    job = finished_job(user, product, {"products": 1, "outcomes": [{"status": "unchanged"}]})

    response = seller_client.get(status_url(product, job))

    assert response.status_code == 302 and response.url == reverse("catalog:product_detail", args=[product.pk])


def test_a_failed_refresh_job_shows_its_error(seller_client, user, product):
    job = finished_job(user, product, {}, status="failed")
    Job.objects.filter(pk=job.pk).update(error_message="RuntimeError: the worker fell over")

    page = seller_client.get(status_url(product, job), headers=HX).content.decode()

    assert "The refresh failed: RuntimeError: the worker fell over" in page


def test_status_of_another_products_or_sellers_refresh_is_404(seller_client, user, other_user, product):
    other_product = ProductFactory()
    user.tracked_products.add(other_product)
    for_other_product = finished_job(user, other_product, {})
    theirs = finished_job(other_user, product, {})

    assert seller_client.get(status_url(product, for_other_product), headers=HX).status_code == 404
    assert seller_client.get(status_url(product, theirs), headers=HX).status_code == 404


def html_text(text):
    return text.replace("&", "&amp;").replace("'", "&#x27;").replace('"', "&quot;")


# The cycle fetches in worker threads, which see only committed rows.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("supplier_families")
def test_refresh_now_runs_the_cycle_and_the_page_shows_the_new_price(client, site, supplier):
    from accounts.tests.factories import UserFactory

    seller = UserFactory()
    client.force_login(seller)
    site.routes["/kettle"] = Reply(body=PRODUCT_PAGE)
    product = ProductFactory(
        supplier=supplier, asin="K1", url=site.url("/kettle"), price=Decimal("19.99"), currency="USD"
    )
    seller.tracked_products.add(product)

    client.post(refresh_url(product), headers=HX)  # autocommit: the eager task runs at once

    job = Job.objects.get(type=REFRESH_JOB_TYPE)
    assert job.status == "success" and job.result["outcomes"][0]["status"] == "updated"
    page = client.get(status_url(product, job), headers=HX).content.decode()
    assert "23.49 USD" in page
    assert "Refreshed just now: price 19.99 → 23.49 USD" in page
    assert site.paths() == ["/kettle"]
