"""The seller API's authentication through its real URLs: the API key exchanged for tokens, Bearer
checks, refresh rotation with reuse detection, revocation (by the script, the seller, staff, a
new key), and /api/v1/me/. Every answer is checked against the schema (config/tests/api_helpers)."""

from datetime import timedelta

import jwt
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import tokens
from accounts.models import RetiredRefreshToken, RevokeReason, Session, token_hash
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import reauthenticate
from catalog.tests.factories import ProductFactory
from config.tests.api_helpers import ApiClient, problem
from monitoring.models import AuditLog

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/refresh/"
REVOKE = "/api/v1/auth/revoke/"
ME = "/api/v1/me/"


def exchange(api_client, key, **extra):
    return api_client.post(
        TOKEN, {"api_key": key, "name": "repricer"}, HTTP_USER_AGENT="my-script/1.0", REMOTE_ADDR="203.0.113.7", **extra
    )


def test_the_api_key_is_exchanged_for_tokens_kept_only_as_hashes(api_client, user, api_key):
    response = exchange(api_client, api_key)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"].startswith("amr_") and len(body["refresh_token"]) > 60
    assert response["Cache-Control"] == "no-store"
    session = Session.objects.get(user=user)
    assert session.token == token_hash(body["access_token"])
    assert session.refresh_token == token_hash(body["refresh_token"])
    assert (session.name, session.ip_address, session.user_agent) == ("repricer", "203.0.113.7", "my-script/1.0")
    assert session.api_key_prefix == user.api_key_prefix
    assert session.expires_at > timezone.now() + timedelta(days=29)
    access_ends = timezone.datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=59) < access_ends - timezone.now() <= timedelta(hours=1)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["sid"], claims["sub"]) == (session.pk, str(user.pk))
    assert AuditLog.objects.filter(owner=user, action=tokens.API_SESSION_CREATED).count() == 1


@pytest.mark.parametrize("key", ["am_not-a-key", ""])
def test_a_wrong_or_missing_key_gets_no_tokens(api_client, user, api_key, key):
    response = exchange(api_client, key)

    assert response.status_code in (400, 401)
    body = problem(response)
    if response.status_code == 401:
        assert body["detail"] == tokens.INVALID_API_KEY
        assert response["WWW-Authenticate"].startswith("Bearer")
    else:
        assert body["errors"][0]["pointer"] == "#/api_key"
    assert not Session.objects.exists()


def test_a_closed_account_gets_no_tokens(api_client, user, api_key):
    user.is_active = False
    user.save()

    assert problem(exchange(api_client, api_key))["detail"] == tokens.ACCOUNT_INACTIVE


def test_the_access_token_is_required_and_checked(api_client, api_tokens):
    assert problem(api_client.get(ME))["code"] == "not_authenticated"
    claims = {"sid": api_tokens.session.pk, "sub": "1", "exp": 9999999999, "iat": 0}
    forged = jwt.encode(claims, "another key, long enough for HS256 all the same")
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401 and problem(response)["detail"] == tokens.TOKEN_INVALID
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {api_tokens.access_token}").status_code == 200


def test_an_expired_access_token_says_to_refresh(api_client, user, api_key, settings):
    settings.API_ACCESS_TOKEN_LIFETIME = timedelta(seconds=-5)
    issued = tokens.api_session_create(user=user)

    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {issued.access_token}")

    assert response.status_code == 401
    assert problem(response)["detail"] == tokens.TOKEN_EXPIRED


