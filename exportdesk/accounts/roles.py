"""Staff roles: Django groups and the permissions each one carries."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

_BASE = ["accounts.access_backoffice", "accounts.view_customer_data"]


def _crud(label: str, *actions: str) -> list[str]:
    app, model = label.split(".")
    return [f"{app}.{action}_{model}" for action in actions or ("view", "add", "change")]


# Every role can open the back office; the desk permission decides which sections it sees.
# Permissions are "app_label.codename"; a permission of an app not installed yet is skipped.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    "sales": [
        *_BASE,
        "accounts.sales_desk",
        *_crud("stock.vehicle"),
        *_crud("stock.vehiclephoto", "view", "add", "change", "delete"),
        *_crud("stock.destinationrule"),
        *_crud("stock.freightrate"),
        *_crud("stock.exchangerate"),
        *_crud("stock.pricingsettings", "view", "change"),
        *_crud("sales.inquiry", "view", "change"),
        *_crud("sales.proforma"),
        *_crud("sales.order", "view"),
        *_crud("sales.invoice", "view"),
        *_crud("sales.bankaccount", "view"),
        *_crud("payments.deposit", "view"),
        *_crud("auctions.auctionlot"),
        *_crud("auctions.bidrequest", "view", "change"),
        *_crud("auctions.auctionsettings", "view", "change"),
        *_crud("shipping.party", "view"),
        *_crud("shipping.shipment", "view"),
    ],
    "accounting": [
        *_BASE,
        "accounts.accounting_desk",
        *_crud("stock.exchangerate"),
        *_crud("sales.proforma", "view", "change"),
        *_crud("sales.order", "view"),
        *_crud("sales.invoice", "view"),
        # Proposing and approving bank account changes; the service refuses self-approval.
        *_crud("sales.bankaccount", "view", "change"),
        *_crud("payments.statementimport", "view", "add"),
        *_crud("payments.banktransaction", "view", "change"),
        *_crud("payments.paymentdeclaration", "view"),
        *_crud("payments.deposit", "view", "change"),
        *_crud("payments.allocation"),
        *_crud("payments.refund"),
        *_crud("payments.paymentsettings", "view", "change"),
        *_crud("payments.statementmapping"),
    ],
    "logistics": [
        *_BASE,
        "accounts.logistics_desk",
        *_crud("stock.vehicle", "view"),
        *_crud("stock.destinationrule"),
        *_crud("stock.freightrate"),
        *_crud("stock.port"),
        *_crud("privacy.recipient", "view"),
        *_crud("privacy.provisionrecord", "view", "add"),
        *_crud("sales.order", "view"),
        *_crud("auctions.auctionlot", "view"),
        *_crud("auctions.bidrequest", "view"),
        *_crud("shipping.party", "view"),
        *_crud("shipping.consigneechange", "view", "change"),
        *_crud("shipping.shipment"),
        *_crud("shipping.timelineevent", "view", "add"),
        *_crud("shipping.inspection"),
        *_crud("shipping.exportdocument", "view", "add", "change", "delete"),
        *_crud("shipping.documentrule", "view", "change"),
        *_crud("shipping.courierdispatch"),
    ],
    "compliance": [*_BASE, "accounts.compliance_desk", *_crud("stock.destinationrule")],
    "privacy_officer": [
        *_BASE,
        "accounts.privacy_desk",
        *_crud("privacy.datarequest"),
        *_crud("privacy.dataexport", "view"),
        *_crud("privacy.disputehold"),
        *_crud("privacy.processingrestriction"),
        *_crud("privacy.erasurerecord", "view", "add"),
        *_crud("privacy.recipient"),
        *_crud("privacy.provisionrecord", "view", "add"),
        *_crud("privacy.receiptrecord", "view", "add"),
        *_crud("privacy.recipientnotification", "view", "add"),
        *_crud("privacy.breach"),
        *_crud("privacy.breachreport", "view", "add"),
        *_crud("privacy.breachnotice", "view", "add"),
        *_crud("privacy.policyversion"),
    ],
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
            perms = list(Permission.objects.all())
        else:
            wanted = Q()
            for name in codenames:
                app_label, codename = name.split(".")
                wanted |= Q(content_type__app_label=app_label, codename=codename)
            perms = list(Permission.objects.filter(wanted))
        group.permissions.set(perms)
        groups[role] = group
    return groups
