"""The seller's stores: their state, connecting one (OAuth at eBay, Etsy, Shopify), disconnecting,
pricing settings with a live preview, automation pause and publishing defaults."""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.decorators import reauthentication_check, verified_email_required
from accounts.limits import TierLimitError, store_allowed
from marketplaces import services
from marketplaces.clients import MarketplaceError, NeedsReauth, Rejected, adapter_for
from marketplaces.clients.shopify import normalize_shop_domain, verify_callback
from marketplaces.forms import PUBLISH_DEFAULT_FIELDS, PublishDefaultsForm, StoreConnectForm, StorePricingForm
from marketplaces.models import ListingStatus, Marketplace, StoreAccount
from marketplaces.services import (
    StoreSettingsError,
    store_connect_finish,
    store_fee_defaults,
    store_mark_needs_reauth,
    store_set_automation_paused,
    store_settings_update,
)
from marketplaces.services.backtest import BACKTEST_DAYS, store_backtest
from marketplaces.services.stores import (
    AUTH_DENIED_MESSAGE,  # noqa: F401 - the tests name it with the page's other messages
    STORE_AUTH_ALERT,
    auth_denied_message,
    store_preview_rows,
    store_state,
    store_subject,
)
from marketplaces.services.sync import (
    DEMO_SKIPPED,
    NEEDS_REAUTH_SKIPPED,
    NOT_CONNECTED_SKIPPED,
    store_sync_skip_reason,
)
from marketplaces.tasks import store_sync_task
from monitoring.records import BACKGROUND_UNAVAILABLE, alert_raise, audit_record, job_start, job_unavailable

from ._common import PAGE_SIZE, is_htmx, partial_template

logger = logging.getLogger(__name__)
SYNC_JOB_TYPE = "sync_store"
SYNC_STARTED_MESSAGE = (
    "Syncing {store}: its new orders, the listings removed on {marketplace} and yesterday's statistics. "
    "This page follows the sync."
)
# Why a store is not synced, as a sentence about it (store_sync_skip_reason gives the reason).
SYNC_SKIPPED_MESSAGES = {
    DEMO_SKIPPED: "{store} is a demo store: it is never synced with {marketplace}, nothing is fetched.",
    NOT_CONNECTED_SKIPPED: "{store} is not connected to {marketplace}: connect it before syncing.",
    NEEDS_REAUTH_SKIPPED: "{marketplace} no longer accepts {store}'s authorisation: connect it again before syncing.",
}
SYNC_SKIPPED_MESSAGE = "{store} was not synced: {reason}."
SYNC_JOB_TYPES = (SYNC_JOB_TYPE, "sync_ebay", "sync_shopify", "sync_etsy")


OAUTH_SESSION_KEY = "marketplaces_oauth"

