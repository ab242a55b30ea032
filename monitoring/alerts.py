"""Alert rules: what a product refresh, a listing change or the service's own health means for a person.

Every rule looks at a condition and either raises its alert (records.alert_raise: one open alert per
(user, type, subject), updated while the condition lasts, so a condition seen every cycle is one
alert) or clears it (records.alert_clear) when the condition went away; when it comes back a new
alert is raised. Severity follows impact: a listing that would sell at a loss or a supplier out of
stock under a live listing is critical; what the seller only watches is a warning or info.

The monitoring cycle calls, in order: catalog refresh → `alerts_for_refresh` → listings follow →
`alerts_for_listing_changes` → notifications.notifications_queue(alerts=...). Staff's service
alerts come from `service_alerts_check`, run by beat, and the order rules (not bought in time,
near or past the ship-by date) from `alerts_for_orders`, also run by beat: time passing raises them.
"""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Max, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from catalog.models import Availability, PriceHistory
from catalog.services import products_due
from marketplaces.models import Listing, ListingStatus, Order, OrderState, Sale, StatusReason, StoreAccount

from .models import Alert, AlertSettings, AlertType, Job, JobStatus, Severity
from .records import alert_clear, alert_raise

SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
# A price drop or a reprice this many times past its bound is a warning rather than info.
LARGE_FACTOR = 2
HUNDRED = Decimal("100")
CENT = Decimal("0.01")
LIVE_STATUSES = (ListingStatus.PENDING, ListingStatus.ACTIVE, ListingStatus.PAUSED)
# policy_trigger alerts marketplaces.services.follow raises and clears itself (data["reason"]).
FOLLOW_OWNED_REASONS = frozenset({"currency_not_converted"})
READ_STATUSES = ("updated", "unchanged")  # a refresh that read the page: its values can be judged
FAILED_STATUSES = ("blocked", "failed", "unrecognised", "invalid")

PRICE_DROP_MESSAGE = "Supplier price fell {percent}% to {price} {currency} (was {reference} {currency})."
OUT_OF_STOCK_MESSAGE = "Out of stock at the supplier."
LOW_STOCK_MESSAGE = "Only {stock} left at the supplier (your alert level is {threshold})."
LOW_STOCK_STATE_MESSAGE = "The supplier shows low stock."
SCRAPE_FAILING_MESSAGE = "The supplier page could not be read {count} times in a row: {error}"
WRONG_PRODUCT_MESSAGE = (
    "The supplier link now shows another product ({count} readings in a row); your live listings of it "
    "are paused. {reason}"
)
LOSS_MESSAGE = "At the supplier's new cost this listing sells at a loss: margin {margin}%."
LOW_MARGIN_MESSAGE = "Margin fell to {margin}% at the supplier's new cost (your minimum is {minimum}%)."
PAUSED_MESSAGE = "The listing was paused automatically: {reason}."
ZEROED_MESSAGE = "The listing's quantity was set to 0: it no longer sells."
REPRICED_MESSAGE = "The listing was repriced by {percent}%: {old} → {new} {currency}."
STORE_AUTH_MESSAGE = "{store} refused our authorisation: the seller must connect it again."
TRACKING_STALE_MESSAGE = "{count} products are overdue for refresh by more than {minutes} minutes."
JOB_FAILED_MESSAGE = "{count} {type} jobs failed in the last {minutes} minutes. Latest error: {error}"
ORDER_NOT_BOUGHT_MESSAGE = "Order {number} on {store} sold {hours} hours ago and is not bought at the supplier yet."
ORDER_SHIP_SOON_MESSAGE = "Order {number} on {store} must ship by {ship_by}: send its tracking number before then."
ORDER_SHIP_LATE_MESSAGE = (
    "Order {number} on {store} is past its ship-by date ({ship_by}): the marketplace counts it as late."
)
ORDER_RULES = (AlertType.ORDER_NOT_BOUGHT, AlertType.ORDER_NOT_SHIPPED)


# --- Settings ---------------------------------------------------------------------------------


