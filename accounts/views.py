from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods, require_POST

from .forms import SettingsForm, SignupForm
from .models import User
from .services import user_api_key_regenerate, user_settings_update, user_signup

SIGNUP_WELCOME_MESSAGE = "Welcome! Your account is ready."
SETTINGS_SAVED_MESSAGE = "Settings saved."
SETTINGS_UNCHANGED_MESSAGE = "Nothing to save: no setting changed."


@require_http_methods(["GET", "POST"])
def signup(request):
    """A new seller creates an account and is logged in straight away."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_signup(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, SIGNUP_WELCOME_MESSAGE)
        return redirect(settings.LOGIN_REDIRECT_URL)
    return TemplateResponse(request, "accounts/signup.html", {"form": form})


def _settings_page(request, *, form=None, api_key=None):
    # The form edits a fresh copy, so bad input never shows up in the page's header as if saved.
    account = User.objects.get(pk=request.user.pk)
    context = {
        "form": form or SettingsForm(instance=account),
        "account": account,
        "api_key": api_key,
    }
    return TemplateResponse(request, "accounts/settings.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    """The seller's profile, time zone, default Amazon site, currency, tier and API key."""
    if request.method == "GET":
        return _settings_page(request)
    form = SettingsForm(request.POST, instance=User.objects.get(pk=request.user.pk))
    if not form.is_valid():
        return _settings_page(request, form=form)
    old_value, new_value = form.changes()
    if not new_value:
        messages.info(request, SETTINGS_UNCHANGED_MESSAGE)
        return redirect("accounts:settings")
    user_settings_update(
        user=request.user, acting_user=request.user, old_value=old_value, new_value=new_value, request=request
    )
    messages.success(request, SETTINGS_SAVED_MESSAGE)
    return redirect("accounts:settings")


@login_required
@require_POST
def api_key_regenerate(request):
    """Make a new API key and show it on this response only; afterwards only its prefix shows."""
    raw_key = user_api_key_regenerate(user=request.user, acting_user=request.user, request=request)
    response = _settings_page(request, api_key=raw_key)
    # The clear key must not linger in any cache or in the browser's back history.
    response["Cache-Control"] = "no-store"
    return response