# Messages the tests assert.
STATE_MISMATCH_MESSAGE = (
    "This answer from {marketplace} does not match a connection you started here, so nothing was saved. "
    "Start connecting the store again."
)
SHOPIFY_SIGNATURE_MESSAGE = "This answer did not come from Shopify (its signature does not match): nothing was saved."
SHOPIFY_SHOP_MISMATCH_MESSAGE = "Shopify answered for another shop than the one you asked for: nothing was saved."
NO_CODE_MESSAGE = "{marketplace} sent no authorisation code, so the store is not connected. Try connecting again."
EXCHANGE_FAILED_MESSAGE = "{marketplace} did not complete the connection: {reason}"
CONNECTED_MESSAGE = "{store} is connected."
ALREADY_CONNECTED_MESSAGE = "{store} is already connected."
APP_NOT_CONFIGURED_MESSAGE = (
    "Connecting {marketplace} stores is not set up on this site yet (our {marketplace} app's credentials are "
    "missing). Please tell the site's staff."
)
DISCONNECTED_MESSAGE = "{store} is disconnected: its tokens are deleted and nothing is sent to it any more."
SETTINGS_SAVED_MESSAGE = "Settings saved. Live listings on this store are repriced by the new settings."
SETTINGS_UNCHANGED_MESSAGE = "Nothing changed."
SETTINGS_SAVED_NOT_REPRICED_MESSAGE = (
    f"Settings saved, but your live listings were not repriced. {BACKGROUND_UNAVAILABLE} "
    "Then retry the failed reprice job on the Jobs page."
)
FEE_DEFAULTS_APPLIED_MESSAGE = "The documented {marketplace} fees are now this store's fees."
PUBLISH_DEFAULTS_SAVED_MESSAGE = "Publishing defaults saved."
PUBLISH_DEFAULTS_FETCHED_MESSAGE = "{marketplace} gave: {keys}. Values you had already set are kept."
PUBLISH_DEFAULTS_NONE_MESSAGE = "{marketplace} had no publishing defaults to give: set them below."
PUBLISH_DEFAULTS_FAILED_MESSAGE = "{marketplace} could not be asked for defaults: {reason}"
NOT_CONNECTED_MESSAGE = "Connect the store first."
DEMO_STORE_MESSAGE = "Demo stores are not connected to a marketplace."
AUTOMATION_PAUSED_MESSAGE = "Automatic changes for {store} are paused: they are computed and held until you resume."
AUTOMATION_RESUMED_MESSAGE = "Automatic changes for {store} are on again; what was held is being sent."

# Our marketplace apps' settings each connection needs (app-level credentials).
APP_SETTINGS = {
    Marketplace.EBAY: ("EBAY_CLIENT_ID", "EBAY_CLIENT_SECRET", "EBAY_RUNAME"),
    Marketplace.ETSY: ("ETSY_KEYSTRING", "ETSY_SHARED_SECRET", "ETSY_REDIRECT_URI"),
    Marketplace.SHOPIFY: ("SHOPIFY_CLIENT_ID", "SHOPIFY_CLIENT_SECRET", "SHOPIFY_REDIRECT_URI"),
}


# --- A store's state -------------------------------------------------------------------------


def _seller_store(request, pk) -> StoreAccount:
    return get_object_or_404(request.user.store_accounts.select_related("user"), pk=pk)


