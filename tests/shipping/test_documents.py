"""Export documents: logistics upload them, release rules lock originals until the order is paid,
customers download only their own (every download logged), and the files stay private."""

from __future__ import annotations

import io
import uuid
import zipfile
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from PIL import Image

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_chain_verify
from exportdesk.core.models import AuditEvent
from exportdesk.core.money import money_format
from exportdesk.payments.services import allocation_decide, allocation_request
from exportdesk.privacy.access import access_package_write
from exportdesk.privacy.erasure import erasure_execute
from exportdesk.privacy.subjects import subject_for_user
from exportdesk.sales.models import Order
from exportdesk.shipping.documents import (
    document_download_record,
    document_rules,
    document_upload,
)
from exportdesk.shipping.models import (
    DocumentDownload,
    DocumentKind,
    DocumentRule,
    ExportDocument,
)
from tests.conftest import staff_login
from tests.factories import staff
from tests.payments.factories import confirmed_deposit, order_for

pytestmark = pytest.mark.django_db

BL = DocumentKind.BILL_OF_LADING
PACKING = DocumentKind.PACKING_LIST


def pdf(text: str = "bill of lading MOLU1234567") -> bytes:
    return f"%PDF-1.4\n% {text}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".encode()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, format="PNG")
    return out.getvalue()


def upload_file(body: bytes, name: str = "document.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def text_of(response) -> str:
    return unescape(response.content.decode())


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def logistics() -> User:
    return staff("lee.logistics@exporter.example", "logistics")


@pytest.fixture
def logistics_client(logistics: User) -> Client:
    return staff_login(Client(), logistics)


@pytest.fixture
def accountant() -> User:
    return staff("acc.one@exporter.example", "accounting")


@pytest.fixture
def order(alice: User) -> Order:
    return order_for(alice)


def add_document(
    order: Order, kind: str, by: User, body: bytes | None = None, title: str = ""
) -> ExportDocument:
    return document_upload(
        order=order, kind=kind, title=title, upload=upload_file(body or pdf()), actor=by
    )


def pay_in_full(order: Order, accountant: User) -> None:
    """Money arrives, the customer allocates it, accounting approves: the order is paid."""
    deposit = confirmed_deposit(order.customer, order.total, staff=accountant)
    allocation = allocation_request(
        deposit=deposit, order=order, amount=order.total, requested_by=order.customer
    )
    allocation_decide(allocation=allocation, staff=accountant, approve=True)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def download_url(document: ExportDocument) -> str:
    return reverse("shipping_documents:download", args=[document.public_id])


def upload_url(order: Order) -> str:
    return reverse("shipping_documents:upload", args=[order.number])


# --- Release rules -------------------------------------------------------------------------------


def test_default_rules_lock_the_export_certificate_and_the_bl_until_paid():
    assert DocumentRule.objects.count() == 0
    rules = document_rules()
    assert set(rules) == set(DocumentKind.values)
    locked = {kind for kind, after_payment in rules.items() if after_payment}
    assert locked == {DocumentKind.EXPORT_CERTIFICATE, DocumentKind.BILL_OF_LADING}
    # First use creates them once.
    assert document_rules() == rules
    assert DocumentRule.objects.count() == len(DocumentKind.values)


def test_logistics_change_a_rule_and_the_customer_feels_it(
    logistics, logistics_client, alice_client, order
):
    packing = add_document(order, PACKING, logistics)
    assert alice_client.get(download_url(packing)).status_code == 200

    page = logistics_client.get("/backoffice/shipping/documents/rules/")
    assert page.status_code == 200
    assert "Packing list" in text_of(page)
    ticked = {"export_certificate": "on", "bill_of_lading": "on", "packing_list": "on"}
    response = logistics_client.post("/backoffice/shipping/documents/rules/", ticked)
    assert response.status_code == 302

    assert document_rules()[PACKING] is True
    event = AuditEvent.objects.get(action="document_rule.changed")
    assert event.details == {"kind": "packing_list", "after_full_payment": True}
    assert alice_client.get(download_url(packing)).status_code == 403


def test_only_staff_with_the_permission_open_the_rules(alice_client, sales):
    assert staff_login(Client(), sales).get(
        "/backoffice/shipping/documents/rules/"
    ).status_code == (403)
    assert alice_client.get("/backoffice/shipping/documents/rules/").status_code == 403
    response = Client().get("/backoffice/shipping/documents/rules/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- Upload ------------------------------------------------------------------------------------


def test_logistics_upload_a_bl_stored_privately_under_a_random_name(
    logistics, logistics_client, order
):
    body = pdf()
    response = logistics_client.post(
        upload_url(order),
        {"kind": BL, "title": "MOLU1234567", "file": upload_file(body, "alice wanjiru BL.pdf")},
    )
    assert response.status_code == 302

    document = ExportDocument.objects.get()
    assert (document.order, document.kind, document.title) == (order, BL, "MOLU1234567")
    assert (document.content_type, document.size) == ("application/pdf", len(body))
    assert document.uploaded_by == logistics
    name = document.file.name or ""
    assert name.startswith("shipping/documents/") and name.endswith(".pdf")
    assert "alice" not in name.lower() and "BL" not in name
    assert document.file.read() == body
    event = AuditEvent.objects.get(action="export_document.uploaded")
    assert event.subject_id == order.customer_id and event.details["kind"] == BL

    page = logistics_client.get(response["Location"])
    text = text_of(page)
    assert "Bill of lading · MOLU1234567" in text and logistics.email in text


def test_an_executable_renamed_pdf_is_refused(logistics_client, order):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"%%EOF"
    response = logistics_client.post(
        upload_url(order), {"kind": BL, "title": "", "file": upload_file(exe, "bl.pdf")}
    )
    assert response.status_code == 400
    assert "The document must be a PDF, JPEG or PNG file." in text_of(response)
    assert not ExportDocument.objects.exists() and stored_files() == []


def test_a_file_over_the_limit_is_refused(logistics_client, order, settings):
    settings.EXPORT_DOCUMENT_MAX_BYTES = 4096
    response = logistics_client.post(
        upload_url(order),
        {"kind": BL, "title": "", "file": upload_file(pdf("x" * 5000))},
    )
    assert response.status_code == 400
    assert "The file is too large" in text_of(response)
    assert not ExportDocument.objects.exists() and stored_files() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"%PDF-1.4\n truncated in transit", "The PDF is incomplete or damaged."),
        (b"\x89PNG\r\n\x1a\n" + b"not really an image" * 10, "The image is damaged"),
    ],
)
def test_broken_files_are_refused(logistics_client, order, body, message):
    response = logistics_client.post(
        upload_url(order), {"kind": PACKING, "title": "", "file": upload_file(body)}
    )
    assert response.status_code == 400 and message in text_of(response)
    assert not ExportDocument.objects.exists()


