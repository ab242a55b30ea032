import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from monitoring.models import Job
from monitoring.records import JOB_CANCELLED_MESSAGE
from monitoring.tests.factories import AlertFactory, JobFactory
from monitoring.views import JOB_NOT_RETRYABLE

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
POLL = 'hx-trigger="every 2s"'


# ---- Dashboard ---------------------------------------------------------------------------


def test_dashboard_counts_only_the_sellers_things(seller_client, user, other_user):
    user.tracked_products.add(*ProductFactory.create_batch(3))
    other_user.tracked_products.add(ProductFactory())
    store = StoreAccountFactory(user=user)
    ListingFactory.create_batch(2, store_account=store, status="active")
    ListingFactory(store_account=store, status="paused")
    ListingFactory(store_account=StoreAccountFactory(user=other_user), status="active")
    AlertFactory(user=user, message="Kettle almost gone")
    AlertFactory(user=user, cleared_at=timezone.now())
    AlertFactory(user=other_user, message="Rival alert")
    JobFactory(user=user, type="import_csv")
    JobFactory(user=other_user, type="sync_ebay")

    response = seller_client.get(reverse("monitoring:dashboard"))

    context = response.context
    assert context["tracked_count"] == 3
    assert context["listing_total"] == 3
    counts = {value: count for value, _label, count in context["listing_counts"]}
    assert counts["active"] == 2 and counts["paused"] == 1 and counts["ended"] == 0
    assert context["open_alert_count"] == 1
    page = response.content.decode()
    assert "Kettle almost gone" in page and "Rival alert" not in page
    assert "CSV import" in page and "Sync ebay" not in page


# ---- Alerts ------------------------------------------------------------------------------


def test_alert_list_shows_open_alerts_by_default(seller_client, user, other_user):
    AlertFactory(user=user, message="Kettle almost gone")
    AlertFactory(user=user, message="Old news", cleared_at=timezone.now())
    AlertFactory(user=other_user, message="Rival alert")

    page = seller_client.get(reverse("monitoring:alert_list")).content.decode()
    everything = seller_client.get(reverse("monitoring:alert_list"), {"show": "all"}).content.decode()

    assert "Kettle almost gone" in page and "Old news" not in page and "Rival alert" not in page
    assert "Old news" in everything and "Rival alert" not in everything


def test_alert_list_htmx_gets_only_the_table(seller_client, user):
    AlertFactory(user=user, message="Kettle almost gone")

    page = seller_client.get(reverse("monitoring:alert_list"), headers=HTMX).content.decode()

    assert "<html" not in page
    assert 'id="alert-table"' in page and "Kettle almost gone" in page


def test_mark_read_over_htmx_returns_the_updated_row(seller_client, user):
    alert = AlertFactory(user=user)

    response = seller_client.post(reverse("monitoring:alert_read", args=[alert.pk]), headers=HTMX)

    page = response.content.decode()
    assert "<html" not in page
    assert page.lstrip().startswith(f'<tr id="alert-{alert.pk}"')
    assert 'class="unread"' not in page
    assert "Mark read" not in page
    alert.refresh_from_db()
    assert alert.is_read and alert.read_at is not None


def test_acknowledge_marks_read_and_keeps_the_alert_open(seller_client, user):
    alert = AlertFactory(user=user)

    response = seller_client.post(reverse("monitoring:alert_acknowledge", args=[alert.pk]))

    assert response.status_code == 302
    assert response.url == reverse("monitoring:alert_list")
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None
    assert alert.is_read
    assert alert.cleared_at is None


def test_alert_actions_need_post(seller_client, user):
    alert = AlertFactory(user=user)

    assert seller_client.get(reverse("monitoring:alert_read", args=[alert.pk])).status_code == 405
    assert seller_client.get(reverse("monitoring:alert_acknowledge", args=[alert.pk])).status_code == 405


def test_another_sellers_alert_cannot_be_touched(seller_client, other_user):
    alert = AlertFactory(user=other_user)

    assert seller_client.post(reverse("monitoring:alert_read", args=[alert.pk])).status_code == 404
    assert seller_client.post(reverse("monitoring:alert_acknowledge", args=[alert.pk])).status_code == 404
    alert.refresh_from_db()
    assert not alert.is_read and alert.acknowledged_at is None


# ---- Jobs --------------------------------------------------------------------------------


def test_job_list_shows_only_the_sellers_jobs_and_paginates(seller_client, user, other_user):
    JobFactory.create_batch(26, user=user, type="import_csv")
    JobFactory(user=other_user, type="sync_ebay")

    first = seller_client.get(reverse("monitoring:job_list"))
    second = seller_client.get(reverse("monitoring:job_list"), {"page": 2})

    assert first.context["page_obj"].paginator.count == 26
    assert len(second.context["jobs"]) == 1
    assert "Sync ebay" not in first.content.decode() + second.content.decode()


def test_job_list_filters_by_status(seller_client, user):
    JobFactory(user=user, status="failed", type="import_csv")
    JobFactory(user=user, status="success", type="sync_ebay")

    jobs = seller_client.get(reverse("monitoring:job_list"), {"status": "failed"}).context["jobs"]

    assert [job.status for job in jobs] == ["failed"]


