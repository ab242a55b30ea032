"""What a seller's tier allows, how much of it they use, and the seller API's call counting.

The limits are settings (TIER_PRODUCT_LIMITS, TIER_STORE_LIMITS, TIER_LISTING_LIMITS,
TIER_API_RATE_LIMITS); the pages and the API enforce them through the same services, with the
same messages. API calls are counted per minute and per UTC day, in Redis (one Lua script call,
atomic across every worker) when API_RATE_LIMIT_BACKEND is "redis", else in the database
(accounts.ApiCallCount, one row per key updated under its lock) — the two backends the
scraper's limiter uses (catalog/ratelimit.py).
"""

import functools
import math
import random
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F

from .models import ApiCallCount

STORE_LIMIT_MESSAGE = "Your {tier} plan connects at most {limit} stores; disconnect one or upgrade to add more."
LISTING_LIMIT_MESSAGE = "Your {tier} plan has at most {limit} live listings; end some or upgrade to list more."
API_LIMIT_MESSAGE = "Your {tier} plan allows {limit} API calls per {window}; try again in {wait} s."
ANONYMOUS_LIMIT_MESSAGE = "Too many requests from this address: at most {limit} per {window}; try again in {wait} s."
WINDOW_SECONDS = {"minute": 60, "day": 86_400}


class TierLimitError(Exception):
    """The seller's tier allows no more of something; the message says what and what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _limit(table: dict, user):
    return table.get(user.tier)


def store_limit(user):
    return _limit(settings.TIER_STORE_LIMITS, user)


def listing_limit(user):
    return _limit(settings.TIER_LISTING_LIMITS, user)


def connected_store_count(user) -> int:
    return user.store_accounts.filter(is_connected=True).count()


def live_listing_count(user) -> int:
    return user.listings.live().count()


def store_allowed(user, *, store=None) -> None:
    """Raise TierLimitError when connecting one more store (other than `store`, already connected)
    would pass the tier's store limit."""
    limit = store_limit(user)
    if limit is None:
        return
    connected = user.store_accounts.filter(is_connected=True)
    if store is not None and store.pk:
        connected = connected.exclude(pk=store.pk)
    if connected.count() >= limit:
        raise TierLimitError(STORE_LIMIT_MESSAGE.format(tier=user.get_tier_display(), limit=limit))


def listing_allowed(user) -> None:
    """Raise TierLimitError when one more live listing would pass the tier's listing limit."""
    limit = listing_limit(user)
    if limit is not None and live_listing_count(user) >= limit:
        raise TierLimitError(LISTING_LIMIT_MESSAGE.format(tier=user.get_tier_display(), limit=limit))


@dataclass(frozen=True)
class Usage:
    """One limit of the seller's tier and how much of it is used (limit None = unlimited)."""

    name: str
    label: str
    used: int
    limit: int | None

    @property
    def at_limit(self) -> bool:
        return self.limit is not None and self.used >= self.limit


def tier_usage(user) -> list[Usage]:
    """Every limit of the seller's tier with today's usage, for the settings page and /api/v1/me/."""
    rates = api_rate_limits(user)
    return [
        Usage("tracked_products", "Tracked products", user.tracked_products.count(), user.product_limit),
        Usage("stores", "Connected stores", connected_store_count(user), store_limit(user)),
        Usage("listings", "Live listings", live_listing_count(user), listing_limit(user)),
        Usage("api_calls_today", "API calls today (UTC)", api_calls_today(user), rates["day"]),
    ]


# --- API call counting ----------------------------------------------------------------------


def api_rate_limits(user=None) -> dict:
    """{"minute": n, "day": n} for the seller's tier, or for requests without a token."""
    if user is None:
        return dict(settings.API_ANONYMOUS_RATE_LIMITS)
    return dict(settings.TIER_API_RATE_LIMITS[user.tier])


def user_key(user) -> str:
    return f"user:{user.pk}"


@dataclass(frozen=True)
class Quota:
    """The answer to one counted call: allowed or not, and what the RateLimit headers say (the
    window closest to its limit)."""

    allowed: bool
    window: str
    limit: int
    remaining: int
    reset: int  # seconds until the window named starts again

    @property
    def retry_after(self) -> int:
        return max(1, self.reset)


