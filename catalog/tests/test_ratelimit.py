import threading
import time
import uuid

import pytest

from catalog import ratelimit
from catalog.models import RateLimitState
from conftest import skip_or_fail

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_backend(settings):
    """Point the limiter at Redis (REDIS_URL, else the local db 5); skip (or fail under CI) without one."""
    import os

    import redis

    url = settings.REDIS_URL or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis is not reachable at {url}: {exc}")
    settings.REDIS_URL = url
    settings.SCRAPER_RATE_LIMIT_BACKEND = "redis"
    return url


@pytest.fixture
def db_backend(settings):
    settings.SCRAPER_RATE_LIMIT_BACKEND = "db"


def unique_name():
    return f"test-{uuid.uuid4().hex[:12]}"


def _sequential_acquisitions_are_spaced(settings):
    settings.SCRAPER_RATE_JITTER = 0.0
    rate = 3000  # 20 ms apart
    name = unique_name()
    started = time.monotonic()
    for _ in range(15):
        ratelimit.acquire(name, rate)
    elapsed = time.monotonic() - started
    expected = 14 * ratelimit.spacing(rate) * (1 + settings.SCRAPER_RATE_MARGIN)
    assert elapsed >= expected - 0.005
    assert elapsed < expected + 1.5  # scheduled, not stuck


def test_db_backend_spaces_sequential_acquisitions(db_backend, settings):
    _sequential_acquisitions_are_spaced(settings)
    assert RateLimitState.objects.filter(key__startswith=ratelimit.KEY_PREFIX).count() == 1


def test_redis_backend_spaces_sequential_acquisitions(redis_backend, settings):
    _sequential_acquisitions_are_spaced(settings)


def _reservations_are_spread(backend):
    rate = 600  # 100 ms apart
    key = unique_name()
    # Each slot as a point in time (a slow claim on a busy machine shortens the next wait, not the gap).
    slots = [time.monotonic() + ratelimit.reserve(key, rate, backend=backend) for _ in range(5)]
    gaps = [later - earlier for earlier, later in zip(slots, slots[1:], strict=False)]
    # Claimed back to back, the slots still come one spacing (or a little more) apart.
    assert all(gap >= 0.1 - 0.01 for gap in gaps), gaps
    assert all(gap <= 0.1 * 1.2 for gap in gaps), gaps


def test_db_reservations_are_spread_not_burst(db_backend):
    _reservations_are_spread("db")


def test_redis_reservations_are_spread_not_burst(redis_backend):
    _reservations_are_spread("redis")


def test_jitter_varies_the_spacing_but_never_shortens_it(db_backend, settings):
    settings.SCRAPER_RATE_MARGIN = 0.0
    settings.SCRAPER_RATE_JITTER = 0.5
    key = unique_name()
    waits = [ratelimit.reserve(key, 60) for _ in range(8)]  # 1 s apart
    gaps = [later - earlier for earlier, later in zip(waits, waits[1:], strict=False)]
    assert min(gaps) >= 1.0 - 0.01
    assert max(gaps) <= 1.5 + 0.01
    assert len({round(gap, 3) for gap in gaps}) > 1


def _max_wait_claims_nothing(backend):
    key = unique_name()
    assert ratelimit.reserve(key, 6, backend=backend) == pytest.approx(0, abs=0.01)  # 10 s apart
    with pytest.raises(ratelimit.RateLimitTimeout) as excinfo:
        ratelimit.reserve(key, 6, max_wait=1.0, backend=backend)
    assert excinfo.value.wait == pytest.approx(10, abs=1)
    # The refused call booked nothing: the next slot is still ~10 s away, not ~20 s.
    assert ratelimit.reserve(key, 6, backend=backend) == pytest.approx(10, abs=1)


def test_db_max_wait_refuses_without_claiming(db_backend):
    _max_wait_claims_nothing("db")


def test_redis_max_wait_refuses_without_claiming(redis_backend):
    _max_wait_claims_nothing("redis")


def _threads_share_the_limit(settings):
    rate = 3000  # 20 ms apart
    name = unique_name()
    stamps = []
    lock = threading.Lock()
    errors = []

    def worker():
        from django.db import connection

        try:
            for _ in range(6):
                ratelimit.acquire(name, rate)
                with lock:
                    stamps.append(time.monotonic())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stamps.sort()
    spacing = ratelimit.spacing(rate)
    assert len(stamps) == 24
    # 24 sends across 4 threads take at least 23 spacings: the threads did not burst.
    assert stamps[-1] - started >= 23 * spacing - 0.01
    # No five consecutive sends fit in much less than four spacings (sleep overshoot allowed).
    assert min(b - a for a, b in zip(stamps, stamps[4:], strict=False)) >= 4 * spacing - 0.03


@pytest.mark.django_db(transaction=True)
def test_db_backend_spreads_concurrent_threads(db_backend, settings):
    _threads_share_the_limit(settings)


def test_redis_backend_spreads_concurrent_threads(redis_backend, settings):
    _threads_share_the_limit(settings)


def _generous_limits_book_a_few_slots_per_claim(monkeypatch, settings):
    settings.SCRAPER_RATE_JITTER = 0.0
    claims = []
    real_claim = ratelimit._claim

    def counted(key, step, count, **kwargs):
        claims.append(count)
        return real_claim(key, step, count, **kwargs)

    monkeypatch.setattr(ratelimit, "_claim", counted)
    name = unique_name()
    stamps = []
    for _ in range(40):
        ratelimit.acquire(name, 600_000)  # 0.1 ms apart: a claim books the next 50 ms, 16 at most
        stamps.append(time.monotonic())
    assert claims[0] == ratelimit.BOOK_MAX and len(claims) <= 4
    # Never more sends than slots in any stretch of time (a booked slot may be spent a little late).
    spacing = ratelimit.spacing(600_000)
    assert all(stamps[i + 16] - stamps[i] >= 16 * spacing - ratelimit.BOOK_AHEAD for i in range(len(stamps) - 16))

    claims.clear()
    slow = unique_name()
    ratelimit.acquire(slow, 600)  # 100 ms apart: one slot a claim
    ratelimit.acquire(slow, 600)
    assert claims == [1, 1]

    claims.clear()
    ratelimit.acquire(name, 600_000)
    time.sleep(ratelimit.BOOK_AHEAD + 0.05)  # the slots booked with it are too old now: dropped
    ratelimit.acquire(name, 600_000)
    assert len(claims) == 2


def test_db_generous_limits_book_a_few_slots_per_claim(db_backend, monkeypatch, settings):
    _generous_limits_book_a_few_slots_per_claim(monkeypatch, settings)


def test_redis_generous_limits_book_a_few_slots_per_claim(redis_backend, monkeypatch, settings):
    _generous_limits_book_a_few_slots_per_claim(monkeypatch, settings)


def test_unknown_backend_is_an_error():
    with pytest.raises(ValueError):
        ratelimit.reserve("k", 10, backend="memory")


def test_rate_limit_must_be_positive():
    with pytest.raises(ValueError):
        ratelimit.spacing(0)
