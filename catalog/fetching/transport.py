"""One HTTP request with httpx, guarded at connection time, with manual redirects and caps.

Every direct connection (supplier pages, images, webhooks) is opened by `connect_guarded`: it
resolves the host itself, refuses it unless every address is public (catalog.netsafety),
connects to a validated IP and checks the peer address of the socket it opened; TLS verifies and
sends SNI for the host name, and the Host header is the URL's. Through a proxy the proxy makes
the connection, so the target is checked (resolved and validated) before each request and each
redirect hop instead. Every connect, read and write is bounded by the request's total deadline,
and the body is streamed and cut off past the size cap.

Direct requests go through `DirectTransport`, an httpx transport over the standard library's
http.client: it reads a page from the socket in a few large pieces, where httpcore's h11 copies
every piece four more times, which at the ≈700 KiB of a supplier page was most of a fetch's CPU.
httpx still builds the requests and decodes the responses (content encoding, charset, cookies).
Page fetches share one pool of kept-alive connections per process (`direct_transport`). Proxied
requests use httpx's own transports (HTTP CONNECT, SOCKS5).
"""

import contextlib
import functools
import http.client
import select
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


def _bounded(timeout: float | None, deadline, error=httpx.ReadTimeout) -> float:
    """A read, write or connect timeout, cut short by the request's total deadline; `error` (the
    exception type the caller's layer maps) once the deadline has passed."""
    remaining = deadline.remaining()
    if remaining <= 0:
        raise error("total time limit reached")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every read/write timeout is capped by the request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline):
        self._stream = stream
        self._deadline = deadline

    def _timeout(self, timeout: float | None) -> float:
        return _bounded(timeout, self._deadline, DeadlineExceeded)

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


