"""How a page answers when background work cannot be started (the broker is down).

An HTMX caller gets 503 with the fragment that says so (static/js/app.js swaps such an answer
in, where htmx would drop an error); a full page gets the page with the message. Never a 500.
"""

UNAVAILABLE_HEADER = "X-Background-Unavailable"
RETRY_AFTER_SECONDS = 60


def unavailable_response(request, response):
    """Mark `response` (the fragment or page saying background work is unavailable) for its caller."""
    if getattr(request, "htmx", False):
        response.status_code = 503
        response[UNAVAILABLE_HEADER] = "1"
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
