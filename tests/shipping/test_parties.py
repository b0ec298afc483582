"""The customer's address book (consignees and notify parties, ID/tax numbers where customs need
them) and their choice of shipping e-mails; nobody sees or touches another customer's entries."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from exportdesk.accounts.models import User
from exportdesk.core.models import AuditEvent
from exportdesk.sales.models import Order
from exportdesk.shipping.models import Party, Shipment, ShippingNotices
from exportdesk.shipping.parties import (
    PartyDraft,
    ShippingRefused,
    notice_wanted,
    notices_wanted,
    order_parties_choose,
    party_create,
    shipping_notices_of,
    shipping_notices_set,
)
from tests.factories import staff
from tests.payments.factories import order_for

pytestmark = pytest.mark.django_db

KRA_PIN = "A123456789B"


def text_of(response: Any) -> str:
    return unescape(response.content.decode())


def consignee(customer: User, name: str = "Kamau Motors Ltd", **fields: str) -> Party:
    """A Kenyan consignee with its KRA PIN, through the service as the address book adds it."""
    values: dict[str, str] = {
        "role": Party.Role.CONSIGNEE,
        "name": name,
        "company": "Kamau Motors Ltd",
        "address": "Moi Avenue 12\nMombasa",
        "country": "KE",
        "phone": "+254 712 345678",
        "email": "imports@kamau.example",
        "id_number": KRA_PIN,
        **fields,
    }
    return party_create(customer=customer, draft=PartyDraft(**values))


def notify_party(customer: User, name: str = "Coast Clearing Agents") -> Party:
    return party_create(
        customer=customer,
        draft=PartyDraft(
            role=Party.Role.NOTIFY,
            name=name,
            address="Port Road 3\nMombasa",
            country="KE",
            phone="+254 733 000111",
        ),
    )


def form_data(**fields: str) -> dict[str, str]:
    return {
        "role": "consignee",
        "name": "Wanjiru Imports",
        "company": "",
        "address": "Kenyatta Avenue 5\nNairobi",
        "country": "KE",
        "phone": "+254 700 111222",
        "email": "",
        "id_number": KRA_PIN,
        **fields,
    }


# --- listing and adding -------------------------------------------------------------------------


def test_it_lists_only_the_customers_own_entries(alice_client: Client, alice, bob):
    consignee(alice, "Alice's Consignee")
    notify_party(alice, "Alice's Agent")
    consignee(bob, "Bob's Consignee", country="JM", id_number="")

    response = alice_client.get("/mypage/address-book/")

    assert response.status_code == 200
    page = text_of(response)
    assert "Alice's Consignee" in page and "Alice's Agent" in page
    assert KRA_PIN in page
    assert "Bob's Consignee" not in page


def test_the_address_book_needs_a_sign_in(client: Client):
    response = client.get("/mypage/address-book/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_adds_a_consignee_and_records_it(alice_client: Client, alice):
    response = alice_client.post("/mypage/address-book/add/", form_data())

    assert response.status_code == 302
    assert response["Location"] == "/mypage/address-book/"
    party = Party.objects.get(customer=alice)
    assert (party.name, party.role, party.id_number) == ("Wanjiru Imports", "consignee", KRA_PIN)
    assert party.is_active
    assert AuditEvent.objects.filter(
        action="shipping.party_added", object_id=str(party.pk), subject_id=alice.pk
    ).exists()
    assert "Wanjiru Imports" in text_of(alice_client.get("/mypage/address-book/"))


def test_the_form_says_why_it_asks_for_the_tax_number(alice_client: Client):
    page = text_of(alice_client.get("/mypage/address-book/add/"))
    assert "Kenya (KRA PIN)" in page and "Tanzania (TIN)" in page and "Uganda (TIN)" in page
    assert "clear the car under the importer's tax number" in page


def test_a_kenyan_consignee_without_a_kra_pin_is_refused(alice_client: Client, alice):
    response = alice_client.post("/mypage/address-book/add/", form_data(id_number=""))

    assert response.status_code == 400
    assert "Customs in Kenya clear the car under the consignee's KRA PIN" in text_of(response)
    assert not Party.objects.exists()


def test_a_malformed_kra_pin_is_refused(alice_client: Client):
    response = alice_client.post("/mypage/address-book/add/", form_data(id_number="12345"))

    assert response.status_code == 400
    assert "This does not look like a Kenya KRA PIN (for example A123456789B)" in text_of(response)
    assert not Party.objects.exists()


def test_a_kra_pin_is_stored_in_one_spelling(alice_client: Client, alice):
    alice_client.post("/mypage/address-book/add/", form_data(id_number=" a123 456-789b "))
    assert Party.objects.get(customer=alice).id_number == KRA_PIN


def test_other_countries_and_notify_parties_need_no_tax_number(alice_client: Client, alice):
    jamaica = form_data(country="JM", id_number="", phone="+1 876 555 0100")
    assert alice_client.post("/mypage/address-book/add/", jamaica).status_code == 302
    agent = form_data(role="notify", name="Agent", id_number="")
    assert alice_client.post("/mypage/address-book/add/", agent).status_code == 302
    assert Party.objects.filter(customer=alice).count() == 2


def test_a_tanzanian_consignee_needs_a_nine_digit_tin(alice_client: Client, alice):
    bad = form_data(country="TZ", id_number="12-34", phone="+255 754 000000")
    response = alice_client.post("/mypage/address-book/add/", bad)
    assert response.status_code == 400
    assert "Tanzania TIN" in text_of(response)
    good = {**bad, "id_number": "123-456-789"}
    assert alice_client.post("/mypage/address-book/add/", good).status_code == 302
    assert Party.objects.get(customer=alice).id_number == "123456789"


def test_bad_input_re_renders_with_errors_and_saves_nothing(alice_client: Client):
    response = alice_client.post(
        "/mypage/address-book/add/",
        form_data(name="", phone="call me", email="not-an-address", country="XX"),
    )

    assert response.status_code == 400
    page = text_of(response)
    assert "This field is required." in page
    assert "Enter a phone number with country code" in page
    assert "Enter a valid email address." in page
    assert "Select a valid choice. XX is not one of the available choices." in page
    assert not Party.objects.exists()


def test_the_service_refuses_a_consignee_without_the_number_too(alice):
    draft = PartyDraft(
        role="consignee", name="X", address="Y", country="UG", phone="+256 700 000000"
    )
    with pytest.raises(ShippingRefused, match="Uganda"):
        party_create(customer=alice, draft=draft)
    assert not Party.objects.exists()


# --- editing and removing -----------------------------------------------------------------------


def test_it_edits_an_entry(alice_client: Client, alice):
    party = consignee(alice)

    response = alice_client.post(
        f"/mypage/address-book/{party.pk}/edit/", form_data(name="Kamau Motors (Nairobi)")
    )

    assert response.status_code == 302
    party.refresh_from_db()
    assert party.name == "Kamau Motors (Nairobi)"
    assert AuditEvent.objects.filter(action="shipping.party_changed").exists()


def test_an_entry_named_on_an_order_cannot_be_edited(alice_client: Client, alice):
    party = consignee(alice)
    order_parties_choose(order=order_for(alice), consignee=party, notify=None, customer=alice)

    page = text_of(alice_client.get(f"/mypage/address-book/{party.pk}/edit/"))
    assert "part of that order's export records and cannot be edited" in page
    response = alice_client.post(
        f"/mypage/address-book/{party.pk}/edit/", form_data(name="Someone Else")
    )

    assert response.status_code == 400
    assert "Add a new entry instead" in text_of(response)
    party.refresh_from_db()
    assert party.name == "Kamau Motors Ltd"


def test_removing_takes_it_out_of_the_book_but_not_off_its_orders(alice_client: Client, alice):
    party = consignee(alice)
    order = order_for(alice)
    order_parties_choose(order=order, consignee=party, notify=None, customer=alice)

    page = text_of(alice_client.get(f"/mypage/address-book/{party.pk}/remove/"))
    assert "Orders that already name it keep it" in page
    response = alice_client.post(f"/mypage/address-book/{party.pk}/remove/")

    assert response.status_code == 302
    party.refresh_from_db()
    assert party.is_active is False
    assert "Kamau Motors Ltd was removed" in text_of(alice_client.get("/mypage/address-book/"))
    assert "Kamau Motors Ltd" not in text_of(alice_client.get("/mypage/address-book/"))
    assert order.parties.consignee == party
    # Gone from the book: it can no longer be opened for editing.
    assert alice_client.get(f"/mypage/address-book/{party.pk}/edit/").status_code == 404


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/mypage/address-book/{pk}/edit/"),
        ("post", "/mypage/address-book/{pk}/edit/"),
        ("get", "/mypage/address-book/{pk}/remove/"),
        ("post", "/mypage/address-book/{pk}/remove/"),
    ],
)
def test_another_customers_entry_is_not_found(alice_client: Client, bob, method, path):
    theirs = consignee(bob, "Bob's Consignee", country="JM", id_number="")

    response = getattr(alice_client, method)(path.format(pk=theirs.pk), form_data())

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Bob's Consignee" and theirs.is_active


def test_staff_have_no_address_book_of_customers(client: Client, alice):
    party = consignee(alice)
    officer = staff("lee.logistics@exporter.example", "logistics")
    client.force_login(officer)
    assert client.get(f"/mypage/address-book/{party.pk}/edit/").status_code == 404
    assert "Kamau Motors Ltd" not in text_of(client.get("/mypage/address-book/"))


# --- shipping notices ---------------------------------------------------------------------------


def test_every_update_is_wanted_until_the_customer_chooses(alice, bob):
    assert shipping_notices_of(alice) == list(Shipment.Status.values)
    assert notice_wanted(alice, Shipment.Status.SAILED)
    assert notices_wanted([alice.pk, bob.pk], Shipment.Status.ARRIVED) == {alice.pk, bob.pk}


def test_the_customer_chooses_which_updates_to_get(alice_client: Client, alice, bob):
    page = text_of(alice_client.get("/mypage/shipments/notices/"))
    assert "Sailed" in page and "Arrived" in page

    response = alice_client.post("/mypage/shipments/notices/", {"statuses": ["sailed", "arrived"]})

    assert response.status_code == 302
    assert ShippingNotices.objects.get(user=alice).statuses == ["sailed", "arrived"]
    assert notice_wanted(alice, "sailed") and notice_wanted(alice, "arrived")
    assert not notice_wanted(alice, "loaded")
    assert notices_wanted([alice.pk, bob.pk], "loaded") == {bob.pk}
    assert AuditEvent.objects.filter(action="shipping.notices_changed", subject_id=alice.pk)


def test_choosing_no_updates_at_all_is_kept(alice_client: Client, alice):
    alice_client.post("/mypage/shipments/notices/", {})
    assert shipping_notices_of(alice) == []
    assert not notice_wanted(alice, "delivered")


def test_an_unknown_update_is_refused(alice_client: Client, alice):
    response = alice_client.post("/mypage/shipments/notices/", {"statuses": ["teleported"]})
    assert response.status_code == 400
    assert "Select a valid choice" in text_of(response)
    assert not ShippingNotices.objects.exists()
    with pytest.raises(ShippingRefused):
        shipping_notices_set(user=alice, statuses=["teleported"])


def test_a_cancelled_order_is_left_off_the_shipments_list(alice_client: Client, alice):
    order = order_for(alice)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    assert order.number not in text_of(alice_client.get("/mypage/shipments/"))


def test_the_address_book_costs_the_same_queries_however_many_entries(alice_client, alice):
    consignee(alice, "First")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get("/mypage/address-book/").status_code == 200
        return len(captured)

    queries()  # the session's first request warms caches
    few = queries()
    for n in range(5):
        notify_party(alice, f"Agent {n}")
        consignee(alice, f"Consignee {n}")
    assert queries() == few
