"""Forms of the logistics desk: shipments, steps, inspections, couriers and the board's filter."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from exportdesk.core.forms import NoLabelSuffix
from exportdesk.privacy.models import Recipient
from exportdesk.sales.models import Order
from exportdesk.shipping.models import DocumentKind, Inspection, Party, Shipment
from exportdesk.shipping.shipments import (
    BOARD_STATES,
    ORDER_STEPS_BY_HAND,
    RECIPIENT_KINDS,
    SHIPMENT_STEPS,
    ShipmentDetails,
)
from exportdesk.stock.models import Port, ShippingMethod

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _recipients(kind: str) -> Any:
    return Recipient.objects.filter(kind=kind, is_active=True).order_by("name")


class RecipientField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.country})"


class ShipmentForm(NoLabelSuffix, forms.Form):
    method = forms.ChoiceField(label=_("Method"), choices=ShippingMethod.choices)
    port_of_loading = forms.CharField(label=_("Port of loading"), max_length=80, initial="Yokohama")
    port_of_discharge = forms.ModelChoiceField(
        label=_("Port of discharge"), queryset=Port.objects.order_by("name", "country")
    )
    shipping_line = RecipientField(
        label=_("Shipping line"),
        queryset=_recipients(Recipient.Kind.SHIPPING_LINE),
        required=False,
        help_text=_("From the recipient registry; needed to book."),
    )
    forwarder = RecipientField(
        label=_("Forwarder"), queryset=_recipients(Recipient.Kind.FORWARDER), required=False
    )
    customs_broker = RecipientField(
        label=_("Customs broker"),
        queryset=_recipients(Recipient.Kind.CUSTOMS_BROKER),
        required=False,
    )
    vessel = forms.CharField(label=_("Vessel"), max_length=80, required=False)
    voyage = forms.CharField(label=_("Voyage"), max_length=20, required=False)
    booking_number = forms.CharField(label=_("Booking number"), max_length=40, required=False)
    cutoff_date = forms.DateField(label=_("Cut-off date"), required=False, widget=_DATE)
    etd = forms.DateField(label=_("ETD"), required=False, widget=_DATE)
    eta = forms.DateField(label=_("ETA"), required=False, widget=_DATE)
    bl_number = forms.CharField(label=_("B/L number"), max_length=40, required=False)
    bl_type = forms.ChoiceField(
        label=_("B/L type"),
        choices=[("", "—"), *Shipment.BLType.choices],
        required=False,
    )

    def __init__(self, *args: Any, shipment: Shipment | None = None, **kwargs: Any) -> None:
        if shipment is not None:
            kwargs.setdefault(
                "initial", {name: getattr(shipment, name) for name in self.base_fields}
            )
        super().__init__(*args, **kwargs)
        if shipment is not None:
            # A recipient deactivated since it was chosen stays selectable on its shipment.
            for name, kind in RECIPIENT_KINDS.items():
                field = self.fields[name]
                assert isinstance(field, forms.ModelChoiceField)
                current = getattr(shipment, f"{name}_id")
                if current is not None:
                    field.queryset = Recipient.objects.filter(
                        Q(pk=current) | Q(kind=kind, is_active=True)
                    ).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        cutoff, etd, eta = data.get("cutoff_date"), data.get("etd"), data.get("eta")
        if cutoff and etd and cutoff > etd:
            self.add_error("cutoff_date", _("The cut-off date must be on or before the ETD."))
        if etd and eta and etd > eta:
            self.add_error("eta", _("The ETA must be on or after the ETD."))
        return data

    def details(self) -> ShipmentDetails:
        return ShipmentDetails(**self.cleaned_data)


class OrderAddForm(NoLabelSuffix, forms.Form):
    order_number = forms.CharField(
        label=_("Order number"), max_length=20, widget=forms.TextInput(attrs={"list": "eligible"})
    )

    def clean_order_number(self) -> Order:
        number = self.cleaned_data["order_number"].strip().upper()
        order = Order.objects.select_related("proforma__port", "customer").filter(number=number)
        found = order.first()
        if found is None:
            raise forms.ValidationError(
                _("There is no order %(number)s."), params={"number": number}
            )
        return found


class StepForm(NoLabelSuffix, forms.Form):
    status = forms.ChoiceField(label=_("Step"))
    happened_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        widget=_MOMENT,
        help_text=_("Japan time; leave empty for now."),
    )
    note = forms.CharField(
        label=_("Note for the customer"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, steps: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Shipment.Status.choices)
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(step, labels[step]) for step in steps]


def shipment_step_form(data: Any = None) -> StepForm:
    return StepForm(data, steps=SHIPMENT_STEPS, prefix="step")


def order_step_form(data: Any = None) -> StepForm:
    return StepForm(data, steps=ORDER_STEPS_BY_HAND, prefix="step")


class InspectionBookForm(NoLabelSuffix, forms.Form):
    agency = RecipientField(
        label=_("Inspection agency"), queryset=_recipients(Recipient.Kind.INSPECTION_AGENCY)
    )
    kind = forms.CharField(
        label=_("Inspection"),
        max_length=120,
        widget=forms.TextInput(attrs={"list": "required-inspections"}),
    )
    booked_for = forms.DateField(label=_("Booked for"), widget=_DATE)


class InspectionResultForm(NoLabelSuffix, forms.Form):
    result = forms.ChoiceField(
        label=_("Result"),
        choices=[(Inspection.Result.PASSED, _("Passed")), (Inspection.Result.FAILED, _("Failed"))],
        widget=forms.RadioSelect,
    )
    certificate = forms.FileField(
        label=_("Certificate"),
        required=False,
        help_text=_("PDF, JPEG or PNG; required for a pass."),
    )
    certificate_number = forms.CharField(
        label=_("Certificate number"), max_length=60, required=False
    )
    result_at = forms.DateTimeField(
        label=_("Inspected at"),
        required=False,
        widget=_MOMENT,
        help_text=_("Japan time; leave empty for now."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("result") == Inspection.Result.PASSED and not data.get("certificate"):
            self.add_error(
                "certificate", _("Attach the inspection certificate of a passed inspection.")
            )
        return data


class PartyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} · {obj.get_role_display()} · {obj.country.name}"


class CourierForm(NoLabelSuffix, forms.Form):
    # Only couriers in the recipient registry: the waybill hands them the addressee's data, and
    # the registry is what the record of provision names.
    carrier = RecipientField(
        label=_("Carrier"),
        queryset=_recipients(Recipient.Kind.COURIER),
        help_text=_("From the recipient registry."),
        error_messages={
            "invalid_choice": _("Choose an active courier from the recipient registry.")
        },
    )
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=60)
    documents = forms.MultipleChoiceField(
        label=_("Documents sent"),
        choices=DocumentKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    addressed_to = PartyChoiceField(label=_("Addressed to"), queryset=Party.objects.none())
    dispatched_at = forms.DateTimeField(
        label=_("Sent at"),
        required=False,
        widget=_MOMENT,
        help_text=_("Japan time; leave empty for now."),
    )

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["addressed_to"]
        assert isinstance(field, forms.ModelChoiceField)
        # The customer's own address book: the order's consignee first, then the others.
        consignee = Party.objects.filter(consignee_of__order=order).first()
        field.queryset = Party.objects.filter(
            Q(customer_id=order.customer_id, is_active=True)
            | Q(pk=consignee.pk if consignee else None)
        ).order_by("role", "name", "pk")
        if consignee is not None:
            field.initial = consignee.pk

    def couriers_registered(self) -> bool:
        carrier = self.fields["carrier"]
        assert isinstance(carrier, forms.ModelChoiceField)
        return carrier.queryset is not None and carrier.queryset.exists()


class BoardFilterForm(NoLabelSuffix, forms.Form):
    state = forms.ChoiceField(label=_("Status"), choices=list(BOARD_STATES.items()), required=False)
    port = forms.ModelChoiceField(
        label=_("Port of discharge"),
        queryset=Port.objects.order_by("name", "country"),
        required=False,
        empty_label=_("All ports"),
    )

    def chosen(self) -> tuple[str, int | None]:
        if not self.is_valid():
            return "open", None
        port = self.cleaned_data.get("port")
        return self.cleaned_data.get("state") or "open", port.pk if port else None
