"""API token sessions (accounts.Session): a seller's API key exchanged for an access token (a JWT
signed with API_SIGNING_KEY, API_ACCESS_TOKEN_LIFETIME) and an opaque refresh token
(API_REFRESH_TOKEN_LIFETIME); both are stored only as hashes.

A refresh rotates both tokens; the replaced refresh token is kept (hashed) so that using it again
is recognised: that is a stolen token being tried, and the whole session ends at once (its live
access token stops working with it). Revoking a session, rotating or revoking the API key, or
staff's admin action end sessions the same way. Each is audited in the seller's security log.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

import jwt
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitoring.records import audit_record, client_ip

from .models import RetiredRefreshToken, RevokeReason, Session, User, token_hash

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "arbitrage-monitor"
JWT_AUDIENCE = "seller-api"
REFRESH_TOKEN_PREFIX = "amr_"

API_SESSION_CREATED = "api_session_created"
API_SESSION_REVOKED = "api_session_revoked"
API_REFRESH_REUSED = "api_refresh_token_reused"

INVALID_API_KEY = "The API key is not valid (it may have been replaced or revoked): make a new one in Settings."
ACCOUNT_INACTIVE = "This account is closed."
TOKEN_INVALID = "The access token is not valid."
TOKEN_EXPIRED = "The access token has expired: get a new one with your refresh token (POST /api/v1/auth/refresh/)."
SESSION_ENDED = "This API session has ended: exchange your API key for new tokens."
REFRESH_INVALID = "The refresh token is not valid or has expired: exchange your API key for new tokens."
REFRESH_REUSED = (
    "This refresh token was already used and replaced. Using it again ends the session (it may have been "
    "stolen): exchange your API key for new tokens."
)


class TokenError(Exception):
    """A token or key that cannot be used; the message says why (for the 401 answer)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class IssuedTokens:
    """What a script gets once, in clear: never stored like this."""

    session: Session
    access_token: str
    refresh_token: str
    access_expires_at: datetime


def _access_token(session: Session, now: datetime) -> tuple[str, datetime]:
    expires = now + settings.API_ACCESS_TOKEN_LIFETIME
    claims = {
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "sub": str(session.user_id),
        "sid": session.pk,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_urlsafe(16),  # two tokens made in the same second still differ
    }
    return jwt.encode(claims, settings.API_SIGNING_KEY, algorithm=JWT_ALGORITHM), expires


def _refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(48)


def _reason_note(reason: str) -> str:
    return RevokeReason(reason).label


def user_for_api_key(raw_key: str) -> User:
    """The active seller whose API key this is; TokenError otherwise (the same answer for a wrong key
    and for no key, so nothing tells a guesser which keys exist)."""
    digest = token_hash(raw_key or "")
    user = User.objects.filter(api_key=digest).exclude(api_key="").first() if raw_key else None
    if user is None or not user.api_key_matches(raw_key):
        raise TokenError(INVALID_API_KEY)
    if not user.is_active:
        raise TokenError(ACCOUNT_INACTIVE)
    return user


@transaction.atomic
def api_session_create(*, user: User, name: str = "", request=None) -> IssuedTokens:
    """A new API session for the seller (their key already checked): tokens in clear, once."""
    now = timezone.now()
    refresh = _refresh_token()
    session = Session.objects.create(
        user=user,
        name=(name or "").strip()[:100],
        # A placeholder unique hash until the access token, which names the session's id, exists.
        token=token_hash(secrets.token_urlsafe(32)),
        refresh_token=token_hash(refresh),
        expires_at=now + settings.API_REFRESH_TOKEN_LIFETIME,
        last_used_at=now,
        ip_address=client_ip(request) if request is not None else None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:400] if request is not None else "",
        api_key_prefix=user.api_key_prefix,
    )
    access, access_expires = _access_token(session, now)
    session.token = token_hash(access)
    session.save(update_fields=["token"])
    audit_record(
        acting_user=user,
        owner=user,
        action=API_SESSION_CREATED,
        resource=user,
        new_value={"session": session.pk, "name": session.name, "api_key_prefix": session.api_key_prefix},
        request=request,
    )
    return IssuedTokens(session=session, access_token=access, refresh_token=refresh, access_expires_at=access_expires)