def test_a_browser_session_is_not_accepted_and_no_csrf_token_is_needed(user, api_tokens):
    browser = ApiClient(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get(ME).status_code == 401  # cookies do not authenticate the API

    script = ApiClient(enforce_csrf_checks=True, token=api_tokens.access_token)
    response = script.post("/api/v1/products/", {"items": ["B00FLYWNYQ"]})
    assert response.status_code == 202  # no CSRF token, and none needed


def test_revoking_a_session_stops_its_access_token_at_once(seller_api, api_tokens, user):
    assert seller_api.get(ME).status_code == 200

    page = Client()
    page.force_login(user)
    response = page.post(reverse("accounts:api_session_end", args=[api_tokens.session.pk]), follow=True)

    assert "API session “tests” ended" in response.content.decode()
    answer = seller_api.get(ME)
    assert answer.status_code == 401 and problem(answer)["detail"] == tokens.SESSION_ENDED
    session = Session.objects.get(pk=api_tokens.session.pk)
    assert session.revoke_reason == RevokeReason.SELLER
    assert AuditLog.objects.filter(owner=user, action=tokens.API_SESSION_REVOKED, user=user).exists()


def test_the_sessions_page_lists_live_api_sessions_and_another_sellers_is_a_404(api_tokens, user):
    page = Client()
    page.force_login(user)
    listing = page.get(reverse("accounts:session_list")).content.decode()
    assert f'id="api-session-{api_tokens.session.pk}"' in listing and "tests" in listing

    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.post(reverse("accounts:api_session_end", args=[api_tokens.session.pk])).status_code == 404
    assert Session.objects.get(pk=api_tokens.session.pk).revoked_at is None


def test_last_used_is_written_at_most_once_a_minute(seller_api, api_tokens):
    session = Session.objects.get(pk=api_tokens.session.pk)
    long_ago = timezone.now() - timedelta(minutes=5)
    Session.objects.filter(pk=session.pk).update(last_used_at=long_ago)

    seller_api.get(ME)
    first = Session.objects.get(pk=session.pk).last_used_at
    seller_api.get(ME)
    second = Session.objects.get(pk=session.pk).last_used_at

    assert first > long_ago
    assert second == first


def test_refresh_rotates_both_tokens_and_the_old_ones_die(api_client, api_tokens):
    response = api_client.post(REFRESH, {"refresh_token": api_tokens.refresh_token})

    assert response.status_code == 200
    fresh = response.json()
    assert fresh["refresh_token"] != api_tokens.refresh_token
    assert fresh["session_id"] == api_tokens.session.pk
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {fresh['access_token']}").status_code == 200
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {api_tokens.access_token}").status_code == 401
    assert RetiredRefreshToken.objects.filter(token=token_hash(api_tokens.refresh_token)).exists()
    again = api_client.post(REFRESH, {"refresh_token": fresh["refresh_token"]})
    assert again.status_code == 200


def test_a_reused_refresh_token_ends_the_whole_session(api_client, api_tokens, user):
    fresh = api_client.post(REFRESH, {"refresh_token": api_tokens.refresh_token}).json()

    stolen = api_client.post(REFRESH, {"refresh_token": api_tokens.refresh_token})

    assert stolen.status_code == 401
    assert problem(stolen)["detail"] == tokens.REFRESH_REUSED
    session = Session.objects.get(pk=api_tokens.session.pk)
    assert session.revoked_at is not None and session.revoke_reason == RevokeReason.REFRESH_REUSED
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {fresh['access_token']}").status_code == 401
    assert api_client.post(REFRESH, {"refresh_token": fresh["refresh_token"]}).status_code == 401
    assert AuditLog.objects.filter(owner=user, action=tokens.API_REFRESH_REUSED).exists()


def test_an_unknown_refresh_token_is_refused(api_client, api_tokens):
    response = api_client.post(REFRESH, {"refresh_token": "amr_nothing"})

    assert response.status_code == 401 and problem(response)["detail"] == tokens.REFRESH_INVALID


def test_revoke_ends_this_session_and_optionally_another_of_the_sellers(api_client, seller_api, api_tokens, user):
    other = tokens.api_session_create(user=user, name="second")
    stranger = tokens.api_session_create(user=UserFactory(api_key="x"), name="someone else's")

    response = seller_api.post(REVOKE, {"refresh_token": other.refresh_token})
    seller_api.post(REVOKE, {"refresh_token": stranger.refresh_token})  # refused: already signed out

    assert response.status_code == 204
    assert Session.objects.get(pk=api_tokens.session.pk).revoke_reason == RevokeReason.API
    assert Session.objects.get(pk=other.session.pk).revoked_at is not None
    assert Session.objects.get(pk=stranger.session.pk).revoked_at is None
    assert seller_api.get(ME).status_code == 401
    assert api_client.post(REFRESH, {"refresh_token": api_tokens.refresh_token}).status_code == 401


@pytest.mark.parametrize("change", ["regenerate", "revoke"])
def test_a_new_or_revoked_api_key_ends_the_sessions_made_with_the_old_one(seller_api, api_tokens, user, change):
    page = Client()
    page.force_login(user)
    reauthenticate(page)
    url = reverse("accounts:api_key_regenerate" if change == "regenerate" else "accounts:api_key_revoke")
    response = page.post(url)
    assert response.status_code == 200 if change == "regenerate" else response.url.endswith("#api-key")

    assert seller_api.get(ME).status_code == 401
    assert Session.objects.get(pk=api_tokens.session.pk).revoke_reason == RevokeReason.API_KEY_CHANGED


def test_making_an_api_key_needs_a_confirmed_email_and_a_recent_password(client):
    unconfirmed = UserFactory(verified_email=False)
    client.force_login(unconfirmed)
    assert client.post(reverse("accounts:api_key_regenerate")).status_code == 403
    unconfirmed.refresh_from_db()
    assert unconfirmed.api_key == ""

    confirmed = UserFactory()
    client.force_login(confirmed)  # a log-in without a password entered just now
    response = client.post(reverse("accounts:api_key_regenerate"))
    assert response.status_code == 302 and "/reauthenticate/" in response.url
    confirmed.refresh_from_db()
    assert confirmed.api_key == ""


def test_me_shows_the_account_its_limits_and_todays_usage(seller_api, user):
    user.tracked_products.add(ProductFactory())

    response = seller_api.get(ME)

    body = response.json()
    assert (body["email"], body["tier"], body["email_verified"]) == (user.email, "free", True)
    limits = {item["name"]: (item["used"], item["limit"]) for item in body["limits"]}
    assert limits["tracked_products"] == (1, 50)
    assert limits["stores"] == (0, 3) and limits["listings"] == (0, 250)
    assert limits["api_calls_today"] == (1, 1000)  # this call
    assert body["rate_limits"] == {"per_minute": 60, "per_day": 1000}
    assert body["session"]["name"] == "tests"


def test_staff_revoke_api_sessions_in_the_admin(admin_client, api_tokens, seller_api):
    from monitoring.tests.admin_helpers import post_action

    post_action(admin_client, Session, "revoke_sessions", [api_tokens.session])

    assert seller_api.get(ME).status_code == 401
    assert Session.objects.get(pk=api_tokens.session.pk).revoke_reason == RevokeReason.STAFF
