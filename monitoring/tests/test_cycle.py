"""The tracking cycle and `manage.py track`, against real saved pages served on 127.0.0.1."""

import os
import time
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from accounts.tests.factories import UserFactory
from catalog import refreshing
from catalog.models import PriceHistory, Product, Supplier
from catalog.tests.factories import ProductFactory, SupplierFactory
from catalog.tests.fetch_servers import (  # noqa: F401 - fixtures
    CAPTCHA_PAGE,
    Reply,
    fetch_settings_fixture,
    site_fixture,
)
from conftest import shared_material
from monitoring.models import Job, JobStatus

# The round fetches in worker threads, which see only committed rows.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("supplier_families")]


@pytest.fixture
def tracked(site):
    site.routes["/dp/B00FLYWNYQ"] = Reply(body=shared_material("pages/thereyouwish/amazon.html").read_bytes())
    site.routes["/dp/CAPTCHA"] = Reply(body=CAPTCHA_PAGE)
    supplier = SupplierFactory(
        name="amazon-local", family=Supplier.objects.get(name="amazon"), base_url=site.url("/"), rate_limit=60000
    )
    seller = UserFactory(tier="pro")
    good = ProductFactory(supplier=supplier, asin="B00FLYWNYQ", url=site.url("/dp/B00FLYWNYQ"), price=Decimal("95"))
    blocked = ProductFactory(supplier=supplier, asin="CAPTCHA0001", url=site.url("/dp/CAPTCHA"), price=Decimal("5"))
    seller.tracked_products.add(good, blocked)
    return good, blocked


def test_track_refreshes_what_is_due_and_records_a_job(tracked):
    good, blocked = tracked
    call_command("track")

    job = Job.objects.get(type="track_products")
    assert job.status == JobStatus.SUCCESS
    assert job.result["counts"] == {"updated": 1, "blocked": 1}
    assert (job.progress_done, job.progress_total) == (2, 2)
    good.refresh_from_db()
    blocked.refresh_from_db()
    assert good.price == Decimal("99.95") and not good.follow_pending
    assert blocked.price == Decimal("5") and blocked.failure_count == 1


def test_a_slow_page_does_not_hold_back_the_readings_already_in(site, tracked, monkeypatch):
    good, blocked = tracked
    site.routes["/dp/SLOW000001"] = Reply(body=site.routes["/dp/B00FLYWNYQ"].body, delay=1.5)
    slow = ProductFactory(supplier=_amazon_site(site, "slow"), asin="B00FLYWNYQ", url=site.url("/dp/SLOW000001"))
    monkeypatch.setattr(refreshing, "APPLY_WAIT", 0.1)
    written = {}
    started = time.monotonic()

    outcomes = refreshing.products_refresh(
        [good, blocked, slow],
        concurrency=3,
        on_outcome=lambda product, outcome: written.setdefault(product.pk, time.monotonic() - started),
    )

    assert sorted(outcome.status for outcome in outcomes) == ["blocked", "updated", "updated"]
    assert written[good.pk] < 1.0 < written[slow.pk]  # written while the slow page was still coming


def _amazon_site(site, name):
    """Another Amazon site row on the local server: the same item (same ASIN) is one product per site."""
    amazon = Supplier.objects.get(name="amazon")
    return SupplierFactory(name=f"amazon-local-{name}", family=amazon, base_url=site.url("/"), rate_limit=60000)


def _site_products(site, tracked, count, *, delay):
    good, _ = tracked
    site.routes["/dp/SAME"] = Reply(body=site.routes["/dp/B00FLYWNYQ"].body, delay=delay)
    return [
        ProductFactory(
            supplier=_amazon_site(site, i), asin="B00FLYWNYQ", url=site.url(f"/dp/SAME?n={i}"), price=good.price
        )
        for i in range(count)
    ]


def test_reading_threads_are_added_while_the_site_keeps_them_waiting(site, tracked, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # two threads to start with, whatever the machine
    products = _site_products(site, tracked, 12, delay=1.0)
    started = time.monotonic()
    outcomes = refreshing.products_refresh(products, concurrency=12)
    assert [outcome.status for outcome in outcomes].count("updated") == 12
    # Two threads alone would wait 6 × 1 s; grown threads overlap the waits (≈ 2–2.5 s here), with
    # seconds to spare for a slow machine's CPU.
    assert time.monotonic() - started < 4.0
    assert len({seen.client for seen in site.seen}) > 2  # one connection a thread


def test_fast_pages_are_read_by_a_thread_per_cpu(site, tracked, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    # Pages that come back within GROW_AFTER of each other add no thread. The wait is lengthened so
    # that a busy machine's slow first reading (a cold connection, another test process on the CPU)
    # does not count as a slow site: growth itself is the test above.
    monkeypatch.setattr(refreshing, "GROW_AFTER", 2.0)
    products = _site_products(site, tracked, 12, delay=0.0)
    outcomes = refreshing.products_refresh(products, concurrency=12)
    assert [outcome.status for outcome in outcomes].count("updated") == 12
    assert len({seen.client for seen in site.seen}) <= 2  # one connection a thread


def test_a_second_round_does_nothing_twice(tracked):
    call_command("track")
    call_command("track")
    assert PriceHistory.objects.count() == 1
    assert Job.objects.filter(type="track_products").order_by("pk").last().result["products"] == 0


def test_a_product_left_half_done_by_a_stopped_worker_is_followed_up(tracked):
    good, _ = tracked
    Product.objects.filter(pk=good.pk).update(last_scraped_at="2099-01-01T00:00Z", follow_pending=True)
    call_command("track", product=None)
    good.refresh_from_db()
    assert not good.follow_pending


def test_track_given_products_only(tracked):
    good, blocked = tracked
    call_command("track", "--product", str(good.pk))
    assert Job.objects.get().result["products"] == 1
    blocked.refresh_from_db()
    assert blocked.failure_count == 0


def test_track_refuses_an_unknown_product():
    with pytest.raises(CommandError, match="No product with id 999999"):
        call_command("track", "--product", "999999")


def test_a_scheduled_round_takes_batch_after_batch_while_products_are_due(tracked, settings):
    settings.TRACK_BATCH_SIZE = 1
    call_command("track")
    job = Job.objects.get(type="track_products")
    assert job.result["products"] == 2 and (job.progress_done, job.progress_total) == (2, 2)
