"""Shipping an order: the seller's carrier and tracking number go to the marketplace (eBay
createShippingFulfillment, Shopify fulfillmentCreate, Etsy createReceiptShipment).

Each package is a Shipment. It is `sent` once the marketplace accepts it; the order is shipped
(audited, with who entered the tracking number) once every line that was not cancelled is in a
sent shipment. A refusal keeps the marketplace's words on the shipment and the order and is not
sent again (the seller corrects it and ships again); a marketplace that could not take it now
(busy, unreachable, the store to be connected again) gets it again later from beat
(`shipments_retry`), at most ORDER_SHIPMENT_MAX_ATTEMPTS times. Many orders at once come from a
CSV of order number, carrier and tracking number, sent as a Job.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from marketplaces.clients import MarketplaceError, NeedsReauth, Retryable, ShipmentRequest, adapter_for
from marketplaces.models import OPEN_ORDER_STATES, Marketplace, Order, OrderState, Sale, Shipment, ShipmentStatus
from monitoring.records import audit_record

from .orders import order_state_set
from .purchases import OrderActionError
from .pushing import connection_block, is_demo_store
from .stores import store_mark_needs_reauth

SCOPES_MISSING_MESSAGE = "Reconnect to enable shipping: {store} was connected before shipping came."
NOT_OPEN_MESSAGE = "This order is {state}: there is nothing to ship."
NO_LINES_MESSAGE = "Choose at least one line that is neither shipped nor cancelled."
WHOLE_RECEIPT_MESSAGE = "Etsy ships a whole receipt: every line goes with one tracking number."
PENDING_MESSAGE = "A tracking number for these lines is already waiting to be sent."
CARRIER_MISSING_MESSAGE = "Give the carrier and the tracking number."
WAITING_MESSAGE = "{marketplace} could not take it now ({message}); it is sent again automatically."
RECONNECT_MESSAGE = "Connect {store} again: the tracking number is sent once it is connected."
GAVE_UP_MESSAGE = "Not sent after {attempts} tries: {message}"
DEMO_NOTE = "Demo store: recorded here, nothing was sent to the marketplace."
SENT_NOTE = "{carrier} {tracking} accepted by {marketplace}."
ALREADY_NOTE = "{marketplace} already holds these lines as shipped."
RETRY_FIRST_WAIT = timedelta(minutes=5)
RETRY_LONGEST_WAIT = timedelta(hours=6)

CSV_MAX_BYTES = 1024 * 1024
CSV_MAX_ROWS = 5000
CSV_TOO_BIG = "The file is larger than 1 MiB; split it."
CSV_TOO_MANY = f"The file has more than {CSV_MAX_ROWS} rows; split it."
CSV_NOT_TEXT = "The file is not a UTF-8 CSV file."
CSV_EMPTY = "The file holds no rows."
CSV_ROW_SHAPE = "Line {line}: expected order number, carrier, tracking number."
CSV_NO_ORDER = "Line {line}: no order {number} in your stores."
CSV_AMBIGUOUS = "Line {line}: order number {number} is in more than one of your stores; ship it from its page."
CSV_DUPLICATE = "Line {line}: order {number} is already on line {first}."
CSV_ROW_REFUSED = "Line {line}: order {number}: {message}"
HEADER_WORDS = ("order", "carrier", "tracking")


def _retry_wait(attempts: int) -> timedelta:
    return min(RETRY_LONGEST_WAIT, RETRY_FIRST_WAIT * 2 ** max(0, attempts - 1))


def _unshipped_lines(order: Order) -> list[Sale]:
    """The order's lines that are not cancelled and in no shipment the marketplace accepted."""
    return list(
        order.lines.filter(cancelled=False).exclude(shipments__status=ShipmentStatus.SENT).order_by("pk").distinct()
    )


def lines_to_ship(lines: Iterable[Sale]) -> list[Sale]:
    """Of an order's lines (their shipments prefetched), those the seller may still ship: not
    cancelled, in no shipment the marketplace accepted and none waiting to be sent."""
    busy = (ShipmentStatus.SENT, ShipmentStatus.PENDING)
    return [
        line
        for line in lines
        if not line.cancelled and not any(shipment.status in busy for shipment in line.shipments.all())
    ]


