"""Adding products by pasted links or ASINs: the Job it starts, its progress page and report."""

import pytest
from django.urls import reverse

from catalog import services
from catalog.forms import ADD_EMPTY, ADD_MAX_LINES, ADD_TOO_MANY_LINES
from catalog.models import Product
from catalog.services import LIMIT_REACHED_MESSAGE, RefreshOutcome
from catalog.tests.factories import ProductFactory
from monitoring.models import Job
from monitoring.tests.factories import JobFactory

pytestmark = pytest.mark.django_db
ADD = reverse("catalog:product_add")


@pytest.fixture
def refreshes(monkeypatch):
    """Stand in for reading the supplier's page (no network); records which products were read."""
    calls = []

    def fake_refresh(*, product):
        calls.append(product.pk)
        return RefreshOutcome(product_id=product.pk, status="updated")

    monkeypatch.setattr(services, "product_refresh", fake_refresh)
    return calls


def add(client, text, django_capture_on_commit_callbacks, **headers):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(ADD, {"links": text}, headers=headers)


def test_the_form_shows_how_many_products_the_plan_allows(seller_client, user):
    user.tracked_products.add(ProductFactory())

    page = seller_client.get(ADD).content.decode()

    assert "You track 1 of 50 products allowed on the Free plan." in page
    assert 'name="links"' in page


def test_one_asin_is_added_and_read_at_once_by_a_job(
    seller_client, user, refreshes, django_capture_on_commit_callbacks
):
    response = add(seller_client, "  B00FLYWNYQ  \n", django_capture_on_commit_callbacks)

    job = Job.objects.get(user=user)
    assert (job.type, job.status) == ("add_products", "success")
    assert job.params == {"rows": [{"row": 1, "text": "B00FLYWNYQ", "supplier": "", "note": ""}], "read_now": True}
    assert response.status_code == 302 and response.url == reverse("catalog:import_detail", args=[job.pk])
    product = user.tracked_products.get()
    assert (product.supplier.name, product.asin) == ("amazon", "B00FLYWNYQ")
    assert refreshes == [product.pk]

    page = seller_client.get(response.url).content.decode()
    assert services.ADDED in page
    assert reverse("catalog:product_detail", args=[product.pk]) in page


def test_several_lines_are_added_without_reading_them_now(
    seller_client, user, refreshes, django_capture_on_commit_callbacks
):
    add(seller_client, "B00FLYWNYQ\n\nB07H57DNVV\r\nB01LW7X0JJ", django_capture_on_commit_callbacks)

    job = Job.objects.get(user=user)
    assert job.params["read_now"] is False
    assert [row["text"] for row in job.params["rows"]] == ["B00FLYWNYQ", "B07H57DNVV", "B01LW7X0JJ"]
    assert [row["row"] for row in job.params["rows"]] == [1, 2, 3]
    assert set(user.tracked_products.values_list("asin", flat=True)) == {"B00FLYWNYQ", "B07H57DNVV", "B01LW7X0JJ"}
    assert refreshes == []
    report = seller_client.get(reverse("catalog:import_detail", args=[job.pk])).content.decode()
    assert report.count(services.ADDED_READ_LATER) == 3


def test_htmx_add_gets_the_progress_fragment_and_the_new_address(
    seller_client, user, refreshes, django_capture_on_commit_callbacks
):
    response = add(seller_client, "B00FLYWNYQ", django_capture_on_commit_callbacks, **{"HX-Request": "true"})

    job = Job.objects.get(user=user)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="import-job"' in page
    assert response["HX-Push-Url"] == reverse("catalog:import_detail", args=[job.pk])


def test_a_private_address_is_refused_in_the_report(seller_client, user, django_capture_on_commit_callbacks):
    response = add(seller_client, "http://10.0.0.5/item", django_capture_on_commit_callbacks)

    job = Job.objects.get(user=user)
    row = job.result["rows"][0]
    assert row["status"] == "error" and job.result["error"] == 1
    assert not user.tracked_products.exists()
    page = seller_client.get(response.url).content.decode()
    assert "Not added" in page
    assert row["message"] in page


def test_an_empty_form_is_explained_and_starts_nothing(seller_client):
    response = seller_client.post(ADD, {"links": " \n  \n"})

    assert response.status_code == 200
    assert ADD_EMPTY in response.content.decode()
    assert not Job.objects.exists()


def test_too_many_lines_point_to_the_csv_import_and_keep_the_input(seller_client):
    text = "\n".join(f"B0{n:08d}" for n in range(ADD_MAX_LINES + 1))

    response = seller_client.post(ADD, {"links": text})

    page = response.content.decode()
    assert response.status_code == 200
    assert ADD_TOO_MANY_LINES.format(count=ADD_MAX_LINES + 1, limit=ADD_MAX_LINES) in page
    assert f"B0{ADD_MAX_LINES:08d}" in page  # the seller's lines are still in the box
    assert reverse("catalog:product_import") in page
    assert not Job.objects.exists()


