from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class ExportDeskAdminConfig(AdminConfig):
    """Django admin behind the admin role and the staff second factor."""

    default_site = "exportdesk.core.admin_site.ExportDeskAdminSite"


class ExportDeskAdminSite(AdminSite):
    site_header = "Export Desk administration"
    site_title = "Export Desk admin"

    def has_permission(self, request: HttpRequest) -> bool:
        # Only the admin role, and only after the staff second factor in this session.
        from exportdesk.accounts.otp import otp_verified

        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and user.has_perm("accounts.use_django_admin")
            and otp_verified(request)
        )

    def login(self, request: HttpRequest, extra_context: dict | None = None):
        """One sign-in for the whole site: send people to it (and to the second factor)."""
        from django.contrib.auth.views import redirect_to_login
        from django.core.exceptions import PermissionDenied
        from django.urls import reverse

        if request.user.is_authenticated:
            if not request.user.is_staff:
                raise PermissionDenied
            return redirect_to_login(request.get_full_path(), reverse("backoffice:otp_verify"))
        return redirect_to_login(request.GET.get("next", "/backoffice/admin/"))
