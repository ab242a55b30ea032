"""Cursor (keyset) pagination for every list of the seller API.

A list is sorted by one field (`ordering`, from the view's `ordering_fields`, `-` for descending)
and then by id in the same direction, empty values last either way. The cursor holds the sort
field's value and the id of the row it starts after (or before, going back), so a list never
skips or repeats a row while rows are added or change elsewhere, and a page costs one indexed
query however deep it is. `limit` is 1 to API_MAX_PAGE_SIZE (default API_PAGE_SIZE).

A view declares:

    ordering_fields = {"title": Sort("title"), "price": Sort("price", nullable=True)}
    default_ordering = "-created_at"     # a key of ordering_fields
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Q
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from .problems import QueryValidationError

CURSOR_INVALID = "The cursor is not valid for this list and ordering: start again from the first page."
LIMIT_INVALID = "limit must be a whole number from 1 to {max}."
ORDERING_INVALID = "Sort by one of: {choices} (a leading - sorts descending)."


@dataclass(frozen=True)
class Sort:
    """A sortable field: `field` is a model field or an annotation of the view's queryset;
    `nullable` when it may be empty (empty values sort last)."""

    field: str
    nullable: bool = False


@dataclass(frozen=True)
class Position:
    key: str
    descending: bool
    value: object
    pk: int
    forward: bool


def encode_cursor(position: Position) -> str:
    value = position.value
    if isinstance(value, datetime | date):
        value = value.isoformat()
    elif isinstance(value, Decimal):
        value = str(value)
    raw = json.dumps([position.key, position.descending, value, position.pk, position.forward], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, descending, value, pk, forward = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise QueryValidationError({"cursor": [CURSOR_INVALID]}) from exc
    if not isinstance(key, str) or not isinstance(pk, int) or isinstance(pk, bool):
        raise QueryValidationError({"cursor": [CURSOR_INVALID]})
    return Position(key, bool(descending), value, pk, bool(forward))


def _after(sort: Sort, descending: bool, value, pk) -> Q:
    """Rows after (value, pk) in the order `sort` (descending or not), empty values last."""
    field = sort.field
    if value is None:
        return Q(**{f"{field}__isnull": True, "pk__lt" if descending else "pk__gt": pk})
    beyond = Q(**{f"{field}__lt" if descending else f"{field}__gt": value}) | Q(
        **{field: value, "pk__lt" if descending else "pk__gt": pk}
    )
    return beyond | Q(**{f"{field}__isnull": True}) if sort.nullable else beyond


def _before(sort: Sort, descending: bool, value, pk) -> Q:
    """Rows before (value, pk) in that order."""
    field = sort.field
    if value is None:
        return Q(**{f"{field}__isnull": False}) | Q(
            **{f"{field}__isnull": True, "pk__gt" if descending else "pk__lt": pk}
        )
    return Q(**{f"{field}__gt" if descending else f"{field}__lt": value}) | Q(
        **{field: value, "pk__gt" if descending else "pk__lt": pk}
    )


def _order(sort: Sort, descending: bool, *, reverse: bool = False) -> list:
    """ORDER BY for the sort (read backwards with `reverse`), empty values last. A field that is
    never empty is ordered plainly, so an index on (…, field, id) serves it."""
    backwards = descending != reverse
    if not sort.nullable:
        return [f"-{sort.field}", "-pk"] if backwards else [sort.field, "pk"]
    if reverse:  # the same order read backwards: empty values first
        return (
            [F(sort.field).desc(nulls_first=True), "-pk"]
            if not descending
            else [F(sort.field).asc(nulls_first=True), "pk"]
        )
    if descending:
        return [F(sort.field).desc(nulls_last=True), "-pk"]
    return [F(sort.field).asc(nulls_last=True), "pk"]


def page_limit(request) -> int:
    """The `limit` asked for (1 to API_MAX_PAGE_SIZE), API_PAGE_SIZE when none."""
    raw = request.query_params.get("limit")
    maximum = settings.API_MAX_PAGE_SIZE
    if raw in (None, ""):
        return settings.API_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise QueryValidationError({"limit": [LIMIT_INVALID.format(max=maximum)]})
    return int(raw)


def cursor_link(request, position: Position) -> str:
    return replace_query_param(request.build_absolute_uri(), "cursor", encode_cursor(position))


def chosen_ordering(request, view) -> tuple[str, Sort, bool]:
    """(key, Sort, descending) the request asks for, or the view's default."""
    fields = view.ordering_fields
    asked = (request.query_params.get("ordering") or "").strip() or view.default_ordering
    key = asked.lstrip("-")
    if key not in fields:
        choices = ", ".join(sorted(fields))
        raise QueryValidationError({"ordering": [ORDERING_INVALID.format(choices=choices)]})
    return key, fields[key], asked.startswith("-")


class KeysetPagination(BasePagination):
    """See the module docstring. The answer is {"next": url|null, "previous": url|null, "results": [...]}."""

    cursor_query_param = "cursor"
    limit_query_param = "limit"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        limit = page_limit(request)
        key, sort, descending = chosen_ordering(request, view)
        raw_cursor = request.query_params.get(self.cursor_query_param)
        position = decode_cursor(raw_cursor) if raw_cursor else None
        if position is not None and (position.key, position.descending) != (key, descending):
            raise QueryValidationError({self.cursor_query_param: [CURSOR_INVALID]})
        self.key, self.sort, self.descending = key, sort, descending
        if position is None or position.forward:
            rows = queryset.order_by(*_order(sort, descending))
            if position is not None:
                rows = rows.filter(_after(sort, descending, position.value, position.pk))
            rows = list(rows[: limit + 1])
            self.has_next, self.has_previous = len(rows) > limit, position is not None
            rows = rows[:limit]
        else:
            rows = queryset.order_by(*_order(sort, descending, reverse=True)).filter(
                _before(sort, descending, position.value, position.pk)
            )
            rows = list(rows[: limit + 1])
            self.has_previous, self.has_next = len(rows) > limit, True
            rows = rows[:limit][::-1]
        self.rows = rows
        return rows

    def _link(self, row, *, forward: bool) -> str:
        value = getattr(row, self.sort.field)
        return cursor_link(self.request, Position(self.key, self.descending, value, row.pk, forward))

    def get_next_link(self):
        if not self.has_next or not self.rows:
            return None
        return self._link(self.rows[-1], forward=True)

    def get_previous_link(self):
        if not self.has_previous or not self.rows:
            return None
        return self._link(self.rows[0], forward=False)

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        link = {"type": ["string", "null"], "format": "uri"}  # OpenAPI 3.1 (SPECTACULAR_SETTINGS)
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next page, or null on the last one."},
                "previous": {**link, "description": "The page before, or null on the first one."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        parameters = [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Where the page starts: take it from a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.limit_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1 to {settings.API_MAX_PAGE_SIZE} (default {settings.API_PAGE_SIZE}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": settings.API_MAX_PAGE_SIZE},
            },
        ]
        filterset = getattr(view, "filterset_class", None)
        if not (filterset and "ordering" in filterset.base_filters):
            keys = sorted(getattr(view, "ordering_fields", {}))
            parameters.append(
                {
                    "name": "ordering",
                    "required": False,
                    "in": "query",
                    "description": f"Sort field (a leading - sorts descending); default `{view.default_ordering}`.",
                    "schema": {"type": "string", "enum": [*keys, *(f"-{key}" for key in keys)]},
                }
            )
        return parameters
