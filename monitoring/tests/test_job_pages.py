"""The job pages read like a product: results in words (never JSON), large results a page at a
time, an import linked to its report, "Done with problems" instead of a green success, Retry
where it can help, a cancelled job not shown as an error, sortable columns, types in words."""

import pytest
from django.urls import reverse

from catalog.tests.factories import ProductFactory
from monitoring.cycle import round_result
from monitoring.job_results import DONE_WITH_PROBLEMS
from monitoring.models import job_type_label
from monitoring.tests.factories import JobFactory

pytestmark = pytest.mark.django_db


def _outcome(product_id, status="unchanged", **fields):
    return {"product_id": product_id, "status": status, "price_changed": False, "stock_changed": False, **fields}


def _detail(client, job, **params) -> str:
    return client.get(reverse("monitoring:job_detail", args=[job.pk]), params).content.decode()


def test_a_refresh_round_reads_in_words_with_its_failures_and_every_outcome_a_page_at_a_time(seller_client, user):
    products = [ProductFactory(title=f"Lamp {n}") for n in range(120)]
    user.tracked_products.add(*products)
    outcomes = [_outcome(p.pk) for p in products[1:]]
    outcomes.insert(
        0, _outcome(products[0].pk, "updated", price_changed=True, old_price="10.00", new_price="8.00", currency="USD")
    )
    failure = {
        "product_id": products[5].pk,
        "product": "Lamp 5",
        "status": "blocked",
        "label": "blocked by the supplier",
        "reason": "HTTP 503 three times",
    }
    outcomes[5] = _outcome(products[5].pk, "blocked", message="HTTP 503 three times")
    result = round_result(
        products=120, counts={"updated": 1, "unchanged": 118, "blocked": 1}, failures=[failure], outcomes=outcomes
    )
    job = JobFactory(user=user, type="refresh_product", status="success", result=result)

    page = _detail(seller_client, job)

    assert "120 products: 1 blocked by the supplier, 118 unchanged, 1 updated." in page
    assert "Blocked by the supplier" in page and "HTTP 503 three times" in page
    assert f'href="{products[5].get_absolute_url()}"' in page
    assert "price 10.00 → 8.00 USD" in page and "Lamp 0" in page
    assert "Page 1 of 3" in page and "Lamp 60" not in page
    assert "Lamp 110" in _detail(seller_client, job, page=3)
    assert '"counts":' not in page and "{&quot;" not in page and "{'" not in page  # no JSON, no dict
    assert DONE_WITH_PROBLEMS in page  # a product could not be read


def test_an_import_whose_every_line_was_refused_is_done_with_problems_and_links_its_report(seller_client, user):
    rows = [{"row": n, "text": f"bad-{n}", "status": "error", "message": "Not a product link."} for n in range(2, 3046)]
    job = JobFactory(
        user=user, type="import_csv", status="success", result={"added": 0, "error": len(rows), "rows": rows}
    )

    page = _detail(seller_client, job)
    listed = seller_client.get(reverse("monitoring:job_list")).content.decode()

    assert "3044 rows: 3044 refused." in page and "3044 rows: 3044 refused." in listed
    assert DONE_WITH_PROBLEMS in page and DONE_WITH_PROBLEMS in listed
    assert "badge-success" not in page
    assert reverse("catalog:import_detail", args=[job.pk]) in page
    assert "bad-17" not in page and len(page) < 30_000  # the rows are on the report, a page at a time


def test_an_import_that_added_everything_is_a_success(seller_client, user):
    job = JobFactory(user=user, type="add_products", status="success", result={"added": 1, "error": 0, "rows": []})

    page = _detail(seller_client, job)

    assert "1 line: 1 added." in page and "Success" in page and DONE_WITH_PROBLEMS not in page


def test_publishing_with_refusals_names_each_listing_and_why(seller_client, user):
    result = {"published": [1, 2], "failed": {"7": "Category 20625 needs a brand."}, "blocked": {}, "missing": []}
    job = JobFactory(user=user, type="publish_listings", status="success", result=result)

    page = _detail(seller_client, job)

    assert "3 listings: 2 published, 1 refused." in page
    assert "Category 20625 needs a brand." in page and reverse("marketplaces:listing_detail", args=[7]) in page
    assert DONE_WITH_PROBLEMS in page


def test_any_other_result_is_labelled_values_never_json(seller_client, user):
    job = JobFactory(user=user, status="success", result={"imports": [{"day": "2026-01-02", "sales": 3}], "rows": 2})

    page = _detail(seller_client, job)

    assert "Imports" in page and "Day: 2026-01-02; Sales: 3" in page and "Rows" in page
    assert "[{" not in page


def test_a_cancelled_job_is_not_shown_as_an_error(seller_client, user):
    job = JobFactory(user=user, status="cancelled", error_message="Cancelled by the user.")

    page = _detail(seller_client, job)

    assert "<h3>Cancelled</h3>" in page and "<h3>Error</h3>" not in page
    assert 'class="error' not in seller_client.get(reverse("monitoring:job_list")).content.decode()


def test_a_failed_job_that_can_be_retried_has_a_retry_button_in_the_list_and_on_its_page(seller_client, user):
    retryable = JobFactory(user=user, status="failed", task_name="catalog.tasks.products_import_task")
    picture = JobFactory(user=user, status="failed", task_name="")

    listed = seller_client.get(reverse("monitoring:job_list")).content.decode()

    assert reverse("monitoring:job_retry", args=[retryable.pk]) in listed
    assert reverse("monitoring:job_retry", args=[retryable.pk]) in _detail(seller_client, retryable)
    assert reverse("monitoring:job_retry", args=[picture.pk]) not in listed


def test_jobs_sort_by_kind_and_by_status(seller_client, user):
    JobFactory(user=user, type="sync_ebay", status="success")
    JobFactory(user=user, type="add_products", status="failed")

    by_type = seller_client.get(reverse("monitoring:job_list"), {"ordering": "type"}).content.decode()
    by_status = seller_client.get(reverse("monitoring:job_list"), {"ordering": "-status"}).content.decode()

    assert by_type.index("Adding products") < by_type.index("eBay sync")
    assert by_status.index("eBay sync") < by_status.index("Adding products")  # success after failed, reversed
    assert 'aria-sort="descending"' in by_status


@pytest.mark.parametrize(
    ("job_type", "words"),
    [("sync_ebay", "eBay sync"), ("import_csv", "CSV import"), ("bulk_relist_etsy", "Bulk relist Etsy")],
)
def test_job_kinds_read_as_words(job_type, words):
    assert job_type_label(job_type) == words
