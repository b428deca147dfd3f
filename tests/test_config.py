"""Does the configuration fail closed, keep a development key, and honour every documented
environment variable?"""

import stat
from datetime import date, timedelta

import pytest
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix

from compliance import create_app
from compliance.config import ConfigurationError, load_config

PRODUCTION = {"COMPLIANCE_ENV": "production", "SECRET_KEY": "k" * 64,
              "PUBLIC_URL": "https://rems.example.org"}


@pytest.mark.parametrize("environ", [{}, {"COMPLIANCE_ENV": "production"}],
                         ids=["unset", "production"])
def test_production_without_secret_key_refuses_to_start(tmp_path, environ):
    """Does production (also the default) refuse to start without SECRET_KEY, saying so?"""
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_config(tmp_path / "instance", environ=environ)
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_development_keeps_one_key_file_with_private_permissions(tmp_path):
    """Does development create a private key file in the instance folder and reuse it?"""
    instance = tmp_path / "instance"
    first = load_config(instance, environ={"COMPLIANCE_ENV": "development"})
    key_file = instance / "secret_key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first["SECRET_KEY"]) >= 32
    second = load_config(instance, environ={"COMPLIANCE_ENV": "development"})
    assert second["SECRET_KEY"] == first["SECRET_KEY"]


def test_each_instance_folder_gets_its_own_development_key(tmp_path):
    """Is a development key random rather than a constant shared by every checkout?"""
    one = load_config(tmp_path / "a", environ={"COMPLIANCE_ENV": "development"})
    two = load_config(tmp_path / "b", environ={"COMPLIANCE_ENV": "development"})
    assert one["SECRET_KEY"] != two["SECRET_KEY"]


def test_an_explicit_key_wins_and_writes_no_file(tmp_path):
    """Is SECRET_KEY from the environment used as given, with no key file written?"""
    config = load_config(tmp_path, environ={"COMPLIANCE_ENV": "development",
                                            "SECRET_KEY": "from-the-environment"})
    assert config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_the_audit_key_is_its_own_or_derived_from_the_secret_key(tmp_path):
    """AUDIT_KEY as given; without it, a key derived from SECRET_KEY (stable, not equal)."""
    derived = load_config(tmp_path, environ=PRODUCTION)["AUDIT_KEY"]
    assert derived == load_config(tmp_path, environ=PRODUCTION)["AUDIT_KEY"]
    assert derived != PRODUCTION["SECRET_KEY"] and len(derived) == 64
    other = load_config(tmp_path, environ={**PRODUCTION, "SECRET_KEY": "j" * 64})["AUDIT_KEY"]
    assert other != derived
    given = load_config(tmp_path, environ={**PRODUCTION, "AUDIT_KEY": "its-own-key"})
    assert given["AUDIT_KEY"] == "its-own-key"


@pytest.mark.parametrize("mode,secure", [("production", True), ("development", False),
                                         ("testing", False)])
def test_cookies_are_secure_in_production(tmp_path, mode, secure):
    """Are cookies Secure in production, and always HttpOnly and SameSite=Lax?"""
    config = load_config(tmp_path, environ={**PRODUCTION, "COMPLIANCE_ENV": mode})
    assert config["SESSION_COOKIE_SECURE"] is secure
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["DEBUG"] is False


def test_database_defaults_to_sqlite_in_the_instance_folder(tmp_path):
    """Without DATABASE_URL, is the database an SQLite file under instance/?"""
    config = load_config(tmp_path / "instance", environ=PRODUCTION)
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'compliance.db'}"


@pytest.mark.parametrize("mode", ["prod", "Production", "staging", ""])
def test_unknown_environment_is_refused(tmp_path, mode):
    """Is a COMPLIANCE_ENV outside development/testing/production refused at start-up?"""
    with pytest.raises(ConfigurationError, match="COMPLIANCE_ENV"):
        load_config(tmp_path, environ={**PRODUCTION, "COMPLIANCE_ENV": mode})


