"""Real HTTP servers on 127.0.0.1 for the fetching tests (a scripted site, forward proxies), and
the fixtures the fetching test modules share (import the `*_fixture` functions into a module to
use `site`, `supplier` and the autouse `fetch_settings` there).

Each server runs in a daemon thread and records what it received, so tests can prove a request
was (or was never) sent.
"""

import base64
import datetime
import http.client
import http.server
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Reply:
    """What the site answers on a path; `chunks` = [(bytes, delay before it)] streams the body."""

    status: int = 200
    body: bytes | str = b"<html><head><title>Product</title></head><body><h1>A product</h1></body></html>"
    headers: dict = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay: float = 0.0
    chunks: list | None = None


@dataclass
class Seen:
    path: str
    headers: dict
    at: float
    client: tuple = ()  # the (address, port) the request came from: one per connection


class _SiteHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        site = self.server.site
        headers = {k.lower(): v for k, v in self.headers.items()}
        site.seen.append(Seen(self.path, headers, time.monotonic(), self.client_address))
        reply = site.reply_for(self.path)
        if callable(reply):
            reply = reply(self)
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.chunks is not None:
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk, pause in reply.chunks:
                    time.sleep(pause)
                    self.wfile.write(chunk)
                    self.wfile.flush()
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class Site:
    """A scripted web site: `site.routes[path] = Reply(...)` (or a callable(handler) -> Reply);
    over TLS with `tls` (a server-side ssl.SSLContext, see tls_contexts)."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.routes: dict = {}
        self.seen: list[Seen] = []
        self.default = Reply(status=404, body="not here")
        self.scheme = "https" if tls else "http"
        self._server = _Server(("127.0.0.1", 0), _SiteHandler)
        if tls:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._server.site = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def reply_for(self, path):
        return self.routes.get(path) or self.routes.get(urlsplit(path).path) or self.default

    def url(self, path="/", host="127.0.0.1"):
        return f"{self.scheme}://{host}:{self.port}{path}"

    def paths(self):
        return [seen.path for seen in self.seen]

    def close(self):
        self._server.shutdown()
        self._server.server_close()


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        proxy = self.server.proxy
        proxy.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic()))
        if proxy.credentials and self.headers.get("Proxy-Authorization") != proxy.expected_auth():
            self._answer(407, b"auth required", {"Proxy-Authenticate": 'Basic realm="test"'})
            return
        target = urlsplit(self.path)
        conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=10)
        headers = {k: v for k, v in self.headers.items() if not k.lower().startswith("proxy-")}
        headers["Connection"] = "close"
        try:
            path = target.path + (f"?{target.query}" if target.query else "")
            conn.request("GET", path or "/", headers=headers)
            response = conn.getresponse()
            body = response.read()
        except OSError as exc:
            self._answer(502, f"bad gateway: {exc}".encode(), {})
            return
        finally:
            conn.close()
        passed = {k: v for k, v in response.getheaders() if k.lower() not in {"content-length", "connection"}}
        self._answer(response.status, body, passed)

    def _answer(self, status, body, headers):
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class ForwardProxy:
    """A plain-HTTP forward proxy (absolute-form GET), optionally demanding Basic credentials."""

    def __init__(self, credentials: tuple[str, str] | None = None):
        self.credentials = credentials
        self.seen: list[Seen] = []
        self._server = _Server(("127.0.0.1", 0), _ProxyHandler)
        self._server.proxy = self
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def expected_auth(self):
        user, password = self.credentials
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def close(self):
        self._server.shutdown()
        self._server.server_close()


class DroppingProxy:
    """Accepts connections and closes them at once without answering (breaks mid-request)."""

    def __init__(self):
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.accepted = 0
        self._stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            try:
                conn.recv(65536)
            finally:
                conn.close()

    def close(self):
        self._stop = True
        self._sock.close()


def tls_contexts(name: str, tmp_path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) TLS contexts: the server presents a certificate for `name`, signed by
    itself, which the client trusts (and verifies, host name included)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "site.pem").write_bytes(pem)
    (tmp_path / "site.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "site.pem", tmp_path / "site.key")
    return server, ssl.create_default_context(cadata=pem.decode())


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# --- Shared fixtures ---------------------------------------------------------------------------

PAGE = "<html><head><title>Blue kettle</title></head><body><h1>Blue kettle</h1><p>$19.99</p></body></html>"
CAPTCHA_PAGE = (
    "<html><head><title>Robot Check</title></head><body>"
    "<form action='/errors/validateCaptcha'>Type the characters you see in this image</form></body></html>"
)


@pytest.fixture(autouse=True, name="fetch_settings")
def fetch_settings_fixture(settings):
    settings.SCRAPER_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SCRAPER_MAX_ATTEMPTS = 1
    settings.SCRAPER_BACKOFF_BASE = 0.05
    settings.SCRAPER_BACKOFF_MAX = 0.1
    settings.SCRAPER_CONNECT_TIMEOUT = 2.0
    settings.SCRAPER_READ_TIMEOUT = 2.0
    settings.SCRAPER_TOTAL_TIMEOUT = 5.0
    settings.SCRAPER_MAX_RETRY_AFTER = 5.0
    settings.PROXY_MAX_CONSECUTIVE_FAILURES = 8
    return settings


@pytest.fixture(name="site")
def site_fixture():
    server = Site()
    yield server
    server.close()


@pytest.fixture(name="supplier")
def supplier_fixture(site):
    from catalog.tests.factories import SupplierFactory

    # A fresh name each run: the rate-limit state in Redis outlives the test database.
    return SupplierFactory(name=f"shop-{uuid.uuid4().hex[:10]}", base_url=site.url("/"), rate_limit=60000)


def page(body=PAGE, **kwargs):
    return Reply(body=body, **kwargs)
