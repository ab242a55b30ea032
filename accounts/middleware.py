import contextlib
import hashlib
import logging
import zoneinfo

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError
from django.utils import timezone

logger = logging.getLogger(__name__)


class UserTimezoneMiddleware:
    """Shows times in the signed-in seller's own time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.timezone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.timezone))
            except zoneinfo.ZoneInfoNotFoundError:
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class SessionActivityMiddleware:
    """Keeps each signed-in browser's row on the sessions page (allauth's UserSession) with its
    address and last-seen time. A cache marker lets it write at most once per
    SESSION_ACTIVITY_INTERVAL (most requests cost no query); without the cache it skips."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and session.session_key and user is not None and user.is_authenticated:
            self._record(request, user, session.session_key)
        return self.get_response(request)

    def _record(self, request, user, session_key):
        from allauth.account.adapter import get_adapter
        from allauth.core.internal.httpkit import HTTP_USER_AGENT_MAX_LENGTH
        from allauth.usersessions.models import UserSession

        marker = "session-seen:" + hashlib.sha256(session_key.encode()).hexdigest()[:32]
        interval = int(settings.SESSION_ACTIVITY_INTERVAL.total_seconds())
        try:
            if not cache.add(marker, 1, timeout=interval):
                return
        except Exception:  # noqa: BLE001 - a cache outage must not break a page; the row waits
            logger.warning("Session activity not recorded: the cache is not available.")
            return
        values = {
            "ip": get_adapter().get_client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:HTTP_USER_AGENT_MAX_LENGTH],
            "last_seen_at": timezone.now(),
        }
        if not UserSession.objects.filter(session_key=session_key, user=user).update(**values):
            # A session allauth did not sign in (made before it was installed, or by a script);
            # another request of the same browser may make the row meanwhile.
            with contextlib.suppress(IntegrityError):
                UserSession.objects.create(session_key=session_key, user=user, **values)
