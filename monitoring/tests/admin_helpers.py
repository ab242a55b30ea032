"""Helpers for the admin tests of every app: page checks, form round-trips, actions, query counts."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import ManyToManyRawIdWidget
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse


def admin_url(model, page: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{page}", args=args)


def assert_admin_pages_render(client, obj, *, addable: bool) -> None:
    """Changelist (plain, searched, drilled into a date), change, history and add pages of obj's admin."""
    model = type(obj)
    model_admin = admin.site._registry[model]

    response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert admin_url(model, "change", obj.pk) in response.content.decode()

    if model_admin.search_fields:
        assert client.get(admin_url(model, "changelist"), {"q": "anything"}).status_code == 200
    if model_admin.date_hierarchy:
        when = getattr(obj, model_admin.date_hierarchy)
        response = client.get(admin_url(model, "changelist"), {f"{model_admin.date_hierarchy}__year": when.year})
        assert response.status_code == 200
        assert admin_url(model, "change", obj.pk) in response.content.decode()

    assert client.get(admin_url(model, "change", obj.pk)).status_code == 200
    assert client.get(admin_url(model, "history", obj.pk)).status_code == 200
    assert client.get(admin_url(model, "add")).status_code == (200 if addable else 403)


def admin_form_data(response) -> dict:
    """What the admin form on this page posts back when staff change nothing (as a browser would)."""
    form = response.context["adminform"].form
    data = {}
    for bound in form:
        if bound.field.disabled:
            continue
        widget = bound.field.widget
        widget = getattr(widget, "widget", widget)  # unwrap RelatedFieldWidgetWrapper
        value = bound.value()
        if bound.field.show_hidden_initial:  # fields with a callable default post their initial too
            data[bound.html_initial_name] = str(bound.field.prepare_value(bound.initial))
        if isinstance(widget, forms.MultiWidget):
            for suffix, part in zip(widget.widgets_names, widget.decompress(value), strict=True):
                if part is not None:
                    data[bound.html_name + suffix] = str(part)
        elif isinstance(widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(widget, ManyToManyRawIdWidget):
            data[bound.html_name] = ",".join(str(pk) for pk in value or [])
        elif value is None:
            data[bound.html_name] = ""  # browsers submit empty boxes too
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(item) for item in value]
        else:
            data[bound.html_name] = str(value)
    return data


def post_action(client, model, action: str, objects):
    """Run a changelist action on objects the way the admin page does."""
    return client.post(
        admin_url(model, "changelist"),
        {"action": action, "_selected_action": [str(obj.pk) for obj in objects]},
    )


def changelist_queries(client, model, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(admin_url(model, "changelist"), params)
    assert response.status_code == 200
    return len(queries)


def assert_changelist_queries_flat(client, model, make_row) -> None:
    """The changelist costs the same number of queries with 2 rows as with 12 (no query per row)."""
    changelist_queries(client, model)  # the session's first request also records the browser (sessions page)
    for _ in range(2):
        make_row()
    few = changelist_queries(client, model)
    for _ in range(10):
        make_row()
    many = changelist_queries(client, model)
    assert many == few, f"{model.__name__} changelist: {few} queries for 2 rows, {many} for 12"


def listed(html: str, *objects) -> set:
    """The objects among `objects` whose row is on this changelist page."""
    return {obj for obj in objects if f'name="_selected_action" value="{obj.pk}"' in html}