def _windows(now: float) -> dict:
    return {name: int(now // seconds) for name, seconds in WINDOW_SECONDS.items()}


def _quota(limits: dict, counts: dict, now: float, allowed: bool) -> Quota:
    quotas = [
        Quota(
            allowed=allowed,
            window=name,
            limit=limits[name],
            remaining=max(0, limits[name] - counts[name]),
            reset=math.ceil(seconds - now % seconds),
        )
        for name, seconds in WINDOW_SECONDS.items()
    ]
    if not allowed:  # the window that refused (both full: the one that opens last)
        return max((quota for quota in quotas if quota.remaining == 0), key=lambda quota: quota.reset)
    return min(quotas, key=lambda quota: (quota.remaining / quota.limit, quota.reset))


def api_call_count(key: str, limits: dict, *, backend: str | None = None, now: float | None = None) -> Quota:
    """Count one API call for `key` against {"minute": n, "day": n}, unless either window is full
    (a refused call is not counted). Atomic across processes and machines sharing the backend."""
    backend = backend or settings.API_RATE_LIMIT_BACKEND
    if backend == "redis":
        allowed, counts, now = _count_redis(key, limits)
    elif backend == "db":
        now = time.time() if now is None else now
        allowed, counts = _count_db(key, limits, now)
    else:
        raise ValueError(f"Unknown API rate limit backend {backend!r}")
    return _quota(limits, counts, now, allowed)


def api_calls_today(user, *, backend: str | None = None) -> int:
    """The seller's API calls counted today (UTC)."""
    backend = backend or settings.API_RATE_LIMIT_BACKEND
    key = user_key(user)
    day = _windows(time.time())["day"]
    if backend == "redis":
        try:
            value = redis_client().get(f"{settings.API_RATE_LIMIT_KEY_PREFIX}{key}:day:{day}")
        except redis.RedisError:
            return 0
        return int(value or 0)
    row = ApiCallCount.objects.filter(key=key).values_list("day", "day_count").first()
    return row[1] if row and row[0] == day else 0


# --- Redis ----------------------------------------------------------------------------------

# KEYS = minute key, day key; ARGV = minute limit, day limit, minute ttl, day ttl.
# Returns {allowed (1/0), minute count, day count, server time}; counts only an allowed call.
_COUNT_LUA = """
local minute = tonumber(redis.call('GET', KEYS[1]) or '0')
local day = tonumber(redis.call('GET', KEYS[2]) or '0')
local t = redis.call('TIME')
local now = string.format('%d.%06d', t[1], t[2])
if minute >= tonumber(ARGV[1]) or day >= tonumber(ARGV[2]) then
  return {0, minute, day, now}
end
minute = redis.call('INCR', KEYS[1])
if minute == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
day = redis.call('INCR', KEYS[2])
if day == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return {1, minute, day, now}
"""


@functools.lru_cache(maxsize=4)
def _redis_client(url: str):
    return redis.Redis.from_url(url)


@functools.lru_cache(maxsize=4)
def _redis_script(url: str):
    return _redis_client(url).register_script(_COUNT_LUA)


def redis_client():
    return _redis_client(settings.REDIS_URL)


def _count_redis(key: str, limits: dict):
    # The windows come from the client's clock for the key names and from Redis's for the reset;
    # machines' clocks agree to well under the minute that matters here.
    windows = _windows(time.time())
    keys = [f"{settings.API_RATE_LIMIT_KEY_PREFIX}{key}:{name}:{windows[name]}" for name in WINDOW_SECONDS]
    ttls = [WINDOW_SECONDS[name] + 60 for name in WINDOW_SECONDS]
    allowed, minute, day, server_now = _redis_script(settings.REDIS_URL)(
        keys=keys, args=[limits["minute"], limits["day"], *ttls]
    )
    return bool(int(allowed)), {"minute": int(minute), "day": int(day)}, float(server_now)


# --- Database -------------------------------------------------------------------------------

_DB_LOCK_RETRIES = 50


def _count_db(key: str, limits: dict, now: float):
    windows = _windows(now)
    for attempt in range(_DB_LOCK_RETRIES):
        try:
            with transaction.atomic():
                # Take the row's lock (PostgreSQL) / the write lock (SQLite) before reading it.
                if not ApiCallCount.objects.filter(key=key).update(minute_count=F("minute_count")):
                    with transaction.atomic():
                        ApiCallCount.objects.create(key=key, minute=windows["minute"], day=windows["day"])
                row = ApiCallCount.objects.get(key=key)
                minute = row.minute_count if row.minute == windows["minute"] else 0
                day = row.day_count if row.day == windows["day"] else 0
                counts = {"minute": minute, "day": day}
                if minute >= limits["minute"] or day >= limits["day"]:
                    return False, counts
                ApiCallCount.objects.filter(key=key).update(
                    minute=windows["minute"], minute_count=minute + 1, day=windows["day"], day_count=day + 1
                )
                return True, {"minute": minute + 1, "day": day + 1}
        except IntegrityError:
            continue  # another process made the row first: count again
        except OperationalError as exc:
            if "locked" not in str(exc).lower() or attempt == _DB_LOCK_RETRIES - 1:
                raise
            time.sleep(random.uniform(0.001, 0.01))
    raise RuntimeError("unreachable")  # pragma: no cover
