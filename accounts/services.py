"""Changes to a seller's account: settings, API key, sign-ins, browser sessions, deletion. Each one
a seller could ask "who did that?" about writes its own audit row (their security log)."""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitoring.records import audit_record

from .lockout import normalize_email
from .models import AccountPolicy, KnownDevice, RevokeReason, User, token_hash
from .tokens import api_sessions_revoke_all

logger = logging.getLogger(__name__)

# Audit actions of the security log (resource: the account itself).
SIGNED_IN = "signed_in"
SIGN_IN_FAILED = "sign_in_failed"
PASSWORD_CHANGED = "password_changed"
PASSWORD_RESET = "password_reset"
PASSWORD_SET = "password_set"
EMAIL_CHANGED = "email_changed"
EMAIL_REMOVED = "email_removed"
TWO_FACTOR_ENABLED = "two_factor_enabled"
TWO_FACTOR_DISABLED = "two_factor_disabled"
RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
API_KEY_CREATED = "api_key_created"
API_KEY_REPLACED = "api_key_replaced"
API_KEY_REVOKED = "api_key_revoked"
SESSIONS_ENDED = "sessions_signed_out"
DELETION_REQUESTED = "deletion_requested"
ACCOUNT_DELETED = "account_deleted"
SECURITY_ACTIONS = (
    SIGNED_IN,
    SIGN_IN_FAILED,
    PASSWORD_CHANGED,
    PASSWORD_RESET,
    PASSWORD_SET,
    EMAIL_CHANGED,
    EMAIL_REMOVED,
    TWO_FACTOR_ENABLED,
    TWO_FACTOR_DISABLED,
    RECOVERY_CODES_REGENERATED,
    API_KEY_CREATED,
    API_KEY_REPLACED,
    API_KEY_REVOKED,
    SESSIONS_ENDED,
    DELETION_REQUESTED,
)
SIGN_IN_FAILED_PASSWORD = "Wrong password."
SIGN_IN_FAILED_LOCKED = "Refused: too many failed attempts (locked for now)."
SIGN_IN_FAILED_SECOND_FACTOR = "Wrong two-factor code."
NEW_DEVICE_NOTICE = "accounts/email/new_device"
API_KEY_NOTICE = "accounts/email/api_key_created"


def _notice(template_prefix: str, user: User, context: dict | None = None) -> None:
    """A security notice by email, through allauth's adapter (same look, IP and browser lines)."""
    from allauth.account.adapter import get_adapter

    get_adapter().send_notification_mail(template_prefix, user, context)


@transaction.atomic
def user_settings_update(*, user: User, acting_user, old_value: dict, new_value: dict, request=None) -> User:
    """Save the settings a seller changed and record who changed them, old and new values."""
    if not new_value:
        return user
    for field, value in new_value.items():
        setattr(user, field, value)
    user.save(update_fields=[*new_value, "updated_at"])
    audit_record(
        acting_user=acting_user,
        owner=user,
        action="updated",
        resource=user,
        old_value=old_value,
        new_value=new_value,
        request=request,
    )
    return user


@transaction.atomic
def user_api_key_regenerate(*, user: User, acting_user, request=None) -> str:
    """Replace the seller's API key; returns the clear key, which is never stored or logged. The API
    sessions made with the old key end at once. The seller is told by email (a key can reprice or
    end every listing)."""
    old_prefix = user.api_key_prefix
    raw = user.api_key_generate()
    api_sessions_revoke_all(user=user, reason=RevokeReason.API_KEY_CHANGED, acting_user=acting_user, request=request)
    audit_record(
        acting_user=acting_user,
        owner=user,
        action=API_KEY_REPLACED if old_prefix else API_KEY_CREATED,
        resource=user,
        old_value={"api_key_prefix": old_prefix or None},
        new_value={"api_key_prefix": user.api_key_prefix},
        request=request,
        notes="API key regenerated" if old_prefix else "API key created",
    )
    _notice(API_KEY_NOTICE, user, {"api_key_prefix": user.api_key_prefix, "replaced": old_prefix})
    return raw


@transaction.atomic
def user_api_key_revoke(*, user: User, acting_user, request=None) -> bool:
    """Stop the seller's API key at once, without making another, and end the API sessions made
    with it; False when there was none."""
    old_prefix = user.api_key_prefix
    if not user.api_key:
        return False
    user.api_key, user.api_key_prefix, user.api_key_created_at = "", "", None
    user.save(update_fields=["api_key", "api_key_prefix", "api_key_created_at", "updated_at"])
    api_sessions_revoke_all(user=user, reason=RevokeReason.API_KEY_CHANGED, acting_user=acting_user, request=request)
    audit_record(
        acting_user=acting_user,
        owner=user,
        action=API_KEY_REVOKED,
        resource=user,
        old_value={"api_key_prefix": old_prefix},
        new_value={"api_key_prefix": None},
        request=request,
        notes="API key revoked",
    )
    return True


