"""The privacy officer works the queue: an overdue request stands out, an erasure is previewed,
carried out, and the request shows what was kept and why."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from exportdesk.accounts.models import User
from exportdesk.privacy.models import DataRequest, ErasureRecord
from tests.conftest import ensure_reference_data
from tests.e2e.conftest import reject_cookies, sign_in
from tests.factories import PASSWORD, customer, staff, totp_now
from tests.payments.factories import order_for

pytestmark = [pytest.mark.e2e]

OTP_LABEL = "6-digit code from your authenticator app"


def _request(*, kind: str, email: str, name: str, due_in: timedelta, user: User | None = None):
    due = timezone.now() + due_in
    received = due - timedelta(days=30)
    return DataRequest.objects.create(
        kind=kind,
        state=DataRequest.State.RECEIVED,
        channel=DataRequest.Channel.MYPAGE,
        user=user,
        email=email,
        name=name,
        details="Please delete my account and everything you hold about me.",
        language="en",
        received_at=received,
        verified_at=received,
        due_at=due,
    )


def test_the_officer_previews_and_carries_out_an_erasure(
    page: Page, transactional_db, screenshot_dir: Path
):
    ensure_reference_data()
    pat = staff("pat.privacy@exporter.example", "privacy_officer")
    alice = customer("alice@example.com", "KE", name="Alice Wanjiru")
    order_for(alice)  # unpaid: the books keep it
    _request(
        kind=DataRequest.Kind.ACCESS,
        email="grace@example.com",
        name="Grace Njeri",
        due_in=-timedelta(days=2),
    )
    erasure = _request(
        kind=DataRequest.Kind.ERASURE,
        email=alice.email,
        name=alice.name,
        due_in=timedelta(days=12),
        user=alice,
    )

    page.goto("/")
    reject_cookies(page)
    sign_in(page, pat.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/backoffice/second-factor/"))
    page.get_by_label(OTP_LABEL).fill(totp_now(pat))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))

    page.goto("/backoffice/privacy/")
    expect(page.get_by_role("heading", name="Privacy requests")).to_be_visible()
    expect(page.locator("#overdue-count")).to_have_text("1 overdue")
    overdue_row = page.locator("tr.overdue")
    expect(overdue_row).to_have_count(1)
    expect(overdue_row).to_contain_text("Grace Njeri")
    expect(overdue_row).to_contain_text("Overdue")
    # The overdue request comes first: the queue is ordered by due date.
    expect(page.locator("table.requests tbody tr").first).to_contain_text("Grace Njeri")
    page.screenshot(path=str(screenshot_dir / "privacy-officer-queue.png"), full_page=True)

    page.locator("tr", has_text="Alice Wanjiru").get_by_role(
        "link", name="Delete my account and data"
    ).click()
    expect(page.locator("#request-state")).to_have_text("Received")
    page.get_by_role("button", name="Start work").click()
    expect(page.get_by_text("Work on the request has started.")).to_be_visible()
    expect(page.locator("#request-state")).to_have_text("In progress")

    plan = page.locator("#erasure-plan")
    expect(plan.get_by_role("heading", name="Erasure plan (dry run)")).to_be_visible()
    expect(plan.locator("tr.plan-hold").first).to_contain_text("Keep under legal hold")
    expect(plan.locator("ul.kept")).to_contain_text(
        "Your orders (1 record): accounting records, Corporation Tax Act (Japan)"
    )
    expect(plan.locator("tr.plan-delete").first).to_contain_text("Delete")
    page.screenshot(path=str(screenshot_dir / "privacy-officer-plan.png"), full_page=True)
    assert not ErasureRecord.objects.exists()  # the preview changed nothing

    form = page.locator("#erase-form")
    form.get_by_role("button", name="Carry out the erasure").click()
    expect(form.get_by_text("This field is required.")).to_be_visible()  # the checkbox
    form.get_by_label("I have checked the plan").check()
    form.get_by_role("button", name="Carry out the erasure").click()

    expect(
        page.get_by_text("The erasure was carried out; the person was told what was kept and why.")
    ).to_be_visible()
    expect(page.locator("#request-state")).to_have_text("Completed")
    outcome = page.locator("#outcome")
    expect(outcome).to_contain_text("Your account and personal data were erased on")
    expect(outcome).to_contain_text(
        "Your orders (1 record): accounting records, Corporation Tax Act (Japan), kept until"
    )
    expect(page.locator("#actions")).to_have_count(0)  # nothing left to do
    page.screenshot(path=str(screenshot_dir / "privacy-officer-erased.png"), full_page=True)

    erasure.refresh_from_db()
    alice.refresh_from_db()
    assert erasure.state == DataRequest.State.COMPLETED
    assert alice.erased_at is not None and not alice.is_active
