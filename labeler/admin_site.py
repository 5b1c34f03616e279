"""The admin site: staff, and reviewers (who audit labels there), may enter."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class FraudloopAdminSite(admin.AdminSite):
    site_header = "fraudloop"
    site_title = "fraudloop"

    def has_permission(self, request):
        user = request.user
        return user.is_active and (user.is_staff or user.has_perm("labeler.review"))


class FraudloopAdminConfig(AdminConfig):
    """django.contrib.admin with fraudloop's site."""

    default_site = "labeler.admin_site.FraudloopAdminSite"
