"""Request headers that look like a browser, and reading what came back (encoding, block pages)."""

import codecs
import datetime
import functools
import importlib.util
import re
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from catalog.extraction.document import decode as parser_input
from catalog.extraction.document import is_blank

EMPTY_PAGE = "empty page"
TRUNCATED_PAGE = "truncated page"
CAPTCHA_PAGE = "captcha / robot check: {marker}"
LOGIN_WALL = "login wall: {title}"

DEFAULT_ACCEPT_LANGUAGE = "en-US,en;q=0.9"
# The language a visitor of each site would send; the longest matching host suffix wins.
ACCEPT_LANGUAGE_BY_SUFFIX = {
    ".com": DEFAULT_ACCEPT_LANGUAGE,
    ".co.uk": "en-GB,en;q=0.9",
    ".uk": "en-GB,en;q=0.9",
    ".ie": "en-IE,en;q=0.9",
    ".ca": "en-CA,en;q=0.9,fr-CA;q=0.8",
    ".com.au": "en-AU,en;q=0.9",
    ".in": "en-IN,en;q=0.9,hi;q=0.8",
    ".sg": "en-SG,en;q=0.9",
    ".ae": "en-AE,en;q=0.9,ar;q=0.8",
    ".de": "de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7",
    ".at": "de-AT,de;q=0.9,en;q=0.8",
    ".fr": "fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7",
    ".it": "it-IT,it;q=0.9,en-US;q=0.8,en;q=0.7",
    ".es": "es-ES,es;q=0.9,en-US;q=0.8,en;q=0.7",
    ".com.mx": "es-MX,es;q=0.9,en;q=0.8",
    ".com.br": "pt-BR,pt;q=0.9,en;q=0.8",
    ".nl": "nl-NL,nl;q=0.9,en;q=0.8",
    ".com.be": "nl-BE,nl;q=0.9,fr-BE;q=0.8,en;q=0.7",
    ".pl": "pl-PL,pl;q=0.9,en;q=0.8",
    ".se": "sv-SE,sv;q=0.9,en;q=0.8",
    ".com.tr": "tr-TR,tr;q=0.9,en;q=0.8",
    ".co.jp": "ja-JP,ja;q=0.9,en;q=0.8",
    ".jp": "ja-JP,ja;q=0.9,en;q=0.8",
    ".co.kr": "ko-KR,ko;q=0.9,en;q=0.8",
    ".com.tw": "zh-TW,zh;q=0.9,en;q=0.8",
    ".cn": "zh-CN,zh;q=0.9,en;q=0.8",
    ".sa": "ar-SA,ar;q=0.9,en;q=0.8",
    ".eg": "ar-EG,ar;q=0.9,en;q=0.8",
}

