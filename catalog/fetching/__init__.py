"""Fetching supplier pages: rate-limited, through the proxy pool, under the SSRF rule.

Public API (what the refresh pipeline and commands use):

- `fetch_page(*, url, supplier) -> FetchResult` — one page; raises `Blocked`, `PageNotFound`,
  `UnsafeURL` or `FetchFailed` (`retryable`, `retry_after`; subclasses `ResponseTooLarge`,
  `RateLimited`). `FetchError` is the base of all but `UnsafeURL` (a ValueError).
- `fetch_pages(items, *, max_workers=8, on_result=None)` — many (url, supplier) pairs at once in
  threads; returns a FetchResult or the raised exception per item, in order.
- `looks_blocked(html) -> str | None` — the minimal block-page check applied to every page.
- `request_headers(supplier, url)` — the browser-like headers sent.
"""

from catalog.fetching.content import looks_blocked, request_headers
from catalog.fetching.core import fetch_page, fetch_pages, retry_delay
from catalog.fetching.results import (
    Blocked,
    FetchError,
    FetchFailed,
    FetchResult,
    PageNotFound,
    RateLimited,
    ResponseTooLarge,
    UnsafeURL,
)

__all__ = [
    "Blocked",
    "FetchError",
    "FetchFailed",
    "FetchResult",
    "PageNotFound",
    "RateLimited",
    "ResponseTooLarge",
    "UnsafeURL",
    "fetch_page",
    "fetch_pages",
    "looks_blocked",
    "request_headers",
    "retry_delay",
]
