"""CSV import of vehicles: every row checked first, all or nothing, errors name the line;
re-importing the same file updates instead of duplicating (keyed on stock number)."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from exportdesk.core.models import AuditEvent
from exportdesk.stock.imports import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, vehicles_import_csv
from exportdesk.stock.models import Vehicle, VehicleModel
from tests.conftest import staff_login
from tests.stock.factories import vehicle

pytestmark = pytest.mark.django_db

HEADER = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


def row(**overrides: str) -> dict[str, str]:
    values = {
        "stock_number": "CSV001",
        "make": "Toyota",
        "model": "Prius",
        "grade": "S Touring",
        "body_type": "hatchback",
        "first_registration": "2019-03",
        "manufacture_year": "2018",
        "chassis_number": "ZVW30-1000001",
        "engine_cc": "1800",
        "fuel": "hybrid",
        "transmission": "cvt",
        "drive": "2wd",
        "steering": "rhd",
        "mileage_km": "82,000",
        "colour": "Pearl White",
        "seats": "5",
        "doors": "5",
        "length_mm": "4480",
        "width_mm": "1745",
        "height_mm": "1490",
        "weight_kg": "1380",
        "fob_price_jpy": "1,150,000",
        "yard_location": "Yokohama Daikoku",
        "features": "Navigation\\nBack camera",
        "condition_notes": "",
    }
    values.update(overrides)
    return values


def make_csv(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    columns = header or HEADER
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for r in rows:
        writer.writerow([r.get(c, "") for c in columns])
    return out.getvalue()


def three_cars() -> list[dict[str, str]]:
    return [
        row(),
        row(
            stock_number="CSV002",
            model="Hiace Van",
            body_type="van",
            chassis_number="kdh201-2000002",
            engine_cc="3000",
            fuel="diesel",
            transmission="AT",
            seats="10",
            fob_price_jpy="2200000",
        ),
        row(
            stock_number="CSV003",
            make="Nissan",
            model="Leaf",
            chassis_number="ZE1-3000003",
            engine_cc="0",
            fuel="electric",
            steering="LHD",
            fob_price_jpy="1500000",
        ),
    ]


def import_text(text: str, encoding: str = "utf-8"):
    return vehicles_import_csv(data=text.encode(encoding), actor=None)


def test_a_valid_file_creates_the_vehicles():
    report = import_text(make_csv(three_cars()))
    assert report.ok, report.errors
    assert (report.created, report.updated) == (3, 0)
    prius = Vehicle.objects.get(stock_number="CSV001")
    assert prius.model.name == "Prius" and prius.make.name == "Toyota"
    assert (prius.first_registration_year, prius.first_registration_month) == (2019, 3)
    assert prius.mileage_km == 82_000
    assert prius.fob_price_jpy == 1_150_000
    assert prius.feature_list == ["Navigation", "Back camera"]
    assert prius.status == "available"
    hiace = Vehicle.objects.get(stock_number="CSV002")
    assert hiace.chassis_number == "KDH201-2000002"
    assert hiace.transmission == "at"
    assert Vehicle.objects.get(stock_number="CSV003").steering == "lhd"
    assert AuditEvent.objects.filter(action="vehicles.imported").count() == 1


def test_importing_the_same_file_again_updates_instead_of_duplicating():
    text = make_csv(three_cars())
    import_text(text)
    ids = dict(Vehicle.objects.values_list("stock_number", "pk"))
    report = import_text(text)
    assert report.ok, report.errors
    assert (report.created, report.updated) == (0, 3)
    assert Vehicle.objects.count() == 3
    assert dict(Vehicle.objects.values_list("stock_number", "pk")) == ids


def test_a_changed_file_updates_the_named_vehicles_and_adds_the_new_ones():
    import_text(make_csv(three_cars()))
    cars = three_cars()
    cars[0]["fob_price_jpy"] = "990000"
    cars.append(row(stock_number="CSV004", chassis_number="ZVW30-1000004"))
    report = import_text(make_csv(cars))
    assert (report.created, report.updated) == (1, 3)
    assert Vehicle.objects.get(stock_number="CSV001").fob_price_jpy == 990_000
    assert Vehicle.objects.count() == 4


def test_re_importing_keeps_the_status_staff_set():
    import_text(make_csv(three_cars()))
    Vehicle.objects.filter(stock_number="CSV001").update(status="reserved")
    import_text(make_csv(three_cars()))
    assert Vehicle.objects.get(stock_number="CSV001").status == "reserved"


def test_a_model_not_in_the_reference_data_is_added_to_its_make():
    report = import_text(make_csv([row(model="Crown Athlete")]))
    assert report.ok, report.errors
    assert VehicleModel.objects.filter(make__slug="toyota", name="Crown Athlete").exists()


def test_a_byte_order_mark_from_excel_is_fine():
    report = vehicles_import_csv(data=make_csv([row()]).encode("utf-8-sig"), actor=None)
    assert report.ok, report.errors


def test_a_file_with_wrong_columns_names_line_1_and_writes_nothing():
    header = [c for c in HEADER if c != "engine_cc"] + ["colour_code"]
    report = import_text(make_csv([row()], header=header))
    assert not report.ok
    assert report.errors == [(1, "missing columns: engine_cc; unknown columns: colour_code")]
    assert not Vehicle.objects.exists()


def test_only_the_optional_columns_may_be_left_out():
    report = import_text(make_csv([row()], header=REQUIRED_COLUMNS))
    assert report.ok, report.errors


def _only(report) -> tuple[int, str]:
    assert not report.ok
    assert len(report.errors) == 1, report.errors
    return report.errors[0]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"engine_cc": "1.8L"}, "engine_cc: '1.8L' is not a whole number"),
        ({"fob_price_jpy": "¥1,150,000"}, "fob_price_jpy: '¥1150000' is not a whole number"),
        ({"mileage_km": ""}, "mileage_km: '' is not a whole number"),
        ({"seats": "-5"}, "seats: Ensure this value is greater than or equal to 0."),
        ({"first_registration": "2019/03"}, "'2019/03' is not a year and month like 2019-03"),
        ({"first_registration": "March 2019"}, "is not a year and month like 2019-03"),
        ({"first_registration": "2019-03-01"}, "is not a year and month like 2019-03"),
        ({"first_registration": "2019-13"}, "first_registration_month: Ensure this value is less"),
        (
            {"first_registration": "1800-03"},
            "first_registration_year: Ensure this value is greater",
        ),
        ({"make": "Ferrari"}, "make: unknown make 'Ferrari'"),
        ({"fuel": "steam"}, "fuel: Value 'steam' is not a valid choice."),
        ({"chassis_number": "not-a-chassis"}, "chassis_number: Enter a Japanese frame number"),
        ({"stock_number": ""}, "stock_number is empty"),
        ({"stock_number": "X" * 21}, "stock_number: Ensure this value has at most 20 characters"),
    ],
)
def test_a_bad_value_names_its_line_and_writes_nothing(bad, reason):
    cars = three_cars()
    cars[1].update(bad)
    report = import_text(make_csv(cars))
    line, message = _only(report)
    assert line == 3  # header is line 1, the second car is line 3
    assert reason in message
    assert not Vehicle.objects.exists()
    assert (report.created, report.updated) == (0, 0)


def test_every_bad_line_is_listed_in_order():
    cars = three_cars()
    cars[2]["engine_cc"] = "big"
    cars[0]["first_registration"] = "soon"
    report = import_text(make_csv(cars))
    assert [line for line, _ in report.errors] == [2, 4]


def test_a_duplicate_stock_number_within_the_file_names_both_lines():
    cars = three_cars()
    cars[2]["stock_number"] = "CSV001"
    report = import_text(make_csv(cars))
    assert _only(report) == (4, "stock number CSV001 is already on line 2")
    assert not Vehicle.objects.exists()


def test_a_duplicate_chassis_number_within_the_file_names_both_lines():
    cars = three_cars()
    cars[2]["chassis_number"] = "zvw30-1000001"
    report = import_text(make_csv(cars))
    assert _only(report) == (4, "chassis number ZVW30-1000001 is already on line 2")
    assert not Vehicle.objects.exists()


def test_a_chassis_number_of_a_live_vehicle_in_stock_is_refused():
    vehicle(stock_number="OLD001", chassis_number="KDH201-2000002")
    report = import_text(make_csv(three_cars()))
    assert _only(report) == (3, "chassis number KDH201-2000002 already belongs to vehicle OLD001")
    assert Vehicle.objects.count() == 1


def test_a_chassis_number_of_a_withdrawn_vehicle_may_be_imported_again():
    vehicle(stock_number="OLD001", chassis_number="KDH201-2000002", status="withdrawn")
    report = import_text(make_csv(three_cars()))
    assert report.ok, report.errors


def test_a_row_with_too_many_or_too_few_cells_is_refused():
    text = make_csv(three_cars())
    lines = text.splitlines()
    lines[1] += ",extra"
    lines[3] = ",".join(lines[3].split(",")[:5])
    report = import_text("\n".join(lines) + "\n")
    assert [line for line, _ in report.errors] == [2, 4]
    assert all("same number of columns" in reason for _, reason in report.errors)
    assert not Vehicle.objects.exists()


@pytest.mark.parametrize(
    ("encoding", "colour", "line"),
    [("cp1252", "Bleu métallisé", 3), ("shift_jis", "パールホワイト", 4), ("latin-1", "Crème", 2)],
)
def test_a_file_not_in_utf8_names_the_line_and_writes_nothing(encoding, colour, line):
    cars = three_cars()
    cars[line - 2]["colour"] = colour
    report = import_text(make_csv(cars), encoding=encoding)
    assert not report.ok
    (_, reason), *rest = report.errors
    assert rest == []
    assert f"Line {line}: the file is not UTF-8 text" in reason
    assert "CSV UTF-8" in reason
    assert not Vehicle.objects.exists()


def test_japanese_text_in_utf8_is_fine():
    report = import_text(make_csv([row(colour="パールホワイト", grade="Sツーリング")]))
    assert report.ok, report.errors
    assert Vehicle.objects.get().colour == "パールホワイト"


def test_a_file_with_one_bad_row_among_many_writes_nothing():
    cars = [
        row(stock_number=f"CSV{n:03d}", chassis_number=f"ZVW30-{1000000 + n}") for n in range(50)
    ]
    cars[37]["doors"] = "four"
    report = import_text(make_csv(cars))
    assert _only(report)[0] == 39
    assert not Vehicle.objects.exists()
    assert not AuditEvent.objects.filter(action="vehicles.imported").exists()


def test_a_dry_run_checks_without_writing():
    report = vehicles_import_csv(data=make_csv(three_cars()).encode(), actor=None, dry_run=True)
    assert report.ok
    assert report.created == 3
    assert not Vehicle.objects.exists()


def test_an_empty_file_is_refused():
    report = vehicles_import_csv(data=b"", actor=None)
    assert not report.ok
    assert not Vehicle.objects.exists()


# --- the back-office page ---------------------------------------------------------------------


def _post(client: Client, content: bytes, name: str = "stock.csv"):
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post("/backoffice/stock/import/", {"file": upload})


def test_sales_staff_import_a_file_from_the_back_office(client, sales):
    staff_login(client, sales)
    page = client.get("/backoffice/stock/import/").content.decode()
    assert "stock_number, make, model" in page
    response = _post(client, make_csv(three_cars()).encode())
    assert response.status_code == 302
    assert response.url == "/backoffice/stock/"
    listing = client.get(response.url).content.decode()
    assert "Imported: 3 new vehicles, 0 updated." in listing
    assert Vehicle.objects.count() == 3
    response = _post(client, make_csv(three_cars()).encode())
    assert "Imported: 0 new vehicles, 3 updated." in client.get(response.url).content.decode()
    assert Vehicle.objects.count() == 3
    event = AuditEvent.objects.filter(action="vehicles.imported").last()
    assert event.actor_id == sales.pk


def test_the_page_lists_each_bad_line_and_imports_nothing(client, sales):
    staff_login(client, sales)
    cars = three_cars()
    cars[0]["engine_cc"] = "1.8L"
    cars[2]["stock_number"] = "CSV002"
    response = _post(client, make_csv(cars).encode())
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was imported. Fix these lines and try again:" in body
    assert "Line 2: engine_cc: &#x27;1.8L&#x27; is not a whole number" in body
    assert "Line 4: stock number CSV002 is already on line 3" in body
    assert not Vehicle.objects.exists()


def test_the_page_explains_a_file_in_the_wrong_encoding(client, sales):
    staff_login(client, sales)
    cars = three_cars()
    cars[1]["colour"] = "Gris foncé"
    response = _post(client, make_csv(cars).encode("cp1252"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Line 3: the file is not UTF-8 text." in body
    assert not Vehicle.objects.exists()


def test_the_page_refuses_a_missing_file(client, sales):
    staff_login(client, sales)
    # A browser sends the form's CSRF token even when no file was chosen.
    response = client.post("/backoffice/stock/import/", {"csrfmiddlewaretoken": "x"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_customers_cannot_import(alice_client):
    response = _post(alice_client, make_csv(three_cars()).encode())
    assert response.status_code == 403
    assert not Vehicle.objects.exists()
