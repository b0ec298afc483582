"""Consignees, shipments and their timeline, inspections, export documents and couriers.

An order (sales) is shipped to a consignee from the customer's address book; a shipment carries
one or more orders; every step is a timeline event the customer sees and may be e-mailed about.
Export documents are private files the customer downloads through a checked view.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_countries.fields import CountryField

from exportdesk.accounts.models import phone_validator
from exportdesk.privacy.models import Recipient
from exportdesk.sales.models import Order
from exportdesk.stock.models import Port, ShippingMethod


class Party(models.Model):
    """An entry of a customer's address book: someone a car can be consigned or notified to."""

    class Role(models.TextChoices):
        CONSIGNEE = "consignee", _("Consignee")
        NOTIFY = "notify", _("Notify party")

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="parties"
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    name = models.CharField(_("name"), max_length=150)
    company = models.CharField(_("company"), max_length=200, blank=True)
    address = models.TextField(_("address"), max_length=500)
    country = CountryField(_("country"))
    phone = models.CharField(_("phone"), max_length=32, validators=[phone_validator])
    email = models.EmailField(_("e-mail address"), blank=True)
    id_number = models.CharField(
        _("ID or tax number"),
        max_length=40,
        blank=True,
        help_text=_("Required by some destinations, e.g. Kenya's KRA PIN"),
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class OrderParties(models.Model):
    """Who an order is consigned and notified to."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="parties")
    consignee = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="consignee_of")
    notify = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="notify_of"
    )
    chosen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Parties of order {self.order_id}"


class ConsigneeChange(models.Model):
    """Redirecting a car after money was paid is a known fraud: the customer confirms by e-mail
    and a logistics officer approves before the new consignee takes effect."""

    class Status(models.TextChoices):
        AWAITING_CUSTOMER = "customer", _("Waiting for the customer's e-mail confirmation")
        AWAITING_APPROVAL = "approval", _("Waiting for logistics approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="consignee_changes")
    old_consignee = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="+")
    new_consignee = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="+")
    new_notify = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, db_index=True)
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"Consignee change for order {self.order_id}"


class Shipment(models.Model):
    class BLType(models.TextChoices):
        ORIGINAL = "original", _("Original B/L")
        SURRENDERED = "surrendered", _("Surrendered (telex release)")
        SEA_WAYBILL = "waybill", _("Sea waybill")

    class Status(models.TextChoices):
        PURCHASED = "purchased", _("Purchased")
        EXPORT_CERTIFICATE = "export_certificate", _("Export certificate issued")
        INSPECTED = "inspected", _("Inspected")
        AT_PORT = "at_port", _("At the port")
        LOADED = "loaded", _("Loaded")
        SAILED = "sailed", _("Sailed")
        ARRIVED = "arrived", _("Arrived")
        DOCUMENTS_COURIERED = "couriered", _("Documents couriered")
        DELIVERED = "delivered", _("Delivered")

    reference = models.CharField(max_length=20, unique=True)
    method = models.CharField(_("method"), max_length=10, choices=ShippingMethod.choices)
    port_of_loading = models.CharField(_("port of loading"), max_length=80)
    port_of_discharge = models.ForeignKey(
        Port, on_delete=models.PROTECT, related_name="+", verbose_name=_("port of discharge")
    )
    # The shipping line and forwarder are recipients of personal data (records of provision).
    shipping_line = models.ForeignKey(
        Recipient, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    forwarder = models.ForeignKey(
        Recipient, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    customs_broker = models.ForeignKey(
        Recipient, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    vessel = models.CharField(_("vessel"), max_length=80, blank=True)
    voyage = models.CharField(_("voyage"), max_length=20, blank=True)
    booking_number = models.CharField(_("booking number"), max_length=40, blank=True)
    cutoff_date = models.DateField(_("cut-off date"), null=True, blank=True, db_index=True)
    etd = models.DateField(_("ETD"), null=True, blank=True)
    eta = models.DateField(_("ETA"), null=True, blank=True)
    bl_number = models.CharField(_("B/L number"), max_length=40, blank=True)
    bl_type = models.CharField(_("B/L type"), max_length=12, choices=BLType.choices, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PURCHASED, db_index=True
    )
    booked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["cutoff_date", "pk"]

    def __str__(self) -> str:
        return self.reference


class ShipmentOrder(models.Model):
    """An order travelling in a shipment; an order travels in one shipment."""

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="items")
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="shipment_item")

    def __str__(self) -> str:
        return f"Order {self.order_id} in {self.shipment_id}"


class TimelineEvent(models.Model):
    """One step of an order's journey, as the customer follows it. A shipment's steps (loaded,
    sailed, arrived) are written for every order it carries."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="timeline")
    shipment = models.ForeignKey(
        Shipment, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    status = models.CharField(max_length=20, choices=Shipment.Status.choices)
    happened_at = models.DateTimeField()
    note = models.TextField(blank=True, max_length=1000)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["happened_at", "pk"]
        indexes = [models.Index(fields=["order", "happened_at"])]

    def __str__(self) -> str:
        return f"{self.status} of order {self.order_id}"


class ShippingNotices(models.Model):
    """Which timeline updates a customer wants by e-mail (all of them unless they chose)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shipping_notices"
    )
    statuses = models.JSONField(default=list, help_text="Shipment statuses to e-mail")
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Shipping notices of {self.user_id}"


class Inspection(models.Model):
    class Result(models.TextChoices):
        BOOKED = "booked", pgettext_lazy("inspection", "Booked")
        PASSED = "passed", _("Passed")
        FAILED = "failed", pgettext_lazy("inspection", "Failed")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="inspections")
    agency = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("inspection"), max_length=120)
    required = models.BooleanField(default=False, help_text="The destination's rules require it")
    booked_for = models.DateField(_("booked for"), null=True, blank=True)
    result = models.CharField(max_length=8, choices=Result.choices, default=Result.BOOKED)
    result_at = models.DateTimeField(null=True, blank=True)
    certificate = models.FileField(upload_to="shipping/inspections/", blank=True)
    certificate_number = models.CharField(max_length=60, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} for order {self.order_id}"


class DocumentKind(models.TextChoices):
    EXPORT_CERTIFICATE = "export_certificate", _("Export certificate (deregistration)")
    BILL_OF_LADING = "bill_of_lading", _("Bill of lading")
    COMMERCIAL_INVOICE = "commercial_invoice", _("Commercial invoice")
    INSPECTION_CERTIFICATE = "inspection_certificate", _("Inspection certificate")
    INSURANCE_CERTIFICATE = "insurance_certificate", _("Insurance certificate")
    PACKING_LIST = "packing_list", _("Packing list")
    OTHER = "other", _("Other")


class DocumentRule(models.Model):
    """When the customer may download a kind of document (staff-configurable per kind)."""

    kind = models.CharField(max_length=24, choices=DocumentKind.choices, unique=True)
    after_full_payment = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.kind}: {'after full payment' if self.after_full_payment else 'any time'}"


class ExportDocument(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="export_documents")
    kind = models.CharField(_("document"), max_length=24, choices=DocumentKind.choices)
    title = models.CharField(_("title"), max_length=120, blank=True)
    file = models.FileField(upload_to="shipping/documents/")
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["order", "kind", "-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for order {self.order_id}"


class DocumentDownload(models.Model):
    document = models.ForeignKey(ExportDocument, on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    downloaded_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-downloaded_at", "-pk"]

    def __str__(self) -> str:
        return f"Download of {self.document_id} by {self.user_id}"


class CourierDispatch(models.Model):
    """Original documents sent to the customer or consignee by courier."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="courier_dispatches")
    # The courier's name as the recipient registry spelled it on the day: the record of
    # provision links the dispatch to the registry entry, and a later rename must not change
    # what the customer was told.
    carrier = models.CharField(_("carrier"), max_length=200)
    tracking_number = models.CharField(_("tracking number"), max_length=60)
    documents = models.CharField(_("documents sent"), max_length=300)
    addressed_to = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="+")
    dispatched_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-dispatched_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"

    def document_names(self) -> list[str]:
        """The documents it carried, by their names in the current language (stored as codes)."""
        labels = dict(DocumentKind.choices)
        return [str(labels.get(code, code)) for code in self.documents.split(",") if code]
