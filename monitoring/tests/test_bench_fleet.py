"""bench_fleet refuses what it cannot measure (a full run starts real workers: README, Benchmarks)."""

import pytest
from django.core.management import CommandError, call_command

from monitoring.management.commands.bench_fleet import NEEDS_SERVICES


def test_the_fleet_benchmark_needs_postgresql_and_redis(settings):
    settings.REDIS_URL = ""

    with pytest.raises(CommandError) as refused:
        call_command("bench_fleet")

    assert str(refused.value) == NEEDS_SERVICES


@pytest.mark.parametrize("args", [["--processes", "0"], ["--processes", "one"], ["--changed", "2"]])
def test_the_fleet_benchmark_refuses_bad_options_with_one_line(args):
    with pytest.raises(CommandError) as refused:
        call_command("bench_fleet", *args)

    assert "\n" not in str(refused.value) and "--" in str(refused.value)
