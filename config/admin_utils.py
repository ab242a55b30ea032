"""Admin building blocks shared by the apps: masked secret inputs and links between changelists.

Secrets (store credentials, proxy passwords) are encrypted at rest and must never reach an admin
page in clear: the input is a password box that never renders the stored value, a blank input
keeps what is stored, typing a value replaces it, and a checkbox clears it.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.decorators.debug import sensitive_post_parameters

SECRET_BOTH_ERROR = "Type a new value or clear the stored one, not both."


class SecretInput(forms.PasswordInput):
    """A password box that never puts the stored (or the typed) value back into the page."""

    def __init__(self, attrs=None):
        super().__init__(
            attrs={"autocomplete": "new-password", "class": "vTextField", **(attrs or {})}, render_value=False
        )

    def value_omitted_from_data(self, data, files, name):
        # A password box is always submitted, empty or not; "clear" must reach fields with a default.
        return False


class SecretField(forms.CharField):
    """A secret typed by staff; blank means "keep what is stored" (see SecretsModelForm)."""

    widget = SecretInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("empty_value", None)
        super().__init__(**kwargs)

    def has_changed(self, initial, data):
        # The stored value is never sent to the page, so only typing something is a change.
        return bool(data)


class SecretsModelForm(forms.ModelForm):
    """A ModelForm whose `secret_fields` are masked: blank keeps, a value replaces, `<name>_clear` empties."""

    secret_fields: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in self.secret_fields.items():
            # Nothing downstream (widgets, hidden initials) may see the clear value.
            self.initial.pop(name, None)
            stored = bool(self.instance.pk and getattr(self.instance, name, None))
            if stored:
                self.fields[name].help_text = f"{label} is stored (hidden). Leave blank to keep it; type to replace it."
            else:
                self.fields[name].help_text = "Nothing stored. Type a value to store it."
                self.fields[f"{name}_clear"].disabled = True

    def clean(self):
        cleaned = super().clean()
        for name in self.secret_fields:
            typed = cleaned.get(name)
            empty = None if self._meta.model._meta.get_field(name).null else ""
            if cleaned.get(f"{name}_clear"):
                if typed:
                    self.add_error(name, SECRET_BOTH_ERROR)
                else:
                    cleaned[name] = empty
            elif not typed and name not in self.errors:
                cleaned[name] = getattr(self.instance, name, empty) if self.instance.pk else empty
        return cleaned

    @cached_property
    def changed_data(self):
        """Changed fields, with a ticked `<name>_clear` reported as a change of `<name>`."""
        names = []
        for name in super().changed_data:
            base = name.removesuffix("_clear")
            if base != name and base in self.secret_fields:
                name = base
            if name not in names:
                names.append(name)
        return names


def secrets_form(labels: dict[str, str], base=forms.ModelForm):
    """A form class masking the model fields named in `labels` (field name → label)."""
    attrs = {"secret_fields": dict(labels)}
    for name, label in labels.items():
        attrs[name] = SecretField(label=label)
        attrs[f"{name}_clear"] = forms.BooleanField(required=False, label="Clear the stored value")
    return type(f"Secrets{base.__name__}", (SecretsModelForm, base), attrs)


class SecretsAdminMixin:
    """ModelAdmin mixin for a model with encrypted secrets (`secret_fields`: field name → label).

    Editors get masked inputs; someone who may only view the row sees whether each secret is
    stored, never its value. POSTed values are kept out of error reports.
    """

    secret_fields: dict[str, str] = {}

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = secrets_form(self.secret_fields, base=kwargs.get("form", self.form))
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # View-only pages show fields as read-only text: the secrets must not be among them.
        hidden = set(self.secret_fields) | {f"{name}_clear" for name in self.secret_fields}
        pruned = []
        for title, options in fieldsets:
            fields = []
            for field in options["fields"]:
                if isinstance(field, list | tuple):
                    kept = tuple(name for name in field if name not in hidden)
                    if kept:
                        fields.append(kept)
                elif field not in hidden:
                    fields.append(field)
            if fields:
                pruned.append((title, {**options, "fields": fields}))
        return [*pruned, ("Secrets", {"fields": ["stored_secrets"]})]

    @admin.display(description="Stored secrets")
    def stored_secrets(self, obj):
        return "; ".join(
            f"{label}: {'stored' if getattr(obj, name, None) else 'not set'}"
            for name, label in self.secret_fields.items()
        )

    @method_decorator(sensitive_post_parameters())
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)


def changelist_link(model, text, **filters):
    """A link to `model`'s admin changelist narrowed by `filters` (e.g. product__id__exact=7)."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    if filters:
        url += "?" + urlencode(filters)
    return format_html('<a href="{}">{}</a>', url, text)


