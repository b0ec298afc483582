from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exportdesk.core.personal_data import (
    EXPORT_HOLD,
    KEPT_WITH_ACCOUNT,
    DataCategory,
    ErasureAction,
    Expiry,
    ExpiryAction,
    KeptWhile,
    LegalBasis,
    PersonalField,
    Purpose,
    Text,
    declare,
    declare_no_personal_data,
    declare_open_obligations,
)
from exportdesk.sales.models import Order
from exportdesk.shipping.models import (
    ConsigneeChange,
    CourierDispatch,
    DocumentDownload,
    DocumentRule,
    ExportDocument,
    Inspection,
    OrderParties,
    Party,
    Shipment,
    ShipmentOrder,
    ShippingNotices,
    TimelineEvent,
)

_RECIPIENTS = (
    "shipping lines",
    "freight forwarders",
    "customs brokers",
    "inspection agencies",
    "couriers",
)
_EXPORT_RETENTION = _("5 years after the export permit (Customs Act), then deleted")


def _export(category: DataCategory, source: Text = "") -> PersonalField:
    """Part of the export records customs may ask for: kept under the legal hold."""
    return PersonalField(
        category,
        purposes=(Purpose.SHIPPING, Purpose.LEGAL_COMPLIANCE),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        erasure=ErasureAction.HOLD,
        hold=EXPORT_HOLD,
        retention=_EXPORT_RETENTION,
        recipients=_RECIPIENTS,
        source=source or "the person",
    )


def _party(category: DataCategory) -> PersonalField:
    return PersonalField(
        category,
        purposes=(Purpose.SHIPPING,),
        legal_basis=LegalBasis.CONTRACT,
        erasure=ErasureAction.DELETE,
        retention=_(
            "in the address book until removed or the account is closed; kept with the export "
            "records of every order it was used on"
        ),
        recipients=_RECIPIENTS,
        source=_("the customer who named them"),
    )