def test_htmx_error_gets_only_the_form_fragment(seller_client):
    response = seller_client.post(ADD, {"links": ""}, headers={"HX-Request": "true"})

    page = response.content.decode()
    assert "<html" not in page and 'id="add-region"' in page
    assert ADD_EMPTY in page


def test_a_full_plan_refuses_with_the_limit_and_keeps_the_input(seller_client, user, settings):
    settings.TIER_PRODUCT_LIMITS = {**settings.TIER_PRODUCT_LIMITS, "free": 1}
    user.tracked_products.add(ProductFactory())

    response = seller_client.post(ADD, {"links": "B00FLYWNYQ"})

    page = response.content.decode()
    assert response.status_code == 200
    assert LIMIT_REACHED_MESSAGE.format(tier="Free", limit=1) in page
    assert "B00FLYWNYQ" in page
    assert not Job.objects.exists()


def test_lines_past_the_plan_limit_are_reported_with_the_limit(
    seller_client, user, settings, django_capture_on_commit_callbacks
):
    settings.TIER_PRODUCT_LIMITS = {**settings.TIER_PRODUCT_LIMITS, "free": 2}
    user.tracked_products.add(ProductFactory())

    response = add(seller_client, "B00FLYWNYQ\nB07H57DNVV", django_capture_on_commit_callbacks)

    rows = Job.objects.get(user=user).result["rows"]
    assert [row["status"] for row in rows] == ["added", "error"]
    page = seller_client.get(response.url).content.decode()
    assert LIMIT_REACHED_MESSAGE.format(tier="Free", limit=2) in page
    assert user.tracked_products.count() == 2


# ---- The progress and report page ---------------------------------------------------------


def test_a_running_job_shows_progress_and_polls(seller_client, user):
    rows = [{"row": n, "text": f"B0{n:08d}", "supplier": "", "note": ""} for n in range(1, 5)]
    job = JobFactory(user=user, type="add_products", status="running", params={"rows": rows}, progress_total=4)
    job.progress_done = 1
    job.save()

    url = reverse("catalog:import_detail", args=[job.pk])
    page = seller_client.get(url).content.decode()
    fragment = seller_client.get(url, headers={"HX-Request": "true", "HX-Target": "import-job"}).content.decode()

    assert "<html" in page and 'hx-trigger="every 1s"' in page
    assert '<progress value="25" max="100"' in page and "1 of 4" in page
    assert "<html" not in fragment and 'id="import-job"' in fragment and 'hx-trigger="every 1s"' in fragment


def test_a_finished_job_stops_polling_and_reports_every_row(seller_client, user):
    product = ProductFactory()
    result = {
        "added": 1,
        "tracking": 0,
        "already_tracked": 0,
        "error": 1,
        "rows": [
            {"row": 2, "text": "B00FLYWNYQ", "status": "added", "message": "Added.", "product_id": product.pk},
            {
                "row": 3,
                "text": "<script>alert(1)</script>",
                "status": "error",
                "message": "Not a link.",
                "product_id": None,
            },
        ],
    }
    job = JobFactory(user=user, type="import_csv", status="success", result=result, params={"rows": []})

    page = seller_client.get(reverse("catalog:import_detail", args=[job.pk])).content.decode()

    assert "every 1s" not in page
    assert "Added: 1" in page and "Not added: 1" in page
    assert "Not a link." in page
    assert reverse("catalog:product_detail", args=[product.pk]) in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_report_is_paginated_and_can_show_only_problems(seller_client, user):
    rows = [
        {"row": n, "text": f"line-{n}", "status": "error" if n % 10 == 0 else "added", "message": f"msg-{n}"}
        for n in range(1, 121)
    ]
    job = JobFactory(user=user, type="import_csv", status="success", result={"error": 12, "added": 108, "rows": rows})
    url = reverse("catalog:import_detail", args=[job.pk])

    first = seller_client.get(url).content.decode()
    third = seller_client.get(url, {"page": 3}, headers={"HX-Request": "true", "HX-Target": "import-report"})
    problems = seller_client.get(url, {"show": "problems"}).content.decode()

    assert "msg-50<" in first and "msg-51<" not in first
    assert "<html" not in third.content.decode() and 'id="import-report"' in third.content.decode()
    assert "msg-120<" in third.content.decode() and "msg-100<" not in third.content.decode()
    assert "msg-10<" in problems and "msg-120<" in problems and "msg-11<" not in problems


def test_another_sellers_import_is_404(seller_client, other_user):
    job = JobFactory(user=other_user, type="import_csv", status="success")

    assert seller_client.get(reverse("catalog:import_detail", args=[job.pk])).status_code == 404


def test_a_job_that_is_not_an_import_is_404_here(seller_client, user):
    job = JobFactory(user=user, type="refresh_product", status="success")

    assert seller_client.get(reverse("catalog:import_detail", args=[job.pk])).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client):
    assert client.get(ADD).status_code == 302
    assert client.post(ADD, {"links": "B00FLYWNYQ"}).status_code == 302
    assert not Product.objects.filter(asin="B00FLYWNYQ").exists()