def alert_settings_for(user) -> AlertSettings:
    """The seller's alert thresholds, created with the defaults on first use."""
    return AlertSettings.objects.get_or_create(user=user)[0]


def _settings_by_user(users) -> dict[int, AlertSettings]:
    found = {s.user_id: s for s in AlertSettings.objects.filter(user__in=users)}
    for user in users:
        if user.pk not in found:
            found[user.pk] = alert_settings_for(user)
    return found


# --- What an alert's data holds ---------------------------------------------------------------


def _money(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(CENT))


def _plain(value) -> str:
    """A number for a sentence: 10, 7.5, 12.25 (no trailing zeros)."""
    text = f"{Decimal(value).quantize(CENT):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def product_data(product) -> dict:
    """What identifies a product in an alert: id, title, its page (path) and the supplier's page."""
    path = reverse("catalog:product_detail", args=[product.pk])
    return {
        "product_id": product.pk,
        "product_title": product.title or str(product),
        "product_path": path,
        "supplier_url": product.url,
        "path": path,
    }


def listing_data(listing) -> dict:
    """What identifies a listing in an alert: id, title, store, its page (path), and its product."""
    path = reverse("marketplaces:listing_detail", args=[listing.pk])
    store = listing.store_account
    return {
        **product_data(listing.product),
        "listing_id": listing.pk,
        "listing_title": listing.title,
        "listing_path": path,
        "store_id": store.pk,
        "store_name": store.account_name,
        "marketplace": store.marketplace,
        "path": path,
    }


def _listings_summary(listings) -> list[dict]:
    return [
        {
            "listing_id": listing.pk,
            "title": listing.title,
            "status": listing.status,
            "price": _money(listing.price),
            "currency": listing.store_account.currency,
            "store_name": listing.store_account.account_name,
            "path": reverse("marketplaces:listing_detail", args=[listing.pk]),
        }
        for listing in listings
    ]


def _raise(raised: list, **kwargs) -> Alert:
    alert, created = alert_raise(**kwargs)
    alert.is_new = created  # for callers that want only what this evaluation raised first
    raised.append(alert)
    return alert


# --- Product rules (after a refresh) ----------------------------------------------------------


def product_sellers(product) -> list:
    """Active sellers who track the product or have a live listing of it."""
    User = get_user_model()
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(tracked_products=product) | Q(listings__product=product, listings__status__in=LIVE_STATUSES))
        .distinct()
        .order_by("pk")
    )


@transaction.atomic
def alerts_for_refresh(*, product, outcome) -> list[Alert]:
    """Evaluate the product rules (price_drop, low_stock, scrape_failing) for every seller of the product.

    `outcome` is catalog.services.RefreshOutcome. A refresh that did not read the page (held,
    blocked, failed, invalid) changes nothing, except that a product failing
    SCRAPE_FAILURE_THRESHOLD times in a row raises scrape_failing, and one whose link showed another
    product WRONG_PRODUCT_PAUSE_AFTER times in a row raises wrong_product (never a price or stock
    alert). Returns the alerts the conditions raise (open ones, new or already open;
    `alert.is_new` tells which), for notifications_queue.
    """
    sellers = product_sellers(product)
    if not sellers:
        return []
    raised: list[Alert] = []
    subject = f"product:{product.pk}"
    if outcome.status == "wrong_product":
        if product.wrong_product_count >= settings.WRONG_PRODUCT_PAUSE_AFTER:
            for seller in sellers:
                _raise(
                    raised,
                    user=seller,
                    type=AlertType.WRONG_PRODUCT,
                    subject=subject,
                    severity=Severity.CRITICAL,
                    message=WRONG_PRODUCT_MESSAGE.format(count=product.wrong_product_count, reason=outcome.message),
                    data={
                        **product_data(product),
                        "wrong_product_count": product.wrong_product_count,
                        "reason": outcome.message,
                    },
                    product=product,
                )
        return raised
    if outcome.status in FAILED_STATUSES:
        if product.failure_count >= settings.SCRAPE_FAILURE_THRESHOLD:
            for seller in sellers:
                _raise(
                    raised,
                    user=seller,
                    type=AlertType.SCRAPE_FAILING,
                    subject=subject,
                    severity=Severity.WARNING,
                    message=SCRAPE_FAILING_MESSAGE.format(
                        count=product.failure_count, error=(outcome.message or product.last_error)[:300]
                    ),
                    data={**product_data(product), "failure_count": product.failure_count, "error": outcome.message},
                    product=product,
                )
        return raised
    if outcome.status not in READ_STATUSES:
        return raised

    listings_by_user: dict[int, list] = {}
    for listing in (
        Listing.objects.filter(product=product, status__in=LIVE_STATUSES, user__in=sellers)
        .select_related("store_account")
        .order_by("pk")
    ):
        listings_by_user.setdefault(listing.user_id, []).append(listing)
    thresholds = _settings_by_user(sellers)
    peak = _recent_peak(product, outcome)
    for seller in sellers:
        alert_clear(user=seller, type=AlertType.SCRAPE_FAILING, subject=subject)
        alert_clear(user=seller, type=AlertType.WRONG_PRODUCT, subject=subject)
        listings = listings_by_user.get(seller.pk, [])
        _price_drop_rule(raised, seller, product, outcome, thresholds[seller.pk], listings, peak)
        _stock_rule(raised, seller, product, outcome, thresholds[seller.pk], listings)
    return raised


