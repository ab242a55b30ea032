"""Buyers' personal data on orders: the ship-to name and address (and the buyer's marketplace user
name), wiped when the retention period after shipping or cancellation is over, when Shopify asks
us to redact a customer, or when eBay says the buyer's account was deleted; and Shopify's requests
for what we hold on a customer, which the seller who owns the orders answers.

A wipe empties `Order.ship_to` and stamps `ship_to_erased_at`; a later sync never brings it back.
Nothing here writes an address anywhere: audit rows and alerts name orders, not people.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from marketplaces.models import Marketplace, Order
from monitoring.records import alert_raise, audit_record

BATCH_SIZE = 2000
DATA_REQUEST_ALERT = "customer_data_request"
DATA_REQUEST_MESSAGE = (
    "Shopify asked, for a customer of {store}, what we hold about them: the ship-to name and address of "
    "order(s) {numbers}. Open the order(s) to see it and hand it to the customer; we hold nothing else "
    "about them."
)
DATA_REQUEST_NOTHING_MESSAGE = (
    "Shopify asked, for a customer of {store}, what we hold about them: none of the orders named "
    "({count}) is here or still holds an address, so there is nothing to hand over."
)
SHOPIFY_REDACT_NOTE = "Shopify asked us to erase this customer's data (customers/redact)."
EBAY_DELETED_NOTE = "eBay told us the buyer's account was deleted."


def order_addresses_due(*, before: datetime) -> QuerySet:
    """Orders still holding an address, shipped, delivered, cancelled or refunded before `before`."""
    return Order.objects.filter(ship_to__isnull=False).filter(
        Q(shipped_at__lt=before) | Q(delivered_at__lt=before) | Q(cancelled_at__lt=before) | Q(refunded_at__lt=before)
    )


def order_addresses_erase(queryset: QuerySet, *, now: datetime | None = None) -> int:
    """Wipe the ship-to address of every order in `queryset`, in batches; returns how many."""
    now = now or timezone.now()
    erased = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
        if not ids:
            return erased
        erased += Order.objects.filter(pk__in=ids).update(ship_to=None, ship_to_erased_at=now, updated_at=now)


def _erase_each(orders, *, notes: str, forget_username: bool) -> list[int]:
    """Wipe each order's address (and the buyer's user name) with one audit row each."""
    now = timezone.now()
    done = []
    with transaction.atomic():
        for order in orders:
            order.ship_to = None
            order.ship_to_erased_at = now
            fields = ["ship_to", "ship_to_erased_at", "updated_at"]
            if forget_username:
                order.buyer_username = ""
                fields.append("buyer_username")
            order.save(update_fields=fields)
            audit_record(
                acting_user=None,
                owner=order.user,
                action="buyer_data_erased",
                resource=order,
                new_value={"ship_to": None, **({"buyer_username": ""} if forget_username else {})},
                notes=notes,
            )
            done.append(order.pk)
    return done


def ebay_buyer_erase(*, username: str) -> list[int]:
    """An eBay account was deleted: forget that buyer's address and user name on every eBay order."""
    username = (username or "").strip()
    if not username:
        return []
    orders = Order.objects.filter(store_account__marketplace=Marketplace.EBAY, buyer_username__iexact=username)
    return _erase_each(orders.select_related("user"), notes=EBAY_DELETED_NOTE, forget_username=True)


def _shopify_orders(shop_domain: str, order_ids) -> QuerySet:
    order_ids = order_ids if isinstance(order_ids, list | tuple) else []
    gids = [f"gid://shopify/Order/{int(pk)}" for pk in order_ids if str(pk).isdigit()]
    return Order.objects.filter(
        store_account__marketplace=Marketplace.SHOPIFY,
        store_account__shop_domain__iexact=(shop_domain or "").strip(),
        marketplace_order_id__in=gids,
    ).select_related("user", "store_account")


def shopify_customer_redact(*, shop_domain: str, order_ids) -> list[int]:
    """customers/redact: wipe the address of the customer's orders Shopify names (orders_to_redact)."""
    return _erase_each(_shopify_orders(shop_domain, order_ids), notes=SHOPIFY_REDACT_NOTE, forget_username=True)


def shopify_customer_data_request(*, shop_domain: str, order_ids, request_id) -> list[int]:
    """customers/data_request: tell the seller of that shop which of their orders hold the customer's
    name and address (the seller hands it over from the order pages). Returns those orders' ids."""
    from marketplaces.models import StoreAccount

    stores = StoreAccount.objects.filter(
        marketplace=Marketplace.SHOPIFY, shop_domain__iexact=(shop_domain or "").strip()
    ).select_related("user")
    orders = [order for order in _shopify_orders(shop_domain, order_ids) if order.ship_to is not None]
    for store in stores:
        mine = [order for order in orders if order.store_account_id == store.pk]
        if mine:
            message = DATA_REQUEST_MESSAGE.format(store=store, numbers=", ".join(o.order_number for o in mine))
        else:
            count = len(order_ids) if isinstance(order_ids, list | tuple) else 0
            message = DATA_REQUEST_NOTHING_MESSAGE.format(store=store, count=count)
        alert_raise(
            user=store.user,
            type=DATA_REQUEST_ALERT,
            subject=f"data_request:{store.pk}:{request_id or 'unnumbered'}"[:100],
            severity="warning" if mine else "info",
            message=message,
            data={
                "store_id": store.pk,
                "store_name": store.account_name,
                "marketplace": store.marketplace,
                "order_ids": [order.pk for order in mine],
                "order_numbers": [order.order_number for order in mine],
                "path": reverse("marketplaces:order_detail", args=[mine[0].pk])
                if len(mine) == 1
                else reverse("marketplaces:order_list"),
            },
        )
    return [order.pk for order in orders]