# --- Making a shipment -----------------------------------------------------------------------


@transaction.atomic
def shipment_create(
    order: Order, *, carrier: str, tracking_number: str, line_ids: Iterable[int] | None = None, acting_user=None
) -> Shipment:
    """A pending shipment of the order's lines (all those left when `line_ids` is None), checked:
    the order is open, the store may ship, the lines are neither shipped nor already waiting."""
    order = Order.objects.select_for_update().select_related("store_account", "store_account__user").get(pk=order.pk)
    store = order.store_account
    carrier, tracking_number = (carrier or "").strip()[:100], (tracking_number or "").strip()[:100]
    if not carrier or not tracking_number:
        raise OrderActionError(CARRIER_MISSING_MESSAGE)
    if order.state not in OPEN_ORDER_STATES:
        raise OrderActionError(NOT_OPEN_MESSAGE.format(state=order.get_state_display().lower()))
    if not is_demo_store(store) and store.shipping_scopes_missing():
        raise OrderActionError(SCOPES_MISSING_MESSAGE.format(store=store))
    left = _unshipped_lines(order)
    chosen = left if line_ids is None else [line for line in left if line.pk in {int(pk) for pk in line_ids}]
    if not chosen:
        raise OrderActionError(NO_LINES_MESSAGE)
    if store.marketplace == Marketplace.ETSY and len(chosen) != len(left):
        raise OrderActionError(WHOLE_RECEIPT_MESSAGE)
    if Sale.objects.filter(pk__in=[line.pk for line in chosen], shipments__status=ShipmentStatus.PENDING).exists():
        raise OrderActionError(PENDING_MESSAGE)
    shipment = Shipment.objects.create(
        order=order,
        carrier=carrier,
        tracking_number=tracking_number,
        shipped_at=timezone.now(),
        created_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
    )
    shipment.lines.set(chosen)
    return shipment


def order_ship(
    order: Order,
    *,
    carrier: str,
    tracking_number: str,
    line_ids: Iterable[int] | None = None,
    acting_user,
    request=None,
) -> Shipment:
    """The seller shipped lines of an order (all that are left by default): send the carrier and the
    tracking number to the marketplace now. Returns the shipment: sent, refused (its `error` is the
    marketplace's words) or pending (sent again later). Raises OrderActionError when it cannot be made."""
    shipment = shipment_create(
        order, carrier=carrier, tracking_number=tracking_number, line_ids=line_ids, acting_user=acting_user
    )
    return shipment_push(shipment, request=request)


# --- Sending it ------------------------------------------------------------------------------


def _accept(shipment: Shipment, *, remote_id: str, note: str, request=None) -> None:
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("store_account", "user").get(pk=shipment.order_id)
        shipment.status, shipment.remote_id, shipment.error = ShipmentStatus.SENT, remote_id[:100], ""
        shipment.sent_at, shipment.next_attempt_at = timezone.now(), None
        shipment.save(update_fields=["status", "remote_id", "error", "sent_at", "next_attempt_at", "updated_at"])
        if order.ship_error:
            order.ship_error = ""
            order.save(update_fields=["ship_error", "updated_at"])
        actor = shipment.created_by
        if not _unshipped_lines(order) and order.state in OPEN_ORDER_STATES:
            order_state_set(order, OrderState.SHIPPED, acting_user=actor, request=request, notes=note)
            return
        audit_record(
            acting_user=actor,
            owner=order.user,
            action="shipment_sent",
            resource=order,
            new_value={"carrier": shipment.carrier, "tracking_number": shipment.tracking_number},
            request=request,
            notes=note,
        )


def _refuse(shipment: Shipment, message: str) -> None:
    with transaction.atomic():
        shipment.status, shipment.error, shipment.next_attempt_at = ShipmentStatus.REFUSED, message, None
        shipment.save(update_fields=["status", "error", "next_attempt_at", "updated_at"])
        Order.objects.filter(pk=shipment.order_id).update(ship_error=message, updated_at=timezone.now())


