"""How the seller API knows who is calling and how much they may: `Authorization: Bearer <access
token>` (accounts.tokens), and the tier's calls per minute and per day (accounts.limits)."""

import logging

import redis
from django.db import DatabaseError
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.throttling import BaseThrottle

from monitoring.records import client_ip

from .limits import ANONYMOUS_LIMIT_MESSAGE, API_LIMIT_MESSAGE, api_call_count, api_rate_limits, user_key
from .tokens import TokenError, session_for_access_token

logger = logging.getLogger(__name__)
BEARER_MALFORMED = "Send the access token as `Authorization: Bearer <access_token>`."
WINDOW_WORDS = {"minute": "minute", "day": "day (UTC)"}


class BearerTokenAuthentication(BaseAuthentication):
    """An access token from POST /api/v1/auth/token/ (or /refresh/): checked for its signature and
    expiry, and against its session (revoked or replaced tokens stop at once)."""

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(BEARER_MALFORMED)
        try:
            session = session_for_access_token(parts[1].decode("ascii", errors="replace"))
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(exc.message) from exc
        return session.user, session

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class TierRateThrottle(BaseThrottle):
    """The seller's tier limits (per minute and per day), or the limits of requests without a token,
    per client address. The count is kept on the request for the RateLimit headers. When the
    counter cannot be reached the call goes through (logged): an outage must not stop the API."""

    def allow_request(self, request, view):
        user = request.user if request.user and request.user.is_authenticated else None
        limits = api_rate_limits(user)
        key = user_key(user) if user is not None else f"ip:{client_ip(request._request) or 'unknown'}"
        try:
            quota = api_call_count(key, limits)
        except (redis.RedisError, DatabaseError) as exc:
            logger.warning("API calls not counted (%s): the counter is not available", exc)
            return True
        request._api_quota = quota
        if quota.allowed:
            return True
        window = WINDOW_WORDS[quota.window]
        if user is not None:
            message = API_LIMIT_MESSAGE.format(
                tier=user.get_tier_display(), limit=quota.limit, window=window, wait=quota.retry_after
            )
        else:
            message = ANONYMOUS_LIMIT_MESSAGE.format(limit=quota.limit, window=window, wait=quota.retry_after)
        refused = exceptions.Throttled(detail=message, code="rate_limited")
        refused.wait = quota.retry_after
        raise refused

    def wait(self):
        return None