def test_running_job_row_polls_and_a_finished_one_does_not(seller_client, user):
    running = JobFactory(user=user, status="running", started_at=timezone.now(), progress_done=3, progress_total=10)
    done = JobFactory(user=user, status="success", result={"imported": 7})

    page = seller_client.get(reverse("monitoring:job_list")).content.decode()
    running_row = seller_client.get(reverse("monitoring:job_row", args=[running.pk]), headers=HTMX).content.decode()
    done_row = seller_client.get(reverse("monitoring:job_row", args=[done.pk]), headers=HTMX).content.decode()

    assert page.count(POLL) == 1
    assert POLL in running_row and "3 / 10" in running_row and 'value="30"' in running_row
    assert POLL not in done_row and "Imported: 7" in done_row
    assert "<html" not in running_row


def test_job_detail_shows_status_progress_duration_result_and_error(seller_client, user):
    started = timezone.now() - datetime.timedelta(minutes=2, seconds=5)
    job = JobFactory(
        user=user,
        status="failed",
        started_at=started,
        completed_at=started + datetime.timedelta(minutes=1, seconds=30),
        progress_done=4,
        progress_total=8,
        result={"imported": 4, "skipped": ["B0X", "B0Y"]},
        error_message="SupplierBlocked: captcha page",
        task_name="catalog.tasks.import_csv",
    )

    response = seller_client.get(reverse("monitoring:job_detail", args=[job.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Failed" in page
    assert "4 of 8 done (50%)" in page
    assert "1m 30s" in page
    assert "Imported" in page and "B0X" in page
    assert "SupplierBlocked: captcha page" in page
    assert POLL not in page
    assert reverse("monitoring:job_retry", args=[job.pk]) in page
    assert reverse("monitoring:job_cancel", args=[job.pk]) not in page


def test_job_detail_htmx_gets_only_the_card_which_polls_while_unfinished(seller_client, user):
    job = JobFactory(user=user, status="pending")

    full = seller_client.get(reverse("monitoring:job_detail", args=[job.pk])).content.decode()
    card = seller_client.get(reverse("monitoring:job_detail", args=[job.pk]), headers=HTMX).content.decode()

    assert "<html" in full
    assert "<html" not in card
    assert card.lstrip().startswith('<article id="job-card"')
    assert POLL in card


def test_cancel_a_running_job(seller_client, user):
    job = JobFactory(user=user, status="running", started_at=timezone.now())

    response = seller_client.post(reverse("monitoring:job_cancel", args=[job.pk]), follow=True)

    job.refresh_from_db()
    assert job.status == "cancelled"
    assert job.error_message == JOB_CANCELLED_MESSAGE
    assert response.redirect_chain[-1][0] == job.get_absolute_url()
    assert "Job cancelled." in response.content.decode()


def test_cancel_over_htmx_returns_the_row_that_stops_polling(seller_client, user):
    job = JobFactory(user=user, status="pending")

    response = seller_client.post(reverse("monitoring:job_cancel", args=[job.pk]), {"fragment": "row"}, headers=HTMX)

    page = response.content.decode()
    assert page.lstrip().startswith(f'<tr id="job-{job.pk}"')
    assert POLL not in page
    assert "Cancelled" in page


def test_cancel_a_finished_job_changes_nothing(seller_client, user):
    job = JobFactory(user=user, status="success")

    seller_client.post(reverse("monitoring:job_cancel", args=[job.pk]))

    job.refresh_from_db()
    assert job.status == "success"


def test_retry_a_failed_job_starts_a_linked_job(seller_client, user, django_capture_on_commit_callbacks):
    job = JobFactory(user=user, status="failed", task_name="catalog.tasks.import_csv", params={"rows": 3})

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = seller_client.post(reverse("monitoring:job_retry", args=[job.pk]))

    new_job = Job.objects.get(retry_of=job)
    assert (new_job.user, new_job.type, new_job.params, new_job.status) == (user, job.type, {"rows": 3}, "pending")
    assert response.url == new_job.get_absolute_url()
    assert len(callbacks) == 1  # the task is sent once the retry is committed


def test_retry_is_refused_for_a_job_still_running(seller_client, user):
    job = JobFactory(user=user, status="running", task_name="catalog.tasks.import_csv")

    response = seller_client.post(reverse("monitoring:job_retry", args=[job.pk]), follow=True)

    assert not Job.objects.filter(retry_of=job).exists()
    assert JOB_NOT_RETRYABLE in response.content.decode()


def test_another_sellers_job_is_hidden_and_cannot_be_cancelled_or_retried(seller_client, other_user):
    running = JobFactory(user=other_user, status="running")
    failed = JobFactory(user=other_user, status="failed", task_name="catalog.tasks.import_csv")

    assert seller_client.get(reverse("monitoring:job_detail", args=[running.pk])).status_code == 404
    assert seller_client.get(reverse("monitoring:job_row", args=[running.pk])).status_code == 404
    assert seller_client.post(reverse("monitoring:job_cancel", args=[running.pk])).status_code == 404
    assert seller_client.post(reverse("monitoring:job_retry", args=[failed.pk])).status_code == 404
    running.refresh_from_db()
    assert running.status == "running"
    assert not Job.objects.filter(retry_of=failed).exists()


def test_system_jobs_are_not_shown_to_sellers(seller_client):
    job = JobFactory(user=None, type="jobs_sweep")

    assert seller_client.get(reverse("monitoring:job_detail", args=[job.pk])).status_code == 404
