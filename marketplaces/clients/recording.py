"""The recording adapter: a demo store's marketplace.

A demo seller's stores (User.is_demo) are chosen this adapter by `adapter_for`, whatever their
marketplace: every publish, price/quantity update, pause, resume and end is written down as a
RecordedPush (shown on the listing page) and answered as a marketplace would, and nothing leaves
the machine. So the demo's listings follow their supplier for real, and no demo address or made-up
token ever reaches eBay, Shopify or Etsy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from . import (
    SKU_PREFIX,
    AuthorizationRequest,
    ItemResult,
    ListingData,
    ListingRef,
    MarketplaceClient,
    OrderLine,
    PriceQuantity,
    Rejected,
    RemoteState,
    RemoteStatus,
    TokenSet,
    TrafficRow,
)

DEMO_NOT_CONNECTABLE = "A demo store is not connected to a marketplace; connect a store of your own."
EXTERNAL_ID_PREFIX = "DEMO-"


class RecordingClient(MarketplaceClient):
    """Writes down what would be sent to the marketplace, and answers as it would."""

    marketplace = "demo"

    def _record(self, operation: str, ref_sku: str, *, price=None, quantity=None, currency="") -> None:
        from marketplaces.models import Listing, RecordedPush

        listing = None
        number = ref_sku.removeprefix(f"{SKU_PREFIX}-")
        if number.isdigit():
            listing = Listing.objects.filter(pk=int(number), store_account_id=self.store.pk).first()
        RecordedPush.objects.create(
            store_account_id=self.store.pk,
            listing=listing,
            operation=operation,
            sku=ref_sku[:100],
            price=price,
            quantity=quantity,
            currency=currency or self.store.currency,
        )

    def authorization_url(self, *, state: str | None = None) -> AuthorizationRequest:
        raise Rejected(DEMO_NOT_CONNECTABLE)

    def exchange_code(self, code: str, *, code_verifier: str | None = None) -> TokenSet:
        raise Rejected(DEMO_NOT_CONNECTABLE)

    def refresh_tokens(self) -> TokenSet:
        raise Rejected(DEMO_NOT_CONNECTABLE)

    def publish(self, listing: ListingData) -> str:
        self._record("publish", listing.sku, price=listing.price, quantity=listing.quantity, currency=listing.currency)
        return EXTERNAL_ID_PREFIX + listing.sku

    def update_price_quantity(self, items: Sequence[PriceQuantity]) -> list[ItemResult]:
        for item in items:
            self._record("update", item.ref.sku, price=item.price, quantity=item.quantity, currency=item.currency)
        return [ItemResult(item.ref) for item in items]

    def pause(self, ref: ListingRef) -> None:
        self._record("pause", ref.sku)

    def resume(self, ref: ListingRef, *, quantity: int) -> str:
        self._record("resume", ref.sku, quantity=quantity)
        return ref.external_id or EXTERNAL_ID_PREFIX + ref.sku

    def end(self, ref: ListingRef) -> None:
        self._record("end", ref.sku)

    def get_remote_state(self, ref: ListingRef) -> RemoteState:
        return RemoteState(status=RemoteStatus.ACTIVE, external_id=ref.external_id)

    def fetch_orders(self, since: datetime) -> list[OrderLine]:
        return []

    def fetch_traffic(self, external_ids: Sequence[str], day: date) -> list[TrafficRow]:
        return []
