"""Questions about an account's security state, asked by views, the admin and templates."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled


def email_verified(user) -> bool:
    """True when the account has confirmed an email address (allauth's EmailAddress records it)."""
    return user.is_authenticated and EmailAddress.objects.filter(user=user, verified=True).exists()


def second_factor_enabled(user) -> bool:
    """True when the account signs in with a TOTP code after its password."""
    return user.is_authenticated and is_mfa_enabled(user, [Authenticator.Type.TOTP])
