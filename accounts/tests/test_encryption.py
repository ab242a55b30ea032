import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.encryption import derive_key, encrypted_fields
from catalog.models import ProxyPool
from catalog.tests.factories import ProxyPoolFactory
from marketplaces.models import StoreAccount
from marketplaces.tests.factories import StoreAccountFactory

pytestmark = pytest.mark.django_db

OLD_KEY = "the-cryptography-key-before-rotation"
NEW_KEY = "the-new-cryptography-key-after-rotation"


@pytest.fixture
def secrets_stored(fields_keyed_by, settings, monkeypatch):
    """Secrets stored under OLD_KEY, and the app restarted with NEW_KEY configured."""
    fields_keyed_by(OLD_KEY)
    store = StoreAccountFactory(
        api_key="key-1", api_secret="secret-1", oauth_token="tok-1", oauth_refresh_token="ref-1"
    )
    bare_store = StoreAccountFactory(api_key=None, api_secret=None, oauth_token=None, oauth_refresh_token=None)
    proxy = ProxyPoolFactory(password="proxy-pass-1")
    settings.CRYPTOGRAPHY_KEY = derive_key(NEW_KEY)  # as django-cryptography derives it at start-up
    return store, bare_store, proxy


@pytest.fixture
def fields_keyed_by(monkeypatch):
    """Make every encrypted field use another key, as a restart with a new CRYPTOGRAPHY_KEY would."""
    from django_cryptography.utils.crypto import FernetBytes

    def use(raw_key):
        for _model, field in encrypted_fields():
            monkeypatch.setattr(field, "_fernet", FernetBytes(derive_key(raw_key)))

    return use


def raw_column(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        value = cursor.fetchone()[0]
    return None if value is None else bytes(value)


def test_rotation_re_encrypts_every_secret_under_the_new_key(monkeypatch, secrets_stored, fields_keyed_by):
    store, bare_store, proxy = secrets_stored
    before = raw_column("marketplaces_store_account", "oauth_token", store.pk)
    monkeypatch.setenv("OLD_CRYPTOGRAPHY_KEY", OLD_KEY)

    call_command("rotate_encryption_key")

    assert raw_column("marketplaces_store_account", "oauth_token", store.pk) != before
    fields_keyed_by(NEW_KEY)
    store = StoreAccount.objects.get(pk=store.pk)
    assert (store.api_key, store.api_secret, store.oauth_token, store.oauth_refresh_token) == (
        "key-1",
        "secret-1",
        "tok-1",
        "ref-1",
    )
    assert StoreAccount.objects.get(pk=bare_store.pk).oauth_token is None
    assert ProxyPool.objects.get(pk=proxy.pk).password == "proxy-pass-1"


def test_rotation_with_a_wrong_old_key_changes_nothing(monkeypatch, secrets_stored, fields_keyed_by):
    store, _, proxy = secrets_stored
    before = raw_column("catalog_proxy_pool", "password", proxy.pk)
    monkeypatch.setenv("OLD_CRYPTOGRAPHY_KEY", "not-the-key-it-was-encrypted-with")

    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("rotate_encryption_key")

    assert raw_column("catalog_proxy_pool", "password", proxy.pk) == before
    fields_keyed_by(OLD_KEY)
    assert StoreAccount.objects.get(pk=store.pk).oauth_token == "tok-1"


def test_rotation_needs_the_old_key(monkeypatch):
    monkeypatch.delenv("OLD_CRYPTOGRAPHY_KEY", raising=False)
    with pytest.raises(CommandError, match="OLD_CRYPTOGRAPHY_KEY"):
        call_command("rotate_encryption_key")


def test_every_secret_field_is_encrypted():
    names = {(model.__name__, field.name) for model, field in encrypted_fields()}
    assert {
        ("StoreAccount", "api_key"),
        ("StoreAccount", "api_secret"),
        ("StoreAccount", "oauth_token"),
        ("StoreAccount", "oauth_refresh_token"),
        ("ProxyPool", "password"),
    } <= names


def test_rotation_re_encrypts_the_two_factor_secrets_too(monkeypatch, settings, user):
    from allauth.mfa.models import Authenticator

    from accounts.tests.helpers import totp_code, totp_enable

    settings.CRYPTOGRAPHY_KEY = derive_key(OLD_KEY)
    secret, codes = totp_enable(user)
    settings.CRYPTOGRAPHY_KEY = derive_key(NEW_KEY)
    monkeypatch.setenv("OLD_CRYPTOGRAPHY_KEY", OLD_KEY)

    call_command("rotate_encryption_key")

    totp = Authenticator.objects.get(user=user, type="totp").wrap()
    assert totp.validate_code(totp_code(secret))
    recovery = Authenticator.objects.get(user=user, type="recovery_codes").wrap()
    assert recovery.generate_codes() == codes
