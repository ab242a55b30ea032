"""Recognising an answer that is not the product page: a CAPTCHA or robot check, a bot wall, a
login wall, an empty or truncated page. Such a page is never read as product data.

Judged by content only (HTTP status codes are the fetching side's). Strong markers (a CAPTCHA
form, a bot-wall vendor's element, a title that is nothing but "Robot Check") decide on their own.
Weak ones (a reCAPTCHA widget, a password field) decide only when the page gave no product data,
because a real product page can hold a review form with a CAPTCHA or a login pop-up.
"""

import re

from .document import collapse, node_text

EMPTY_PAGE = "empty page"
TRUNCATED_PAGE = "truncated page"
CAPTCHA_PAGE = "captcha / robot check ({marker})"
LOGIN_WALL = "login wall ({marker})"

# Elements only bot walls and sign-in pages carry, across sites and languages.
STRONG_CAPTCHA_SELECTORS = [
    'form[action*="validateCaptcha"]',  # Amazon robot check, every regional site
    "#captchacharacters",
    "#challenge-form",  # Cloudflare
    "#challenge-running",
    "#cf-challenge-running",
    ".cf-browser-verification",
    "#px-captcha",  # PerimeterX / HUMAN
    'script[src*="captcha.px-cdn.net"]',
    'script[src*="awswaf.com"]',  # AWS WAF JavaScript challenge / CAPTCHA (Amazon's own pages too)
    'form[action*="distil_r_captcha"]',  # Distil Networks
    'iframe[src*="distil_r_captcha"]',
    'iframe[src*="captcha-delivery.com"]',  # DataDome
    'script[src*="captcha-delivery.com"]',
    'iframe[src*="_Incapsula_Resource"]',  # Imperva
    "#nocaptcha",  # AliExpress slider (x5sec / punish page)
    "#nc_1_n1z",
    ".baxia-punish",
]
LOGIN_SELECTORS = [
    'form[name="signIn"]',  # Amazon sign-in, every regional site
    "#ap_password",
    "#fm-login-id",  # AliExpress login
    "#fm-login-password",
]
WEAK_SELECTORS = [
    ".g-recaptcha",
    'iframe[src*="recaptcha"]',
    ".h-captcha",
    'iframe[src*="hcaptcha.com"]',
    'input[type="password"]',
]
_WALL_CSS = ", ".join(STRONG_CAPTCHA_SELECTORS + LOGIN_SELECTORS)
_LOGIN_CSS = ", ".join(LOGIN_SELECTORS)
_WEAK_CSS = ", ".join(WEAK_SELECTORS)

# Whole titles of block pages (a product may be called "Access Denied: a novel"; a block page's
# title is only this).
_BLOCK_TITLE = re.compile(
    r"^(?:robot check|captcha|bot check|security check|human verification|"
    r"attention required!?(?: \| cloudflare)?|just a moment\.{0,3}|un instant\.{0,3}|einen moment\.{0,3}|"
    r"access denied|access to this page has been denied\.?|pardon our interruption\.?|"
    r"are you a (?:robot|human)\??|verify you are (?:a )?human|request blocked|"
    r"ロボットによるアクセスではないことを確認してください|请验证|验证码拦截|captcha interception)$",
    re.I,
)
_LOGIN_TITLE = re.compile(
    r"\b(?:sign[\s-]?in|log[\s-]?in|anmelden|connexion|se connecter|iniciar sesi[oó]n|accedi|entrar|inloggen|"
    r"zaloguj|logga in|giriş yap)\b|ログイン|登录|تسجيل الدخول",
    re.I,
)
# Text of CAPTCHA pages, checked only on small pages (a block page is a few kilobytes).
_CAPTCHA_TEXT = re.compile(
    r"enter the characters you see below|type the characters you see in this image|"
    r"make sure you(?:'|’)re not a robot|"
    r"geben sie die (?:unten angezeigten )?zeichen|saisissez les caractères|introduce los caracteres|"
    r"inserisci i caratteri|digite os caracteres|voer de tekens in|wpisz znaki|"
    r"表示されている文字を入力|输入您在下面看到的字符|"
    r"checking (?:if the site connection is secure|your browser before accessing)|"
    r"enable javascript and cookies to continue|press (?:&|and) hold|please slide to verify|"
    r"slide to complete the puzzle|unusual traffic from your computer network|"
    r"verify that you(?:'|’)re not a robot|something about your browser made us think you were a bot",
    re.I,
)
_TEXT_PAGE_CHARS = 60_000  # bot walls' own pages are a few kilobytes
_WALL_PAGE_CHARS = 100_000
_HTML_OPEN = re.compile(r"<html[\s>]", re.I)
_HTML_OPEN_B = re.compile(rb"<html[\s>]", re.I)
_CLOSING = re.compile(r"</(?:html|body)\s*>", re.I)
_CLOSING_B = re.compile(rb"</(?:html|body)\s*>", re.I)
_TAIL_CHARS = 65536