def test_documented_defaults(tmp_path):
    """With nothing set but the key, are the README's defaults in force?"""
    config = load_config(tmp_path, environ=PRODUCTION)
    assert config["ENV_NAME"] == "production"
    assert config["SESSION_IDLE_TIMEOUT"] == timedelta(minutes=15)
    assert config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    assert config["SESSION_ABSOLUTE_TIMEOUT"] == timedelta(hours=12)
    assert config["INVITATION_VALID_DAYS"] == 7
    assert config["IPLEDGE_2026_EFFECTIVE"] == date(2026, 8, 8)
    assert config["PROXY_FIX_X_FOR"] == 0
    assert config["DATABASE_POOL_SIZE"] == 5
    assert config["DATABASE_POOL_TIMEOUT"] == 0.5
    assert config["PASSWORD_HASHES_AT_ONCE"] == 2
    assert config["LOG_LEVEL"] == "INFO"


@pytest.mark.parametrize("variable,value,setting,expected", [
    ("SESSION_IDLE_MINUTES", "30", "SESSION_IDLE_TIMEOUT", timedelta(minutes=30)),
    ("SESSION_ABSOLUTE_HOURS", "8", "SESSION_ABSOLUTE_TIMEOUT", timedelta(hours=8)),
    # the cookie lives as long as the absolute limit, so the server can say why a session ended
    ("SESSION_ABSOLUTE_HOURS", "8", "PERMANENT_SESSION_LIFETIME", timedelta(hours=8)),
    ("INVITATION_VALID_DAYS", "3", "INVITATION_VALID_DAYS", 3),
    ("IPLEDGE_2026_EFFECTIVE", "2026-09-01", "IPLEDGE_2026_EFFECTIVE", date(2026, 9, 1)),
    ("PROXY_FIX_X_FOR", "2", "PROXY_FIX_X_FOR", 2),
    ("DATABASE_URL", "postgresql+psycopg://rems@db/rems?sslmode=verify-full", "DATABASE_URL",
     "postgresql+psycopg://rems@db/rems?sslmode=verify-full"),
    ("DATABASE_POOL_SIZE", "12", "DATABASE_POOL_SIZE", 12),
    ("DATABASE_POOL_TIMEOUT_MS", "250", "DATABASE_POOL_TIMEOUT", 0.25),
    ("PASSWORD_HASHES_AT_ONCE", "4", "PASSWORD_HASHES_AT_ONCE", 4),
    ("LOG_LEVEL", "WARNING", "LOG_LEVEL", "WARNING"),
    ("SECRET_KEY", "another-key-" * 4, "SECRET_KEY", "another-key-" * 4),
])
def test_every_documented_variable_is_honoured(tmp_path, variable, value, setting, expected):
    """Does each environment variable in the README's table change its setting?"""
    config = load_config(tmp_path, environ={**PRODUCTION, variable: value})
    assert config[setting] == expected


def test_explicit_overrides_win_over_the_environment(tmp_path):
    """Do `overrides` (what create_app's test_config passes) beat the environment?"""
    config = load_config(tmp_path, environ={**PRODUCTION, "INVITATION_VALID_DAYS": "3"},
                         overrides={"INVITATION_VALID_DAYS": 10, "ENV_NAME": "testing"})
    assert config["INVITATION_VALID_DAYS"] == 10
    assert config["ENV_NAME"] == "testing"
    assert config["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize("variable,value", [
    ("SESSION_IDLE_MINUTES", "fifteen"),
    ("SESSION_IDLE_MINUTES", "0"),
    ("SESSION_ABSOLUTE_HOURS", "-1"),
    ("INVITATION_VALID_DAYS", "7d"),
    ("INVITATION_VALID_DAYS", "0"),
    ("DATABASE_POOL_SIZE", "five"),
    ("PROXY_FIX_X_FOR", "-1"),
    ("IPLEDGE_2026_EFFECTIVE", "08/08/2026"),
])
def test_malformed_values_are_refused_naming_the_variable(tmp_path, variable, value):
    """Does a malformed or out-of-range setting stop the start, naming the variable?"""
    with pytest.raises(ConfigurationError, match=variable):
        load_config(tmp_path, environ={**PRODUCTION, variable: value})


