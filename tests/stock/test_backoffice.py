"""Back office for stock: staff add and edit vehicles, change their status, upload photos."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from exportdesk.core.models import AuditEvent
from exportdesk.stock.models import Vehicle, VehicleMake, VehicleModel, VehiclePhoto
from tests.conftest import staff_login
from tests.factories import staff
from tests.stock.factories import jpeg_bytes, noisy_jpeg_bytes, vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales_client(client: Client, sales) -> Client:
    return staff_login(client, sales)


def form_data(**overrides: object) -> dict[str, object]:
    toyota = VehicleMake.objects.get(slug="toyota")
    prius = VehicleModel.objects.get(make=toyota, slug="prius")
    data: dict[str, object] = {
        "stock_number": "BO0001",
        "make": toyota.pk,
        "model": prius.pk,
        "grade": "S Touring",
        "body_type": "hatchback",
        "first_registration_year": 2021,
        "first_registration_month": 3,
        "manufacture_year": 2021,
        "chassis_number": "zvw30-7654321",
        "engine_cc": 1800,
        "fuel": "hybrid",
        "transmission": "cvt",
        "drive": "2wd",
        "steering": "rhd",
        "mileage_km": 45_000,
        "colour": "Pearl White",
        "seats": 5,
        "doors": 5,
        "length_mm": 4480,
        "width_mm": 1745,
        "height_mm": 1490,
        "weight_kg": 1380,
        "fob_price_jpy": 1_250_000,
        "yard_location": "Yokohama Daikoku",
        "features": "Navigation\nBack camera",
        "condition_notes": "Small scratch on the rear bumper.",
    }
    data.update(overrides)
    return data


# --- vehicles ---------------------------------------------------------------------------------


def test_sales_staff_add_a_vehicle(sales_client, sales):
    response = sales_client.post("/backoffice/stock/new/", form_data())
    assert response.status_code == 302
    added = Vehicle.objects.get(stock_number="BO0001")
    assert response.url == f"/backoffice/stock/{added.pk}/"
    assert added.chassis_number == "ZVW30-7654321"  # kept in capitals
    assert added.status == "available"
    assert added.feature_list == ["Navigation", "Back camera"]
    page = sales_client.get(response.url).content.decode()
    assert "Vehicle BO0001 added." in page
    event = AuditEvent.objects.get(action="vehicle.created")
    assert event.actor_id == sales.pk
    # The car is on the public site at once.
    assert Client().get("/stock/BO0001/").status_code == 200


@pytest.mark.parametrize(
    "chassis", ["ZVW30", "ZVW30-12", "1HGCM82633A00435O", "not a number", "ZVW30_1234567"]
)
def test_a_bad_chassis_number_is_a_form_error(sales_client, chassis):
    response = sales_client.post("/backoffice/stock/new/", form_data(chassis_number=chassis))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Please correct the problems below." in body
    assert "Enter a Japanese frame number such as ZVW30-1234567 or a 17-character VIN" in body
    assert not Vehicle.objects.exists()


def test_a_17_character_vin_is_a_good_chassis_number(sales_client):
    response = sales_client.post(
        "/backoffice/stock/new/", form_data(chassis_number="JTDKB20U993123456")
    )
    assert response.status_code == 302
    assert Vehicle.objects.get().chassis_number == "JTDKB20U993123456"


def test_a_model_of_another_make_is_a_form_error(sales_client):
    leaf = VehicleModel.objects.get(slug="leaf")
    response = sales_client.post("/backoffice/stock/new/", form_data(model=leaf.pk))
    assert response.status_code == 400
    assert "That model is not made by Toyota." in response.content.decode()
    assert not Vehicle.objects.exists()


def test_a_duplicate_stock_number_is_a_form_error(sales_client):
    vehicle(stock_number="BO0001", chassis_number="ZVW30-1111111")
    response = sales_client.post("/backoffice/stock/new/", form_data())
    assert response.status_code == 400
    assert "Vehicle with this Stock number already exists." in response.content.decode()
    assert Vehicle.objects.count() == 1


def test_a_chassis_number_already_in_live_stock_is_a_form_error_not_a_500(sales_client):
    vehicle(stock_number="BO0001", chassis_number="ZVW30-1111111")
    response = sales_client.post(
        "/backoffice/stock/new/", form_data(stock_number="BO0002", chassis_number="ZVW30-1111111")
    )
    assert response.status_code == 400
    assert "Please correct the problems below." in response.content.decode()
    assert Vehicle.objects.count() == 1


def test_editing_to_a_chassis_number_already_in_live_stock_is_a_form_error_not_a_500(
    sales_client,
):
    vehicle(stock_number="BO0001", chassis_number="ZVW30-1111111")
    other = vehicle(stock_number="BO0002", chassis_number="ZVW30-2222222")
    response = sales_client.post(
        f"/backoffice/stock/{other.pk}/",
        form_data(stock_number="BO0002", chassis_number="ZVW30-1111111"),
    )
    assert response.status_code == 400
    other.refresh_from_db()
    assert other.chassis_number == "ZVW30-2222222"


def test_bringing_back_a_withdrawn_car_whose_chassis_is_live_again_is_refused_not_a_500(
    sales_client,
):
    old = vehicle(stock_number="OLD001", chassis_number="ZVW30-1111111", status="withdrawn")
    vehicle(stock_number="NEW001", chassis_number="ZVW30-1111111")
    response = sales_client.post(f"/backoffice/stock/{old.pk}/status/", {"status": "available"})
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.status == "withdrawn"
    assert "Status changed." not in sales_client.get(response.url).content.decode()


def test_a_withdrawn_cars_chassis_number_may_come_back_as_new_stock(sales_client):
    vehicle(stock_number="OLD001", chassis_number="ZVW30-1111111", status="withdrawn")
    response = sales_client.post(
        "/backoffice/stock/new/", form_data(chassis_number="ZVW30-1111111")
    )
    assert response.status_code == 302
    assert Vehicle.objects.filter(chassis_number="ZVW30-1111111").count() == 2


def test_sales_staff_edit_a_vehicle(sales_client, sales):
    car = vehicle(stock_number="BO0001", fob_price_jpy=1_250_000)
    data = form_data(
        stock_number="BO0001",
        chassis_number=car.chassis_number,
        fob_price_jpy=1_100_000,
        mileage_km=46_000,
    )
    response = sales_client.post(f"/backoffice/stock/{car.pk}/", data)
    assert response.status_code == 302
    car.refresh_from_db()
    assert (car.fob_price_jpy, car.mileage_km) == (1_100_000, 46_000)
    assert "Vehicle BO0001 saved." in sales_client.get(response.url).content.decode()
    event = AuditEvent.objects.get(action="vehicle.updated")
    assert "fob_price_jpy" in event.details["fields"]
    assert "mileage_km" in event.details["fields"]
    assert "colour" not in event.details["fields"]


def test_an_invalid_edit_changes_nothing(sales_client):
    car = vehicle(stock_number="BO0001", fob_price_jpy=1_250_000)
    response = sales_client.post(
        f"/backoffice/stock/{car.pk}/",
        form_data(chassis_number=car.chassis_number, fob_price_jpy="cheap"),
    )
    assert response.status_code == 400
    car.refresh_from_db()
    assert car.fob_price_jpy == 1_250_000


def test_the_vehicle_list_finds_by_stock_or_chassis_number(sales_client):
    vehicle(stock_number="BO0001", chassis_number="ZVW30-1111111")
    vehicle(stock_number="BO0002", chassis_number="KDH201-2222222", status="withdrawn")
    body = sales_client.get("/backoffice/stock/", {"q": "kdh201"}).content.decode()
    assert "BO0002" in body and "BO0001" not in body
    body = sales_client.get("/backoffice/stock/", {"status": "withdrawn"}).content.decode()
    assert "BO0002" in body and "BO0001" not in body


# --- status -----------------------------------------------------------------------------------


def test_status_changes_follow_the_allowed_transitions(sales_client, sales):
    car = vehicle(stock_number="BO0001")
    for new in ("reserved", "sold", "shipped"):
        response = sales_client.post(f"/backoffice/stock/{car.pk}/status/", {"status": new})
        assert response.status_code == 302
        car.refresh_from_db()
        assert car.status == new
    assert "Status changed." in sales_client.get(f"/backoffice/stock/{car.pk}/").content.decode()
    events = AuditEvent.objects.filter(action="vehicle.status_changed").order_by("seq")
    assert [e.details["to"] for e in events] == ["reserved", "sold", "shipped"]


@pytest.mark.parametrize(
    ("start", "refused", "message"),
    [
        ("shipped", "available", "A vehicle that is Shipped cannot become Available."),
        ("sold", "reserved", "A vehicle that is Sold cannot become Reserved."),
        ("withdrawn", "sold", "A vehicle that is Withdrawn cannot become Sold."),
        ("available", "shipped", "A vehicle that is Available cannot become Shipped."),
        ("available", "available", "A vehicle that is Available cannot become Available."),
    ],
)
def test_a_refused_status_change_says_why_and_changes_nothing(
    sales_client, start, refused, message
):
    car = vehicle(stock_number="BO0001", status=start)
    response = sales_client.post(f"/backoffice/stock/{car.pk}/status/", {"status": refused})
    assert response.status_code == 302
    car.refresh_from_db()
    assert car.status == start
    assert message in sales_client.get(response.url).content.decode()
    assert not AuditEvent.objects.filter(action="vehicle.status_changed").exists()


def test_a_withdrawn_car_leaves_the_public_site_and_can_come_back(sales_client):
    car = vehicle(stock_number="BO0001")
    sales_client.post(f"/backoffice/stock/{car.pk}/status/", {"status": "withdrawn"})
    assert Client().get("/stock/BO0001/").status_code == 404
    sales_client.post(f"/backoffice/stock/{car.pk}/status/", {"status": "available"})
    assert Client().get("/stock/BO0001/").status_code == 200


# --- photos -----------------------------------------------------------------------------------


def _upload(client: Client, car: Vehicle, content: bytes, name: str = "front.jpg", **extra):
    upload = SimpleUploadedFile(name, content, content_type="image/jpeg")
    return client.post(f"/backoffice/stock/{car.pk}/photos/", {"image": upload, **extra})


def _stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_sales_staff_upload_a_photo_and_a_thumbnail_is_made(sales_client):
    car = vehicle(stock_number="BO0001")
    response = _upload(sales_client, car, jpeg_bytes((2400, 1800)), caption="Front view")
    assert response.status_code == 302
    assert "Photo added." in sales_client.get(response.url).content.decode()
    photo = VehiclePhoto.objects.get(vehicle=car)
    assert photo.caption == "Front view"
    assert (photo.width, photo.height) == (2000, 1500)  # scaled down to 2,000 px at most
    assert photo.thumbnail
    from PIL import Image

    with photo.thumbnail.open("rb") as handle:
        thumb = Image.open(handle)
        assert thumb.format == "JPEG"
        assert thumb.size == (640, 480)
    assert len(_stored_files()) == 2

    public = Client().get(f"/stock/photo/{photo.pk}/thumb/")
    assert public.status_code == 200
    assert public["Cache-Control"].startswith("public")
    assert "max-age=" in public["Cache-Control"]
    assert public["Content-Type"] == "image/jpeg"
    assert b"".join(public.streaming_content)[:2] == b"\xff\xd8"
    assert Client().get(f"/stock/photo/{photo.pk}/full/").status_code == 200
    assert Client().get(f"/stock/photo/{photo.pk}/huge/").status_code == 404


def test_a_png_is_accepted_and_stored_as_jpeg(sales_client):
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGBA", (800, 600), (255, 0, 0, 128)).save(out, "PNG")
    car = vehicle(stock_number="BO0001")
    _upload(sales_client, car, out.getvalue(), name="side.png")
    photo = VehiclePhoto.objects.get(vehicle=car)
    assert photo.image.name.endswith(".jpg")


def test_photos_show_on_the_public_pages_in_order(sales_client):
    car = vehicle(stock_number="BO0001")
    _upload(sales_client, car, jpeg_bytes(colour="#ff0000"))
    _upload(sales_client, car, jpeg_bytes(colour="#00ff00"))
    first, second = VehiclePhoto.objects.filter(vehicle=car).order_by("position")
    assert (first.position, second.position) == (0, 1)
    body = Client().get("/stock/BO0001/").content.decode()
    assert body.index(f"/stock/photo/{first.pk}/thumb/") < body.index(
        f"/stock/photo/{second.pk}/thumb/"
    )
    search = Client().get("/stock/").content.decode()
    assert f'src="/stock/photo/{first.pk}/thumb/"' in search


def test_an_oversize_photo_is_refused_and_nothing_is_stored(sales_client, settings):
    settings.PHOTO_MAX_BYTES = 1024 * 1024
    big = noisy_jpeg_bytes()
    assert len(big) > 1024 * 1024
    car = vehicle(stock_number="BO0001")
    response = _upload(sales_client, car, big)
    assert response.status_code == 302
    assert "The photo is larger than 1 MB." in sales_client.get(response.url).content.decode()
    assert not VehiclePhoto.objects.exists()
    assert _stored_files() == []


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"Just some notes about the car, not a photo.\n" * 20, "notes.jpg"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "invoice.jpg"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "broken.jpg"),  # a JPEG header, then nothing
        (b"", "empty.jpg"),
    ],
)
def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_stored(sales_client, content, name):
    car = vehicle(stock_number="BO0001")
    response = _upload(sales_client, car, content, name=name)
    assert response.status_code == 302
    page = sales_client.get(response.url).content.decode()
    assert (
        "That file is not a photo we can read (JPEG, PNG or WebP)." in page
        or "Choose a photo to upload." in page
        or "The submitted file is empty." in page
    )
    assert not VehiclePhoto.objects.exists()
    assert _stored_files() == []


def test_a_gif_is_refused(sales_client):
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("P", (200, 150)).save(out, "GIF")
    car = vehicle(stock_number="BO0001")
    response = _upload(sales_client, car, out.getvalue(), name="anim.jpg")
    assert "Photos must be JPEG, PNG or WebP." in sales_client.get(response.url).content.decode()
    assert not VehiclePhoto.objects.exists()


def test_photos_of_a_withdrawn_or_sold_car_are_not_found_by_the_public(sales_client):
    client = Client()
    car = vehicle(stock_number="BO0001")
    _upload(sales_client, car, jpeg_bytes())
    photo = VehiclePhoto.objects.get()
    for status in ("withdrawn", "sold"):
        Vehicle.objects.filter(pk=car.pk).update(status=status)
        assert client.get(f"/stock/photo/{photo.pk}/thumb/").status_code == 404
        assert client.get(f"/stock/photo/{photo.pk}/full/").status_code == 404
        # Staff still see them in the back office.
        assert sales_client.get(f"/stock/photo/{photo.pk}/thumb/").status_code == 200
    assert client.get("/stock/photo/99999/thumb/").status_code == 404


def test_staff_remove_a_photo_and_its_files(sales_client, committed):
    car = vehicle(stock_number="BO0001")
    _upload(sales_client, car, jpeg_bytes())
    photo = VehiclePhoto.objects.get()
    with committed():
        response = sales_client.post(f"/backoffice/stock/photos/{photo.pk}/delete/")
    assert response.status_code == 302
    assert not VehiclePhoto.objects.exists()
    assert _stored_files() == []


# --- who may ----------------------------------------------------------------------------------


def test_customers_and_visitors_get_nothing_from_the_stock_back_office(alice_client, db):
    car = vehicle(stock_number="BO0001")
    for path in [
        "/backoffice/stock/",
        "/backoffice/stock/new/",
        f"/backoffice/stock/{car.pk}/",
        "/backoffice/stock/import/",
    ]:
        assert alice_client.get(path).status_code == 403, path
        assert Client().get(path).status_code == 302, path
    assert (
        alice_client.post("/backoffice/stock/new/", form_data(stock_number="X1")).status_code == 403
    )
    response = alice_client.post(f"/backoffice/stock/{car.pk}/status/", {"status": "withdrawn"})
    assert response.status_code == 403
    car.refresh_from_db()
    assert car.status == "available"


def test_logistics_may_look_at_stock_but_not_change_it(client):
    logistics = staff("lee.logistics@exporter.example", "logistics")
    staff_login(client, logistics)
    car = vehicle(stock_number="BO0001")
    assert client.get("/backoffice/stock/").status_code == 200
    assert client.get("/backoffice/stock/new/").status_code == 403
    assert client.post(f"/backoffice/stock/{car.pk}/", form_data()).status_code == 403
    assert client.post(f"/backoffice/stock/{car.pk}/status/", {"status": "sold"}).status_code == 403
    assert _upload(client, car, jpeg_bytes()).status_code == 403
    assert not VehiclePhoto.objects.exists()


def test_staff_keep_the_rule_table_and_are_told_to_keep_it_current(sales_client):
    body = sales_client.get("/backoffice/stock/tables/rules/").content.decode()
    assert "Check each rule against its source regularly" in body
    assert "Kenya" in body


def test_a_phone_photo_is_turned_upright_and_loses_its_gps_position(sales_client):
    from io import BytesIO

    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was held sideways
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (35.0, 26.0, 30.0)
    out = BytesIO()
    Image.new("RGB", (1200, 900), "#2f5fa8").save(out, "JPEG", exif=exif)
    car = vehicle(stock_number="BO0001")
    _upload(sales_client, car, out.getvalue())
    photo = VehiclePhoto.objects.get()
    assert (photo.width, photo.height) == (900, 1200)
    for stored in (photo.image, photo.thumbnail):
        with stored.open("rb") as handle:
            image = Image.open(handle)
            assert image.width < image.height
            assert dict(image.getexif()) == {}
