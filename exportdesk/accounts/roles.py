"""Staff roles: Django groups and the permissions each one carries."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

# Every role can open the back office; the desk permission decides which sections it sees.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    "sales": ["access_backoffice", "view_customer_data", "sales_desk"],
    "accounting": ["access_backoffice", "view_customer_data", "accounting_desk"],
    "logistics": ["access_backoffice", "view_customer_data", "logistics_desk"],
    "compliance": ["access_backoffice", "view_customer_data", "compliance_desk"],
    "privacy_officer": ["access_backoffice", "view_customer_data", "privacy_desk"],
    # The admin role administers users and settings, so it also gets every model permission.
    "admin": ["*"],
}

ROLES = tuple(ROLE_PERMISSIONS)


@transaction.atomic
def roles_ensure() -> dict[str, Group]:
    """Create or update the role groups so they carry exactly their permissions (idempotent)."""
    groups: dict[str, Group] = {}
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        if codenames == ["*"]:
            perms = Permission.objects.all()
        else:
            perms = Permission.objects.filter(
                content_type__app_label="accounts", codename__in=codenames
            )
        group.permissions.set(perms)
        groups[role] = group
    return groups
