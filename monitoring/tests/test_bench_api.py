"""bench_api: a small run against a live server prints its summary line (the full 10,000-listing run
is the operators' and the lead's; README, Benchmarks)."""

import io

import pytest
from django.core.management import call_command

from accounts.models import Session
from marketplaces.models import Listing
from monitoring.management.commands.bench_api import database_url


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("supplier_families")
def test_bench_api_seeds_its_listings_and_prints_the_summary_line(live_server):
    out = io.StringIO()

    call_command("bench_api", url=live_server.url, listings=12, clients=2, duration=0.5, think=0.1, stdout=out)

    lines = out.getvalue().strip().splitlines()
    assert lines[-1].startswith("api: p50 ") and lines[-1].endswith(" ms warm")
    assert "0 failed" in out.getvalue()
    assert Listing.objects.filter(user__email="loadtest1@example.com").count() == 12
    assert Session.objects.get(name="bench_api").user.tier == "enterprise"


def test_the_server_is_pointed_at_the_benchmarks_database():
    settings_dict = {"ENGINE": "django.db.backends.postgresql", "NAME": "test_x", "USER": "postgres", "HOST": "db"}
    assert database_url(settings_dict) == "postgres://postgres@db:5432/test_x"
    assert database_url({**settings_dict, "PASSWORD": "p@ss"}) == "postgres://postgres:p%40ss@db:5432/test_x"
    assert (
        database_url({"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/b.sqlite3"}) == "sqlite:////tmp/b.sqlite3"
    )
