"""The seller API's alerts, jobs and performance figures through their real URLs."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from config.tests.api_helpers import problem
from marketplaces.tests.factories import ListingFactory, MarketplaceDataFactory, StoreAccountFactory
from monitoring.models import Alert, Job
from monitoring.tests.factories import AlertFactory, JobFactory
from monitoring.views import JOB_NOT_CANCELLABLE, JOB_NOT_RETRYABLE

pytestmark = pytest.mark.django_db
ALERTS = "/api/v1/alerts/"
JOBS = "/api/v1/jobs/"


def ids(client, url, **params):
    return [row["id"] for row in client.get(url, params).json()["results"]]


def test_alerts_filter_by_unread_type_severity_and_state(seller_api, user):
    stock = AlertFactory(user=user, type="low_stock", severity="critical")
    margin = AlertFactory(user=user, type="low_margin", severity="warning", is_read=True)
    cleared = AlertFactory(user=user, type="low_stock", severity="info", cleared_at=timezone.now())
    AlertFactory()  # another seller's

    assert set(ids(seller_api, ALERTS)) == {stock.pk, margin.pk, cleared.pk}
    assert set(ids(seller_api, ALERTS, unread="true")) == {stock.pk, cleared.pk}
    assert ids(seller_api, ALERTS, unread="false") == [margin.pk]
    assert set(ids(seller_api, ALERTS, type="low_stock")) == {stock.pk, cleared.pk}
    assert ids(seller_api, ALERTS, severity="critical") == [stock.pk]
    assert set(ids(seller_api, ALERTS, state="open")) == {stock.pk, margin.pk}
    assert problem(seller_api.get(ALERTS, {"severity": "loud"}))["errors"][0]["parameter"] == "severity"


def test_an_alert_is_marked_read_then_acknowledged(seller_api, user):
    alert = AlertFactory(user=user)

    read = seller_api.post(f"{ALERTS}{alert.pk}/read/").json()
    assert read["is_read"] is True and read["read_at"] and read["acknowledged_at"] is None
    acknowledged = seller_api.post(f"{ALERTS}{alert.pk}/acknowledge/").json()
    assert acknowledged["acknowledged_at"] and acknowledged["cleared_at"] is None


def test_many_alerts_at_once_and_all_must_be_the_sellers(seller_api, user):
    first, second = AlertFactory(user=user), AlertFactory(user=user, is_read=True)
    theirs = AlertFactory()

    assert seller_api.post(f"{ALERTS}read/", {"ids": [first.pk, second.pk]}).json() == {"updated": 1}
    assert seller_api.post(f"{ALERTS}acknowledge/", {"ids": [first.pk, second.pk]}).json() == {"updated": 2}
    refused = seller_api.post(f"{ALERTS}acknowledge/", {"ids": [first.pk, theirs.pk]})
    assert refused.status_code == 404 and str(theirs.pk) in problem(refused)["detail"]
    assert Alert.objects.get(pk=theirs.pk).acknowledged_at is None


def test_jobs_are_listed_newest_first_filtered_and_shown_with_their_result(seller_api, user):
    old = JobFactory(user=user, status="success", result={"added": 3})
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    new = JobFactory(user=user, status="failed", error_message="The broker said no.")
    JobFactory()  # another seller's

    assert ids(seller_api, JOBS) == [new.pk, old.pk]
    assert ids(seller_api, JOBS, status="success") == [old.pk]
    row = seller_api.get(JOBS).json()["results"][0]
    assert "result" not in row and row["error_message"] == "The broker said no."
    assert seller_api.get(f"{JOBS}{old.pk}/").json()["result"] == {"added": 3}


def test_a_job_is_cancelled_once(seller_api, user):
    job = JobFactory(user=user, status="running")

    assert seller_api.post(f"{JOBS}{job.pk}/cancel/").json()["status"] == "cancelled"
    again = seller_api.post(f"{JOBS}{job.pk}/cancel/")
    assert again.status_code == 409 and problem(again)["detail"] == JOB_NOT_CANCELLABLE


def test_a_failed_job_is_retried_as_a_new_linked_job(seller_api, user):
    job = JobFactory(user=user, status="failed", task_name="monitoring.tasks.tracking_cycle_task")

    response = seller_api.post(f"{JOBS}{job.pk}/retry/")

    assert response.status_code == 202
    retry = Job.objects.get(pk=response.json()["id"])
    assert retry.retry_of == job and response["Location"] == f"{JOBS}{retry.pk}/"
    running = JobFactory(user=user, status="running", task_name="x")
    refused = seller_api.post(f"{JOBS}{running.pk}/retry/")
    assert refused.status_code == 409 and problem(refused)["detail"] == JOB_NOT_RETRYABLE


def test_daily_rows_for_one_listing_over_a_date_range(seller_api, user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user))
    days = [MarketplaceDataFactory(listing=listing, date=date(2026, 3, n)) for n in (1, 2, 3, 4)]
    MarketplaceDataFactory(listing=ListingFactory(store_account=StoreAccountFactory(user=user)), date=date(2026, 3, 2))

    rows = seller_api.get(
        "/api/v1/performance/daily/", {"listing": listing.pk, "start": "2026-03-02", "end": "2026-03-03"}
    ).json()["results"]

    assert [row["id"] for row in rows] == [days[2].pk, days[1].pk]
    assert rows[0]["views"] == 40 and rows[0]["profit"] == "11.45"
    reversed_range = seller_api.get("/api/v1/performance/daily/", {"start": "2026-03-05", "end": "2026-03-01"})
    assert problem(reversed_range)["errors"][0]["parameter"] == "start"


def test_the_dashboard_figures_for_a_period_and_as_csv(seller_api, user):
    listing = ListingFactory(store_account=StoreAccountFactory(user=user, currency="USD"))
    yesterday = timezone.localdate() - timedelta(days=1)
    MarketplaceDataFactory(listing=listing, date=yesterday, revenue=Decimal("100.00"), profit=Decimal("25.00"))

    body = seller_api.get("/api/v1/performance/summary/", {"period": "7"}).json()

    assert body["period"] == {
        "start": (yesterday - timedelta(days=6)).isoformat(),
        "end": yesterday.isoformat(),
        "granularity": "daily",
    }
    metrics = {metric["name"]: metric for metric in body["metrics"]}
    assert metrics["revenue"]["current"] == "100.00" and metrics["profit"]["current"] == "25.00"
    assert body["currency"] == "USD" and len(body["series"]) == 7
    assert body["top_listings"][0]["id"] == listing.pk

    csv = seller_api.get("/api/v1/performance/summary/", {"period": "7"}, HTTP_ACCEPT="text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0] == "from,to,revenue,profit,margin_percent,units_sold,currency,not_converted"
    assert len(lines) == 8 and lines[-1].startswith(f"{yesterday},{yesterday},100.00,25.00")


def test_a_bad_period_is_a_400_naming_it(seller_api):
    body = problem(seller_api.get("/api/v1/performance/summary/", {"period": "custom", "start": "2026-01-05"}))

    assert body["detail"] == "Give both a start and an end date."
