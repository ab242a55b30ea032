"""The staff admin. It has no password form of its own: its log-in is allauth's (password, then
the second factor, with django-axes counting failures). Where STAFF_REQUIRE_MFA is on
(production's default) a staff account without two-factor authentication is refused."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.security import second_factor_enabled

ADMIN_NEEDS_MFA_STATUS = 403


def staff_second_factor_ok(user) -> bool:
    """True when the user may use the admin as far as the second factor is concerned."""
    return not settings.STAFF_REQUIRE_MFA or second_factor_enabled(user)


class StaffAdminSite(admin.AdminSite):
    def has_permission(self, request):
        return super().has_permission(request) and staff_second_factor_ok(request.user)

    def login(self, request, extra_context=None):
        user = request.user
        if not user.is_authenticated:
            from allauth.account.decorators import secure_admin_login

            return secure_admin_login(super().login)(request, extra_context)
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        if not staff_second_factor_ok(user):
            return TemplateResponse(request, "accounts/admin_needs_mfa.html", status=ADMIN_NEEDS_MFA_STATUS)
        target = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("admin:index", current_app=self.name)
        return redirect(target)
