"""Accounts made before email verification count as confirmed once migrated."""

import importlib

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("accounts.migrations.0003_existing_emails_verified")


def test_existing_accounts_get_a_confirmed_primary_address():
    before = UserFactory(email="Old.Seller@Example.com", verified_email=False)
    EmailAddress.objects.filter(user=before).delete()  # as every account was before the migration
    already = UserFactory(verified_email=False)  # one that has an address row keeps it as it is

    migration.existing_emails_verified(apps, None)

    address = EmailAddress.objects.get(user=before)
    assert (address.email, address.verified, address.primary) == ("old.seller@example.com", True, True)
    assert not EmailAddress.objects.get(user=already).verified
