import socket

import pytest

from catalog import netsafety
from catalog.netsafety import UnsafeURL


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "::1",
        "::",
        "fd00::1",  # unique local
        "fe80::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:db8::1",
        "fe80::1%eth0",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert netsafety.address_problem(address) is not None
    assert not netsafety.is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert netsafety.address_problem(address) is None


def test_metadata_address_says_why():
    assert "metadata" in netsafety.address_problem("169.254.169.254")


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "file:///etc/passwd", "gopher://example.com/", "javascript:alert(1)", "http:///path"],
)
def test_only_http_urls_with_a_host_are_fetched(url):
    with pytest.raises(UnsafeURL):
        netsafety.check_url(url, resolve=False)


def test_credentials_in_url_are_refused():
    with pytest.raises(UnsafeURL, match="user name or password"):
        netsafety.check_url("http://user:pw@example.com/", resolve=False)


def test_ip_literal_urls_are_checked(settings):
    settings.SCRAPER_ALLOWED_HOSTS = []
    for url in ["http://127.0.0.1/", "http://[::1]:8080/", "http://169.254.169.254/latest/meta-data/"]:
        with pytest.raises(UnsafeURL, match="non-public"):
            netsafety.check_url(url)


def test_decimal_encoded_loopback_is_caught_after_resolution(settings):
    settings.SCRAPER_ALLOWED_HOSTS = []
    with pytest.raises(UnsafeURL):
        netsafety.check_url("http://2130706433/")


def test_allowed_hosts_skip_the_address_rule_by_exact_name(settings):
    settings.SCRAPER_ALLOWED_HOSTS = ["127.0.0.1"]
    assert netsafety.check_url("http://127.0.0.1:8000/p") == "127.0.0.1"
    # localhost is 127.0.0.1 too, but it was not the name allowed.
    with pytest.raises(UnsafeURL):
        netsafety.check_url("http://localhost:8000/p")


def test_host_resolving_to_any_private_address_is_refused(settings, monkeypatch):
    settings.SCRAPER_ALLOWED_HOSTS = []
    monkeypatch.setattr(netsafety, "resolve_host", lambda host, port=None: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(UnsafeURL, match=r"10\.0\.0\.7"):
        netsafety.check_url("https://shop.example/item")


def test_host_resolving_to_public_addresses_passes(settings, monkeypatch):
    settings.SCRAPER_ALLOWED_HOSTS = []
    monkeypatch.setattr(netsafety, "resolve_host", lambda host, port=None: ["93.184.216.34"])
    assert netsafety.check_url("https://Shop.Example./item") == "shop.example"


def test_unresolvable_host_raises_gaierror(settings, monkeypatch):
    def fail(host, port=None):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(netsafety, "resolve_host", fail)
    with pytest.raises(socket.gaierror):
        netsafety.check_url("https://nowhere.invalid/")


def test_peer_check(settings):
    settings.SCRAPER_ALLOWED_HOSTS = ["127.0.0.1"]
    netsafety.check_peer("shop.example", "93.184.216.34")
    netsafety.check_peer("127.0.0.1", "127.0.0.1")
    with pytest.raises(UnsafeURL, match="reached a non-public address"):
        netsafety.check_peer("shop.example", "127.0.0.1")
