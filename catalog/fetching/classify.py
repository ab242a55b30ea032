"""Turning what a site answered into a FetchResult or one of the fetch exceptions."""

from catalog.fetching.content import decode_html, is_web_content_type, looks_blocked, parse_retry_after
from catalog.fetching.results import (
    CLIENT_ERROR,
    HTTP_STATUS,
    NOT_A_WEB_PAGE,
    SERVER_ERROR,
    Blocked,
    Fault,
    FetchFailed,
    FetchResult,
    PageNotFound,
)

# Statuses sites answer a scraper with when they refuse it (Amazon's robot check is a 503).
BLOCKED_STATUSES = {401, 403, 429, 503}
NOT_FOUND_STATUSES = {404, 410}


def check_status(*, status: int, headers, url: str, via_proxy: bool) -> None:
    """Raise the exception a non-2xx answer means; return for a 2xx."""
    retry_after = parse_retry_after(headers.get("retry-after"))
    if status == 407 and via_proxy:
        raise Fault(Fault.PROXY, HTTP_STATUS.format(status=status), "The proxy refused our credentials (HTTP 407)")
    if status in NOT_FOUND_STATUSES:
        raise PageNotFound(url, status)
    if status in BLOCKED_STATUSES:
        raise Blocked(HTTP_STATUS.format(status=status), retry_after, url=url, status_code=status)
    if status >= 500:
        raise FetchFailed(SERVER_ERROR.format(status=status), retryable=True, url=url, retry_after=retry_after)
    if not 200 <= status < 300:
        raise FetchFailed(CLIENT_ERROR.format(status=status), retryable=False, url=url)


def page_result(
    *,
    url: str,
    final_url: str,
    status: int,
    headers,
    page: str | bytes,
    encoding: str,
    elapsed: float,
    proxy_id,
    rendered,
) -> FetchResult:
    """The FetchResult for a 2xx page, or Blocked when its content is a block page."""
    reason = looks_blocked(page)
    if reason:
        raise Blocked(reason, url=url, status_code=status)
    return FetchResult(
        url=url,
        final_url=final_url,
        status_code=status,
        page=page,
        encoding=encoding,
        elapsed=elapsed,
        proxy_id=proxy_id,
        headers=dict(headers),
        rendered=rendered,
    )


def result_from_raw(raw, *, proxy_id) -> FetchResult:
    """Classify an httpx answer (catalog.fetching.transport.RawResponse)."""
    check_status(status=raw.status_code, headers=raw.headers, url=raw.url, via_proxy=proxy_id is not None)
    content_type = raw.headers.get("content-type")
    if not is_web_content_type(content_type):
        raise FetchFailed(NOT_A_WEB_PAGE.format(content_type=content_type), retryable=False, url=raw.url)
    page, encoding = decode_html(raw.content, raw.charset)
    return page_result(
        url=raw.url,
        final_url=raw.final_url,
        status=raw.status_code,
        headers=raw.headers,
        page=page,
        encoding=encoding,
        elapsed=raw.elapsed,
        proxy_id=proxy_id,
        rendered=False,
    )
