"""The proxy pool: choosing a proxy by health and recording how each request through it went.

Health is a moving average (0–100) of request outcomes: a success pulls it towards 100, a
connection failure towards 0, a page the site refused through the proxy (ban, CAPTCHA) towards
50. A proxy that fails to connect PROXY_MAX_CONSECUTIVE_FAILURES times in a row is deactivated,
with `deactivated_reason` saying why so staff see it in the admin. Updates are single UPDATE
statements with F() expressions, so concurrent workers never lose a count.
"""

import random
import time
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.db.models import ExpressionWrapper, F, IntegerField, Value
from django.utils import timezone

from catalog.models import ProxyPool

DEACTIVATED_AFTER_FAILURES = "{count} consecutive connection failures; last: {error}"
SECRET_MASK = "***"

# Health moves a fifth of the way towards the outcome's sample each time (integer arithmetic,
# rounded towards the sample so it can reach 0 and 100).
_SUCCESS_HEALTH = ExpressionWrapper((F("health_score") * 4 + 104) / 5, output_field=IntegerField())
_FAILURE_HEALTH = ExpressionWrapper((F("health_score") * 4) / 5, output_field=IntegerField())
_BLOCKED_HEALTH = ExpressionWrapper((F("health_score") * 4 + 52) / 5, output_field=IntegerField())


_active = {"at": float("-inf"), "proxies": []}
ACTIVE_LIST_SECONDS = 2.0  # how stale this process's view of the pool may be


def active_proxies() -> list[ProxyPool]:
    """The active proxies, read at most every ACTIVE_LIST_SECONDS per process: every fetch asks,
    and a health change or a deactivation may take that long to be seen."""
    now = time.monotonic()
    if now - _active["at"] > ACTIVE_LIST_SECONDS:
        _active["proxies"] = list(ProxyPool.objects.filter(is_active=True))
        _active["at"] = now
    return _active["proxies"]


def active_proxies_forget() -> None:
    _active["at"] = float("-inf")


def proxy_choose(*, exclude_ids=()) -> ProxyPool | None:
    """An active proxy picked at random, weighted by health_score; None when there is none."""
    excluded = set(exclude_ids)
    candidates = [proxy for proxy in active_proxies() if proxy.pk not in excluded]
    if not candidates:
        return None
    weights = [max(proxy.health_score, 1) for proxy in candidates]
    return random.choices(candidates, weights=weights, k=1)[0]


def proxy_url(proxy: ProxyPool, *, with_credentials: bool = True) -> str:
    """The proxy as a URL (credentials quoted in; never log this: use str(proxy))."""
    auth = ""
    if with_credentials and proxy.username:
        auth = quote(proxy.username, safe="")
        if proxy.password:
            auth += ":" + quote(proxy.password, safe="")
        auth += "@"
    return f"{proxy.protocol}://{auth}{proxy.host}:{proxy.port}"


def scrub(proxy: ProxyPool | None, message: str) -> str:
    """The message with the proxy's password (plain or URL-quoted) masked."""
    if proxy is not None and proxy.password:
        for secret in {proxy.password, quote(proxy.password, safe="")}:
            message = message.replace(secret, SECRET_MASK)
    return message


def describe_error(error) -> str:
    """A short 'ExceptionName: message' for a failure, as staff read it."""
    if isinstance(error, BaseException):
        text = str(error).strip()
        return f"{type(error).__name__}: {text}" if text else type(error).__name__
    return str(error)


def proxy_record_success(*, proxy: ProxyPool, checked: bool = False) -> None:
    """A request through the proxy got an answer from the site (whatever its status)."""
    fields = {"success_count": F("success_count") + 1, "consecutive_failures": 0, "health_score": _SUCCESS_HEALTH}
    if checked:
        fields["last_checked_at"] = timezone.now()
    ProxyPool.objects.filter(pk=proxy.pk).update(**fields)


def proxy_record_blocked(*, proxy: ProxyPool, checked: bool = False) -> None:
    """The site answered through the proxy but refused the page (ban, CAPTCHA): a mild health dip."""
    fields = {
        "failure_count": F("failure_count") + 1,
        "last_failed_at": timezone.now(),
        "health_score": _BLOCKED_HEALTH,
    }
    if checked:
        fields["last_checked_at"] = timezone.now()
    ProxyPool.objects.filter(pk=proxy.pk).update(**fields)


