"""A tracking round resumed after its worker died, in this process (the real-worker version is
test_worker_faults): it takes back only the products still claimed for it, reads none it finished,
and its result counts the whole round; a round out of time hands its unread products on."""

import datetime
import time
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import refreshing
from catalog.models import PriceHistory, Product, Supplier
from catalog.services import products_claim, round_products_done
from catalog.tests.factories import ProductFactory, SupplierFactory
from catalog.tests.fetch_servers import Reply, fetch_settings_fixture, site_fixture  # noqa: F401 - fixtures
from marketplaces.tests.doubles import isolated_cache
from monitoring import cycle
from monitoring.cycle import TRACKING_JOB_TYPE
from monitoring.models import Job, JobStatus
from monitoring.records import CONTINUE, job_stale_after
from monitoring.tasks import tracking_cycle_task
from monitoring.tests.test_cycle_isolation import PAGE

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("supplier_families")]


@pytest.fixture
def shop(site, settings):
    isolated_cache(settings, "cycle-resume")
    return SupplierFactory(
        name="shop-resume", family=Supplier.objects.get(name="generic"), base_url=site.url("/"), rate_limit=60000
    )


@pytest.fixture
def tracked(site, shop, user):
    products = []
    for number in range(6):
        sku = f"ITEM-{number}"
        site.routes[f"/{sku}"] = Reply(body=PAGE.format(title=f"Item {sku}", sku=sku, price='"24.00"'))
        products.append(
            ProductFactory(
                supplier=shop, asin=sku, title=f"Item {sku}", url=site.url(f"/{sku}"), price=Decimal("20.00")
            )
        )
    user.tracked_products.add(*products)
    return products


def dead_round() -> Job:
    """A round whose worker died: running, its heartbeat long silent."""
    silent = timezone.now() - job_stale_after(TRACKING_JOB_TYPE) - datetime.timedelta(seconds=5)
    return Job.objects.create(
        type=TRACKING_JOB_TYPE,
        task_name=tracking_cycle_task.name,
        status=JobStatus.RUNNING,
        started_at=silent,
        heartbeat_at=silent,
        lease_token="dead-worker:1:0000",
    )


def test_a_resumed_round_reads_only_what_its_dead_worker_left_and_counts_the_whole_round(site, tracked):
    job = dead_round()
    claimed = products_claim(limit=6, job_id=job.pk)
    assert len(claimed) == 6
    # Before it died, its worker wrote two readings (claims released in the same statement).
    written_before = tracked[:2]
    Product.objects.filter(pk__in=[p.pk for p in written_before]).update(
        refresh_claimed_until=None, refresh_status="updated", last_scraped_at=timezone.now(), price=Decimal("24.00")
    )

    tracking_cycle_task.apply(args=[job.pk])

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCESS
    assert sorted(site.paths()) == sorted(f"/{p.asin}" for p in tracked[2:])  # none read twice
    assert job.result["products"] == 6 and job.result["counts"] == {"updated": 6}
    assert sorted(row["product_id"] for row in job.result["outcomes"]) == sorted(p.pk for p in tracked)
    assert (job.progress_done, job.progress_total) == (6, 6)
    assert PriceHistory.objects.filter(product__in=tracked[2:]).count() == 4


def test_a_round_never_takes_a_product_twice(site, tracked):
    job = dead_round()
    first = products_claim(limit=3, job_id=job.pk)
    Product.objects.filter(pk__in=[p.pk for p in first]).update(
        refresh_claimed_until=None, refresh_status="unchanged", retry_not_before=None
    )  # finished, and due again for all the schedule knows

    again = products_claim(limit=6, job_id=job.pk)

    assert {p.pk for p in again} == {p.pk for p in tracked} - {p.pk for p in first}


def test_a_round_out_of_time_hands_its_unread_products_on(site, tracked, monkeypatch):
    monkeypatch.setattr(cycle, "job_out_of_time", lambda job: True)
    job = Job.objects.create(type=TRACKING_JOB_TYPE, status=JobStatus.RUNNING, task_name=tracking_cycle_task.name)
    job.run_until = time.monotonic() - 1  # this delivery's time is up before it starts reading

    assert cycle.cycle_run(job=job) == CONTINUE

    assert site.paths() == []
    assert not Product.objects.filter(refresh_claimed_until__isnull=False).exists()
    assert not round_products_done(job_id=job.pk).exists()
    job.refresh_from_db()
    assert job.checkpoint["started"] and job.checkpoint["outcomes"] == []


def test_products_not_started_before_the_deadline_are_released_unread(site, tracked):
    claimed = products_claim(limit=6, job_id=4242)

    outcomes = refreshing.products_refresh(claimed, concurrency=2, deadline=time.monotonic())

    assert outcomes == [] and site.paths() == []
    assert Product.objects.filter(refresh_claimed_until__isnull=True, refresh_job_id__isnull=True).count() == 6
