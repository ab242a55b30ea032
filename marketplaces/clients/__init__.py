"""Store adapters: one HTTP client per marketplace behind one interface, and the errors they raise.

Every adapter is built from a `StoreAccount` (`adapter_for(store)`) and speaks in the small
value types below, so the listing services never see a marketplace's own shapes. Errors are
mapped to three classes a caller can act on:

- `Retryable(retry_after)`: try again later (429, 5xx, timeouts, Shopify THROTTLED). It is a
  `monitoring.records.TransientError`, so a `@job_task` retries it with backoff.
- `NeedsReauth`: the seller must connect the store again (401 after a refresh, invalid_grant).
- `Rejected(message)`: the marketplace refused the request; `message` is its own words, kept
  for the seller. `NotFound` is the Rejected of a remote item that no longer exists.

No message, log line or exception ever holds a token or a client secret.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from monitoring.records import TransientError

if TYPE_CHECKING:
    from marketplaces.models import StoreAccount

logger = logging.getLogger(__name__)

SKU_PREFIX = "AM"
REDACTED = "[redacted]"
NEEDS_REAUTH_MESSAGE = "The marketplace no longer accepts this store's authorisation: connect the store again."
TIMEOUT_MESSAGE = "The marketplace did not answer in time."
NETWORK_MESSAGE = "The marketplace could not be reached."
RATE_LIMITED_MESSAGE = "The marketplace asked us to slow down."
SERVER_ERROR_MESSAGE = "The marketplace had a temporary error (HTTP {status})."
QUOTA_EXHAUSTED_MESSAGE = "The marketplace's daily request allowance is used up."
UNKNOWN_REJECTION_MESSAGE = "The marketplace refused the request (HTTP {status})."


# --- Errors ---------------------------------------------------------------------------------


class MarketplaceError(Exception):
    """Base of every error an adapter raises; its message is safe to show and to log."""

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


class Retryable(MarketplaceError, TransientError):
    """A temporary failure: try again after `retry_after` seconds (None: use backoff)."""

    def __init__(self, message: str = RATE_LIMITED_MESSAGE, retry_after: float | None = None):
        MarketplaceError.__init__(self, message)
        self.retry_after = retry_after


class QuotaExhausted(Retryable):
    """The application's request allowance for the day is spent: wait for the next day."""


class NeedsReauth(MarketplaceError):
    """The store's tokens are no longer accepted: the seller must connect the store again."""

    def __init__(self, message: str = NEEDS_REAUTH_MESSAGE):
        super().__init__(message)


class Rejected(MarketplaceError):
    """The marketplace refused the request; `message` keeps its words for the seller."""

    def __init__(self, message: str, *, status: int | None = None, errors: Sequence[Mapping] = ()):
        super().__init__(message)
        self.status = status
        self.errors = list(errors)


class NotFound(Rejected):
    """The remote item does not exist (any more)."""


# --- Values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the seller to grant access; keep `state` (and `code_verifier`) in the session."""

    url: str
    state: str
    code_verifier: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TokenSet:
    """Tokens from a code exchange or a refresh. `refresh_token` None = keep the old one."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scope: str = ""


@dataclass(frozen=True)
class ListingData:
    """What to publish. `publish_settings` carries each marketplace's required defaults.

    eBay: category_id, merchant_location_key, fulfillment_policy_id, payment_policy_id,
    return_policy_id (marketplace_id, content_language optional).
    Shopify: location_id (vendor, product_type optional).
    Etsy: taxonomy_id, shipping_profile_id, readiness_state_id, who_made, when_made
    (return_policy_id, image_ids optional).
    """

    sku: str
    title: str
    description: str
    price: Decimal
    currency: str
    quantity: int
    image_urls: Sequence[str] = ()
    condition: str = "NEW"
    aspects: Mapping[str, Sequence[str]] = field(default_factory=dict)
    cost: Decimal | None = None
    publish_settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ListingRef:
    """Which remote listing: our SKU and the marketplace's id (None until published)."""

    sku: str
    external_id: str | None = None


@dataclass(frozen=True)
class PriceQuantity:
    """One listing's new price and/or quantity (None = leave as is)."""

    ref: ListingRef
    price: Decimal | None = None
    quantity: int | None = None
    currency: str = "USD"


