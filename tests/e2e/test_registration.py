"""Opening an account: the form, the verification e-mail (read from the mail file), first sign-in."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from exportdesk.accounts.models import User
from tests.e2e.conftest import path_of, reject_cookies, sign_in
from tests.factories import PASSWORD, customer

pytestmark = [pytest.mark.e2e]

NAME = "Grace Achieng Otieno"
EMAIL = "grace.otieno@example.com"
NEW_PASSWORD = "mombasa-port-lorry-2024"


def _fill_registration(page: Page, *, adult: bool) -> None:
    form = page.locator("main form")
    form.get_by_label("Full name").fill(NAME)
    form.get_by_label("E-mail address").fill(EMAIL)
    form.get_by_label("Country of residence").select_option("KE")
    form.get_by_label("Password").fill(NEW_PASSWORD)
    if adult:
        form.get_by_label("I am an adult").check()
    form.get_by_role("button", name="Open my account").click()


def _mails_in(directory: Path) -> list[email.message.EmailMessage]:
    """The messages Django's file-based backend wrote: one .log file per connection, each
    message followed by a line of 79 dashes."""
    messages = []
    for path in sorted(directory.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk, policy=policy.default))
    return messages


def _verification_link(directory: Path, to: str) -> str:
    mine = [m for m in _mails_in(directory) if to in str(m["To"])]
    assert len(mine) == 1, [m["Subject"] for m in _mails_in(directory)]
    body = mine[0].get_body(preferencelist=("plain",)).get_content()
    links = re.findall(r"https?://\S+/accounts/verify/\S+", body)
    assert len(links) == 1, body
    return links[0]


def test_register_verify_and_sign_in(page: Page, settings, tmp_path: Path, screenshot_dir: Path):
    mail_dir = tmp_path / "mail"
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = mail_dir

    page.goto("/")
    page.get_by_role("link", name="Register").click()
    expect(page).to_have_url(re.compile(r"/accounts/register/$"))
    reject_cookies(page)
    expect(page.get_by_role("heading", name="Open an account")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "register.png"), full_page=True)

    _fill_registration(page, adult=True)

    expect(page).to_have_url(re.compile(r"/accounts/register/done/$"))
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    link = _verification_link(mail_dir, EMAIL)
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(
        page.get_by_text("Thank you, your e-mail address is verified. You can sign in now.")
    ).to_be_visible()

    sign_in(page, EMAIL, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/mypage/$"))
    expect(page.get_by_role("heading", name=f"Welcome, {NAME}")).to_be_visible()


def test_sign_in_before_verifying_is_refused(page: Page, settings, tmp_path: Path):
    mail_dir = tmp_path / "mail"
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = mail_dir
    page.goto("/accounts/register/")
    reject_cookies(page)
    _fill_registration(page, adult=True)
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    sign_in(page, EMAIL, NEW_PASSWORD)

    expect(page.get_by_text("Please verify your e-mail address first")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto("/mypage/")
    assert path_of(page.url) == "/accounts/login/?next=/mypage/"


def test_registering_a_known_address_reveals_nothing_on_screen(
    page: Page, settings, tmp_path: Path, transactional_db
):
    mail_dir = tmp_path / "mail"
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = mail_dir
    customer(EMAIL, "KE", name="The Real Grace")
    page.goto("/accounts/register/")
    reject_cookies(page)

    _fill_registration(page, adult=True)

    # The same screen as for a new address; the owner hears about it by e-mail instead.
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert User.objects.filter(email=EMAIL).count() == 1
    mine = [m for m in _mails_in(mail_dir) if EMAIL in str(m["To"])]
    assert len(mine) == 1
    body = mine[0].get_body(preferencelist=("plain",)).get_content()
    assert "you already have one" in body
    assert "/accounts/verify/" not in body
    # The account is untouched: the old password still works, the new one does not.
    sign_in(page, EMAIL, NEW_PASSWORD)
    expect(page.get_by_text("The e-mail address or password is not correct.")).to_be_visible()
    sign_in(page, EMAIL, PASSWORD)
    expect(page.get_by_role("heading", name="Welcome, The Real Grace")).to_be_visible()


def test_registration_refuses_without_adult_attestation(page: Page, mailoutbox):
    page.goto("/accounts/register/")
    reject_cookies(page)

    _fill_registration(page, adult=False)

    expect(page).to_have_url(re.compile(r"/accounts/register/$"))
    expect(page.get_by_text("Only adults can open an account")).to_be_visible()
    expect(page.get_by_role("heading", name="Check your inbox")).to_have_count(0)
    # What was typed is kept for correction, but nothing is stored and nothing is sent.
    expect(page.locator("main form").get_by_label("Full name")).to_have_value(NAME)
    assert not User.objects.filter(email=EMAIL).exists()
    assert mailoutbox == []
