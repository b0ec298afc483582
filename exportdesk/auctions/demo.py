"""Demo data for auctions: a few upcoming lots, and a pending bid request for the Kenyan demo
customer on a confirmed deposit. Idempotent: lots are added only while none is upcoming, and the
bid (with the deposit it needs) only when she has none."""

from __future__ import annotations

from datetime import time, timedelta

from django.utils import timezone

from exportdesk.accounts.demo import DEMO_DOMAIN
from exportdesk.accounts.models import User
from exportdesk.auctions.models import AuctionLot, BidRequest
from exportdesk.auctions.selectors import bidding_deposits, japan_datetime, japan_today
from exportdesk.auctions.services import BidRefused, bid_request_place
from exportdesk.payments.imports import StatementRefused, statement_import
from exportdesk.payments.models import BankTransaction
from exportdesk.payments.services import Confirmation, PaymentRefused, credits_confirm
from exportdesk.sales.models import BankAccount
from exportdesk.stock.models import Port, VehicleModel

# (house, days ahead, time, lot, make slug, model slug, age, body, frame, cc, fuel, mileage,
#  colour, grade, start price, sheet notes)
DEMO_LOTS = [
    ("USS Tokyo", 3, "13:30", "10234", "toyota", "prius", 4, "hatchback", "ZVW50-8123456", 1800,
     "hybrid", 48_200, "Pearl White", "4.5", 780_000,
     "Small scratch on the rear bumper (A1).\nInterior B: light wear on the driver's seat."),
    ("USS Tokyo", 3, "14:10", "10871", "toyota", "hiace-van", 6, "van", "TRH200-0312345", 2000,
     "petrol", 96_500, "White", "3.5", 1_150_000,
     "Dents on the sliding door (U2).\nRoof rack marks. Interior C."),
    ("TAA Kinki", 4, "10:00", "3051", "honda", "fit", 3, "hatchback", "GP5-3401234", 1500,
     "hybrid", 31_000, "Blue", "4", 620_000, "Stone chips on the bonnet (A1).\nNon-smoker."),
    ("JU Gifu", 5, "11:20", "772", "nissan", "note", 5, "hatchback", "E12-1234567", 1200,
     "petrol", 72_400, "Silver", "3.5", 280_000, "Repaired front bumper (XX).\nInterior B."),
]  # fmt: skip

DEMO_STATEMENT_REFERENCE = "DEMOBIDDEPOSIT"


def seed_demo() -> list[str]:
    lines = _demo_lots()
    customer = User.objects.filter(email=f"wanjiku@{DEMO_DOMAIN}").first()
    if customer is not None and not BidRequest.objects.filter(customer=customer).exists():
        lines += _demo_bid(customer)
    return lines


def _demo_lots() -> list[str]:
    if AuctionLot.objects.filter(
        status=AuctionLot.Status.UPCOMING, auction_at__gt=timezone.now()
    ).exists():
        return []
    creator = User.objects.filter(email=f"sales@{DEMO_DOMAIN}").first()
    today = japan_today()
    made = 0
    for (house, days, at, number, make, model, age, body, frame, cc, fuel, km, colour, grade,
         price, notes) in DEMO_LOTS:  # fmt: skip
        vehicle_model = VehicleModel.objects.filter(make__slug=make, slug=model).first()
        if vehicle_model is None:
            continue
        hour, minute = (int(part) for part in at.split(":"))
        AuctionLot.objects.create(
            auction_house=house,
            auction_at=japan_datetime(today + timedelta(days=days), time(hour, minute)),
            lot_number=number,
            make_id=vehicle_model.make_id,
            model=vehicle_model,
            year=today.year - age,
            body_type=body,
            chassis_number=frame,
            engine_cc=cc,
            fuel=fuel,
            transmission="cvt" if fuel == "hybrid" else "at",
            drive="2wd",
            steering="rhd",
            mileage_km=km,
            colour=colour,
            seats=3 if body == "van" else 5,
            doors=4 if body == "van" else 5,
            length_mm=4695 if body == "van" else 4100,
            width_mm=1695,
            height_mm=1980 if body == "van" else 1520,
            weight_kg=1900 if body == "van" else 1150,
            auction_grade=grade,
            sheet_notes=notes,
            start_price_jpy=price,
            created_at=timezone.now(),
            created_by=creator,
        )
        made += 1
    return [f"demo auction lots: {made} upcoming"] if made else []


def _demo_deposit(customer: User) -> list[str]:
    """A confirmed USD 3,000 for the customer, arriving as a real bank statement would."""
    account = BankAccount.objects.filter(code="demo-usd").first()
    accountant = User.objects.filter(email=f"accounting@{DEMO_DOMAIN}").first()
    if account is None or accountant is None:
        return []
    day = timezone.localdate().strftime("%y%m%d")
    statement = "\r\n".join(
        [
            f":20:{DEMO_STATEMENT_REFERENCE}",
            f":25:{account.statement_identification}",
            ":28C:1/1",
            f":60F:C{day}USD0,00",
            f":61:{day}{day[2:]}C3000,00NTRFNONREF//DEMOBID1",
            f":86:/NAME/{customer.name.upper()}/REMI/DEPOSIT FOR AUCTION BIDS",
            f":62F:C{day}USD3000,00",
            "",
        ]
    ).encode()
    try:
        result = statement_import(
            data=statement, file_name="demo-bid-deposit.sta", bank_account=account, actor=None
        )
        credit = BankTransaction.objects.filter(
            statement__statement_import=result.statement_import,
            status=BankTransaction.Status.UNMATCHED,
        ).first()
        if credit is None:
            return []
        credits_confirm(confirmations=[Confirmation(credit, customer, None)], actor=accountant)
    except (StatementRefused, PaymentRefused) as refused:
        return [f"demo bid deposit not confirmed: {refused}"]
    return [f"demo bid deposit USD 3,000 confirmed for {customer.email}"]


def _demo_bid(customer: User) -> list[str]:
    lines = [] if bidding_deposits(customer) else _demo_deposit(customer)
    lot = (
        AuctionLot.objects.filter(status=AuctionLot.Status.UPCOMING, auction_at__gt=timezone.now())
        .order_by("auction_at", "pk")
        .first()
    )
    if lot is None:
        return lines
    try:
        bid = bid_request_place(
            customer=customer,
            lot=lot,
            max_bid_jpy=lot.start_price_jpy + 400_000,
            note="Please check for rust underneath before bidding.",
            port=Port.objects.filter(country="KE").order_by("pk").first(),
            deposit=None,
        )
    except BidRefused as refused:
        return [*lines, f"demo bid request not placed: {refused.message}"]
    return [*lines, f"demo bid request on {lot} up to JPY {bid.max_bid_jpy:,}"]
