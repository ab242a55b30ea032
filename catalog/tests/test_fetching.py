"""fetch_page against real HTTP servers on 127.0.0.1 (allowed through SCRAPER_ALLOWED_HOSTS)."""

import gzip
import time
import uuid

import httpx
import pytest

from catalog import netsafety
from catalog.fetching import (
    Blocked,
    FetchFailed,
    PageNotFound,
    RateLimited,
    ResponseTooLarge,
    UnsafeURL,
    fetch_page,
    fetch_pages,
    looks_blocked,
    retry_delay,
    transport,
)
from catalog.fetching import content as fetch_content
from catalog.fetching.results import TOO_MANY_REDIRECTS, TOTAL_TIME_EXCEEDED
from catalog.models import ProxyPool
from catalog.tests.factories import ProxyPoolFactory, SupplierFactory
from catalog.tests.fetch_servers import (  # noqa: F401 - fixtures
    CAPTCHA_PAGE,
    PAGE,
    ForwardProxy,
    Reply,
    Site,
    fetch_settings_fixture,
    page,
    site_fixture,
    supplier_fixture,
    tls_contexts,
)

pytestmark = pytest.mark.django_db


# --- A page and its headers -----------------------------------------------------------------


def test_fetches_a_page_with_browser_like_headers(site, supplier):
    site.routes["/item"] = page()
    result = fetch_page(url=site.url("/item"), supplier=supplier)
    assert result.status_code == 200
    assert "Blue kettle" in result.html
    assert result.page == PAGE.encode()  # UTF-8 goes to the parser as the bytes that came
    assert result.url == result.final_url == site.url("/item")
    assert result.proxy_id is None
    assert result.encoding == "utf-8"
    assert result.elapsed > 0
    sent = site.seen[0].headers
    assert sent["user-agent"].startswith("Mozilla/5.0") and "Chrome/" in sent["user-agent"]
    assert sent["accept"].startswith("text/html")
    assert sent["accept-language"].startswith("en-US")
    assert "gzip" in sent["accept-encoding"]


def test_accept_language_matches_the_site_and_supplier_headers_apply(site):
    supplier = SupplierFactory(
        base_url="https://www.amazon.de",
        rate_limit=60000,
        scraper_config={"headers": {"X-Shop-Test": "yes", "Accept-Language": "de-AT,de;q=0.9"}},
    )
    assert fetch_content.request_headers(supplier)["Accept-Language"] == "de-AT,de;q=0.9"
    supplier.scraper_config = {"headers": {"X-Shop-Test": "yes"}}
    site.routes["/item"] = page()
    fetch_page(url=site.url("/item"), supplier=supplier)
    sent = site.seen[0].headers
    assert sent["accept-language"].startswith("de-DE")
    assert sent["x-shop-test"] == "yes"


@pytest.mark.parametrize(
    ("host", "language"),
    [("www.amazon.co.uk", "en-GB"), ("www.amazon.co.jp", "ja-JP"), ("www.costco.ca", "en-CA"), ("shop.io", "en-US")],
)
def test_accept_language_by_site(host, language):
    assert fetch_content.accept_language_for(host).startswith(language)


def test_charset_from_header_is_used(site, supplier):
    text = "<html><head><title>Caf\u00e9</title></head><body>Cr\u00e8me br\u00fbl\u00e9e</body></html>"
    body = text.encode("latin-1")
    site.routes["/item"] = Reply(body=body, headers={"Content-Type": "text/html; charset=ISO-8859-1"})
    result = fetch_page(url=site.url("/item"), supplier=supplier)
    assert result.encoding == "iso8859-1"
    assert "Cr\u00e8me br\u00fbl\u00e9e" in result.html
    assert result.page == text  # decoded for the parser


def test_the_header_charset_wins_over_a_meta_charset(site, supplier):
    text = '<html><head><meta charset="windows-1252"><title>x</title></head><body>50 \u20ac</body></html>'
    site.routes["/item"] = Reply(body=text.encode(), headers={"Content-Type": "text/html; charset=utf-8"})
    result = fetch_page(url=site.url("/item"), supplier=supplier)
    assert result.page == text  # as the header says, not as the <meta> would have it


