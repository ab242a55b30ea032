"""The seller's own account pages: settings, API key, signed-in browsers, deleting the account,
and sending the confirmation mail again. Signing up, logging in, email, password and two-factor
pages are django-allauth's (at /accounts/ too), drawn with our templates."""

from allauth.account.internal.flows.email_verification import consume_email_verification_rate_limit
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketplaces.models import ListingStatus
from marketplaces.services import store_disconnect

from . import ratelimits
from .decorators import reauthentication_required, verified_email_required
from .devices import device_label
from .forms import AccountDeleteForm, SettingsForm, VerificationResendForm
from .limits import api_rate_limits, tier_usage
from .lockout import normalize_email
from .models import AccountPolicy, RevokeReason, User
from .security import email_verified, second_factor_enabled
from .services import (
    account_delete_request,
    user_api_key_regenerate,
    user_api_key_revoke,
    user_sessions_end,
    user_settings_update,
)
from .tokens import api_session_revoke

SETTINGS_SAVED_MESSAGE = "Settings saved."
SETTINGS_UNCHANGED_MESSAGE = "Nothing to save: no setting changed."
API_KEY_REVOKED_MESSAGE = "API key revoked: scripts using it are refused from now on."
NO_API_KEY_MESSAGE = "You have no API key to revoke."
SESSION_ENDED_MESSAGE = "Signed out {device}."
API_SESSION_ENDED_MESSAGE = "API session “{name}” ended: its tokens stop working at once."
API_SESSION_ALREADY_ENDED_MESSAGE = "That API session had already ended."
SESSIONS_ENDED_MESSAGE = "Signed out {count} other browser(s)."
NO_OTHER_SESSIONS_MESSAGE = "No other browser is signed in."
CURRENT_SESSION_MESSAGE = "That is the browser you are using: log out instead."
RESEND_SENT_MESSAGE = (
    "If an account is waiting for {email} to be confirmed, a new link is on its way. "
    "It may take a minute; check your spam folder too."
)
BULK_BATCH = 100  # marketplaces' bulk action takes at most this many listings per request
ACCOUNT_DELETED_MESSAGE = (
    "Your account is deleted: you are signed out, your stores are disconnected, and your data will be "
    "removed in {days} days. Write to support before then if this was a mistake."
)


