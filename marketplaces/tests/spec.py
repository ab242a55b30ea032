"""Contract checks for marketplace test doubles: requests and responses against the official specs.

eBay's Sell APIs and Etsy v3 are checked against their official OpenAPI files (the operation is
found by path + method), read from the shared material's contracts/ (config/material.py): a test
that needs one skips, saying how to get it, when it is absent. Shopify's GraphQL documents are checked against the
documented shapes in `marketplaces.clients.shopify_queries` with graphql-core.

The schemas are made strict before use: an object lists every field it may carry
(`additionalProperties: false` where the spec lists `properties`), and OpenAPI's `nullable`
becomes JSON Schema's `null` type. So a test double with a misspelt or invented field fails,
as does a request body we build wrongly. Where a spec contradicts its own text, the fix is one
line in SPEC_ERRATA with the reason.
"""

from __future__ import annotations

import copy
import email
import functools
import json
import re
from urllib.parse import parse_qsl, urlsplit

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conftest import shared_material

# Path prefix on the wire → (spec file, base path the spec's paths are relative to).
SPECS = {
    "/sell/inventory/v1": ("ebay/sell_inventory_v1_oas3.json", "/sell/inventory/v1"),
    "/sell/fulfillment/v1": ("ebay/sell_fulfillment_v1_oas3.json", "/sell/fulfillment/v1"),
    "/sell/analytics/v1": ("ebay/sell_analytics_v1_oas3.json", "/sell/analytics/v1"),
    "/sell/account/v1": ("ebay/sell_account_v1_oas3.json", "/sell/account/v1"),
    "/v3/application": ("etsy/etsy_open_api_v3.json", ""),
}

# (spec file, JSON pointer of a schema) → replacement, each with the reason.
SPEC_ERRATA = {
    # The spec types Product.aspects as a string, yet its own description shows (and eBay takes)
    # an object of name → list of values: {"Brand": ["GoPro"]}.
    ("ebay/sell_inventory_v1_oas3.json", "/components/schemas/Product/properties/aspects"): {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
    # Value.value is typed "object", but a report's values are numbers (metrics) and strings
    # (listing ids, dates), as the Record description says.
    ("ebay/sell_analytics_v1_oas3.json", "/components/schemas/Value/properties/value"): {
        "type": ["number", "string", "integer", "boolean", "null"],
    },
}

# eBay documents its error body only as the `Error` schema; the envelope is {"errors": [...]}.
EBAY_ERROR_ENVELOPE = {
    "type": "object",
    "required": ["errors"],
    "additionalProperties": False,
    "properties": {"errors": {"type": "array", "items": {"$ref": "#/components/schemas/Error"}}},
}


class SpecViolation(AssertionError):
    """A request we sent or a test double's response does not fit the official spec."""


def _pointer_escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _resolve_pointer(document, pointer: str):
    node = document
    for part in pointer.lstrip("/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _strictify(node):
    if isinstance(node, dict):
        for value in node.values():
            _strictify(value)
        if node.get("nullable") is True:
            kind = node.get("type")
            if isinstance(kind, str):
                node["type"] = [kind, "null"]
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
            if "allOf" in node:
                node["anyOf"] = [{"allOf": node.pop("allOf")}, {"type": "null"}]
        if "properties" in node and "additionalProperties" not in node and not {"allOf", "anyOf", "oneOf"} & set(node):
            node["additionalProperties"] = False
    elif isinstance(node, list):
        for value in node:
            _strictify(value)
    return node


class OpenApiSpec:
    """One OpenAPI document, made strict, with operation lookup by method + path."""

    def __init__(self, relpath: str, base_path: str):
        self.relpath = relpath
        self.base_path = base_path
        with open(shared_material(f"contracts/{relpath}"), encoding="utf-8") as handle:
            document = json.load(handle)
        for (spec_file, pointer), replacement in SPEC_ERRATA.items():
            if spec_file == relpath:
                parent_pointer, _, key = pointer.rpartition("/")
                _resolve_pointer(document, parent_pointer)[key] = copy.deepcopy(replacement)
        if relpath.startswith("ebay/"):
            document.setdefault("components", {}).setdefault("schemas", {})["_ErrorEnvelope"] = EBAY_ERROR_ENVELOPE
        self.document = _strictify(document)
        self.uri = f"urn:contracts:{relpath}"
        self.registry = Registry().with_resource(
            self.uri, Resource.from_contents(self.document, default_specification=DRAFT202012)
        )
        self._templates = []
        for template in self.document["paths"]:
            names = re.findall(r"\{([^/]+?)\}", template)
            regex = "^" + re.escape(template) + "$"
            for name in names:
                regex = regex.replace(re.escape("{" + name + "}"), f"(?P<{name}>[^/]+)")
            self._templates.append((len(names), template, re.compile(regex)))
        self._templates.sort(key=lambda entry: entry[0])

    def operation(self, method: str, path: str):
        """(template, operation, path parameters) for a path relative to the spec's base."""
        for _, template, regex in self._templates:
            match = regex.match(path)
            if match and method.lower() in self.document["paths"][template]:
                return template, self.document["paths"][template][method.lower()], match.groupdict()
        raise SpecViolation(f"{self.relpath}: no operation {method} {path}")

    def validate(self, instance, pointer: str, what: str) -> None:
        validator = Draft202012Validator({"$ref": f"{self.uri}#{pointer}"}, registry=self.registry)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            details = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:5])
            raise SpecViolation(f"{self.relpath} {what}: {details}")

    def schema_at(self, pointer: str):
        node = _resolve_pointer(self.document, pointer)
        while isinstance(node, dict) and "$ref" in node:
            node = _resolve_pointer(self.document, node["$ref"].lstrip("#"))
        return node


