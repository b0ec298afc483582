"""The breach register in the browser: a privacy officer records an incident, sees the legal
deadlines and who is affected, records the PPC preliminary report and tells the people affected."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from exportdesk.accounts.models import User
from exportdesk.privacy.breaches import BreachFacts, breach_record
from exportdesk.privacy.models import Breach, BreachNotice, BreachReport
from tests.e2e.conftest import reject_cookies, sign_in
from tests.factories import PASSWORD, customer, staff, totp_now

pytestmark = [pytest.mark.e2e]

OTP_LABEL = "6-digit code from your authenticator app"
RED = "rgb(163, 38, 27)"  # --danger in site.css


def _officer_page(make_context: Callable[..., BrowserContext], officer: User) -> Page:
    page = make_context().new_page()
    page.goto("/")
    reject_cookies(page)
    sign_in(page, officer.email, PASSWORD)
    page.get_by_label(OTP_LABEL).fill(totp_now(officer))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))
    return page


def _customer_since(email: str, name: str, days: int) -> User:
    person = customer(email, "KE", name=name)
    User.objects.filter(pk=person.pk).update(date_joined=timezone.now() - timedelta(days=days))
    return person


def _typed(moment: datetime) -> str:
    """What the officer types in a date-and-time field, in the exporter's time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_an_officer_records_a_breach_reports_it_and_tells_the_people_affected(
    new_context: Callable[..., BrowserContext], transactional_db, screenshot_dir: Path
):
    officer = staff("pat.privacy@exporter.example", "privacy_officer")
    _customer_since("alice@example.com", "Alice Wanjiru", days=400)
    _customer_since("bob@example.com", "Bob Campbell", days=30)
    newcomer = customer("nina@example.com", "KE", name="Nina Otieno")  # joined after the window
    now = timezone.now()
    page = _officer_page(new_context, officer)

    page.goto("/backoffice/privacy/breaches/")
    page.get_by_role("link", name="Record a breach").click()
    form = page.locator("main form.card")
    form.get_by_label("Detected at").fill(_typed(now - timedelta(hours=2)))
    form.get_by_label("What happened").fill(
        "A staff laptop with an export of customer contact details was stolen."
    )
    form.get_by_label("contact details", exact=True).check()
    form.get_by_label("identity", exact=True).check()
    form.get_by_label("Systems involved").fill("Back-office customer export")
    form.get_by_label("Window from").fill(_typed(now - timedelta(days=2)))
    # The window's end before its start: refused with a clear reason, nothing recorded.
    form.get_by_label("Window until").fill(_typed(now - timedelta(days=3)))
    form.get_by_label("Caused by an attack or wrongdoing").check()
    form.get_by_label("Likely high risk to the people affected").check()
    form.get_by_role("button", name="Record the breach").click()
    expect(page.get_by_text("The window cannot end before it starts.")).to_be_visible()
    assert not Breach.objects.exists()

    form = page.locator("main form.card")
    form.get_by_label("Window until").fill(_typed(now - timedelta(hours=3)))
    form.get_by_role("button", name="Record the breach").click()

    reference = f"BR-{timezone.localtime(now).year}-001"
    expect(page.get_by_role("heading", name=f"Breach {reference}")).to_be_visible()
    expect(page.get_by_text(f"Breach {reference} recorded.")).to_be_visible()

    # The three clocks, each counted from detection, with the time left.
    deadlines = page.locator("table.deadlines")
    gdpr = deadlines.locator("tr[data-kind=gdpr_authority]")
    expect(gdpr).to_contain_text("GDPR supervisory authority (72 hours)")
    expect(gdpr).to_contain_text(_typed(now + timedelta(hours=70)).replace("T", " "))
    expect(gdpr).to_contain_text("2\xa0days, 21\xa0hours left")
    preliminary = deadlines.locator("tr[data-kind=ppc_preliminary]")
    expect(preliminary).to_contain_text("5 days is the outer limit")
    expect(preliminary).to_contain_text("4\xa0days, 21\xa0hours left")
    final = deadlines.locator("tr[data-kind=ppc_final]")
    expect(final).to_contain_text(_typed(now + timedelta(days=60, hours=-2))[:10])  # malicious

    # Alice and Bob had accounts during the window; Nina joined after it.
    expect(page.locator(".affected-count")).to_have_text("2 people affected")
    affected = page.locator("table.affected")
    expect(affected).not_to_contain_text(newcomer.customer_number)
    expect(affected).not_to_contain_text("alice@example.com")
    page.screenshot(path=str(screenshot_dir / "breach-detail.png"), full_page=True)

    # The preliminary report to the PPC.
    report = page.locator("main form", has=page.get_by_role("heading", name="Record a report sent"))
    report.get_by_label("Report", exact=True).select_option(label="PPC preliminary report")
    report.get_by_label("Authority's reference").fill("PPC-2026-0042")
    report.get_by_role("button", name="Record the report").click()
    expect(page.get_by_text("PPC preliminary report recorded.")).to_be_visible()
    expect(preliminary).to_contain_text("PPC-2026-0042")
    expect(preliminary).to_contain_text("Sent ")
    expect(preliminary).not_to_contain_text("left")
    expect(page.get_by_label("Report", exact=True).locator("option")).to_have_count(2)
    assert BreachReport.objects.get().kind == BreachReport.Kind.PPC_PRELIMINARY

    # Notices to the two people affected, once.
    mail.outbox.clear()
    page.get_by_role("button", name="Send notices to 2 people").click()
    expect(page.get_by_text("Sending notices to 2 people.")).to_be_visible()
    page.reload()
    expect(page.locator(".notice-counts")).to_contain_text("2 told")
    expect(page.locator(".notice-counts")).to_contain_text("0 still to tell")
    expect(page.get_by_role("button", name=re.compile("Send notice"))).to_have_count(0)
    expect(page.locator("table.affected")).to_contain_text("Told")
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    assert BreachNotice.objects.count() == 2


def test_an_unreported_deadline_past_due_shows_in_red(
    new_context: Callable[..., BrowserContext], transactional_db
):
    officer = staff("pat.privacy@exporter.example", "privacy_officer")
    now = timezone.now()
    breach = breach_record(
        facts=BreachFacts(
            detected_at=now - timedelta(days=4),
            description="Invoices e-mailed to the wrong customer.",
            categories=["transaction"],
            systems="Invoice mailer",
            occurred_from=now - timedelta(days=5),
            occurred_until=now - timedelta(days=4),
            malicious=False,
            high_risk=False,
        ),
        actor=officer,
    )
    page = _officer_page(new_context, officer)

    page.goto("/backoffice/privacy/breaches/")
    row = page.get_by_role("row", name=re.compile(breach.reference))
    expect(row.locator(".overdue")).to_have_text("overdue")
    expect(row.locator(".overdue")).to_have_css("color", RED)

    row.get_by_role("link", name=breach.reference).click()
    gdpr = page.locator("table.deadlines tr[data-kind=gdpr_authority]")
    expect(gdpr.locator(".overdue")).to_contain_text("Overdue by 1\xa0day")
    expect(gdpr.locator(".overdue")).to_have_css("color", RED)
    preliminary = page.locator("table.deadlines tr[data-kind=ppc_preliminary]")
    expect(preliminary).to_contain_text("left")
    expect(preliminary.locator(".overdue")).to_have_count(0)
