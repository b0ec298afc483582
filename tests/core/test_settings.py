"""Settings come from the environment, strictly: a bad value stops the process and names the
variable, and production (DEBUG off) refuses to start half-configured.

The start-up tests run `manage.py` in a subprocess, because settings are read once at import.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from exportdesk.core.env import (
    DatabaseURL,
    env_bool,
    env_int,
    env_list,
    parse_database_url,
    parse_redis_url,
)

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
if not PYTHON.exists():  # e.g. a CI image that installs into the system interpreter
    PYTHON = Path(sys.executable)
SUBPROCESS_TIMEOUT = 180


# --- env.py: strict helpers --------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", " yes ", "on"])
def test_it_reads_true_spellings_as_true(monkeypatch, raw):
    monkeypatch.setenv("DEBUG", raw)
    assert env_bool("DEBUG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", " off "])
def test_it_reads_false_spellings_as_false(monkeypatch, raw):
    monkeypatch.setenv("DEBUG", raw)
    assert env_bool("DEBUG", True) is False


def test_it_uses_the_default_when_a_flag_is_unset_or_empty(monkeypatch):
    monkeypatch.delenv("DEBUG", raising=False)
    assert env_bool("DEBUG", True) is True
    monkeypatch.setenv("DEBUG", "")
    assert env_bool("DEBUG", False) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled"])
def test_it_refuses_a_flag_it_cannot_read_and_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("DEBUG", raw)
    with pytest.raises(ImproperlyConfigured, match=r"^DEBUG must be one of") as excinfo:
        env_bool("DEBUG", False)
    assert repr(raw) in str(excinfo.value)


def test_it_reads_a_whole_number(monkeypatch):
    monkeypatch.setenv("HUEY_WORKERS", " 4 ")
    assert env_int("HUEY_WORKERS", 2, minimum=1) == 4


def test_it_uses_the_default_number_when_unset_or_empty(monkeypatch):
    monkeypatch.delenv("HUEY_WORKERS", raising=False)
    assert env_int("HUEY_WORKERS", 2, minimum=1) == 2
    monkeypatch.setenv("HUEY_WORKERS", "")
    assert env_int("HUEY_WORKERS", 2, minimum=1) == 2


def test_it_accepts_a_number_equal_to_the_minimum(monkeypatch):
    monkeypatch.setenv("HUEY_WORKERS", "1")
    assert env_int("HUEY_WORKERS", 2, minimum=1) == 1


@pytest.mark.parametrize("raw", ["two", "2.5", "4 workers", "0x10"])
def test_it_refuses_a_number_it_cannot_read_and_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("HUEY_WORKERS", raw)
    with pytest.raises(ImproperlyConfigured, match=r"^HUEY_WORKERS must be a whole number"):
        env_int("HUEY_WORKERS", 2, minimum=1)


@pytest.mark.parametrize("raw", ["0", "-3"])
def test_it_refuses_a_number_below_the_minimum_and_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("HUEY_WORKERS", raw)
    with pytest.raises(ImproperlyConfigured, match=r"^HUEY_WORKERS must be at least 1"):
        env_int("HUEY_WORKERS", 2, minimum=1)


def test_it_reads_a_comma_separated_list_without_spaces(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "exporter.example, www.exporter.example")
    assert env_list("ALLOWED_HOSTS") == ["exporter.example", "www.exporter.example"]


def test_it_uses_a_copy_of_the_default_list_when_unset(monkeypatch):
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    default = ["localhost"]
    value = env_list("ALLOWED_HOSTS", default)
    assert value == ["localhost"]
    value.append("evil.example")
    assert default == ["localhost"]
    assert env_list("ALLOWED_HOSTS") == []


@pytest.mark.parametrize("raw", ["a.example,,b.example", "a.example,", ",a.example", " , "])
def test_it_refuses_a_list_with_an_empty_item_and_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("ALLOWED_HOSTS", raw)
    with pytest.raises(ImproperlyConfigured, match=r"^ALLOWED_HOSTS must be a comma-separated"):
        env_list("ALLOWED_HOSTS")


def test_it_reads_a_postgresql_url_with_quoted_credentials():
    parsed = parse_database_url(
        "DATABASE_URL", "postgresql://export%20desk:p%40ss%2Fword@db.internal:5433/exportdesk"
    )
    assert parsed == DatabaseURL(
        engine="django.db.backends.postgresql",
        name="exportdesk",
        user="export desk",
        password="p@ss/word",
        host="db.internal",
        port="5433",
        options={},
    )


def test_it_reads_the_postgres_scheme_alias_and_a_socket_directory_host():
    parsed = parse_database_url(
        "DATABASE_URL", "postgres://exportdesk@%2Fvar%2Frun%2FPostgreSQL/exportdesk"
    )
    assert parsed.engine == "django.db.backends.postgresql"
    assert parsed.host == "/var/run/PostgreSQL"
    assert parsed.port == ""
    assert parsed.password == ""
    assert parsed.name == "exportdesk"


@pytest.mark.parametrize(
    "raw",
    [
        "mysql://exportdesk:secret@db.internal/exportdesk",
        "sqlite:///var/exportdesk.sqlite3",
        "db.internal/exportdesk",
    ],
)
def test_it_refuses_a_database_url_that_is_not_postgresql_and_names_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^DATABASE_URL must start with one of"):
        parse_database_url("DATABASE_URL", raw)


@pytest.mark.parametrize(
    "raw", ["postgresql://exportdesk:secret@db.internal:5432", "postgresql://db.internal/"]
)
def test_it_refuses_a_database_url_without_a_database_name_and_names_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^DATABASE_URL must name a database"):
        parse_database_url("DATABASE_URL", raw)


@pytest.mark.parametrize(
    "raw", ["postgresql://db.internal:port/exportdesk", "postgresql://db.internal:99999/exportdesk"]
)
def test_it_refuses_a_database_url_with_a_bad_port_and_names_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^DATABASE_URL has an invalid port"):
        parse_database_url("DATABASE_URL", raw)


@pytest.mark.parametrize(
    "raw",
    [
        "redis://127.0.0.1:6379/0",
        "rediss://:secret@cache.internal:6380/1",
        "unix:///run/redis.sock",
    ],
)
def test_it_passes_a_valid_redis_url_through_unchanged(raw):
    assert parse_redis_url("REDIS_URL", raw) == raw


@pytest.mark.parametrize("raw", ["http://127.0.0.1:6379/0", "127.0.0.1:6379", "localhost"])
def test_it_refuses_a_redis_url_that_is_not_redis_and_names_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^REDIS_URL must start with redis://"):
        parse_redis_url("REDIS_URL", raw)


# --- starting Django -----------------------------------------------------------------------------


def _settings_variables() -> set[str]:
    """Every variable settings.py reads, so the parent's environment cannot leak into a child."""
    source = (ROOT / "exportdesk" / "settings.py").read_text()
    return set(re.findall(r"""env_\w+\(\s*["']([A-Z0-9_]+)["']""", source))


