"""Export Desk settings: one module, every knob an environment variable (see README).

Defaults run on one machine with nothing installed: SQLite, Huey on SQLite, e-mail to files.
Production (DEBUG off) refuses to start without SECRET_KEY and ALLOWED_HOSTS.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from exportdesk.core.env import (
    env_bool,
    env_int,
    env_list,
    env_str,
    parse_database_url,
    parse_redis_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("EXPORTDESK_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# pytest sets this through pytest-django; manage.py test is not used here.
TESTING = "pytest" in sys.modules or env_bool("EXPORTDESK_TESTING", False)

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if DEBUG:
    SECRET_KEY = SECRET_KEY or "dev-only-secret-key-never-used-in-production-0123456789abcdefghij"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "testserver"]
else:
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off")

INSTALLED_APPS = [
    "exportdesk.core.admin_site.ExportDeskAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_countries",
    "huey.contrib.djhuey",
    "exportdesk.core",
    "exportdesk.accounts",
    "exportdesk.privacy",
    "exportdesk.messaging",
    "exportdesk.stock",
    "exportdesk.sales",
    "exportdesk.payments",
    "exportdesk.auctions",
    "exportdesk.shipping",
    "exportdesk.api",
]

MIDDLEWARE = [
    # First, so it sees every cookie that any later middleware or view sets.
    "exportdesk.privacy.middleware.cookie_guard",
    "django.middleware.security.SecurityMiddleware",
    "exportdesk.core.middleware.content_security_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "exportdesk.accounts.middleware.user_language",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "exportdesk.privacy.middleware.visitor_and_consent",
    "exportdesk.stock.favourites.favourites_cookie_cleanup",
]
# Flash messages live in the session: no extra cookie to declare or consent to.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "exportdesk.urls"
WSGI_APPLICATION = "exportdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "exportdesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "exportdesk.privacy.context_processors.privacy",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
if _database_url:
    _db = parse_database_url("DATABASE_URL", _database_url)
    DATABASES = {
        "default": {
            "ENGINE": _db.engine,
            "NAME": _db.name,
            "USER": _db.user,
            "PASSWORD": _db.password,
            "HOST": _db.host,
            "PORT": _db.port,
            "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            "OPTIONS": _db.options,
            "ATOMIC_REQUESTS": False,
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "exportdesk.sqlite3",
            # A file, not memory, so tests see the same locking as the running site; one per
            # test process, so two suites running at once never share it.
            "TEST": {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")},
            "OPTIONS": {
                # IMMEDIATE: a transaction takes the write lock at BEGIN, so the audit chain and
                # ledger read-then-write never race into "database is locked" mid-transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; "
                    "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts ---------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["exportdesk.accounts.backends.EmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; tests that check the hasher itself set it back.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:mypage"
LOGOUT_REDIRECT_URL = "core:home"
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 60 * 60 * 24, minimum=300)
EMAIL_VERIFICATION_MAX_AGE = env_int("EMAIL_VERIFICATION_MAX_AGE", 60 * 60 * 24 * 3, minimum=300)
# Failed sign-ins tolerated in LOGIN_THROTTLE_WINDOW seconds before further attempts are refused.
LOGIN_THROTTLE_PER_ACCOUNT = env_int("LOGIN_THROTTLE_PER_ACCOUNT", 5, minimum=1)
LOGIN_THROTTLE_PER_IP = env_int("LOGIN_THROTTLE_PER_IP", 20, minimum=1)
LOGIN_THROTTLE_WINDOW = env_int("LOGIN_THROTTLE_WINDOW", 15 * 60, minimum=60)
SECURITY_EVENT_RETENTION_DAYS = env_int("SECURITY_EVENT_RETENTION_DAYS", 90, minimum=1)
# The privacy policy promises deletion within 30 days of a closure request.
ACCOUNT_ERASURE_DELAY_DAYS = env_int("ACCOUNT_ERASURE_DELAY_DAYS", 30, minimum=0)
# Records of provision and receipt (APPI Art. 29, 30) are kept this many years, then purged.
PRIVACY_PROVISION_RECORD_YEARS = env_int("PRIVACY_PROVISION_RECORD_YEARS", 3, minimum=1)
# Data-subject requests are answered within this many days of receipt (the policy promises 30).
PRIVACY_REQUEST_DAYS = env_int("PRIVACY_REQUEST_DAYS", 30, minimum=1)
# A public-form request must be confirmed from its e-mail link within this many hours.
PRIVACY_VERIFY_HOURS = env_int("PRIVACY_VERIFY_HOURS", 24, minimum=1)
# A data export can be downloaded for this many days, then its file is deleted.
PRIVACY_EXPORT_DAYS = env_int("PRIVACY_EXPORT_DAYS", 7, minimum=1)
# Staff second factor stays valid for this long in a session before it is asked again.
STAFF_OTP_SESSION_SECONDS = env_int("STAFF_OTP_SESSION_SECONDS", 60 * 60 * 12, minimum=300)
SITE_NAME = env_str("SITE_NAME", "Export Desk")
# Inquiries tolerated per e-mail address and per IP address within the window (spam resistance).
INQUIRY_THROTTLE_PER_EMAIL = env_int("INQUIRY_THROTTLE_PER_EMAIL", 5, minimum=1)
INQUIRY_THROTTLE_PER_IP = env_int("INQUIRY_THROTTLE_PER_IP", 10, minimum=1)
INQUIRY_THROTTLE_WINDOW = env_int("INQUIRY_THROTTLE_WINDOW", 60 * 60, minimum=60)
# Sales and payments. Japanese companies mostly start the fiscal year in April; document
# numbers restart with each fiscal year.
FISCAL_YEAR_START_MONTH = env_int("FISCAL_YEAR_START_MONTH", 4, minimum=1)
PROFORMA_DUE_BUSINESS_DAYS = env_int("PROFORMA_DUE_BUSINESS_DAYS", 5, minimum=1)
# Payment declarations the bank has not confirmed within this many days are removed.
DECLARATION_EXPIRY_DAYS = env_int("DECLARATION_EXPIRY_DAYS", 14, minimum=1)
# A large bank statement is matched in a helper process beside the import (two cores at work;
# payments/matching_process.py). Off: the import matches in its own process, as for small files.
STATEMENT_MATCHING_PROCESS = env_bool("STATEMENT_MATCHING_PROCESS", True)
SLIP_MAX_BYTES = env_int("SLIP_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# Export documents (B/L, export certificate...) logistics upload: largest accepted file.
EXPORT_DOCUMENT_MAX_BYTES = env_int("EXPORT_DOCUMENT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# The public address of the site, printed in QR codes and links on PDFs and e-mails.
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")
# Stock photo uploads: largest accepted file.
PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)

# --- retention (privacy/retention.py: the daily sweep) ------------------------
# How long each kind of record is kept, as a number and a unit: "90d" days, "24m" months, "3y"
# years. Rules in each app's privacy.py name these keys. A legal hold always wins: a period
# shorter than the law's keeps the rows until the hold ends. Override any of them with
# PRIVACY_RETENTION="visitor_contacts=2y,inactivity_warning=36m".
PRIVACY_RETENTION_DEFAULTS = {
    # Sign-in and credential events (SECURITY_EVENT_RETENTION_DAYS), then deleted.
    "security_events": f"{SECURITY_EVENT_RETENTION_DAYS}d",
    # Contact history and inquiries of people without an account, after their last contact.
    "visitor_contacts": "3y",
    # Withdrawn or expired payment declarations (their slips and details), after closing: the
    # customer was told it was removed, and only pending ones are shown.
    "closed_declarations": "0d",
    # Match suggestions for a bank credit, once it is confirmed or set aside (its booking date).
    "match_suggestions": "0d",
    # Data export files, after their expires_at (PRIVACY_EXPORT_DAYS after they are ready).
    "data_exports": "0d",
    # Privacy requests, after completion or rejection (proof of how they were handled).
    "privacy_requests": "3y",
    # Proof of an erasure, and notices to recipients about it.
    "erasure_records": "3y",
    "recipient_notifications": "3y",
    # Records of provision (APPI Art. 29) and receipt (Art. 30): their purge in
    # privacy/provision.py reads PRIVACY_PROVISION_RECORD_YEARS; change that, not these.
    "provision_records": f"{PRIVACY_PROVISION_RECORD_YEARS}y",
    "receipt_records": f"{PRIVACY_PROVISION_RECORD_YEARS}y",
    # Notices to people affected by a breach.
    "breach_notices": "3y",
    # Closed disputes (civil limitation period).
    "dispute_holds": "5y",
    # Bid requests that did not become an order (lost or withdrawn), after the request.
    "bid_requests": "3y",
    # Export records (Customs Act): consignees on orders, shipments, documents, inspections.
    "export_records": "5y",
    # Who downloaded which export document, and from where.
    "download_logs": "1y",
    # Accounting books: after the end of the fiscal year, names go, amounts stay.
    "accounting_records": "7y",
    # Expired server-side sessions.
    "sessions": "0d",
    # Accounts without a sign-in for this long are warned they will be closed...
    "inactivity_warning": "24m",
    # ...and closed and erased this long after the warning unless the person signs in.
    "inactivity_grace": "30d",
}


def _retention_periods(name: str, defaults: dict[str, str]) -> dict[str, str]:
    periods = dict(defaults)
    raw = env_str(name).strip()
    for item in raw.split(",") if raw else []:
        key, _sep, value = (part.strip() for part in item.partition("="))
        if key not in defaults:
            raise ImproperlyConfigured(f"{name}: unknown period {key!r}; use {sorted(defaults)}")
        if len(value) < 2 or not value[:-1].isdigit() or value[-1] not in "dmy":
            raise ImproperlyConfigured(f"{name}: {key} must look like 90d, 24m or 3y")
        periods[key] = value
    return periods


PRIVACY_RETENTION = _retention_periods("PRIVACY_RETENTION", PRIVACY_RETENTION_DEFAULTS)

# --- internationalisation ---------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ja", "日本語"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "exportdesk" / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "ed_language"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- files ------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STATICFILES_DIRS = [BASE_DIR / "exportdesk" / "static"]
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    # Private: no MEDIA_URL is ever served; files go out only through permission-checked views.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# --- e-mail -----------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = Path(env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail")))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Export Desk <no-reply@exportdesk.invalid>")

# --- background jobs --------------------------------------------------------
_redis_url = env_str("REDIS_URL")
if _redis_url:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": env_str("HUEY_NAME", "exportdesk"),
        "url": parse_redis_url("REDIS_URL", _redis_url),
        "immediate": False,
        "consumer": {"workers": env_int("HUEY_WORKERS", 2, minimum=1), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "exportdesk",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        # Tests run tasks in-process, at once; set HUEY_IMMEDIATE=0 to test a real worker.
        "immediate": env_bool("HUEY_IMMEDIATE", TESTING),
        "consumer": {"workers": env_int("HUEY_WORKERS", 2, minimum=1), "worker_type": "thread"},
    }

# --- security ---------------------------------------------------------------
SESSION_COOKIE_NAME = "ed_session"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 24 * 14, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_NAME = "ed_csrftoken"
CSRF_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

# The cookie guard raises on an undeclared cookie or one set without consent (DEBUG and tests);
# in production it drops such a cookie and logs an error instead of failing the page.
COOKIE_GUARD_STRICT = env_bool("COOKIE_GUARD_STRICT", DEBUG or TESTING)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"huey": {"level": "WARNING"}},
}

COUNTRIES_FIRST = ["KE", "TZ", "UG", "JM", "NZ", "CL", "GY", "MN", "KG", "FJ"]
COUNTRIES_FIRST_BREAK = "────────"
