"""Rendering a page with Chromium (suppliers with `requires_js`), under the same SSRF rule.

Playwright drives the system Chromium (settings.CHROMIUM_PATH; its own browser download is not
used). A context-wide route handler sees every request the page makes and aborts those whose host
is not public (catalog.netsafety.check_url, honouring SCRAPER_ALLOWED_HOSTS). Chromium follows
HTTP redirects without showing them to route handlers, so the handler fetches each request itself
with `route.fetch(max_redirects=0)` and walks redirects hop by hop, checking every hop: a
subresource gets the final answer; a main-document redirect is aborted and navigated to anew (so
the page keeps its real URL and every hop is rate-limited). WebSockets are routed through the same
check, and service workers are blocked (they would bypass routing).
"""

import contextlib
import os
import queue
import socket
import threading
import time
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from catalog import netsafety
from catalog.fetching.classify import check_status, page_result
from catalog.fetching.content import is_web_content_type
from catalog.fetching.results import (
    BROWSER_FAILED,
    HOST_NOT_FOUND,
    NOT_A_WEB_PAGE,
    TOO_MANY_REDIRECTS,
    Fault,
    FetchFailed,
    FetchResult,
    ResponseTooLarge,
)
from catalog.fetching.transport import REDIRECT_STATUSES

LAUNCH_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_MISSING = "Chromium is not installed at {path} (settings.CHROMIUM_PATH)"
# Headers Chromium sets itself; sending ours as well would make the request look forged.
_BROWSER_OWN_HEADERS = {"user-agent", "accept-encoding", "accept", "upgrade-insecure-requests"}
_PROXY_ERRORS = ("err_proxy", "err_tunnel", "proxy", "econnrefused", "err_connection_refused", "ehostunreach")
_SETTLE_MS = 3000


def chromium_available() -> bool:
    """True when settings.CHROMIUM_PATH is an executable file."""
    path = settings.CHROMIUM_PATH
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


class _Guard:
    """The route handler: checks every request's host, walks redirects itself, remembers what it did."""

    def __init__(self, *, skip_types):
        self.skip_types = set(skip_types)
        self.aborted: list[str] = []  # URLs refused by the SSRF rule
        self.main_frame = None
        self._last_refusal = None
        self.reset()

    def reset(self):
        self.redirect_to = None
        self.unsafe = None
        self.unresolved = None
        self.main_error = None
        self.main_response = None
        self.main_url = None
        self.too_large = False

    def _is_main(self, request) -> bool:
        try:
            return request.is_navigation_request() and request.frame == self.main_frame
        except Exception:  # noqa: BLE001 - a detached frame is not the main document
            return False

    def _safe(self, url: str) -> bool:
        try:
            netsafety.check_url(url)
        except (netsafety.UnsafeURL, socket.gaierror, UnicodeError) as exc:
            self.aborted.append(url)
            self._last_refusal = exc
            return False
        return True

    def handle(self, route):
        request = route.request
        is_main = self._is_main(request)
        if not is_main and request.resource_type in self.skip_types:
            route.abort("blockedbyclient")
            return
        url = request.url
        if not self._safe(url):
            if is_main and isinstance(self._last_refusal, netsafety.UnsafeURL):
                self.unsafe = self._last_refusal
            elif is_main:
                self.unresolved = self._last_refusal
            route.abort("blockedbyclient")
            return
        method = request.method
        for _hop in range(settings.SCRAPER_MAX_REDIRECTS + 1):
            try:
                response = route.fetch(
                    url=url, method=method, max_redirects=0, timeout=settings.SCRAPER_TOTAL_TIMEOUT * 1000
                )
            except Exception as exc:  # noqa: BLE001 - Playwright raises its own Error for network failures
                if is_main:
                    self.main_error = exc
                route.abort("failed")
                return
            location = response.headers.get("location")
            if response.status not in REDIRECT_STATUSES or not location:
                break
            target = urljoin(url, location)
            if is_main:
                self.redirect_to = target  # navigated to anew (checked, rate-limited) by render()
                route.abort("aborted")
                return
            if not self._safe(target):
                route.abort("blockedbyclient")
                return
            url = target
            if response.status == 303:
                method = "GET"
        else:
            route.abort("failed")
            return
        if is_main:
            body = response.body()
            if len(body) > settings.SCRAPER_MAX_RESPONSE_BYTES:
                self.too_large = True
                route.abort("failed")
                return
            self.main_response = response
            self.main_url = url
        route.fulfill(response=response)

    def handle_websocket(self, ws):
        if self._safe(ws.url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)):
            ws.connect_to_server()
        else:
            ws.close(code=1008, reason="blocked")


def _playwright_proxy(proxy):
    if proxy is None:
        return None
    scheme = "socks5" if proxy.protocol == "socks5" else proxy.protocol
    settings_ = {"server": f"{scheme}://{proxy.host}:{proxy.port}"}
    if proxy.username:
        settings_["username"] = proxy.username
        settings_["password"] = proxy.password or ""
    return settings_


def _failure(exc, *, proxy, url: str) -> Exception:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if proxy is not None:
        kind = Fault.PROXY if any(marker in message.lower() for marker in _PROXY_ERRORS) else Fault.UNCLEAR
        return Fault(kind, exc, message)
    return FetchFailed(BROWSER_FAILED.format(error=message), retryable=True, url=url)


