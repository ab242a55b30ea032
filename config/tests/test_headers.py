"""Browser security headers on every page: a Content-Security-Policy with no inline script or
style, and a Permissions-Policy turning off what the site never uses."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _directives(response) -> dict:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("name", ["account_login", "account_signup", "account_reset_password"])
def test_pages_carry_a_strict_content_security_policy(client, name):
    directives = _directives(client.get(reverse(name)))

    assert directives["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "https:", "data:"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]


def test_signed_in_pages_and_the_admin_carry_it_too(seller_client, admin_client):
    assert "script-src 'self'" in seller_client.get(reverse("monitoring:dashboard"))["Content-Security-Policy"]
    assert "script-src 'self'" in admin_client.get(reverse("admin:index"))["Content-Security-Policy"]


def test_permissions_policy_turns_off_unused_features(client):
    header = client.get(reverse("account_login"))["Permissions-Policy"]

    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in header


def test_our_templates_have_no_inline_script_style_or_handler(seller_client):
    page = seller_client.get(reverse("monitoring:dashboard")).content.decode()

    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", page)
    assert " style=" not in page and "<style" not in page
    assert not re.search(r"\son[a-z]+=", page)
    assert '"includeIndicatorStyles": false' in page  # htmx adds no <style> of its own
