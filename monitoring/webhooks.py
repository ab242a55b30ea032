"""Signed webhooks: the signature every webhook notification carries, how a receiver checks it, and the POST.

Header (DESIGN.md): ``X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``,
keyed by the seller's AlertSettings.webhook_secret (made on first use). A receiver recomputes the
HMAC over the exact bytes it received, rejects a timestamp more than 5 minutes off (replays) and
compares in constant time: `webhook_verify` does exactly that with the standard library only, so
it is also the snippet in the README. The secret never goes into a log, an error message or a
Notification row.
"""

import hashlib
import hmac
import secrets
import time

import httpx
from django.conf import settings
from django.db import transaction

from catalog import netsafety
from catalog.fetching.transport import Deadline, DirectTransport

from .alerts import alert_settings_for
from .models import AlertSettings

SIGNATURE_HEADER = "X-Signature"
SIGNATURE_TOLERANCE = 300  # seconds a timestamp may be off
USER_AGENT = "ArbitrageMonitor-Webhooks/1.0"
WEBHOOK_SECRET_PREFIX = "whsec_"  # as the settings page makes them (monitoring.preferences)


def webhook_signature(secret: str, raw_body: bytes, timestamp: int | None = None) -> str:
    """The X-Signature header value for a body: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``."""
    t = int(time.time() if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"{t}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def webhook_verify(secret, header, raw_body, now=None, tolerance=300) -> bool:
    """True when `header` (X-Signature) signs `raw_body` with `secret` at a time within `tolerance` s of now.

    `raw_body` is the request body exactly as received (bytes; str is UTF-8 encoded); `now` is unix
    seconds or a datetime. Several v1 entries are accepted (any may match, e.g. while a secret is
    rotated). Uses only the standard library.
    """
    if isinstance(raw_body, str):
        raw_body = raw_body.encode()
    if isinstance(secret, str):
        secret = secret.encode()
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if not timestamp or not timestamp.isdigit() or not signatures:
        return False
    if now is None:
        now = time.time()
    elif hasattr(now, "timestamp"):  # a datetime
        now = now.timestamp()
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret, timestamp.encode() + b"." + raw_body, hashlib.sha256).hexdigest().encode()
    return any(hmac.compare_digest(expected, signature.encode()) for signature in signatures)


def webhook_secret_new() -> str:
    """A fresh signing secret: the prefix says what it is, the rest is 32 random bytes."""
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)


def webhook_secret_for(user) -> str:
    """The seller's webhook signing secret, made on first use (secrets.token_urlsafe).

    The settings page shows and regenerates it (monitoring.preferences.webhook_secret_regenerate).
    """
    alert_settings = alert_settings_for(user)
    if alert_settings.webhook_secret:
        return alert_settings.webhook_secret
    with transaction.atomic():
        # Locked so two workers signing at once agree on one secret.
        alert_settings = AlertSettings.objects.select_for_update().get(pk=alert_settings.pk)
        if not alert_settings.webhook_secret:
            alert_settings.webhook_secret = webhook_secret_new()
            alert_settings.save(update_fields=["webhook_secret", "updated_at"])
    return alert_settings.webhook_secret


def webhook_post(*, url: str, secret: str, raw_body: bytes, delivery_id=None, timeout: float | None = None) -> int:
    """POST a signed JSON body to a seller's webhook URL; returns the HTTP status (redirects not followed).

    The target must be public (catalog.netsafety): checked before sending and again on the socket
    actually opened, so DNS rebinding fails too. Raises netsafety.UnsafeURL for a refused target,
    socket.gaierror when the host does not resolve, httpx.HTTPError (timeouts among them) otherwise.
    """
    timeout = timeout or settings.WEBHOOK_TIMEOUT
    netsafety.check_url(url)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: webhook_signature(secret, raw_body),
    }
    if delivery_id is not None:
        headers["X-Webhook-Id"] = str(delivery_id)
    transport = DirectTransport(deadline=Deadline(timeout))
    with (
        httpx.Client(
            transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False
        ) as client,
        client.stream("POST", url, content=raw_body, headers=headers) as response,
    ):
        # The answer's body is not needed: the status says whether the seller's end took it.
        return response.status_code
