"""What the seller API's tests share: a test client that checks every answer it gets from /api/v1/
against the OpenAPI schema the app generates (openapi-core), and a signed-in script's client.

Every API test uses `api_client` (or `seller_api`) from the root conftest, so every response the
suite receives is validated: an undocumented status, header type, field or media type fails the
test that received it.
"""

import functools
import json

from django.test import Client
from openapi_core import Config, OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse

API_PREFIX = "/api/v1/"
UNVALIDATED = ("/api/v1/schema/", "/api/v1/docs/")


@functools.cache
def api_schema() -> dict:
    """The OpenAPI document drf-spectacular generates for the app (as /api/v1/schema/ serves it)."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@functools.cache
def api_spec() -> OpenAPI:
    """The schema as openapi-core's validator."""
    schema = api_schema()
    config = Config(
        extra_media_type_deserializers={
            "application/problem+json": lambda body, **params: json.loads(body),
            "text/csv": lambda body, **params: body.decode() if isinstance(body, bytes) else body,
        }
    )
    return OpenAPI.from_dict(schema, config=config)


class _PathRequest(DjangoOpenAPIRequest):
    # Matched by its path against the schema's templates ({id}), not by Django's route (<int:pk>).
    @property
    def path_pattern(self):
        return None


def validate_against_schema(response) -> None:
    request = response.wsgi_request
    if not request.path.startswith(API_PREFIX) or request.path.startswith(UNVALIDATED):
        return
    if response.status_code in (301, 302) or response.status_code >= 500:
        return  # Django's own answers (the missing slash) and crashes, which the test reports itself
    match = request.resolver_match
    if (match is not None and match.view_name == "api:not_found") or response.status_code == 405:
        problem(response)  # an address, or a method, the API does not have: no operation to check
        return
    api_spec().validate_response(_PathRequest(request), DjangoOpenAPIResponse(response))


class ApiClient(Client):
    """Django's test client, JSON by default, checking each API answer against the schema."""

    def __init__(self, *args, token: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.token = token

    def request(self, **request):
        if self.token and "HTTP_AUTHORIZATION" not in request:
            request["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        response = super().request(**request)
        validate_against_schema(response)
        return response

    def _json(self, method, path, data=None, **kwargs):
        kwargs.setdefault("content_type", "application/json")
        return getattr(super(), method)(path, data, **kwargs)

    def post(self, path, data=None, **kwargs):
        return self._json("post", path, data, **kwargs)

    def put(self, path, data=None, **kwargs):
        return self._json("put", path, data, **kwargs)

    def patch(self, path, data=None, **kwargs):
        return self._json("patch", path, data, **kwargs)

    def delete(self, path, data=None, **kwargs):
        return self._json("delete", path, data, **kwargs)


def problem(response) -> dict:
    """The problem document of an error answer (and that it is one)."""
    assert response["Content-Type"] == "application/problem+json", response["Content-Type"]
    body = response.json()
    assert body["status"] == response.status_code
    return body