@functools.cache
def load_spec(relpath: str, base_path: str) -> OpenApiSpec:
    return OpenApiSpec(relpath, base_path)


def spec_for(path: str) -> tuple[OpenApiSpec, str]:
    """The spec covering a request path and the path relative to that spec's base."""
    for prefix, (relpath, base_path) in SPECS.items():
        if path.startswith(prefix):
            return load_spec(relpath, base_path), path[len(base_path) :]
    raise SpecViolation(f"No contract covers {path}")


def _coerce(value: str, schema: dict):
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            return {"true": True, "false": False, "1": True, "0": False}[value.lower()]
    except (ValueError, KeyError):
        return value
    return value


def check_request(request: httpx.Request) -> None:
    """Raise SpecViolation unless the request fits its operation: path, query, headers, body."""
    spec, path = spec_for(request.url.path)
    template, operation, path_params = spec.operation(request.method, path)
    op_pointer = f"/paths/{_pointer_escape(template)}/{request.method.lower()}"
    parameters = operation.get("parameters", [])
    query = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
    for index, param in enumerate(parameters):
        where, name = param["in"], param["name"]
        pointer = f"{op_pointer}/parameters/{index}/schema"
        if where == "path":
            spec.validate(_coerce(path_params[name], spec.schema_at(pointer)), pointer, f"path parameter {name}")
        elif where == "header":
            if param.get("required") and name.lower() not in request.headers:
                raise SpecViolation(f"{spec.relpath} {template}: required header {name} missing")
        elif where == "query":
            if param.get("required") and name not in query:
                raise SpecViolation(f"{spec.relpath} {template}: required query parameter {name} missing")
            if name in query:
                schema = spec.schema_at(pointer)
                value = query[name]
                instance = value.split(",") if schema.get("type") == "array" else _coerce(value, schema)
                if schema.get("type") == "array":
                    items = schema.get("items", {})
                    instance = [_coerce(v, items) for v in instance]
                spec.validate(instance, pointer, f"query parameter {name}")
    known = {p["name"] for p in parameters if p["in"] == "query"}
    unknown = set(query) - known
    if unknown:
        raise SpecViolation(f"{spec.relpath} {template}: undocumented query parameters {sorted(unknown)}")
    body = request.content
    request_body = operation.get("requestBody")
    if not body:
        if request_body and request_body.get("required"):
            raise SpecViolation(f"{spec.relpath} {template}: request body required")
        return
    if not request_body:
        raise SpecViolation(f"{spec.relpath} {template}: this operation takes no body")
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in request_body["content"]:
        raise SpecViolation(f"{spec.relpath} {template}: content type {content_type!r} not documented")
    pointer = f"{op_pointer}/requestBody/content/{_pointer_escape(content_type)}/schema"
    if content_type == "application/json":
        instance = json.loads(body)
    elif content_type == "multipart/form-data":
        properties = spec.schema_at(pointer).get("properties", {})
        instance = {}
        for name, filename, _, value in multipart_parts(request):
            # A file part stands for the binary string the spec documents.
            instance[name] = "<file>" if filename is not None else _coerce(value.decode(), properties.get(name, {}))
    else:
        properties = spec.schema_at(pointer).get("properties", {})
        instance = {}
        for key, value in parse_qsl(body.decode(), keep_blank_values=True):
            schema = properties.get(key, {})
            if schema.get("type") == "array" or (isinstance(schema.get("type"), list) and "array" in schema["type"]):
                instance.setdefault(key, []).extend(_coerce(v, schema.get("items", {})) for v in value.split(","))
            else:
                instance[key] = _coerce(value, schema)
    spec.validate(instance, pointer, f"{request.method} {template} request body")