@dataclass(frozen=True)
class ItemResult:
    """Outcome for one item of a batched update: `error` None means it was applied."""

    ref: ListingRef
    error: MarketplaceError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class RemoteStatus(enum.StrEnum):
    ACTIVE = "active"  # on sale (possibly with quantity 0)
    PAUSED = "paused"  # kept but not on sale: Shopify DRAFT, Etsy inactive
    DRAFT = "draft"  # created, never activated (Etsy draft, eBay unpublished offer never listed)
    ENDED = "ended"  # ended/archived/expired/withdrawn: no longer for sale
    MISSING = "missing"  # the marketplace has no such item any more


@dataclass(frozen=True)
class RemoteState:
    """What the marketplace says about one listing right now."""

    status: RemoteStatus
    external_id: str | None = None
    price: Decimal | None = None
    quantity: int | None = None
    currency: str | None = None
    raw_status: str = ""


@dataclass(frozen=True)
class OrderLine:
    """One order line, normalised. `fees` is this line's share of the marketplace fee when given."""

    order_id: str
    line_id: str
    sku: str | None
    external_id: str | None
    quantity: int
    unit_price: Decimal
    currency: str
    ordered_at: datetime
    fees: Decimal | None = None
    cancelled: bool = False
    title: str = ""
    ship_by: datetime | None = None


@dataclass(frozen=True)
class ShipTo:
    """The buyer's ship-to name and address: personal data, kept encrypted and shown to its seller only.

    Never put it in a log line or an error message: it has no readable repr.
    """

    name: str = ""
    company: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    phone: str = ""

    def __repr__(self) -> str:
        return "ShipTo(<personal data>)"

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if getattr(self, name)}

    @property
    def is_empty(self) -> bool:
        return not self.as_dict()


@dataclass(frozen=True)
class RemoteOrder:
    """One marketplace order with its lines and what the marketplace says about its fulfilment.

    `number` is what the seller sees (eBay's order id, Shopify's "#1001", Etsy's receipt id);
    `shipped`: the marketplace holds it as fulfilled; `delivered_at` only where reported (Shopify).
    """

    order_id: str
    number: str
    ordered_at: datetime
    currency: str
    lines: list[OrderLine]
    buyer_username: str = ""
    ship_by: datetime | None = None
    ship_to: ShipTo | None = field(default=None, repr=False)
    fees: Decimal | None = None
    cancelled: bool = False
    refunded: bool = False
    shipped: bool = False
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class ShipmentRequest:
    """Tell the marketplace that lines of an order left with this carrier and tracking number.

    `lines` are (marketplace line id, quantity); Etsy ships a whole receipt and ignores them.
    """

    order_id: str
    lines: tuple[tuple[str, int], ...]
    carrier: str
    tracking_number: str
    shipped_at: datetime


@dataclass(frozen=True)
class TrafficRow:
    """One listing on one day. `cumulative`: views is a running total (Etsy), not the day's count."""

    external_id: str
    date: date
    views: int | None
    clicks: int | None
    source: str
    impressions: int | None = None
    cumulative: bool = False


# --- Helpers --------------------------------------------------------------------------------


def sku_for(listing) -> str:
    """Our SKU for a listing: stable across retries, so a retried publish finds its remote item."""
    return f"{SKU_PREFIX}-{listing.pk}"


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def expires_at_from(seconds, now: datetime | None = None) -> datetime | None:
    if seconds in (None, ""):
        return None
    return (now or timezone.now()) + timedelta(seconds=int(seconds))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def usage_key(name: str, day: date | None = None) -> str:
    return f"marketplaces:usage:{name}:{(day or timezone.now().date()).isoformat()}"


def usage_count(name: str, *, add: int = 0) -> int:
    """Calls spent today on an application-wide allowance (shared cache: Redis or file cache)."""
    key = usage_key(name)
    if add:
        cache.add(key, 0, timeout=2 * 86400)
        try:
            return cache.incr(key, add)
        except ValueError:
            cache.set(key, add, timeout=2 * 86400)
            return add
    return cache.get(key, 0)


