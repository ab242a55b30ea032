"""The Redis cache, made to degrade: while Redis is down the site runs without a cache.

Reads miss, writes are dropped and an outage is logged once (and its end once), so a cache outage
never answers a page with a 500. After a failure the cache is not tried again for a few seconds,
so a page does not wait for a connection timeout on every cache call. Locks built on `add` are
not acquired meanwhile (their callers go on after their wait), and `incr` sees no key.
"""

import logging
import threading
import time

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
CACHE_DOWN = "The cache (Redis) cannot be reached; pages are served without it until it answers again: %s"
CACHE_BACK = "The cache (Redis) answers again."
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)

# When each Redis location may be tried again (shared by every thread's cache object).
_down_until: dict[str, float] = {}
_lock = threading.Lock()


class ForgivingRedisCache(RedisCache):
    """Django's Redis cache, with an outage turned into cache misses (see the module docstring)."""

    def _location(self) -> str:
        return ",".join(self._servers)

    def _forgiving(self, name: str, default, *args, **kwargs):
        location = self._location()
        if time.monotonic() < _down_until.get(location, 0):
            return default
        try:
            result = getattr(super(), name)(*args, **kwargs)
        except UNREACHABLE as exc:
            with _lock:
                if location not in _down_until:
                    logger.warning(CACHE_DOWN, exc)
                _down_until[location] = time.monotonic() + RETRY_AFTER_SECONDS
            return default
        if location in _down_until:
            with _lock:
                if _down_until.pop(location, None) is not None:
                    logger.warning(CACHE_BACK)
        return result

    def get(self, key, default=None, version=None):
        return self._forgiving("get", default, key, default, version)

    def get_many(self, keys, version=None):
        return self._forgiving("get_many", {}, keys, version)

    def has_key(self, key, version=None):
        return self._forgiving("has_key", False, key, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._forgiving("add", False, key, value, timeout, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._forgiving("set", None, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._forgiving("set_many", list(data), data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._forgiving("touch", False, key, timeout, version)

    def delete(self, key, version=None):
        return self._forgiving("delete", False, key, version)

    def delete_many(self, keys, version=None):
        return self._forgiving("delete_many", None, keys, version)

    def incr(self, key, delta=1, version=None):
        missing = object()
        result = self._forgiving("incr", missing, key, delta, version)
        if result is missing:
            raise ValueError(f"Key '{key}' not found (the cache is unavailable).")
        return result

    def clear(self):
        return self._forgiving("clear", False)

    def ping(self) -> None:
        """Raise unless Redis answers now (for /healthz: the outage is not forgiven there)."""
        self._cache.get_client(write=True).ping()


def cache_check(alias: str = "default") -> None:
    """Raise unless the cache answers now: Redis is pinged, another backend stores and reads a key."""
    cache = caches[alias]
    if isinstance(cache, ForgivingRedisCache):
        cache.ping()
        return
    token = str(time.time())
    cache.set("healthz:cache", token, timeout=30)
    if cache.get("healthz:cache") != token:
        raise RuntimeError("the cache did not keep a value")
