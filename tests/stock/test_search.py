"""The public stock search at /stock/: filters in the URL, sorts, pages, bad input, htmx."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exportdesk.stock.demo import generate_vehicles
from exportdesk.stock.models import Vehicle, VehicleModel, VehiclePhoto
from tests.stock.factories import listed, vehicle

pytestmark = pytest.mark.django_db


def _at(day: int) -> datetime:
    return datetime(2026, 11, day, 9, 0, tzinfo=UTC)


@pytest.fixture
def showroom(db) -> dict[str, Vehicle]:
    """Four cars on sale, one reserved, and three the public must never see."""
    return {
        "prius": vehicle(
            stock_number="KA1001",
            chassis_number="ZVW30-1111111",
            grade="S Touring",
            fuel="hybrid",
            body_type="hatchback",
            first_registration_year=2018,
            manufacture_year=2018,
            engine_cc=1800,
            transmission="cvt",
            drive="2wd",
            steering="rhd",
            mileage_km=80_000,
            colour="White",
            seats=5,
            fob_price_jpy=900_000,
            created_at=_at(1),
        ),
        "hiace": vehicle(
            model="hiace-van",
            stock_number="KA1002",
            chassis_number="KDH201-2222222",
            grade="Super GL",
            fuel="diesel",
            body_type="van",
            first_registration_year=2015,
            manufacture_year=2015,
            engine_cc=3000,
            transmission="at",
            drive="4wd",
            steering="rhd",
            mileage_km=150_000,
            colour="Silver",
            seats=10,
            fob_price_jpy=2_200_000,
            created_at=_at(2),
        ),
        "leaf": vehicle(
            make="nissan",
            model="leaf",
            stock_number="NB2003",
            chassis_number="ZE1-3333333",
            grade="X",
            fuel="electric",
            body_type="hatchback",
            first_registration_year=2020,
            manufacture_year=2020,
            engine_cc=0,
            transmission="at",
            drive="2wd",
            steering="lhd",
            mileage_km=30_000,
            colour="Blue",
            seats=5,
            fob_price_jpy=1_500_000,
            created_at=_at(3),
        ),
        "fit": vehicle(
            make="honda",
            model="fit",
            stock_number="HC3004",
            chassis_number="GP5-4444444",
            grade="13G",
            fuel="petrol",
            body_type="hatchback",
            first_registration_year=2022,
            manufacture_year=2022,
            engine_cc=1300,
            transmission="mt",
            drive="2wd",
            steering="rhd",
            mileage_km=10_000,
            colour="Red",
            seats=5,
            fob_price_jpy=700_000,
            status="reserved",
            created_at=_at(4),
        ),
        "sold": vehicle(
            make="subaru", model="forester", stock_number="XX9001", status="sold", created_at=_at(5)
        ),
        "withdrawn": vehicle(stock_number="XX9002", status="withdrawn", created_at=_at(6)),
        "shipped": vehicle(stock_number="XX9003", status="shipped", created_at=_at(7)),
    }


ON_SALE = {"KA1001", "KA1002", "NB2003", "HC3004"}


def search(client, **params):
    response = client.get("/stock/", params)
    assert response.status_code == 200, response.content[:500]
    return response


def test_it_lists_only_available_and_reserved_cars(client, showroom):
    response = search(client)
    assert set(listed(response)) == ON_SALE
    body = response.content.decode()
    assert "4 vehicles found" in body
    assert "Reserved" in body  # the Fit is on hold but still shown
    for hidden in ("XX9001", "XX9002", "XX9003"):
        assert hidden not in body


def test_no_filter_or_keyword_ever_reveals_a_sold_withdrawn_or_shipped_car(client, showroom):
    for params in (
        {"q": "XX9"},
        {"make": "subaru"},
        {"q": "forester"},
        {"sort": "price_desc", "per_page": "100"},
    ):
        response = search(client, **params)
        assert not {"XX9001", "XX9002", "XX9003"} & set(listed(response)), params


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"make": "toyota"}, {"KA1001", "KA1002"}),
        ({"make": "nissan"}, {"NB2003"}),
        ({"body_type": "van"}, {"KA1002"}),
        ({"body_type": "hatchback"}, {"KA1001", "NB2003", "HC3004"}),
        ({"year_min": "2019"}, {"NB2003", "HC3004"}),
        ({"year_max": "2018"}, {"KA1001", "KA1002"}),
        ({"year_min": "2018", "year_max": "2020"}, {"KA1001", "NB2003"}),
        ({"price_min": "1000000"}, {"KA1002", "NB2003"}),
        ({"price_max": "900000"}, {"KA1001", "HC3004"}),
        ({"price_min": "800000", "price_max": "1500000"}, {"KA1001", "NB2003"}),
        ({"mileage_max": "30000"}, {"NB2003", "HC3004"}),
        ({"mileage_min": "80000"}, {"KA1001", "KA1002"}),
        ({"cc_min": "1500"}, {"KA1001", "KA1002"}),
        ({"cc_max": "1300"}, {"NB2003", "HC3004"}),
        ({"cc_min": "1000", "cc_max": "2000"}, {"KA1001", "HC3004"}),
        ({"fuel": "hybrid"}, {"KA1001"}),
        ({"fuel": "electric"}, {"NB2003"}),
        ({"transmission": "mt"}, {"HC3004"}),
        ({"transmission": "at"}, {"KA1002", "NB2003"}),
        ({"drive": "4wd"}, {"KA1002"}),
        ({"steering": "lhd"}, {"NB2003"}),
        ({"steering": "rhd"}, {"KA1001", "KA1002", "HC3004"}),
        ({"colour": "red"}, {"HC3004"}),
        ({"colour": "Silver"}, {"KA1002"}),
        ({"seats": "6"}, {"KA1002"}),
        ({"seats": "5"}, ON_SALE),
        # keyword: stock number prefix, chassis prefix, model, make, grade
        ({"q": "KA1"}, {"KA1001", "KA1002"}),
        ({"q": "ka100"}, {"KA1001", "KA1002"}),
        ({"q": "HC3004"}, {"HC3004"}),
        ({"q": "ZVW30"}, {"KA1001"}),
        ({"q": "kdh201-222"}, {"KA1002"}),
        ({"q": "Leaf"}, {"NB2003"}),
        ({"q": "hiace"}, {"KA1002"}),
        ({"q": "Honda"}, {"HC3004"}),
        ({"q": "Super GL"}, {"KA1002"}),
        ({"q": "touring"}, {"KA1001"}),
        # filters combine
        ({"make": "toyota", "fuel": "diesel"}, {"KA1002"}),
        ({"body_type": "hatchback", "steering": "rhd", "price_max": "800000"}, {"HC3004"}),
    ],
)
def test_each_filter_narrows_the_results(client, showroom, params, expected):
    response = search(client, **params)
    assert set(listed(response)) == expected
    assert "Some filters could not be used" not in response.content.decode()


def test_the_model_filter_takes_the_model_id(client, showroom):
    hiace = VehicleModel.objects.get(slug="hiace-van")
    response = search(client, make="toyota", model=str(hiace.pk))
    assert listed(response) == ["KA1002"]
    response = search(client, model=str(showroom["leaf"].model_id))
    assert listed(response) == ["NB2003"]


def test_filters_are_kept_in_the_form_so_the_url_can_be_shared(client, showroom):
    body = search(client, make="toyota", fuel="diesel", q="KA").content.decode()
    assert '<option value="toyota" selected>' in body
    assert '<option value="diesel" selected>' in body
    assert re.search(r'<input[^>]*name="q"[^>]*value="KA"', body)


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("newest", ["HC3004", "NB2003", "KA1002", "KA1001"]),
        ("price_asc", ["HC3004", "KA1001", "NB2003", "KA1002"]),
        ("price_desc", ["KA1002", "NB2003", "KA1001", "HC3004"]),
        ("year_desc", ["HC3004", "NB2003", "KA1001", "KA1002"]),
        ("mileage_asc", ["HC3004", "NB2003", "KA1001", "KA1002"]),
    ],
)
def test_each_sort_order(client, showroom, sort, order):
    assert listed(search(client, sort=sort)) == order


def test_newest_is_the_default_order(client, showroom):
    assert listed(search(client)) == ["HC3004", "NB2003", "KA1002", "KA1001"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"year_min": "abc"}, "Year from: Enter a whole number."),
        ({"price_min": "-5"}, "Price from (JPY): Ensure this value is greater than or equal to 0."),
        ({"year_min": "1800"}, "Year from: Ensure this value is greater than or equal to 1950."),
        ({"year_max": "99999"}, "Year to: Ensure this value is less than or equal to 2100."),
        ({"mileage_max": "1.5"}, "Mileage to (km): Enter a whole number."),
        ({"cc_min": "9" * 30}, "Engine from (cc): Ensure this value is less than or equal to"),
        ({"seats": "0"}, "Seats (at least): Ensure this value is greater than or equal to 1."),
        ({"make": "ferrari"}, "Make: Select a valid choice."),
        ({"model": "abc"}, "Model: Select a valid choice."),
        ({"model": "99999"}, "Model: Select a valid choice."),
        ({"model": "9" * 30}, "Model: Select a valid choice."),
        ({"fuel": "steam"}, "Fuel: Select a valid choice."),
        ({"body_type": "tank"}, "Body type: Select a valid choice."),
        ({"transmission": "x"}, "Transmission: Select a valid choice."),
        ({"drive": "6wd"}, "Drive: Select a valid choice."),
        ({"steering": "middle"}, "Steering: Select a valid choice."),
        ({"sort": "cheapest"}, "Sort: Select a valid choice."),
        ({"per_page": "1000000"}, "Per page: Select a valid choice."),
        ({"q": "x" * 61}, "Keyword: Ensure this value has at most 60 characters"),
        ({"year_min": "2020", "year_max": "2015"}, "The upper year limit is below the lower one."),
        ({"price_min": "2000000", "price_max": "5"}, "The upper price limit is below the lower"),
        ({"mileage_min": "9000", "mileage_max": "10"}, "The upper mileage limit is below the"),
        ({"cc_min": "3000", "cc_max": "1000"}, "The upper engine size limit is below the"),
        ({"page": "abc"}, "Page: enter a whole number."),
        ({"page": "-5"}, "Page: there is no page before the first one."),
        ({"page": "0"}, "Page: there is no page before the first one."),
    ],
)
def test_garbage_and_out_of_range_values_give_a_message_never_a_500(
    client, showroom, params, message
):
    response = search(client, **params)
    body = response.content.decode()
    assert "Some filters could not be used" in body
    assert message in body
    assert listed(response)  # the rest of the search still works


def test_a_bad_filter_is_left_out_and_the_good_ones_still_apply(client, showroom):
    response = search(client, make="toyota", year_min="abc", fuel="diesel")
    assert listed(response) == ["KA1002"]
    assert "Year from: Enter a whole number." in response.content.decode()


def test_a_model_not_made_by_the_chosen_make_is_refused_and_the_make_still_applies(
    client, showroom
):
    leaf = VehicleModel.objects.get(slug="leaf")
    response = search(client, make="toyota", model=str(leaf.pk))
    assert "That model is not made by Toyota." in response.content.decode()
    assert set(listed(response)) == {"KA1001", "KA1002"}


def test_the_upper_limit_below_the_lower_is_dropped_and_the_lower_applies(client, showroom):
    response = search(client, year_min="2020", year_max="2015")
    assert set(listed(response)) == {"NB2003", "HC3004"}


def test_a_page_past_the_end_shows_the_last_page_with_a_message(client, showroom):
    response = search(client, per_page="20", page="7")
    body = response.content.decode()
    assert "Page 7 does not exist; showing the last page, 1." in body
    assert set(listed(response)) == ON_SALE


def test_pages_walk_through_many_results(client, db):
    Vehicle.objects.bulk_create(
        v for v in generate_vehicles(count=70, seed=5) if v.status in ("available", "reserved")
    )
    public = Vehicle.objects.filter(status__in=["available", "reserved"]).count()
    assert public > 40
    last_page = (public + 19) // 20
    seen: list[str] = []
    for number in range(1, last_page + 1):
        response = search(client, sort="price_asc", page=str(number))
        seen += listed(response)
    assert len(seen) == public == len(set(seen))
    body = search(client, page="99999999999999999999").content.decode()
    assert f"showing the last page, {last_page}." in body
    first = search(client, sort="price_asc").content.decode()
    assert f"Page 1 of {last_page}" in first
    assert "sort=price_asc&amp;page=2" in first  # the next link keeps the filters


def test_a_filter_that_finds_nothing_says_so_and_offers_to_widen(client, showroom):
    response = search(client, make="toyota", fuel="electric", sort="price_asc")
    body = response.content.decode()
    assert listed(response) == []
    assert "0 vehicles found" in body
    assert "No vehicle matches all of these filters." in body
    # Named as the visitor chose them, not by their codes.
    assert "Remove “Make: Toyota”" in body
    assert "Remove “Fuel: Electric”" in body
    # Each link drops just its own filter and keeps the rest (and the sort).
    assert 'href="?fuel=electric&amp;sort=price_asc"' in body
    assert 'href="?make=toyota&amp;sort=price_asc"' in body
    assert listed(search(client, fuel="electric", sort="price_asc")) == ["NB2003"]


def test_an_empty_stock_says_no_vehicle_matches(client, db):
    body = search(client).content.decode()
    assert "No vehicle matches" in body
    assert "Page 1 does not exist" not in body


def test_an_htmx_request_gets_only_the_results(client, showroom):
    response = client.get("/stock/", {"fuel": "hybrid"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<section id="results"')
    assert listed(response) == ["KA1001"]
    full = client.get("/stock/", {"fuel": "hybrid"})
    assert "<html" in full.content.decode()
    assert 'id="search-form"' in full.content.decode()


def test_an_htmx_history_restore_gets_the_whole_page(client, showroom):
    response = client.get(
        "/stock/",
        {"fuel": "hybrid"},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in response.content.decode()


def test_the_htmx_fragment_reports_bad_filters_too(client, showroom):
    response = client.get("/stock/", {"year_min": "abc"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Year from: Enter a whole number." in response.content.decode()


def _stock_with_photos(count: int) -> None:
    Vehicle.objects.bulk_create(generate_vehicles(count=count, seed=11))
    Vehicle.objects.update(status="available")
    VehiclePhoto.objects.bulk_create(
        VehiclePhoto(
            vehicle=v,
            position=position,
            image=f"stock/{v.pk}/{position}.jpg",
            thumbnail=f"stock/{v.pk}/{position}-thumb.jpg",
        )
        for v in Vehicle.objects.all()
        for position in range(2)
    )


def _queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get("/stock/", params)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_the_search_page_uses_the_same_number_of_queries_whatever_the_page_size(client, db):
    _stock_with_photos(130)
    client.get("/stock/")  # settle the session and the first-visit work
    small = _queries(client, per_page="20")
    large = _queries(client, per_page="100")
    assert small == large
    response = client.get("/stock/", {"per_page": "100"})
    assert len(listed(response)) == 100
    assert response.content.decode().count('src="/stock/photo/') == 100
    assert _queries(client, per_page="100", page="2") == small


def test_queries_stay_constant_with_a_destination_and_favourites(alice_client, alice, db):
    from exportdesk.stock.models import CustomerDestination, Favourite
    from tests.stock.factories import mombasa

    _stock_with_photos(130)
    CustomerDestination.objects.create(user=alice, port=mombasa(), method="roro", currency="USD")
    for v in Vehicle.objects.all()[:30]:
        Favourite.objects.create(
            user=alice,
            vehicle=v,
            price_when_added_jpy=v.fob_price_jpy,
            status_when_added="available",
        )
    alice_client.get("/stock/")
    small = _queries(alice_client, per_page="20")
    large = _queries(alice_client, per_page="100")
    assert small == large
    body = alice_client.get("/stock/", {"per_page": "100"}).content.decode()
    assert "Rules checked for Mombasa (Kenya)" in body
    assert "In favourites" in body


def test_with_a_destination_each_card_says_whether_the_car_can_go(alice_client, alice, showroom):
    from exportdesk.stock.models import CustomerDestination
    from tests.stock.factories import mombasa

    CustomerDestination.objects.create(user=alice, port=mombasa(), method="roro", currency="USD")
    body = search(alice_client, steering="lhd").content.decode()
    assert "Kenya accepts only right-hand drive vehicles." in body
    body = search(alice_client, q="HC3004").content.decode()
    assert "Can go to Kenya" in body


def test_what_a_visitor_typed_is_escaped_everywhere_on_the_page(client, showroom):
    attack = '<script>alert("x")</script>'
    response = search(client, q=attack, colour=attack, page=attack)
    body = response.content.decode()
    assert "<script>alert" not in body
    assert "No vehicle matches" in body
    assert "&lt;script&gt;" in body


def test_a_range_on_the_sorted_column_keeps_the_order(client, showroom):
    assert listed(search(client, price_min="700000", sort="price_asc")) == [
        "HC3004",
        "KA1001",
        "NB2003",
        "KA1002",
    ]
    assert listed(search(client, year_min="2015", year_max="2020", sort="year_desc")) == [
        "NB2003",
        "KA1001",
        "KA1002",
    ]
    assert listed(search(client, mileage_max="80000", sort="mileage_asc")) == [
        "HC3004",
        "NB2003",
        "KA1001",
    ]


def test_deep_pages_are_counted_from_the_page_itself(client, db, monkeypatch):
    """Past the count cap (30 here) a page needs no count query: one row past the page says
    whether more follow. Walking every page still shows every car once, in order."""
    from exportdesk.stock import search as stock_search_module

    monkeypatch.setattr(stock_search_module, "COUNT_CAP", 30)
    Vehicle.objects.bulk_create(
        v for v in generate_vehicles(count=70, seed=5) if v.status in ("available", "reserved")
    )
    public = list(
        Vehicle.objects.filter(listed=1)
        .order_by("fob_price_jpy", "id")
        .values_list("stock_number", flat=True)
    )
    last_page = (len(public) + 19) // 20
    seen: list[str] = []
    for number in range(1, last_page + 1):
        response = search(client, sort="price_asc", page=str(number))
        body = response.content.decode()
        seen += listed(response)
        if number < last_page:
            assert f"More than {max(30, number * 20)} vehicles found" in body
            assert f"Page {number}<" in body  # no total: it is not known
            assert f"sort=price_asc&amp;page={number + 1}" in body  # the next link is kept
        else:
            assert f"{len(public)} vehicles found" in body
            assert f"Page {number} of {last_page}" in body
            assert 'rel="next"' not in body
    assert seen == public
    with CaptureQueriesContext(connection) as shallow:
        search(client, sort="price_asc", page="1")
    with CaptureQueriesContext(connection) as deep:
        search(client, sort="price_asc", page="2")
    assert len(deep.captured_queries) == len(shallow.captured_queries) - 1  # no count
    body = search(client, sort="price_asc", page=str(last_page + 3)).content.decode()
    assert f"Page {last_page + 3} does not exist; showing the last page, {last_page}." in body


def test_a_grade_keyword_works_with_and_without_the_grade_list(client, showroom, monkeypatch):
    from exportdesk.stock import search as stock_search_module

    for limit in (1000, 1):  # 1: more grades than the walk reads, so a substring scan
        monkeypatch.setattr(stock_search_module, "GRADE_WALK_LIMIT", limit)
        assert listed(search(client, q="touring")) == ["KA1001"]
        assert listed(search(client, q="Super GL")) == ["KA1002"]
        assert listed(search(client, q="gl")) == ["KA1002"]
        body = search(client, q="Sport").content.decode()
        assert "0 vehicles found" in body
        assert "No vehicle matches all of these filters." in body
        assert "Remove “Keyword: Sport”" in body


def test_a_sold_cars_grade_is_not_a_way_to_find_it(client, showroom):
    Vehicle.objects.filter(stock_number="XX9001").update(grade="Limited")
    body = search(client, q="Limited").content.decode()
    assert "0 vehicles found" in body
    assert "XX9001" not in body


def test_what_a_dealer_typed_into_the_stock_is_escaped_on_the_cards(client, showroom):
    Vehicle.objects.filter(stock_number="KA1001").update(grade='<img src=x onerror="alert(1)">')
    body = search(client).content.decode()
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body


def test_cards_and_filters_speak_the_visitors_language_whichever_came_first(client, showroom):
    from django.utils import translation
    from django.utils.formats import number_format

    for language in ("es", "en", "ja", "es"):
        response = client.get("/stock/", {"q": "KA1001"}, headers={"Accept-Language": language})
        body = response.content.decode()
        with translation.override(language):
            mileage = number_format(80_000, force_grouping=True)
            make_label = translation.gettext("Make")
            hybrid = translation.gettext("Hybrid")
        assert f"{mileage} km" in body, language
        assert f'<label for="f-make">{make_label}</label>' in body, language
        assert f"· {hybrid} ·" in body, language


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({}, "pub_newest"),
        ({"body_type": "van", "page": "2"}, "pub_newest"),
        ({"sort": "price_asc", "fuel": "diesel"}, "pub_price"),
        ({"sort": "price_desc", "price_max": "2000000"}, "pub_price"),
        ({"make": "toyota"}, "pub_make_newest"),
    ],
)
def test_the_page_query_reads_its_sort_index_in_order(client, showroom, params, index):
    """SQLite only, and without table statistics (a database nobody has run ANALYZE on): the
    page query reads its sort index in order instead of sorting every match, so a change of
    indexes or SQL that would make a newest-first page sort the whole stock fails here."""
    if connection.vendor != "sqlite":
        pytest.skip("query plans are SQLite's")
    with CaptureQueriesContext(connection) as captured:
        search(client, **params)
    page_sql = next(
        q["sql"]
        for q in captured.captured_queries
        if 'FROM "stock_vehicle" ' in q["sql"] and "OFFSET" in q["sql"]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {page_sql}")
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
    assert f"USING INDEX {index}" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
