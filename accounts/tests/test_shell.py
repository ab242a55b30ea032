"""The seller shell: every navigation link leads to a page, the layout works offline with HTMX."""

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NAV_PAGES = [
    "monitoring:dashboard",
    "catalog:product_list",
    "marketplaces:listing_list",
    "marketplaces:store_list",
    "monitoring:alert_list",
    "monitoring:job_list",
    "accounts:settings",
]


@pytest.mark.parametrize("name", NAV_PAGES)
def test_every_nav_page_renders_for_a_seller(seller_client, name):
    response = seller_client.get(reverse(name))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" in page
    assert 'aria-current="page"' in page


@pytest.mark.parametrize("name", NAV_PAGES)
def test_every_nav_page_sends_anonymous_visitors_to_login(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next={reverse(name)}"


def test_nav_links_every_section(seller_client):
    page = seller_client.get(reverse("monitoring:dashboard")).content.decode()

    for name in NAV_PAGES:
        assert f'href="{reverse(name)}"' in page
    assert reverse("admin:index") not in page


def test_staff_see_the_admin_link(client):
    client.force_login(UserFactory(is_staff=True))

    page = client.get(reverse("monitoring:dashboard")).content.decode()

    assert f'href="{reverse("admin:index")}"' in page


def test_layout_loads_htmx_from_our_static_files_and_sends_csrf(seller_client):
    page = seller_client.get(reverse("monitoring:dashboard")).content.decode()

    assert 'src="/static/vendor/htmx/htmx.min.js"' in page
    assert "/static/vendor/pico/pico.min.css" in page
    assert '<body hx-headers=\'{"X-CSRFToken": "' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    # no asset from another host: the app works offline
    assert "https://" not in page.split("</head>")[0]
    assert "//cdn" not in page


def test_logout_is_a_post_form(seller_client):
    page = seller_client.get(reverse("monitoring:dashboard")).content.decode()

    assert f'<form method="post" action="{reverse("account_logout")}"' in page


@pytest.mark.parametrize(
    "path", ["vendor/htmx/htmx.min.js", "vendor/htmx/LICENSE", "vendor/pico/pico.min.css", "css/app.css", "js/app.js"]
)
def test_vendored_assets_are_in_static(path):
    found = finders.find(path)

    assert found
    assert Path(found).stat().st_size > 0


def test_anonymous_layout_offers_login_and_signup(client):
    page = client.get(reverse("account_login")).content.decode()

    assert f'href="{reverse("account_signup")}"' in page
    assert reverse("monitoring:job_list") not in page