def _recent_peak(product, outcome) -> Decimal | None:
    """The highest price the product had in the look-back period, in its current currency."""
    since = timezone.now() - settings.ALERT_PRICE_DROP_LOOKBACK
    found = PriceHistory.objects.filter(product=product, currency=product.currency, recorded_at__gte=since).aggregate(
        old=Max("old_price"), new=Max("new_price")
    )
    prices = [p for p in (found["old"], found["new"]) if p is not None]
    if outcome.price_changed and outcome.old_price is not None and outcome.currency == product.currency:
        prices.append(outcome.old_price)
    return max(prices) if prices else None


def _price_drop_rule(raised, seller, product, outcome, thresholds, listings, peak) -> None:
    subject = f"product:{product.pk}"
    if product.price is None:
        return
    threshold = thresholds.price_drop_percent
    open_alert = Alert.objects.open().filter(user=seller, type=AlertType.PRICE_DROP, subject=subject).first()
    reference = None
    if open_alert is not None and open_alert.data.get("currency") == product.currency:
        # While an alert is open the drop is measured from where it started, so it clears on recovery.
        try:
            reference = Decimal(open_alert.data["reference_price"])
        except (KeyError, TypeError, InvalidOperation):
            reference = None
    if reference is None:
        reference = peak
    if not reference or reference <= 0:
        return
    drop = (reference - product.price) / reference * HUNDRED
    if drop < threshold:
        alert_clear(user=seller, type=AlertType.PRICE_DROP, subject=subject)
        return
    severity = Severity.WARNING if drop >= threshold * LARGE_FACTOR else Severity.INFO
    percent = _percent(drop)
    _raise(
        raised,
        user=seller,
        type=AlertType.PRICE_DROP,
        subject=subject,
        severity=severity,
        message=PRICE_DROP_MESSAGE.format(
            percent=percent, price=_money(product.price), reference=_money(reference), currency=product.currency
        ),
        data={
            **product_data(product),
            "old_price": _money(outcome.old_price if outcome.price_changed else reference),
            "new_price": _money(product.price),
            "reference_price": _money(reference),
            "currency": product.currency,
            "drop_percent": str(percent),
            "threshold_percent": _money(threshold),
            "listings": _listings_summary(listings),
        },
        product=product,
    )