# Markers only bot walls carry: a page holding one is blocked wherever the marker is.
_STRONG_MARKERS = [
    "/errors/validatecaptcha",
    "type the characters you see in this image",
    "sorry, we just need to make sure you're not a robot",
    "px-captcha",
    "_incapsula_resource",
    "cf-chl-",
    "challenge-platform",
    "punish?x5secdata",
    "x5secdata",
    "geo.captcha-delivery.com",
]
# Words a real product page may also carry (a review form with reCAPTCHA): they count only in
# the title or on a page with little text, as a bot wall has.
_WEAK_MARKERS = [
    "captcha",
    "robot check",
    "are you a robot",
    "not a robot",
    "unusual traffic",
    "verify you are human",
    "verify you are a human",
    "access denied",
    "pardon our interruption",
    "request blocked",
    "attention required",
    "just a moment...",
]
_LOGIN_TITLE = re.compile(r"\b(sign[\s-]?in|log[\s-]?in)\b", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_SCRIPT_OR_STYLE = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_SHORT_PAGE_TEXT = 2000
# Block pages are small. Of a larger page only its head and tail are read: scanning a few
# hundred kilobytes of a real product page for markers would cost more than parsing it.
_SMALL_PAGE, _SAMPLE_TAIL, _SAMPLE_TITLE = 100_000, 20_000, 30_000
_HTML_START = re.compile(r"<html", re.I)
_HTML_END = re.compile(r"</(?:html|body)", re.I)


def looks_blocked(page: str | bytes) -> str | None:
    """Why the page looks like a block page rather than the page asked for, or None.

    A minimal content check (empty or truncated body, obvious CAPTCHA / robot-check / login-wall
    markers); the extraction step has a richer detector that the refresh pipeline combines.
    `page` is text, or UTF-8 bytes as they arrived.
    """
    if is_blank(page):
        return EMPTY_PAGE
    if len(page) > _SMALL_PAGE:
        # A block page is small: of a large page only its end (truncated?) and title are looked at;
        # the extraction's own detector looks further when no product data turns up.
        head, tail = _text(page[:_SAMPLE_TITLE]), _text(page[-_SAMPLE_TAIL:])
        if _HTML_START.search(head) and not _HTML_END.search(tail):
            return TRUNCATED_PAGE
        return _weak_marker(_title(head), short_text=None)
    html = _text(page)
    if _HTML_START.search(html) and not _HTML_END.search(html):
        return TRUNCATED_PAGE
    lowered = html.lower()
    for marker in _STRONG_MARKERS:
        if marker in lowered:
            return CAPTCHA_PAGE.format(marker=marker)
    title = _title(html)
    text = " ".join(_TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", html)).split()).lower()
    short_text = text if len(text) < _SHORT_PAGE_TEXT else None
    reason = _weak_marker(title, short_text=short_text)
    if reason:
        return reason
    if title and _LOGIN_TITLE.search(title) and short_text is not None:
        return LOGIN_WALL.format(title=title[:80])
    if not text and "<script" not in lowered:
        return EMPTY_PAGE
    return None


def _text(page: str | bytes) -> str:
    return page if isinstance(page, str) else page.decode("utf-8", errors="replace")


def _title(html: str) -> str:
    match = _TITLE.search(html)
    return " ".join(match.group(1).split()) if match else ""


def _weak_marker(title: str, *, short_text: str | None) -> str | None:
    """A weak marker in the title, or anywhere in the text of a page with little text."""
    title = title.lower()
    for marker in _WEAK_MARKERS:
        if marker in title or (short_text is not None and marker in short_text):
            return CAPTCHA_PAGE.format(marker=marker)
    return None


def accept_language_for(host: str) -> str:
    """The Accept-Language a visitor of this site sends (amazon.de → German first)."""
    host = (host or "").lower().rstrip(".")
    best = ""
    for suffix in ACCEPT_LANGUAGE_BY_SUFFIX:
        if host.endswith(suffix) and len(suffix) > len(best):
            best = suffix
    return ACCEPT_LANGUAGE_BY_SUFFIX.get(best, DEFAULT_ACCEPT_LANGUAGE)


@functools.cache
def accepted_encodings() -> str:
    """Only the content encodings httpx can decode here (looked up once: the import system's
    lock would otherwise serialise every fetching thread)."""
    encodings = ["gzip", "deflate"]
    if importlib.util.find_spec("brotli") or importlib.util.find_spec("brotlicffi"):
        encodings.append("br")
    if importlib.util.find_spec("zstandard"):
        encodings.append("zstd")
    return ", ".join(encodings)


def _config_headers(config) -> dict:
    headers = (config or {}).get("headers") or {}
    if not isinstance(headers, dict):
        return {}
    return {str(k): str(v) for k, v in headers.items() if v is not None}


def request_headers(supplier=None, url: str = "") -> dict:
    """Browser-like request headers for a supplier's site; the supplier's scraper_config "headers"
    (the family template's first, then the site's own) override them."""
    host = urlsplit(getattr(supplier, "base_url", "") or url).hostname or urlsplit(url).hostname or ""
    headers = {
        "User-Agent": settings.SCRAPER_USER_AGENT,
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
        "Accept-Language": accept_language_for(host),
        "Accept-Encoding": accepted_encodings(),
        "Upgrade-Insecure-Requests": "1",
        "Sec-Fetch-Dest": "document",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Site": "none",
        "Sec-Fetch-User": "?1",
    }
    if supplier is not None:
        family = getattr(supplier, "family", None)
        if family is not None:
            headers.update(_config_headers(family.scraper_config))
        headers.update(_config_headers(supplier.scraper_config))
    return headers


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max((when - timezone.now()).total_seconds(), 0.0)


def is_web_content_type(content_type: str | None) -> bool:
    """True for what a product page can be served as (HTML, XML, JSON, plain text, or unstated)."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or "html" in media or "xml" in media or "json" in media


def _known_codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def decode_html(content: bytes, header_charset: str | None) -> tuple[str | bytes, str]:
    """The page for the parser and its encoding: the header's charset, else a <meta charset>, else UTF-8.

    A UTF-8 page comes back as the bytes themselves when the parser reads them the same way on
    its own (lexbor reads UTF-8 bytes: decoding a large page to text first would cost about as
    much as parsing it); any other page comes back decoded to text.
    """
    encoding = _known_codec(header_charset)
    if encoding is None:
        match = _META_CHARSET.search(content[:4096])
        encoding = _known_codec(match.group(1).decode("ascii", "ignore")) if match else None
    if encoding is None:
        encoding = "utf-8"
    if encoding == "utf-8" and parser_input(content) is content:
        return content, encoding
    return content.decode(encoding, errors="replace"), encoding
