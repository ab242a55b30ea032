"""`Idempotency-Key` on the seller API's POSTs: a retry with the same key within
API_IDEMPOTENCY_WINDOW gets the first answer again (with `Idempotent-Replayed: true`) and
nothing is done twice.

The key is claimed before the work starts (a unique row per seller and key), so two copies of a
request racing each other do the work once: the second is told the first is still running (409,
Retry-After). The same key sent with another request (method, path or body) is refused (422). A
first answer that is a server error (5xx) is not kept, so the retry does the work.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from accounts.models import IdempotencyKey

from .problems import Conflict, QueryValidationError, Unprocessable

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# A claim whose first request never finished (its worker died) is given up after this.
ABANDONED_AFTER = timedelta(minutes=2)
KEY_TOO_LONG = f"{HEADER} is at most {MAX_KEY_LENGTH} characters."
KEY_IN_USE = f"A request with this {HEADER} is still being answered; try again in a moment."
KEY_REUSED = f"This {HEADER} was used with another request (method, path or body); use a new key for a new request."


@dataclass
class Claim:
    row: IdempotencyKey
    replay: Response | None = None


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.get_full_path().encode() + b"\0")
    digest.update(request.body or b"")
    return digest.hexdigest()


def idempotency_claim(request) -> Claim | None:
    """The claim on the request's key (None without the header), or its first answer to replay."""
    key = (request.headers.get(HEADER) or "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise QueryValidationError({HEADER: [KEY_TOO_LONG]})
    user, fingerprint, now = request.user, _fingerprint(request), timezone.now()
    for _ in range(3):
        try:
            with transaction.atomic():
                return Claim(IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint))
        except IntegrityError:
            pass
        row = IdempotencyKey.objects.filter(user=user, key=key).first()
        if row is None:
            continue  # removed meanwhile: claim it again
        expired = row.created_at < now - settings.API_IDEMPOTENCY_WINDOW
        abandoned = row.status is None and row.created_at < now - ABANDONED_AFTER
        if expired or abandoned:
            IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at).delete()
            continue
        if row.fingerprint != fingerprint:
            raise Unprocessable(KEY_REUSED, code="idempotency_key_reused")
        if row.status is None:
            exc = Conflict(KEY_IN_USE, code="idempotency_in_progress")
            exc.wait = 1
            raise exc
        headers = {REPLAYED_HEADER: "true"}
        if row.location:
            headers["Location"] = row.location
        response = Response(row.body, status=row.status, headers=headers)
        response.is_problem = row.status >= 400
        return Claim(row, replay=response)
    raise Conflict(KEY_IN_USE, code="idempotency_in_progress")


def idempotency_release(claim: Claim | None) -> None:
    """Give the key up (the request failed with a server error): a retry does the work."""
    if claim is not None and claim.replay is None:
        IdempotencyKey.objects.filter(pk=claim.row.pk, status__isnull=True).delete()


def idempotency_record(claim: Claim | None, response) -> None:
    """Keep the first answer under the claimed key (a 5xx releases it instead)."""
    if claim is None or claim.replay is not None:
        return
    if response.status_code >= 500 or not isinstance(response, Response):
        idempotency_release(claim)
        return
    body = json.loads(json.dumps(response.data, cls=JSONEncoder))
    IdempotencyKey.objects.filter(pk=claim.row.pk).update(
        status=response.status_code, body=body, location=response.get("Location", "")[:500]
    )
