"""CSV import of auction lots: all or nothing, every bad line named with its number and reason,
a dry run that writes nothing, and times read as Japan time."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from exportdesk.auctions.imports import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, lots_import_csv
from exportdesk.auctions.models import AuctionLot
from exportdesk.core.models import AuditEvent
from tests.auctions.factories import at_japan, lot
from tests.conftest import staff_login
from tests.factories import staff
from tests.stock.factories import this_year

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(db):
    return staff("sam.sales@exporter.example", "sales")


def row(**changes: str) -> dict[str, str]:
    values = {
        "auction_house": "USS Nagoya",
        "auction_date": "2099-06-12",
        "auction_time": "13:30",
        "lot_number": "30001",
        "make": "Toyota",
        "model": "Prius",
        "year": str(this_year() - 3),
        "grade": "S Touring",
        "body_type": "hatchback",
        "chassis_number": "ZVW50-8000001",
        "engine_cc": "1,800",
        "fuel": "Hybrid",
        "transmission": "CVT",
        "drive": "2wd",
        "steering": "rhd",
        "mileage_km": "45,000",
        "colour": "silver",
        "seats": "5",
        "doors": "5",
        "length_mm": "4540",
        "width_mm": "1760",
        "height_mm": "1470",
        "weight_kg": "1370",
        "auction_grade": "4",
        "start_price_jpy": "650,000",
        "sheet_notes": "Scratch A1 on the rear bumper.\\nSeats B.",
    }
    values.update(changes)
    return values


def csv_bytes(*rows: dict[str, str], columns: list[str] | None = None) -> bytes:
    out = io.StringIO()
    names = columns or REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_a_good_file_imports_every_lot_in_japan_time(sam):
    data = csv_bytes(row(), row(lot_number="30002", chassis_number="ZVW50-8000002"))
    report = lots_import_csv(data=data, actor=sam)
    assert report.ok and report.created == 2
    first = AuctionLot.objects.get(lot_number="30001")
    assert first.auction_at == at_japan("2099-06-12 13:30")
    assert first.auction_at.utcoffset() is not None
    assert (first.fuel, first.transmission, first.colour) == ("hybrid", "cvt", "Silver")
    assert first.mileage_km == 45_000 and first.start_price_jpy == 650_000
    assert first.sheet_notes == "Scratch A1 on the rear bumper.\nSeats B."
    assert first.created_by == sam
    assert AuditEvent.objects.filter(action="auction_lots.imported").exists()


def test_bad_dates_are_named_by_line_and_nothing_is_imported(sam):
    data = csv_bytes(
        row(),
        row(lot_number="30002", chassis_number="ZVW50-8000002", auction_date="12/06/2099"),
        row(lot_number="30003", chassis_number="ZVW50-8000003", auction_date="2099-02-30"),
        row(lot_number="30004", chassis_number="ZVW50-8000004", auction_time="25:00"),
        row(lot_number="30005", chassis_number="ZVW50-8000005", auction_date="2001-06-12"),
    )
    report = lots_import_csv(data=data, actor=sam)
    assert not report.ok and report.created == 0
    errors = dict(report.errors)
    assert sorted(errors) == [3, 4, 5, 6]
    assert errors[3] == "auction_date: '12/06/2099' is not a date like 2025-06-12"
    assert errors[4] == "auction_date: Enter a valid date."
    assert errors[5] == "auction_time: Enter a valid time."
    assert errors[6] == "auction_date: The auction date and time are in the past."
    assert not AuctionLot.objects.exists()


def test_duplicate_lot_numbers_in_the_file_or_already_listed_are_refused(sam):
    lot(auction_house="USS Nagoya", auction_at=at_japan("2099-06-12 10:00"), lot_number="30009")
    data = csv_bytes(
        row(),
        row(chassis_number="ZVW50-8000002"),  # same house, day and lot as line 2
        row(lot_number="30009", chassis_number="ZVW50-8000003"),  # listed already
        row(lot_number="30001", auction_date="2099-06-13", chassis_number="ZVW50-8000004"),
    )
    report = lots_import_csv(data=data, actor=sam)
    errors = dict(report.errors)
    assert errors == {
        3: "lot_number: lot 30001 is already on line 2",
        4: "lot_number: Lot 30009 of USS Nagoya on 2099-06-12 is already listed.",
    }
    assert AuctionLot.objects.count() == 1


def test_unknown_makes_models_and_numbers_out_of_range_are_explained(sam):
    data = csv_bytes(
        row(make="Toyoda"),
        row(lot_number="30002", model="Skyline"),
        row(lot_number="30003", mileage_km="3,000,000", year="1900"),
        row(lot_number="30004", start_price_jpy="0", engine_cc="abc"),
        row(lot_number="30005", fuel="steam", chassis_number="NOT A FRAME"),
    )
    errors = dict(lots_import_csv(data=data, actor=sam).errors)
    assert errors[2] == "make: unknown make 'Toyoda'"
    assert errors[3] == "model: Toyota has no model 'Skyline'"
    assert "mileage_km: Ensure this value is less than or equal to 2000000." in errors[4]
    assert "year: Ensure this value is greater than or equal to 1950." in errors[4]
    assert "start_price_jpy: Ensure this value is greater than or equal to 1." in errors[5]
    assert "engine_cc: Enter a whole number." in errors[5]
    assert "fuel: Select a valid choice." in errors[6]
    assert "chassis_number: Enter a Japanese frame number" in errors[6]
    assert not AuctionLot.objects.exists()


def test_missing_columns_are_named(sam):
    columns = [c for c in REQUIRED_COLUMNS if c not in ("auction_time", "start_price_jpy")]
    report = lots_import_csv(data=csv_bytes(row(), columns=columns), actor=sam)
    assert report.errors == [(1, "missing columns: auction_time, start_price_jpy")]


def test_a_short_row_and_a_file_that_is_not_utf8_are_refused(sam):
    data = csv_bytes(row()) + b"USS Nagoya,2099-06-12\n"
    assert lots_import_csv(data=data, actor=sam).errors == [
        (3, "the row does not have as many columns as the header")
    ]
    latin = csv_bytes(row(auction_house="USS Kōbe")).decode().encode("latin-1", "replace")
    assert "UTF-8" in lots_import_csv(data=latin.replace(b"?", b"\xe9"), actor=sam).errors[0][1]
    assert not AuctionLot.objects.exists()


def test_a_dry_run_previews_and_writes_nothing(sam):
    report = lots_import_csv(data=csv_bytes(row()), actor=sam, dry_run=True)
    assert report.ok and report.created == 0
    assert [p.lot_number for p in report.preview] == ["30001"]
    assert not AuctionLot.objects.exists()


def test_the_import_page_previews_lists_bad_lines_and_imports(client, sam):
    staff_login(client, sam)
    page = client.get("/backoffice/auctions/lots/import/")
    assert page.status_code == 200
    for column in REQUIRED_COLUMNS:
        assert f"<code>{column}</code>" in page.content.decode()

    def upload(data: bytes, action: str):
        return client.post(
            "/backoffice/auctions/lots/import/",
            {"file": SimpleUploadedFile("lots.csv", data, "text/csv"), "action": action},
        )

    bad = upload(csv_bytes(row(), row(auction_date="tomorrow")), "import")
    assert bad.status_code == 400
    assert "Line 3: auction_date: &#x27;tomorrow&#x27; is not a date" in bad.content.decode()
    assert not AuctionLot.objects.exists()

    preview = upload(csv_bytes(row()), "preview")
    assert preview.status_code == 200
    assert "Preview: 1 lot is ready to import" in preview.content.decode()
    assert not AuctionLot.objects.exists()

    done = upload(csv_bytes(row()), "import")
    assert done.status_code == 302 and AuctionLot.objects.count() == 1


def test_only_staff_who_add_lots_may_import(client, alice, db):
    client.force_login(alice)
    assert client.get("/backoffice/auctions/lots/import/").status_code == 403
    client.logout()
    logistics = staff("lou.logistics@exporter.example", "logistics")
    staff_login(client, logistics)
    assert client.get("/backoffice/auctions/lots/import/").status_code == 403
    response = client.post(
        "/backoffice/auctions/lots/import/",
        {"file": SimpleUploadedFile("lots.csv", csv_bytes(row()), "text/csv"), "action": "import"},
    )
    assert response.status_code == 403 and not AuctionLot.objects.exists()
