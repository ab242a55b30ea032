"""One HTTP request with httpx, guarded at connection time, with manual redirects and caps.

Direct requests use `GuardedBackend`, an httpcore network backend that resolves the host itself,
refuses it unless every address is public (catalog.netsafety), connects to a validated IP and
checks the peer address of the socket it opened. TLS still verifies and sends SNI for the host
name (httpcore passes the origin host to start_tls), and the Host header is the URL's. Through a
proxy the proxy makes the connection, so the target is checked (resolved and validated) before
each request and each redirect hop instead. Every stream read and write is bounded by the
request's total deadline, and the body is streamed and cut off past the size cap. Direct
connections are kept alive in one pool per process (`direct_transport`), shared by its threads;
a connection is only ever opened by the guarded backend.
"""

import functools
import socket
import threading
import time
from dataclasses import dataclass

import httpcore
import httpx
from django.conf import settings

from catalog import netsafety
from catalog.fetching.results import (
    HOST_NOT_FOUND,
    TOO_MANY_REDIRECTS,
    TOTAL_TIME_EXCEEDED,
    FetchFailed,
    ResponseTooLarge,
)

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
# A page is read in a few large pieces rather than many 64 KiB ones (each piece costs a trip
# through the HTTP stack), into a receive buffer that holds most of a page.
READ_BYTES = 1 << 20
SOCKET_OPTIONS = [(socket.SOL_SOCKET, socket.SO_RCVBUF, 2 << 20)]
# Idle direct connections kept open for the next request to the same site, and for how long.
KEEPALIVE_CONNECTIONS = 32
KEEPALIVE_SECONDS = 10.0


@dataclass
class RawResponse:
    """What came back for the last hop of a request (status, headers, the body as bytes)."""

    url: str
    final_url: str
    status_code: int
    headers: httpx.Headers
    content: bytes
    elapsed: float
    charset: str | None


class TotalTimeExceeded(httpx.TimeoutException):
    """The whole request (redirects and body included) took longer than SCRAPER_TOTAL_TIMEOUT."""


class DeadlineExceeded(httpcore.TimeoutException):
    """The request's total time ran out while reading or writing (mapped by httpx to a timeout)."""


class Deadline:
    """When a request must be over (monotonic seconds); pushed back by time spent waiting for a rate-limit slot."""

    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def extend(self, seconds: float) -> None:
        self.at += seconds


