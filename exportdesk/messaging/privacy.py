from django.utils.translation import gettext_lazy as _

from exportdesk.core.personal_data import (
    DataCategory,
    ErasureAction,
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
)