def test_a_png_scan_is_accepted(logistics_client, order):
    response = logistics_client.post(
        upload_url(order),
        {"kind": DocumentKind.EXPORT_CERTIFICATE, "title": "", "file": upload_file(png(), "x.pdf")},
    )
    assert response.status_code == 302
    document = ExportDocument.objects.get()
    assert document.content_type == "image/png" and (document.file.name or "").endswith(".png")


def test_a_missing_kind_or_file_re_renders_with_errors(logistics_client, order):
    response = logistics_client.post(upload_url(order), {"kind": "passport", "title": ""})
    assert response.status_code == 400
    errors = response.context["upload_form"].errors
    assert set(errors) == {"kind", "file"}
    assert not ExportDocument.objects.exists()


def test_no_uploads_to_a_cancelled_or_unknown_order(logistics_client, order):
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    response = logistics_client.post(
        upload_url(order), {"kind": BL, "title": "", "file": upload_file(pdf())}
    )
    assert response.status_code == 400
    assert f"Order {order.number} is cancelled." in text_of(response)
    unknown = reverse("shipping_documents:upload", args=["ORD-1999-99999"])
    data = {"kind": BL, "title": "", "file": upload_file(pdf())}
    assert logistics_client.post(unknown, data).status_code == 404
    assert not ExportDocument.objects.exists() and stored_files() == []


