import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.tests.factories import AuditLogFactory
from monitoring.views import PAGE_SIZE

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
AUDIT = reverse("monitoring:audit_list")


def _ids(response):
    return [entry.pk for entry in response.context["entries"]]


def test_audit_list_needs_a_signed_in_seller(client):
    assert client.get(AUDIT).status_code == 302


def test_seller_sees_only_the_rows_they_own(seller_client, user, other_user):
    mine = AuditLogFactory(user=user, owner=user, resource_id="11")
    by_system = AuditLogFactory(user=None, owner=user, action="paused", resource_id="12", notes="Supplier out of stock")
    AuditLogFactory(user=other_user, owner=other_user, resource_id="99", notes="Rival change")
    AuditLogFactory(user=user, owner=other_user, resource_id="98", notes="Acted on someone else's")

    response = seller_client.get(AUDIT)

    assert set(_ids(response)) == {mine.pk, by_system.pk}
    page = response.content.decode()
    assert "Supplier out of stock" in page and "Rival change" not in page and "someone else" not in page
    actors = {entry.pk: entry.actor for entry in response.context["entries"]}
    assert actors == {mine.pk: "You", by_system.pk: "System"}


def test_rows_show_old_and_new_values(seller_client, user):
    AuditLogFactory(owner=user, user=user, old_value={"price": "19.99"}, new_value={"price": "21.49"})

    page = seller_client.get(AUDIT).content.decode()

    assert "19.99 → 21.49" in page


def test_secrets_never_show_even_from_a_row_written_unmasked(seller_client, user):
    AuditLogFactory(
        owner=user,
        user=user,
        resource_type="storeaccount",
        old_value={"oauth_token": "v^1.1#clear-old-token", "account_name": "shop"},
        new_value={"oauth_token": "v^1.1#clear-new-token", "webhook_secret": "whsec_CLEAR"},
    )

    page = seller_client.get(AUDIT).content.decode()

    assert "clear-old-token" not in page and "clear-new-token" not in page and "whsec_CLEAR" not in page
    assert "••••••" in page and "shop" in page


def test_filter_by_action_and_kind(seller_client, user):
    paused = AuditLogFactory(owner=user, user=None, action="paused", resource_type="listing")
    AuditLogFactory(owner=user, user=user, action="updated", resource_type="listing")
    store = AuditLogFactory(owner=user, user=user, action="updated", resource_type="storeaccount")

    assert _ids(seller_client.get(AUDIT, {"action": "paused"})) == [paused.pk]
    assert _ids(seller_client.get(AUDIT, {"resource_type": "storeaccount"})) == [store.pk]
    assert _ids(seller_client.get(AUDIT, {"action": "updated", "resource_type": "storeaccount"})) == [store.pk]


def test_filter_choices_come_from_the_sellers_own_rows(seller_client, user, other_user):
    AuditLogFactory(owner=user, user=user, action="ended")
    AuditLogFactory(owner=other_user, user=other_user, action="secret_rival_action")

    form = seller_client.get(AUDIT).context["filter"].form

    actions = [value for value, _label in form.fields["action"].choices]
    assert "ended" in actions and "secret_rival_action" not in actions


def test_filter_by_date_range_in_the_sellers_time_zone(seller_client, user):
    now = timezone.now()
    old = AuditLogFactory(owner=user, user=user, timestamp=now - datetime.timedelta(days=10))
    recent = AuditLogFactory(owner=user, user=user, timestamp=now - datetime.timedelta(days=1))
    start = timezone.localdate(now - datetime.timedelta(days=2))

    assert _ids(seller_client.get(AUDIT, {"date_after": start.isoformat()})) == [recent.pk]
    end = timezone.localdate(now - datetime.timedelta(days=5))
    assert _ids(seller_client.get(AUDIT, {"date_before": end.isoformat()})) == [old.pk]


def test_newest_first_sortable_and_paginated(seller_client, user):
    now = timezone.now()
    rows = [AuditLogFactory(owner=user, user=user, timestamp=now - datetime.timedelta(minutes=n)) for n in range(30)]

    first = seller_client.get(AUDIT)
    second = seller_client.get(AUDIT, {"page": 2})
    oldest_first = seller_client.get(AUDIT, {"ordering": "timestamp"})

    assert _ids(first) == [row.pk for row in rows[:PAGE_SIZE]]
    assert _ids(second) == [row.pk for row in rows[PAGE_SIZE:]]
    assert _ids(oldest_first)[0] == rows[-1].pk
    assert "Page 1 of 2" in first.content.decode()


def test_filtering_over_htmx_returns_only_the_table(seller_client, user):
    AuditLogFactory(owner=user, user=user, action="paused", notes="Only this one")
    AuditLogFactory(owner=user, user=user, action="updated", notes="Not this one")

    response = seller_client.get(AUDIT, {"action": "paused"}, **HTMX)

    page = response.content.decode()
    assert page.lstrip().startswith('<div id="audit-table"')
    assert "Only this one" in page and "Not this one" not in page and "<form" not in page


def test_an_empty_filter_result_says_so(seller_client, user):
    AuditLogFactory(owner=user, user=user, action="updated")

    page = seller_client.get(AUDIT, {"action": "updated", "date_after": "2000-01-01", "date_before": "2000-01-02"})

    assert "Nothing matches these filters" in page.content.decode()