@transaction.atomic
def proxy_record_failure(*, proxy: ProxyPool, error, checked: bool = False) -> bool:
    """A request could not get through the proxy; deactivates it after too many in a row.

    Returns True when this failure deactivated the proxy.
    """
    now = timezone.now()
    fields = {
        "failure_count": F("failure_count") + 1,
        "consecutive_failures": F("consecutive_failures") + 1,
        "last_failed_at": now,
        "health_score": _FAILURE_HEALTH,
    }
    if checked:
        fields["last_checked_at"] = now
    ProxyPool.objects.filter(pk=proxy.pk).update(**fields)
    count = ProxyPool.objects.filter(pk=proxy.pk).values_list("consecutive_failures", flat=True).first() or 0
    if count >= settings.PROXY_MAX_CONSECUTIVE_FAILURES:
        reason = DEACTIVATED_AFTER_FAILURES.format(count=count, error=scrub(proxy, describe_error(error)))
        return proxy_deactivate(proxy=proxy, reason=reason)
    return False


def proxy_deactivate(*, proxy: ProxyPool, reason: str) -> bool:
    """Switch the proxy off with the reason staff will see; False when it was already off."""
    reason = scrub(proxy, reason)[: ProxyPool._meta.get_field("deactivated_reason").max_length]
    changed = ProxyPool.objects.filter(pk=proxy.pk, is_active=True).update(is_active=False, deactivated_reason=reason)
    active_proxies_forget()
    if changed:
        proxy.is_active = False
        proxy.deactivated_reason = reason
    return bool(changed)


def proxy_reactivate(*, proxy: ProxyPool) -> None:
    """Put a proxy back into use with a clean failure streak (after it passed a check)."""
    ProxyPool.objects.filter(pk=proxy.pk).update(
        is_active=True, deactivated_reason="", consecutive_failures=0, health_score=Value(50)
    )
    active_proxies_forget()


@dataclass
class ProxyCheck:
    """How one proxy did when checked (manage.py check_proxies prints one per proxy)."""

    proxy: ProxyPool
    ok: bool
    detail: str
    elapsed: float
    status_code: int | None = None
    health_before: int = 0
    health_after: int = 0
    deactivated: bool = False
    recorded: bool = True  # False when the check said nothing about the proxy (e.g. check URL unresolvable)


def proxy_check(*, proxy: ProxyPool, url: str | None = None, record: bool = True) -> ProxyCheck:
    """Request `url` (settings.PROXY_CHECK_URL) through the proxy and record the outcome in its health.

    2xx/3xx is a pass; a connection or proxy error (or HTTP 407) a failure that counts towards
    deactivation; any other status means the site refused the proxy (a mild health dip).
    Raises UnsafeURL when the check URL itself is not allowed (SSRF rule).
    """
    import httpx

    from catalog.fetching import transport
    from catalog.fetching.content import request_headers
    from catalog.fetching.results import FetchFailed

    url = url or settings.PROXY_CHECK_URL
    before = proxy.health_score
    started = time.monotonic()
    status = None
    outcome = "failure"
    try:
        raw = transport.send(
            url, headers=request_headers(None, url), proxy=proxy, total_timeout=settings.PROXY_CHECK_TIMEOUT
        )
    except httpx.HTTPError as exc:
        error = exc
        detail = scrub(proxy, describe_error(exc))
    except FetchFailed as exc:
        error = exc
        detail = scrub(proxy, describe_error(exc))
        outcome = "inconclusive"
    else:
        status = raw.status_code
        error = f"HTTP {status}"
        detail = error
        if 200 <= status < 400:
            outcome = "success"
        elif status != 407:
            outcome = "blocked"
    elapsed = time.monotonic() - started
    deactivated = False
    if record:
        if outcome == "success":
            proxy_record_success(proxy=proxy, checked=True)
        elif outcome == "blocked":
            proxy_record_blocked(proxy=proxy, checked=True)
        elif outcome == "failure":
            deactivated = proxy_record_failure(proxy=proxy, error=error, checked=True)
        proxy.refresh_from_db()
    return ProxyCheck(
        proxy=proxy,
        ok=outcome == "success",
        detail=detail,
        elapsed=elapsed,
        status_code=status,
        health_before=before,
        health_after=proxy.health_score,
        deactivated=deactivated,
        recorded=record and outcome != "inconclusive",
    )