def test_only_logistics_upload(alice_client, sales, order):
    data = {"kind": BL, "title": "", "file": upload_file(pdf())}
    assert staff_login(Client(), sales).post(upload_url(order), data).status_code == 403
    data["file"] = upload_file(pdf())
    assert alice_client.post(upload_url(order), data).status_code == 403
    data["file"] = upload_file(pdf())
    response = Client().post(upload_url(order), data)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not ExportDocument.objects.exists()


def test_uploads_need_the_csrf_token(logistics, order):
    browser = Client(enforce_csrf_checks=True)
    browser.cookies = staff_login(Client(), logistics).cookies  # signed in, no CSRF token sent
    response = browser.post(upload_url(order), {"kind": BL, "file": upload_file(pdf())})
    assert response.status_code == 403
    assert not ExportDocument.objects.exists()


# --- Customer downloads ------------------------------------------------------------------------


def test_the_customer_downloads_a_packing_list_at_once_and_it_is_logged(
    logistics, alice, alice_client, order
):
    body = pdf("packing list")
    document = add_document(order, PACKING, logistics, body)

    response = alice_client.get(download_url(document), REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == body
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{order.number}-packing-list.pdf"'
    )
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    download = DocumentDownload.objects.get()
    assert (download.document, download.user, download.ip_address) == (
        document,
        alice,
        "203.0.113.7",
    )
    event = AuditEvent.objects.get(action="export_document.downloaded")
    assert event.actor_id == alice.pk and event.subject_id == alice.pk
    assert event.ip_address == "203.0.113.7" and event.details["by_staff"] is False


def test_the_bl_is_locked_until_the_order_is_paid_then_downloads(
    logistics, alice_client, accountant, order
):
    body = pdf("original B/L")
    document = add_document(order, BL, logistics, body)

    refused = alice_client.get(download_url(document))
    assert refused.status_code == 403
    text = text_of(refused)
    assert "Available after full payment" in text
    assert money_format(order.total, order.currency) in text  # still to pay: all of it
    assert "unlocks as soon as your payment is confirmed" in text
    assert not DocumentDownload.objects.exists()

    pay_in_full(order, accountant)

    response = alice_client.get(download_url(document))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == body
    assert DocumentDownload.objects.count() == 1


def test_the_locked_page_says_what_is_still_owed_after_a_part_payment(
    logistics, alice, alice_client, accountant, order
):
    document = add_document(order, DocumentKind.EXPORT_CERTIFICATE, logistics)
    deposit = confirmed_deposit(alice, Decimal(500), staff=accountant)
    allocation_decide(
        allocation=allocation_request(
            deposit=deposit, order=order, amount=Decimal(500), requested_by=alice
        ),
        staff=accountant,
        approve=True,
    )
    response = alice_client.get(download_url(document))
    assert response.status_code == 403
    assert money_format(order.total - 500, "USD") in text_of(response)


def test_another_customer_guessing_the_bl_url_gets_404(logistics, bob, client, accountant, order):
    document = add_document(order, BL, logistics)
    pay_in_full(order, accountant)
    client.force_login(bob)

    assert client.get(download_url(document)).status_code == 404
    # The same answer as for an id that does not exist, so guessing tells nothing.
    assert client.get(f"/mypage/documents/{uuid.uuid4()}/").status_code == 404
    # The numeric id is no way in either.
    assert client.get(f"/mypage/documents/{document.pk}/").status_code == 404
    assert not DocumentDownload.objects.exists()


def test_staff_get_404_on_the_customer_link(logistics, logistics_client, order):
    document = add_document(order, PACKING, logistics)
    assert logistics_client.get(download_url(document)).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(logistics, client, order):
    document = add_document(order, PACKING, logistics)
    response = client.get(download_url(document))
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={download_url(document)}"
    assert client.get("/mypage/documents/")["Location"].startswith("/accounts/login/")
    assert not DocumentDownload.objects.exists()


# --- What the customer sees ---------------------------------------------------------------------


