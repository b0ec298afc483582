"""Demo data for the logistics desk: one shipment for the Kenyan demo customer's order, when
that order exists. Idempotent: the shipment is found again by its demo booking number."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from exportdesk.accounts.demo import DEMO_DOMAIN
from exportdesk.accounts.models import User
from exportdesk.privacy.models import Recipient
from exportdesk.sales.models import Order
from exportdesk.shipping.models import Shipment
from exportdesk.shipping.parties import ShippingRefused
from exportdesk.shipping.shipments import ShipmentDetails, shipment_create, shipment_order_add
from exportdesk.stock.models import ShippingMethod


def _recipient(kind: str) -> Recipient | None:
    return Recipient.objects.filter(kind=kind, is_active=True).order_by("name").first()


def seed_demo() -> list[str]:
    customer = User.objects.filter(email=f"wanjiku@{DEMO_DOMAIN}").first()
    logistics = User.objects.filter(email=f"logistics@{DEMO_DOMAIN}").first()
    order = (
        Order.objects.filter(customer=customer, proforma__port__isnull=False)
        .exclude(status=Order.Status.CANCELLED)
        .select_related("proforma__port")
        .order_by("pk")
        .first()
        if customer
        else None
    )
    if order is None or logistics is None or order.proforma.port is None:
        return []
    booking_number = f"DEMO-{order.number}"
    if Shipment.objects.filter(booking_number=booking_number).exists():
        return []
    today = timezone.localdate()
    shipment = shipment_create(
        details=ShipmentDetails(
            method=ShippingMethod.RORO,
            port_of_loading="Yokohama",
            port_of_discharge=order.proforma.port,
            shipping_line=_recipient(Recipient.Kind.SHIPPING_LINE),
            forwarder=_recipient(Recipient.Kind.FORWARDER),
            vessel="Demo Highway",
            voyage="101W",
            booking_number=booking_number,
            cutoff_date=today + timedelta(days=7),
            etd=today + timedelta(days=10),
            eta=today + timedelta(days=34),
        ),
        actor=logistics,
    )
    lines = [f"demo shipment {shipment.reference} to {shipment.port_of_discharge.name}"]
    try:
        shipment_order_add(shipment=shipment, order=order, actor=logistics)
    except ShippingRefused as refused:
        # Unpaid or without a consignee yet: the shipment waits for it on the board.
        lines.append(f"  order {order.number} not on it yet: {refused}")
    else:
        lines.append(f"  carrying order {order.number}")
    return lines
