import httpx
import pytest

from catalog import proxies
from catalog.models import ProxyPool
from catalog.tests.factories import ProxyPoolFactory

pytestmark = pytest.mark.django_db


def test_choose_returns_none_without_active_proxies():
    ProxyPoolFactory(is_active=False)
    assert proxies.proxy_choose() is None


def test_choose_picks_only_active_proxies_not_excluded():
    first = ProxyPoolFactory()
    second = ProxyPoolFactory()
    ProxyPoolFactory(is_active=False)
    assert {proxies.proxy_choose(exclude_ids=[first.pk]).pk for _ in range(20)} == {second.pk}


def test_choose_weights_by_health(monkeypatch):
    healthy = ProxyPoolFactory(health_score=90)
    sick = ProxyPoolFactory(health_score=10)
    dead = ProxyPoolFactory(health_score=0)
    seen = {}

    def fake_choices(population, weights, k):
        seen.update({proxy.pk: weight for proxy, weight in zip(population, weights, strict=True)})
        return [population[0]]

    monkeypatch.setattr(proxies.random, "choices", fake_choices)
    proxies.proxy_choose()
    assert seen == {healthy.pk: 90, sick.pk: 10, dead.pk: 1}


def test_choose_prefers_healthy_proxies_statistically():
    healthy = ProxyPoolFactory(health_score=100)
    ProxyPoolFactory(health_score=5)
    picks = [proxies.proxy_choose().pk for _ in range(400)]
    assert picks.count(healthy.pk) > 300


def test_success_counts_and_raises_health():
    proxy = ProxyPoolFactory(health_score=50, consecutive_failures=3)
    proxies.proxy_record_success(proxy=proxy)
    proxy.refresh_from_db()
    assert proxy.success_count == 1
    assert proxy.consecutive_failures == 0
    assert proxy.health_score == 60  # a fifth of the way to 100


def test_health_reaches_but_never_passes_100_and_0():
    proxy = ProxyPoolFactory(health_score=99)
    proxies.proxy_record_success(proxy=proxy)
    proxy.refresh_from_db()
    assert proxy.health_score == 100
    proxies.proxy_record_success(proxy=proxy)
    proxy.refresh_from_db()
    assert proxy.health_score == 100
    ProxyPool.objects.filter(pk=proxy.pk).update(health_score=3)
    proxies.proxy_record_failure(proxy=proxy, error="x")
    proxies.proxy_record_failure(proxy=proxy, error="x")
    proxies.proxy_record_failure(proxy=proxy, error="x")
    proxy.refresh_from_db()
    assert proxy.health_score == 0


def test_failure_counts_and_lowers_health():
    proxy = ProxyPoolFactory(health_score=100)
    deactivated = proxies.proxy_record_failure(proxy=proxy, error=httpx.ConnectError("refused"))
    proxy.refresh_from_db()
    assert not deactivated
    assert proxy.failure_count == 1
    assert proxy.consecutive_failures == 1
    assert proxy.last_failed_at is not None
    assert proxy.health_score == 80
    assert proxy.is_active


def test_blocked_is_a_mild_dip_that_does_not_count_towards_deactivation():
    proxy = ProxyPoolFactory(health_score=100, consecutive_failures=2)
    proxies.proxy_record_blocked(proxy=proxy)
    proxy.refresh_from_db()
    assert proxy.failure_count == 1
    assert proxy.consecutive_failures == 2
    assert proxy.health_score == 90


def test_proxy_that_keeps_failing_is_deactivated_with_the_reason(settings):
    settings.PROXY_MAX_CONSECUTIVE_FAILURES = 4
    proxy = ProxyPoolFactory()
    results = [proxies.proxy_record_failure(proxy=proxy, error=httpx.ConnectTimeout("timed out")) for _ in range(4)]
    proxy.refresh_from_db()
    assert results == [False, False, False, True]
    assert not proxy.is_active
    assert proxy.deactivated_reason == proxies.DEACTIVATED_AFTER_FAILURES.format(
        count=4, error="ConnectTimeout: timed out"
    )


def test_a_success_resets_the_failure_streak(settings):
    settings.PROXY_MAX_CONSECUTIVE_FAILURES = 3
    proxy = ProxyPoolFactory()
    proxies.proxy_record_failure(proxy=proxy, error="a")
    proxies.proxy_record_failure(proxy=proxy, error="b")
    proxies.proxy_record_success(proxy=proxy)
    proxies.proxy_record_failure(proxy=proxy, error="c")
    proxy.refresh_from_db()
    assert proxy.is_active
    assert proxy.failure_count == 3
    assert proxy.consecutive_failures == 1


def test_deactivation_reason_never_holds_the_password(settings):
    settings.PROXY_MAX_CONSECUTIVE_FAILURES = 1
    proxy = ProxyPoolFactory(password="s3cr3t pass")
    proxies.proxy_record_failure(proxy=proxy, error=f"cannot reach http://scraper:{proxy.password}@host")
    proxy.refresh_from_db()
    assert not proxy.is_active
    assert "s3cr3t" not in proxy.deactivated_reason
    assert proxies.SECRET_MASK in proxy.deactivated_reason


def test_reactivate_clears_the_reason():
    proxy = ProxyPoolFactory(is_active=False, deactivated_reason="8 consecutive connection failures")
    proxies.proxy_reactivate(proxy=proxy)
    proxy.refresh_from_db()
    assert proxy.is_active
    assert proxy.deactivated_reason == ""


def test_proxy_url_quotes_credentials():
    proxy = ProxyPoolFactory.build(host="p.example", port=3128, username="u@x", password="p:w/d", protocol="http")
    assert proxies.proxy_url(proxy) == "http://u%40x:p%3Aw%2Fd@p.example:3128"
    assert proxies.proxy_url(proxy, with_credentials=False) == "http://p.example:3128"
    assert "p:w/d" not in str(proxy)
