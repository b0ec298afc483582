"""Access and portability packages: built in the background, downloaded by their owner only."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from exportdesk.core.models import AuditEvent
from exportdesk.privacy import requests as privacy_requests
from exportdesk.privacy.models import DataExport, DataRequest
from exportdesk.privacy.requests import exports_expired_delete
from exportdesk.privacy.tasks import expire_privacy_links
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

State = DataRequest.State


def _request_copy(client: Client, committed, kind: str = "access") -> DataExport:
    with committed():
        response = client.post(f"/mypage/privacy/request/{kind}/", {"password": PASSWORD})
    assert response.status_code == 302, response.content
    return DataExport.objects.select_related("request").get()


def _download_path(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/privacy/export/[^/\s]+/)", body)
    assert match, body
    return match.group(1)


def _zip_of(response) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    return archive


def test_a_requested_copy_is_built_mailed_and_downloadable_once_signed_in(
    alice_client, alice, mailoutbox, committed
):
    export = _request_copy(alice_client, committed)
    assert export.state == DataExport.State.READY
    assert export.progress == 100
    assert export.size > 0
    assert export.expires_at == export.ready_at + timedelta(days=7)
    # The stored file name says nothing about whose data it holds.
    assert "alice" not in export.file.name and export.file.name.endswith(".zip")
    data_request = export.request
    assert data_request.state == State.COMPLETED
    assert "A copy of your data was prepared" in data_request.outcome

    acknowledgement, ready = mailoutbox
    assert acknowledgement.to == ready.to == [alice.email]
    assert "See a copy of my data" in acknowledgement.body
    path = _download_path(ready.body)

    response = alice_client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "private, no-store"
    assert _zip_of(response).namelist()
    export.refresh_from_db()
    assert export.downloads == 1
    event = AuditEvent.objects.get(action="privacy.export_downloaded")
    assert event.subject_id == alice.pk and event.actor_id == alice.pk

    # My Page shows the download too.
    page = alice_client.get("/mypage/privacy/").content.decode()
    assert "Download your data (ZIP)" in page
    assert "Completed" in page


def test_portability_gives_the_same_kind_of_package(alice_client, committed):
    export = _request_copy(alice_client, committed, kind="portability")
    assert export.state == DataExport.State.READY
    assert export.request.kind == DataRequest.Kind.PORTABILITY


def test_another_customer_gets_404_and_a_stranger_must_sign_in(
    alice_client, alice, bob, mailoutbox, committed
):
    _request_copy(alice_client, committed)
    path = _download_path(mailoutbox[-1].body)

    bob_client = Client()
    bob_client.force_login(bob)
    assert bob_client.get(path).status_code == 404

    stranger = Client().get(path)
    assert stranger.status_code == 302
    assert stranger.url.startswith("/accounts/login/?next=/privacy/export/")
    assert DataExport.objects.get().downloads == 0
    assert not AuditEvent.objects.filter(action="privacy.export_downloaded").exists()


def test_a_tampered_link_is_refused(alice_client, mailoutbox, committed):
    export = _request_copy(alice_client, committed)
    path = _download_path(mailoutbox[-1].body)
    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    response = alice_client.get(tampered)
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    # A link naming another export, signed with some other key, is refused just the same.
    forged = signing.dumps({"x": export.pk}, salt="something else")
    assert alice_client.get(f"/privacy/export/{forged}/").status_code == 400
    assert DataExport.objects.get().downloads == 0


def test_a_link_older_than_seven_days_has_expired(alice_client, committed):
    export = _request_copy(alice_client, committed)

    class EightDaysAgo(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time() - 8 * 24 * 3600))

    old = EightDaysAgo(salt=privacy_requests._EXPORT_SALT).sign_object({"x": export.pk})
    response = alice_client.get(f"/privacy/export/{old}/")
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()


def test_expired_packages_lose_their_file_and_their_link(
    alice_client, mailoutbox, committed, settings
):
    export = _request_copy(alice_client, committed)
    path = _download_path(mailoutbox[-1].body)
    storage, name = export.file.storage, export.file.name
    assert storage.exists(name)

    DataExport.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    # Past its period the link fails at once, before the hourly job has run.
    assert alice_client.get(path).status_code == 410
    with committed():
        assert expire_privacy_links.call_local() == {"requests_expired": 0, "exports_expired": 1}
    export.refresh_from_db()
    assert export.state == DataExport.State.EXPIRED
    assert not export.file
    assert not storage.exists(name)
    assert alice_client.get(path).status_code == 410
    assert exports_expired_delete() == 0  # idempotent


def test_a_public_request_without_an_account_downloads_with_the_mailed_link(
    client, mailoutbox, committed
):
    with committed():
        client.post(
            "/privacy/request/",
            {"name": "Grace Otieno", "email": "grace@example.net", "kind": "access"},
        )
    verify = re.search(r"(/privacy/request/verify/[\w-]+/)", mailoutbox[0].body)
    assert verify
    with committed():
        client.post(verify.group(1))
    export = DataExport.objects.select_related("request").get()
    assert export.request.user is None
    assert export.state == DataExport.State.READY
    ready = mailoutbox[-1]
    assert ready.to == ["grace@example.net"]
    # No account to sign in to: the link mailed to the verified address is the proof.
    response = Client().get(_download_path(ready.body))
    assert response.status_code == 200
    _zip_of(response)
    assert DataExport.objects.get().downloads == 1


def test_a_failed_build_is_recorded_and_the_request_stays_open(
    alice_client, mailoutbox, committed, settings, tmp_path
):
    # Storage that cannot be written: a file stands where the media folder should be.
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": blocked, "base_url": None},
        },
    }
    export = _request_copy(alice_client, committed)
    assert export.state == DataExport.State.FAILED
    assert export.error
    assert not export.file
    assert export.request.state == State.IN_PROGRESS  # still on the officer's queue
    assert AuditEvent.objects.filter(action="privacy.export_failed").exists()
    assert len(mailoutbox) == 1  # the acknowledgement, no download link
    page = alice_client.get("/mypage/privacy/").content.decode()
    assert "Preparing your copy failed" in page


def test_staff_without_the_customer_account_get_404_too(
    alice_client, sales, privacy_officer, mailoutbox, committed
):
    _request_copy(alice_client, committed)
    path = _download_path(mailoutbox[-1].body)
    for member in (sales, privacy_officer):
        staff_client = Client()
        staff_client.force_login(member)
        assert staff_client.get(path).status_code == 404
    assert DataExport.objects.get().downloads == 0


def test_the_requests_list_refreshes_itself_only_while_a_copy_is_being_prepared(
    alice_client, alice, committed
):
    export = _request_copy(alice_client, committed)
    assert 'hx-trigger="every 3s"' not in alice_client.get("/mypage/privacy/").content.decode()
    DataExport.objects.filter(pk=export.pk).update(
        state=DataExport.State.BUILDING, progress=40, file=""
    )
    body = alice_client.get("/mypage/privacy/").content.decode()
    assert 'hx-trigger="every 3s"' in body
    assert 'hx-select="#privacy-requests"' in body
    assert '<progress max="100" value="40">' in body
    assert "Download your data (ZIP)" not in body