def multipart_parts(request: httpx.Request) -> list[tuple[str, str | None, str, bytes]]:
    """A multipart/form-data request's parts in order: (name, filename or None, content type, bytes)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + request.content)
    return [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_content_type(),
            part.get_payload(decode=True),
        )
        for part in message.get_payload()
    ]


def check_response(method: str, url: str, status: int, body) -> None:
    """Raise SpecViolation unless a test double's answer fits the operation's documented response."""
    spec, path = spec_for(urlsplit(url).path)
    template, operation, _ = spec.operation(method, path)
    op_pointer = f"/paths/{_pointer_escape(template)}/{method.lower()}"
    responses = operation["responses"]
    code = str(status)
    if code == "207" and not (responses.get(code) or {}).get("content") and "200" in responses:
        code = "200"  # eBay's bulk calls answer 207 with the 200 shape (MARKETPLACE_APIS.md)
    documented = responses.get(code)
    content = (documented or {}).get("content") or {}
    if "application/json" in content:
        pointer = f"{op_pointer}/responses/{code}/content/application~1json/schema"
    elif status >= 400 and spec.relpath.startswith("ebay/"):
        pointer = "/components/schemas/_ErrorEnvelope"
    elif status >= 400 and spec.relpath.startswith("etsy/"):
        pointer = "/components/schemas/ErrorSchema"
    elif documented is not None:
        if body not in (None, b"", ""):
            raise SpecViolation(f"{spec.relpath} {template}: HTTP {status} has no documented body")
        return
    else:
        raise SpecViolation(f"{spec.relpath} {template}: HTTP {status} is not a documented answer")
    if body is None:
        raise SpecViolation(f"{spec.relpath} {template}: HTTP {status} needs a body")
    spec.validate(body, pointer, f"{method} {template} HTTP {status} response")


def spec_route(respx_mock, method: str, url: str, *responses, status: int = 200, json=None, headers=None):
    """A respx route whose answers are checked against the spec now and whose requests when sent.

    `responses` may list several (status, json[, headers]) answers, given in turn.
    """
    answers = list(responses) or [(status, json, headers or {})]
    answers = [(a[0], a[1], a[2] if len(a) > 2 else {}) for a in answers]
    for code, body, _ in answers:
        check_response(method, url, code, body)
    queue = list(answers)

    def respond(request):
        check_request(request)
        code, body, extra = queue.pop(0) if len(queue) > 1 else queue[0]
        if body is None:
            return httpx.Response(code, headers=extra)
        return httpx.Response(code, json=body, headers=extra)

    parts = urlsplit(url)
    return respx_mock.route(method=method, scheme=parts.scheme, host=parts.hostname, path=parts.path).mock(
        side_effect=respond
    )


# --- Shopify: GraphQL documents against the documented shapes ------------------------------


@functools.cache
def shopify_schema():
    from graphql import build_schema

    from marketplaces.clients.shopify_queries import DOCUMENTED_SCHEMA

    return build_schema(DOCUMENTED_SCHEMA)


def check_graphql_request(query: str, variables: dict | None) -> None:
    """The document is valid against the documented schema and the variables fit its types."""
    from graphql import GraphQLError, parse, validate
    from graphql.execution.values import get_variable_values

    schema = shopify_schema()
    try:
        document = parse(query)
    except GraphQLError as exc:
        raise SpecViolation(f"Shopify document does not parse: {exc.message}") from None
    errors = validate(schema, document)
    if errors:
        raise SpecViolation("Shopify document invalid: " + "; ".join(e.message for e in errors))
    operation = next(d for d in document.definitions if d.kind == "operation_definition")
    coerced = get_variable_values(schema, operation.variable_definitions or [], variables or {})
    if isinstance(coerced, list):
        raise SpecViolation("Shopify variables invalid: " + "; ".join(e.message for e in coerced))


def check_graphql_response(query: str, variables: dict | None, data: dict) -> None:
    """A test double's `data` has exactly the shape and types the document selects."""
    from graphql import graphql_sync

    def by_response_key(source, info, **_):
        if isinstance(source, dict):
            return source.get(info.path.key)
        return None

    result = graphql_sync(
        shopify_schema(), query, root_value=data, variable_values=variables, field_resolver=by_response_key
    )
    if result.errors:
        raise SpecViolation("Shopify double does not fit the document: " + "; ".join(e.message for e in result.errors))
    if _plain(result.data) != _plain(data):
        raise SpecViolation(f"Shopify double carries fields the document does not select: {data} vs {result.data}")


def _plain(value):
    return json.loads(json.dumps(value, sort_keys=True, default=str))