def _stock_rule(raised, seller, product, outcome, thresholds, listings) -> None:
    subject = f"product:{product.pk}"
    stock, availability = product.stock, product.availability
    threshold = thresholds.low_stock_quantity
    out = availability == Availability.OUT_OF_STOCK or stock == 0
    low = not out and (availability == Availability.LOW_STOCK or (stock is not None and stock <= threshold))
    if not out and not low:
        if stock is None and availability == Availability.UNKNOWN:
            return  # nothing known: the alert stays as it was
        alert_clear(user=seller, type=AlertType.LOW_STOCK, subject=subject)
        return
    selling = any(listing.status in (ListingStatus.ACTIVE, ListingStatus.PENDING) for listing in listings)
    if out:
        # Critical when it sells (or would resume) on the seller's stores; a warning when only watched.
        severity = Severity.CRITICAL if listings else Severity.WARNING
        message = OUT_OF_STOCK_MESSAGE
    else:
        severity = Severity.WARNING
        message = LOW_STOCK_MESSAGE.format(stock=stock, threshold=threshold) if stock is not None else None
        message = message or LOW_STOCK_STATE_MESSAGE
    data = {
        **product_data(product),
        "stock": stock,
        "availability": availability,
        "threshold": threshold,
        "selling": selling,
        "listings": _listings_summary(listings),
    }
    if outcome.stock_changed:
        data.update(old_stock=outcome.old_stock, old_availability=outcome.old_availability)
    _raise(
        raised,
        user=seller,
        type=AlertType.LOW_STOCK,
        subject=subject,
        severity=severity,
        message=message,
        data=data,
        product=product,
    )


# --- Listing rules (after listings followed their product) ------------------------------------


@transaction.atomic
def alerts_for_listing_changes(*, changes) -> list[Alert]:
    """Evaluate the listing rules (low_margin, policy_trigger) for what the follow step did.

    `changes` are marketplaces' ListingChange objects (any object with listing_id, user_id, action,
    rule, old_price, new_price, old_quantity, new_quantity, old_status, new_status, status_reason,
    margin_percent, pushed, message). Returns the alerts the conditions raise, as alerts_for_refresh.
    """
    changes = list(changes)
    listings = Listing.objects.select_related("product", "store_account", "user").in_bulk(
        {change.listing_id for change in changes}
    )
    users = {listing.user_id: listing.user for listing in listings.values()}
    thresholds = _settings_by_user(list(users.values()))
    raised: list[Alert] = []
    for change in changes:
        listing = listings.get(change.listing_id)
        if listing is None or not listing.user.is_active:
            continue
        subject = f"listing:{listing.pk}"
        status = change.new_status or listing.status
        if status in (ListingStatus.ENDED, ListingStatus.DELISTED):
            for alert_type in (AlertType.LOW_MARGIN, AlertType.POLICY_TRIGGER):
                alert_clear(user=listing.user, type=alert_type, subject=subject)
            continue
        _margin_rule(raised, listing, change, thresholds[listing.user_id])
        _policy_rule(raised, listing, change)
    return raised


def _change_data(listing, change) -> dict:
    currency = listing.store_account.currency
    return {
        **listing_data(listing),
        "action": change.action,
        "rule": change.rule,
        "old_price": _money(change.old_price),
        "new_price": _money(change.new_price),
        "currency": currency,
        "old_quantity": change.old_quantity,
        "new_quantity": change.new_quantity,
        "old_status": change.old_status,
        "new_status": change.new_status,
        "status_reason": change.status_reason,
        "margin_percent": None if change.margin_percent is None else str(change.margin_percent),
        "supplier_price": _money(listing.active_source.price),
        "supplier_currency": listing.active_source.currency,
        "pushed": bool(change.pushed),
        "change_message": change.message,
    }


def _quantity(listing, change) -> int:
    return listing.quantity_available if change.new_quantity is None else change.new_quantity


def _margin_rule(raised, listing, change, thresholds) -> None:
    if change.margin_percent is None:
        return  # margin unknown (no cost, no exchange rate): the alert stays as it was
    margin = Decimal(str(change.margin_percent))
    minimum = thresholds.min_margin_percent
    subject = f"listing:{listing.pk}"
    if margin >= minimum:
        alert_clear(user=listing.user, type=AlertType.LOW_MARGIN, subject=subject)
        return
    status = change.new_status or listing.status
    selling = status in (ListingStatus.ACTIVE, ListingStatus.PENDING) and _quantity(listing, change) > 0
    if margin < 0:
        # A loss is critical while the listing can sell; once paused the harm is held off.
        severity = Severity.CRITICAL if selling else Severity.WARNING
        message = LOSS_MESSAGE.format(margin=_plain(margin))
    else:
        severity = Severity.WARNING
        message = LOW_MARGIN_MESSAGE.format(margin=_plain(margin), minimum=_plain(minimum))
    _raise(
        raised,
        user=listing.user,
        type=AlertType.LOW_MARGIN,
        subject=subject,
        severity=severity,
        message=message,
        data={**_change_data(listing, change), "min_margin_percent": _money(minimum), "selling": selling},
        product=listing.product,
        listing=listing,
    )


