"""fetch_page: one supplier page through the proxy pool, within the supplier's rate limit.

Each attempt waits for the supplier's rate-limit slot, takes a proxy by health (or goes direct
when the pool has no active proxy), and sends the request (httpx, or Chromium for suppliers with
`requires_js`). Failures are told apart: could not reach the proxy → charged to the proxy and the
next attempt uses another; the transfer broke after connecting → charged to the proxy only if
another proxy then gets the page (a page failing through several proxies is the page's problem);
the site answered (404, 5xx, a ban) → the proxy did its job. Between attempts the Retry-After the
site sent is honoured, else an exponential backoff with jitter.
"""

import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from django.conf import settings
from django.db import connections

from catalog import demo_shop, netsafety, proxies, ratelimit
from catalog.fetching import browser, transport
from catalog.fetching.classify import result_from_raw
from catalog.fetching.content import request_headers
from catalog.fetching.results import (
    CONNECTION_FAILED,
    PROXY_FAILED,
    TIMED_OUT,
    Blocked,
    Fault,
    FetchError,
    FetchFailed,
    FetchResult,
    PageNotFound,
    RateLimited,
)

logger = logging.getLogger(__name__)


def fetch_page(*, url: str, supplier, avoid_proxy_ids=()) -> FetchResult:
    """Fetch one supplier page safely; return it, or raise Blocked / PageNotFound / UnsafeURL / FetchFailed.

    `supplier` is a catalog.models.Supplier: its `rate_limit` (per minute, shared by all workers),
    `requires_js` (render with Chromium) and `scraper_config["headers"]` are used. A page that
    looks blocked is never returned. `avoid_proxy_ids`: proxies not to use while others are
    active (a second reading that must come through another proxy).
    """
    netsafety.check_url(url, resolve=False)  # scheme and host now; addresses are checked per hop
    headers = request_headers(supplier, url)
    attempts = max(1, settings.SCRAPER_MAX_ATTEMPTS)
    tried: list[int] = list(avoid_proxy_ids)
    unclear: list[tuple] = []  # (proxy, error) that broke mid-transfer: charged only if another proxy succeeds
    last_error: FetchError | None = None
    direct = demo_shop.is_shop_url(url)  # the app's own demo shop on loopback: no proxy reaches it
    for attempt in range(attempts):
        proxy = None if direct else _next_proxy(tried)
        if attempt:
            fresh_proxy = proxy is not None and proxy.pk not in tried
            if not (fresh_proxy and isinstance(last_error, (Blocked, _ProxyFetchFailed))):
                time.sleep(retry_delay(attempt, last_error))
        try:
            result = _attempt(url=url, supplier=supplier, proxy=proxy, headers=headers)
        except Fault as fault:
            if proxy is None:  # pragma: no cover - faults are only raised through a proxy
                last_error = FetchFailed(CONNECTION_FAILED.format(error=fault.message), retryable=True, url=url)
                continue
            last_error = _ProxyFetchFailed(PROXY_FAILED.format(error=proxies.scrub(proxy, fault.message)), url=url)
            tried.append(proxy.pk)
            if fault.kind == Fault.PROXY:
                proxies.proxy_record_failure(proxy=proxy, error=fault.error)
            else:
                unclear.append((proxy, fault.error))
            continue
        except Blocked as exc:
            last_error = exc
            if proxy is not None:
                proxies.proxy_record_blocked(proxy=proxy)
                tried.append(proxy.pk)
            too_long = exc.retry_after is not None and exc.retry_after > settings.SCRAPER_MAX_RETRY_AFTER
            if too_long or (proxy is None and exc.retry_after is None):
                raise  # the same address asking again now would get the same answer
            continue
        except PageNotFound:
            if proxy is not None:
                proxies.proxy_record_success(proxy=proxy)
            raise
        except RateLimited:
            raise
        except FetchFailed as exc:
            last_error = exc
            if proxy is not None and getattr(exc, "answered", False):
                proxies.proxy_record_success(proxy=proxy)
            too_long = exc.retry_after is not None and exc.retry_after > settings.SCRAPER_MAX_RETRY_AFTER
            if not exc.retryable or too_long:
                raise
            continue
        if proxy is not None:
            proxies.proxy_record_success(proxy=proxy)
        for failed_proxy, error in unclear:
            if proxy is None or failed_proxy.pk != proxy.pk:
                proxies.proxy_record_failure(proxy=failed_proxy, error=error)
        return result
    raise last_error


def fetch_pages(items, *, max_workers: int = 8, on_result=None) -> list:
    """Fetch many (url, supplier) pairs concurrently in threads; each supplier's rate limit still holds.

    Returns one entry per item, in order: a FetchResult, or the exception that fetch raised.
    `on_result(index, outcome)` is called as each one finishes (for progress).
    """
    items = list(items)

    def run(index_item):
        index, (url, supplier) = index_item
        try:
            outcome = fetch_page(url=url, supplier=supplier)
        except Exception as exc:  # noqa: BLE001 - handed back to the caller with the others
            outcome = exc
        finally:
            connections.close_all()  # this thread's connections; the pool thread may not come back
        if on_result is not None:
            on_result(index, outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(items) or 1))) as pool:
        return list(pool.map(run, enumerate(items)))


class _ProxyFetchFailed(FetchFailed):
    def __init__(self, message: str, *, url: str):
        super().__init__(message, retryable=True, url=url)


def retry_delay(attempt: int, error: FetchError | None) -> float:
    """Seconds before attempt number `attempt` (1 = the first retry): Retry-After, else exponential with jitter."""
    if error is not None and error.retry_after is not None:
        return min(error.retry_after, settings.SCRAPER_MAX_RETRY_AFTER)
    ceiling = min(settings.SCRAPER_BACKOFF_MAX, settings.SCRAPER_BACKOFF_BASE * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def _next_proxy(tried: list[int]):
    proxy = proxies.proxy_choose(exclude_ids=tried)
    if proxy is None and tried:
        proxy = proxies.proxy_choose()  # every proxy had a go: the healthiest may still work
    return proxy


def _attempt(*, url: str, supplier, proxy, headers: dict) -> FetchResult:
    def wait_for_slot(_hop_url):
        try:
            ratelimit.acquire(supplier.name, supplier.rate_limit)
        except ratelimit.RateLimitTimeout as exc:
            raise RateLimited(str(exc), retry_after=exc.wait, url=url) from exc

    if supplier.requires_js:
        return browser.render(url=url, supplier=supplier, proxy=proxy, headers=headers, before_request=wait_for_slot)
    try:
        raw = transport.send(url, headers=headers, proxy=proxy, before_request=wait_for_slot)
    except httpx.HTTPError as exc:
        raise _transport_error(exc, proxy=proxy, url=url) from exc
    try:
        return result_from_raw(raw, proxy_id=proxy.pk if proxy else None)
    except FetchFailed as exc:
        exc.answered = True  # the site answered: whatever it said, the proxy worked
        raise


def _transport_error(exc: httpx.HTTPError, *, proxy, url: str) -> Exception:
    """What a transport error means: a Fault to charge a proxy, or FetchFailed when going direct."""
    detail = proxies.describe_error(exc)
    if proxy is None:
        template = TIMED_OUT if isinstance(exc, httpx.TimeoutException) else CONNECTION_FAILED
        return FetchFailed(template.format(error=detail), retryable=True, url=url)
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return Fault(Fault.PROXY, exc, detail)
    if isinstance(exc, httpx.ProxyError) and "407" in str(exc):
        return Fault(Fault.PROXY, exc, detail)
    return Fault(Fault.UNCLEAR, exc, detail)
