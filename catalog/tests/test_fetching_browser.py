"""fetch_page for suppliers with requires_js: Chromium renders, and the SSRF rule holds in the browser."""

import pytest

from catalog.fetching import Blocked, FetchFailed, PageNotFound, UnsafeURL, fetch_page
from catalog.tests.factories import SupplierFactory
from catalog.tests.fetch_servers import (  # noqa: F401 - fixtures
    CAPTCHA_PAGE,
    Reply,
    Site,
    fetch_settings_fixture,
    page,
    site_fixture,
    supplier_fixture,
)
from conftest import skip_or_fail

pytestmark = pytest.mark.django_db


# --- Rendering with Chromium (suppliers with requires_js) -------------------------------------


@pytest.fixture
def chromium(settings):
    from catalog.fetching.browser import chromium_available

    if not chromium_available():
        skip_or_fail(f"Chromium is not installed at {settings.CHROMIUM_PATH}")
    settings.SCRAPER_BROWSER_TIMEOUT = 20.0
    settings.SCRAPER_BROWSER_SKIP_RESOURCES = []


@pytest.fixture
def internal():
    """Another server on 127.0.0.1, reached as "localhost" — a name that is not allowed."""
    server = Site()
    server.default = Reply(body="internal data")
    yield server
    server.close()


def js_page(internal_port, site_port):
    return f"""<html><head><title>Rendered kettle</title></head><body>
<div id="price">loading</div><div id="leak">pending</div><div id="api">pending</div>
<img src="http://localhost:{internal_port}/pixel.png">
<script>
document.getElementById('price').textContent = 'Price: ' + (17 + 2) + '.99';
fetch('http://localhost:{internal_port}/secret')
  .then(function () {{ document.getElementById('leak').textContent = 'leaked'; }})
  .catch(function () {{ document.getElementById('leak').textContent = 'blocked'; }});
fetch('http://127.0.0.1:{site_port}/api').then(function (r) {{ return r.text(); }})
  .then(function (t) {{ document.getElementById('api').textContent = t; }});
</script></body></html>"""


def test_js_supplier_is_rendered_and_private_requests_are_aborted(chromium, site, internal):
    supplier = SupplierFactory(base_url=site.url("/"), rate_limit=60000, requires_js=True)
    site.routes["/item"] = page(body=js_page(internal.port, site.port))
    site.routes["/api"] = Reply(body="api-ok", headers={"Content-Type": "text/plain"})
    result = fetch_page(url=site.url("/item"), supplier=supplier)
    assert result.rendered
    assert result.status_code == 200
    assert "Price: 19.99" in result.html  # written by the page's script
    assert ">api-ok<" in result.html  # an allowed request went through
    assert ">blocked<" in result.html  # the private one failed in the page...
    assert internal.seen == []  # ...because it was never sent (neither the fetch nor the <img>)
    assert site.seen[0].headers["user-agent"].startswith("Mozilla/5.0")


def test_js_subresource_redirect_to_a_private_host_is_aborted(chromium, site, internal):
    supplier = SupplierFactory(base_url=site.url("/"), rate_limit=60000, requires_js=True)
    site.routes["/hop"] = Reply(status=302, headers={"Location": internal.url("/secret", host="localhost")}, body="")
    site.routes["/item"] = page(
        body="""<html><head><title>Kettle</title></head><body><div id="r">pending</div><script>
fetch('/hop').then(function (r) { return r.text(); })
  .then(function (t) { document.getElementById('r').textContent = 'got ' + t; })
  .catch(function () { document.getElementById('r').textContent = 'blocked'; });
</script></body></html>"""
    )
    result = fetch_page(url=site.url("/item"), supplier=supplier)
    assert ">blocked<" in result.html
    assert "/hop" in site.paths()
    assert internal.seen == []


def test_js_main_document_redirect_to_a_private_host_is_unsafe(chromium, site, internal):
    supplier = SupplierFactory(base_url=site.url("/"), rate_limit=60000, requires_js=True)
    site.routes["/a"] = Reply(status=301, headers={"Location": "/b"}, body="")
    site.routes["/b"] = Reply(status=302, headers={"Location": internal.url("/secret", host="localhost")}, body="")
    with pytest.raises(UnsafeURL):
        fetch_page(url=site.url("/a"), supplier=supplier)
    assert site.paths() == ["/a", "/b"]
    assert internal.seen == []


def test_js_main_document_redirects_are_followed(chromium, site):
    supplier = SupplierFactory(base_url=site.url("/"), rate_limit=60000, requires_js=True)
    site.routes["/a"] = Reply(status=301, headers={"Location": "/b"}, body="")
    site.routes["/b"] = page()
    result = fetch_page(url=site.url("/a"), supplier=supplier)
    assert result.final_url == site.url("/b")
    assert "Blue kettle" in result.html


@pytest.mark.parametrize(("reply", "error"), [(page(status=503), Blocked), (page(status=404), PageNotFound)])
def test_js_statuses_are_classified(chromium, site, reply, error):
    supplier = SupplierFactory(base_url=site.url("/"), rate_limit=60000, requires_js=True)
    site.routes["/item"] = reply
    with pytest.raises(error):
        fetch_page(url=site.url("/item"), supplier=supplier)


def test_js_captcha_page_is_blocked(chromium, site):
    supplier = SupplierFactory(base_url=site.url("/"), rate_limit=60000, requires_js=True)
    site.routes["/item"] = page(body=CAPTCHA_PAGE)
    with pytest.raises(Blocked):
        fetch_page(url=site.url("/item"), supplier=supplier)


def test_missing_chromium_is_a_clear_error(site, settings):
    settings.CHROMIUM_PATH = "/nonexistent/chromium"
    supplier = SupplierFactory(base_url=site.url("/"), rate_limit=60000, requires_js=True)
    site.routes["/item"] = page()
    with pytest.raises(FetchFailed, match="Chromium is not installed"):
        fetch_page(url=site.url("/item"), supplier=supplier)


def test_js_unresolvable_host_is_a_fetch_failure_not_unsafe(chromium, settings, monkeypatch):
    import socket

    from catalog import netsafety

    def unresolvable(host, port=None):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(netsafety, "resolve_host", unresolvable)
    supplier = SupplierFactory(base_url="https://nowhere.example", rate_limit=60000, requires_js=True)
    with pytest.raises(FetchFailed, match="could not be resolved") as excinfo:
        fetch_page(url="https://nowhere.example/item", supplier=supplier)
    assert not excinfo.value.retryable
