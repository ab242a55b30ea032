import factory
import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts.admin import EMAIL_TAKEN_ERROR
from accounts.models import RevokeReason, Session, Tier, User
from accounts.tests.factories import SessionFactory, UserFactory
from accounts.tokens import API_SESSION_REVOKED
from catalog.tests.factories import ProductFactory
from monitoring.models import AuditLog
from monitoring.tests.admin_helpers import (
    admin_form_data,
    admin_url,
    assert_admin_pages_render,
    assert_changelist_queries_flat,
    post_action,
)

pytestmark = pytest.mark.django_db


def test_user_admin_pages_render(admin_client):
    assert_admin_pages_render(admin_client, UserFactory(), addable=True)


def test_session_admin_pages_render_and_sessions_cannot_be_typed_in(admin_client):
    assert_admin_pages_render(admin_client, SessionFactory(), addable=False)


def test_user_changelist_searches_email_and_name(admin_client):
    UserFactory(email="alice@shop.example", first_name="Alice", last_name="Zephyr")
    UserFactory(email="bob@shop.example", first_name="Bob", last_name="Young")

    by_email = admin_client.get(admin_url(User, "changelist"), {"q": "alice@"}).content.decode()
    by_name = admin_client.get(admin_url(User, "changelist"), {"q": "Young"}).content.decode()

    assert "alice@shop.example" in by_email and "bob@shop.example" not in by_email
    assert "bob@shop.example" in by_name and "alice@shop.example" not in by_name


def test_user_add_form_takes_email_and_password_and_stores_email_lower_case(admin_client):
    response = admin_client.post(
        admin_url(User, "add"),
        {
            "email": "New.Seller@Example.COM",
            "usable_password": "true",
            "password1": "a-long-unusual-pass-8841",
            "password2": "a-long-unusual-pass-8841",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new.seller@example.com")
    assert user.check_password("a-long-unusual-pass-8841")
    assert not user.is_staff


def test_user_add_form_refuses_an_email_taken_in_another_case(admin_client):
    UserFactory(email="taken@example.com")

    response = admin_client.post(
        admin_url(User, "add"),
        {
            "email": "TAKEN@example.com",
            "usable_password": "true",
            "password1": "a-long-unusual-pass-8841",
            "password2": "a-long-unusual-pass-8841",
        },
    )

    assert response.status_code == 200
    assert EMAIL_TAKEN_ERROR in response.content.decode()
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_user_change_page_never_shows_the_api_key(admin_client):
    user = UserFactory()
    raw_key = user.api_key_generate()

    html = admin_client.get(admin_url(User, "change", user.pk)).content.decode()

    assert raw_key not in html
    assert user.api_key not in html  # not even the hash: nothing staff could use
    assert user.api_key_prefix in html


def test_user_change_page_lists_tracked_products_by_id_not_as_a_select(admin_client):
    products = ProductFactory.create_batch(30, title=factory.Sequence(lambda n: f"Tracked gadget {n:04d}"))
    user = UserFactory()
    user.tracked_products.add(*products[:2])

    html = admin_client.get(admin_url(User, "change", user.pk)).content.decode()

    assert 'name="tracked_products"' in html
    assert f"{products[0].pk},{products[1].pk}" in html or f"{products[1].pk},{products[0].pk}" in html
    assert not any(product.title in html for product in products)
    assert "2 product(s)" in html


def test_user_change_form_saves_and_audits_a_tier_change(admin_client, admin_user):
    user = UserFactory(tier=Tier.FREE)
    user.tracked_products.add(ProductFactory())
    page = admin_client.get(admin_url(User, "change", user.pk))
    data = admin_form_data(page)
    data["tier"] = Tier.ENTERPRISE

    response = admin_client.post(admin_url(User, "change", user.pk), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert user.tier == Tier.ENTERPRISE
    assert user.tracked_products.count() == 1
    row = AuditLog.objects.get(owner=user)
    assert (row.user, row.action, row.old_value, row.new_value) == (
        admin_user,
        "updated",
        {"tier": "free"},
        {"tier": "enterprise"},
    )


@pytest.mark.parametrize("tier", list(Tier))
def test_change_tier_action_moves_selected_users_and_audits_each(admin_client, admin_user, tier):
    others = [t for t in Tier if t != tier]
    movers = [UserFactory(tier=others[0]), UserFactory(tier=others[1])]
    already = UserFactory(tier=tier)
    bystander = UserFactory(tier=others[0])

    response = post_action(admin_client, User, f"set_tier_{tier.value}", [*movers, already])

    assert response.status_code == 302
    for user in [*movers, already]:
        user.refresh_from_db()
        assert user.tier == tier
    bystander.refresh_from_db()
    assert bystander.tier == others[0]
    rows = AuditLog.objects.filter(action="tier_changed")
    assert {row.owner_id for row in rows} == {user.pk for user in movers}
    assert all(row.user == admin_user and row.new_value == {"tier": tier.value} for row in rows)


def test_revoke_action_revokes_live_sessions_only(admin_client, admin_user):
    live = SessionFactory()
    earlier = timezone.now() - timezone.timedelta(days=1)
    revoked = SessionFactory(revoked_at=earlier)

    response = post_action(admin_client, Session, "revoke_sessions", [live, revoked])

    assert response.status_code == 302
    live.refresh_from_db()
    revoked.refresh_from_db()
    assert live.revoked_at is not None and not live.is_live
    assert live.revoke_reason == RevokeReason.STAFF
    assert revoked.revoked_at == earlier
    row = AuditLog.objects.get(action=API_SESSION_REVOKED)
    assert (row.owner, row.user, row.old_value["session"]) == (live.user, admin_user, live.pk)


def test_session_rows_cannot_be_edited(admin_client):
    session = SessionFactory(name="CLI")

    response = admin_client.post(admin_url(Session, "change", session.pk), {"name": "edited"})

    assert response.status_code == 403
    session.refresh_from_db()
    assert session.name == "CLI"


def test_staff_who_may_only_view_sessions_get_no_revoke_action(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_session", content_type__app_label="accounts"))
    client.force_login(staff)
    session = SessionFactory()

    page = client.get(admin_url(Session, "changelist")).content.decode()
    response = post_action(client, Session, "revoke_sessions", [session])

    assert "revoke_sessions" not in page
    session.refresh_from_db()
    assert session.revoked_at is None
    assert response.status_code == 200  # "no action selected": the action is not offered


def test_user_and_session_changelists_make_no_query_per_row(admin_client):
    assert_changelist_queries_flat(admin_client, User, UserFactory)
    assert_changelist_queries_flat(admin_client, Session, SessionFactory)
