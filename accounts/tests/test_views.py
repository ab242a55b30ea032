import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from accounts.forms import EMAIL_TAKEN_MESSAGE
from accounts.models import User
from accounts.views import SIGNUP_WELCOME_MESSAGE

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # the factory's password
NEW_PASSWORD = "a-fresh-Pa55word-for-tests"


def _signup_data(**overrides):
    data = {
        "email": "New.Seller@Example.com",
        "first_name": "Nia",
        "last_name": "Seller",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


def test_signup_creates_the_account_and_logs_in(client):
    response = client.post(reverse("accounts:signup"), _signup_data(), follow=True)

    user = User.objects.get(email="new.seller@example.com")
    assert user.first_name == "Nia"
    assert user.check_password(NEW_PASSWORD)
    assert user.tier == "free"
    assert client.session[SESSION_KEY] == str(user.pk)
    assert response.redirect_chain[-1][0] == reverse("monitoring:dashboard")
    assert SIGNUP_WELCOME_MESSAGE in response.content.decode()


def test_signup_name_is_optional(client):
    client.post(reverse("accounts:signup"), _signup_data(first_name="", last_name=""))

    assert User.objects.filter(email="new.seller@example.com", first_name="").exists()


def test_signup_with_mismatched_passwords_keeps_the_input_and_says_why(client):
    response = client.post(reverse("accounts:signup"), _signup_data(password2="something-else-entirely"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "didn’t match" in page
    assert 'value="New.Seller@Example.com"' in page
    assert 'value="Nia"' in page
    assert not User.objects.exists()
    assert SESSION_KEY not in client.session


def test_signup_rejects_an_email_taken_in_another_case(client, user):
    response = client.post(reverse("accounts:signup"), _signup_data(email=user.email.upper()))

    assert EMAIL_TAKEN_MESSAGE in response.content.decode()
    assert User.objects.count() == 1


def test_signup_rejects_a_weak_password(client):
    response = client.post(reverse("accounts:signup"), _signup_data(password1="12345678", password2="12345678"))

    assert "too common" in response.content.decode()
    assert not User.objects.exists()


def test_login_page_asks_for_email(client):
    response = client.get(reverse("accounts:login"))

    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<label for="id_username">Email', page)
    assert 'type="email"' in page


def test_login_by_email_any_case(client, user):
    response = client.post(reverse("accounts:login"), {"username": user.email.upper(), "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("monitoring:dashboard")
    assert client.session[SESSION_KEY] == str(user.pk)


def test_login_with_wrong_password_shows_an_error(client, user):
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": "wrong"})

    assert response.status_code == 200
    assert "enter a correct email and password" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_login_follows_next(client, user):
    target = reverse("monitoring:job_list")
    response = client.post(
        f"{reverse('accounts:login')}?next={target}", {"username": user.email, "password": PASSWORD, "next": target}
    )

    assert response.url == target


def test_logout_needs_post(seller_client):
    assert seller_client.get(reverse("accounts:logout")).status_code == 405
    assert SESSION_KEY in seller_client.session

    response = seller_client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    assert SESSION_KEY not in seller_client.session


def test_password_reset_by_email_end_to_end(client, user):
    response = client.post(reverse("accounts:password_reset"), {"email": user.email.upper()})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]

    link = re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)
    response = client.get(link)  # Django swaps the token for a session marker and redirects
    assert response.status_code == 302
    set_password_url = response.url
    response = client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_complete")

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)


def test_password_reset_for_unknown_email_sends_nothing_and_says_the_same(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"}, follow=True)

    assert response.status_code == 200
    assert "Check your email" in response.content.decode()
    assert mail.outbox == []


def test_used_reset_link_is_refused(client, user):
    client.post(reverse("accounts:password_reset"), {"email": user.email})
    link = re.search(r"https?://[^/\s]+(/\S+)", mail.outbox[0].body).group(1)
    set_password_url = client.get(link).url
    client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    response = client.get(link)

    assert response.status_code == 200
    assert "not valid any more" in response.content.decode()


def test_password_change_from_settings(seller_client, user):
    response = seller_client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response.url == reverse("accounts:password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
