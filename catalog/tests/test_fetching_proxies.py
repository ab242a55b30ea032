"""fetch_page through the proxy pool: health updates, deactivation, and telling a bad proxy from a bad page."""

import pytest

from catalog.fetching import FetchFailed, PageNotFound, UnsafeURL, fetch_page
from catalog.tests.factories import ProxyPoolFactory
from catalog.tests.fetch_servers import (  # noqa: F401 - fixtures
    CAPTCHA_PAGE,
    DroppingProxy,
    ForwardProxy,
    Reply,
    closed_port,
    fetch_settings_fixture,
    page,
    site_fixture,
    supplier_fixture,
)

pytestmark = pytest.mark.django_db


# --- Proxies ---------------------------------------------------------------------------------


@pytest.fixture
def forward_proxy():
    server = ForwardProxy(credentials=("scraper", "pa:ss"))
    yield server
    server.close()


def pool_proxy(server, **kwargs):
    defaults = {"host": "127.0.0.1", "port": server.port, "username": "scraper", "password": "pa:ss"}
    return ProxyPoolFactory(**{**defaults, **kwargs})


@pytest.fixture
def pick_healthiest(monkeypatch):
    """Make the weighted choice deterministic: the healthiest proxy not yet tried."""
    from catalog import proxies

    monkeypatch.setattr(
        proxies.random, "choices", lambda population, weights, k: [max(population, key=lambda p: p.health_score)]
    )


def test_fetches_through_an_active_proxy_and_records_success(site, supplier, forward_proxy):
    proxy = pool_proxy(forward_proxy, health_score=50)
    site.routes["/item"] = page()
    result = fetch_page(url=site.url("/item"), supplier=supplier)
    assert result.proxy_id == proxy.pk
    assert forward_proxy.seen[0].path == site.url("/item")  # absolute-form: it went via the proxy
    assert forward_proxy.seen[0].headers["proxy-authorization"] == forward_proxy.expected_auth()
    assert site.seen[0].headers["user-agent"].startswith("Mozilla/5.0")
    proxy.refresh_from_db()
    assert (proxy.success_count, proxy.failure_count, proxy.health_score) == (1, 0, 60)


def test_inactive_proxies_are_not_used(site, supplier):
    ProxyPoolFactory(host="127.0.0.1", port=closed_port(), is_active=False)
    site.routes["/item"] = page()
    assert fetch_page(url=site.url("/item"), supplier=supplier).proxy_id is None


def test_dead_proxy_is_charged_and_another_gets_the_page(site, supplier, forward_proxy, settings, pick_healthiest):
    settings.SCRAPER_MAX_ATTEMPTS = 3
    dead = ProxyPoolFactory(host="127.0.0.1", port=closed_port(), health_score=100)
    good = pool_proxy(forward_proxy, health_score=90)
    site.routes["/item"] = page()
    result = fetch_page(url=site.url("/item"), supplier=supplier)
    assert result.proxy_id == good.pk
    dead.refresh_from_db()
    good.refresh_from_db()
    assert (dead.failure_count, dead.consecutive_failures, dead.health_score) == (1, 1, 80)
    assert dead.last_failed_at is not None
    assert (good.success_count, good.failure_count) == (1, 0)


def test_proxy_that_keeps_failing_is_deactivated_with_the_reason(site, supplier, settings):
    settings.SCRAPER_MAX_ATTEMPTS = 3
    settings.PROXY_MAX_CONSECUTIVE_FAILURES = 3
    proxy = ProxyPoolFactory(host="127.0.0.1", port=closed_port())
    site.routes["/item"] = page()
    with pytest.raises(FetchFailed) as excinfo:
        fetch_page(url=site.url("/item"), supplier=supplier)
    assert excinfo.value.retryable
    proxy.refresh_from_db()
    assert not proxy.is_active
    assert proxy.failure_count == 3
    assert proxy.deactivated_reason.startswith("3 consecutive connection failures; last: ConnectError")
    assert site.seen == []  # never fell back to a direct request while the proxy was active
    # With no active proxy left, the next fetch goes direct.
    assert fetch_page(url=site.url("/item"), supplier=supplier).proxy_id is None


