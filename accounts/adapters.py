"""Our hooks into django-allauth: users are email-only and stored lower-case; every security event
allauth announces by email is also written to the seller's security log; a completed sign-in is
audited and checked against the browsers seen before; a wrong password is logged."""

import base64

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter

from . import services

# allauth's security notices (email templates) and the security-log action each one stands for.
NOTICE_ACTIONS = {
    "account/email/password_changed": services.PASSWORD_CHANGED,
    "account/email/password_reset": services.PASSWORD_RESET,
    "account/email/password_set": services.PASSWORD_SET,
    "account/email/email_changed": services.EMAIL_CHANGED,
    "account/email/email_deleted": services.EMAIL_REMOVED,
    "mfa/email/totp_activated": services.TWO_FACTOR_ENABLED,
    "mfa/email/totp_deactivated": services.TWO_FACTOR_DISABLED,
    "mfa/email/recovery_codes_generated": services.RECOVERY_CODES_REGENERATED,
}
EMAIL_CHANGED_NOTICE = "account/email/email_changed"


class AccountAdapter(DefaultAccountAdapter):
    def clean_email(self, email: str) -> str:
        return super().clean_email(email).strip().lower()

    def post_login(self, request, user, **kwargs):
        response = super().post_login(request, user, **kwargs)
        services.user_signed_in(user=user, request=request, response=response)
        return response

    def authentication_failed(self, request, **credentials):
        locked = bool(getattr(request, "axes_locked_out", False))
        services.user_sign_in_failed(
            email=credentials.get("email") or credentials.get("username") or "",
            request=request,
            notes=services.SIGN_IN_FAILED_LOCKED if locked else services.SIGN_IN_FAILED_PASSWORD,
        )

    def send_notification_mail(self, template_prefix, user, context=None, email=None):
        """allauth calls this once per security event: audit it, then mail it (an email change
        goes to the old address, as allauth does, and to the new one too)."""
        action = NOTICE_ACTIONS.get(template_prefix)
        if action:
            values = None
            if template_prefix == EMAIL_CHANGED_NOTICE and context:
                values = ({"email": context.get("from_email")}, {"email": context.get("to_email")})
            services.security_event_record(
                user=user,
                action=action,
                request=self.request,
                old_value=values[0] if values else None,
                new_value=values[1] if values else None,
            )
        super().send_notification_mail(template_prefix, user, context, email)
        if template_prefix == EMAIL_CHANGED_NOTICE and context and context.get("to_email"):
            super().send_notification_mail(template_prefix, user, context, context["to_email"])


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and the recovery-code seed are stored encrypted with CRYPTOGRAPHY_KEY (allauth
    keeps them in clear by default); rotate_encryption_key re-encrypts them with the rest."""

    def get_totp_label(self, user) -> str:
        return user.email

    def encrypt(self, text: str) -> str:
        return mfa_secret_encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return mfa_secret_decrypt(encrypted_text)


def _fernet(key=None):
    from django.conf import settings
    from django_cryptography.utils.crypto import FernetBytes

    return FernetBytes(key or settings.CRYPTOGRAPHY_KEY)


def mfa_secret_encrypt(text: str, *, key=None) -> str:
    return base64.urlsafe_b64encode(_fernet(key).encrypt(text.encode())).decode("ascii")


def mfa_secret_decrypt(token: str, *, key=None) -> str:
    return _fernet(key).decrypt(base64.urlsafe_b64decode(token.encode("ascii"))).decode()