def connect_guarded(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first of the host's addresses that answers. Every address is checked
    public first (catalog.netsafety.resolve_for_connect, unless the host is in
    SCRAPER_ALLOWED_HOSTS), and the peer of the opened socket again before any byte is sent.
    Raises UnsafeURL, httpx.ConnectError or httpx.ConnectTimeout."""
    try:
        addresses = netsafety.resolve_for_connect(host, port)
    except socket.gaierror as exc:
        raise httpx.ConnectError(HOST_NOT_FOUND.format(host=host) + f" ({exc})") from exc
    last_error = None
    for address in addresses:
        try:
            sock = open_tcp(address, port, timeout)
        except OSError as exc:
            last_error = exc
            continue
        try:
            netsafety.check_peer(host, sock.getpeername()[0], port)
        except Exception:
            sock.close()
            raise
        return sock
    if isinstance(last_error, TimeoutError):
        raise httpx.ConnectTimeout(str(last_error) or "timed out") from last_error
    raise httpx.ConnectError(str(last_error or HOST_NOT_FOUND.format(host=host))) from last_error


def open_tcp(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to an address already checked (catalog.netsafety)."""
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    try:
        for option in SOCKET_OPTIONS:  # before connecting, so that the window is scaled to them
            sock.setsockopt(*option)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(timeout)
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


class _ProxyBackend(httpcore.NetworkBackend):
    """Connects to a proxy (which connects to the site: the site is checked before each request
    instead), every connect, read and write bounded by the request's deadline."""

    def __init__(self, *, deadline: Deadline):
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = _bounded(timeout, self._deadline, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, SOCKET_OPTIONS)
        return _DeadlineStream(stream, self._deadline)

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


class _Connection(http.client.HTTPConnection):
    """One connection to a site (http or https), opened only by `connect_guarded`."""

    def __init__(self, scheme: str, host: str, port: int):
        super().__init__(host, port)
        self.key = (scheme, host, port)

    def connect(self):  # http.client calls it too whenever it needs a socket: always guarded
        scheme, host, port = self.key
        sock = connect_guarded(host, port, self.timeout)
        if scheme == "https":
            try:
                sock = ssl_context().wrap_socket(sock, server_hostname=host)
            except TimeoutError as exc:
                sock.close()
                raise httpx.ConnectTimeout(str(exc) or "timed out") from exc
            except OSError as exc:  # ssl.SSLError among them: a certificate that does not verify
                sock.close()
                raise httpx.ConnectError(str(exc)) from exc
        self.sock = sock


def _dropped(sock) -> bool:
    """An idle kept-alive connection with something to read was closed (or spoiled) by the site."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


# What a kept-alive connection the site closed while it was idle fails with when used again, and
# the requests that may then be sent again on a new one.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
_IDEMPOTENT = frozenset({"GET", "HEAD"})


@contextlib.contextmanager
def _as_httpx_errors():
    """http.client's and the socket's failures as the httpx exceptions the callers handle."""
    try:
        yield
    except TimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "timed out") from exc
    except http.client.HTTPException as exc:
        raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__) from exc
    except OSError as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__) from exc


class _Body(httpx.SyncByteStream):
    """A direct response's body as it arrives, each read bounded by the request's deadline; once
    read to its end, the connection goes back to the pool (else it is closed)."""

    def __init__(self, transport, connection, sock, answer, read_timeout):
        self._transport, self._connection, self._sock, self._answer = transport, connection, sock, answer
        self._read_timeout = read_timeout
        self._complete = False

    def __iter__(self):
        while True:
            self._sock.settimeout(_bounded(self._read_timeout, self._transport.deadline))
            with _as_httpx_errors():
                piece = self._answer.read1(READ_BYTES)
            if not piece:
                break
            yield piece
        if self._answer.length:  # the site closed before sending the length it announced
            raise httpx.RemoteProtocolError(f"the connection closed {self._answer.length} bytes short")
        self._complete = True

    def close(self):
        self._answer.close()
        if self._complete and not self._answer.will_close:
            self._transport.keep(self._connection)
        else:
            self._connection.close()


class DirectTransport(httpx.BaseTransport):
    """GET and the like over http.client, on connections opened by `connect_guarded` and kept
    alive between requests to a site; responses come back as httpx Responses (httpx decodes the
    content encoding, reads the cookies and the charset)."""

    DEFAULT_PORTS = {"http": 80, "https": 443}

    def __init__(self, *, deadline):
        self.deadline = deadline
        self._idle: dict[tuple, list[tuple[_Connection, float]]] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in self.DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{url.scheme}://'.")
        key = (url.scheme, url.raw_host.decode("ascii"), url.port or self.DEFAULT_PORTS[url.scheme])
        with _as_httpx_errors():
            kept = self._take(key)
            if kept is not None:
                try:
                    return self._exchange(kept, request)
                except _STALE:
                    if request.method not in _IDEMPOTENT:
                        raise  # the site may have acted on it: not sent twice
                    # the site closed it while it was idle: once more, on a new connection
            return self._exchange(_Connection(*key), request)

    def _exchange(self, connection: _Connection, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        try:
            if connection.sock is None:
                connection.timeout = _bounded(timeouts.get("connect"), self.deadline)
                connection.connect()
            sock = connection.sock
            sock.settimeout(_bounded(timeouts.get("write"), self.deadline))
            target = request.url.raw_path.decode("ascii")
            connection.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in request.headers.raw:
                connection.putheader(name, value)
            connection.endheaders(request.read() or None)
            sock.settimeout(_bounded(timeouts.get("read"), self.deadline))
            answer = connection.getresponse()
        except BaseException:
            connection.close()
            raise
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.getheaders()]
        body = _Body(self, connection, sock, answer, timeouts.get("read"))
        return httpx.Response(answer.status, headers=headers, stream=body, request=request)

    def _take(self, key) -> _Connection | None:
        now = time.monotonic()
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                connection, since = idle.pop()
                if now - since < KEEPALIVE_SECONDS and not _dropped(connection.sock):
                    return connection
                connection.close()
        return None

    def keep(self, connection: _Connection) -> None:
        with self._lock:
            if sum(map(len, self._idle.values())) < KEEPALIVE_CONNECTIONS:
                self._idle.setdefault(connection.key, []).append((connection, time.monotonic()))
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection, _ in connections:
                connection.close()


@functools.cache
def direct_transport() -> DirectTransport:
    """Direct connections, shared by the process's threads and kept alive between requests to a
    site (a new TCP and TLS handshake per page costs more than reading it). Every connection in
    it was opened by `connect_guarded`, to an address checked when it was opened."""
    return DirectTransport(deadline=_THREAD_DEADLINE)


def connections_close() -> None:
    """Close the kept-alive direct connections (the next request opens new ones)."""
    if direct_transport.cache_info().currsize:
        direct_transport().close()
        direct_transport.cache_clear()


def proxy_transport(proxy, *, deadline: Deadline) -> httpx.BaseTransport:
    """A transport for one fetch through the given ProxyPool row (HTTP or SOCKS5)."""
    backend = _ProxyBackend(deadline=deadline)
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
    transport = proxy_transport(proxy, deadline=deadline) if proxy else direct_transport()
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