declare(
    Party,
    description=_("Consignees and notify parties in your address book"),
    subject="customer",
    # The consignee is a person too: found by their own address.
    subject_email="email",
    # Named on an order, in a consignee change or on a courier dispatch: part of the export
    # records (those rows refer to the entry, so it cannot go while they are kept).
    held_when=Q(consignee_of__isnull=False)
    | Q(notify_of__isnull=False)
    | Q(pk__in=ConsigneeChange.objects.values("old_consignee"))
    | Q(pk__in=ConsigneeChange.objects.values("new_consignee"))
    | Q(pk__in=ConsigneeChange.objects.filter(new_notify__isnull=False).values("new_notify"))
    | Q(pk__in=CourierDispatch.objects.values("addressed_to")),
    held_under=EXPORT_HOLD,
    personal={
        "customer": _party(DataCategory.IDENTITY),
        "name": _party(DataCategory.IDENTITY),
        "company": _party(DataCategory.IDENTITY),
        "address": _party(DataCategory.CONTACT),
        "country": _party(DataCategory.CONTACT),
        "phone": _party(DataCategory.CONTACT),
        "email": _party(DataCategory.CONTACT),
        "id_number": _party(DataCategory.IDENTIFICATION_DOCUMENT),
        "created_at": _party(DataCategory.TRANSACTION),
        "updated_at": _party(DataCategory.TRANSACTION),
    },
    not_personal=["id", "role", "is_active"],
    expiry=KeptWhile(_("in the address book until removed; with the orders' export records")),
)
declare(
    OrderParties,
    description=_("Who each of your orders is consigned and notified to"),
    subject="order__customer",
    held_from="order__created_at",
    personal={
        "consignee": _export(DataCategory.CONTACT),
        "notify": _export(DataCategory.CONTACT),
        "chosen_at": _export(DataCategory.TRANSACTION),
    },
    not_personal=["id", "order"],
    expiry=Expiry("export_records", "order__created_at", ExpiryAction.DELETE),
)
declare(
    ConsigneeChange,
    description=_("Requests to change the consignee of a paid order, and their approval"),
    subject="order__customer",
    held_from="requested_at",
    personal={
        "old_consignee": _export(DataCategory.CONTACT),
        "new_consignee": _export(DataCategory.CONTACT),
        "new_notify": _export(DataCategory.CONTACT),
        "requested_at": _export(DataCategory.TRANSACTION),
        "requested_by": _export(DataCategory.IDENTITY),
        "confirmed_at": _export(DataCategory.TRANSACTION),
        "reason": _export(DataCategory.COMMUNICATION, _("written by our staff")),
    },
    not_personal=[
        "id",
        "order",
        "status",
        "token_hash",
        "token_expires_at",
        "decided_at",
        "decided_by",
    ],
    expiry=Expiry("export_records", "requested_at", ExpiryAction.DELETE),
)
declare(
    ShipmentOrder,
    description=_("Which shipment carries each of your orders"),
    subject="order__customer",
    held_from="order__created_at",
    personal={"order": _export(DataCategory.TRANSACTION)},
    not_personal=["id", "shipment"],
    expiry=Expiry("export_records", "order__created_at", ExpiryAction.DELETE),
)
declare(
    TimelineEvent,
    description=_("The steps of your orders' journey: purchase, export, loading, arrival"),
    subject="order__customer",
    held_from="happened_at",
    personal={
        "order": _export(DataCategory.TRANSACTION),
        "happened_at": _export(DataCategory.TRANSACTION),
        "note": _export(DataCategory.COMMUNICATION, _("written by our staff")),
    },
    not_personal=["id", "shipment", "status", "recorded_by", "created_at"],
    expiry=Expiry("export_records", "happened_at", ExpiryAction.DELETE),
)
declare(
    Inspection,
    description=_("Pre-shipment inspections of your vehicles and their certificates"),
    subject="order__customer",
    held_from="created_at",
    personal={
        "order": _export(DataCategory.TRANSACTION),
        "booked_for": _export(DataCategory.TRANSACTION),
        "result": _export(DataCategory.TRANSACTION),
        "result_at": _export(DataCategory.TRANSACTION),
        "certificate": _export(DataCategory.IDENTIFICATION_DOCUMENT, _("the inspection agency")),
        "certificate_number": _export(DataCategory.TRANSACTION, _("the inspection agency")),
        "created_at": _export(DataCategory.TRANSACTION),
    },
    not_personal=["id", "agency", "kind", "required", "recorded_by"],
    expiry=Expiry("export_records", "created_at", ExpiryAction.DELETE),
)
declare(
    ExportDocument,
    description=_("Export documents of your orders (B/L, export certificate, invoices)"),
    subject="order__customer",
    held_from="uploaded_at",
    personal={
        "order": _export(DataCategory.TRANSACTION),
        "file": _export(DataCategory.IDENTIFICATION_DOCUMENT, _("our staff and shipping lines")),
        "uploaded_at": _export(DataCategory.TRANSACTION),
    },
    not_personal=[
        "id",
        "public_id",
        "kind",
        "title",
        "content_type",
        "size",
        "uploaded_by",
    ],
    expiry=Expiry("export_records", "uploaded_at", ExpiryAction.DELETE),
)
_DOWNLOAD = PersonalField(
    DataCategory.TECHNICAL,
    purposes=(Purpose.SECURITY, Purpose.ACCOUNTABILITY),
    legal_basis=LegalBasis.LEGITIMATE_INTEREST,
    erasure=ErasureAction.DELETE,
    retention=_("1 year, then deleted"),
    source=_("generated by the system"),
)
declare(
    DocumentDownload,
    description=_("When you downloaded your export documents, and from where"),
    subject="user",
    personal={"user": _DOWNLOAD, "downloaded_at": _DOWNLOAD, "ip_address": _DOWNLOAD},
    not_personal=["id", "document"],
    expiry=Expiry("download_logs", "downloaded_at", ExpiryAction.DELETE),
)
declare(
    CourierDispatch,
    description=_("Original documents we sent you by courier, with tracking numbers"),
    subject="order__customer",
    held_from="dispatched_at",
    personal={
        "order": _export(DataCategory.TRANSACTION),
        "carrier": _export(DataCategory.TRANSACTION),
        "tracking_number": _export(DataCategory.TRANSACTION),
        "documents": _export(DataCategory.TRANSACTION),
        "addressed_to": _export(DataCategory.CONTACT),
        "dispatched_at": _export(DataCategory.TRANSACTION),
        "delivered_at": _export(DataCategory.TRANSACTION),
    },
    not_personal=["id", "recorded_by"],
    expiry=Expiry("export_records", "dispatched_at", ExpiryAction.DELETE),
)
_NOTICES = PersonalField(
    DataCategory.PREFERENCE,
    purposes=(Purpose.PREFERENCES, Purpose.SHIPPING),
    legal_basis=LegalBasis.CONTRACT,
    erasure=ErasureAction.DELETE,
    retention=_("while the account is open"),
)
declare(
    ShippingNotices,
    description=_("Which shipping updates you want by e-mail"),
    subject="user",
    personal={"user": _NOTICES, "statuses": _NOTICES, "updated_at": _NOTICES},
    not_personal=["id"],
    expiry=KEPT_WITH_ACCOUNT,
)
declare_no_personal_data(
    Shipment, description=_("Shipments: vessels, voyages, ports and bills of lading")
)
declare_no_personal_data(
    DocumentRule, description=_("When each kind of document can be downloaded")
)


def _orders_on_their_way(user_ids: list[int]) -> dict[int, list[str]]:
    """Paid orders whose car has not been delivered yet."""
    delivered = TimelineEvent.objects.filter(status=Shipment.Status.DELIVERED).values("order")
    found: dict[int, list[str]] = {}
    for customer_id, number in (
        Order.objects.filter(customer_id__in=user_ids, status=Order.Status.PAID)
        .exclude(pk__in=delivered)
        .values_list("customer_id", "number")
    ):
        found.setdefault(customer_id, []).append(
            gettext("order %(number)s is paid but not delivered yet") % {"number": number}
        )
    return found


declare_open_obligations(_orders_on_their_way)
