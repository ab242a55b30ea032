"""Importing products from a CSV file: whole-file problems on the form, row problems in the report."""

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from catalog.forms import CSV_NO_ROWS, CSV_TOO_LARGE
from catalog.models import Product
from catalog.services import (
    CSV_CELL_TOO_LONG,
    CSV_EMPTY_ROW,
    CSV_NO_HEADER,
    CSV_NOT_TEXT,
    CSV_NOT_UTF8,
    CSV_NUL,
    CSV_QUOTE_SPANS_LINES,
    CSV_UNCLOSED_QUOTE,
    CSV_WRONG_COLUMNS,
    LIMIT_REACHED_MESSAGE,
    csv_rows_parse,
)
from catalog.tests.factories import ProductFactory
from monitoring.models import Job

pytestmark = pytest.mark.django_db
IMPORT = reverse("catalog:product_import")


def upload(content: bytes, name="products.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def post_csv(client, content: bytes, capture=None, **headers):
    if capture is None:
        return client.post(IMPORT, {"file": upload(content)}, headers=headers)
    with capture(execute=True):
        return client.post(IMPORT, {"file": upload(content)}, headers=headers)


def test_the_form_explains_the_columns_and_offers_an_example(seller_client):
    page = seller_client.get(IMPORT).content.decode()

    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page
    assert reverse("catalog:import_template") in page
    assert "20.0\xa0MB" in page


def test_the_example_file_is_one_the_import_accepts(seller_client):
    response = seller_client.get(reverse("catalog:import_template"))

    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="products-import-template.csv"' in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert lines[0] == "url,asin,supplier,note"
    rows = csv_rows_parse(response.content)
    assert [row["text"] for row in rows] == [
        "https://www.amazon.com/dp/B00FLYWNYQ",
        "B07H57DNVV",
        "B01LW7X0JJ",
        "https://shop.example.com/products/blue-kettle",
    ]
    assert rows[1]["supplier"] == "amazon.de"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"link,price\nhttps://www.amazon.com/dp/B00FLYWNYQ,10\n", CSV_WRONG_COLUMNS.format(found="link, price")),
        (b"url\nhttps://www.amazon.com/dp/B00FLYWNYQ?caf\xe9\n", CSV_NOT_UTF8.format(row=2)),
        ("url,note\nB00FLYWNYQ,café\n".encode() + b"B07H57DNVV,caf\xe9\n", CSV_NOT_UTF8.format(row=3)),
        (codecs.BOM_UTF16_LE + "asin\nB00FLYWNYQ\n".encode("utf-16-le") + b"\x00", CSV_NOT_TEXT),
        ("asin\nB00FLYWNYQ\n".encode("utf-16-le"), CSV_NUL.format(row=1)),
        (b"asin,note\nB00FLYWNYQ,ok\nB07H57DNVV,bad\x00note\n", CSV_NUL.format(row=3)),
        (
            b"asin,note\nB00FLYWNYQ,ok\nB07H57DNVV," + b"x" * 140_000 + b"\n",
            CSV_CELL_TOO_LONG.format(row=3, limit="131,072"),
        ),
        (
            b'asin,note\nB00FLYWNYQ,a\nB07H57DNVV,b\nB01LW7X0JJ,c\n"B0000001,d\nB0000002,e\n',
            CSV_UNCLOSED_QUOTE.format(row=5),
        ),
        (b'asin,note\nB00FLYWNYQ,"a\n' + b"B0000002,e\n" * 30_000, CSV_UNCLOSED_QUOTE.format(row=2)),
        (
            b'asin,note\nB00FLYWNYQ,a\n"B07H57DNVV,b\nB01LW7X0JJ",c\nB0000001,d\n',
            CSV_QUOTE_SPANS_LINES.format(row=3, end=4),
        ),
        (b"", CSV_NO_HEADER),
        (b"url,note\n", CSV_NO_ROWS),
    ],
    ids=[
        "wrong columns",
        "not utf-8",
        "mixed encodings",
        "broken utf-16",
        "utf-16 without its byte-order mark",
        "a NUL byte",
        "a cell over the csv module's limit",
        "an unclosed quote",
        "an unclosed quote past the cell limit",
        "a quote closed lines later",
        "empty",
        "header only",
    ],
)
def test_an_unusable_file_is_refused_on_the_form_naming_the_row_and_nothing_is_created(seller_client, content, message):
    response = post_csv(seller_client, content)

    assert response.status_code == 200
    assert escape(message) in response.content.decode()
    assert not Job.objects.exists()
    assert not Product.objects.exists()


