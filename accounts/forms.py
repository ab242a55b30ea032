from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.forms import GenerateRecoveryCodesForm
from allauth.mfa.totp.forms import DeactivateTOTPForm
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib.auth.signals import user_login_failed
from redis.exceptions import RedisError

from . import services
from .models import User

SECOND_FACTOR_UNAVAILABLE_MESSAGE = (
    "Authenticator codes cannot be checked right now: try again in a minute, or use a recovery code."
)
CODE_REQUIRED_MESSAGE = "Enter the 6-digit code from your authenticator app, or a recovery code."
CODE_WRONG_MESSAGE = "That code is not right. Use the code your authenticator app shows now, or a recovery code."
DELETE_CONFIRM_MESSAGE = "Type your email address exactly as shown to confirm."
DELETE_LIVE_LISTINGS_MESSAGE = "Tick the box to delete the account while listings are still live."
# Reporting currencies offered on the settings page (ISO 4217); a seller's current code is kept
# even when it is not in this list.
CURRENCY_CHOICES = [
    ("USD", "USD — US dollar"),
    ("EUR", "EUR — Euro"),
    ("GBP", "GBP — Pound sterling"),
    ("CAD", "CAD — Canadian dollar"),
    ("AUD", "AUD — Australian dollar"),
    ("JPY", "JPY — Japanese yen"),
    ("MXN", "MXN — Mexican peso"),
    ("BRL", "BRL — Brazilian real"),
    ("INR", "INR — Indian rupee"),
    ("AED", "AED — UAE dirham"),
    ("CHF", "CHF — Swiss franc"),
    ("SEK", "SEK — Swedish krona"),
    ("PLN", "PLN — Polish złoty"),
    ("CNY", "CNY — Chinese yuan"),
]


class SignupForm(forms.Form):
    """What allauth's sign-up asks besides the email and the password twice: an optional name."""

    first_name = forms.CharField(max_length=150, required=False, label="First name")
    last_name = forms.CharField(max_length=150, required=False, label="Last name")

    def signup(self, request, user):
        user.first_name = self.cleaned_data["first_name"]
        user.last_name = self.cleaned_data["last_name"]
        user.save(update_fields=["first_name", "last_name", "updated_at"])


class SettingsForm(forms.ModelForm):
    """What a seller can change about their account here: profile, time zone, Amazon site,
    currency. The email changes on its own page (confirm it's you, then confirm the new address)."""

    currency = forms.ChoiceField(label="Reporting currency", choices=CURRENCY_CHOICES)

    class Meta:
        model = User
        fields = ("first_name", "last_name", "timezone", "amazon_site", "currency")
        labels = {"timezone": "Time zone", "amazon_site": "Default Amazon site"}
        help_texts = {
            "timezone": "Times on every page are shown in this zone.",
            "amazon_site": "Where a bare ASIN is looked up.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.currency
        if current and current not in dict(CURRENCY_CHOICES):
            self.fields["currency"].choices = [(current, current), *CURRENCY_CHOICES]

    def changes(self) -> tuple[dict, dict]:
        """(old values, new values) of the fields the seller changed; call after is_valid()."""
        changed = [name for name in self.changed_data if self.cleaned_data[name] != self.initial.get(name)]
        return {name: self.initial.get(name) for name in changed}, {name: self.cleaned_data[name] for name in changed}


class SecondFactorForm(AuthenticateForm):
    """The second step of signing in. Wrong codes count toward the same django-axes lockout as
    wrong passwords (the account's normalised email and the client address), and are logged."""

    def clean_code(self):
        request = context.request
        credentials = {"email": self.user.email}
        if not AxesProxyHandler.is_allowed(request, credentials):
            request.axes_locked_out = True
            raise forms.ValidationError(services.SIGN_IN_FAILED_LOCKED, code="locked")
        try:
            return super().clean_code()
        except RedisError as exc:
            # allauth remembers used TOTP codes in the cache (no code works twice); without it a
            # code cannot be checked safely. Recovery codes live in the database and still work.
            raise forms.ValidationError(SECOND_FACTOR_UNAVAILABLE_MESSAGE, code="unavailable") from exc
        except forms.ValidationError:
            user_login_failed.send(sender=type(self), credentials=credentials, request=request)
            services.user_sign_in_failed(
                email=self.user.email, request=request, notes=services.SIGN_IN_FAILED_SECOND_FACTOR
            )
            raise


MFA_CODE_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES)


def _current_code_valid(user, code: str) -> bool:
    """True when `code` is the user's current TOTP code or an unused recovery code (then used up)."""
    for authenticator in Authenticator.objects.filter(user=user, type__in=MFA_CODE_TYPES):
        if authenticator.wrap().validate_code(code):
            authenticator.record_usage()
            return True
    return False


class CurrentFactorMixin(forms.Form):
    """Turning two-factor off and making new recovery codes need the current factor: a code
    from the authenticator app (or an unused recovery code), on top of confirming it's you."""

    code = forms.CharField(
        label="Current code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        error_messages={"required": CODE_REQUIRED_MESSAGE},
    )

    def __init__(self, *args, **kwargs):
        # allauth binds these forms to an empty dict on GET (to show refusals at once): a code
        # nobody typed yet is not an error.
        if kwargs.get("data") == {}:
            kwargs["data"] = None
        super().__init__(*args, **kwargs)

    def clean_code(self):
        code = self.cleaned_data["code"].replace(" ", "")
        if not _current_code_valid(self.factor_user(), code):
            raise forms.ValidationError(CODE_WRONG_MESSAGE, code="incorrect_code")
        return code


class TOTPDeactivateForm(CurrentFactorMixin, DeactivateTOTPForm):
    def factor_user(self):
        return self.authenticator.user


class RecoveryCodesGenerateForm(CurrentFactorMixin, GenerateRecoveryCodesForm):
    def factor_user(self):
        return self.user


class AccountDeleteForm(forms.Form):
    """Deleting the account: the seller types their email, and acknowledges live listings."""

    confirm_email = forms.CharField(label="Type your email address to confirm", max_length=254)
    leave_listings_live = forms.BooleanField(
        required=False, label="I understand that my live listings stay on sale with nobody following their supplier."
    )

    def __init__(self, *args, user, live_count: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.live_count = user, live_count
        if not live_count:
            del self.fields["leave_listings_live"]

    def clean_confirm_email(self):
        value = self.cleaned_data["confirm_email"].strip().lower()
        if value != self.user.email.lower():
            raise forms.ValidationError(DELETE_CONFIRM_MESSAGE, code="confirm")
        return value

    def clean_leave_listings_live(self):
        if self.live_count and not self.cleaned_data["leave_listings_live"]:
            raise forms.ValidationError(DELETE_LIVE_LISTINGS_MESSAGE, code="live_listings")
        return True


class VerificationResendForm(forms.Form):
    """Send the confirmation mail again (the answer is the same whether or not the address has an account)."""

    email = forms.EmailField(label="Email", max_length=254)