def test_meta_charset_is_used_when_the_header_has_none(site, supplier):
    body = '<html><head><meta charset="windows-1252"><title>x</title></head><body>50 \u20ac</body></html>'
    site.routes["/item"] = Reply(body=body.encode("cp1252"), headers={"Content-Type": "text/html"})
    result = fetch_page(url=site.url("/item"), supplier=supplier)
    assert "50 \u20ac" in result.html


def test_non_web_content_is_refused(site, supplier):
    site.routes["/file"] = Reply(body=b"\x89PNG....", headers={"Content-Type": "image/png"})
    with pytest.raises(FetchFailed) as excinfo:
        fetch_page(url=site.url("/file"), supplier=supplier)
    assert not excinfo.value.retryable


# --- Caps and timeouts -----------------------------------------------------------------------


def test_slow_server_times_out(site, supplier, settings):
    settings.SCRAPER_READ_TIMEOUT = 0.3
    site.routes["/slow"] = page(delay=1.5)
    started = time.monotonic()
    with pytest.raises(FetchFailed) as excinfo:
        fetch_page(url=site.url("/slow"), supplier=supplier)
    assert excinfo.value.retryable
    assert time.monotonic() - started < 1.4


def test_total_time_is_capped_even_when_bytes_keep_trickling(site, supplier, settings):
    settings.SCRAPER_TOTAL_TIMEOUT = 1.0
    settings.SCRAPER_READ_TIMEOUT = 5.0
    site.routes["/drip"] = Reply(
        headers={"Content-Type": "text/html"}, chunks=[(b"<html><body>" + b"x" * 10, 0.2)] * 15
    )
    started = time.monotonic()
    with pytest.raises(FetchFailed) as excinfo:
        fetch_page(url=site.url("/drip"), supplier=supplier)
    assert str(excinfo.value) == TOTAL_TIME_EXCEEDED.format(limit=1.0) or "took longer" in str(excinfo.value)
    assert excinfo.value.retryable
    assert time.monotonic() - started < 2.0


def test_response_over_the_size_cap_is_refused(site, supplier, settings):
    settings.SCRAPER_MAX_RESPONSE_BYTES = 1000
    site.routes["/big"] = page(body="<html><body>" + "x" * 5000 + "</body></html>")
    with pytest.raises(ResponseTooLarge):
        fetch_page(url=site.url("/big"), supplier=supplier)


def test_size_cap_holds_without_content_length(site, supplier, settings):
    settings.SCRAPER_MAX_RESPONSE_BYTES = 1000
    site.routes["/stream"] = Reply(headers={"Content-Type": "text/html"}, chunks=[(b"x" * 400, 0.0)] * 10)
    with pytest.raises(ResponseTooLarge) as excinfo:
        fetch_page(url=site.url("/stream"), supplier=supplier)
    assert not excinfo.value.retryable


# --- Status codes, blocks and retries --------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403, 429, 503])
def test_refusal_statuses_are_blocked(site, supplier, status):
    site.routes["/item"] = page(status=status)
    with pytest.raises(Blocked) as excinfo:
        fetch_page(url=site.url("/item"), supplier=supplier)
    assert excinfo.value.status_code == status


def test_captcha_page_is_blocked_never_returned(site, supplier):
    site.routes["/item"] = page(body=CAPTCHA_PAGE)
    with pytest.raises(Blocked) as excinfo:
        fetch_page(url=site.url("/item"), supplier=supplier)
    assert "captcha" in excinfo.value.reason


def test_empty_page_is_blocked(site, supplier):
    site.routes["/item"] = page(body="   ")
    with pytest.raises(Blocked, match="empty"):
        fetch_page(url=site.url("/item"), supplier=supplier)


@pytest.mark.parametrize("status", [404, 410])
def test_missing_page_is_page_not_found(site, supplier, status):
    site.routes["/gone"] = page(status=status)
    with pytest.raises(PageNotFound) as excinfo:
        fetch_page(url=site.url("/gone"), supplier=supplier)
    assert excinfo.value.status_code == status
    assert not excinfo.value.retryable


def test_retry_after_is_honoured(site, supplier, settings):
    settings.SCRAPER_MAX_ATTEMPTS = 3
    answers = iter([page(status=429, headers={"Retry-After": "1", "Content-Type": "text/html"}), page()])
    site.routes["/item"] = lambda handler: next(answers)
    result = fetch_page(url=site.url("/item"), supplier=supplier)
    assert "Blue kettle" in result.html
    first, second = site.seen
    assert second.at - first.at >= 0.95