def _policy_trigger(listing, change) -> tuple[str, str] | None:
    """(severity, message) when the system acted on the listing in a way the seller must know."""
    if change.action == "paused" and change.status_reason == StatusReason.WRONG_PRODUCT:
        return None  # the product's wrong_product alert tells each seller once, listings included
    if change.action == "paused":
        reason = StatusReason(change.status_reason).label if change.status_reason in StatusReason.values else ""
        return Severity.WARNING, PAUSED_MESSAGE.format(reason=(reason or change.status_reason or "policy").lower())
    if change.action == "quantity" and change.new_quantity == 0:
        return Severity.WARNING, ZEROED_MESSAGE
    if change.action == "repriced" and change.old_price and change.new_price is not None:
        old, new = Decimal(change.old_price), Decimal(change.new_price)
        moved = abs(new - old) / old * HUNDRED
        bound = Decimal(settings.ALERT_REPRICE_PERCENT)
        if moved > bound:
            severity = Severity.WARNING if moved > bound * LARGE_FACTOR else Severity.INFO
            sign = "+" if new > old else "−"
            return severity, REPRICED_MESSAGE.format(
                percent=f"{sign}{_percent(moved)}",
                old=_money(old),
                new=_money(new),
                currency=listing.store_account.currency,
            )
    return None


def _policy_rule(raised, listing, change) -> None:
    subject = f"listing:{listing.pk}"
    trigger = _policy_trigger(listing, change)
    if trigger is not None:
        severity, message = trigger
        _raise(
            raised,
            user=listing.user,
            type=AlertType.POLICY_TRIGGER,
            subject=subject,
            severity=severity,
            message=message,
            data=_change_data(listing, change),
            product=listing.product,
            listing=listing,
        )
        return
    if change.action in ("held", "not_converted"):
        return  # nothing was done or judged: the alert stays as it was
    status = change.new_status or listing.status
    if status != ListingStatus.ACTIVE or _quantity(listing, change) <= 0:
        return
    # Selling normally again (resumed, quantity back, or a cycle with nothing to do). An alert the
    # follow step raised itself (currency not convertible) is its to clear.
    open_alert = Alert.objects.open().filter(user=listing.user, type=AlertType.POLICY_TRIGGER, subject=subject).first()
    if open_alert is not None and (open_alert.data or {}).get("reason") not in FOLLOW_OWNED_REASONS:
        alert_clear(user=listing.user, type=AlertType.POLICY_TRIGGER, subject=subject)


# --- Service alerts for staff -----------------------------------------------------------------


