"""Keeps password-reset and email-confirmation links out of logs.

The keys in those links are as good as the password for a while; a request log (gunicorn's
access log, Django's "Not Found: <path>" warnings) would otherwise hold them in clear.
"""

import logging
import re

REDACTED = "[redacted]"
_SECRET_PATHS = [
    # /accounts/password/reset/key/<uidb36>-<key>/ (allauth swaps the key for "set-password" itself)
    re.compile(r"(/accounts/password/reset/key/[0-9A-Za-z]+-)(?!set-password\b)[^/\s?#\"']+"),
    # /accounts/confirm-email/<key>/
    re.compile(r"(/accounts/confirm-email/)[^/\s?#\"']+"),
]


def redact(text: str) -> str:
    """`text` with the secret part of every reset or confirmation link replaced."""
    for pattern in _SECRET_PATHS:
        text = pattern.sub(rf"\g<1>{REDACTED}", text)
    return text


class SecretURLFilter(logging.Filter):
    """A logging filter that redacts reset and confirmation links in every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
