from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.tests.factories import ProxyPoolFactory
from catalog.tests.fetch_servers import ForwardProxy, Reply, Site, closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def check_site(settings):
    site = Site()
    site.routes["/check"] = Reply(status=204, body=b"")
    settings.SCRAPER_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PROXY_CHECK_URL = site.url("/check")
    settings.PROXY_CHECK_TIMEOUT = 3.0
    settings.SCRAPER_CONNECT_TIMEOUT = 2.0
    settings.SCRAPER_READ_TIMEOUT = 2.0
    yield site
    site.close()


@pytest.fixture
def forward_proxy():
    server = ForwardProxy(credentials=("scraper", "hunter2-secret"))
    yield server
    server.close()


def run(*args):
    out = StringIO()
    call_command("check_proxies", *args, stdout=out)
    return out.getvalue()


def test_checks_every_active_proxy_and_prints_one_line_each(check_site, forward_proxy):
    good = ProxyPoolFactory(
        host="127.0.0.1", port=forward_proxy.port, username="scraper", password="hunter2-secret", health_score=60
    )
    dead = ProxyPoolFactory(host="127.0.0.1", port=closed_port(), health_score=100)
    skipped = ProxyPoolFactory(host="127.0.0.1", port=closed_port(), is_active=False)
    output = run()
    lines = output.strip().splitlines()
    assert len(lines) == 3  # one per active proxy, then the summary
    good_line = next(line for line in lines if str(good) in line)
    dead_line = next(line for line in lines if str(dead) in line)
    assert good_line.startswith("ok") and "health 60→68" in good_line
    assert dead_line.startswith("FAIL") and "health 100→80" in dead_line and "ConnectError" in dead_line
    assert str(skipped) not in output
    assert lines[-1].startswith(f"1 of 2 proxies passed; failed: {dead} (")  # the summary names the failed one
    assert str(good) not in lines[-1]
    assert "hunter2" not in output
    good.refresh_from_db()
    dead.refresh_from_db()
    assert good.last_checked_at is not None and good.success_count == 1 and good.health_score == 68
    assert dead.last_checked_at is not None and dead.failure_count == 1 and dead.last_failed_at is not None
    # The check went through the proxy to the configured URL.
    assert forward_proxy.seen[0].path == check_site.url("/check")
    assert check_site.paths() == ["/check"]


def test_failing_proxy_is_deactivated_and_the_reason_printed(check_site, settings):
    settings.PROXY_MAX_CONSECUTIVE_FAILURES = 2
    proxy = ProxyPoolFactory(host="127.0.0.1", port=closed_port(), consecutive_failures=1)
    output = run()
    proxy.refresh_from_db()
    assert not proxy.is_active
    assert proxy.deactivated_reason.startswith("2 consecutive connection failures; last: ConnectError")
    assert f"deactivated: {proxy.deactivated_reason}" in output


def test_site_refusing_the_proxy_is_a_mild_failure(check_site, forward_proxy):
    check_site.routes["/check"] = Reply(status=403, body="no bots")
    proxy = ProxyPoolFactory(host="127.0.0.1", port=forward_proxy.port, username="scraper", password="hunter2-secret")
    output = run()
    proxy.refresh_from_db()
    assert output.startswith("FAIL") and "HTTP 403" in output
    assert proxy.is_active and proxy.consecutive_failures == 0 and proxy.health_score == 90


def test_include_inactive_reactivates_a_proxy_that_passes(check_site, forward_proxy):
    proxy = ProxyPoolFactory(
        host="127.0.0.1",
        port=forward_proxy.port,
        username="scraper",
        password="hunter2-secret",
        is_active=False,
        deactivated_reason="8 consecutive connection failures; last: ConnectTimeout",
    )
    assert "No proxies to check." in run()
    output = run("--include-inactive")
    proxy.refresh_from_db()
    assert proxy.is_active and proxy.deactivated_reason == ""
    assert "reactivated" in output


def test_dry_run_changes_nothing(check_site):
    proxy = ProxyPoolFactory(host="127.0.0.1", port=closed_port(), health_score=100)
    output = run("--dry-run")
    proxy.refresh_from_db()
    assert output.startswith("FAIL")
    assert (proxy.failure_count, proxy.health_score, proxy.last_checked_at) == (0, 100, None)


def test_check_url_must_be_allowed(check_site, settings):
    settings.SCRAPER_ALLOWED_HOSTS = []
    ProxyPoolFactory(host="127.0.0.1", port=closed_port())
    with pytest.raises(CommandError, match="not allowed"):
        run()


def test_url_option_overrides_the_setting(check_site, forward_proxy):
    check_site.routes["/other"] = Reply(status=200, body="<html><body>ok</body></html>")
    ProxyPoolFactory(host="127.0.0.1", port=forward_proxy.port, username="scraper", password="hunter2-secret")
    output = run("--url", check_site.url("/other"))
    assert output.startswith("ok")
    assert check_site.paths() == ["/other"]
