from django import forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm

from .models import User

EMAIL_TAKEN_MESSAGE = "An account with this email already exists."
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


def _email_clean(form, email: str) -> str:
    """Emails are unique regardless of case; store them lower-case, as the user manager does."""
    email = email.strip().lower()
    others = User.objects.filter(email__iexact=email)
    if form.instance.pk:
        others = others.exclude(pk=form.instance.pk)
    if others.exists():
        raise forms.ValidationError(EMAIL_TAKEN_MESSAGE, code="email_taken")
    return email


class EmailAuthenticationForm(AuthenticationForm):
    """Django's login form, asking for the email address the account was made with."""

    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class SignupForm(BaseUserCreationForm):
    """A new seller: email, an optional name and the password twice."""

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name")
        widgets = {"email": forms.EmailInput(attrs={"autocomplete": "email"})}

    def clean_email(self):
        return _email_clean(self, self.cleaned_data["email"])


class SettingsForm(forms.ModelForm):
    """What a seller can change about their account: profile, time zone, Amazon site, currency."""

    currency = forms.ChoiceField(label="Reporting currency", choices=CURRENCY_CHOICES)

    class Meta:
        model = User
        fields = ("first_name", "last_name", "email", "timezone", "amazon_site", "currency")
        labels = {"timezone": "Time zone", "amazon_site": "Default Amazon site"}
        help_texts = {
            "timezone": "Times on every page are shown in this zone.",
            "amazon_site": "Where a bare ASIN is looked up.",
        }
        widgets = {"email": forms.EmailInput(attrs={"autocomplete": "email"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.currency
        if current and current not in dict(CURRENCY_CHOICES):
            self.fields["currency"].choices = [(current, current), *CURRENCY_CHOICES]

    def clean_email(self):
        return _email_clean(self, self.cleaned_data["email"])

    def changes(self) -> tuple[dict, dict]:
        """(old values, new values) of the fields the seller changed; call after is_valid()."""
        changed = [name for name in self.changed_data if self.cleaned_data[name] != self.initial.get(name)]
        return {name: self.initial.get(name) for name in changed}, {name: self.cleaned_data[name] for name in changed}