def change_link(obj, text=None):
    """A link to `obj`'s admin change page (or an em dash when there is no object)."""
    if obj is None:
        return "—"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else str(obj))


def log_changes(request, objects, message: str) -> None:
    """Record an admin action on each object in its admin history (what staff did, and who)."""
    from django.contrib.admin.models import CHANGE, LogEntry

    LogEntry.objects.log_actions(
        user_id=request.user.pk, queryset=list(objects), action_flag=CHANGE, change_message=message
    )


class AppendOnlyAdminMixin:
    """History and audit rows are facts: nobody adds or edits them here; only a superuser deletes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class CompleteFieldsetsMixin:
    """Declared fieldsets plus an "Other fields" section for any form field they do not name.

    Apps add model fields as they grow; without this a field missing from `fieldsets` would be
    silently absent from the admin.
    """

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if not self.fieldsets:
            return fieldsets
        listed = set(flatten_fieldsets(fieldsets))
        rest = [name for name in self.get_fields(request, obj) if name not in listed]
        if rest:
            fieldsets.append(("Other fields", {"fields": rest}))
        return fieldsets


class AuditedAdminMixin:
    """Staff edits of a seller's rows land in that seller's audit trail (secrets masked).

    `audit_owner` is the attribute path from the row to its seller ("user", "listing.user");
    empty when the row is the seller.
    """

    audit_owner = "user"

    def audit_owner_of(self, obj):
        owner = obj
        for part in filter(None, self.audit_owner.split(".")):
            owner = getattr(owner, part)
        return owner

    def save_model(self, request, obj, form, change):
        from monitoring.records import audit_record

        concrete = {field.name: field for field in obj._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in concrete]
        old_value = None
        if change and changed:
            stored = type(obj)._default_manager.filter(pk=obj.pk).first()
            old_value = {name: getattr(stored, concrete[name].attname) for name in changed} if stored else None
        super().save_model(request, obj, form, change)
        if change and not form.changed_data:
            return
        audit_record(
            acting_user=request.user,
            owner=self.audit_owner_of(obj),
            action="updated" if change else "created",
            resource=obj,
            old_value=old_value,
            new_value={name: getattr(obj, concrete[name].attname) for name in changed},
            request=request,
            notes=("Changed in the admin: " + ", ".join(form.changed_data)) if change else "Added in the admin.",
        )

    def delete_model(self, request, obj):
        self._audit_deleted(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        self._audit_deleted(request, queryset)
        super().delete_queryset(request, queryset)

    def _audit_deleted(self, request, objects):
        from monitoring.records import audit_record

        if not self.audit_owner:
            return  # the seller's own row: their audit trail goes with them
        for obj in objects:
            audit_record(
                acting_user=request.user,
                owner=self.audit_owner_of(obj),
                action="deleted",
                resource=obj,
                old_value={"name": str(obj)},
                request=request,
                notes="Deleted in the admin.",
            )


class SingletonAdminMixin:
    """A settings model of one row (`Model.current()` makes it): edited, never added twice or deleted."""

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not self.model._default_manager.exists()

    def has_delete_permission(self, request, obj=None):
        return False
