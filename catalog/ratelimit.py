"""Per-supplier rate limits that hold across every worker process and machine.

A GCRA-style scheduler: each key (one per supplier) keeps the time of its next free send slot.
`acquire()` atomically claims the next slot — now, or the stored time if that is later — moves
the stored time on by one spacing (60 / rate_limit seconds, stretched by a small margin and a
random jitter), then sleeps until its slot. Concurrent callers therefore get distinct slots
spread evenly over time instead of a burst, and any 60-second window sees at most `rate_limit`
sends. The state lives in Redis (one Lua script call per claim, Redis's own clock) when
`SCRAPER_RATE_LIMIT_BACKEND` is "redis", else in the database table `catalog_rate_limit_state`
(one locked row update per claim).

When slots are a few milliseconds apart or less (a limit of about 19,000 a minute and more), one
claim books several of them for this process: a round trip to Redis per slot would cost more
than the requests it spaces. A booked slot is spent at most BOOK_AHEAD seconds late or dropped;
the limit's margin (SCRAPER_RATE_MARGIN: 1% of a minute is 0.6 s) covers that, so no minute
gets extra sends, and a slower limit is claimed one slot at a time, as evenly spaced as ever.

Usage: `acquire(supplier.name, supplier.rate_limit)` right before each request to the site.
"""

import collections
import functools
import random
import threading
import time

import redis
from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F

KEY_PREFIX = "ratelimit:supplier:"
# When BOOK_MAX slots fit in BOOK_AHEAD seconds, one claim books BOOK_MAX of them; a booked slot
# is good until BOOK_AHEAD seconds after its time.
BOOK_AHEAD, BOOK_MAX = 0.05, 16
RATE_LIMIT_WAIT_TOO_LONG = "The next free slot for {key} is {wait:.0f} s away (more than {max_wait:.0f} s)"


class RateLimitTimeout(Exception):
    """The next free slot is further away than the caller is willing to wait; nothing was claimed."""

    def __init__(self, key: str, wait: float, max_wait: float):
        self.key = key
        self.wait = wait
        super().__init__(RATE_LIMIT_WAIT_TOO_LONG.format(key=key, wait=wait, max_wait=max_wait))


def spacing(rate_limit: float) -> float:
    """Seconds between two sends at `rate_limit` requests per minute (before margin and jitter)."""
    if rate_limit <= 0:
        raise ValueError("rate_limit must be positive")
    return 60.0 / rate_limit


def _step(rate_limit: float) -> float:
    # Never shorter than one spacing, so no window can hold more than the limit; the random
    # part keeps the sends from looking machine-regular.
    margin = settings.SCRAPER_RATE_MARGIN
    jitter = settings.SCRAPER_RATE_JITTER
    return spacing(rate_limit) * (1.0 + margin + random.uniform(0.0, jitter))


def reserve(key: str, rate_limit: float, *, max_wait: float | None = None, backend: str | None = None) -> float:
    """Claim the next send slot for `key`; return how many seconds from now it is (0 = now).

    Raises RateLimitTimeout (claiming nothing) when the slot is more than `max_wait` away.
    """
    return _claim(key, _step(rate_limit), 1, max_wait=max_wait, backend=backend)


def _claim(key: str, step: float, count: int, *, max_wait: float | None, backend: str | None) -> float:
    """Claim `count` consecutive slots `step` apart; the seconds until the first."""
    backend = backend or settings.SCRAPER_RATE_LIMIT_BACKEND
    if backend == "redis":
        return _reserve_redis(key, step * count, max_wait)
    if backend == "db":
        return _reserve_db(key, step * count, max_wait)
    raise ValueError(f"Unknown rate limit backend {backend!r}")


_booked: dict[str, collections.deque] = collections.defaultdict(collections.deque)
_booked_lock = threading.Lock()


def _booked_slot(key: str) -> float | None:
    """A slot (monotonic time) this process booked for the key and can still use, else None."""
    oldest = time.monotonic() - BOOK_AHEAD
    with _booked_lock:
        slots = _booked[key]
        while slots:
            slot = slots.popleft()
            if slot >= oldest:
                return slot
    return None