def test_a_file_over_the_size_cap_is_refused(seller_client, settings):
    settings.CSV_IMPORT_MAX_BYTES = 20

    content = b"asin\nB00FLYWNYQ\nB07H57DNVV\n"

    response = post_csv(seller_client, content)

    assert len(content) == 27
    assert CSV_TOO_LARGE.format(size="27\xa0bytes", limit="20\xa0bytes") in response.content.decode()
    assert not Job.objects.exists()


def test_no_file_is_explained(seller_client):
    response = seller_client.post(IMPORT, {})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_htmx_upload_error_gets_only_the_form_fragment(seller_client):
    response = post_csv(seller_client, b"", **{"HX-Request": "true"})

    page = response.content.decode()
    assert "<html" not in page and 'id="import-region"' in page
    assert CSV_NO_HEADER in page


def test_a_good_file_with_bad_rows_tracks_the_good_rows_and_reports_the_bad(
    seller_client, user, django_capture_on_commit_callbacks
):
    content = (
        b"url,asin,supplier,note\n"
        b"https://www.amazon.com/dp/B00FLYWNYQ,,,kettle\n"
        b",B07H57DNVV,amazon.de,german one\n"
        b",,,row without a product\n"
        b"ftp://files.example.com/x,,,wrong scheme\n"
    )

    response = post_csv(seller_client, content, django_capture_on_commit_callbacks)

    job = Job.objects.get(user=user)
    assert (job.type, job.status, job.params["read_now"]) == ("import_csv", "success", False)
    assert response.status_code == 302 and response.url == reverse("catalog:import_detail", args=[job.pk])
    tracked = {(p.supplier.name, p.asin) for p in user.tracked_products.select_related("supplier")}
    assert tracked == {("amazon", "B00FLYWNYQ"), ("amazon-de", "B07H57DNVV")}
    rows = job.result["rows"]
    assert [(row["row"], row["status"]) for row in rows] == [(2, "added"), (3, "added"), (4, "error"), (5, "error")]
    assert rows[2]["message"] == CSV_EMPTY_ROW

    page = seller_client.get(response.url).content.decode()
    assert CSV_EMPTY_ROW in page
    assert rows[3]["message"] in page
    assert "german one" in page
    assert "Added: 2" in page and "Not added: 2" in page


def test_a_file_imported_over_several_deliveries_adds_each_row_once(
    seller_client, user, django_capture_on_commit_callbacks, monkeypatch
):
    from catalog import services

    monkeypatch.setattr(services, "job_out_of_time", lambda job: True)  # each delivery does one row
    content = b"asin,supplier\nB00FLYWNYQ,\nB07H57DNVV,amazon.de\nB01LW7X0JJ,\n"

    response = post_csv(seller_client, content, django_capture_on_commit_callbacks)

    job = Job.objects.get(user=user)
    assert response.status_code == 302 and job.status == "success"
    assert [(row["row"], row["status"]) for row in job.result["rows"]] == [(2, "added"), (3, "added"), (4, "added")]
    assert (job.result["added"], job.progress_done, job.progress_total, job.retry_count) == (3, 3, 3, 0)
    assert user.tracked_products.count() == 3


def test_htmx_upload_gets_the_progress_fragment(seller_client, user, django_capture_on_commit_callbacks):
    response = post_csv(
        seller_client, b"asin\nB00FLYWNYQ\n", django_capture_on_commit_callbacks, **{"HX-Request": "true"}
    )

    job = Job.objects.get(user=user)
    assert "<html" not in response.content.decode() and 'id="import-job"' in response.content.decode()
    assert response["HX-Push-Url"] == reverse("catalog:import_detail", args=[job.pk])


def test_a_full_plan_refuses_the_file_with_the_limit(seller_client, user, settings):
    settings.TIER_PRODUCT_LIMITS = {**settings.TIER_PRODUCT_LIMITS, "free": 1}
    user.tracked_products.add(ProductFactory())

    response = post_csv(seller_client, b"asin\nB00FLYWNYQ\n")

    assert LIMIT_REACHED_MESSAGE.format(tier="Free", limit=1) in response.content.decode()
    assert not Job.objects.exists()