def _admin_path(name: str, *args) -> str | None:
    """A path in staff's admin, or None where that page is not registered."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _staff():
    return list(get_user_model().objects.filter(is_staff=True, is_active=True).order_by("pk"))


def _clear_everywhere(*, type: str, subjects, now) -> int:
    return Alert.objects.filter(type=type, subject__in=list(subjects), cleared_at__isnull=True).update(cleared_at=now)


@transaction.atomic
def service_alerts_check(*, now=None) -> list[Alert]:
    """Raise or clear staff's service alerts: stores needing authorisation, stale tracking, failing jobs.

    Every active staff user gets the alert (the seller's own store_auth alert is marketplaces'; it is
    cleared here too once the store no longer needs authorising). Returns the open alerts the
    conditions raise, for notifications_queue.
    """
    now = now or timezone.now()
    staff = _staff()
    raised: list[Alert] = []

    # Stores whose marketplace refused our tokens.
    stores = list(StoreAccount.objects.filter(needs_reauth=True).select_related("user").order_by("pk"))
    for store in stores:
        path = reverse("marketplaces:store_detail", args=[store.pk])
        data = {
            "store_id": store.pk,
            "store_name": store.account_name,
            "marketplace": store.marketplace,
            "seller_id": store.user_id,
            "seller_email": store.user.email,
            "last_error": store.last_error[:500],
            "store_path": path,
            "admin_path": _admin_path("admin:marketplaces_storeaccount_change", store.pk),
            "path": path,
        }
        # The seller's own store_auth alert is raised by marketplaces (store_mark_needs_reauth).
        for person in [member for member in staff if member.pk != store.user_id]:
            _raise(
                raised,
                user=person,
                type=AlertType.STORE_AUTH,
                subject=f"store:{store.pk}",
                severity=Severity.WARNING,
                message=STORE_AUTH_MESSAGE.format(store=store),
                data=data,
            )
    open_store_subjects = set(
        Alert.objects.open().filter(type=AlertType.STORE_AUTH).values_list("subject", flat=True)
    ) - {f"store:{store.pk}" for store in stores}
    _clear_everywhere(type=AlertType.STORE_AUTH, subjects=open_store_subjects, now=now)

    # Tracking gone stale: products overdue beyond the bound.
    bound = settings.ALERT_TRACKING_STALE_AFTER
    overdue = products_due(now - bound)
    count = overdue.count()
    if count:
        oldest = overdue.order_by("last_scraped_at").values_list("last_scraped_at", flat=True).first()
        minutes = int(bound.total_seconds() // 60)
        for person in staff:
            _raise(
                raised,
                user=person,
                type=AlertType.TRACKING_STALE,
                subject="service:tracking",
                severity=Severity.WARNING,
                message=TRACKING_STALE_MESSAGE.format(count=count, minutes=minutes),
                data={
                    "overdue_count": count,
                    "bound_minutes": minutes,
                    "oldest_last_scraped_at": oldest.isoformat() if oldest else None,
                    "path": _admin_path("admin:catalog_product_changelist"),
                },
            )
    else:
        _clear_everywhere(type=AlertType.TRACKING_STALE, subjects=["service:tracking"], now=now)

    # Jobs failing repeatedly.
    window = settings.ALERT_JOB_FAILURE_WINDOW
    since = now - window
    failing = {
        row["type"]: row["failed"]
        for row in Job.objects.filter(status=JobStatus.FAILED)
        .filter(Q(completed_at__gte=since) | Q(completed_at__isnull=True, created_at__gte=since))
        .exclude(user__is_demo=True)
        .values("type")
        .annotate(failed=Count("pk"))
        if row["failed"] >= settings.ALERT_JOB_FAILURES
    }
    minutes = int(window.total_seconds() // 60)
    for job_type, failed in sorted(failing.items()):
        latest = (
            Job.objects.filter(status=JobStatus.FAILED, type=job_type)
            .exclude(user__is_demo=True)
            .order_by("-completed_at", "-pk")
            .first()
        )
        error = (latest.error_message or "")[:300] if latest else ""
        for person in staff:
            _raise(
                raised,
                user=person,
                type=AlertType.JOB_FAILED,
                subject=f"service:jobs:{job_type}",
                severity=Severity.CRITICAL
                if failed >= settings.ALERT_JOB_FAILURES * LARGE_FACTOR
                else Severity.WARNING,
                message=JOB_FAILED_MESSAGE.format(count=failed, type=job_type, minutes=minutes, error=error or "—"),
                data={
                    "job_type": job_type,
                    "failed_count": failed,
                    "window_minutes": minutes,
                    "latest_job_id": latest.pk if latest else None,
                    "latest_error": error,
                    "path": _admin_path("admin:monitoring_job_changelist"),
                },
            )
    open_job_subjects = set(
        Alert.objects.open()
        .filter(type=AlertType.JOB_FAILED, subject__startswith="service:jobs:")
        .values_list("subject", flat=True)
    ) - {f"service:jobs:{job_type}" for job_type in failing}
    _clear_everywhere(type=AlertType.JOB_FAILED, subjects=open_job_subjects, now=now)
    return raised


# --- Order rules (beat: time passing raises them) ---------------------------------------------


def order_data(order, titles: list[str]) -> dict:
    """What identifies an order in an alert: number, items, store, dates and its page. Never the
    buyer's name, address or user name."""
    path = reverse("marketplaces:order_detail", args=[order.pk])
    title = titles[0] if titles else ""
    if len(titles) > 1:
        title = f"{title} (+{len(titles) - 1} more)"
    store = order.store_account
    return {
        "order_id": order.pk,
        "order_number": order.order_number,
        "order_title": title,
        "store_id": store.pk,
        "store_name": store.account_name,
        "marketplace": store.marketplace,
        "state": order.state,
        "ordered_at": order.ordered_at.isoformat(),
        "ship_by": order.ship_by.isoformat() if order.ship_by else None,
        "path": path,
    }


