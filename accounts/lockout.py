"""How django-axes names the account a failed log-in was for: the email, folded, so the case
variants of one address (and padding spaces) count, and lock, together."""


def normalize_email(value) -> str:
    return str(value or "").strip().lower()


def axes_username(request, credentials) -> str:
    """AXES_USERNAME_CALLABLE: the normalised email from the credentials tried, or the form."""
    credentials = credentials or {}
    for key in ("email", "username", "login"):
        if credentials.get(key):
            return normalize_email(credentials[key])
    data = getattr(request, "POST", None) or {}
    for key in ("login", "email", "username"):
        if data.get(key):
            return normalize_email(data[key])
    return ""