class _ThreadDeadline:
    """The deadline of the request this thread is sending: the shared pool's connections outlive
    any one request, so their reads and writes look it up as they happen."""

    _local = threading.local()

    def remaining(self) -> float:
        deadline = getattr(self._local, "deadline", None)
        return deadline.remaining() if deadline is not None else settings.SCRAPER_TOTAL_TIMEOUT

    def set(self, deadline: Deadline | None) -> None:
        self._local.deadline = deadline


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every read/write timeout is capped by the request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline):
        self._stream = stream
        self._deadline = deadline

    def _timeout(self, timeout: float | None) -> float:
        remaining = self._deadline.remaining()
        if remaining <= 0:
            raise DeadlineExceeded("total time limit reached")
        return remaining if timeout is None else min(timeout, remaining)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max(max_bytes, READ_BYTES), self._timeout(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._timeout(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        stream = self._stream.start_tls(ssl_context, server_hostname, self._timeout(timeout))
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to validated public addresses (unless `guard` is off: proxies).

    With `guard`, the host is resolved here (catalog.netsafety.resolve_for_connect: every address
    must be public unless the host is in SCRAPER_ALLOWED_HOSTS), the socket connects to one of
    those IPs, and the peer address of the opened socket is checked again before any byte is sent.
    """

    def __init__(self, *, deadline: Deadline, guard: bool = True):
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline
        self._guard = guard

    def _timeout(self, timeout):
        remaining = self._deadline.remaining()
        if remaining <= 0:
            raise httpcore.ConnectTimeout("total time limit reached")
        return remaining if timeout is None else min(timeout, remaining)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if not self._guard:
            stream = self._inner.connect_tcp(host, port, self._timeout(timeout), local_address, SOCKET_OPTIONS)
            return _DeadlineStream(stream, self._deadline)
        try:
            addresses = netsafety.resolve_for_connect(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(HOST_NOT_FOUND.format(host=host) + f" ({exc})") from exc
        last_error = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(address, port, self._timeout(timeout), local_address, SOCKET_OPTIONS)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
                continue
            peer = stream.get_extra_info("server_addr")
            try:
                netsafety.check_peer(host, peer[0] if peer else "")
            except Exception:
                stream.close()
                raise
            return _DeadlineStream(stream, self._deadline)
        raise last_error or httpcore.ConnectError(HOST_NOT_FOUND.format(host=host))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover
        raise httpcore.ConnectError("Unix sockets are not used for fetching")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _PoolTransport(httpx.HTTPTransport):
    """httpx's transport around an httpcore pool we built (to choose its network backend)."""

    def __init__(self, pool):  # super().__init__ would only build a pool we don't want
        self._pool = pool


@functools.lru_cache(maxsize=1)
def ssl_context():
    """One verifying TLS context per process (loading the CA bundle is not free)."""
    return httpx.create_ssl_context()


_THREAD_DEADLINE = _ThreadDeadline()


@functools.cache
def direct_transport() -> httpx.BaseTransport:
    """Direct connections, shared by the process's threads and kept alive between requests to a
    site (a new TCP and TLS handshake per page costs more than reading it). Every connection in
    it was opened by the guarded backend, to an address checked when it was opened."""
    pool = httpcore.ConnectionPool(
        ssl_context=ssl_context(),
        network_backend=GuardedBackend(deadline=_THREAD_DEADLINE, guard=True),
        retries=0,
        max_connections=None,
        max_keepalive_connections=KEEPALIVE_CONNECTIONS,
        keepalive_expiry=KEEPALIVE_SECONDS,
    )
    return _PoolTransport(pool)


def connections_close() -> None:
    """Close the kept-alive direct connections (the next request opens new ones)."""
    if direct_transport.cache_info().currsize:
        direct_transport().close()
        direct_transport.cache_clear()


def build_transport(*, proxy=None, deadline: Deadline) -> httpx.BaseTransport:
    """A transport for one fetch: guarded direct connections, or through the given ProxyPool row."""
    if proxy is None:
        backend = GuardedBackend(deadline=deadline, guard=True)
        pool = httpcore.ConnectionPool(ssl_context=ssl_context(), network_backend=backend, retries=0)
        return _PoolTransport(pool)
    backend = GuardedBackend(deadline=deadline, guard=False)
    proxy_url = httpcore.URL(
        scheme=proxy.protocol.encode(), host=proxy.host.encode("idna"), port=proxy.port, target=b"/"
    )
    auth = None
    if proxy.username:
        auth = (proxy.username.encode(), (proxy.password or "").encode())
    if proxy.protocol == "socks5":
        pool = httpcore.SOCKSProxy(
            proxy_url=proxy_url, proxy_auth=auth, ssl_context=ssl_context(), network_backend=backend
        )
    else:
        pool = httpcore.HTTPProxy(
            proxy_url=proxy_url, proxy_auth=auth, ssl_context=ssl_context(), network_backend=backend
        )
    return _PoolTransport(pool)


def _read_capped(response: httpx.Response, *, limit: int, deadline: Deadline, url: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(limit, url=url)
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ResponseTooLarge(limit, url=url)
        if deadline.remaining() <= 0:
            raise TotalTimeExceeded(TOTAL_TIME_EXCEEDED.format(limit=settings.SCRAPER_TOTAL_TIMEOUT))
    return b"".join(chunks)


def send(
    url: str,
    *,
    headers: dict,
    proxy=None,
    before_request=None,
    total_timeout: float | None = None,
    max_bytes: int | None = None,
) -> RawResponse:
    """GET the URL, following up to SCRAPER_MAX_REDIRECTS redirects by hand, every hop re-checked.

    `before_request(hop_url)` runs before each request is sent (the rate limiter; the time it
    waits does not count against the total timeout); `max_bytes` caps the body (default
    SCRAPER_MAX_RESPONSE_BYTES). Cookies the site sets are sent back on its redirects, as a
    browser would, and forgotten after. Raises UnsafeURL, FetchFailed (too many redirects,
    unresolvable host), ResponseTooLarge, or an httpx.HTTPError (TotalTimeExceeded among them)
    for the caller to attribute to the proxy or the page.
    """
    total_timeout = total_timeout or settings.SCRAPER_TOTAL_TIMEOUT
    started = time.monotonic()
    waited = 0.0
    deadline = Deadline(total_timeout)
    timeouts = {
        "timeout": {
            "connect": settings.SCRAPER_CONNECT_TIMEOUT,
            "read": settings.SCRAPER_READ_TIMEOUT,
            "write": settings.SCRAPER_READ_TIMEOUT,
            "pool": settings.SCRAPER_CONNECT_TIMEOUT,
        }
    }
    # Through a proxy, a transport of the request's own; direct, the shared pool (not closed here).
    transport = build_transport(proxy=proxy, deadline=deadline) if proxy else direct_transport()
    cookies = httpx.Cookies()
    _THREAD_DEADLINE.set(deadline)
    try:
        current = url
        for _hop in range(settings.SCRAPER_MAX_REDIRECTS + 1):
            try:
                # Before anything is sent: this also guards proxied requests, where the proxy connects.
                netsafety.check_url(current)
            except socket.gaierror as exc:
                host = httpx.URL(current).host
                raise FetchFailed(
                    HOST_NOT_FOUND.format(host=host), retryable=exc.errno == socket.EAI_AGAIN, url=url
                ) from exc
            if before_request is not None:
                wait_started = time.monotonic()
                before_request(current)
                waited += time.monotonic() - wait_started
                deadline.extend(time.monotonic() - wait_started)
            request = httpx.Request("GET", current, headers=headers, extensions=timeouts)
            if cookies:  # a jar's header code is not cheap: only when a redirect set some
                cookies.set_cookie_header(request)
            try:
                response = transport.handle_request(request)
                try:
                    response.request = request
                    if "set-cookie" in response.headers:
                        cookies.extract_cookies(response)
                    location = response.headers.get("location")
                    if response.status_code in REDIRECT_STATUSES and location:
                        current = str(request.url.join(location))
                        continue
                    content = _read_capped(
                        response, limit=max_bytes or settings.SCRAPER_MAX_RESPONSE_BYTES, deadline=deadline, url=url
                    )
                finally:
                    response.close()
            except httpx.TimeoutException as exc:
                if deadline.remaining() <= 0 and not isinstance(exc, TotalTimeExceeded):
                    raise TotalTimeExceeded(TOTAL_TIME_EXCEEDED.format(limit=total_timeout)) from exc
                raise
            return RawResponse(
                url=url,
                final_url=str(request.url),
                status_code=response.status_code,
                headers=response.headers,
                content=content,
                elapsed=time.monotonic() - started - waited,
                charset=response.charset_encoding,
            )
        raise FetchFailed(TOO_MANY_REDIRECTS.format(limit=settings.SCRAPER_MAX_REDIRECTS), retryable=False, url=url)
    finally:
        _THREAD_DEADLINE.set(None)
        if proxy:
            transport.close()