def _local(moment, user) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).strftime("%b %-d, %H:%M %Z")


@transaction.atomic
def alerts_for_orders(*, now=None) -> list[Alert]:
    """Raise or clear the order rules for every open order of active sellers, by their thresholds:

    - order_not_bought (warning): still to buy `order_buy_hours` after the sale;
    - order_not_shipped: not shipped `order_ship_warning_hours` before its ship-by date (warning),
      past it (critical).

    One alert per (seller, rule, order); an order bought, shipped or closed clears its alerts.
    Returns the alerts the conditions raise, for notifications_queue.
    """
    now = now or timezone.now()
    orders = list(
        Order.objects.open()
        .filter(user__is_active=True)
        .select_related("store_account", "user")
        .defer("ship_to")
        .order_by("pk")
    )
    thresholds = _settings_by_user(list({order.user_id: order.user for order in orders}.values()))
    due = []
    for order in orders:
        settings_ = thresholds[order.user_id]
        if order.state == OrderState.TO_BUY and order.ordered_at <= now - timedelta(hours=settings_.order_buy_hours):
            due.append((order, AlertType.ORDER_NOT_BOUGHT, Severity.WARNING))
        if order.ship_by is not None:
            if order.ship_by <= now:
                due.append((order, AlertType.ORDER_NOT_SHIPPED, Severity.CRITICAL))
            elif order.ship_by <= now + timedelta(hours=settings_.order_ship_warning_hours):
                due.append((order, AlertType.ORDER_NOT_SHIPPED, Severity.WARNING))
    titles: dict[int, list[str]] = {}
    for order_id, title, listing_title in (
        Sale.objects.filter(order_id__in={order.pk for order, _, _ in due}, cancelled=False)
        .order_by("pk")
        .values_list("order_id", "title", "listing__title")
    ):
        titles.setdefault(order_id, []).append(listing_title or title)
    raised: list[Alert] = []
    for order, alert_type, severity in due:
        store = order.store_account.account_name
        if alert_type == AlertType.ORDER_NOT_BOUGHT:
            hours = int((now - order.ordered_at).total_seconds() // 3600)
            message = ORDER_NOT_BOUGHT_MESSAGE.format(number=order.order_number, store=store, hours=hours)
        else:
            template = ORDER_SHIP_LATE_MESSAGE if severity == Severity.CRITICAL else ORDER_SHIP_SOON_MESSAGE
            message = template.format(number=order.order_number, store=store, ship_by=_local(order.ship_by, order.user))
        _raise(
            raised,
            user=order.user,
            type=alert_type,
            subject=f"order:{order.pk}",
            severity=severity,
            message=message,
            data=order_data(order, titles.get(order.pk, [])),
        )
    keep = {(alert.user_id, alert.type, alert.subject) for alert in raised}
    stale = [
        pk
        for pk, user_id, alert_type, subject in Alert.objects.open()
        .filter(type__in=ORDER_RULES)
        .values_list("pk", "user_id", "type", "subject")
        if (user_id, alert_type, subject) not in keep
    ]
    if stale:
        Alert.objects.filter(pk__in=stale).update(cleared_at=now)
    return raised
