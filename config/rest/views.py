"""The base of every seller API view: what each endpoint of /api/v1/ does the same way.

- Bearer token authentication (accounts.authentication), never a browser session, so no CSRF.
- The tier's rate limit counted once per request, before permissions, so every answer (a 401 or
  a 404 too) carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
- Errors as problem documents (config.rest.problems), `application/problem+json`.
- `Idempotency-Key` honoured on POST (config.rest.idempotency).
- Querysets start from the seller: a view defines `seller_queryset(user)`; another seller's id is
  a 404 like an id that does not exist.

SellerListView adds cursor pagination (config.rest.pagination) and django-filter filters; the
orders issue's endpoints (and any later list) subclass it the same way.
"""

from rest_framework import generics, mixins
from rest_framework.exceptions import MethodNotAllowed, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from accounts.limits import Quota

from .idempotency import idempotency_claim, idempotency_record, idempotency_release
from .problems import PROBLEM_CONTENT_TYPE, ServiceUnavailable

RATE_QUOTA_ATTRIBUTE = "_api_quota"
JOB_NOT_STARTED = "Background work could not be started: {error}"


class ProblemJSONRenderer(JSONRenderer):
    media_type = PROBLEM_CONTENT_TYPE


def rate_limit_headers(quota: Quota) -> dict:
    return {
        "RateLimit-Limit": str(quota.limit),
        "RateLimit-Remaining": str(quota.remaining),
        "RateLimit-Reset": str(quota.reset),
    }


class SellerAPIView(generics.GenericAPIView):
    """See the module docstring. Subclasses define `seller_queryset(user)` when they have objects."""

    model = None  # what seller_queryset returns rows of (for the schema)
    idempotent = True  # POSTs honour Idempotency-Key (False for the token endpoints: their answers are secrets)
    problem_statuses = ()  # error statuses beyond 400/401/403/404/429 this view answers (for the schema)

    def seller_queryset(self, user):
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the view: no seller
            return self.model.objects.none()
        return self.seller_queryset(self.request.user)

    # --- Rate limit: counted once, right after authentication (failed or not) ------------------

    def perform_authentication(self, request):
        try:
            request.user  # noqa: B018 - authenticates (lazily) and may raise
        finally:
            self.check_throttles(request)

    def check_throttles(self, request):
        if getattr(request, RATE_QUOTA_ATTRIBUTE, None) is not None or getattr(request, "_api_counted", False):
            return
        request._api_counted = True
        super().check_throttles(request)

    # --- Idempotency ------------------------------------------------------------------------

    def dispatch(self, request, *args, **kwargs):
        """REST framework's dispatch, with the Idempotency-Key claim around the handler."""
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            method = request.method.lower()
            if method not in self.http_method_names or not hasattr(self, method):
                raise MethodNotAllowed(request.method)
            handler = getattr(self, method)
            claim = idempotency_claim(request) if method == "post" and self.idempotent else None
            if claim is not None and claim.replay is not None:
                response = claim.replay
            else:
                try:
                    response = handler(request, *args, **kwargs)
                except Exception as exc:  # noqa: BLE001 - answered (and kept) like any other
                    try:
                        response = self.handle_exception(exc)
                    except Exception:
                        idempotency_release(claim)
                        raise
                idempotency_record(claim, response)
        except Exception as exc:  # noqa: BLE001 - REST framework's own handling
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and getattr(response, "is_problem", False):
            response.accepted_renderer = ProblemJSONRenderer()
            response.accepted_media_type = PROBLEM_CONTENT_TYPE
        quota = getattr(request, RATE_QUOTA_ATTRIBUTE, None)
        if quota is not None:
            for name, value in rate_limit_headers(quota).items():
                response[name] = value
        return response


class SellerListView(mixins.ListModelMixin, SellerAPIView):
    """A list of the seller's things: cursor-paginated, filtered by `filterset_class`, sorted by
    `ordering_fields` (config.rest.pagination). Its `get` returns `self.list(request)`."""

    ordering_fields: dict = {}
    default_ordering = "-created_at"


def job_started(job):
    """A Job just started for the seller: it, or 503 when the service reports that background
    work cannot start (the broker is down: the enqueue helper fails the Job it returns at once;
    the Job as returned, not reloaded, so a task that already ran in this process never counts)."""
    if job.status == "failed":
        raise ServiceUnavailable(JOB_NOT_STARTED.format(error=job.error_message or "the broker is unavailable"))
    return job


class CSVRenderer(BaseRenderer):
    """Lets a client ask for CSV (`Accept: text/csv`) where the pages offer CSV; those views write
    the CSV themselves (config.csv_export), so this renders only what is already text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes | str) else b""


def wants_csv(request) -> bool:
    renderer = getattr(request, "accepted_renderer", None)
    return getattr(renderer, "format", "") == "csv"


def form_cleaned(form) -> dict:
    """The form's cleaned data, or a 400 problem with its errors (the pages' own validation)."""
    if form.is_valid():
        return form.cleaned_data
    raise ValidationError(
        {
            ("non_field_errors" if name == "__all__" else name): [str(message) for message in messages]
            for name, messages in form.errors.items()
        }
    )