def apply_tokens(store: StoreAccount, tokens: TokenSet) -> None:
    """Save new tokens on the store (encrypted fields), touching only the token columns."""
    store.oauth_token = tokens.access_token
    if tokens.refresh_token:
        store.oauth_refresh_token = tokens.refresh_token
    store.oauth_expires_at = tokens.expires_at
    if store.pk:
        store.save(update_fields=["oauth_token", "oauth_refresh_token", "oauth_expires_at", "updated_at"])


def token_needs_refresh(store: StoreAccount, *, margin: timedelta | None = None, now: datetime | None = None) -> bool:
    if not store.oauth_refresh_token or store.oauth_expires_at is None:
        return False
    margin = settings.MARKETPLACE_TOKEN_REFRESH_MARGIN if margin is None else margin
    return store.oauth_expires_at <= (now or timezone.now()) + margin


def ensure_fresh_token(store: StoreAccount, *, margin: timedelta | None = None, force: bool = False) -> bool:
    """Refresh the store's access token when it expires within `margin`; True if refreshed.

    The row is locked while refreshing, so two workers never spend the same (rotating) refresh
    token; the one that waited picks up the tokens the other saved. Raises NeedsReauth when the
    marketplace no longer honours the refresh token.
    """
    if not force and not token_needs_refresh(store, margin=margin):
        return False
    if not store.pk:
        tokens = adapter_for(store).refresh_tokens()
        apply_tokens(store, tokens)
        return True
    from marketplaces.models import StoreAccount

    with transaction.atomic():
        locked = StoreAccount.objects.select_for_update().get(pk=store.pk)
        refreshed_meanwhile = locked.oauth_token != store.oauth_token
        if refreshed_meanwhile or not (force or token_needs_refresh(locked, margin=margin)):
            store.oauth_token, store.oauth_refresh_token = locked.oauth_token, locked.oauth_refresh_token
            store.oauth_expires_at = locked.oauth_expires_at
            return False
        tokens = adapter_for(locked).refresh_tokens()
        apply_tokens(locked, tokens)
    store.oauth_token, store.oauth_refresh_token = locked.oauth_token, locked.oauth_refresh_token
    store.oauth_expires_at = locked.oauth_expires_at
    logger.info("Refreshed the access token of store %s", store.pk)
    return True


def adapter_for(store: StoreAccount, **options) -> MarketplaceClient:
    """The adapter of the store's marketplace; a demo seller's store gets the recording adapter,
    which writes down what would be sent and sends nothing (clients.recording)."""
    from .ebay import EbayClient
    from .etsy import EtsyClient
    from .recording import RecordingClient
    from .shopify import ShopifyClient

    if store.user_id and store.user.is_demo:
        return RecordingClient(store, **options)

    classes = {"ebay": EbayClient, "shopify": ShopifyClient, "etsy": EtsyClient}
    try:
        cls = classes[store.marketplace]
    except KeyError:
        raise ValueError(f"No adapter for marketplace {store.marketplace!r}") from None
    return cls(store, **options)


# --- Base client ----------------------------------------------------------------------------


