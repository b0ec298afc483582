from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from exportdesk.accounts.models import User
from exportdesk.core.forms import NoLabelSuffix
from exportdesk.core.money import INVOICE_CURRENCIES
from exportdesk.payments.models import Deposit, PaymentSettings
from exportdesk.payments.selectors import open_orders_for
from exportdesk.sales.models import BankAccount, Order

_CURRENCY_CHOICES = [(c, c) for c in INVOICE_CURRENCIES]


def _order_label(order: Order) -> str:
    return f"{order.number} ({order.currency} {order.total:,})"


class OrdersField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Order) -> str:
        return _order_label(obj)


class OrderField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Order) -> str:
        return _order_label(obj)


class DepositField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Deposit) -> str:
        return f"{obj.transaction.booking_date}: {obj.currency} {obj.amount:,}"


class DeclarationForm(NoLabelSuffix, forms.Form):
    """The customer's "I have paid"."""

    orders = OrdersField(
        label=_("Which order(s) is it for?"),
        queryset=Order.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    amount = forms.DecimalField(label=_("Amount sent"), max_digits=16, decimal_places=3)
    currency = forms.ChoiceField(label=_("Currency"), choices=_CURRENCY_CHOICES)
    paid_on = forms.DateField(
        label=_("Date of the transfer"), widget=forms.DateInput(attrs={"type": "date"})
    )
    payer_name = forms.CharField(
        label=_("Name of the payer"),
        max_length=150,
        help_text=_("As your bank shows it; it may be your company or someone paying for you"),
    )
    payer_bank = forms.CharField(label=_("Payer's bank"), max_length=150)
    reference = forms.CharField(
        label=_("Reference written on the transfer"),
        max_length=140,
        required=False,
        help_text=_("Ideally the proforma number, e.g. PF-2026-00042"),
    )
    slip = forms.FileField(
        label=_("Transfer slip (PDF, JPEG or PNG, up to 10 MB)"),
        required=False,
        help_text=_("A photo or scan of the bank's confirmation helps us find your payment fast"),
    )

    def __init__(self, *args: Any, customer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        orders = self.fields["orders"]
        assert isinstance(orders, OrdersField)
        orders.queryset = open_orders_for(customer)

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        if amount <= 0:
            raise forms.ValidationError(_("The amount must be more than zero."))
        return amount


class AllocationForm(NoLabelSuffix, forms.Form):
    deposit = DepositField(label=_("From the payment"), queryset=Deposit.objects.none())
    order = OrderField(label=_("To the order"), queryset=Order.objects.none())
    amount = forms.DecimalField(
        label=_("Amount (in the payment's currency)"), max_digits=16, decimal_places=3
    )

    def __init__(self, *args: Any, customer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        deposit = self.fields["deposit"]
        order = self.fields["order"]
        assert isinstance(deposit, DepositField)
        assert isinstance(order, OrderField)
        deposit.queryset = Deposit.objects.filter(
            customer=customer, reversed_at__isnull=True
        ).select_related("transaction")
        order.queryset = open_orders_for(customer)

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        if amount <= 0:
            raise forms.ValidationError(_("The amount must be more than zero."))
        return amount


class StatementUploadForm(NoLabelSuffix, forms.Form):
    bank_account = forms.ModelChoiceField(
        label=_("Bank account"), queryset=BankAccount.objects.all()
    )
    file = forms.FileField(label=_("Statement file (MT940, camt.053 XML or CSV)"))
    accept_unbalanced = forms.BooleanField(
        label=_("Import even if a statement does not balance (it will be flagged for review)"),
        required=False,
    )


class ConfirmForm(NoLabelSuffix, forms.Form):
    """Accounting confirms a credit for a customer, with or without a declaration."""

    customer_email = forms.EmailField(label=_("Customer's e-mail address"))
    declaration = forms.IntegerField(required=False, widget=forms.HiddenInput)
    bank_charge = forms.DecimalField(
        label=_("Bank charges we absorb"),
        max_digits=16,
        decimal_places=3,
        required=False,
        min_value=Decimal(0),
        help_text=_(
            "Intermediary fees deducted from the transfer; the customer is credited for them"
        ),
    )
    third_party = forms.BooleanField(
        label=_("Paid by a third party: hold for review before it can be allocated"),
        required=False,
    )


class ReasonForm(NoLabelSuffix, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class RefundForm(NoLabelSuffix, forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to refund"), max_digits=16, decimal_places=3, min_value=Decimal("0.001")
    )


class PaymentSettingsForm(NoLabelSuffix, forms.ModelForm):
    class Meta:
        model = PaymentSettings
        fields = [
            "auto_confirm",
            "auto_confirm_threshold",
            "auto_confirm_margin",
            "fee_tolerance_ratio",
            "fee_tolerance_max_jpy",
        ]