def is_truncated(raw: str | bytes) -> bool:
    """A document that opens <html> but never reaches </body> or </html> was cut off."""
    is_bytes = isinstance(raw, bytes | bytearray)
    opener, closing = (_HTML_OPEN_B, _CLOSING_B) if is_bytes else (_HTML_OPEN, _CLOSING)
    if not opener.search(raw[:4096]):
        return False
    if closing.search(raw[-4096:]) or closing.search(raw[-_TAIL_CHARS:]):
        return False
    return closing.search(raw) is None


def strong_block_reason(tree, raw: str | bytes, *, supplier_selectors_hit: str | None = None) -> str | None:
    """Why this page is certainly not a product page, or None.

    Bot walls and sign-in pages are small; on a large page the vendor markers are looked for
    only when it gave no product data (`weak_block_reason`), which keeps real pages fast."""
    if supplier_selectors_hit:
        return CAPTCHA_PAGE.format(marker=supplier_selectors_hit)
    if is_truncated(raw):
        return TRUNCATED_PAGE
    title = _title(tree)
    if title and _BLOCK_TITLE.match(title):
        return CAPTCHA_PAGE.format(marker=f"title {title!r}")
    if len(raw) <= _WALL_PAGE_CHARS:
        reason = _wall_marker(tree)
        if reason:
            return reason
    if len(raw) <= _TEXT_PAGE_CHARS:
        body = tree.body
        text = node_text(body) if body is not None else ""
        found = _CAPTCHA_TEXT.search(text)
        if found:
            return CAPTCHA_PAGE.format(marker=found.group(0))
        if not title and not text and not tree.css_first("meta[content], script[type='application/ld+json']"):
            return EMPTY_PAGE
    return None


def _wall_marker(tree) -> str | None:
    marker = tree.css_first(_WALL_CSS)  # one pass over the page for every vendor's marker
    if marker is None:
        return None
    reason = LOGIN_WALL if marker.css_matches(_LOGIN_CSS) else CAPTCHA_PAGE
    return reason.format(marker=_describe(marker))


def weak_block_reason(tree, raw: str | bytes) -> str | None:
    """Why a page that gave no product data looks like a wall (a vendor's marker on a large page,
    a CAPTCHA widget, a sign-in form), or None."""
    if len(raw) > _WALL_PAGE_CHARS:
        reason = _wall_marker(tree)
        if reason:
            return reason
    marker = tree.css_first(_WEAK_CSS)
    if marker is None:
        return None
    title = _title(tree)
    if marker.tag == "input":
        return LOGIN_WALL.format(marker=f"title {title!r}") if title and _LOGIN_TITLE.search(title) else None
    return CAPTCHA_PAGE.format(marker=_describe(marker))


def _title(tree) -> str:
    node = tree.css_first("title")
    return collapse(node.text()) if node is not None else ""


def _describe(node) -> str:
    ident = node.attributes.get("id")
    if ident:
        return f"{node.tag}#{ident}"
    classes = (node.attributes.get("class") or "").split()
    return f"{node.tag}.{classes[0]}" if classes else node.tag
