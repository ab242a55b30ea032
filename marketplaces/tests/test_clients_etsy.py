"""The Etsy adapter against replayed responses; every request and double is checked against Etsy's OAS."""

import base64
import hashlib
import json
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from django.core.cache import cache
from django.utils import timezone

from catalog import netsafety
from marketplaces.clients import (
    ListingData,
    ListingRef,
    NeedsReauth,
    PriceQuantity,
    QuotaExhausted,
    Rejected,
    RemoteStatus,
    Retryable,
    adapter_for,
    ensure_fresh_token,
    etsy,
)
from marketplaces.clients.etsy import MISSING_SETTINGS_MESSAGE, NO_IMAGES_MESSAGE, daily_quota_remaining
from marketplaces.tests.factories import StoreAccountFactory
from marketplaces.tests.spec import check_response, multipart_parts, spec_route

pytestmark = pytest.mark.django_db

BASE = "https://openapi.etsy.com/v3/application"
TOKEN_URL = "https://openapi.etsy.com/v3/public/oauth/token"
SHOP_ID = 5550001
ACCESS = "12345678.O1zLuwveeKjpIqCQFfmR-PaMMpBmagH6DljRAkK9qt05OtRKiANJOyZlMx3"
REFRESH = "12345678.JNGIJtvLmwfDMhlYoOJl8aLR1BWottyHC6yhNcET-eC7RogSR5e1GTIXGrgrelWZalvh3YvvyLfKYYqvymd-u37Sjtx"
API_KEY = "etsy-keystring-123:etsy-shared-secret-456"
SETTINGS = {
    "taxonomy_id": 1296,
    "shipping_profile_id": 206001,
    "readiness_state_id": 99001,
    "who_made": "someone_else",
    "when_made": "2020_2025",
}
# Real signatures around bytes a text-mode parser would mangle (CR, LF, NUL).
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\r\n\n\r\x00\xfe" + bytes(range(256)) + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(255, -1, -1))


@pytest.fixture(autouse=True)
def etsy_settings(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "etsy"}}
    cache.clear()
    settings.ETSY_KEYSTRING = "etsy-keystring-123"
    settings.ETSY_SHARED_SECRET = "etsy-shared-secret-456"
    settings.ETSY_REDIRECT_URI = "https://app.example.com/stores/etsy/callback/"
    settings.ETSY_REQUESTS_PER_SECOND = 100
    settings.ETSY_SKU_LOOKUP_PAGES = 2


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()  # the image server below, reached for real
        yield mock


class ImageSite:
    """A local web server for product images: path → (status, content type, body); `seen` lists requested paths."""

    def __init__(self):
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.seen: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.seen.append(self.path)
                status, content_type, body = site.routes.get(self.path, (404, "text/plain", b"not found"))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def url(self, path, host="127.0.0.1"):
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def images(settings):
    """The product images, served on 127.0.0.1 (the one host tests allow past the SSRF rule)."""
    settings.SCRAPER_ALLOWED_HOSTS = ["127.0.0.1"]
    site = ImageSite()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture
def store():
    return StoreAccountFactory(
        marketplace="etsy",
        oauth_token=ACCESS,
        oauth_refresh_token=REFRESH,
        oauth_expires_at=timezone.now() + timedelta(hours=1),
    )


@pytest.fixture
def client(store):
    return adapter_for(store, shop_id=SHOP_ID, sleep=lambda seconds: None)


def listing_data(**overrides):
    values = {
        "sku": "AM-7",
        "title": "Linen tote bag",
        "description": "Hand-finished linen tote.",
        "price": Decimal("19.99"),
        "currency": "USD",
        "quantity": 5,
        "publish_settings": SETTINGS,
    }
    values.update(overrides)
    return ListingData(**values)


def money(amount, currency="USD"):
    return {"amount": amount, "divisor": 100, "currency_code": currency}


def shop_listing(listing_id=1800001, state="draft", quantity=5, price=1999, **extra):
    return {
        "listing_id": listing_id,
        "user_id": 12345678,
        "shop_id": SHOP_ID,
        "title": "Linen tote bag",
        "description": "Hand-finished linen tote.",
        "state": state,
        "quantity": quantity,
        "url": f"https://www.etsy.com/listing/{listing_id}",
        "listing_type": "physical",
        "who_made": "someone_else",
        "when_made": "2020_2025",
        "is_supply": False,
        "taxonomy_id": 1296,
        "shipping_profile_id": 206001,
        "readiness_state_id": None,
        "price": money(price),
        **extra,
    }