def test_my_documents_shows_each_document_downloadable_or_locked(
    logistics, alice_client, bob, order
):
    packing = add_document(order, PACKING, logistics, title="2 pallets")
    bl = add_document(order, BL, logistics)
    bobs = add_document(order_for(bob), BL, logistics, title="bob's secret B/L")

    response = alice_client.get("/mypage/documents/")
    assert response.status_code == 200
    text = text_of(response)
    assert f"Order {order.number}" in text
    assert "Packing list · 2 pallets" in text and "Bill of lading" in text
    assert download_url(packing) in text
    assert download_url(bl) not in text
    assert "Available after full payment" in text
    assert download_url(bobs) not in text and "bob's secret" not in text


def test_the_include_is_self_contained(logistics, order, django_assert_max_num_queries):
    packing = add_document(order, PACKING, logistics)
    add_document(order, BL, logistics)
    document_rules()
    template = Template('{% include "shipping/documents/_order_documents.html" %}')
    fresh = Order.objects.get(pk=order.pk)
    with django_assert_max_num_queries(2):  # the rules and the documents
        html = unescape(template.render(Context({"order": fresh})))
    assert "Documents" in html
    assert download_url(packing) in html
    assert html.count("Available after full payment") == 1


def test_the_include_for_an_order_without_documents(order):
    html = Template('{% include "shipping/documents/_order_documents.html" %}').render(
        Context({"order": order})
    )
    assert "No documents yet." in html


def test_my_documents_query_count_does_not_grow_with_orders(
    logistics, alice, alice_client, django_assert_max_num_queries
):
    for _ in range(3):
        order = order_for(alice)
        add_document(order, PACKING, logistics)
        add_document(order, BL, logistics)
    document_rules()
    alice_client.get("/mypage/documents/")  # warm the session
    with django_assert_max_num_queries(12):
        response = alice_client.get("/mypage/documents/")
    assert text_of(response).count("Available after full payment") == 3


# --- The logistics page: list, staff download, replace, delete -----------------------------------


def test_the_staff_page_lists_documents_with_uploader_and_the_download_log(
    logistics, logistics_client, alice, alice_client, order
):
    document = add_document(order, PACKING, logistics)
    alice_client.get(download_url(document), REMOTE_ADDR="198.51.100.23")

    listing = logistics_client.get("/backoffice/shipping/documents/", {"q": order.number})
    assert listing.status_code == 200 and order.number in text_of(listing)
    response = logistics_client.get(f"/backoffice/shipping/documents/orders/{order.number}/")
    assert response.status_code == 200
    text = text_of(response)
    assert "Packing list" in text and logistics.email in text
    assert "198.51.100.23" in text and f"{alice.email} (the customer)" in text
    assert AuditEvent.objects.filter(action="export_documents.viewed", subject_id=alice.pk).exists()