def acquire(
    supplier_name: str, rate_limit: float, *, max_wait: float | None = None, backend: str | None = None
) -> float:
    """Block until the supplier's next send slot; return the seconds waited.

    Safe across threads, processes and machines sharing the backend. Raises RateLimitTimeout
    when the slot is more than `max_wait` seconds away (settings.SCRAPER_RATE_MAX_WAIT if None).
    """
    if max_wait is None:
        max_wait = settings.SCRAPER_RATE_MAX_WAIT
    key = KEY_PREFIX + supplier_name
    slot = _booked_slot(key)
    if slot is None:
        step = _step(rate_limit)
        count = BOOK_MAX if step * BOOK_MAX <= BOOK_AHEAD else 1
        wait = _claim(key, step, count, max_wait=max_wait, backend=backend)
        slot = time.monotonic() + wait  # from when the claim answered: never early
        if count > 1:
            with _booked_lock:
                _booked[key].extend(slot + step * i for i in range(1, count))
    wait = slot - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    return max(wait, 0.0)


# --- Redis --------------------------------------------------------------------------------

# KEYS[1] = key; ARGV[1] = step seconds; ARGV[2] = max wait seconds (negative = no limit).
# Returns {claimed (1/0), wait seconds as a string}. Uses the server clock, so every machine agrees.
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now)
local wait = start - now
local max_wait = tonumber(ARGV[2])
if max_wait >= 0 and wait > max_wait then
  return {0, string.format('%.6f', wait)}
end
local nxt = start + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.6f', nxt), 'PX', math.ceil((nxt - now) * 1000) + 60000)
return {1, string.format('%.6f', wait)}
"""


@functools.lru_cache(maxsize=4)
def _redis_client(url: str):
    return redis.Redis.from_url(url)


@functools.lru_cache(maxsize=4)
def _redis_script(url: str):
    return _redis_client(url).register_script(_RESERVE_LUA)


def redis_client():
    """The Redis connection the limiter uses (settings.REDIS_URL)."""
    return _redis_client(settings.REDIS_URL)


def _reserve_redis(key: str, step: float, max_wait: float | None) -> float:
    script = _redis_script(settings.REDIS_URL)
    claimed, wait = script(keys=[key], args=[repr(step), -1 if max_wait is None else repr(float(max_wait))])
    wait = float(wait)
    if not int(claimed):
        raise RateLimitTimeout(key, wait, max_wait)
    return max(wait, 0.0)


# --- Database -----------------------------------------------------------------------------

_DB_LOCK_RETRIES = 50


def _reserve_db(key: str, step: float, max_wait: float | None) -> float:
    from catalog.models import RateLimitState

    for attempt in range(_DB_LOCK_RETRIES):
        try:
            with transaction.atomic():
                # Take the row lock (PostgreSQL) / the write lock (SQLite) before reading the
                # clock, so the claim is computed from a current "now" and no one else's.
                locked = RateLimitState.objects.filter(key=key).update(next_at=F("next_at"))
                if not locked:
                    with transaction.atomic():
                        RateLimitState.objects.create(key=key, next_at=0.0)
                now = time.time()
                stored = RateLimitState.objects.filter(key=key).values_list("next_at", flat=True).get()
                start = max(stored, now)
                wait = start - now
                if max_wait is not None and wait > max_wait:
                    raise RateLimitTimeout(key, wait, max_wait)
                RateLimitState.objects.filter(key=key).update(next_at=start + step)
                return wait
        except IntegrityError:
            continue  # another process created the row first: claim again
        except OperationalError as exc:
            # SQLite reports a held write lock instead of waiting in some modes: try again shortly.
            if "locked" not in str(exc).lower() or attempt == _DB_LOCK_RETRIES - 1:
                raise
            time.sleep(random.uniform(0.001, 0.01))
    raise RuntimeError("unreachable")  # pragma: no cover
