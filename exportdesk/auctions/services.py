"""Writes on auctions: lots and their sheets, bid requests (place, edit, withdraw), and the
results staff record (processed, won, lost).

A bid request holds part of a confirmed deposit through the payments app's holds; the hold is
re-sized, released or converted in the same transaction as the request's change, so the
request's state and the ledger never disagree. Rows are locked request first, then (inside the
payments services) hold and deposit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from PIL import Image, ImageOps, UnidentifiedImageError

from exportdesk.accounts.models import User
from exportdesk.auctions.models import AuctionLot, AuctionSettings, BidRequest
from exportdesk.auctions.selectors import (
    JAPAN,
    auction_settings,
    bidding_deposits,
    hold_in,
    hold_jpy,
    live_request_on,
    requests_close_at,
)
from exportdesk.core.audit import audit_event_record
from exportdesk.core.mail import mail_send_template
from exportdesk.core.money import money_format, quantize
from exportdesk.messaging.models import ContactEvent
from exportdesk.messaging.services import contact_event_record, contact_text
from exportdesk.payments.holds import deposit_hold_convert, deposit_hold_place, deposit_hold_release
from exportdesk.payments.models import Deposit, DepositHold
from exportdesk.payments.selectors import deposit_available
from exportdesk.payments.services import PaymentRefused, fx_rate_between
from exportdesk.sales.models import BankAccount, Incoterm, Order
from exportdesk.sales.services import (
    ExtraCharge,
    ProformaDraft,
    ProformaRefused,
    proforma_accept,
    proforma_issue,
)
from exportdesk.stock.models import Port, Vehicle, VehicleStatus, live_vehicle_with_chassis
from exportdesk.stock.rules import rules_for, verdict_for
from exportdesk.stock.services import vehicle_save

MAX_BID_JPY = 1_000_000_000
NOTE_MAX = 1000


class BidRefused(Exception):
    """A bid request change that must not happen; the message is shown to the person as is.

    `kind` tells the API which status to answer: "locked" (409: staff are bidding or the
    result is in), "not_found" (404: not this person's request), "refused" (400)."""

    def __init__(self, message: str, *, kind: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def _yen(amount: int) -> str:
    return money_format(Decimal(amount), "JPY")


# --- Lots ---------------------------------------------------------------------------------------

SHEET_MAX_BYTES = 15 * 1024 * 1024
SHEET_MAX_SIDE = 2400  # an auction sheet's handwriting must stay readable
SHEET_THUMB_SIZE = (480, 640)


def sheet_thumbnail_name(name: str) -> str:
    """The thumbnail sits next to the sheet: "auctions/sheets/ab12.jpg" → ".../ab12-thumb.jpg"."""
    stem, _dot, _ext = name.rpartition(".")
    return f"{stem or name}-thumb.jpg"


def _jpeg(image: Image.Image, size: tuple[int, int]) -> bytes:
    copy = ImageOps.exif_transpose(image).convert("RGB")
    copy.thumbnail(size)
    out = BytesIO()
    # Re-encoding drops whatever metadata the scanner or phone wrote.
    copy.save(out, "JPEG", quality=88, optimize=True)
    return out.getvalue()


def sheet_images(upload: UploadedFile) -> tuple[bytes, bytes]:
    """The sheet and its thumbnail as JPEG, checked by content (never by name)."""
    if upload.size is not None and upload.size > SHEET_MAX_BYTES:
        raise ValidationError(_("The auction sheet image is larger than 15 MB."))
    try:
        probe = Image.open(upload)
        probe.verify()
        upload.seek(0)
        image = Image.open(upload)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError(
            _("The auction sheet must be an image we can read (JPEG, PNG or WebP).")
        ) from None
    if image.format not in {"JPEG", "PNG", "WEBP"}:
        raise ValidationError(_("The auction sheet must be a JPEG, PNG or WebP image."))
    return _jpeg(image, (SHEET_MAX_SIDE, SHEET_MAX_SIDE)), _jpeg(image, SHEET_THUMB_SIZE)


def _sheet_files(lot: AuctionLot) -> list[str]:
    if not lot.sheet_image:
        return []
    return [lot.sheet_image.name, sheet_thumbnail_name(lot.sheet_image.name)]


def _delete_files_on_commit(names: list[str]) -> None:
    def _delete() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(_delete)


def lot_save(
    *,
    lot: AuctionLot,
    actor: User,
    sheet: UploadedFile | None = None,
    changed: list[str] | None = None,
) -> AuctionLot:
    """Create or update a lot validated by the lot form; a new sheet replaces the old one."""
    images = sheet_images(sheet) if sheet is not None else None
    creating = lot.pk is None
    with transaction.atomic():
        if creating:
            lot.created_at = timezone.now()
            lot.created_by = actor
        old_files: list[str] = []
        if images is not None:
            old_files = _sheet_files(AuctionLot.objects.get(pk=lot.pk)) if not creating else []
            full, thumb = images
            name = get_random_string(16).lower()
            lot.sheet_image.save(f"{name}.jpg", ContentFile(full), save=False)
            default_storage.save(sheet_thumbnail_name(lot.sheet_image.name), ContentFile(thumb))
        lot.save()
        audit_event_record(
            action="auction_lot.created" if creating else "auction_lot.updated",
            actor=actor,
            obj=lot,
            details={
                "lot": str(lot),
                "fields": (changed or []) + (["sheet_image"] if images else []),
            },
        )
        if old_files:
            _delete_files_on_commit(old_files)
    return lot


def auction_settings_save(
    *, hold_percent: Decimal, minimum_hold_jpy: int, request_cutoff_minutes: int, actor: User
) -> AuctionSettings:
    with transaction.atomic():
        current = auction_settings()
        current.hold_percent = hold_percent
        current.minimum_hold_jpy = minimum_hold_jpy
        current.request_cutoff_minutes = request_cutoff_minutes
        current.save()
        audit_event_record(
            action="auction_settings.changed",
            actor=actor,
            obj=current,
            details={
                "hold_percent": str(hold_percent),
                "minimum_hold_jpy": minimum_hold_jpy,
                "request_cutoff_minutes": request_cutoff_minutes,
            },
        )
    return current


# --- The car a lot becomes ----------------------------------------------------------------------


def stock_number_for(lot: AuctionLot) -> str:
    """House, Japan date and lot, e.g. USSTO250612-10234 (at most 20 characters)."""
    house = re.sub(r"[^A-Z0-9]", "", lot.auction_house.upper())[:5] or "AUC"
    day = lot.auction_at.astimezone(JAPAN).strftime("%y%m%d")
    number = re.sub(r"[^A-Z0-9]", "", lot.lot_number.upper())[:8]
    return f"{house}{day}-{number}"


def vehicle_from_lot(lot: AuctionLot, *, price_jpy: int) -> Vehicle:
    """The stock vehicle a lot becomes (unsaved). Sheets give the model year only: January of
    that year is taken as first registration, the oldest it can be, so an age rule that lets
    the car through is never wrong."""
    return Vehicle(
        stock_number=stock_number_for(lot),
        make=lot.make,
        model=lot.model,
        grade=lot.grade,
        body_type=lot.body_type,
        first_registration_year=lot.year,
        first_registration_month=1,
        manufacture_year=lot.year,
        chassis_number=lot.chassis_number,
        engine_cc=lot.engine_cc,
        fuel=lot.fuel,
        transmission=lot.transmission,
        drive=lot.drive,
        steering=lot.steering,
        mileage_km=lot.mileage_km,
        colour=lot.colour,
        seats=lot.seats,
        doors=lot.doors,
        length_mm=lot.length_mm,
        width_mm=lot.width_mm,
        height_mm=lot.height_mm,
        weight_kg=lot.weight_kg,
        condition_notes=lot.sheet_notes,
        fob_price_jpy=price_jpy,
        status=VehicleStatus.AVAILABLE,
        yard_location=lot.auction_house,
    )


def _destination(customer: User, port: Port | None) -> str:
    if port is not None:
        return str(port.country)
    profile = getattr(customer, "customer_profile", None)
    if profile is None:
        raise BidRefused(_("Only customer accounts can ask us to bid."))
    return str(profile.country)


def _destination_check(customer: User, lot: AuctionLot, port: Port | None, max_bid: int) -> None:
    """Refuse a car that could not legally go where the customer wants it (judged at the
    maximum price, the worst case for price-based bans)."""
    country = _destination(customer, port)
    verdict = verdict_for(vehicle_from_lot(lot, price_jpy=max_bid), country, rules_for(country))
    if not verdict.allowed:
        raise BidRefused(" ".join(verdict.reasons))


# --- Bid requests -------------------------------------------------------------------------------


def _amount_check(lot: AuctionLot, max_bid_jpy: int, note: str) -> None:
    if max_bid_jpy > MAX_BID_JPY:
        raise BidRefused(_("The maximum bid can be at most %(max)s.") % {"max": _yen(MAX_BID_JPY)})
    if max_bid_jpy < lot.start_price_jpy:
        raise BidRefused(
            _("The maximum bid must be at least the start price, %(price)s.")
            % {"price": _yen(lot.start_price_jpy)}
        )
    if len(note) > NOTE_MAX:
        raise BidRefused(_("The note can be at most %(n)s characters.") % {"n": NOTE_MAX})


def _open_check(lot: AuctionLot, terms: AuctionSettings) -> None:
    now = timezone.now()
    if lot.status != AuctionLot.Status.UPCOMING:
        raise BidRefused(
            _("This lot is no longer offered: %(status)s.")
            % {"status": lot.get_status_display().lower()}
        )
    if lot.auction_at <= now:
        raise BidRefused(_("This auction has already taken place."))
    closes = requests_close_at(lot, terms)
    if closes <= now:
        raise BidRefused(
            _(
                "Bid requests for this lot closed at %(time)s Japan time, %(minutes)s minutes "
                "before the auction."
            )
            % {
                "time": closes.astimezone(JAPAN).strftime("%Y-%m-%d %H:%M"),
                "minutes": terms.request_cutoff_minutes,
            }
        )


def _deposit_refused(deposit: Deposit, customer: User) -> str | None:
    if deposit.customer_id != customer.pk:
        return _("This deposit is not yours.")
    if deposit.reversed_at:
        return _("This payment's confirmation was reversed.")
    if deposit.held_for_review:
        return _(
            "This payment came from a third party and is being checked; it cannot hold a bid yet."
        )
    return None


def _deposit_for(
    customer: User, deposit: Deposit | None, max_bid_jpy: int, needed_jpy: int
) -> tuple[Deposit, Decimal]:
    """The deposit to hold money on and the amount in its currency; refused, saying how much
    is needed and how much is free, when no deposit has enough."""
    try:
        if deposit is not None:
            problem = _deposit_refused(deposit, customer)
            if problem:
                raise BidRefused(problem)
            amount = hold_in(deposit.currency, needed_jpy)
            free = deposit_available(deposit)
            if amount > free:
                raise BidRefused(_short_message(max_bid_jpy, [(amount, free, deposit.currency)]))
            return deposit, amount
        choices = bidding_deposits(customer)
        if not choices:
            raise BidRefused(
                _(
                    "Bidding needs a confirmed deposit with money free. Send a deposit and "
                    "declare it in the Payment Manager; once we confirm it you can ask us to bid."
                )
            )
        shortfalls = []
        for choice in choices:
            amount = hold_in(choice.currency, needed_jpy)
            if amount <= choice.available:
                return Deposit.objects.get(pk=choice.deposit_id), amount
            shortfalls.append((amount, choice.available, choice.currency))
        raise BidRefused(_short_message(max_bid_jpy, shortfalls))
    except PaymentRefused as refused:  # no exchange rate on file for the deposit's currency
        raise BidRefused(str(refused)) from refused


def _short_message(max_bid_jpy: int, shortfalls: list[tuple[Decimal, Decimal, str]]) -> str:
    amount, free, currency = max(shortfalls, key=lambda s: s[1] / s[0] if s[0] else 0)
    return _(
        "A maximum bid of %(bid)s needs %(needed)s of your deposit held, but only %(free)s of "
        "it is free. Lower the maximum or add to your deposit."
    ) % {
        "bid": _yen(max_bid_jpy),
        "needed": money_format(amount, currency),
        "free": money_format(free, currency),
    }


def _hold_place(bid: BidRequest, deposit: Deposit, amount: Decimal, actor: User) -> DepositHold:
    try:
        return deposit_hold_place(
            deposit=deposit,
            amount=amount,
            purpose=f"bid request {bid.pk} on {bid.lot}",
            actor=actor,
        )
    except PaymentRefused as refused:
        raise BidRefused(str(refused)) from refused


def _lot_values(lot: AuctionLot) -> dict[str, str]:
    """The lot's placeholders in the contact history's messages: %(house)s lot %(lot)s (%(when)s
    JST), repeated whole in each sentence so a language can place the words as it needs."""
    when = lot.auction_at.astimezone(JAPAN).strftime("%Y-%m-%d %H:%M")
    return {"house": lot.auction_house, "lot": lot.lot_number, "when": when}


def bid_request_place(
    *,
    customer: User,
    lot: AuctionLot,
    max_bid_jpy: int,
    note: str,
    port: Port | None,
    deposit: Deposit | None,
) -> BidRequest:
    """Ask us to bid up to `max_bid_jpy` on a lot, holding part of a confirmed deposit; with no
    deposit named, the oldest one with enough money free is used."""
    note = note.strip()
    terms = auction_settings()
    _amount_check(lot, max_bid_jpy, note)
    try:
        with transaction.atomic():
            locked_lot = AuctionLot.objects.select_for_update().get(pk=lot.pk)
            _open_check(locked_lot, terms)
            if live_request_on(customer, locked_lot) is not None:
                raise BidRefused(
                    _("You have already asked us to bid on this lot: change that request instead.")
                )
            _destination_check(customer, locked_lot, port, max_bid_jpy)
            chosen, amount = _deposit_for(
                customer, deposit, max_bid_jpy, hold_jpy(max_bid_jpy, terms)
            )
            now = timezone.now()
            bid = BidRequest.objects.create(
                lot=locked_lot,
                customer=customer,
                max_bid_jpy=max_bid_jpy,
                note=note,
                port=port,
                created_at=now,
                updated_at=now,
            )
            bid.hold = _hold_place(bid, chosen, amount, customer)
            bid.save(update_fields=["hold"])
            _history(
                bid,
                gettext_noop(
                    "Bid request: up to %(amount)s on %(house)s lot %(lot)s (%(when)s JST)"
                ),
                amount=_yen(max_bid_jpy),
            )
            audit_event_record(
                action="bid.placed",
                actor=customer,
                obj=bid,
                subject_id=customer.pk,
                details={"lot": locked_lot.pk, "max_bid_jpy": max_bid_jpy, "hold": str(amount)},
            )
    except IntegrityError:
        # Two requests raced past the check above; the database let one through.
        raise BidRefused(
            _("You have already asked us to bid on this lot: change that request instead.")
        ) from None
    return bid


def _history(
    bid: BidRequest,
    subject: str,
    *,
    amount: str = "",
    staff: User | None = None,
    kind: str = ContactEvent.Kind.NOTE,
) -> None:
    """Log a step of the bid request in the customer's history; `subject` is a `gettext_noop`
    message with the lot's placeholders (`_lot_values`) and an %(amount)s if it names one."""
    customer = bid.customer
    contact_event_record(
        email=customer.email,
        customer=customer,
        kind=kind,
        direction=ContactEvent.Direction.OUTBOUND if staff else ContactEvent.Direction.INBOUND,
        subject=contact_text(subject, customer=customer, amount=amount, **_lot_values(bid.lot)),
        body=bid.note if not staff else "",
        staff=staff,
        source=bid,
    )


def _locked_own(bid: BidRequest, customer: User) -> BidRequest:
    locked = (
        BidRequest.objects.select_for_update(of=("self",))
        .select_related("lot", "hold__deposit", "customer")
        .filter(pk=bid.pk)
        .first()
    )
    if locked is None or locked.customer_id != customer.pk:
        raise BidRefused(_("There is no such bid request."), kind="not_found")
    if locked.status != BidRequest.Status.PENDING:
        raise BidRefused(
            _(
                "This bid request is %(status)s and can no longer be changed: we are bidding "
                "on it or its result is in."
            )
            % {"status": locked.get_status_display().lower()},
            kind="locked",
        )
    return locked


def bid_request_edit(*, bid: BidRequest, customer: User, max_bid_jpy: int, note: str) -> BidRequest:
    """Change a pending request's maximum or note. The hold follows the new maximum: the old
    hold is released and a new one placed in the same transaction (all or nothing)."""
    note = note.strip()
    terms = auction_settings()
    with transaction.atomic():
        locked = _locked_own(bid, customer)
        lot = locked.lot
        _amount_check(lot, max_bid_jpy, note)
        _open_check(lot, terms)
        _destination_check(customer, lot, locked.port, max_bid_jpy)
        before = {"max_bid_jpy": locked.max_bid_jpy, "note": locked.note}
        old_hold = locked.hold
        if old_hold is not None and max_bid_jpy != locked.max_bid_jpy:
            deposit = old_hold.deposit
            try:
                amount = hold_in(deposit.currency, hold_jpy(max_bid_jpy, terms))
            except PaymentRefused as refused:
                raise BidRefused(str(refused)) from refused
            if amount != old_hold.amount:
                deposit_hold_release(
                    hold=old_hold, actor=customer, reason=f"bid request {locked.pk} changed"
                )
                free = deposit_available(deposit)
                if amount > free:
                    raise BidRefused(
                        _short_message(max_bid_jpy, [(amount, free, deposit.currency)])
                    )
                locked.hold = _hold_place(locked, deposit, amount, customer)
        locked.max_bid_jpy, locked.note = max_bid_jpy, note
        locked.updated_at = timezone.now()
        locked.save(update_fields=["max_bid_jpy", "note", "hold", "updated_at"])
        _history(
            locked,
            gettext_noop(
                "Bid request changed: up to %(amount)s on %(house)s lot %(lot)s (%(when)s JST)"
            ),
            amount=_yen(max_bid_jpy),
        )
        audit_event_record(
            action="bid.edited",
            actor=customer,
            obj=locked,
            subject_id=customer.pk,
            details={"before": before["max_bid_jpy"], "after": max_bid_jpy},
        )
    return locked


def bid_request_withdraw(*, bid: BidRequest, customer: User) -> BidRequest:
    """The customer no longer wants the car: the request ends and its hold is released."""
    with transaction.atomic():
        locked = _locked_own(bid, customer)
        if locked.hold is not None:
            deposit_hold_release(
                hold=locked.hold, actor=customer, reason=f"bid request {locked.pk} withdrawn"
            )
        locked.status = BidRequest.Status.WITHDRAWN
        locked.updated_at = timezone.now()
        locked.save(update_fields=["status", "updated_at"])
        _history(
            locked, gettext_noop("Bid request withdrawn: %(house)s lot %(lot)s (%(when)s JST)")
        )
        audit_event_record(
            action="bid.withdrawn", actor=customer, obj=locked, subject_id=customer.pk
        )
    return locked


# --- Staff: processing and results --------------------------------------------------------------


def _locked_for_staff(bid: BidRequest, *, expected: str) -> BidRequest:
    locked = (
        BidRequest.objects.select_for_update(of=("self",))
        .select_related("lot__make", "lot__model", "hold__deposit", "customer", "port")
        .get(pk=bid.pk)
    )
    if locked.status != expected:
        if expected == BidRequest.Status.PROCESSED and locked.status == BidRequest.Status.PENDING:
            message = _("Mark the request processed before recording its result.")
        else:
            message = _("This bid request is %(status)s.") % {
                "status": locked.get_status_display().lower()
            }
        raise BidRefused(message, kind="locked")
    return locked


def bid_request_mark_processed(*, bid: BidRequest, staff: User) -> BidRequest:
    """Staff take the request to the auction hall: from now on the customer cannot change it."""
    with transaction.atomic():
        locked = _locked_for_staff(bid, expected=BidRequest.Status.PENDING)
        locked.status = BidRequest.Status.PROCESSED
        locked.processed_at = locked.updated_at = timezone.now()
        locked.processed_by = staff
        locked.save(update_fields=["status", "processed_at", "processed_by", "updated_at"])
        _history(
            locked,
            gettext_noop(
                "We are bidding for you: %(house)s lot %(lot)s (%(when)s JST), up to %(amount)s"
            ),
            amount=_yen(locked.max_bid_jpy),
            staff=staff,
            kind=ContactEvent.Kind.NOTICE,
        )
        audit_event_record(
            action="bid.processed", actor=staff, obj=locked, subject_id=locked.customer_id
        )
    return locked


@dataclass(frozen=True)
class AuctionCosts:
    """What a won lot cost at the auction, in yen."""

    hammer_price_jpy: int
    auction_fee_jpy: int = 0
    recycle_fee_jpy: int = 0
    tax_jpy: int = 0


def _charges(costs: AuctionCosts, currency: str) -> list[ExtraCharge]:
    """The auction's costs as proforma charges in its currency, at the latest rate."""
    jpy_per_unit = fx_rate_between(currency, "JPY")
    named = [
        ("Auction fee", costs.auction_fee_jpy),
        ("Recycle fee", costs.recycle_fee_jpy),
        ("Consumption tax", costs.tax_jpy),
    ]
    return [
        ExtraCharge(
            description=f"{label} (JPY {amount:,})",
            amount=quantize(Decimal(amount) / jpy_per_unit, currency),
        )
        for label, amount in named
        if amount
    ]


def _bank_account(currency: str) -> BankAccount:
    account = BankAccount.objects.filter(currency=currency, is_active=True).order_by("pk").first()
    if account is None:
        raise BidRefused(
            _("No bank account in %(currency)s is in use, so no proforma can be issued.")
            % {"currency": currency}
        )
    return account


def _won_vehicle(lot: AuctionLot, price_jpy: int, staff: User) -> Vehicle:
    vehicle = vehicle_from_lot(lot, price_jpy=price_jpy)
    if Vehicle.objects.filter(stock_number=vehicle.stock_number).exists():
        raise BidRefused(
            _("Stock number %(number)s is already in use.") % {"number": vehicle.stock_number}
        )
    other = live_vehicle_with_chassis(vehicle.chassis_number)
    if other is not None:
        raise BidRefused(
            _("Vehicle %(other)s in stock already has chassis number %(chassis)s.")
            % {"other": other.stock_number, "chassis": vehicle.chassis_number}
        )
    return vehicle_save(vehicle=vehicle, actor=staff)


def _won_order(
    bid: BidRequest, vehicle: Vehicle, currency: str, costs: AuctionCosts, staff: User
) -> Order:
    """Proforma for the won car (FOB, or C&F to the request's port), accepted at once: the
    request was the customer's commitment to buy at up to its maximum."""
    draft = ProformaDraft(
        customer=bid.customer,
        vehicles=[vehicle],
        incoterm=Incoterm.CNF if bid.port else Incoterm.FOB,
        destination_country=_destination(bid.customer, bid.port),
        currency=currency,
        bank_account=_bank_account(currency),
        port=bid.port,
        extra_charges=_charges(costs, currency),
        # Printed on the customer's proforma: in their language, as the rest of it.
        notes=contact_text(
            gettext_noop(
                "Won at %(house)s lot %(lot)s (%(when)s JST) for you (bid request %(number)s)."
            ),
            customer=bid.customer,
            number=str(bid.pk),
            **_lot_values(bid.lot),
        ),
    )
    proforma = proforma_issue(draft=draft, staff=staff)
    return proforma_accept(proforma=proforma, customer=bid.customer)


def _costs_check(bid: BidRequest, costs: AuctionCosts) -> None:
    amounts = [costs.hammer_price_jpy, costs.auction_fee_jpy, costs.recycle_fee_jpy, costs.tax_jpy]
    if any(a < 0 or a > MAX_BID_JPY for a in amounts) or costs.hammer_price_jpy <= 0:
        raise BidRefused(_("Enter the amounts in whole yen, the hammer price above zero."))
    if costs.hammer_price_jpy > bid.max_bid_jpy:
        raise BidRefused(
            _("The hammer price %(price)s is above the customer's maximum of %(max)s.")
            % {"price": _yen(costs.hammer_price_jpy), "max": _yen(bid.max_bid_jpy)}
        )
    if BidRequest.objects.filter(lot=bid.lot, status=BidRequest.Status.WON).exists():
        raise BidRefused(_("This lot has already been recorded as won for another request."))


def bid_result_won(*, bid: BidRequest, staff: User, costs: AuctionCosts) -> BidRequest:
    """We won the lot: the car enters stock reserved for the customer, an order with the
    auction's costs exists, and the held deposit is asked to pay it (accounting approves)."""
    with transaction.atomic():
        locked = _locked_for_staff(bid, expected=BidRequest.Status.PROCESSED)
        _costs_check(locked, costs)
        hold = locked.hold
        if hold is None:
            raise BidRefused(_("This request holds no deposit."))
        try:
            vehicle = _won_vehicle(locked.lot, costs.hammer_price_jpy, staff)
            order = _won_order(locked, vehicle, hold.deposit.currency, costs, staff)
            deposit_hold_convert(hold=hold, order=order, actor=staff)
        except ProformaRefused as refused:
            raise BidRefused(" ".join(refused.reasons)) from refused
        except PaymentRefused as refused:
            raise BidRefused(str(refused)) from refused
        _result_save(locked, BidRequest.Status.WON, costs, staff, vehicle=vehicle, order=order)
        lot = locked.lot
        lot.status = AuctionLot.Status.CLOSED
        lot.save(update_fields=["status"])
        _tell_result(
            locked,
            "won",
            gettext_noop("Won: %(house)s lot %(lot)s (%(when)s JST) for %(amount)s"),
            amount=_yen(costs.hammer_price_jpy),
        )
        audit_event_record(
            action="bid.won",
            actor=staff,
            obj=locked,
            subject_id=locked.customer_id,
            details={
                "hammer_price_jpy": costs.hammer_price_jpy,
                "vehicle": vehicle.stock_number,
                "order": order.number,
            },
        )
    return locked


def bid_result_lost(
    *, bid: BidRequest, staff: User, hammer_price_jpy: int | None = None
) -> BidRequest:
    """Someone else bought the lot (at `hammer_price_jpy`, when known): the hold is released."""
    with transaction.atomic():
        locked = _locked_for_staff(bid, expected=BidRequest.Status.PROCESSED)
        if hammer_price_jpy is not None and not 0 < hammer_price_jpy <= MAX_BID_JPY:
            raise BidRefused(_("Enter the hammer price in whole yen, above zero."))
        if locked.hold is not None:
            deposit_hold_release(
                hold=locked.hold, actor=staff, reason=f"bid request {locked.pk} lost"
            )
        costs = AuctionCosts(hammer_price_jpy or 0)
        _result_save(locked, BidRequest.Status.LOST, costs, staff)
        _tell_result(locked, "lost", gettext_noop("Not won: %(house)s lot %(lot)s (%(when)s JST)"))
        audit_event_record(
            action="bid.lost",
            actor=staff,
            obj=locked,
            subject_id=locked.customer_id,
            details={"hammer_price_jpy": hammer_price_jpy},
        )
    return locked


def _result_save(
    bid: BidRequest,
    status: str,
    costs: AuctionCosts,
    staff: User,
    *,
    vehicle: Vehicle | None = None,
    order: Order | None = None,
) -> None:
    bid.status = status
    bid.hammer_price_jpy = costs.hammer_price_jpy or None
    if status == BidRequest.Status.WON:
        bid.auction_fee_jpy = costs.auction_fee_jpy
        bid.recycle_fee_jpy = costs.recycle_fee_jpy
        bid.tax_jpy = costs.tax_jpy
    bid.result_at = bid.updated_at = timezone.now()
    bid.result_by = staff
    bid.vehicle, bid.order = vehicle, order
    bid.save()


def _tell_result(bid: BidRequest, result: str, subject: str, *, amount: str = "") -> None:
    """E-mail the customer the result and log it in their contact history (`subject` as for
    `_history`)."""
    customer = bid.customer
    contact_event_record(
        email=customer.email,
        customer=customer,
        kind=ContactEvent.Kind.NOTICE,
        direction=ContactEvent.Direction.OUTBOUND,
        subject=contact_text(subject, customer=customer, amount=amount, **_lot_values(bid.lot)),
        staff=bid.result_by,
        source=bid,
    )
    mail_send_template(
        to=customer.email,
        template=f"auctions/email/bid_{result}",
        context={
            "bid": bid,
            "lot": bid.lot,
            "customer": customer,
            "site_url": settings.SITE_URL,
        },
        language=customer.language,
    )
