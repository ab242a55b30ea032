"""How long until one of allauth's rate limits lets a request through again, so a refused seller is
told "try again in N minutes" (allauth keeps the hits in the cache; this only reads them)."""

import math
import time

from allauth.core.internal import ratelimit
from django.core.cache import cache

ALLAUTH_APP = "allauth.account"
TRY_AGAIN_MESSAGE = "Too many attempts for now: try again in {minutes} minute{s}."


def wait_seconds(request, *, action: str, key: str | None = None) -> int:
    """Seconds before `action` is allowed again for this client (and key); 0 when it is now."""
    now = time.time()
    wait = 0.0
    for rate in ratelimit.get_rates(app=ALLAUTH_APP, action=action):
        if rate.per == "key" and not key:
            continue
        if rate.per == "user" and not request.user.is_authenticated:
            continue
        cache_key = ratelimit.get_cache_key(request, app=ALLAUTH_APP, action=action, rate=rate, key=key)
        hits = sorted((hit for hit in cache.get(cache_key, []) if hit > now - rate.duration), reverse=True)
        if len(hits) >= rate.amount:
            wait = max(wait, hits[rate.amount - 1] + rate.duration - now)
    return math.ceil(wait)


def wait_minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def try_again_message(seconds: int) -> str:
    minutes = wait_minutes(seconds)
    return TRY_AGAIN_MESSAGE.format(minutes=minutes, s="" if minutes == 1 else "s")


# allauth's rate-limited pages (URL names) and the limit each one spends, with its key.
PAGE_ACTIONS = {
    "account_signup": ("signup", None),
    "account_reset_password": ("reset_password", "email"),
    "account_reset_password_from_key": ("reset_password_from_key", None),
    "account_change_password": ("change_password", None),
    "account_set_password": ("change_password", None),
    "account_email": ("manage_email", None),
    "account_reauthenticate": ("reauthenticate", None),
    "mfa_reauthenticate": ("reauthenticate", None),
    "accounts:verification_resend": ("confirm_email", "email"),
}


def page_wait_seconds(request) -> int:
    """The wait for the rate limit the current page spends (for allauth's 429 page)."""
    match = getattr(request, "resolver_match", None)
    name = match.view_name if match else ""
    if name not in PAGE_ACTIONS:
        return 0
    action, key_field = PAGE_ACTIONS[name]
    key = (request.POST.get(key_field) or "").strip().lower() if key_field else None
    return wait_seconds(request, action=action, key=key)