def manage_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """A clean environment for `manage.py`: defaults except what the test sets."""
    strip = _settings_variables() | {"DJANGO_SETTINGS_MODULE", "EXPORTDESK_TESTING"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in strip and not key.startswith(("PYTEST", "HUEY_"))
    }
    env["EXPORTDESK_VAR_DIR"] = str(var_dir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYTHON), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )


def test_it_starts_with_the_defaults(tmp_path):
    result = manage(manage_env(tmp_path), "check")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be one of"),
        ("HUEY_WORKERS", "two", "HUEY_WORKERS must be a whole number"),
        ("HUEY_WORKERS", "0", "HUEY_WORKERS must be at least 1"),
        ("SECURITY_EVENT_RETENTION_DAYS", "0", "SECURITY_EVENT_RETENTION_DAYS must be at least 1"),
        ("ALLOWED_HOSTS", "exporter.example,,", "ALLOWED_HOSTS must be a comma-separated list"),
        ("DATABASE_URL", "mysql://u:p@db.internal/exportdesk", "DATABASE_URL must start with"),
        ("DATABASE_URL", "postgresql://u:p@db.internal:5432", "DATABASE_URL must name a database"),
        ("REDIS_URL", "http://127.0.0.1:6379/0", "REDIS_URL must start with redis://"),
    ],
)
def test_it_refuses_to_start_with_a_bad_variable_and_names_it(tmp_path, variable, value, message):
    result = manage(manage_env(tmp_path, **{variable: value}), "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path):
    env = manage_env(tmp_path, DEBUG="0", ALLOWED_HOSTS="exporter.example")
    result = manage(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_refuses_to_start_in_production_with_an_empty_secret_key(tmp_path):
    env = manage_env(tmp_path, DEBUG="0", SECRET_KEY="", ALLOWED_HOSTS="exporter.example")
    result = manage(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_refuses_to_start_in_production_without_allowed_hosts(tmp_path):
    env = manage_env(tmp_path, DEBUG="0", SECRET_KEY=secrets.token_urlsafe(48))
    result = manage(env, "check")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set when DEBUG is off" in result.stderr


# --- production configuration --------------------------------------------------------------------


@pytest.fixture(scope="module")
def production_env(tmp_path_factory) -> dict[str, str]:
    """DEBUG off, a strong key, one host; database migrated and static files collected."""
    var_dir = tmp_path_factory.mktemp("production-var")
    env = manage_env(
        var_dir,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="exporter.example",
    )
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    collected = manage(env, "collectstatic", "--noinput")
    assert collected.returncode == 0, collected.stderr
    return env


def test_it_collects_static_files_with_a_manifest_in_production(production_env):
    static_root = Path(production_env["EXPORTDESK_VAR_DIR"]) / "static"
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    assert manifest["paths"], "the manifest lists no files"
    hashed = next(iter(manifest["paths"].values()))
    assert (static_root / hashed).is_file()


def test_it_passes_the_deployment_checklist_without_warnings(production_env):
    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


_REQUEST_SCRIPT = """
import json
from django.test import Client

def cookies(response):
    return {name: morsel.OutputString() for name, morsel in response.cookies.items()}

client = Client()
page = client.get("/privacy/cookies/", secure=True, HTTP_HOST="exporter.example")
choice = client.post(
    "/privacy/cookies/choice/", {"choice": "accept_all"},
    secure=True, HTTP_HOST="exporter.example",
)
plain = Client().get("/privacy/cookies/", HTTP_HOST="exporter.example")
print("RESULT " + json.dumps({
    "status": page.status_code,
    "headers": dict(page.headers),
    "cookies": cookies(page),
    "choice_status": choice.status_code,
    "choice_cookies": cookies(choice),
    "plain_status": plain.status_code,
    "plain_location": plain.headers.get("Location"),
}))
"""


@pytest.fixture(scope="module")
def production_responses(production_env) -> dict:
    result = manage(production_env, "shell", "--no-imports", "-c", _REQUEST_SCRIPT)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, result.stdout + result.stderr
    return json.loads(lines[0].removeprefix("RESULT "))


def test_it_serves_a_page_over_https_in_production(production_responses):
    assert production_responses["status"] == 200


def test_it_sends_hsts_for_a_year_with_subdomains_and_preload(production_responses):
    hsts = production_responses["headers"]["Strict-Transport-Security"]
    directives = {part.strip() for part in hsts.split(";")}
    assert "max-age=31536000" in directives
    assert "includeSubDomains" in directives
    assert "preload" in directives


def test_it_sends_the_browser_security_headers_in_production(production_responses):
    headers = production_responses["headers"]
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def _attributes(set_cookie: str) -> set[str]:
    return {part.strip().lower() for part in set_cookie.split(";")[1:]}


def test_it_sets_the_csrf_cookie_secure_and_http_only_in_production(production_responses):
    # The cookie page carries the consent form, so it sets the CSRF cookie.
    csrf = production_responses["cookies"]["ed_csrftoken"]
    assert {"secure", "httponly", "samesite=lax"} <= _attributes(csrf)


def test_it_sets_every_cookie_secure_and_http_only_in_production(production_responses):
    assert production_responses["choice_status"] == 302
    all_cookies = {**production_responses["cookies"], **production_responses["choice_cookies"]}
    # The choice stores a flash message in the session and records the visitor id.
    assert {"ed_session", "ed_csrftoken", "ed_visitor"} <= set(all_cookies)
    assert set(all_cookies) <= {"ed_session", "ed_csrftoken", "ed_visitor", "ed_language"}
    for name, set_cookie in all_cookies.items():
        assert {"secure", "httponly", "samesite=lax"} <= _attributes(set_cookie), name


def test_it_redirects_plain_http_to_https_in_production(production_responses):
    assert production_responses["plain_status"] == 301
    assert production_responses["plain_location"] == "https://exporter.example/privacy/cookies/"


def test_it_passes_database_url_query_options_to_the_driver():
    from exportdesk.core.env import parse_database_url

    db = parse_database_url("DATABASE_URL", "postgresql://u:p@db.example:5432/desk?sslmode=require")
    assert db.options == {"sslmode": "require"}