def inventory(sku="AM-7", price=1999, quantity=5):
    return {
        "products": [
            {
                "product_id": 3300001,
                "sku": sku,
                "is_deleted": False,
                "offerings": [
                    {
                        "offering_id": 4400001,
                        "quantity": quantity,
                        "is_enabled": True,
                        "is_deleted": False,
                        "price": money(price),
                        "readiness_state_id": 99001,
                    }
                ],
                "property_values": [
                    {
                        "property_id": 200,
                        "property_name": "Primary color",
                        "scale_id": None,
                        "scale_name": None,
                        "value_ids": [1],
                        "values": ["Beige"],
                    }
                ],
            }
        ],
        "price_on_property": [],
        "quantity_on_property": [],
        "sku_on_property": [],
    }


def listing_image(rank=1, image_id=7700001, listing_id=1800001):
    return {
        "listing_id": listing_id,
        "listing_image_id": image_id,
        "hex_code": None,
        "red": None,
        "green": None,
        "blue": None,
        "hue": None,
        "saturation": None,
        "brightness": None,
        "is_black_and_white": None,
        "creation_tsz": 1767225600,
        "created_timestamp": 1767225600,
        "rank": rank,
        "url_75x75": f"https://i.etsystatic.com/{image_id}/il_75x75.jpg",
        "url_170x135": f"https://i.etsystatic.com/{image_id}/il_170x135.jpg",
        "url_570xN": f"https://i.etsystatic.com/{image_id}/il_570xN.jpg",
        "url_fullxfull": f"https://i.etsystatic.com/{image_id}/il_fullxfull.jpg",
        "full_height": 1000,
        "full_width": 1000,
        "alt_text": "",
    }


def page(*listings):
    return {"count": len(listings), "results": list(listings)}


def sent(route, index=-1):
    return route.calls[index].request


def form_of(request):
    return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}


# --- OAuth ---------------------------------------------------------------------------------


