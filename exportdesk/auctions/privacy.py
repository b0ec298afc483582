from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exportdesk.auctions.models import AuctionLot, AuctionSettings, BidRequest
from exportdesk.core.personal_data import (
    ACCOUNTING_HOLD,
    DataCategory,
    ErasureAction,
    Expiry,
    ExpiryAction,
    LegalBasis,
    PersonalField,
    Purpose,
    declare,
    declare_no_personal_data,
    declare_open_obligations,
)


def _bid(category: DataCategory) -> PersonalField:
    return PersonalField(
        category,
        purposes=(Purpose.SALES,),
        legal_basis=LegalBasis.CONTRACT,
        erasure=ErasureAction.DELETE,
        retention=_(
            "3 years after the request when the bid did not win; a won bid is part of the "
            "order's accounting records (7 years)"
        ),
    )


declare(
    BidRequest,
    description=_("Your requests to bid at auctions, and their results"),
    subject="customer",
    held_from="created_at",
    # A won bid became an order: its request and result are part of the books. A request still
    # holding deposit money is an open transaction: it stays until its result releases the hold.
    held_when=Q(order__isnull=False) | Q(hold__status="held"),
    held_under=ACCOUNTING_HOLD,
    personal={
        "customer": _bid(DataCategory.IDENTITY),
        "max_bid_jpy": _bid(DataCategory.TRANSACTION),
        "note": _bid(DataCategory.COMMUNICATION),
        "port": _bid(DataCategory.TRANSACTION),
        "created_at": _bid(DataCategory.TRANSACTION),
        "updated_at": _bid(DataCategory.TRANSACTION),
        "hammer_price_jpy": _bid(DataCategory.TRANSACTION),
        "auction_fee_jpy": _bid(DataCategory.TRANSACTION),
        "recycle_fee_jpy": _bid(DataCategory.TRANSACTION),
        "tax_jpy": _bid(DataCategory.TRANSACTION),
        "result_at": _bid(DataCategory.TRANSACTION),
    },
    not_personal=[
        "id",
        "lot",
        "status",
        "hold",
        "processed_at",
        "processed_by",
        "result_by",
        "vehicle",
        "order",
    ],
    expiry=Expiry("bid_requests", "created_at", ExpiryAction.DELETE, when=Q(order__isnull=True)),
)
declare_no_personal_data(
    AuctionLot, description=_("Auction lots: vehicles offered at Japanese auctions")
)
declare_no_personal_data(AuctionSettings, description=_("How much deposit a bid request holds"))


def _bids_in_progress(user_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for customer_id, house, lot_number in BidRequest.objects.filter(
        customer_id__in=user_ids, hold__status="held"
    ).values_list("customer_id", "lot__auction_house", "lot__lot_number"):
        found.setdefault(customer_id, []).append(
            gettext("a bid on %(house)s lot %(lot)s is in progress, holding deposit money")
            % {"house": house, "lot": lot_number}
        )
    return found


declare_open_obligations(_bids_in_progress)