def security_event_record(*, user: User, action: str, request=None, old_value=None, new_value=None, notes=None):
    """One row of the seller's security log (allauth's events and ours): the seller acted, with
    their own credentials, even when not signed in yet (a password reset)."""
    return audit_record(
        acting_user=user,
        owner=user,
        action=action,
        resource=user,
        old_value=old_value,
        new_value=new_value,
        request=request,
        notes=notes,
    )


def _device_token(request) -> str | None:
    return request.COOKIES.get(settings.DEVICE_COOKIE_NAME) or None


def user_signed_in(*, user: User, request, response) -> bool:
    """A completed sign-in (password and, when on, the second factor): audited; a browser not seen
    before for this account is remembered and the seller told by email, unless it is the
    account's first one. Returns whether the browser was new."""
    from monitoring.records import client_ip

    now = timezone.now()
    token = _device_token(request)
    device = KnownDevice.objects.filter(user=user, token=token_hash(token)).first() if token else None
    is_new = device is None
    if device is not None:
        device.last_seen_at = now
        device.save(update_fields=["last_seen_at"])
    else:
        had_devices = user.known_devices.exists()
        token = token or secrets.token_urlsafe(32)
        KnownDevice.objects.create(
            user=user,
            token=token_hash(token),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:400],
            ip_address=client_ip(request),
            last_seen_at=now,
        )
        response.set_cookie(
            settings.DEVICE_COOKIE_NAME,
            token,
            max_age=int(settings.DEVICE_COOKIE_AGE.total_seconds()),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        if had_devices:
            _notice(NEW_DEVICE_NOTICE, user)
    security_event_record(user=user, action=SIGNED_IN, request=request, new_value={"new_device": is_new})
    return is_new


def user_sign_in_failed(*, email: str, request, notes: str) -> None:
    """A failed sign-in for an address that has an account goes into that seller's security log
    (failures for unknown addresses are only counted by the lockout)."""
    user = User.objects.filter(email__iexact=normalize_email(email)).first()
    if user is None:
        return
    audit_record(
        acting_user=None,
        owner=user,
        action=SIGN_IN_FAILED,
        resource=user,
        new_value={"email": normalize_email(email)},
        request=request,
        notes=notes,
    )


def user_sessions_end(*, user: User, sessions, request) -> int:
    """Sign out the given browser sessions of the seller (never the current one); audited."""
    from allauth.usersessions.adapter import get_adapter

    ending = [session for session in sessions if session.user_id == user.pk and not session.is_current()]
    if not ending:
        return 0
    get_adapter().end_sessions(ending)
    security_event_record(
        user=user,
        action=SESSIONS_ENDED,
        request=request,
        new_value={"sessions": [f"{session.ip} · {session.user_agent[:80]}" for session in ending]},
    )
    return len(ending)


def user_email_mark_verified(*, user: User) -> None:
    """Record the account's email as confirmed (for accounts made by operators, e.g. the demo)."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=user).exclude(email__iexact=user.email).update(primary=False)
    EmailAddress.objects.update_or_create(
        user=user, email=user.email.lower(), defaults={"verified": True, "primary": True}
    )


def account_delete_request(*, user: User, request) -> User:
    """The seller deletes their account (the view has wiped the store tokens first): it is
    deactivated and signed out everywhere, and its data is removed after staff's grace period
    (accounts_purge). Audited."""
    from allauth.usersessions.models import UserSession

    with transaction.atomic():
        user.is_active = False
        user.deletion_requested_at = timezone.now()
        user.save(update_fields=["is_active", "deletion_requested_at", "updated_at"])
        security_event_record(
            user=user,
            action=DELETION_REQUESTED,
            request=request,
            new_value={"remove_after_days": AccountPolicy.current().deletion_grace_days},
        )
    from allauth.usersessions.adapter import get_adapter

    get_adapter().end_sessions(list(UserSession.objects.filter(user=user)))
    return user


def accounts_purge(*, now=None, dry_run: bool = False) -> list[int]:
    """Remove the accounts deleted longer ago than staff's grace period, with all their data.
    Each removal leaves one audit row with no owner (it outlives the seller's own rows)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=AccountPolicy.current().deletion_grace_days)
    due = list(User.objects.filter(deletion_requested_at__lte=cutoff, is_active=False).order_by("pk"))
    if dry_run:
        return [user.pk for user in due]
    removed = []
    for user in due:
        with transaction.atomic():
            audit_record(
                acting_user=None,
                owner=None,
                action=ACCOUNT_DELETED,
                resource=user,
                old_value={"deletion_requested_at": user.deletion_requested_at},
                notes="Account data removed after the grace period.",
            )
            user_pk = user.pk
            user.delete()
        logger.info("Removed deleted account %s", user_pk)
        removed.append(user_pk)
    return removed
