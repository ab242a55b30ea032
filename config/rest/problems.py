"""Every error of the seller API as an RFC 9457 problem document (`application/problem+json`):

    {"type": "tag:arbitrage-monitor,2026:problem/validation", "title": "Invalid input", "status": 400,
     "detail": "…", "instance": "/api/v1/listings/", "code": "validation",
     "errors": [{"pointer": "#/price", "detail": "A price cannot be negative.", "code": "invalid"}]}

`type` identifies the kind of problem (about:blank when the status says it all); `code` is the same
kind as a short word for scripts; `errors` lists each field's problems (`pointer` for the JSON body,
`parameter` for a query parameter). 401 means no or a bad token, 403 that the account may not do
this, 404 that the thing is not among the seller's (another seller's id is a 404 too).
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "tag:arbitrage-monitor,2026:problem/"
TITLES = {
    400: "Invalid input",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}
NOT_FOUND_DETAIL = "Nothing with this id (or at this address) is among yours."
SERVER_ERROR_DETAIL = "Something went wrong on our side; it has been logged. Try again later."


def problem_type(code: str) -> str:
    return TYPE_PREFIX + code


class Conflict(exceptions.APIException):
    """The request cannot be done in the thing's current state (e.g. pausing an ended listing)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with the current state."
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


class ServiceUnavailable(exceptions.APIException):
    """Background work cannot be started now (the broker is down); worth retrying shortly."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is unavailable right now; try again in a minute."
    default_code = "unavailable"
    wait = 60


class TierLimitReached(exceptions.PermissionDenied):
    """The seller's tier allows no more of something (the message says what)."""

    default_code = "tier_limit"


class QueryValidationError(exceptions.ValidationError):
    """Bad query parameters (filters, ordering, cursor, limit): field errors name the parameter."""


def problem_response(
    status_code: int, *, detail: str = "", code: str = "", errors=None, headers=None, request=None
) -> Response:
    """A problem document as a Response (rendered as application/problem+json by the API views)."""
    body = {
        "type": problem_type(code) if code else "about:blank",
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
    }
    if detail:
        body["detail"] = str(detail)
    if request is not None:
        body["instance"] = request.path
    if code:
        body["code"] = code
    if errors:
        body["errors"] = errors
    response = Response(body, status=status_code, headers=headers)
    response.is_problem = True
    return response


def _field_errors(detail, *, where: str, prefix: str = "") -> list[dict]:
    """Flatten DRF's nested error detail into [{pointer|parameter, detail, code}]."""
    errors = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__") and not prefix:
                errors += _field_errors(value, where=where, prefix="")
            else:
                errors += _field_errors(value, where=where, prefix=f"{prefix}/{key}")
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            errors += _field_errors(value, where=where, prefix=f"{prefix}/{index}" if nested else prefix)
    else:
        item = {"detail": str(detail), "code": getattr(detail, "code", "invalid") or "invalid"}
        if prefix:
            if where == "parameter":
                item["parameter"] = prefix.lstrip("/").split("/")[0]
            else:
                item["pointer"] = "#" + prefix
        errors.append(item)
    return errors


def _validation_problem(exc: exceptions.ValidationError, request) -> Response:
    where = "parameter" if isinstance(exc, QueryValidationError) else "pointer"
    errors = _field_errors(exc.detail, where=where)
    located = [error for error in errors if "pointer" in error or "parameter" in error]
    general = [error["detail"] for error in errors if error not in located]
    detail = " ".join(general) or (
        "A query parameter is not valid." if where == "parameter" else "Some fields are not valid."
    )
    return problem_response(400, detail=detail, code="validation", errors=errors, request=request)


def problem_exception_handler(exc, context):
    """REST framework's exception handler, answering with problem documents."""
    request = context.get("request")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND_DETAIL)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*(exc.args))
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 (logged); see config.api.server_error for the body
    set_rollback()
    if isinstance(exc, exceptions.ValidationError):
        return _validation_problem(exc, request)
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    detail = exc.detail
    if isinstance(detail, list | dict):
        errors = _field_errors(detail, where="pointer")
        return problem_response(
            exc.status_code,
            detail=errors[0]["detail"] if errors else "",
            code=exc.default_code,
            headers=headers,
            request=request,
        )
    code = getattr(detail, "code", None) or exc.default_code
    if isinstance(exc, exceptions.NotFound):
        code = "not_found"
    return problem_response(exc.status_code, detail=str(detail), code=code, headers=headers, request=request)