def test_long_retry_after_goes_back_to_the_caller(site, supplier, settings):
    settings.SCRAPER_MAX_ATTEMPTS = 3
    site.routes["/item"] = page(status=503, headers={"Retry-After": "3600", "Content-Type": "text/html"})
    with pytest.raises(Blocked) as excinfo:
        fetch_page(url=site.url("/item"), supplier=supplier)
    assert excinfo.value.retry_after == pytest.approx(3600)
    assert len(site.seen) == 1


def test_direct_block_without_retry_after_is_not_hammered(site, supplier, settings):
    settings.SCRAPER_MAX_ATTEMPTS = 3
    site.routes["/item"] = page(body=CAPTCHA_PAGE)
    with pytest.raises(Blocked):
        fetch_page(url=site.url("/item"), supplier=supplier)
    assert len(site.seen) == 1


def test_server_error_is_retried_with_backoff(site, supplier, settings):
    settings.SCRAPER_MAX_ATTEMPTS = 3
    settings.SCRAPER_BACKOFF_BASE = 0.2
    settings.SCRAPER_BACKOFF_MAX = 5.0
    answers = iter([page(status=500), page(status=502), page()])
    site.routes["/item"] = lambda handler: next(answers)
    result = fetch_page(url=site.url("/item"), supplier=supplier)
    assert result.status_code == 200
    stamps = [seen.at for seen in site.seen]
    assert len(stamps) == 3
    assert stamps[1] - stamps[0] >= 0.1  # backoff of 0.1–0.2 s
    assert stamps[2] - stamps[1] >= 0.2  # then 0.2–0.4 s


def test_server_error_after_the_last_attempt_is_retryable(site, supplier, settings):
    settings.SCRAPER_MAX_ATTEMPTS = 2
    site.routes["/item"] = page(status=500)
    with pytest.raises(FetchFailed) as excinfo:
        fetch_page(url=site.url("/item"), supplier=supplier)
    assert excinfo.value.retryable
    assert len(site.seen) == 2


def test_retry_delay_is_exponential_with_jitter(settings):
    settings.SCRAPER_BACKOFF_BASE = 1.0
    settings.SCRAPER_BACKOFF_MAX = 30.0
    delays = [retry_delay(3, None) for _ in range(50)]
    assert all(2.0 <= delay <= 4.0 for delay in delays)
    assert len(set(delays)) > 1
    assert retry_delay(10, None) <= 30.0
    assert retry_delay(1, Blocked("HTTP 429", 2.5)) == 2.5


def test_looks_blocked_hook():
    assert looks_blocked("") == "empty page"
    assert looks_blocked("<html><body><div>cut off her") == "truncated page"
    assert looks_blocked(CAPTCHA_PAGE).startswith("captcha")
    assert looks_blocked("<html><head><title>Are you a robot?</title></head><body>hi</body></html>")
    assert looks_blocked("<html><head><title>Amazon Sign-In</title></head><body>Email</body></html>").startswith(
        "login wall"
    )
    assert looks_blocked(PAGE) is None
    # A real product page with a reCAPTCHA on its review form is not a block page.
    long_page = (
        "<html><head><title>Kettle</title></head><body>"
        + "<p>Great kettle, boils fast.</p>" * 200
        + "<div class='g-recaptcha'></div></body></html>"
    )
    assert looks_blocked(long_page) is None


def test_looks_blocked_reads_the_bytes_that_came():
    assert looks_blocked(b" \n ") == "empty page"
    assert looks_blocked(CAPTCHA_PAGE.encode()).startswith("captcha")
    assert looks_blocked(PAGE.encode()) is None
    large = "<html><head><title>Kettle \u2013 K\u00fcche</title></head><body>" + "<p>Fast kettle.</p>" * 20_000
    assert looks_blocked((large + "</body></html>").encode()) is None
    assert looks_blocked(large.encode()) == "truncated page"
    walled = large.replace("Kettle", "Robot Check") + "</body></html>"
    assert looks_blocked(walled.encode()).startswith("captcha")


# --- Connections ---------------------------------------------------------------------------


