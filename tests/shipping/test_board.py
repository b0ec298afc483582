"""The logistics board: shipments by cut-off date with their orders, missing inspections and
documents, overdue cut-offs highlighted, filters by status and port; its query count does not
grow with the rows."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exportdesk.shipping.documents import document_upload
from exportdesk.shipping.models import DocumentKind, Shipment
from exportdesk.shipping.shipments import timeline_event_record
from tests.conftest import staff_login
from tests.shipping.logistics import (
    officer,
    passed_inspection,
    pdf,
    shipment,
    shippable_order,
    upload,
)
from tests.stock.factories import kingston

pytestmark = pytest.mark.django_db

Status = Shipment.Status


@pytest.fixture
def desk(client: Client) -> Client:
    return staff_login(client, officer())


def rows(response: Any) -> list[list[str]]:
    """The board's rows as the cells' text."""
    body = unescape(response.content.decode()).split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def day(offset: int) -> Any:
    return timezone.localdate() + timedelta(days=offset)


def test_the_board_lists_shipments_by_cut_off_with_their_counts(desk, alice):
    inspected = shippable_order(alice)
    passed_inspection(inspected)
    document_upload(
        order=inspected,
        kind=DocumentKind.EXPORT_CERTIFICATE,
        title="",
        upload=upload(pdf("export certificate")),
        actor=officer(),
    )
    late = shipment(inspected, shippable_order(alice), cutoff_date=day(-2), book=True)
    soon = shipment(cutoff_date=day(5), etd=day(8), eta=day(30))
    undated = shipment(port=kingston())

    response = desk.get("/backoffice/shipping/")

    assert response.status_code == 200
    table = rows(response)
    assert [r[0].split()[0] for r in table] == [late.reference, soon.reference, undated.reference]
    late_row = table[0]
    assert late_row[1] == f"{day(-2):%Y-%m-%d} overdue"
    assert late_row[2] == "Booked"
    # Two orders; the second misses Kenya's inspection; documents: the first has its export
    # certificate but lacks the invoice, B/L and inspection certificate, the second lacks all four.
    assert late_row[6:9] == ["2", "1", "7"]
    assert table[1][1] == f"{day(5):%Y-%m-%d}"
    assert table[1][2] == "Not booked"
    assert table[2][6:9] == ["0", "0", "0"]
    assert 'class="overdue"' in response.content.decode()


def test_a_loaded_shipment_is_not_overdue_and_arrived_ones_leave_the_default_view(desk, alice):
    order = shippable_order(alice)
    passed_inspection(order)
    loaded = shipment(order, cutoff_date=day(-3), book=True)
    for step in (Status.AT_PORT, Status.LOADED):
        timeline_event_record(shipment=loaded, status=step, actor=officer())
    table = rows(desk.get("/backoffice/shipping/"))
    assert table[0][1] == f"{day(-3):%Y-%m-%d}"
    assert table[0][2] == "Loaded"

    for step in (Status.SAILED, Status.ARRIVED):
        timeline_event_record(shipment=loaded, status=step, actor=officer())
    assert rows(desk.get("/backoffice/shipping/"))[0] == ["No shipments here."]
    assert rows(desk.get("/backoffice/shipping/?state=all"))[0][2] == "Arrived"


def test_the_board_filters_by_status_and_port(desk, alice):
    booked = shipment(shippable_order(alice), book=True)
    planned = shipment()
    jamaica = shipment(port=kingston())

    def listed(query: str) -> list[str]:
        return [r[0].split()[0] for r in rows(desk.get(f"/backoffice/shipping/?{query}"))]

    assert listed("state=booked") == [booked.reference]
    assert listed("state=planned") == [planned.reference, jamaica.reference]
    assert listed(f"port={kingston().pk}") == [jamaica.reference]
    assert listed(f"state=planned&port={booked.port_of_discharge_id}") == [planned.reference]
    # A filter that makes no sense shows the default view rather than an error.
    assert desk.get("/backoffice/shipping/?state=nonsense&port=abc").status_code == 200


def test_the_query_count_does_not_grow_with_the_rows(desk, alice):
    shipment(shippable_order(alice), cutoff_date=day(3))
    with CaptureQueriesContext(connection) as one:
        assert desk.get("/backoffice/shipping/").status_code == 200

    for offset in range(4):
        order = shippable_order(alice)
        passed_inspection(order)
        shipment(order, shippable_order(alice), cutoff_date=day(offset), book=True)
    with CaptureQueriesContext(connection) as five:
        response = desk.get("/backoffice/shipping/")

    assert len(rows(response)) == 5
    assert len(five.captured_queries) == len(one.captured_queries)
