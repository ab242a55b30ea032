"""Re-encrypting every encrypted model field from one CRYPTOGRAPHY_KEY to another."""

from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils.encoding import force_bytes
from django_cryptography.fields import EncryptedMixin
from django_cryptography.utils.crypto import FernetBytes, InvalidToken

WRONG_OLD_KEY_MESSAGE = "A stored secret could not be decrypted with the old key; nothing was changed."


class KeyRotationError(Exception):
    pass


def derive_key(raw_key: str) -> bytes:
    """The Fernet key django-cryptography derives from a CRYPTOGRAPHY_KEY setting."""
    digest = settings.CRYPTOGRAPHY_DIGEST
    kdf = PBKDF2HMAC(
        algorithm=digest,
        length=digest.digest_size,
        salt=settings.CRYPTOGRAPHY_SALT,
        iterations=30000,
        backend=settings.CRYPTOGRAPHY_BACKEND,
    )
    return kdf.derive(force_bytes(raw_key))


def encrypted_fields():
    """(model, field) for every encrypted field of every installed model."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedMixin):
                yield model, field


@transaction.atomic
def encryption_key_rotate(*, old_key: str) -> int:
    """Re-encrypt every stored secret from old_key to the current key in one transaction; return how many.

    django-cryptography replaces settings.CRYPTOGRAPHY_KEY by the key it derives at start-up, so
    the current key is taken from there as it is and only the old one is derived here.
    """
    old, new = FernetBytes(derive_key(old_key)), FernetBytes(settings.CRYPTOGRAPHY_KEY)
    quote = connection.ops.quote_name
    rotated = 0
    for model, field in encrypted_fields():
        table, column, pk = quote(model._meta.db_table), quote(field.column), quote(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} IS NOT NULL")  # noqa: S608
            rows = cursor.fetchall()
            for row_pk, raw in rows:
                try:
                    clear = old.decrypt(bytes(raw))
                except InvalidToken as exc:
                    raise KeyRotationError(WRONG_OLD_KEY_MESSAGE) from exc
                cursor.execute(
                    f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                    [new.encrypt(clear), row_pk],
                )
                rotated += 1
    return rotated + _mfa_secrets_rotate(old_key=old_key)


# The secret each kind of allauth Authenticator keeps (encrypted by accounts.adapters.MFAAdapter).
MFA_SECRET_KEYS = ("secret", "seed")


def _mfa_secrets_rotate(*, old_key: str) -> int:
    """Re-encrypt the TOTP secrets and recovery-code seeds; returns how many."""
    from allauth.mfa.models import Authenticator

    from .adapters import mfa_secret_decrypt, mfa_secret_encrypt

    old = derive_key(old_key)
    rotated = 0
    for authenticator in Authenticator.objects.select_for_update().order_by("pk"):
        data = dict(authenticator.data)
        for name in MFA_SECRET_KEYS:
            if data.get(name):
                try:
                    clear = mfa_secret_decrypt(data[name], key=old)
                except (InvalidToken, ValueError) as exc:
                    raise KeyRotationError(WRONG_OLD_KEY_MESSAGE) from exc
                data[name] = mfa_secret_encrypt(clear)
                rotated += 1
        if data != authenticator.data:
            authenticator.data = data
            authenticator.save(update_fields=["data"])
    return rotated