def test_wrong_proxy_credentials_count_against_the_proxy(site, supplier, forward_proxy):
    proxy = pool_proxy(forward_proxy, password="wrong")
    site.routes["/item"] = page()
    with pytest.raises(FetchFailed):
        fetch_page(url=site.url("/item"), supplier=supplier)
    proxy.refresh_from_db()
    assert proxy.consecutive_failures == 1
    assert site.seen == []


def test_a_missing_page_does_not_punish_the_proxy(site, supplier, forward_proxy):
    proxy = pool_proxy(forward_proxy, health_score=70)
    with pytest.raises(PageNotFound):
        fetch_page(url=site.url("/nope"), supplier=supplier)
    proxy.refresh_from_db()
    assert (proxy.success_count, proxy.failure_count, proxy.consecutive_failures) == (1, 0, 0)
    assert proxy.health_score == 76


def test_a_block_through_a_proxy_tries_another_proxy(site, supplier, settings, pick_healthiest):
    settings.SCRAPER_MAX_ATTEMPTS = 3
    banned_server, clean_server = ForwardProxy(), ForwardProxy()
    try:
        banned = ProxyPoolFactory(host="127.0.0.1", port=banned_server.port, username=None, password=None)
        clean = ProxyPoolFactory(
            host="127.0.0.1", port=clean_server.port, username=None, password=None, health_score=90
        )
        answers = iter([page(body=CAPTCHA_PAGE), page()])
        site.routes["/item"] = lambda handler: next(answers)
        result = fetch_page(url=site.url("/item"), supplier=supplier)
        assert result.proxy_id == clean.pk
        banned.refresh_from_db()
        assert (banned.failure_count, banned.consecutive_failures, banned.health_score) == (1, 0, 90)
    finally:
        banned_server.close()
        clean_server.close()


def test_a_page_failing_through_several_proxies_is_the_pages_problem(site, supplier, settings):
    settings.SCRAPER_MAX_ATTEMPTS = 2
    settings.SCRAPER_READ_TIMEOUT = 0.3
    servers = [ForwardProxy(), ForwardProxy()]
    try:
        pool = [ProxyPoolFactory(host="127.0.0.1", port=s.port, username=None, password=None) for s in servers]
        site.routes["/hangs"] = page(delay=1.0)
        with pytest.raises(FetchFailed) as excinfo:
            fetch_page(url=site.url("/hangs"), supplier=supplier)
        assert excinfo.value.retryable
        assert all(len(s.seen) == 1 for s in servers)  # each proxy was tried once
        for proxy in pool:
            proxy.refresh_from_db()
            assert (proxy.failure_count, proxy.consecutive_failures, proxy.health_score) == (0, 0, 100)
    finally:
        for server in servers:
            server.close()


def test_a_proxy_breaking_where_another_succeeds_is_charged(site, supplier, forward_proxy, settings, pick_healthiest):
    settings.SCRAPER_MAX_ATTEMPTS = 2
    dropping = DroppingProxy()
    try:
        broken = ProxyPoolFactory(host="127.0.0.1", port=dropping.port, health_score=100)
        good = pool_proxy(forward_proxy, health_score=90)
        site.routes["/item"] = page()
        assert fetch_page(url=site.url("/item"), supplier=supplier).proxy_id == good.pk
        assert dropping.accepted == 1
        broken.refresh_from_db()
        assert (broken.failure_count, broken.consecutive_failures) == (1, 1)
    finally:
        dropping.close()


def test_redirect_to_metadata_address_through_a_proxy_is_refused(site, supplier, forward_proxy):
    pool_proxy(forward_proxy)
    site.routes["/go"] = Reply(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}, body="")
    with pytest.raises(UnsafeURL, match="cloud metadata"):
        fetch_page(url=site.url("/go"), supplier=supplier)
    assert [seen.path for seen in forward_proxy.seen] == [site.url("/go")]  # the second hop was never sent