def _settings_page(request, *, form=None, api_key=None):
    # The form edits a fresh copy, so bad input never shows up in the page's header as if saved.
    account = User.objects.get(pk=request.user.pk)
    context = {
        "form": form or SettingsForm(instance=account),
        "account": account,
        "usage": tier_usage(account),
        "api_rate_limits": api_rate_limits(account),
        "api_key": api_key,
        "email_verified": email_verified(account),
        "second_factor": second_factor_enabled(account),
        "pending_email": EmailAddress.objects.filter(user=account, verified=False).exclude(email=account.email).first(),
    }
    return TemplateResponse(request, "accounts/settings.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    """The seller's profile, time zone, default Amazon site, currency, tier, API key, and the way to
    their email, password, two-factor, sessions, security log and account deletion."""
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
@verified_email_required
@reauthentication_required
def api_key_regenerate(request):
    """Make a new API key and show it on this response only; afterwards only its prefix shows."""
    raw_key = user_api_key_regenerate(user=request.user, acting_user=request.user, request=request)
    response = _settings_page(request, api_key=raw_key)
    # The clear key must not linger in any cache or in the browser's back history.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
@reauthentication_required
def api_key_revoke(request):
    """Stop the API key at once (scripts using it are refused from now on)."""
    if user_api_key_revoke(user=request.user, acting_user=request.user, request=request):
        messages.success(request, API_KEY_REVOKED_MESSAGE)
    else:
        messages.info(request, NO_API_KEY_MESSAGE)
    return redirect(f"{reverse('accounts:settings')}#api-key")


# ---- Signed-in browsers ------------------------------------------------------------------------


def _browser_sessions(user) -> list[UserSession]:
    sessions = UserSession.objects.purge_and_list(user)  # drops the ones that ended or expired
    for session in sessions:
        session.device = device_label(session.user_agent)
    return sorted(sessions, key=lambda session: (not session.is_current(), -session.last_seen_at.timestamp()))


@login_required
@require_GET
def session_list(request):
    """Where the seller is signed in: each browser (device, address, last seen), and the API
    sessions (accounts.Session) their scripts hold; any other browser can be signed out and any
    API session ended."""
    sessions = _browser_sessions(request.user)
    context = {
        "sessions": sessions,
        "other_count": sum(1 for session in sessions if not session.is_current()),
        "api_sessions": request.user.sessions.live().order_by("-created_at", "-pk"),
    }
    return TemplateResponse(request, "accounts/session_list.html", context)


@login_required
@require_POST
def session_end(request, pk):
    """Sign out one other browser."""
    session = get_object_or_404(UserSession, pk=pk, user=request.user)
    if session.is_current():
        messages.info(request, CURRENT_SESSION_MESSAGE)
    else:
        device = device_label(session.user_agent)
        user_sessions_end(user=request.user, sessions=[session], request=request)
        messages.success(request, SESSION_ENDED_MESSAGE.format(device=device))
    return redirect("accounts:session_list")


@login_required
@require_POST
def api_session_end(request, pk):
    """End one of the seller's API sessions (a script's tokens stop working at once)."""
    session = get_object_or_404(request.user.sessions, pk=pk)
    name = session.name or "API session"
    if api_session_revoke(session=session, reason=RevokeReason.SELLER, acting_user=request.user, request=request):
        messages.success(request, API_SESSION_ENDED_MESSAGE.format(name=name))
    else:
        messages.info(request, API_SESSION_ALREADY_ENDED_MESSAGE)
    return redirect(f"{reverse('accounts:session_list')}#api-sessions")


@login_required
@require_POST
def sessions_end_others(request):
    """Sign out every browser but this one."""
    ended = user_sessions_end(
        user=request.user, sessions=list(UserSession.objects.filter(user=request.user)), request=request
    )
    if ended:
        messages.success(request, SESSIONS_ENDED_MESSAGE.format(count=ended))
    else:
        messages.info(request, NO_OTHER_SESSIONS_MESSAGE)
    return redirect("accounts:session_list")


# ---- Deleting the account ----------------------------------------------------------------------


def _live_listings(user):
    """Listings on sale now, or paused there: the ones that would stay at the marketplace."""
    return (
        user.listings.filter(status__in=[ListingStatus.ACTIVE, ListingStatus.PAUSED])
        .select_related("store_account")
        .order_by("store_account_id", "pk")
    )


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True)
def account_delete(request):
    """Delete the account. First the page offers to end or pause every live listing (a listing
    left live with nobody following its supplier sells at a loss); then the store tokens are
    wiped at once and the data is removed after staff's grace period."""
    user = request.user
    live = list(_live_listings(user))
    form = AccountDeleteForm(request.POST or None, user=user, live_count=len(live))
    if request.method == "POST" and form.is_valid():
        # The store tokens go first and at once: nothing more can be sent to a marketplace.
        for store in user.store_accounts.all():
            store_disconnect(store=store, acting_user=user, request=request)
        account_delete_request(user=user, request=request)
        days = AccountPolicy.current().deletion_grace_days
        logout(request)
        messages.success(request, ACCOUNT_DELETED_MESSAGE.format(days=days))
        return redirect("account_login")
    active = [listing for listing in live if listing.status == ListingStatus.ACTIVE]
    context = {
        "form": form,
        "live": live,
        "active": active,
        "end_ids": [listing.pk for listing in live][:BULK_BATCH],
        "pause_ids": [listing.pk for listing in active][:BULK_BATCH],
        "batch": BULK_BATCH,
        "stores": user.store_accounts.filter(is_connected=True),
        "grace_days": AccountPolicy.current().deletion_grace_days,
    }
    return TemplateResponse(request, "accounts/account_delete.html", context)


# ---- Email confirmation --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def verification_resend(request):
    """Send the confirmation link again. The answer never says whether the address has an
    account; allauth's limit (one mail per address every few minutes) applies, and says when."""
    initial = {"email": request.user.email} if request.user.is_authenticated else {}
    form = VerificationResendForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        email = normalize_email(form.cleaned_data["email"])
        wait = ratelimits.wait_seconds(request, action="confirm_email", key=email)
        if wait:
            form.add_error(None, ratelimits.try_again_message(wait))
        else:
            consume_email_verification_rate_limit(request, email)
            address = (
                EmailAddress.objects.filter(email__iexact=email, verified=False, user__is_active=True)
                .select_related("user")
                .first()
            )
            if address is not None:
                address.send_confirmation(request)
            messages.success(request, RESEND_SENT_MESSAGE.format(email=email))
            return redirect("account_email_verification_sent")
    return TemplateResponse(request, "account/verification_resend.html", {"form": form})
