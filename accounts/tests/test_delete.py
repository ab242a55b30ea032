"""Deleting the account: live listings offered to be ended or paused first (and why), confirm it's
you, then store tokens wiped at once, the account closed, and its data removed after staff's grace
period. Each step audited."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.forms import DELETE_CONFIRM_MESSAGE, DELETE_LIVE_LISTINGS_MESSAGE
from accounts.models import AccountPolicy, User
from accounts.services import ACCOUNT_DELETED, DELETION_REQUESTED, accounts_purge
from accounts.tests.helpers import log_in, reauthenticate
from marketplaces.models import ListingStatus, StoreAccount
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from monitoring.models import AuditLog
from monitoring.tests.admin_helpers import post_action

pytestmark = pytest.mark.django_db

DELETE = reverse("accounts:account_delete")


@pytest.fixture
def shop(user):
    store = StoreAccountFactory(user=user, marketplace="ebay", account_name="blue-kettles")
    on_sale = ListingFactory(store_account=store, title="Blue kettle", status=ListingStatus.ACTIVE)
    paused = ListingFactory(store_account=store, title="Red kettle", status=ListingStatus.PAUSED)
    ended = ListingFactory(store_account=store, title="Old kettle", status=ListingStatus.ENDED)
    return store, on_sale, paused, ended


def test_the_page_offers_to_end_or_pause_live_listings_first_and_says_why(seller_client, shop):
    _store, on_sale, paused, ended = shop

    page = seller_client.get(DELETE).content.decode()

    assert "2 listings still on your stores." in page
    assert "nobody follows their suppliers" in page and "at a loss" in page
    forms = re.findall(r'<form method="post" action="/listings/bulk/".*?</form>', page, re.DOTALL)
    pause, end = forms
    assert 'name="action" value="pause"' in pause and f'name="ids" value="{on_sale.pk}"' in pause
    assert f'value="{paused.pk}"' not in pause
    assert 'name="action" value="end"' in end
    assert f'value="{on_sale.pk}"' in end and f'value="{paused.pk}"' in end and f'value="{ended.pk}"' not in end
    assert f'name="next" value="{DELETE}"' in end


def test_deleting_needs_confirming_its_you(seller_client, user, shop):
    response = seller_client.post(DELETE, {"confirm_email": user.email, "leave_listings_live": "on"})

    assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
    user.refresh_from_db()
    assert user.is_active and user.deletion_requested_at is None


def test_the_email_must_be_typed_and_live_listings_acknowledged(seller_client, user, shop):
    reauthenticate(seller_client)

    response = seller_client.post(DELETE, {"confirm_email": "someone@else.example"})

    page = response.content.decode()
    assert response.status_code == 200
    assert DELETE_CONFIRM_MESSAGE in page and DELETE_LIVE_LISTINGS_MESSAGE in page
    assert 'value="someone@else.example"' in page
    user.refresh_from_db()
    assert user.is_active


def test_deleting_wipes_the_store_tokens_at_once_closes_and_signs_out(seller_client, user, shop):
    store, *_ = shop
    reauthenticate(seller_client)

    response = seller_client.post(
        DELETE, {"confirm_email": user.email.upper(), "leave_listings_live": "on"}, follow=True
    )

    assert "Your account is deleted" in response.content.decode()
    assert SESSION_KEY not in seller_client.session
    store = StoreAccount.objects.get(pk=store.pk)
    assert (store.is_connected, store.oauth_token, store.oauth_refresh_token) == (False, None, None)
    user.refresh_from_db()
    assert not user.is_active and user.deletion_requested_at is not None
    assert User.objects.filter(pk=user.pk).exists()  # the data stays for the grace period
    assert AuditLog.objects.filter(owner=user, action=DELETION_REQUESTED).exists()
    assert AuditLog.objects.filter(owner=user, action="disconnected", resource_type="storeaccount").exists()
    response = log_in(seller_client, user.email)
    assert SESSION_KEY not in seller_client.session
    assert "closed" in seller_client.get(response.url).content.decode()


def test_an_account_without_live_listings_needs_only_the_email(seller_client, user):
    reauthenticate(seller_client)

    seller_client.post(DELETE, {"confirm_email": user.email})

    user.refresh_from_db()
    assert not user.is_active


def test_the_data_is_removed_after_staffs_grace_period(user, other_user, shop):
    policy = AccountPolicy.current()
    policy.deletion_grace_days = 10
    policy.save()
    user.is_active, user.deletion_requested_at = False, timezone.now() - timedelta(days=9)
    user.save()

    assert accounts_purge() == []
    assert accounts_purge(now=timezone.now() + timedelta(days=2)) == [user.pk]

    assert not User.objects.filter(pk=user.pk).exists()
    assert not StoreAccount.objects.filter(user_id=user.pk).exists()
    assert User.objects.filter(pk=other_user.pk).exists()
    row = AuditLog.objects.get(action=ACCOUNT_DELETED)
    assert (row.owner, row.user, row.resource_id) == (None, None, str(user.pk))


def test_the_purge_command_can_dry_run(user):
    user.is_active, user.deletion_requested_at = False, timezone.now() - timedelta(days=400)
    user.save()
    from io import StringIO

    out = StringIO()
    call_command("purge_accounts", "--dry-run", stdout=out)
    assert f"Would remove 1 deleted account(s): {user.pk}" in out.getvalue()
    assert User.objects.filter(pk=user.pk).exists()

    call_command("purge_accounts", stdout=StringIO())
    assert not User.objects.filter(pk=user.pk).exists()


def test_staff_can_restore_a_deleted_account_before_it_is_removed(admin_client, admin_user, user):
    user.is_active, user.deletion_requested_at = False, timezone.now()
    user.save()

    post_action(admin_client, User, "restore_deleted", [user])

    user.refresh_from_db()
    assert user.is_active and user.deletion_requested_at is None
    assert AuditLog.objects.get(owner=user, action="restored").user == admin_user
    assert accounts_purge(now=timezone.now() + timedelta(days=400)) == []
