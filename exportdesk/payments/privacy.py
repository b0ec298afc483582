from collections import defaultdict
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exportdesk.core.money import money_format
from exportdesk.core.personal_data import (
    ACCOUNTING_HOLD,
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
from exportdesk.payments.models import (
    Allocation,
    BankStatement,
    BankTransaction,
    Deposit,
    DepositHold,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    MatchSuggestion,
    PaymentDeclaration,
    PaymentSettings,
    Refund,
    StatementImport,
    StatementMapping,
)
from exportdesk.payments.selectors import deposits_available

_ACCOUNTING_RETENTION = _("7 years after the end of the fiscal year (Corporation Tax Act)")
_BANK = _("our bank")


def _books(category: DataCategory, source: Text = "") -> PersonalField:
    """Part of the accounting records: kept under the legal hold, whatever else is erased."""
    return PersonalField(
        category,
        purposes=(Purpose.PAYMENTS, Purpose.LEGAL_COMPLIANCE),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        erasure=ErasureAction.HOLD,
        hold=ACCOUNTING_HOLD,
        retention=_ACCOUNTING_RETENTION,
        source=source or "the person",
    )


def _declared(
    category: DataCategory, erasure: ErasureAction = ErasureAction.DELETE
) -> PersonalField:
    """What a customer tells us about a transfer: needed only until the bank confirms it."""
    return PersonalField(
        category,
        purposes=(Purpose.PAYMENTS,),
        legal_basis=LegalBasis.CONTRACT,
        erasure=erasure,
        retention=_(
            "Until the bank confirms the payment, then kept with the accounting records; "
            "removed after 14 days if the bank never confirms it (the slip at once)"
        ),
    )


declare(
    PaymentDeclaration,
    description=_("Payments you told us you sent, with your transfer slips"),
    subject="customer",
    held_from="created_at",
    held_when=Q(deposits__isnull=False),
    held_under=ACCOUNTING_HOLD,
    personal={
        "customer": _declared(DataCategory.IDENTITY),
        "amount": _declared(DataCategory.FINANCIAL),
        "paid_on": _declared(DataCategory.FINANCIAL),
        "payer_name": _declared(DataCategory.FINANCIAL),
        "payer_bank": _declared(DataCategory.FINANCIAL),
        "reference": _declared(DataCategory.FINANCIAL),
        "slip": _declared(DataCategory.FINANCIAL),
        "created_at": _declared(DataCategory.TRANSACTION),
        "updated_at": _declared(DataCategory.TRANSACTION),
    },
    not_personal=["id", "public_id", "currency", "slip_content_type", "status", "closed_at"],
    expiry=(
        Expiry(
            "closed_declarations",
            "closed_at",
            ExpiryAction.DELETE,
            when=Q(status__in=["withdrawn", "expired"]),
        ),
        Expiry(
            "accounting_records",
            "created_at",
            ExpiryAction.ANONYMISE,
            when=Q(deposits__isnull=False),
            from_fiscal_year_end=True,
        ),
        KEPT_WITH_ACCOUNT,
    ),
)
declare(
    PaymentDeclaration.orders.through,
    description=_("Which orders each payment declaration is for"),
    subject="paymentdeclaration__customer",
    personal={
        "paymentdeclaration": _declared(DataCategory.TRANSACTION),
        "order": _declared(DataCategory.TRANSACTION),
    },
    not_personal=["id"],
    expiry=KeptWhile(_("as long as the payment declaration")),
)
declare(
    BankTransaction,
    description=_("Entries of our bank statements, including your transfers to us"),
    subject="deposits__customer",
    held_from="booking_date",
    personal={
        "amount": _books(DataCategory.FINANCIAL, _BANK),
        "booking_date": _books(DataCategory.FINANCIAL, _BANK),
        "value_date": _books(DataCategory.FINANCIAL, _BANK),
        "remittance": _books(DataCategory.FINANCIAL, _BANK),
        "counterparty_name": _books(DataCategory.FINANCIAL, _BANK),
        "counterparty_account": _books(DataCategory.FINANCIAL, _BANK),
        "customer_reference": _books(DataCategory.FINANCIAL, _BANK),
        "bank_reference": _books(DataCategory.FINANCIAL, _BANK),
    },
    not_personal=[
        "id",
        "statement",
        "bank_account",
        "currency",
        "transaction_code",
        "fingerprint",
        "status",
        "ignored_reason",
    ],
    expiry=Expiry(
        "accounting_records", "booking_date", ExpiryAction.ANONYMISE, from_fiscal_year_end=True
    ),
)
declare(
    Deposit,
    description=_("Payments confirmed as received from you"),
    subject="customer",
    held_from="confirmed_at",
    personal={
        "customer": _books(DataCategory.IDENTITY),
        "transaction": _books(DataCategory.FINANCIAL),
        "declaration": _books(DataCategory.FINANCIAL),
        "received": _books(DataCategory.FINANCIAL),
        "bank_charge": _books(DataCategory.FINANCIAL),
        "amount": _books(DataCategory.FINANCIAL),
        "payer_name": _books(DataCategory.FINANCIAL, _BANK),
        "payer_account": _books(DataCategory.FINANCIAL, _BANK),
        "third_party": _books(DataCategory.FINANCIAL),
        "confirmed_at": _books(DataCategory.FINANCIAL),
        "reversed_at": _books(DataCategory.FINANCIAL),
    },
    not_personal=["id", "currency", "third_party_cleared_by", "confirmed_by", "entry"],
    expiry=Expiry(
        "accounting_records", "confirmed_at", ExpiryAction.ANONYMISE, from_fiscal_year_end=True
    ),
)
declare(
    Allocation,
    description=_("Your requests to use payments for orders, and their approval"),
    subject="order__customer",
    held_from="requested_at",
    personal={
        "order": _books(DataCategory.TRANSACTION),
        "amount": _books(DataCategory.FINANCIAL),
        "order_amount": _books(DataCategory.FINANCIAL),
        "requested_by": _books(DataCategory.IDENTITY),
        "requested_at": _books(DataCategory.TRANSACTION),
        "reason": _books(DataCategory.TRANSACTION, _("written by our staff")),
    },
    not_personal=[
        "id",
        "deposit",
        "fx_rate",
        "status",
        "decided_by",
        "decided_at",
        "entry",
        "replaces",
    ],
    expiry=Expiry(
        "accounting_records", "requested_at", ExpiryAction.ANONYMISE, from_fiscal_year_end=True
    ),
)
declare(
    Refund,
    description=_("Money we returned to you"),
    subject="deposit__customer",
    held_from="deposit__confirmed_at",
    personal={
        "amount": _books(DataCategory.FINANCIAL),
        "to_name": _books(DataCategory.FINANCIAL, _BANK),
        "to_account": _books(DataCategory.FINANCIAL, _BANK),
        "approved_at": _books(DataCategory.FINANCIAL),
    },
    not_personal=["id", "deposit", "currency", "status", "approved_by", "entry", "paid_entry"],
    expiry=Expiry(
        "accounting_records",
        "deposit__confirmed_at",
        ExpiryAction.ANONYMISE,
        from_fiscal_year_end=True,
    ),
)
declare(
    DepositHold,
    description=_("Parts of your payments held for auction bid requests"),
    subject="deposit__customer",
    held_from="created_at",
    personal={
        "amount": _books(DataCategory.FINANCIAL),
        "purpose": _books(DataCategory.TRANSACTION, _("generated by the system")),
        "created_at": _books(DataCategory.TRANSACTION),
        "released_at": _books(DataCategory.TRANSACTION),
    },
    not_personal=["id", "deposit", "currency", "status", "entry", "release_entry", "allocation"],
    expiry=Expiry(
        "accounting_records", "created_at", ExpiryAction.ANONYMISE, from_fiscal_year_end=True
    ),
)
declare(
    LedgerAccount,
    description=_("Accounts of our ledger, one per customer for deposits"),
    subject="customer",
    personal={"customer": _books(DataCategory.IDENTITY)},
    not_personal=["id", "key", "kind", "currency", "bank_account", "order"],
    expiry=KeptWhile(_("as long as the journal entries on the account")),
)
declare(
    JournalEntry,
    description=_("Our accounting journal"),
    subject=None,
    held_from="created_at",
    personal={"memo": _books(DataCategory.FINANCIAL, _("generated by the system"))},
    not_personal=["id", "kind", "created_at", "actor", "reverses", "booked_order", "fx_rate"],
    expiry=Expiry(
        "accounting_records", "created_at", ExpiryAction.ANONYMISE, from_fiscal_year_end=True
    ),
)
declare(
    MatchSuggestion,
    description=_("Which customer an incoming payment may belong to (accounting only)"),
    subject="customer",
    personal={
        "customer": PersonalField(
            DataCategory.FINANCIAL,
            purposes=(Purpose.PAYMENTS,),
            legal_basis=LegalBasis.LEGITIMATE_INTEREST,
            erasure=ErasureAction.DELETE,
            retention=_("Until the payment is confirmed or set aside"),
            source=_("generated by the system"),
        ),
        "reasons": PersonalField(
            DataCategory.FINANCIAL,
            purposes=(Purpose.PAYMENTS,),
            legal_basis=LegalBasis.LEGITIMATE_INTEREST,
            erasure=ErasureAction.DELETE,
            retention=_("Until the payment is confirmed or set aside"),
            source=_("generated by the system"),
        ),
    },
    not_personal=["id", "transaction", "rank", "score", "declaration", "order", "third_party"],
    expiry=Expiry(
        "match_suggestions",
        "transaction__booking_date",
        ExpiryAction.DELETE,
        when=~Q(transaction__status="unmatched"),
    ),
)
declare_no_personal_data(
    JournalLine, description=_("Lines of journal entries (amounts per account)")
)
declare_no_personal_data(PaymentSettings, description=_("Accounting's matching settings"))
declare_no_personal_data(StatementMapping, description=_("How to read each bank's CSV export"))
declare_no_personal_data(StatementImport, description=_("Which statement files were imported"))
declare_no_personal_data(BankStatement, description=_("Our bank statements' balances"))


def _unspent_money(user_ids: list[int]) -> dict[int, list[str]]:
    """Confirmed payments not yet used for an order or refunded: we owe that money."""
    deposits = list(
        Deposit.objects.filter(customer_id__in=user_ids, reversed_at__isnull=True).values_list(
            "pk", "customer_id", "currency"
        )
    )
    available = deposits_available(pk for pk, _, _ in deposits)
    owed: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for pk, customer_id, currency in deposits:
        owed[(customer_id, currency)] += available[pk]
    found: dict[int, list[str]] = defaultdict(list)
    for (customer_id, currency), amount in sorted(owed.items()):
        if amount > 0:
            found[customer_id].append(
                gettext("%(amount)s of their payments is not used for an order or refunded")
                % {"amount": money_format(amount, currency)}
            )
    return dict(found)


declare_open_obligations(_unspent_money)