# --- Stores list and page --------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def store_list(request):
    """The seller's stores with their connection state, last sync, last problem and listing counts."""
    stores = request.user.store_accounts.annotate(
        listing_count=Count("listings"),
        active_count=Count("listings", filter=Q(listings__status=ListingStatus.ACTIVE)),
    ).order_by("marketplace", "account_name", "pk")
    page_obj = Paginator(stores, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for store in page_obj.object_list:
        store.state = store_state(store, now=now)
    context = {"page_obj": page_obj, "stores": page_obj.object_list}
    return TemplateResponse(request, partial_template(request, "marketplaces/store_list.html", "store-table"), context)


def _store_context(request, store: StoreAccount, *, pricing_form=None, publish_form=None) -> dict:
    listings = store.listings.filter(user=request.user).select_related("product").order_by("-created_at", "-pk")
    counts = dict(listings.order_by().values_list("status").annotate(n=Count("pk")))
    page_obj = Paginator(listings, PAGE_SIZE).get_page(request.GET.get("page"))
    if pricing_form is None:
        pricing_form = StorePricingForm(initial=StorePricingForm.initial_for(store))
    if publish_form is None:
        publish_form = PublishDefaultsForm(marketplace=store.marketplace, initial=dict(store.publish_defaults or {}))
    try:
        fee_defaults = store_fee_defaults(store.marketplace)
    except ValueError:
        fee_defaults = None
    preview_rows, preview_invalid, preview_errors, preview_currency = [], False, [], store.currency
    if pricing_form.is_bound and not pricing_form.is_valid():
        # Say why, and what the typed values would give (a markup under 0 sells below cost).
        preview_invalid = True
        preview_errors = [
            (pricing_form.fields[name].label if name in pricing_form.fields else "Settings", error)
            for name, errors in pricing_form.errors.items()
            for error in errors
        ]
        typed = pricing_form.typed_store(store)
        try:
            preview_rows = store_preview_rows(store=store, preview_store=typed, user=request.user)
        except ArithmeticError:  # e.g. fees of 100 %: no price exists
            preview_rows = []
        preview_currency = typed.currency
    else:
        preview_store = pricing_form.preview_store(store) if pricing_form.is_bound else store
        preview_rows = store_preview_rows(store=store, preview_store=preview_store, user=request.user)
        preview_currency = preview_store.currency
    other_keys = sorted(set(store.publish_defaults or {}) - set(publish_form.fields))
    last_sync_job = (
        request.user.jobs.filter(type__in=SYNC_JOB_TYPES, params__store_id=store.pk).order_by("-created_at").first()
    )
    return {
        "store": store,
        "last_sync_job": last_sync_job,
        "state": store_state(store),
        "page_obj": page_obj,
        "listings": page_obj.object_list,
        "status_counts": [(label, counts.get(value, 0)) for value, label in ListingStatus.choices],
        "pricing_form": pricing_form,
        "publish_form": publish_form,
        "publish_keys_known": store.marketplace in PUBLISH_DEFAULT_FIELDS,
        "other_publish_defaults": [(key, store.publish_defaults[key]) for key in other_keys],
        "fee_defaults": fee_defaults,
        "preview_rows": preview_rows,
        "preview_invalid": preview_invalid,
        "preview_errors": preview_errors,
        "preview_currency": preview_currency,
        "backtest_days": BACKTEST_DAYS[-1],
        "backtest_day_choices": BACKTEST_DAYS,
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def store_detail(request, pk):
    """One store: its connection, settings with a live price preview, publishing defaults (never its
    credentials) and its listings. HTMX paging swaps only the listings."""
    store = _seller_store(request, pk)
    if is_htmx(request):
        context = _store_context(request, store)
        return TemplateResponse(request, "marketplaces/store_detail.html#store-listings", context)
    return TemplateResponse(request, "marketplaces/store_detail.html", _store_context(request, store))


# --- Connecting ------------------------------------------------------------------------------


def _app_configured(marketplace: str) -> bool:
    missing = [name for name in APP_SETTINGS.get(marketplace, ()) if not getattr(settings, name, "")]
    if missing:
        logger.warning("Cannot connect %s stores: %s not set", marketplace, ", ".join(missing))
    return not missing


def _start_authorization(request, store: StoreAccount):
    """Send the seller to the marketplace's consent page; the state (and Etsy's PKCE verifier)
    wait in the session for the callback."""
    adapter = adapter_for(store)
    try:
        auth = adapter.authorization_url(state=secrets.token_urlsafe(32))
    finally:
        adapter.http.close()
    pending = dict(request.session.get(OAUTH_SESSION_KEY) or {})
    pending[store.marketplace] = {"state": auth.state, "store_id": store.pk, "code_verifier": auth.code_verifier}
    request.session[OAUTH_SESSION_KEY] = pending
    return redirect(auth.url)


def _reusable_store(user, data: dict) -> StoreAccount | None:
    stores = user.store_accounts.filter(marketplace=data["marketplace"])
    if data["marketplace"] == Marketplace.SHOPIFY:
        stores = stores.filter(shop_domain__iexact=data["shop_domain"])
    else:
        stores = stores.filter(account_name__iexact=data["account_name"])
        if data["marketplace"] == Marketplace.EBAY:
            stores = stores.filter(environment=data["environment"])
    return stores.order_by("is_connected", "pk").first()


def _store_limit_message(user, store) -> str:
    """The tier's store limit, when connecting `store` (None: a new one) would pass it."""
    if store is not None and store.is_connected:
        return ""
    try:
        store_allowed(user, store=store)
    except TierLimitError as exc:
        return exc.message
    return ""


@login_required
@verified_email_required
@vary_on_headers("HX-Request")
def store_connect(request):
    """Connect a store: pick the marketplace (only its panel shows; one this site has no app
    credentials for says so up front; Etsy's rules on reselling are shown and must be
    acknowledged), then the marketplace asks the seller to grant access and sends them back."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    initial = {"marketplace": request.GET.get("marketplace") or Marketplace.EBAY}
    form = StoreConnectForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        marketplace = Marketplace(data["marketplace"])
        store = _reusable_store(request.user, data)
        if not _app_configured(marketplace):
            form.add_error(None, APP_NOT_CONFIGURED_MESSAGE.format(marketplace=marketplace.label))
        elif store is not None and store.is_connected and not store.needs_reauth:
            form.add_error(None, ALREADY_CONNECTED_MESSAGE.format(store=store))
        elif limit_message := _store_limit_message(request.user, store):
            form.add_error(None, limit_message)
        else:
            if store is None:
                fees = store_fee_defaults(marketplace)
                store = StoreAccount.objects.create(
                    user=request.user,
                    marketplace=marketplace,
                    account_name=data["account_name"],
                    environment=data["environment"],
                    shop_domain=data["shop_domain"],
                    is_connected=False,
                    **fees.as_changes(),
                )
                audit_record(
                    acting_user=request.user,
                    owner=request.user,
                    action="created",
                    resource=store,
                    new_value={"marketplace": store.marketplace, "account_name": store.account_name},
                    request=request,
                )
            return _start_authorization(request, store)
    chosen = form.data.get("marketplace") if form.is_bound else form.initial.get("marketplace")
    if chosen not in Marketplace.values:
        chosen = Marketplace.EBAY
    panels = {
        marketplace.value: {
            "label": marketplace.label,
            "missing": [name for name in APP_SETTINGS.get(marketplace, ()) if not getattr(settings, name, "")],
        }
        for marketplace in Marketplace
    }
    context = {"form": form, "chosen": chosen, "marketplaces": Marketplace, "panels": panels}
    return TemplateResponse(request, "marketplaces/store_connect.html", context)


@login_required
@require_POST
@verified_email_required
def store_reconnect(request, pk):
    """Connect an existing store again (after a denial, a disconnection or a refused token)."""
    store = _seller_store(request, pk)
    if not _app_configured(store.marketplace):
        messages.error(request, APP_NOT_CONFIGURED_MESSAGE.format(marketplace=store.get_marketplace_display()))
        return redirect(store)
    if limit_message := _store_limit_message(request.user, store):
        messages.error(request, limit_message)
        return redirect(store)
    return _start_authorization(request, store)


def store_authorisation_denied(store: StoreAccount, *, request) -> StoreAccount:
    """The seller (or the marketplace) refused access: the store says so and the seller is alerted."""
    message = auth_denied_message(store)
    store.last_error = message
    store.save(update_fields=["last_error", "updated_at"])
    alert_raise(
        user=store.user,
        type=STORE_AUTH_ALERT,
        subject=store_subject(store),
        message=f"{store}: {message}",
        severity="warning",
        data={"store_id": store.pk, "marketplace": store.marketplace},
    )
    audit_record(
        acting_user=request.user,
        owner=store.user,
        action="authorisation_denied",
        resource=store,
        new_value={"is_connected": store.is_connected},
        request=request,
    )
    return store


def _oauth_callback(request, marketplace: Marketplace):
    """Where the marketplace sends the seller back: check the state we kept, then exchange the code."""
    label = marketplace.label
    pending = (request.session.get(OAUTH_SESSION_KEY) or {}).get(marketplace.value)
    state = request.GET.get("state", "")
    if not pending or not state or not constant_time_compare(state, pending.get("state", "")):
        messages.error(request, STATE_MISMATCH_MESSAGE.format(marketplace=label))
        return redirect("marketplaces:store_list")
    store = request.user.store_accounts.filter(pk=pending.get("store_id"), marketplace=marketplace).first()
    if store is None:
        messages.error(request, STATE_MISMATCH_MESSAGE.format(marketplace=label))
        return redirect("marketplaces:store_list")
    if marketplace == Marketplace.SHOPIFY:
        if not verify_callback(request.GET.dict()):
            messages.error(request, SHOPIFY_SIGNATURE_MESSAGE)
            return redirect(store)
        try:
            shop = normalize_shop_domain(request.GET.get("shop", ""))
        except Rejected:
            shop = ""
        if shop != (store.shop_domain or "").lower():
            messages.error(request, SHOPIFY_SHOP_MISMATCH_MESSAGE)
            return redirect(store)
    # The state is spent: a replayed callback finds nothing.
    remaining = dict(request.session.get(OAUTH_SESSION_KEY) or {})
    remaining.pop(marketplace.value, None)
    request.session[OAUTH_SESSION_KEY] = remaining
    if request.GET.get("error"):
        store_authorisation_denied(store, request=request)
        messages.warning(request, auth_denied_message(store))
        return redirect(store)
    if limit_message := _store_limit_message(request.user, store):  # another store connected meanwhile
        messages.error(request, limit_message)
        return redirect(store)
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, NO_CODE_MESSAGE.format(marketplace=label))
        return redirect(store)
    adapter = adapter_for(store)
    try:
        tokens = adapter.exchange_code(code, code_verifier=pending.get("code_verifier"))
    except MarketplaceError as exc:
        reason = exc.message or type(exc).__name__
        message = EXCHANGE_FAILED_MESSAGE.format(marketplace=label, reason=reason)
        store.last_error = message
        store.save(update_fields=["last_error", "updated_at"])
        logger.info("OAuth code exchange for store %s failed: %s", store.pk, reason)
        messages.error(request, message)
        return redirect(store)
    finally:
        adapter.http.close()
    store_connect_finish(store=store, tokens=tokens, acting_user=request.user, request=request)
    messages.success(request, CONNECTED_MESSAGE.format(store=store))
    if store.last_error:
        messages.warning(request, store.last_error)
    return redirect(store)


@login_required
@require_GET
def oauth_callback_ebay(request):
    """eBay's redirect after consent (the RuName's accepted URL; point its declined URL here with
    ?error=access_denied)."""
    return _oauth_callback(request, Marketplace.EBAY)


@login_required
@require_GET
def oauth_callback_etsy(request):
    """Etsy's redirect after consent (OAuth 2 with PKCE)."""
    return _oauth_callback(request, Marketplace.ETSY)


@login_required
@require_GET
def oauth_callback_shopify(request):
    """Shopify's redirect after the app is granted (signed with our app secret: hmac)."""
    return _oauth_callback(request, Marketplace.SHOPIFY)


@login_required
def store_disconnect(request, pk):
    """Disconnect a store: GET asks to confirm, POST (after confirming it's you) revokes (where
    possible) and deletes its tokens."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    store = _seller_store(request, pk)
    if request.method == "POST":
        reauthentication_check(request)
        services.store_disconnect(store=store, acting_user=request.user, request=request)
        messages.success(request, DISCONNECTED_MESSAGE.format(store=store))
        return redirect(store)
    live = store.listings.filter(user=request.user).live().count()
    return TemplateResponse(request, "marketplaces/store_disconnect.html", {"store": store, "live_count": live})


# --- Settings --------------------------------------------------------------------------------


def _render_store_page(request, store, *, status=200, **forms):
    response = TemplateResponse(request, "marketplaces/store_detail.html", _store_context(request, store, **forms))
    response.status_code = status
    return response


def _reprice_not_started(store: StoreAccount) -> bool:
    """The settings were saved but the reprice Job they started could not reach a worker."""
    job = getattr(store, "reprice_job", None)
    return job is not None and job_unavailable(job)


@login_required
@require_POST
def store_settings(request, pk):
    """Save the store's name and pricing settings (or take the marketplace's documented fees);
    bad input comes back with what was typed and the reasons."""
    store = _seller_store(request, pk)
    if "apply_fee_defaults" in request.POST:
        fees = store_fee_defaults(store.marketplace)
        store_settings_update(
            store=store,
            changes=fees.as_changes(),
            acting_user=request.user,
            request=request,
        )
        if _reprice_not_started(store):
            messages.warning(request, SETTINGS_SAVED_NOT_REPRICED_MESSAGE)
        else:
            messages.success(request, FEE_DEFAULTS_APPLIED_MESSAGE.format(marketplace=store.get_marketplace_display()))
        return redirect(f"{store.get_absolute_url()}#pricing")
    form = StorePricingForm(request.POST)
    if form.is_valid():
        before = store.updated_at
        try:
            store_settings_update(store=store, changes=form.changes(), acting_user=request.user, request=request)
        except StoreSettingsError as exc:
            for field, errors in exc.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            changed = store.updated_at != before
            if _reprice_not_started(store):
                messages.warning(request, SETTINGS_SAVED_NOT_REPRICED_MESSAGE)
            else:
                messages.success(request, SETTINGS_SAVED_MESSAGE if changed else SETTINGS_UNCHANGED_MESSAGE)
            return redirect(f"{store.get_absolute_url()}#pricing")
    store.refresh_from_db()
    return _render_store_page(request, store, pricing_form=form)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def store_pricing_preview(request, pk):
    """What the settings being typed would give (nothing is saved): HTMX gets the preview fragment,
    a plain request the store page with the typed settings and their preview."""
    store = _seller_store(request, pk)
    form = StorePricingForm(request.GET)
    context = _store_context(request, store, pricing_form=form)
    if is_htmx(request):
        return TemplateResponse(request, "marketplaces/store_detail.html#pricing-preview", context)
    return TemplateResponse(request, "marketplaces/store_detail.html", context)


BACKTEST_DAYS_CHOICE = "Choose 30 or 90 days."
BACKTEST_INVALID = "Fix the settings marked above to backtest them: nothing was saved."


@login_required
@require_POST
@vary_on_headers("HX-Request")
def store_backtest_view(request, pk):
    """Replay the last 30 or 90 days of supplier prices and stock for the store's listings under its
    saved settings and under the ones typed in (not saved), side by side. HTMX gets the results
    fragment; a plain request the store page with the typed settings and the results."""
    store = _seller_store(request, pk)
    form = StorePricingForm(request.POST)
    days = request.POST.get("backtest_days", str(BACKTEST_DAYS[-1]))
    errors = []
    if days not in {str(choice) for choice in BACKTEST_DAYS}:
        errors.append(BACKTEST_DAYS_CHOICE)
    if not form.is_valid():
        errors.append(BACKTEST_INVALID)
        errors += [
            f"{form.fields[name].label if name in form.fields else 'Settings'}: {error}"
            for name, messages in form.errors.items()
            for error in messages
        ]
    result = None
    if not errors:
        result = store_backtest(store=store, edited=form.preview_store(store), days=int(days))
    context = {
        "store": store,
        "backtest": result,
        "backtest_errors": errors,
        "backtest_days": int(days) if days.isdigit() else BACKTEST_DAYS[-1],
        "backtest_day_choices": BACKTEST_DAYS,
    }
    if is_htmx(request):
        return TemplateResponse(request, "marketplaces/store_detail.html#store-backtest", context)
    context = {**_store_context(request, store, pricing_form=form), **context}
    return TemplateResponse(request, "marketplaces/store_detail.html", context, status=400 if errors else 200)


@login_required
@require_POST
@vary_on_headers("HX-Request")
def store_automation(request, pk):
    """Pause or resume automatic changes (reprices, pauses) for this store."""
    store = _seller_store(request, pk)
    paused = request.POST.get("paused") == "1"
    store_set_automation_paused(store=store, paused=paused, acting_user=request.user, request=request)
    message = (AUTOMATION_PAUSED_MESSAGE if paused else AUTOMATION_RESUMED_MESSAGE).format(store=store)
    if is_htmx(request):
        context = {"store": store, "automation_message": message}
        return TemplateResponse(request, "marketplaces/store_detail.html#store-automation", context)
    messages.success(request, message)
    return redirect(store)


@login_required
@require_POST
def store_sync_now(request, pk):
    """Start a sync of the store (orders, removed listings, yesterday's performance) as a Job."""
    store = _seller_store(request, pk)
    skipped = store_sync_skip_reason(store)
    if skipped:
        words = SYNC_SKIPPED_MESSAGES.get(skipped, SYNC_SKIPPED_MESSAGE)
        messages.error(
            request,
            words.format(store=store.account_name, marketplace=store.get_marketplace_display(), reason=skipped),
        )
        return redirect(store)
    job = job_start(store_sync_task, type=SYNC_JOB_TYPE, user=request.user, params={"store_id": store.pk})
    if job_unavailable(job):
        messages.error(request, BACKGROUND_UNAVAILABLE)
        return redirect(store)
    messages.success(
        request, SYNC_STARTED_MESSAGE.format(store=store.account_name, marketplace=store.get_marketplace_display())
    )
    return redirect(job)


@login_required
@require_POST
def store_publish_defaults(request, pk):
    """Save the values the store's marketplace needs to publish (policies, location, category, ...)."""
    store = _seller_store(request, pk)
    form = PublishDefaultsForm(request.POST, marketplace=store.marketplace)
    if form.is_valid():
        try:
            store_settings_update(
                store=store,
                changes={"publish_defaults": form.merged_into(store.publish_defaults)},
                acting_user=request.user,
                request=request,
            )
        except StoreSettingsError as exc:
            for errors in exc.errors.values():
                for error in errors:
                    form.add_error(None, error)
        else:
            messages.success(request, PUBLISH_DEFAULTS_SAVED_MESSAGE)
            return redirect(f"{store.get_absolute_url()}#publish-defaults")
    return _render_store_page(request, store, publish_form=form)


@login_required
@require_POST
def store_publish_defaults_fetch(request, pk):
    """Ask the marketplace for the store's publishing defaults (fills only what is not set)."""
    store = _seller_store(request, pk)
    label = store.get_marketplace_display()
    target = f"{store.get_absolute_url()}#publish-defaults"
    if store.user.is_demo:
        messages.error(request, DEMO_STORE_MESSAGE)
        return redirect(target)
    if not store.is_connected or store.needs_reauth:
        messages.error(request, NOT_CONNECTED_MESSAGE)
        return redirect(target)
    try:
        fetched = services.store_publish_defaults_fetch(store=store)
    except NeedsReauth as exc:
        store_mark_needs_reauth(store, exc.message)
        messages.error(request, PUBLISH_DEFAULTS_FAILED_MESSAGE.format(marketplace=label, reason=exc.message))
    except MarketplaceError as exc:
        reason = exc.message or type(exc).__name__
        messages.error(request, PUBLISH_DEFAULTS_FAILED_MESSAGE.format(marketplace=label, reason=reason))
    else:
        if fetched:
            messages.success(
                request, PUBLISH_DEFAULTS_FETCHED_MESSAGE.format(marketplace=label, keys=", ".join(sorted(fetched)))
            )
        else:
            messages.info(request, PUBLISH_DEFAULTS_NONE_MESSAGE.format(marketplace=label))
    return redirect(target)