class MarketplaceClient:
    """Common plumbing: one httpx client with timeouts, token refresh, error mapping, redaction.

    Subclasses implement the operations below and `_rejection(response)`, which turns a 4xx
    body into the marketplace's own message.
    """

    marketplace = ""

    def __init__(
        self,
        store: StoreAccount,
        *,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.http = http or httpx.Client(timeout=httpx.Timeout(settings.MARKETPLACE_HTTP_TIMEOUT))
        self.sleep = sleep
        self.clock = clock

    def _each_item(self, items: Sequence[PriceQuantity], update: Callable[[PriceQuantity], None]) -> list[ItemResult]:
        """Update items one call each: a refusal fails only its item; being asked to wait stops
        the round, and the items not sent yet come back with that Retryable (not as calls)."""
        results: list[ItemResult] = []
        stopped: Retryable | None = None
        for item in items:
            if stopped is not None:
                results.append(ItemResult(item.ref, stopped))
                continue
            try:
                update(item)
                results.append(ItemResult(item.ref))
            except Retryable as exc:
                stopped = exc
                results.append(ItemResult(item.ref, exc))
            except Rejected as exc:
                results.append(ItemResult(item.ref, exc))
        return results

    # The interface every adapter implements.
    def authorization_url(self, *, state: str | None = None) -> AuthorizationRequest:
        raise NotImplementedError

    def exchange_code(self, code: str, *, code_verifier: str | None = None) -> TokenSet:
        raise NotImplementedError

    def refresh_tokens(self) -> TokenSet:
        raise NotImplementedError

    def revoke(self) -> bool:
        """Revoke the store's grant at the marketplace where it can be done; True if done."""
        return False

    def fetch_publish_defaults(self) -> dict:
        """Publish settings the marketplace can tell us (policies, profiles, location); {} if none."""
        return {}

    def publish(self, listing: ListingData) -> str:
        raise NotImplementedError

    def update_price_quantity(self, items: Sequence[PriceQuantity]) -> list[ItemResult]:
        raise NotImplementedError

    def pause(self, ref: ListingRef) -> None:
        raise NotImplementedError

    def resume(self, ref: ListingRef, *, quantity: int) -> str:
        raise NotImplementedError

    def end(self, ref: ListingRef) -> None:
        raise NotImplementedError

    def get_remote_state(self, ref: ListingRef) -> RemoteState:
        raise NotImplementedError

    def fetch_remote_orders(self, since: datetime) -> list[RemoteOrder]:
        """Orders changed since `since`, with their lines, ship-by date, ship-to address and state."""
        raise NotImplementedError

    def fetch_orders(self, since: datetime) -> list[OrderLine]:
        """The lines of the orders changed since `since`."""
        return [line for order in self.fetch_remote_orders(since) for line in order.lines]

    def ship(self, shipment: ShipmentRequest) -> str:
        """Send a carrier and tracking number for lines of an order; the marketplace's id of the
        shipment ("" when it gives none). Raises Rejected with the marketplace's words."""
        raise NotImplementedError

    def fetch_traffic(self, external_ids: Sequence[str], day: date) -> list[TrafficRow]:
        raise NotImplementedError

    # Plumbing.
    app_secret_settings: tuple[str, ...] = ()

    def _secrets(self) -> list[str]:
        values = [self.store.oauth_token, self.store.oauth_refresh_token, self.store.api_key, self.store.api_secret]
        values += [getattr(settings, name, "") for name in self.app_secret_settings]
        return [v for v in values if v and len(v) >= 6]

    def redact(self, text: str) -> str:
        for secret in self._secrets():
            text = text.replace(secret, REDACTED)
        return text

    def _send(self, method: str, url: str, **kwargs) -> httpx.Response:
        """Send one request; transport failures become Retryable (never echoing the request)."""
        try:
            return self.http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise Retryable(TIMEOUT_MESSAGE) from None
        except httpx.TransportError:
            raise Retryable(NETWORK_MESSAGE) from None

    def _authorized(self, method: str, url: str, *, headers: Callable[[], dict], **kwargs) -> httpx.Response:
        """Send with a fresh token; on 401 refresh once and retry, then give up with NeedsReauth."""
        ensure_fresh_token(self.store)
        response = self._send(method, url, headers=headers(), **kwargs)
        if response.status_code == 401 and self.store.oauth_refresh_token:
            ensure_fresh_token(self.store, force=True)
            response = self._send(method, url, headers=headers(), **kwargs)
        if response.status_code == 401:
            raise NeedsReauth()
        return response

    def _raise_for_status(self, response: httpx.Response, *, allowed: Sequence[int] = ()) -> None:
        status = response.status_code
        if status < 400 or status in allowed:
            return
        if status == 429:
            raise Retryable(RATE_LIMITED_MESSAGE, retry_after=parse_retry_after(response.headers.get("retry-after")))
        if status >= 500:
            raise Retryable(SERVER_ERROR_MESSAGE.format(status=status))
        if status == 401:
            raise NeedsReauth()
        error = self._rejection(response)
        error.message = self.redact(error.message)
        error.args = (error.message,)
        raise error

    def _rejection(self, response: httpx.Response) -> MarketplaceError:
        return Rejected(UNKNOWN_REJECTION_MESSAGE.format(status=response.status_code), status=response.status_code)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None