def session_for_access_token(raw: str, *, now: datetime | None = None) -> Session:
    """The live session an access token belongs to, with its user; TokenError when the signature,
    the expiry, the session (revoked, expired, replaced by a refresh) or the account says no.
    Writes last_used_at at most once per API_LAST_USED_INTERVAL."""
    now = now or timezone.now()
    try:
        claims = jwt.decode(
            raw,
            settings.API_SIGNING_KEY,
            algorithms=[JWT_ALGORITHM],
            audience=JWT_AUDIENCE,
            issuer=JWT_ISSUER,
            options={"require": ["exp", "sid", "sub", "iat"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError(TOKEN_EXPIRED) from exc
    except jwt.PyJWTError as exc:
        raise TokenError(TOKEN_INVALID) from exc
    session = (
        Session.objects.select_related("user")
        .filter(pk=claims["sid"], user_id=claims["sub"], token=token_hash(raw))
        .first()
    )
    if session is None or session.revoked_at is not None or session.expires_at <= now:
        raise TokenError(SESSION_ENDED)
    if not session.user.is_active:
        raise TokenError(ACCOUNT_INACTIVE)
    interval = settings.API_LAST_USED_INTERVAL
    if session.last_used_at is None or session.last_used_at <= now - interval:
        Session.objects.filter(pk=session.pk).update(last_used_at=now)
        session.last_used_at = now
    return session


def api_session_refresh(*, refresh_token: str, request=None) -> IssuedTokens:
    """Rotate a session's tokens: a new access and refresh token, the old refresh token retired.
    A retired refresh token used again ends the whole session (theft detection) and raises."""
    digest = token_hash(refresh_token or "")
    now = timezone.now()
    with transaction.atomic():
        session = Session.objects.select_for_update().select_related("user").filter(refresh_token=digest).first()
        if session is None:
            retired = RetiredRefreshToken.objects.select_related("session__user").filter(token=digest).first()
            if retired is not None:
                api_session_revoke(
                    session=retired.session, reason=RevokeReason.REFRESH_REUSED, acting_user=None, request=request
                )
                audit_record(
                    acting_user=None,
                    owner=retired.session.user,
                    action=API_REFRESH_REUSED,
                    resource=retired.session.user,
                    new_value={"session": retired.session_id},
                    request=request,
                    notes="A replaced refresh token was used again: the session was ended.",
                )
                # Raised once the block has committed: the error must not undo the revocation.
                raise_after = TokenError(REFRESH_REUSED)
            else:
                raise_after = TokenError(REFRESH_INVALID)
        elif session.revoked_at is not None or session.expires_at <= now or not session.user.is_active:
            raise_after = TokenError(REFRESH_INVALID)
        else:
            raise_after = None
            new_refresh = _refresh_token()
            RetiredRefreshToken.objects.create(session=session, token=session.refresh_token)
            access, access_expires = _access_token(session, now)
            session.token = token_hash(access)
            session.refresh_token = token_hash(new_refresh)
            session.expires_at = now + settings.API_REFRESH_TOKEN_LIFETIME
            session.last_used_at = now
            session.save(update_fields=["token", "refresh_token", "expires_at", "last_used_at"])
    if raise_after is not None:
        raise raise_after
    return IssuedTokens(
        session=session, access_token=access, refresh_token=new_refresh, access_expires_at=access_expires
    )


def api_session_revoke(*, session: Session, reason: str, acting_user, request=None) -> bool:
    """End an API session at once (its access and refresh tokens stop working); audited in the
    seller's security log. False when it had already ended."""
    now = timezone.now()
    with transaction.atomic():
        ended = Session.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoke_reason=reason
        )
        if ended:
            audit_record(
                acting_user=acting_user,
                owner=session.user,
                action=API_SESSION_REVOKED,
                resource=session.user,
                old_value={"session": session.pk, "name": session.name},
                new_value={"revoked_at": now, "reason": reason},
                request=request,
                notes=_reason_note(reason),
            )
    if ended:
        session.revoked_at, session.revoke_reason = now, reason
    return bool(ended)


def api_sessions_revoke_all(*, user: User, reason: str, acting_user, request=None) -> int:
    """End every live API session of the seller (the API key they were made with changed)."""
    ended = 0
    for session in user.sessions.filter(revoked_at__isnull=True).select_related("user"):
        ended += api_session_revoke(session=session, reason=reason, acting_user=acting_user, request=request)
    return ended


def api_session_for_refresh_token(raw: str) -> Session | None:
    """The session a (current) refresh token belongs to, or None."""
    return Session.objects.filter(refresh_token=token_hash(raw or "")).first() if raw else None
