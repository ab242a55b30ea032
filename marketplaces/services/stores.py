"""Store connections and settings: tokens in, tokens out, re-authorisation, fee defaults.

The OAuth views (later) send the seller to the marketplace and exchange the code; these
services apply the result, each writing its audit row. No secret ever reaches an audit row,
a log line or a message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone

from marketplaces.clients import NEEDS_REAUTH_MESSAGE, MarketplaceError, TokenSet, adapter_for, apply_tokens
from marketplaces.models import SALE_PERCENTAGES_TOO_HIGH, AutomationSwitch, StoreAccount
from marketplaces.pricing import Quote, listing_quote, unit_cost_for
from monitoring.records import alert_clear, alert_raise, audit_record, job_start, task_enqueue

from .rates import convert_amount

logger = logging.getLogger(__name__)

STORE_AUTH_ALERT = "store_auth"
DEFAULTS_UNAVAILABLE_MESSAGE = "The store's publishing defaults could not be read ({reason}); set them on the store."
SECRET_FIELDS = ("api_key", "api_secret", "oauth_token", "oauth_refresh_token")
AUTH_DENIED_MESSAGE = "Authorisation denied: access to the store was not granted at {marketplace}."
SAMPLE_COST = Decimal("10.00")
ACCESS_EXPIRY_WARNING = timedelta(days=1)


@dataclass(frozen=True)
class FeeDefaults:
    """A marketplace's documented fees for a new store, each a percent of the price plus a fixed
    amount: the marketplace's own (`fee_*`) and the payment processor's (`payment_fee_*`)."""

    marketplace: str
    fee_percent: Decimal
    fee_fixed: Decimal
    as_of: str
    note: str
    payment_fee_percent: Decimal = Decimal("0.00")
    payment_fee_fixed: Decimal = Decimal("0.00")

    def as_changes(self) -> dict:
        """The store settings these fees set (for store_settings_update)."""
        return {
            "fee_percent": self.fee_percent,
            "fee_fixed": self.fee_fixed,
            "payment_fee_percent": self.payment_fee_percent,
            "payment_fee_fixed": self.payment_fee_fixed,
        }


def store_fee_defaults(marketplace: str) -> FeeDefaults:
    """The documented default fees of a marketplace (settings.MARKETPLACE_FEE_DEFAULTS, dated)."""
    try:
        values = settings.MARKETPLACE_FEE_DEFAULTS[marketplace]
    except KeyError:
        raise ValueError(f"No fee defaults for marketplace {marketplace!r}") from None
    return FeeDefaults(
        marketplace=marketplace,
        fee_percent=Decimal(str(values["fee_percent"])),
        fee_fixed=Decimal(str(values["fee_fixed"])),
        as_of=values.get("as_of", ""),
        note=values.get("note", ""),
        payment_fee_percent=Decimal(str(values.get("payment_fee_percent", "0.00"))),
        payment_fee_fixed=Decimal(str(values.get("payment_fee_fixed", "0.00"))),
    )


SCOPE_SETTINGS = {"ebay": "EBAY_SCOPES", "shopify": "SHOPIFY_SCOPES", "etsy": "ETSY_SCOPES"}


def granted_scopes(marketplace: str, tokens: TokenSet) -> list[str]:
    """The scopes a grant gave: what the marketplace says (Shopify), else what we asked for."""
    said = [part for part in tokens.scope.replace(",", " ").split() if part] if tokens.scope else []
    return said or list(getattr(settings, SCOPE_SETTINGS.get(marketplace, ""), []) or [])


def store_subject(store: StoreAccount) -> str:
    return f"store:{store.pk}"


def store_mark_needs_reauth(store: StoreAccount, message: str = NEEDS_REAUTH_MESSAGE) -> StoreAccount:
    """The marketplace refused the store's tokens: flag it, keep the message, tell the seller.

    Automatic changes for the store are held until the seller connects it again.
    """
    store.needs_reauth = True
    store.last_error = message
    store.save(update_fields=["needs_reauth", "last_error", "updated_at"])
    alert_raise(
        user=store.user,
        type=STORE_AUTH_ALERT,
        subject=store_subject(store),
        message=f"{store}: {message}",
        severity="critical",
        data={"store_id": store.pk, "marketplace": store.marketplace},
    )
    return store


def store_publish_defaults_fetch(*, store: StoreAccount, adapter=None) -> dict:
    """Ask the marketplace for publishing defaults and fill the ones the store lacks.

    Values the seller already set are kept. Returns what the marketplace gave.
    """
    fetched = (adapter or adapter_for(store)).fetch_publish_defaults()
    merged = {**fetched, **{key: value for key, value in (store.publish_defaults or {}).items() if value}}
    if merged != store.publish_defaults:
        store.publish_defaults = merged
        store.save(update_fields=["publish_defaults", "updated_at"])
    return fetched


@transaction.atomic
def store_connect_finish(*, store: StoreAccount, tokens: TokenSet, acting_user, request=None) -> StoreAccount:
    """Apply the tokens of a finished OAuth grant: the store is connected (again).

    Clears a pending re-authorisation, reads the publishing defaults the marketplace offers
    (a failure there is noted on the store, not fatal) and writes the "connected" audit row.
    """
    was = {"is_connected": store.is_connected, "needs_reauth": store.needs_reauth}
    if store.pk is None:
        store.save()
    apply_tokens(store, tokens)
    store.refresh_token_expires_at = tokens.refresh_expires_at
    store.is_connected = True
    store.needs_reauth = False
    store.last_error = ""
    store.granted_scopes = granted_scopes(store.marketplace, tokens)
    store.save(
        update_fields=[
            "refresh_token_expires_at",
            "is_connected",
            "needs_reauth",
            "last_error",
            "granted_scopes",
            "updated_at",
        ]
    )
    alert_clear(user=store.user, type=STORE_AUTH_ALERT, subject=store_subject(store))
    defaults_note = ""
    try:
        store_publish_defaults_fetch(store=store)
    except MarketplaceError as exc:
        defaults_note = DEFAULTS_UNAVAILABLE_MESSAGE.format(reason=exc.message or type(exc).__name__)
        store.last_error = defaults_note
        store.save(update_fields=["last_error", "updated_at"])
        logger.info("Store %s connected without publish defaults: %s", store.pk, exc.message)
    audit_record(
        acting_user=acting_user,
        owner=store.user,
        action="connected",
        resource=store,
        old_value=was,
        new_value={
            "is_connected": True,
            "needs_reauth": False,
            "marketplace": store.marketplace,
            "oauth_expires_at": store.oauth_expires_at,
            "publish_defaults": sorted(store.publish_defaults or {}),
        },
        request=request,
        notes=defaults_note or None,
    )
    from marketplaces.tasks import store_pending_push_task

    # What waited for the connection (with the broker down, the hourly push sends it).
    transaction.on_commit(lambda: task_enqueue(store_pending_push_task, store.pk))
    return store


def store_disconnect(*, store: StoreAccount, acting_user, request=None) -> StoreAccount:
    """Revoke the grant at the marketplace where it can be done, then forget every secret.

    Listings stay (ended or not, they are the seller's history); nothing is sent to the store
    until it is connected again.
    """
    revoked = False
    if store.is_connected and store.oauth_token:
        try:
            revoked = adapter_for(store).revoke()
        except MarketplaceError as exc:
            logger.info("Revoking store %s at the marketplace failed: %s", store.pk, exc.message)
    with transaction.atomic():
        store.save(update_fields=_credentials_forget(store))
        alert_clear(user=store.user, type=STORE_AUTH_ALERT, subject=store_subject(store))
        audit_record(
            acting_user=acting_user,
            owner=store.user,
            action="disconnected",
            resource=store,
            old_value={"is_connected": True},
            new_value={"is_connected": False, "revoked_at_marketplace": revoked},
            request=request,
        )
    return store


def _credentials_forget(store: StoreAccount) -> list[str]:
    """Clear the store's secrets and token times (in memory); returns the fields to save."""
    for name in SECRET_FIELDS:
        setattr(store, name, None)
    store.oauth_expires_at = None
    store.refresh_token_expires_at = None
    store.is_connected = False
    store.needs_reauth = False
    return [
        *SECRET_FIELDS,
        "oauth_expires_at",
        "refresh_token_expires_at",
        "is_connected",
        "needs_reauth",
        "updated_at",
    ]


def store_credentials_erase(store: StoreAccount, *, reason: str, account_name: str | None = None) -> StoreAccount:
    """Forget a store's credentials here without calling the marketplace (the account or the app
    installation is already gone there). Listings stay as the seller's history; audited as the system."""
    with transaction.atomic():
        fields = _credentials_forget(store)
        store.last_error = reason
        fields.append("last_error")
        if account_name is not None:
            store.account_name = account_name
            fields.append("account_name")
        store.save(update_fields=fields)
        alert_clear(user=store.user, type=STORE_AUTH_ALERT, subject=store_subject(store))
        audit_record(
            acting_user=None,
            owner=store.user,
            action="credentials_erased",
            resource=store,
            old_value=None,
            new_value={"is_connected": False},
            notes=reason,
        )
    return store


def store_set_automation_paused(*, store: StoreAccount, paused: bool, acting_user, request=None) -> StoreAccount:
    """Pause or resume automatic changes for one store; resuming sends what was held meanwhile."""
    if store.automation_paused == paused:
        return store
    store.automation_paused = paused
    store.save(update_fields=["automation_paused", "updated_at"])
    audit_record(
        acting_user=acting_user,
        owner=store.user,
        action="automation_paused" if paused else "automation_resumed",
        resource=store,
        old_value={"automation_paused": not paused},
        new_value={"automation_paused": paused},
        request=request,
    )
    if not paused:
        from marketplaces.tasks import store_pending_push_task

        transaction.on_commit(lambda: task_enqueue(store_pending_push_task, store.pk))
    return store


# --- Settings -------------------------------------------------------------------------------

# What a seller may change on a store, and which of those move prices or quantities.
PRICING_FIELDS = (
    "currency",
    "markup_percent",
    "markup_fixed",
    "fee_percent",
    "fee_fixed",
    "payment_fee_percent",
    "payment_fee_fixed",
    "returns_percent",
    "min_margin_percent",
    "price_ending",
    "default_quantity",
    "max_quantity",
    "safety_buffer",
    "min_supplier_stock",
    "low_margin_action",
    "failover_max_increase_percent",
)
STORE_SETTING_FIELDS = ("account_name", "publish_defaults", *PRICING_FIELDS)
REPRICE_JOB_TYPE = "reprice_store"


@dataclass(frozen=True)
class Limit:
    """The values a pricing setting may take: from `low` to `high` (`high` itself only if `inclusive`)."""

    low: Decimal
    high: Decimal
    message: str
    inclusive: bool = True

    def allows(self, value) -> bool:
        value = Decimal(value)
        return self.low <= value and (value <= self.high if self.inclusive else value < self.high)


# The allowed ranges, said by the form where they are typed and checked again here; the database's
# constraints are only the last guard. With markups from 0 every price covers cost and fees.
PRICING_LIMITS = {
    "markup_percent": Limit(
        Decimal("0"), Decimal("1000"), "Markup is a percentage from 0 to 1000 (below 0, listings sell below cost)."
    ),
    "markup_fixed": Limit(Decimal("0"), Decimal("10000"), "The fixed markup is an amount from 0 to 10000."),
    "fee_percent": Limit(
        Decimal("0"), Decimal("100"), "Fees are a percentage from 0 up to (not including) 100.", inclusive=False
    ),
    "fee_fixed": Limit(Decimal("0"), Decimal("1000"), "The fixed fee is an amount from 0 to 1000."),
    "payment_fee_percent": Limit(
        Decimal("0"),
        Decimal("100"),
        "The payment fee is a percentage from 0 up to (not including) 100.",
        inclusive=False,
    ),
    "payment_fee_fixed": Limit(Decimal("0"), Decimal("1000"), "The fixed payment fee is an amount from 0 to 1000."),
    "returns_percent": Limit(
        Decimal("0"),
        Decimal("100"),
        "The returns allowance is a percentage from 0 up to (not including) 100.",
        inclusive=False,
    ),
    "min_margin_percent": Limit(Decimal("0"), Decimal("90"), "The minimum margin is a percentage from 0 to 90."),
    "price_ending": Limit(Decimal("0"), Decimal("0.99"), "A price ending is cents: from 0.00 to 0.99."),
    "default_quantity": Limit(Decimal("0"), Decimal("10000"), "The quantity listed is a number from 0 to 10000."),
    "max_quantity": Limit(Decimal("1"), Decimal("10000"), "The maximum quantity is a number from 1 to 10000."),
    "safety_buffer": Limit(Decimal("0"), Decimal("10000"), "The safety buffer is a number from 0 to 10000."),
    "min_supplier_stock": Limit(
        Decimal("0"), Decimal("10000"), "The minimum supplier stock is a number from 0 to 10000."
    ),
    "failover_max_increase_percent": Limit(
        Decimal("0"), Decimal("1000"), "A backup source may raise the price by a percentage from 0 to 1000."
    ),
}
MAX_BELOW_DEFAULT = "The maximum quantity cannot be below the quantity listed when stock is unknown."
# The fees and the returns allowance are parts of the sale price: together they leave something.
SALE_PERCENT_FIELDS = ("fee_percent", "payment_fee_percent", "returns_percent")
PRICING_UNUSABLE = "The store's pricing settings cannot be used, so nothing was repriced: {problems}"


class StoreSettingsError(Exception):
    """Store settings the seller entered do not hold; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors
        self.message = " ".join(message for messages in errors.values() for message in messages)


def store_pricing_problems(values: dict) -> dict[str, list[str]]:
    """What is wrong with these pricing settings (field → messages); empty when they may be used.

    `values` maps setting names to values; missing or empty ones are not checked.
    """
    problems: dict[str, list[str]] = {}
    for name, limit in PRICING_LIMITS.items():
        value = values.get(name)
        if value is not None and value != "" and not limit.allows(value):
            problems.setdefault(name, []).append(limit.message)
    default, maximum = values.get("default_quantity"), values.get("max_quantity")
    if default is not None and maximum is not None and "max_quantity" not in problems and maximum < default:
        problems.setdefault("max_quantity", []).append(MAX_BELOW_DEFAULT)
    parts = [values.get(name) for name in SALE_PERCENT_FIELDS]
    checkable = not any(name in problems for name in SALE_PERCENT_FIELDS) and all(p not in (None, "") for p in parts)
    if checkable and sum((Decimal(str(part)) for part in parts), Decimal("0")) >= 100:
        problems.setdefault(NON_FIELD_ERRORS, []).append(SALE_PERCENTAGES_TOO_HIGH)
    return problems


def store_pricing_check(store: StoreAccount) -> None:
    """Raise StoreSettingsError (its message says what to fix) unless the store's saved pricing
    settings may price listings: work that reprices checks again, whatever wrote the row."""
    problems = store_pricing_problems({name: getattr(store, name) for name in PRICING_FIELDS})
    if problems:
        error = StoreSettingsError(problems)
        error.message = PRICING_UNUSABLE.format(problems=error.message)
        raise error


def store_settings_update(*, store: StoreAccount, changes: dict, acting_user, request=None) -> StoreAccount:
    """Change a store's pricing and publishing settings (validated, audited).

    When a pricing setting changed, the store's live listings are repriced by the new rules
    (after commit, as a Job of the seller's, `store.reprice_job`; subject to the automation
    switches like any automatic change). Settings out of their range (PRICING_LIMITS) raise
    StoreSettingsError and change nothing.
    """
    unknown = set(changes) - set(STORE_SETTING_FIELDS)
    if unknown:
        raise ValueError(f"Not a store setting: {', '.join(sorted(unknown))}")
    store.reprice_job = None
    old = {name: getattr(store, name) for name in changes}
    for name, value in changes.items():
        setattr(store, name, value)
    if "currency" in changes and store.currency:
        store.currency = store.currency.upper()
    problems = store_pricing_problems({name: getattr(store, name) for name in PRICING_FIELDS})
    try:
        store.full_clean(exclude=[f.name for f in store._meta.fields if f.name not in changes])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            problems.setdefault(name, []).extend(m for m in messages if m not in problems.get(name, []))
    if problems:
        for name, value in old.items():
            setattr(store, name, value)
        raise StoreSettingsError(problems)
    changed = [name for name in changes if getattr(store, name) != old[name]]
    if not changed:
        return store
    with transaction.atomic():
        store.save(update_fields=[*changed, "updated_at"])
        audit_record(
            acting_user=acting_user,
            owner=store.user,
            action="settings_updated",
            resource=store,
            old_value={name: old[name] for name in changed},
            new_value={name: getattr(store, name) for name in changed},
            request=request,
        )
        if set(changed) & set(PRICING_FIELDS):
            from marketplaces.tasks import store_reprice_task

            store.reprice_job = job_start(
                store_reprice_task, type=REPRICE_JOB_TYPE, user=store.user, params={"store_id": store.pk}
            )
    return store


def automation_switch_set(*, pushes_paused: bool, reason: str = "") -> AutomationSwitch:
    """Staff's global switch: stop (or allow again) every automatic push to marketplaces.

    Changes keep being computed and held meanwhile; switching back on sends what was held.
    """
    switch = AutomationSwitch.current()
    was_paused = switch.pushes_paused
    switch.pushes_paused, switch.reason = pushes_paused, reason
    switch.save(update_fields=["pushes_paused", "reason", "updated_at"])
    logger.warning(
        "Automatic marketplace pushes %s%s", "paused" if pushes_paused else "resumed", f": {reason}" * bool(reason)
    )
    if was_paused and not pushes_paused:
        from marketplaces.tasks import store_pending_push_task

        transaction.on_commit(lambda: task_enqueue(store_pending_push_task))
    return switch


# --- A store's state and pricing preview (the stores pages and the API) ----------------------


@dataclass(frozen=True)
class StoreState:
    """How a store's connection stands, for the stores page: a key, a label, a badge and why."""

    key: str
    label: str
    badge: str
    detail: str = ""
    until: datetime | None = None


def auth_denied_message(store: StoreAccount) -> str:
    return AUTH_DENIED_MESSAGE.format(marketplace=store.get_marketplace_display())


def store_state(store: StoreAccount, *, now: datetime | None = None) -> StoreState:
    """Connected, token expiring, needs re-authorisation, authorisation denied, or not connected."""
    now = now or timezone.now()
    if store.last_error == auth_denied_message(store) and (not store.is_connected or store.needs_reauth):
        return StoreState("denied", "Authorisation denied", "failed", "Connect again and allow access.")
    if store.needs_reauth:
        return StoreState(
            "needs_reauth",
            "Needs re-authorisation",
            "failed",
            "The marketplace no longer accepts this store's authorisation: nothing is sent until you connect again.",
        )
    if not store.is_connected:
        return StoreState("disconnected", "Not connected", "disconnected")
    if (
        store.oauth_expires_at
        and not store.oauth_refresh_token
        and store.oauth_expires_at <= now + ACCESS_EXPIRY_WARNING
    ):
        return StoreState(
            "expiring",
            "Token expiring",
            "warning",
            "Access ends soon and cannot be renewed by itself: connect again before then.",
            store.oauth_expires_at,
        )
    warning = timedelta(days=settings.MARKETPLACE_REFRESH_EXPIRY_WARNING_DAYS)
    if store.refresh_token_expires_at and store.refresh_token_expires_at <= now + warning:
        return StoreState(
            "expiring",
            "Token expiring",
            "warning",
            "The marketplace's authorisation ends soon: connect again before then to keep the store in sync.",
            store.refresh_token_expires_at,
        )
    return StoreState("connected", "Connected", "connected")


@dataclass(frozen=True)
class PreviewRow:
    """One line of the pricing preview: what a sale at our price earns for a given product. `cost` is
    its unit cost, `fees` the marketplace and payment fees, `profit` what is left after the landed
    cost; `quote` holds every part (None when no price can be worked out: see `note`)."""

    label: str
    cost: Decimal | None
    price: Decimal | None
    fees: Decimal | None
    profit: Decimal | None
    margin_percent: Decimal | None
    below_minimum: bool
    note: str = ""
    quote: Quote | None = None
    min_margin: Decimal | None = None


def store_preview_rows(*, store: StoreAccount, preview_store: StoreAccount, user) -> list[PreviewRow]:
    """The price our rules give a sample supplier price (no shipping, no tax) and, when the seller
    lists on this store, one of their products' real unit cost, under the settings in
    `preview_store` (unsaved): the store page's and the API's preview."""
    from .listings import listing_preview

    sample = unit_cost_for(
        price=SAMPLE_COST,
        currency=preview_store.currency,
        store_currency=preview_store.currency,
        convert=convert_amount,
    )
    quote = listing_quote(cost=sample, store=preview_store)
    rows = [
        PreviewRow(
            label=f"A product costing {SAMPLE_COST} {preview_store.currency}, no shipping or tax",
            cost=quote.cost,
            price=quote.price,
            fees=quote.fees,
            profit=quote.profit,
            margin_percent=quote.margin_percent,
            below_minimum=quote.margin_percent < preview_store.min_margin_percent,
            quote=quote,
            min_margin=preview_store.min_margin_percent,
        )
    ]
    listing = (
        store.listings.filter(user=user, product__price__isnull=False)
        .select_related("product", "product__supplier")
        .order_by("-created_at", "-pk")
        .first()
    )
    if listing is not None:
        preview = listing_preview(listing.product, preview_store)
        rows.append(
            PreviewRow(
                label=listing.title[:60],
                cost=preview.cost,
                price=preview.price,
                fees=preview.fees,
                profit=preview.profit,
                margin_percent=preview.margin_percent,
                below_minimum=preview.below_min_margin,
                note="" if preview.can_price else preview.message,
                quote=preview.quote,
                min_margin=preview_store.min_margin_percent,
            )
        )
    return rows