@pytest.mark.parametrize("hops,expected", [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_proxy_fix_trusts_exactly_the_configured_proxies(tmp_path, monkeypatch, hops,
                                                         expected):
    """Is X-Forwarded-For believed only when PROXY_FIX_X_FOR says a proxy is in front?"""
    monkeypatch.setenv("PROXY_FIX_X_FOR", str(hops))
    app = create_app({"ENV_NAME": "testing", "TESTING": True, "SECRET_KEY": "test",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.db'}"})
    assert isinstance(app.wsgi_app, ProxyFix) is bool(hops)
    app.add_url_rule("/probe-address", "probe", lambda: request.remote_addr or "")
    response = app.test_client().get("/probe-address",
                                     headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.text == expected


@pytest.mark.parametrize("key", ["dev", "changeme", "k" * 31, "short-but-not-default"])
def test_production_refuses_a_short_or_well_known_secret_key(tmp_path, key):
    """Is a key under 32 bytes, or a default from a tutorial, refused at start-up?"""
    with pytest.raises(ConfigurationError, match="SECRET_KEY is too short or a well-known"):
        load_config(tmp_path, environ={**PRODUCTION, "SECRET_KEY": key})


def test_development_accepts_any_key(tmp_path):
    config = load_config(tmp_path, environ={"COMPLIANCE_ENV": "development", "SECRET_KEY": "dev"})
    assert config["SECRET_KEY"] == "dev"


@pytest.mark.parametrize(("url", "refused"), [
    ("postgresql+psycopg://rems@db.internal/rems", True),
    ("postgresql+psycopg://rems@db.internal/rems?sslmode=disable", True),
    ("postgresql+psycopg://rems@db.internal/rems?sslmode=prefer", True),
    ("postgresql://rems@10.0.0.5:5432/rems?sslmode=allow", True),
    ("postgresql+psycopg://rems@db.internal/rems?sslmode=require", False),
    ("postgresql+psycopg://rems@db.internal/rems?sslmode=verify-full", False),
    ("postgresql+psycopg://rems@127.0.0.1/rems", False),
    ("postgresql+psycopg://rems@localhost/rems?sslmode=disable", False),
    ("postgresql+psycopg://rems@/rems?host=/var/run/postgresql", False),
    ("sqlite:////srv/rems/compliance.db", False),
])
def test_production_reaches_a_remote_database_over_tls_only(tmp_path, url, refused):
    """A database on another host without sslmode=require or stronger: refused in
    production (credentials and patient data would cross the network in clear)."""
    environ = {**PRODUCTION, "DATABASE_URL": url}
    if refused:
        with pytest.raises(ConfigurationError, match="sslmode"):
            load_config(tmp_path, environ=environ)
    else:
        assert load_config(tmp_path, environ=environ)["DATABASE_URL"] == url
    development = load_config(tmp_path, environ={**environ, "COMPLIANCE_ENV": "development"})
    assert development["DATABASE_URL"] == url


@pytest.mark.parametrize(("mode", "name"), [("production", "__Host-rems_session"),
                                            ("development", "rems_session")])
def test_the_session_cookie_is_host_only_over_https(tmp_path, mode, name):
    """Production's cookie carries the `__Host-` prefix (Secure, this host, path /)."""
    config = load_config(tmp_path, environ={**PRODUCTION, "COMPLIANCE_ENV": mode})
    assert config["SESSION_COOKIE_NAME"] == name
    assert config.get("SESSION_COOKIE_DOMAIN") in (None, False)
    assert config["SESSION_COOKIE_SECURE"] is (mode == "production")