def _wait(shipment: Shipment, message: str) -> None:
    if shipment.attempts >= settings.ORDER_SHIPMENT_MAX_ATTEMPTS:
        _refuse(shipment, GAVE_UP_MESSAGE.format(attempts=shipment.attempts, message=message))
        return
    shipment.error = message
    shipment.next_attempt_at = timezone.now() + _retry_wait(shipment.attempts)
    shipment.save(update_fields=["error", "next_attempt_at", "updated_at"])
    Order.objects.filter(pk=shipment.order_id).update(ship_error=message, updated_at=timezone.now())


def shipment_push(shipment: Shipment, *, request=None) -> Shipment:
    """Send one pending shipment to its marketplace and record how it went (see the module's doc)."""
    shipment = Shipment.objects.select_related("order__store_account__user", "created_by").get(pk=shipment.pk)
    if shipment.status != ShipmentStatus.PENDING:
        return shipment
    order, store = shipment.order, shipment.order.store_account
    marketplace = store.get_marketplace_display()
    if is_demo_store(store):
        _accept(shipment, remote_id="", note=DEMO_NOTE, request=request)
        return shipment
    if connection_block(store):
        shipment.attempts += 1
        shipment.save(update_fields=["attempts", "updated_at"])
        _wait(shipment, RECONNECT_MESSAGE.format(store=store))
        return shipment
    lines = list(shipment.lines.order_by("pk"))
    to_send = ShipmentRequest(
        order_id=order.marketplace_order_id,
        lines=tuple((line.line_id, line.quantity) for line in lines),
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        shipped_at=shipment.shipped_at,
    )
    shipment.attempts += 1
    shipment.save(update_fields=["attempts", "updated_at"])
    adapter = adapter_for(store)
    try:
        remote_id = adapter.ship(to_send)
    except NeedsReauth as exc:
        store_mark_needs_reauth(store, exc.message)
        _wait(shipment, RECONNECT_MESSAGE.format(store=store))
    except Retryable as exc:
        _wait(shipment, WAITING_MESSAGE.format(marketplace=marketplace, message=exc.message))
    except MarketplaceError as exc:
        _refuse(shipment, exc.message or type(exc).__name__)
    else:
        note = (
            SENT_NOTE.format(carrier=shipment.carrier, tracking=shipment.tracking_number, marketplace=marketplace)
            if remote_id or store.marketplace != Marketplace.SHOPIFY
            else ALREADY_NOTE.format(marketplace=marketplace)
        )
        _accept(shipment, remote_id=remote_id, note=note, request=request)
    finally:
        adapter.http.close()
    shipment.refresh_from_db()
    return shipment


def shipments_retry(*, now: datetime | None = None) -> list[Shipment]:
    """Send again the pending shipments whose wait is over, for stores that are connected (beat)."""
    now = now or timezone.now()
    due = (
        Shipment.objects.filter(status=ShipmentStatus.PENDING, next_attempt_at__lte=now)
        .filter(order__store_account__is_connected=True, order__store_account__needs_reauth=False)
        .order_by("next_attempt_at", "pk")
    )
    return [shipment_push(shipment) for shipment in due]


def shipments_push(
    *, shipment_ids: Iterable[int], user=None, progress: Callable[[int, int], None] | None = None
) -> dict:
    """Send several pending shipments one by one (a CSV upload's Job); a summary by order number."""
    ids = list(dict.fromkeys(int(pk) for pk in shipment_ids))
    shipments = Shipment.objects.filter(pk__in=ids).select_related("order")
    if user is not None:
        shipments = shipments.filter(order__user=user)
    found = {shipment.pk: shipment for shipment in shipments}
    summary: dict = {"sent": [], "refused": {}, "waiting": {}}
    for done, pk in enumerate(ids, start=1):
        shipment = found.get(pk)
        if shipment is not None:
            shipment = shipment_push(shipment)
            number = shipment.order.order_number
            if shipment.status == ShipmentStatus.SENT:
                summary["sent"].append(number)
            elif shipment.status == ShipmentStatus.REFUSED:
                summary["refused"][number] = shipment.error
            else:
                summary["waiting"][number] = shipment.error
        if progress is not None:
            progress(done, len(ids))
    return summary


