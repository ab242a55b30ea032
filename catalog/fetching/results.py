"""What a fetch returns and the ways it can fail: the vocabulary the rest of the product uses.

- `FetchResult`: a page that arrived and is not a block page.
- `Blocked`: the site refused us (HTTP 401/403/429/503, a CAPTCHA, robot check, login wall, an
  empty or truncated page); `retry_after` says when to try again when the site said so.
- `PageNotFound`: the page does not exist (HTTP 404/410).
- `FetchFailed`: anything else; `retryable` says whether trying later can help (subclasses:
  `ResponseTooLarge`, `RateLimited` — nothing sent, the supplier's slots are booked ahead).
- `UnsafeURL` (from catalog.netsafety): the URL points, or was redirected, at a non-public address.
"""

from dataclasses import dataclass, field

from catalog.netsafety import UnsafeURL

TOO_MANY_REDIRECTS = "More than {limit} redirects"
RESPONSE_TOO_LARGE = "The page is larger than {limit} bytes; stopped reading"
TOTAL_TIME_EXCEEDED = "The page took longer than {limit:g} s to arrive"
TIMED_OUT = "Timed out: {error}"
NOT_A_WEB_PAGE = "Not a web page (content type {content_type})"
CONNECTION_FAILED = "Could not connect: {error}"
PROXY_FAILED = "The proxy failed: {error}"
HOST_NOT_FOUND = "{host} could not be resolved"
HTTP_STATUS = "HTTP {status}"
SERVER_ERROR = "The site answered HTTP {status}"
CLIENT_ERROR = "The site refused the request with HTTP {status}"
BROWSER_FAILED = "The browser could not load the page: {error}"

__all__ = [
    "Blocked",
    "FetchError",
    "FetchFailed",
    "FetchResult",
    "PageNotFound",
    "RateLimited",
    "ResponseTooLarge",
    "UnsafeURL",
]


@dataclass(frozen=True)
class FetchResult:
    """A supplier page that arrived and did not look like a block page."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status_code: int
    page: str | bytes  # what the parser reads: UTF-8 bytes as they arrived, or text (see content.decode_html)
    encoding: str
    elapsed: float  # seconds, for the successful attempt
    proxy_id: int | None = None  # the ProxyPool row it came through; None = fetched directly
    headers: dict = field(default_factory=dict, repr=False)
    rendered: bool = False  # True when Chromium rendered it (supplier.requires_js)

    @property
    def html(self) -> str:
        """The page as text."""
        return self.page if isinstance(self.page, str) else self.page.decode(self.encoding, errors="replace")


class FetchError(Exception):
    """Base of the fetch outcomes other than a page (UnsafeURL is separate: a ValueError)."""

    retryable = True

    def __init__(self, message: str, *, url: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.url = url
        self.retry_after = retry_after


class Blocked(FetchError):
    """The site refused to show the page (ban, rate limit, CAPTCHA, login wall, empty page)."""

    def __init__(self, reason: str, retry_after: float | None = None, *, url: str = "", status_code: int | None = None):
        super().__init__(reason, url=url, retry_after=retry_after)
        self.reason = reason
        self.status_code = status_code


class PageNotFound(FetchError):
    """The page does not exist (HTTP 404 / 410)."""

    retryable = False

    def __init__(self, url: str, status_code: int = 404):
        super().__init__(HTTP_STATUS.format(status=status_code), url=url)
        self.status_code = status_code


class FetchFailed(FetchError):
    """The page could not be fetched; `retryable` says whether a later try can help."""

    def __init__(self, message: str, *, retryable: bool, url: str = "", retry_after: float | None = None):
        super().__init__(message, url=url, retry_after=retry_after)
        self.retryable = retryable


class ResponseTooLarge(FetchFailed):
    """The page went past settings.SCRAPER_MAX_RESPONSE_BYTES; reading stopped there."""

    def __init__(self, limit: int, *, url: str = ""):
        super().__init__(RESPONSE_TOO_LARGE.format(limit=limit), retryable=False, url=url)
        self.limit = limit


class RateLimited(FetchFailed):
    """Nothing was sent: the supplier's rate limit is booked further ahead than a fetch waits."""

    def __init__(self, message: str, *, retry_after: float, url: str = ""):
        super().__init__(message, retryable=True, url=url, retry_after=retry_after)


class Fault(Exception):
    """Internal: an attempt broke in transit; `kind` says whom to blame (not raised to callers).

    PROXY: could not reach or use the proxy (charged to it at once). UNCLEAR: the transfer broke
    after connecting (charged to the proxy only if another proxy then gets the page).
    """

    PROXY = "proxy"
    UNCLEAR = "unclear"

    def __init__(self, kind: str, error, message: str):
        super().__init__(message)
        self.kind = kind
        self.error = error
        self.message = message
