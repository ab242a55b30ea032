"""What drf-spectacular needs to describe the seller API fully: the Bearer scheme, and (added to
every operation by a post-processing hook) the problem responses, the RateLimit headers, Retry-After
and the Idempotency-Key header of POSTs. Imported by config/api.py, so it is registered whenever
the API's URLs are."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from .problems import TITLES

PROBLEM_COMPONENT = "Problem"
COMMON_PROBLEMS = (400, 401, 403, 404, 405, 406, 429)
ANONYMOUS_PROBLEMS = (400, 401, 405, 406, 429)
IDEMPOTENT_PROBLEMS = (409, 422)
RATE_HEADERS = {
    "RateLimit-Limit": "Calls allowed in the current window (the one closest to its limit: minute or day).",
    "RateLimit-Remaining": "Calls left in that window.",
    "RateLimit-Reset": "Seconds until that window starts again.",
}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "The access token from POST /api/v1/auth/token/ (or /api/v1/auth/refresh/), valid for an hour. "
                "Only Bearer tokens are accepted: browser sessions and cookies are not, so no CSRF token is needed."
            ),
        }


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An RFC 9457 problem document.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "The kind of problem (a URI; about:blank when the status says it)."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong, for a person."},
        "instance": {"type": "string", "description": "The path asked for."},
        "code": {"type": "string", "description": "The kind of problem as a short word (validation, not_found, …)."},
        "errors": {
            "type": "array",
            "description": "Each field's problem: `pointer` into the JSON body or the query `parameter`.",
            "items": {
                "type": "object",
                "required": ["detail"],
                "properties": {
                    "pointer": {"type": "string"},
                    "parameter": {"type": "string"},
                    "detail": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
}


def _header(description: str, kind: str = "integer") -> dict:
    return {"schema": {"type": kind}, "description": description}


def _problem(status: int) -> dict:
    body = {
        "description": TITLES.get(status, "Error"),
        "content": {"application/problem+json": {"schema": {"$ref": f"#/components/schemas/{PROBLEM_COMPONENT}"}}},
    }
    if status in (429, 503, 409):
        body["headers"] = {"Retry-After": _header("Seconds to wait before trying again.")}
    return body


def problems_and_headers(result, generator, request, public):
    """Post-processing hook: the responses and headers every operation has (see the module)."""
    result.setdefault("components", {}).setdefault("schemas", {})[PROBLEM_COMPONENT] = PROBLEM_SCHEMA
    # The schema names a primary key {id} where the URL pattern says {pk} (SCHEMA_COERCE_PATH_PK).
    views = {
        (path.replace("{pk}", "{id}"), method.lower()): getattr(callback, "cls", None)
        for path, _regex, method, callback in generator.endpoints
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            view = views.get((path, method))
            if view is None:
                continue
            anonymous = not getattr(view, "authentication_classes", None) or getattr(view, "anonymous_allowed", False)
            statuses = set(ANONYMOUS_PROBLEMS if anonymous else COMMON_PROBLEMS)
            statuses.update(getattr(view, "problem_statuses", ()))
            if "requestBody" in operation:
                statuses.add(415)
            idempotent = method == "post" and getattr(view, "idempotent", False)
            if idempotent:
                statuses.update(IDEMPOTENT_PROBLEMS)
                operation.setdefault("parameters", []).append(
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 255},
                        "description": (
                            "Any unique string (a UUID). A retry with the same key within "
                            f"{int(settings.API_IDEMPOTENCY_WINDOW.total_seconds() // 3600)} hours gets the first "
                            "answer again (with `Idempotent-Replayed: true`) and creates nothing new."
                        ),
                    }
                )
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(str(status), _problem(status))
            for code, response in responses.items():
                headers = response.setdefault("headers", {})
                for name, description in RATE_HEADERS.items():
                    headers.setdefault(name, _header(description))
                if idempotent and code.startswith("2"):
                    headers.setdefault(
                        "Idempotent-Replayed", _header("`true` when this is the first answer, replayed.", "string")
                    )
    return result