def test_authorization_url_uses_pkce_s256(client):
    request = client.authorization_url(state="st-9")
    parts = urlsplit(request.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.etsy.com/oauth/connect"
    expected = base64.urlsafe_b64encode(hashlib.sha256(request.code_verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == expected.decode() and query["code_challenge_method"] == "S256"
    assert query["client_id"] == "etsy-keystring-123" and query["state"] == "st-9"
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == "https://app.example.com/stores/etsy/callback/"
    assert {"listings_w", "transactions_r", "shops_r"} <= set(query["scope"].split(" "))
    assert 43 <= len(request.code_verifier) <= 128


def test_code_exchange_sends_the_verifier_and_the_api_key(api, client):
    route = api.post(TOKEN_URL).respond(
        200, json={"access_token": "1.new", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "1.ref"}
    )
    tokens = client.exchange_code("code-1", code_verifier="verifier-abc")
    request = sent(route)
    assert request.headers["x-api-key"] == API_KEY
    assert form_of(request) == {
        "grant_type": "authorization_code",
        "client_id": "etsy-keystring-123",
        "redirect_uri": "https://app.example.com/stores/etsy/callback/",
        "code": "code-1",
        "code_verifier": "verifier-abc",
    }
    assert (tokens.access_token, tokens.refresh_token) == ("1.new", "1.ref")


def test_code_exchange_without_verifier_is_a_programming_error(client):
    with pytest.raises(ValueError):
        client.exchange_code("code-1")


def test_refresh_before_expiry_saves_the_rotated_tokens(api, store):
    store.oauth_expires_at = timezone.now() + timedelta(seconds=30)
    store.save()
    route = api.post(TOKEN_URL).respond(
        200, json={"access_token": "1.next", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "1.rot"}
    )
    assert ensure_fresh_token(store)
    assert form_of(sent(route)) == {
        "grant_type": "refresh_token",
        "client_id": "etsy-keystring-123",
        "refresh_token": REFRESH,
    }
    store.refresh_from_db()
    assert (store.oauth_token, store.oauth_refresh_token) == ("1.next", "1.rot")


def test_refused_refresh_needs_reauth(api, store):
    store.oauth_expires_at = timezone.now() - timedelta(seconds=1)
    store.save()
    api.post(TOKEN_URL).respond(400, json={"error": "invalid_grant", "error_description": "Refresh token expired"})
    with pytest.raises(NeedsReauth):
        adapter_for(store, shop_id=SHOP_ID).get_remote_state(ListingRef("AM-7", "1800001"))


def test_shop_id_comes_from_get_me_once(api, store):
    me = spec_route(api, "GET", f"{BASE}/users/me", status=200, json={"user_id": 12345678, "shop_id": SHOP_ID})
    spec_route(api, "GET", f"{BASE}/shops/{SHOP_ID}/listings", status=200, json=page())
    adapter_for(store).find_by_sku("AM-7")
    adapter_for(store).find_by_sku("AM-7")
    assert me.call_count == 1
    assert sent(me).headers["x-api-key"] == API_KEY
    assert sent(me).headers["Authorization"] == f"Bearer {ACCESS}"


# --- Publish -------------------------------------------------------------------------------


def test_publish_creates_a_draft_sets_its_inventory_uploads_images_and_activates_it(api, client, images):
    images.routes["/tote.jpg"] = (200, "image/jpeg", JPEG)
    images.routes["/tote-back.png"] = (200, "image/png; charset=binary", PNG)
    lookup = spec_route(api, "GET", f"{BASE}/shops/{SHOP_ID}/listings", status=200, json=page())
    create = spec_route(api, "POST", f"{BASE}/shops/{SHOP_ID}/listings", status=201, json=shop_listing())
    put = spec_route(api, "PUT", f"{BASE}/listings/1800001/inventory", status=200, json=inventory())
    upload = spec_route(
        api,
        "POST",
        f"{BASE}/shops/{SHOP_ID}/listings/1800001/images",
        (201, listing_image(rank=1, image_id=7700001)),
        (201, listing_image(rank=2, image_id=7700002)),
    )
    activate = spec_route(
        api, "PATCH", f"{BASE}/shops/{SHOP_ID}/listings/1800001", status=200, json=shop_listing(state="active")
    )

    urls = [images.url("/tote.jpg"), images.url("/tote-back.png")]
    assert client.publish(listing_data(image_urls=urls)) == "1800001"

    assert [c.request.url.params["state"] for c in lookup.calls] == ["draft", "inactive", "active"]
    assert dict(sent(lookup, 0).url.params) == {
        "state": "draft",
        "limit": "100",
        "offset": "0",
        "includes": "Inventory",
        "sort_on": "created",
        "sort_order": "desc",
    }
    request = sent(create)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["x-api-key"] == API_KEY
    assert form_of(request) == {
        "quantity": "5",
        "title": "Linen tote bag",
        "description": "Hand-finished linen tote.",
        "price": "19.99",
        "who_made": "someone_else",
        "when_made": "2020_2025",
        "taxonomy_id": "1296",
        "shipping_profile_id": "206001",
        "readiness_state_id": "99001",
        "is_supply": "false",
    }
    assert json.loads(sent(put).content) == {
        "products": [
            {
                "sku": "AM-7",
                "property_values": [],
                "offerings": [{"price": 19.99, "quantity": 5, "is_enabled": True, "readiness_state_id": 99001}],
            }
        ],
        "price_on_property": [],
        "quantity_on_property": [],
        "sku_on_property": [],
    }
    assert images.seen == ["/tote.jpg", "/tote-back.png"]
    assert upload.call_count == 2
    for request in (sent(upload, 0), sent(upload, 1)):
        assert request.method == "POST"
        assert request.url.path == f"/v3/application/shops/{SHOP_ID}/listings/1800001/images"
        assert request.headers["x-api-key"] == API_KEY
        assert request.headers["Authorization"] == f"Bearer {ACCESS}"
        assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert multipart_parts(sent(upload, 0)) == [
        ("rank", None, "text/plain", b"1"),
        ("image", "image-1.jpg", "image/jpeg", JPEG),
    ]
    assert multipart_parts(sent(upload, 1)) == [
        ("rank", None, "text/plain", b"2"),
        ("image", "image-2.png", "image/png", PNG),
    ]
    order = [(call.request.method, call.request.url.path.rsplit("/", 1)[-1]) for call in api.calls]
    assert order.index(("POST", "images")) > order.index(("PUT", "inventory"))
    assert order[-1] == ("PATCH", "1800001")
    assert form_of(sent(activate)) == {"state": "active"}


def test_image_at_a_private_address_is_refused_unfetched_and_skipped(api, client, images, monkeypatch):
    """localhost and the cloud metadata address are refused before any request; a name that
    resolves public when checked but private when the socket opens is refused at connect time."""
    images.routes["/inside.jpg"] = (200, "image/jpeg", JPEG)
    images.routes["/tote.png"] = (200, "image/png", PNG)
    resolve = netsafety.resolve_host
    lookups = []

    def rebinding(host, port=None):
        if host != "cdn.example":
            return resolve(host, port)
        lookups.append(host)
        return ["93.184.216.34"] if len(lookups) == 1 else ["127.0.0.1"]

    monkeypatch.setattr(netsafety, "resolve_host", rebinding)
    spec_route(api, "GET", f"{BASE}/shops/{SHOP_ID}/listings", status=200, json=page())
    spec_route(api, "POST", f"{BASE}/shops/{SHOP_ID}/listings", status=201, json=shop_listing())
    spec_route(api, "PUT", f"{BASE}/listings/1800001/inventory", status=200, json=inventory())
    upload = spec_route(
        api, "POST", f"{BASE}/shops/{SHOP_ID}/listings/1800001/images", status=201, json=listing_image()
    )
    spec_route(api, "PATCH", f"{BASE}/shops/{SHOP_ID}/listings/1800001", status=200, json=shop_listing(state="active"))
    metadata = api.get("http://169.254.169.254/latest/meta-data/")
    api.route(host="cdn.example").pass_through()  # to the real guarded connection

    urls = [
        images.url("/inside.jpg", host="localhost"),
        "http://169.254.169.254/latest/meta-data/",
        images.url("/inside.jpg", host="cdn.example"),
        images.url("/tote.png"),
    ]
    assert client.publish(listing_data(image_urls=urls)) == "1800001"

    assert images.seen == ["/tote.png"]
    assert not metadata.called
    assert lookups == ["cdn.example", "cdn.example"]  # checked, then resolved again to connect
    assert multipart_parts(sent(upload)) == [
        ("rank", None, "text/plain", b"1"),
        ("image", "image-1.png", "image/png", PNG),
    ]


def test_no_fetchable_image_rejects_the_publish_and_deletes_the_draft(api, client, images, monkeypatch):
    monkeypatch.setattr(etsy, "IMAGE_MAX_BYTES", 200)
    images.routes["/blocked.jpg"] = (200, "image/jpeg", b"<html>Access denied</html>")
    images.routes["/page.html"] = (200, "text/html", b"<html>a product page</html>")
    images.routes["/huge.jpg"] = (200, "image/jpeg", JPEG)  # past the (lowered) size cap
    images.routes["/error.jpg"] = (500, "image/jpeg", JPEG)
    spec_route(api, "GET", f"{BASE}/shops/{SHOP_ID}/listings", status=200, json=page())
    spec_route(api, "POST", f"{BASE}/shops/{SHOP_ID}/listings", status=201, json=shop_listing())
    spec_route(api, "PUT", f"{BASE}/listings/1800001/inventory", status=200, json=inventory())
    upload = api.post(f"{BASE}/shops/{SHOP_ID}/listings/1800001/images")
    activate = api.patch(f"{BASE}/shops/{SHOP_ID}/listings/1800001")
    delete = spec_route(api, "DELETE", f"{BASE}/listings/1800001", status=204)

    paths = ["/blocked.jpg", "/page.html", "/huge.jpg", "/error.jpg", "/missing.jpg"]
    with pytest.raises(Rejected) as caught:
        client.publish(listing_data(image_urls=[images.url(path) for path in paths]))

    assert caught.value.message == NO_IMAGES_MESSAGE
    assert images.seen == paths
    assert not upload.called and not activate.called
    assert delete.call_count == 1


def test_publish_without_any_image_url_is_rejected_and_the_draft_deleted(api, client):
    spec_route(api, "GET", f"{BASE}/shops/{SHOP_ID}/listings", status=200, json=page())
    spec_route(api, "POST", f"{BASE}/shops/{SHOP_ID}/listings", status=201, json=shop_listing())
    spec_route(api, "PUT", f"{BASE}/listings/1800001/inventory", status=200, json=inventory())
    delete = spec_route(api, "DELETE", f"{BASE}/listings/1800001", status=204)
    with pytest.raises(Rejected, match="Etsy needs at least one image"):
        client.publish(listing_data())
    assert delete.call_count == 1


def test_only_the_first_ten_image_urls_are_uploaded(api, client, images):
    for number in range(12):
        images.routes[f"/{number}.jpg"] = (200, "image/jpeg", JPEG)
    spec_route(api, "GET", f"{BASE}/shops/{SHOP_ID}/listings", status=200, json=page())
    spec_route(api, "POST", f"{BASE}/shops/{SHOP_ID}/listings", status=201, json=shop_listing())
    spec_route(api, "PUT", f"{BASE}/listings/1800001/inventory", status=200, json=inventory())
    upload = spec_route(
        api, "POST", f"{BASE}/shops/{SHOP_ID}/listings/1800001/images", status=201, json=listing_image()
    )
    spec_route(api, "PATCH", f"{BASE}/shops/{SHOP_ID}/listings/1800001", status=200, json=shop_listing(state="active"))
    client.publish(listing_data(image_urls=[images.url(f"/{number}.jpg") for number in range(12)]))
    assert upload.call_count == 10
    assert [multipart_parts(call.request)[0][3] for call in upload.calls] == [str(n).encode() for n in range(1, 11)]


def test_given_image_ids_are_attached_and_nothing_is_uploaded(api, client, images):
    images.routes["/tote.jpg"] = (200, "image/jpeg", JPEG)
    spec_route(api, "GET", f"{BASE}/shops/{SHOP_ID}/listings", status=200, json=page())
    create = spec_route(api, "POST", f"{BASE}/shops/{SHOP_ID}/listings", status=201, json=shop_listing())
    spec_route(api, "PUT", f"{BASE}/listings/1800001/inventory", status=200, json=inventory())
    upload = api.post(f"{BASE}/shops/{SHOP_ID}/listings/1800001/images")
    activate = spec_route(
        api, "PATCH", f"{BASE}/shops/{SHOP_ID}/listings/1800001", status=200, json=shop_listing(state="active")
    )
    publish_settings = {**SETTINGS, "image_ids": [7700001, 7700002]}
    listing = listing_data(publish_settings=publish_settings, image_urls=[images.url("/tote.jpg")])
    assert client.publish(listing) == "1800001"
    assert form_of(sent(create))["image_ids"] == "7700001,7700002"
    assert not upload.called and images.seen == []
    assert activate.call_count == 1


def test_retried_publish_finds_the_draft_by_sku_instead_of_creating_another(api, client):
    found = shop_listing(inventory=inventory(), skus=["AM-7"])
    spec_route(api, "GET", f"{BASE}/shops/{SHOP_ID}/listings", status=200, json=page(found))
    create = api.post(f"{BASE}/shops/{SHOP_ID}/listings")
    spec_route(api, "PUT", f"{BASE}/listings/1800001/inventory", status=200, json=inventory())
    spec_route(api, "GET", f"{BASE}/listings/1800001/images", status=200, json=page(listing_image()))
    upload = api.post(f"{BASE}/shops/{SHOP_ID}/listings/1800001/images")
    activate = spec_route(
        api, "PATCH", f"{BASE}/shops/{SHOP_ID}/listings/1800001", status=200, json=shop_listing(state="active")
    )
    assert client.publish(listing_data()) == "1800001"
    assert not create.called and not upload.called and activate.call_count == 1


def test_retried_publish_of_a_draft_without_images_uploads_them_first(api, client, images):
    images.routes["/tote.jpg"] = (200, "image/jpeg", JPEG)
    found = shop_listing(inventory=inventory(), skus=["AM-7"])
    spec_route(api, "GET", f"{BASE}/shops/{SHOP_ID}/listings", status=200, json=page(found))
    spec_route(api, "PUT", f"{BASE}/listings/1800001/inventory", status=200, json=inventory())
    spec_route(api, "GET", f"{BASE}/listings/1800001/images", status=200, json=page())
    upload = spec_route(
        api, "POST", f"{BASE}/shops/{SHOP_ID}/listings/1800001/images", status=201, json=listing_image()
    )
    activate = spec_route(
        api, "PATCH", f"{BASE}/shops/{SHOP_ID}/listings/1800001", status=200, json=shop_listing(state="active")
    )
    assert client.publish(listing_data(image_urls=[images.url("/tote.jpg")])) == "1800001"
    assert upload.call_count == 1 and activate.call_count == 1


def test_retried_publish_of_a_live_listing_does_not_activate_again(api, client):
    found = shop_listing(state="active", skus=["AM-7"])

    def by_state(request):
        body = page(found) if request.url.params["state"] == "active" else page()
        return httpx.Response(200, json=body)

    api.get(f"{BASE}/shops/{SHOP_ID}/listings").mock(side_effect=by_state)
    check_response("GET", f"{BASE}/shops/{SHOP_ID}/listings", 200, page(found))
    spec_route(api, "PUT", f"{BASE}/listings/1800001/inventory", status=200, json=inventory())
    activate = api.patch(f"{BASE}/shops/{SHOP_ID}/listings/1800001")
    assert client.publish(listing_data()) == "1800001"
    assert not activate.called


def test_failed_inventory_after_a_new_draft_discards_the_draft(api, client):
    spec_route(api, "GET", f"{BASE}/shops/{SHOP_ID}/listings", status=200, json=page())
    spec_route(api, "POST", f"{BASE}/shops/{SHOP_ID}/listings", status=201, json=shop_listing())
    spec_route(
        api,
        "PUT",
        f"{BASE}/listings/1800001/inventory",
        status=400,
        json={"error": "Offerings must have a price of at least 0.20 USD."},
    )
    delete = spec_route(api, "DELETE", f"{BASE}/listings/1800001", status=204)
    with pytest.raises(Rejected) as caught:
        client.publish(listing_data())
    assert caught.value.message == "Offerings must have a price of at least 0.20 USD."
    assert delete.call_count == 1


def test_publish_without_store_defaults_is_rejected_before_any_call(api, client):
    with pytest.raises(Rejected) as caught:
        client.publish(listing_data(publish_settings={"taxonomy_id": 1296}))
    assert caught.value.message == MISSING_SETTINGS_MESSAGE.format(
        names="shipping_profile_id, readiness_state_id, who_made, when_made"
    )
    assert not api.calls


# --- Price and quantity, pause, resume, end, state -----------------------------------------


def test_price_quantity_update_rewrites_each_listings_inventory(api, client):
    get = spec_route(api, "GET", f"{BASE}/listings/1800001/inventory", status=200, json=inventory())
    put = spec_route(api, "PUT", f"{BASE}/listings/1800001/inventory", status=200, json=inventory(price=1849))
    [result] = client.update_price_quantity(
        [PriceQuantity(ListingRef("AM-7", "1800001"), price=Decimal("18.49"), quantity=3)]
    )
    assert result.ok and get.call_count == 1 and put.call_count == 1
    assert json.loads(sent(put).content) == {
        "products": [
            {
                "sku": "AM-7",
                "property_values": [{"property_id": 200, "value_ids": [1], "values": ["Beige"], "scale_id": None}],
                "offerings": [{"price": 18.49, "quantity": 3, "is_enabled": True, "readiness_state_id": 99001}],
            }
        ],
        "price_on_property": [],
        "quantity_on_property": [],
        "sku_on_property": [],
    }


def test_quantity_only_update_keeps_the_price(api, client):
    spec_route(api, "GET", f"{BASE}/listings/1800001/inventory", status=200, json=inventory(price=2550))
    put = spec_route(api, "PUT", f"{BASE}/listings/1800001/inventory", status=200, json=inventory())
    client.update_price_quantity([PriceQuantity(ListingRef("AM-7", "1800001"), quantity=1)])
    offering = json.loads(sent(put).content)["products"][0]["offerings"][0]
    assert (offering["price"], offering["quantity"]) == (25.5, 1)


@pytest.mark.parametrize(("action", "state"), [("pause", "inactive")])
def test_pause_makes_the_listing_inactive(api, client, action, state):
    route = spec_route(
        api, "PATCH", f"{BASE}/shops/{SHOP_ID}/listings/1800001", status=200, json=shop_listing(state=state)
    )
    getattr(client, action)(ListingRef("AM-7", "1800001"))
    assert form_of(sent(route)) == {"state": state}


def test_resume_sets_quantity_then_activates(api, client):
    spec_route(api, "GET", f"{BASE}/listings/1800001/inventory", status=200, json=inventory(quantity=0))
    put = spec_route(api, "PUT", f"{BASE}/listings/1800001/inventory", status=200, json=inventory())
    patch = spec_route(
        api, "PATCH", f"{BASE}/shops/{SHOP_ID}/listings/1800001", status=200, json=shop_listing(state="active")
    )
    assert client.resume(ListingRef("AM-7", "1800001"), quantity=4) == "1800001"
    assert json.loads(sent(put).content)["products"][0]["offerings"][0]["quantity"] == 4
    assert form_of(sent(patch)) == {"state": "active"}


def test_end_deletes_the_listing(api, client):
    route = spec_route(api, "DELETE", f"{BASE}/listings/1800001", status=204)
    client.end(ListingRef("AM-7", "1800001"))
    assert route.call_count == 1


def test_remote_state_reads_state_price_and_quantity(api, client):
    spec_route(
        api,
        "GET",
        f"{BASE}/listings/1800001",
        status=200,
        json=shop_listing(state="inactive", quantity=2, price=2550, views=41),
    )
    state = client.get_remote_state(ListingRef("AM-7", "1800001"))
    assert (state.status, state.price, state.quantity, state.currency) == (
        RemoteStatus.PAUSED,
        Decimal("25.5"),
        2,
        "USD",
    )


def test_remote_state_of_a_deleted_listing_is_missing(api, client):
    spec_route(api, "GET", f"{BASE}/listings/1800001", status=404, json={"error": "Listing not found"})
    assert client.get_remote_state(ListingRef("AM-7", "1800001")).status == RemoteStatus.MISSING


# --- Orders and traffic --------------------------------------------------------------------


def receipt(receipt_id, status="paid"):
    return {
        "receipt_id": receipt_id,
        "status": status,
        "is_paid": True,
        "created_timestamp": 1772446500,
        "updated_timestamp": 1772450000,
        "grandtotal": money(4398),
        "subtotal": money(3998),
        "total_shipping_cost": money(400),
        "total_tax_cost": money(0),
        "transactions": [
            {
                "transaction_id": receipt_id * 10,
                "listing_id": 1800001,
                "sku": "AM-7",
                "quantity": 2,
                "price": money(1999),
                "shipping_cost": money(400),
            }
        ],
        "refunds": [],
    }


def test_receipts_since_a_time_become_order_lines(api, client, settings):
    route = spec_route(
        api,
        "GET",
        f"{BASE}/shops/{SHOP_ID}/receipts",
        (200, {"count": 101, "results": [receipt(n) for n in range(1, 101)]}),
        (200, {"count": 101, "results": [receipt(101, status="canceled")]}),
    )
    lines = client.fetch_orders(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    assert [dict(c.request.url.params) for c in route.calls] == [
        {"min_last_modified": "1772352000", "limit": "100", "offset": "0"},
        {"min_last_modified": "1772352000", "limit": "100", "offset": "100"},
    ]
    assert len(lines) == 101
    first, last = lines[0], lines[-1]
    assert (first.order_id, first.line_id, first.sku, first.external_id) == ("1", "10", "AM-7", "1800001")
    assert (first.quantity, first.unit_price, first.currency, first.fees) == (2, Decimal("19.99"), "USD", None)
    assert first.ordered_at == datetime.fromtimestamp(1772446500, tz=UTC)
    assert last.cancelled and not first.cancelled


def test_traffic_is_the_cumulative_views_of_each_listing(api, client):
    route = spec_route(
        api,
        "GET",
        f"{BASE}/listings/batch",
        status=200,
        json=page(shop_listing(1800001, views=120), shop_listing(1800002, views=7)),
    )
    rows = client.fetch_traffic(["1800001", "1800002"], date(2026, 3, 1))
    assert dict(sent(route).url.params) == {"listing_ids": "1800001,1800002"}
    assert [(r.external_id, r.views, r.clicks, r.cumulative, r.source) for r in rows] == [
        ("1800001", 120, None, True, "etsy_views_delta"),
        ("1800002", 7, None, True, "etsy_views_delta"),
    ]


# --- Limits and errors ---------------------------------------------------------------------


def test_requests_per_second_are_limited_client_side(api, store, settings):
    settings.ETSY_REQUESTS_PER_SECOND = 2
    now = [1000.25]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    client = adapter_for(store, shop_id=SHOP_ID, sleep=sleep, clock=lambda: now[0])
    spec_route(api, "GET", f"{BASE}/listings/1800001", status=200, json=shop_listing(state="active"))
    for _ in range(3):
        client.get_remote_state(ListingRef("AM-7", "1800001"))
    assert sleeps == [pytest.approx(0.75)]


def test_daily_quota_is_remembered_and_exhaustion_waits_for_tomorrow(api, client):
    spec_route(
        api,
        "GET",
        f"{BASE}/listings/1800001",
        (200, shop_listing(state="active"), {"x-limit-per-day": "10000", "x-remaining-today": "1"}),
        (429, {"error": "Daily quota exceeded"}, {"x-remaining-today": "0", "retry-after": "5"}),
    )
    client.get_remote_state(ListingRef("AM-7", "1800001"))
    assert daily_quota_remaining() == 1
    with pytest.raises(QuotaExhausted) as caught:
        client.get_remote_state(ListingRef("AM-7", "1800001"))
    assert daily_quota_remaining() == 0 and caught.value.retry_after >= 60


def test_429_is_retryable_with_retry_after(api, client):
    spec_route(
        api,
        "GET",
        f"{BASE}/listings/1800001",
        status=429,
        json={"error": "Too many requests"},
        headers={"retry-after": "1", "x-remaining-today": "900"},
    )
    with pytest.raises(Retryable) as caught:
        client.get_remote_state(ListingRef("AM-7", "1800001"))
    assert caught.value.retry_after == 1.0 and not isinstance(caught.value, QuotaExhausted)


def test_400_is_rejected_with_etsys_message(api, client):
    spec_route(
        api,
        "PATCH",
        f"{BASE}/shops/{SHOP_ID}/listings/1800001",
        status=400,
        json={"error": "A listing must have at least one image to be activated."},
    )
    with pytest.raises(Rejected) as caught:
        client.pause(ListingRef("AM-7", "1800001"))
    assert caught.value.message == "A listing must have at least one image to be activated."
    assert caught.value.status == 400


def test_401_refreshes_once_then_needs_reauth(api, client):
    route = spec_route(api, "GET", f"{BASE}/listings/1800001", status=401, json={"error": "invalid_token"})
    token = api.post(TOKEN_URL).respond(
        200, json={"access_token": "1.new", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "1.r2"}
    )
    with pytest.raises(NeedsReauth) as caught:
        client.get_remote_state(ListingRef("AM-7", "1800001"))
    assert token.call_count == 1 and route.call_count == 2
    assert sent(route).headers["Authorization"] == "Bearer 1.new"
    assert ACCESS not in str(caught.value) and "etsy-shared-secret-456" not in str(caught.value)


def test_5xx_is_retryable(api, client):
    spec_route(api, "GET", f"{BASE}/listings/1800001", status=500, json={"error": "Internal error"})
    with pytest.raises(Retryable):
        client.get_remote_state(ListingRef("AM-7", "1800001"))


# --- Store defaults ------------------------------------------------------------------------


def test_publish_defaults_are_the_shops_shipping_and_processing_profiles(api, client):
    profile = {
        "user_id": 12345678,
        "origin_country_iso": "US",
        "shipping_profile_destinations": [],
        "shipping_profile_upgrades": [],
        "origin_postal_code": "10001",
        "profile_type": "manual",
        "domestic_handling_fee": 0,
        "international_handling_fee": 0,
    }
    spec_route(
        api,
        "GET",
        f"{BASE}/shops/{SHOP_ID}/shipping-profiles",
        status=200,
        json={
            "count": 2,
            "results": [
                {**profile, "shipping_profile_id": 206000, "title": "Gone", "is_deleted": True},
                {**profile, "shipping_profile_id": 206001, "title": "Standard", "is_deleted": False},
            ],
        },
    )
    readiness = spec_route(
        api,
        "GET",
        f"{BASE}/shops/{SHOP_ID}/readiness-state-definitions",
        status=200,
        json={
            "count": 1,
            "results": [
                {
                    "shop_id": SHOP_ID,
                    "readiness_state_id": 99001,
                    "readiness_state": "ready_to_ship",
                    "min_processing_days": 1,
                    "max_processing_days": 3,
                    "processing_days_display_label": "1-3 days",
                }
            ],
        },
    )

    assert client.fetch_publish_defaults() == {"shipping_profile_id": 206001, "readiness_state_id": 99001}
    assert sent(readiness).headers["x-api-key"] == API_KEY
