"""Helpers for tests that act through the real account pages (allauth's and ours)."""

import base64
import hashlib
import hmac
import re
import secrets
import struct
import time
import uuid

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django.urls import reverse

from accounts.tests.factories import PASSWORD


def totp_code(secret: str, *, at: float | None = None, period: int = 30, digits: int = 6) -> str:
    """The RFC 6238 code an authenticator app shows for `secret` now (computed here, not by allauth)."""
    counter = int((time.time() if at is None else at) // period)
    digest = hmac.new(base64.b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"


def totp_enable(user) -> tuple[str, list[str]]:
    """Turn on TOTP for `user` (as the activation page does) with a fresh secret the test knows;
    returns the secret and the recovery codes. (allauth refuses a code used twice within its
    30 seconds, so no two tests may share a secret.)"""
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    TOTP.activate(user, secret)
    codes = RecoveryCodes.activate(user).generate_codes()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    return secret, codes


def log_in(client, email: str, password: str = PASSWORD, **extra):
    return client.post(reverse("account_login"), {"login": email, "password": password}, **extra)


def reauthenticate(client, password: str = PASSWORD):
    """Confirm it's you, through allauth's page: the next sensitive change needs no password."""
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def link_in_mail(message) -> str:
    """The path of the first link to this site in an email."""
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def mails_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def unique_ip() -> str:
    """A client address of its own, so allauth's cache-kept limits of one test never meet another's."""
    raw = uuid.uuid4().int
    return f"10.{raw % 250 + 1}.{raw // 250 % 250 + 1}.{raw // 62500 % 250 + 1}"