def test_connections_to_a_site_are_kept_alive_between_requests(site, supplier):
    site.routes["/a"] = page()
    site.routes["/b"] = page()
    fetch_page(url=site.url("/a"), supplier=supplier)
    fetch_page(url=site.url("/b"), supplier=supplier)
    transport.connections_close()
    fetch_page(url=site.url("/a"), supplier=supplier)
    first, second, third = (seen.client for seen in site.seen)
    assert first == second != third


def test_a_kept_alive_connection_still_caps_each_requests_total_time(site, supplier, settings):
    settings.SCRAPER_TOTAL_TIMEOUT = 1.0
    site.routes["/fast"] = page()
    site.routes["/slow"] = Reply(delay=2.0)
    fetch_page(url=site.url("/fast"), supplier=supplier)
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="took longer than 1 s"):
        fetch_page(url=site.url("/slow"), supplier=supplier)
    assert time.monotonic() - started < 1.8
    assert site.seen[0].client == site.seen[1].client


@pytest.mark.parametrize("noticed_before_use", [True, False])
def test_a_kept_alive_connection_the_site_closed_is_replaced(site, supplier, monkeypatch, noticed_before_use):
    if not noticed_before_use:  # the site hangs up just after the check: the request itself fails
        monkeypatch.setattr(transport, "_dropped", lambda sock: False)

    def answer_then_hang_up(handler):
        handler.close_connection = True  # without saying so in a Connection header
        return page()

    site.routes["/a"] = answer_then_hang_up
    site.routes["/b"] = page()
    fetch_page(url=site.url("/a"), supplier=supplier)
    result = fetch_page(url=site.url("/b"), supplier=supplier)
    assert "Blue kettle" in result.html
    assert site.seen[0].client != site.seen[1].client


def test_a_post_on_a_connection_the_site_closed_is_not_sent_again(site, monkeypatch):
    monkeypatch.setattr(transport, "_dropped", lambda sock: False)  # the hang-up goes unnoticed

    def answer_then_hang_up(handler):
        handler.close_connection = True
        return page()

    site.routes["/a"] = answer_then_hang_up
    direct = transport.DirectTransport(deadline=transport.Deadline(5))
    with httpx.Client(transport=direct) as client:
        client.get(site.url("/a"))
        with pytest.raises(httpx.TransportError):
            client.post(site.url("/hook"), content=b"{}")
    assert site.paths() == ["/a"]


def test_a_page_cut_short_of_its_announced_length_is_a_retryable_failure(site, supplier):
    site.routes["/cut"] = Reply(
        headers={"Content-Type": "text/html", "Content-Length": "5000"}, chunks=[(b"<html><body>Blue", 0.0)]
    )
    with pytest.raises(FetchFailed) as excinfo:
        fetch_page(url=site.url("/cut"), supplier=supplier)
    assert excinfo.value.retryable


def test_a_compressed_page_is_decoded(site, supplier):
    site.routes["/gz"] = Reply(
        body=gzip.compress(PAGE.encode()),
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
    )
    assert fetch_page(url=site.url("/gz"), supplier=supplier).html == PAGE


def test_the_size_cap_counts_the_decoded_page(site, supplier, settings):
    settings.SCRAPER_MAX_RESPONSE_BYTES = 10_000
    site.routes["/bomb"] = Reply(
        body=gzip.compress(b"<html><body>" + b"x" * 1_000_000), headers={"Content-Encoding": "gzip"}
    )
    with pytest.raises(ResponseTooLarge):
        fetch_page(url=site.url("/bomb"), supplier=supplier)


@pytest.fixture(name="tls_site")
def tls_site_fixture(tmp_path, settings, monkeypatch):
    """An HTTPS site answering as shop.example (which resolves to 127.0.0.1 here), whose
    certificate the client trusts; it records the server name each TLS handshake asked for."""
    server_context, client_context = tls_contexts("shop.example", tmp_path)
    server_context.sni_callback = lambda sock, name, context: tls_site.names.append(name)
    tls_site = Site(tls=server_context)
    tls_site.names = []
    settings.SCRAPER_ALLOWED_HOSTS = ["shop.example"]
    monkeypatch.setattr(netsafety, "resolve_host", lambda host, port=None: ["127.0.0.1"])
    monkeypatch.setattr(transport, "ssl_context", lambda: client_context)
    yield tls_site
    tls_site.close()


