from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """The admin, with our site as the default one (config.admin_site.StaffAdminSite)."""

    default_site = "config.admin_site.StaffAdminSite"