# --- Many at once, from a CSV file -----------------------------------------------------------


@dataclass(frozen=True)
class ShipRow:
    """One row of a shipping CSV: which order, with which carrier and tracking number."""

    line: int
    order: Order
    carrier: str
    tracking_number: str


def _number_key(number: str) -> str:
    return number.strip().lstrip("#").strip().lower()


def ship_csv_read(*, user, content: bytes) -> tuple[list[ShipRow], list[str]]:
    """The rows of a CSV of order number, carrier, tracking number (a header row is allowed) matched
    to the seller's orders, and one readable error per row that cannot be used. Nothing is changed."""
    if len(content) > CSV_MAX_BYTES:
        return [], [CSV_TOO_BIG]
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [CSV_NOT_TEXT]
    try:
        raw = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text)), start=1) if any(c.strip() for c in row)]
    except csv.Error:
        return [], [CSV_NOT_TEXT]
    if raw and any(word in " ".join(raw[0][1]).lower() for word in HEADER_WORDS):
        raw = raw[1:]
    if not raw:
        return [], [CSV_EMPTY]
    if len(raw) > CSV_MAX_ROWS:
        return [], [CSV_TOO_MANY]
    errors, wanted = [], []
    for n, row in raw:
        cells = [cell.strip() for cell in row]
        if len(cells) < 3 or not all(cells[:3]):
            errors.append(CSV_ROW_SHAPE.format(line=n))
            continue
        wanted.append((n, cells[0], cells[1], cells[2]))
    keys = {_number_key(number) for _, number, _, _ in wanted}
    candidates = keys | {f"#{key}" for key in keys}
    by_key: dict[str, list[Order]] = {}
    for order in (
        Order.objects.filter(user=user)
        .filter(order_number__in=[*candidates, *(c.upper() for c in candidates)])
        .select_related("store_account")
    ):
        by_key.setdefault(_number_key(order.order_number), []).append(order)
    rows, first_line = [], {}
    for n, number, carrier, tracking in wanted:
        key = _number_key(number)
        matches = by_key.get(key, [])
        if not matches:
            errors.append(CSV_NO_ORDER.format(line=n, number=number))
        elif len(matches) > 1:
            errors.append(CSV_AMBIGUOUS.format(line=n, number=number))
        elif key in first_line:
            errors.append(CSV_DUPLICATE.format(line=n, number=number, first=first_line[key]))
        else:
            first_line[key] = n
            rows.append(ShipRow(line=n, order=matches[0], carrier=carrier, tracking_number=tracking))
    return rows, errors


class _RowsRefused(Exception):
    """Some row of a shipping CSV cannot be shipped: nothing of the file is kept."""


def ship_csv_start(*, user, rows: list[ShipRow], acting_user) -> tuple[object | None, list[str]]:
    """Make a pending shipment of every line left for each row's order and start a Job sending them
    (progress for the seller). All or nothing: when a row's order cannot be shipped, nothing is made
    and the rows' errors come back. Returns (the Job or None, errors)."""
    from marketplaces.tasks import shipments_push_task
    from monitoring.records import job_start

    shipment_ids, errors = [], []
    try:
        with transaction.atomic():
            for row in rows:
                try:
                    shipment = shipment_create(
                        row.order, carrier=row.carrier, tracking_number=row.tracking_number, acting_user=acting_user
                    )
                except OrderActionError as exc:
                    errors.append(
                        CSV_ROW_REFUSED.format(line=row.line, number=row.order.order_number, message=exc.message)
                    )
                    continue
                shipment_ids.append(shipment.pk)
            if errors or not shipment_ids:
                raise _RowsRefused
            job = job_start(
                shipments_push_task,
                type="ship_orders",
                user=user,
                params={"shipment_ids": shipment_ids},
                total=len(shipment_ids),
            )
    except _RowsRefused:
        return None, errors or [CSV_EMPTY]
    return job, []
