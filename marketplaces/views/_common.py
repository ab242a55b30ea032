"""Small helpers shared by the marketplaces' pages."""

from django.utils.http import url_has_allowed_host_and_scheme

PAGE_SIZE = 25


def partial_template(request, page: str, partial: str) -> str:
    """The whole page, or only its named partial for an HTMX swap (not for a history restore)."""
    if is_htmx(request):
        return f"{page}#{partial}"
    return page


def is_htmx(request) -> bool:
    return bool(request.htmx and not request.htmx.history_restore_request)


def hx_target(request) -> str:
    return (request.htmx.target or "") if is_htmx(request) else ""


def safe_next(request, default: str) -> str:
    """Where to go back to after an action: the page's own `next` (same site only), else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default