def test_https_pages_come_over_verified_tls_with_the_host_name(tls_site):
    tls_site.routes["/item"] = page()
    supplier = SupplierFactory(name=f"tls-{uuid.uuid4().hex[:10]}", rate_limit=60000)
    result = fetch_page(url=f"https://shop.example:{tls_site.port}/item", supplier=supplier)
    assert "Blue kettle" in result.html
    assert tls_site.names == ["shop.example"]  # SNI
    assert tls_site.seen[0].headers["host"] == f"shop.example:{tls_site.port}"


def test_a_certificate_for_another_name_is_refused(tls_site, settings):
    settings.SCRAPER_ALLOWED_HOSTS = ["shop.example", "other.example"]
    tls_site.routes["/item"] = page()
    supplier = SupplierFactory(name=f"tls-{uuid.uuid4().hex[:10]}", rate_limit=60000)
    with pytest.raises(FetchFailed, match="certificate verify failed"):
        fetch_page(url=f"https://other.example:{tls_site.port}/item", supplier=supplier)
    assert tls_site.seen == []


# --- SSRF ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["http://10.1.2.3/admin", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://172.16.5.4:8080/"],
)
def test_redirect_to_an_internal_address_is_refused(site, supplier, target):
    site.routes["/go"] = Reply(status=302, headers={"Location": target}, body="")
    with pytest.raises(UnsafeURL, match="non-public"):
        fetch_page(url=site.url("/go"), supplier=supplier)
    assert site.paths() == ["/go"]


def test_redirect_to_loopback_by_a_name_not_allowed_is_refused(site, supplier):
    internal = Site()  # 127.0.0.1 too, but reached as "localhost", which is not allowed
    internal.routes["/secret"] = page()
    try:
        site.routes["/go"] = Reply(status=302, headers={"Location": internal.url("/secret", host="localhost")}, body="")
        with pytest.raises(UnsafeURL):
            fetch_page(url=site.url("/go"), supplier=supplier)
        assert internal.seen == []
    finally:
        internal.close()


def test_redirects_between_allowed_pages_are_followed(site, supplier):
    site.routes["/a"] = Reply(status=301, headers={"Location": "/b"}, body="")
    site.routes["/b"] = Reply(status=302, headers={"Location": site.url("/c")}, body="")
    site.routes["/c"] = page()
    result = fetch_page(url=site.url("/a"), supplier=supplier)
    assert result.final_url == site.url("/c")
    assert result.url == site.url("/a")
    assert site.paths() == ["/a", "/b", "/c"]


def test_a_cookie_set_on_a_redirect_goes_with_the_next_hop_only(site, supplier):
    cookie = {"Location": "/item", "Set-Cookie": "session=abc; Path=/"}
    site.routes["/start"] = Reply(status=302, headers=cookie, body="")
    site.routes["/item"] = page()
    fetch_page(url=site.url("/start"), supplier=supplier)
    fetch_page(url=site.url("/item"), supplier=supplier)
    start, redirected, later = (seen.headers.get("cookie") for seen in site.seen)
    assert (start, redirected, later) == (None, "session=abc", None)


def test_redirect_loops_stop(site, supplier, settings):
    settings.SCRAPER_MAX_REDIRECTS = 5
    site.routes["/loop"] = Reply(status=302, headers={"Location": "/loop"}, body="")
    with pytest.raises(FetchFailed, match=TOO_MANY_REDIRECTS.format(limit=5)):
        fetch_page(url=site.url("/loop"), supplier=supplier)
    assert len(site.seen) == 6


def test_seller_url_to_an_internal_host_is_refused_before_any_request(settings, supplier):
    settings.SCRAPER_ALLOWED_HOSTS = []
    for url in ["http://127.0.0.1:9/", "http://localhost/", "file:///etc/passwd", "http://[::ffff:127.0.0.1]/"]:
        with pytest.raises(UnsafeURL):
            fetch_page(url=url, supplier=supplier)