def test_staff_download_before_payment_is_logged(logistics, logistics_client, order):
    body = pdf("B/L draft")
    document = add_document(order, BL, logistics, body)
    response = logistics_client.get(
        f"/backoffice/shipping/documents/{document.public_id}/download/"
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == body
    assert response["Cache-Control"] == "private, no-store"
    download = DocumentDownload.objects.get()
    assert download.user == logistics
    assert AuditEvent.objects.get(action="export_document.downloaded").details["by_staff"] is True


def test_staff_without_the_permission_see_no_documents(logistics, sales, order):
    document = add_document(order, BL, logistics)
    other = staff_login(Client(), sales)
    assert other.get("/backoffice/shipping/documents/").status_code == 403
    assert other.get(f"/backoffice/shipping/documents/orders/{order.number}/").status_code == 403
    url = f"/backoffice/shipping/documents/{document.public_id}/download/"
    assert other.get(url).status_code == 403
    assert not DocumentDownload.objects.exists()


def test_customers_cannot_use_the_staff_download(logistics, alice_client, order):
    document = add_document(order, BL, logistics)
    url = f"/backoffice/shipping/documents/{document.public_id}/download/"
    assert alice_client.get(url).status_code == 403


def test_replacing_keeps_the_link_and_the_log_and_removes_the_old_file(
    logistics, logistics_client, alice_client, order, committed
):
    document = add_document(order, PACKING, logistics, pdf("first version"))
    alice_client.get(download_url(document))
    old_name = document.file.name or ""
    new_body = pdf("corrected version")
    field = f"replace-{document.pk}-file"

    with committed():
        response = logistics_client.post(
            f"/backoffice/shipping/documents/{document.public_id}/replace/",
            {field: upload_file(new_body), f"replace-{document.pk}-title": "corrected"},
        )
    assert response.status_code == 302

    document.refresh_from_db()
    assert document.title == "corrected" and document.file.read() == new_body
    assert document.file.name != old_name
    assert not (Path(settings.MEDIA_ROOT) / old_name).exists()
    assert DocumentDownload.objects.filter(document=document).count() == 1
    assert AuditEvent.objects.filter(action="export_document.replaced").count() == 1
    assert b"".join(alice_client.get(download_url(document)).streaming_content) == new_body


def test_a_bad_replacement_changes_nothing(logistics, logistics_client, order):
    body = pdf("keep me")
    document = add_document(order, PACKING, logistics, body)
    response = logistics_client.post(
        f"/backoffice/shipping/documents/{document.public_id}/replace/",
        {f"replace-{document.pk}-file": upload_file(b"#!/bin/sh\nrm -rf /\n", "fix.pdf")},
    )
    assert response.status_code == 400
    assert "The document must be a PDF, JPEG or PNG file." in text_of(response)
    document.refresh_from_db()
    assert document.file.read() == body and len(stored_files()) == 1


def test_deleting_a_mistake_removes_the_file(logistics, logistics_client, order, committed):
    document = add_document(order, PACKING, logistics)
    logistics_client.get(f"/backoffice/shipping/documents/{document.public_id}/download/")
    with committed():
        response = logistics_client.post(
            f"/backoffice/shipping/documents/{document.public_id}/delete/"
        )
    assert response.status_code == 302
    assert not ExportDocument.objects.exists() and stored_files() == []
    event = AuditEvent.objects.get(action="export_document.deleted")
    assert event.details["kind"] == PACKING and event.details["staff_downloads"] == 1


def test_a_document_the_customer_downloaded_is_replaced_not_deleted(
    logistics, logistics_client, alice_client, order
):
    document = add_document(order, PACKING, logistics)
    alice_client.get(download_url(document))
    response = logistics_client.post(
        f"/backoffice/shipping/documents/{document.public_id}/delete/", follow=True
    )
    assert "The customer has already downloaded this document" in text_of(response)
    assert ExportDocument.objects.filter(pk=document.pk).exists()
    assert not AuditEvent.objects.filter(action="export_document.deleted").exists()


def test_replace_and_delete_need_their_permissions(logistics, sales, order):
    document = add_document(order, PACKING, logistics)
    other = staff_login(Client(), sales)
    base = f"/backoffice/shipping/documents/{document.public_id}"
    assert other.post(f"{base}/delete/").status_code == 403
    data = {f"replace-{document.pk}-file": upload_file(pdf())}
    assert other.post(f"{base}/replace/", data).status_code == 403
    assert ExportDocument.objects.filter(pk=document.pk).exists()


# --- Privacy -----------------------------------------------------------------------------------


def test_the_access_package_copies_the_documents(logistics, alice, order):
    body = pdf("alice's packing list")
    document = add_document(order, PACKING, logistics, body)
    document_download_record(document=document, user=alice, ip_address="203.0.113.9")
    out = io.BytesIO()
    access_package_write(subject_for_user(alice), out)
    package = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    copies = [n for n in package.namelist() if n.startswith("files/shipping.ExportDocument/")]
    assert [package.read(n) for n in copies] == [body]


def test_erasure_keeps_the_documents_under_the_export_hold(
    logistics, alice, privacy_officer, order, committed
):
    body = pdf("B/L")
    document = add_document(order, BL, logistics, body)
    document_download_record(document=document, user=alice, ip_address="203.0.113.9")
    with committed():
        erasure_execute(subject_for_user(alice), actor=privacy_officer)
    document.refresh_from_db()
    assert document.file.read() == body
    # The download log is not an export record: it goes.
    assert not DocumentDownload.objects.exists()
    assert audit_chain_verify() is None
