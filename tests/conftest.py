from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from exportdesk.accounts.models import User
from tests.factories import PASSWORD, customer, staff, totp_now


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media", "base_url": None},
        },
    }


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """Requests activate the customer's language for the thread and leave it there (as Django's
    LocaleMiddleware does: the next request sets its own). Tests share one thread, so each
    starts from the default language instead of the last request's."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run on-commit work (e-mails) as a real commit would, inside the test transaction."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def alice(db) -> User:
    """A customer in Kenya."""
    return customer("alice@example.com", "KE", name="Alice Wanjiru")


@pytest.fixture
def bob(db) -> User:
    """Another customer, in Jamaica: must never see Alice's data."""
    return customer("bob@example.com", "JM", name="Bob Campbell")


@pytest.fixture
def alice_client(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def staff_login(client: Client, user: User) -> Client:
    """Sign in through the real form and pass the second factor."""
    response = client.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    response = client.post("/backoffice/second-factor/", {"code": totp_now(user)})
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def sales(db) -> User:
    return staff("sam.sales@exporter.example", "sales")


@pytest.fixture
def privacy_officer(db) -> User:
    return staff("pat.privacy@exporter.example", "privacy_officer")


@pytest.fixture
def admin_user(db) -> User:
    return staff("ada.admin@exporter.example", "admin")


def ensure_reference_data() -> None:
    """Transactional tests (browser tests) flush the database between tests, which also removes
    the reference data the migrations loaded; load it again (idempotent) where a test needs it.
    pytest-django runs transactional tests last, so the other tests never see the flush."""
    from importlib import import_module

    from django.apps import apps

    import_module("exportdesk.stock.migrations.0002_reference_data").load(apps, None)