def test_dns_rebinding_is_caught_at_connection_time(site, supplier, monkeypatch):
    """The name is public when the URL is checked and private when the socket connects: refused."""
    site.routes["/item"] = page()
    answers = []

    def rebinding_resolver(host, port=None):
        answers.append(host)
        return ["93.184.216.34"] if len(answers) == 1 else ["127.0.0.1"]

    monkeypatch.setattr(netsafety, "resolve_host", rebinding_resolver)
    with pytest.raises(UnsafeURL, match=r"rebind\.example resolves to a non-public address \(127\.0\.0\.1"):
        fetch_page(url=f"http://rebind.example:{site.port}/item", supplier=supplier)
    assert answers == ["rebind.example", "rebind.example"]  # checked, then resolved again to connect
    assert site.seen == []


def test_peer_address_of_the_opened_socket_is_checked(site, supplier, monkeypatch):
    """Even if the connection lands somewhere other than the validated address, nothing is sent."""
    site.routes["/item"] = page()
    monkeypatch.setattr(netsafety, "resolve_host", lambda host, port=None: ["93.184.216.34"])
    real_open = transport.open_tcp

    def misrouted(address, port, timeout):
        return real_open("127.0.0.1", site.port, timeout)

    monkeypatch.setattr(transport, "open_tcp", misrouted)
    with pytest.raises(UnsafeURL, match="reached a non-public address"):
        fetch_page(url="http://shop.example/item", supplier=supplier)
    assert site.seen == []


def test_through_a_proxy_the_target_is_checked_before_sending(site, supplier, monkeypatch):
    forward = ForwardProxy()
    try:
        ProxyPoolFactory(host="127.0.0.1", port=forward.port, username=None, password=None)
        monkeypatch.setattr(netsafety, "resolve_host", lambda host, port=None: ["10.0.0.5"])
        with pytest.raises(UnsafeURL):
            fetch_page(url="http://internal.example/item", supplier=supplier)
        assert forward.seen == []
    finally:
        forward.close()


# --- Rate limit and concurrency --------------------------------------------------------------


def test_fetches_wait_for_the_suppliers_rate_limit(site, settings):
    settings.SCRAPER_RATE_JITTER = 0.0
    supplier = SupplierFactory(
        name=f"rate-{uuid.uuid4().hex[:10]}", base_url=site.url("/"), rate_limit=600
    )  # one request per 100 ms
    site.routes["/item"] = page()
    for _ in range(5):
        fetch_page(url=site.url("/item"), supplier=supplier)
    stamps = [seen.at for seen in site.seen]
    assert stamps[-1] - stamps[0] >= 4 * 0.1 - 0.01


def test_rate_limit_booked_too_far_ahead_is_rate_limited(site, settings):
    settings.SCRAPER_RATE_MAX_WAIT = 0.5
    supplier = SupplierFactory(
        name=f"rate-{uuid.uuid4().hex[:10]}", base_url=site.url("/"), rate_limit=1
    )  # one request a minute
    site.routes["/item"] = page()
    fetch_page(url=site.url("/item"), supplier=supplier)
    with pytest.raises(RateLimited) as excinfo:
        fetch_page(url=site.url("/item"), supplier=supplier)
    assert excinfo.value.retry_after > 50
    assert len(site.seen) == 1


@pytest.mark.django_db(transaction=True)
def test_fetch_pages_overlaps_requests_and_keeps_order(site):
    supplier = SupplierFactory(base_url=site.url("/"), rate_limit=60000, family=None)
    site.routes["/slow"] = page(delay=0.5)
    site.routes["/missing"] = page(status=404)
    urls = [site.url("/slow")] * 6 + [site.url("/missing")]
    done = []
    started = time.monotonic()
    outcomes = fetch_pages([(url, supplier) for url in urls], max_workers=8, on_result=lambda i, o: done.append(i))
    elapsed = time.monotonic() - started
    assert elapsed < 2.0  # six half-second pages, overlapped
    assert all(o.status_code == 200 for o in outcomes[:6])
    assert isinstance(outcomes[6], PageNotFound)
    assert sorted(done) == list(range(7))
    assert ProxyPool.objects.count() == 0


def test_unresolvable_host_is_a_fetch_failure_not_unsafe(supplier, monkeypatch):
    import socket

    def unresolvable(host, port=None):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(netsafety, "resolve_host", unresolvable)
    with pytest.raises(FetchFailed, match="could not be resolved") as excinfo:
        fetch_page(url="https://nowhere.example/item", supplier=supplier)
    assert not excinfo.value.retryable
