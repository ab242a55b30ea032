import pytest
from django.db import IntegrityError, connection

from accounts.models import User, token_hash
from accounts.tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_email_is_unique_whatever_its_case():
    UserFactory(email="ana@example.com")
    with pytest.raises(IntegrityError):
        User.objects.create(email="ANA@example.com")


def test_login_lookup_ignores_case():
    user = UserFactory(email="ana@example.com")
    assert User.objects.get_by_natural_key("Ana@Example.com") == user


def test_api_key_is_stored_only_as_a_hash_with_a_visible_prefix():
    user = UserFactory()
    raw = user.api_key_generate()

    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key, api_key_prefix FROM accounts_user WHERE id = %s", [user.pk])
        stored, prefix = cursor.fetchone()
    assert raw not in stored
    assert stored == token_hash(raw)
    assert raw.startswith(prefix) and len(prefix) < len(raw) // 2
    assert user.api_key_matches(raw)
    assert not user.api_key_matches(raw + "x")


def test_regenerating_the_api_key_invalidates_the_old_one():
    user = UserFactory()
    first = user.api_key_generate()
    second = user.api_key_generate()
    assert first != second
    assert not user.api_key_matches(first)
    assert user.api_key_matches(second)


def test_api_sessions_need_unique_token_hashes():
    session = SessionFactory()
    with pytest.raises(IntegrityError):
        SessionFactory(token=session.token)


def test_tier_must_be_a_known_one():
    user = UserFactory()
    with pytest.raises(IntegrityError):
        User.objects.filter(pk=user.pk).update(tier="platinum")
