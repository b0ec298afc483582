from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from exportdesk.core.personal_data import (
    KEPT_WITH_ACCOUNT,
    DataCategory,
    ErasureAction,
    Expiry,
    ExpiryAction,
    LegalBasis,
    PersonalField,
    Purpose,
    declare,
)
from exportdesk.messaging.models import ContactEvent


def _history(category: DataCategory, erasure: ErasureAction) -> PersonalField:
    return PersonalField(
        category,
        purposes=(Purpose.CUSTOMER_SUPPORT, Purpose.SALES),
        legal_basis=LegalBasis.CONTRACT,
        erasure=erasure,
        retention=_("while the account is open; erased with it unless part of a kept record"),
    )


declare(
    ContactEvent,
    description=_("Your contact history: inquiries, our replies and notices"),
    subject="customer",
    subject_email="email",
    personal={
        "customer": _history(DataCategory.IDENTITY, ErasureAction.DELETE),
        "email": _history(DataCategory.CONTACT, ErasureAction.DELETE),
        "subject": _history(DataCategory.COMMUNICATION, ErasureAction.DELETE),
        "body": _history(DataCategory.COMMUNICATION, ErasureAction.DELETE),
        "created_at": _history(DataCategory.COMMUNICATION, ErasureAction.DELETE),
    },
    not_personal=[
        "id",
        "kind",
        "direction",
        "staff",
        "visible_to_customer",
        "source_type",
        "source_id",
    ],
    expiry=(
        # Someone without an account: 3 years after their last contact from that address.
        Expiry(
            "visitor_contacts",
            "created_at",
            ExpiryAction.DELETE,
            when=Q(customer__isnull=True),
            latest_per="email",
        ),
        KEPT_WITH_ACCOUNT,
    ),
)
