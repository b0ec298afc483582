"""The privacy centre in a real browser: a copy of one's data, an objection, an erasure request."""

from __future__ import annotations

import re
import zipfile

import pytest
from django.utils import formats, timezone
from playwright.sync_api import Page, expect

from exportdesk.privacy.models import DataExport, DataRequest
from exportdesk.privacy.restrictions import processing_allowed
from tests.e2e.conftest import reject_cookies, sign_in
from tests.factories import PASSWORD, customer

pytestmark = [pytest.mark.e2e]

EMAIL = "amani.kariuki@example.com"


def _open_privacy(page: Page) -> None:
    page.locator("nav.subnav").get_by_role("link", name="Privacy").click()
    expect(page.get_by_role("heading", name="Privacy", exact=True)).to_be_visible()


def test_a_customer_downloads_objects_and_asks_for_erasure(page: Page, transactional_db, tmp_path):
    user = customer(EMAIL, "KE", name="Amani Kariuki")
    page.goto("/")
    reject_cookies(page)
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/mypage/$"))
    _open_privacy(page)

    # A copy of the data: the password is asked again; a wrong one changes nothing.
    page.get_by_role("link", name="Request a copy of my data").click()
    form = page.locator("main form")
    form.get_by_label("Your password").fill("not my password")
    form.get_by_role("button", name="Send my request").click()
    expect(page.get_by_text("That is not your current password.")).to_be_visible()
    assert not DataRequest.objects.exists()
    form.get_by_label("Your password").fill(PASSWORD)
    form.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("status")).to_contain_text("We are preparing a copy of your data.")

    requests_table = page.locator("#privacy-requests")
    download_link = requests_table.get_by_role("link", name="Download your data (ZIP)")
    expect(download_link).to_be_visible()
    with page.expect_download() as download_info:
        download_link.click()
    saved = tmp_path / "copy.zip"
    download_info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        assert archive.namelist()
    assert DataExport.objects.get().downloads == 1

    # Objection to marketing: in force at once.
    page.get_by_role("button", name="Object to marketing").click()
    expect(page.get_by_role("status")).to_contain_text("we no longer use your data for marketing")
    expect(page.get_by_role("button", name="Lift: Marketing")).to_be_visible()
    assert not processing_allowed(user, "marketing")

    # Erasure: what is kept is explained, then the request is listed with its due date.
    page.get_by_role("link", name="Ask us to delete my account and data").click()
    expect(page.get_by_role("heading", name="What we must keep, and why")).to_be_visible()
    form = page.locator("main form")
    form.get_by_label("Your password").fill(PASSWORD)
    form.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("status")).to_contain_text("Your request has been received.")

    erasure = DataRequest.objects.get(kind=DataRequest.Kind.ERASURE)
    assert erasure.due_at is not None
    due = formats.date_format(timezone.localtime(erasure.due_at), "DATE_FORMAT")
    row = requests_table.locator("tr", has_text="Delete my account and data")
    expect(row).to_contain_text("Received")
    expect(row).to_contain_text(due)
