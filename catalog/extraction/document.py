"""Turning fetched bytes into one parsed tree, and reading plain text out of it.

The page is parsed once, with selectolax's Lexbor parser; everything else reads that tree.
Scraped content is untrusted: it is only ever parsed, never executed, and what leaves this
package is plain strings.
"""

import codecs
import re
from html import unescape
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

# Browsers look for <meta charset> in the first 1024 bytes; some pages declare it later (after
# <title>), so look further, still well short of the whole page.
_CHARSET_SCAN_BYTES = 65536
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_UTF8_NAMES = {"utf-8", "utf8"}

# Elements whose text is never shown, and classes sites use for screen-reader-only text
# ("Details about" on eBay titles).
_NON_TEXT_TAGS = ["script", "style", "noscript", "template"]
_HIDDEN_CLASSES = frozenset(
    {"g-hdn", "sr-only", "visually-hidden", "visuallyhidden", "screen-reader-text", "aok-hidden", "a-offscreen"}
)
_HIDDEN_SELECTOR = ", ".join(f".{name}" for name in sorted(_HIDDEN_CLASSES))
_NON_TEXT_CSS = ", ".join(_NON_TEXT_TAGS)
_LOOKS_LIKE_MARKUP = re.compile(r"<[A-Za-z/!][^>]*>")


def decode(html: str | bytes) -> str | bytes:
    """The page in a form the parser reads correctly and fast.

    UTF-8 bytes (declared or undeclared but valid) are handed over as they are; bytes with a BOM
    or another declared charset are decoded here; undeclared bytes that are not UTF-8 are read
    as windows-1252, as browsers do.
    """
    if isinstance(html, str):
        return html
    raw = bytes(html)
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :]
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace")
    declared = _declared_charset(raw)
    if declared in _UTF8_NAMES:
        return raw  # the parser reads UTF-8 bytes itself (a stray bad byte becomes U+FFFD)
    if declared:
        try:
            return raw.decode(declared, errors="replace")
        except LookupError:
            pass
    if raw.isascii():
        return raw
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("windows-1252", errors="replace")
    return raw


def _declared_charset(raw: bytes) -> str | None:
    match = _META_CHARSET.search(raw[:_CHARSET_SCAN_BYTES])
    if not match:
        return None
    name = match.group(1).decode("ascii", errors="ignore").lower()
    try:
        return codecs.lookup(name).name.replace("_", "-")
    except LookupError:
        return None


def parse(html: str | bytes) -> LexborHTMLParser:
    return LexborHTMLParser(decode(html))


_NON_SPACE = re.compile(r"\S")
_NON_SPACE_B = re.compile(rb"\S")


def is_blank(html: str | bytes) -> bool:
    """Nothing but whitespace (found without copying a large page, as strip() would)."""
    if not html:
        return True
    pattern = _NON_SPACE_B if isinstance(html, bytes | bytearray) else _NON_SPACE
    return pattern.search(html) is None


def collapse(text: str | None) -> str:
    """Whitespace collapsed to single spaces, trimmed (str.split knows the same whitespace as the
    regular expressions' \\s, and is several times faster on a large text)."""
    return " ".join(text.split()) if text else ""


def clean_string(value) -> str | None:
    """A plain, unescaped, whitespace-collapsed string from structured data; None when empty."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value)
    if "&" in text:
        text = unescape(text)
    if _LOOKS_LIKE_MARKUP.search(text):
        body = LexborHTMLParser(text).body  # parsed, never run: only its text is kept
        if body is not None:
            text = node_text(body)
    text = collapse(text)
    return text or None


def node_text(node, *, skip_hidden: bool = False) -> str:
    """The text a reader sees in a node: scripts and styles left out, whitespace collapsed.

    With skip_hidden, screen-reader-only spans are left out too (used for titles).
    """
    if node is None:
        return ""
    if node.tag not in _NON_TEXT_TAGS and next(node.iter(), None) is None:
        return collapse(node.text(deep=True, separator=" "))  # no child elements: nothing to leave out
    needs_copy = node.css_first(_NON_TEXT_CSS) is not None
    hidden = skip_hidden and node.css_first(_HIDDEN_SELECTOR) is not None
    if not needs_copy and not hidden:
        return collapse(node.text(deep=True, separator=" "))
    copy = node.clone()
    selectors = ([_NON_TEXT_CSS] if needs_copy else []) + ([_HIDDEN_SELECTOR] if hidden else [])
    for selector in selectors:
        for child in copy.css(selector):
            if child.mem_id != copy.mem_id:  # css() can match the node itself
                child.decompose()
    return collapse(copy.text(deep=True, separator=" "))


def absolute_url(value: str | None, base: str | None) -> str | None:
    """An absolute http(s) URL, or None for anything else (data:, javascript:, empty)."""
    if not value:
        return None
    value = value.strip()
    if value.startswith("//"):
        value = "https:" + value
    if base and not value.startswith(("https://", "http://")):  # urljoin costs more than the rest
        value = urljoin(base, value)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return value