def render(*, url: str, supplier, proxy, headers: dict, before_request=None) -> FetchResult:
    """Load the page in Chromium and return the rendered HTML, or raise like fetch_page.

    Playwright's sync API runs an event loop in its thread, where Django refuses database
    calls; so the browser runs in a thread of its own and asks this thread to run
    `before_request` (the rate limiter, which may use the database) for each navigation.
    """
    if not chromium_available():
        raise FetchFailed(CHROMIUM_MISSING.format(path=settings.CHROMIUM_PATH), retryable=False, url=url)
    wait_for = (supplier.scraper_config or {}).get("wait_for") or (supplier.template.scraper_config or {}).get(
        "wait_for"
    )
    calls: queue.Queue = queue.Queue()
    outcome: dict = {}

    def ask(fn):
        answer: queue.Queue = queue.Queue(maxsize=1)
        calls.put((fn, answer))
        ok, value = answer.get()
        if not ok:
            raise value
        return value

    def browse():
        try:
            outcome["result"] = _render(
                url=url,
                wait_for=wait_for,
                proxy=proxy,
                headers=headers,
                before_request=((lambda hop_url: ask(lambda: before_request(hop_url))) if before_request else None),
            )
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            outcome["error"] = exc
        finally:
            calls.put(None)

    thread = threading.Thread(target=browse, name="fetch-browser", daemon=True)
    thread.start()
    while (item := calls.get()) is not None:
        fn, answer = item
        try:
            answer.put((True, fn()))
        except BaseException as exc:  # noqa: BLE001 - handed to the browser thread
            answer.put((False, exc))
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _render(*, url: str, wait_for: str | None, proxy, headers: dict, before_request) -> FetchResult:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    timeout_ms = settings.SCRAPER_BROWSER_TIMEOUT * 1000
    extra_headers = {k: v for k, v in headers.items() if k.lower() not in _BROWSER_OWN_HEADERS}
    extra_headers = {k: v for k, v in extra_headers.items() if not k.lower().startswith("sec-")}
    guard = _Guard(skip_types=settings.SCRAPER_BROWSER_SKIP_RESOURCES)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=settings.CHROMIUM_PATH,
            args=LAUNCH_FLAGS,
            headless=True,
            proxy=_playwright_proxy(proxy),
            timeout=timeout_ms,
        )
        try:
            context = browser.new_context(
                user_agent=headers.get("User-Agent"),
                locale=(headers.get("Accept-Language") or "en-US").split(",")[0],
                extra_http_headers=extra_headers,
                service_workers="block",
            )
            context.route("**/*", guard.handle)
            context.route_web_socket("**/*", guard.handle_websocket)
            page = context.new_page()
            guard.main_frame = page.main_frame
            current = url
            started = None
            for _hop in range(settings.SCRAPER_MAX_REDIRECTS + 1):
                netsafety.check_url(current, resolve=False)
                if before_request is not None:
                    before_request(current)
                started = started or time.monotonic()
                guard.reset()
                try:
                    page.goto(current, timeout=timeout_ms, wait_until="load")
                except PlaywrightError as exc:
                    if guard.redirect_to:
                        current = guard.redirect_to
                        continue
                    if guard.unsafe is not None:
                        raise netsafety.UnsafeURL(str(guard.unsafe)) from None
                    if guard.unresolved is not None:
                        host = urlsplit(current).hostname
                        retryable = getattr(guard.unresolved, "errno", None) == socket.EAI_AGAIN
                        raise FetchFailed(HOST_NOT_FOUND.format(host=host), retryable=retryable, url=url) from None
                    if guard.too_large:
                        raise ResponseTooLarge(settings.SCRAPER_MAX_RESPONSE_BYTES, url=url) from None
                    raise _failure(guard.main_error or exc, proxy=proxy, url=url) from None
                break
            else:
                raise FetchFailed(
                    TOO_MANY_REDIRECTS.format(limit=settings.SCRAPER_MAX_REDIRECTS), retryable=False, url=url
                )
            response = guard.main_response
            if response is None:
                raise _failure(guard.main_error or RuntimeError("no response"), proxy=proxy, url=url)
            status = response.status
            check_status(status=status, headers=response.headers, url=url, via_proxy=proxy is not None)
            content_type = response.headers.get("content-type")
            if not is_web_content_type(content_type):
                raise FetchFailed(NOT_A_WEB_PAGE.format(content_type=content_type), retryable=False, url=url)
            _settle(page, wait_for)
            html = page.content()
            elapsed = time.monotonic() - started
        finally:
            browser.close()
    return page_result(
        url=url,
        final_url=guard.main_url or current,
        status=status,
        headers=response.headers,
        page=html,
        encoding="utf-8",
        elapsed=elapsed,
        proxy_id=proxy.pk if proxy else None,
        rendered=True,
    )


def _settle(page, wait_for: str | None) -> None:
    """Give scripts a moment to fill the page: network idle, and the supplier's `wait_for` selector."""
    from playwright.sync_api import Error as PlaywrightError

    # Pages that poll forever never go idle: what is there by then is what we get.
    with contextlib.suppress(PlaywrightError):
        page.wait_for_load_state("networkidle", timeout=_SETTLE_MS)
    if wait_for:
        with contextlib.suppress(PlaywrightError):
            page.wait_for_selector(wait_for, timeout=_SETTLE_MS)
