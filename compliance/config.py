"""Configuration: safe defaults, overridden by the environment.

Every setting a deployment may change is read here and nowhere else, so the README's
configuration table has one source.
"""

import hashlib
import hmac
import os
import secrets
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ENVIRONMENTS = ("development", "testing", "production")


MIN_SECRET_BYTES = 32
KNOWN_DEFAULT_KEYS = frozenset({"dev", "development", "secret", "changeme", "change-me",
                                "please-change-me", "test", "testing", "default"})
# A database on this host needs no TLS; one anywhere else must be reached over it.
LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})
ENCRYPTED_SSLMODES = frozenset({"require", "verify-ca", "verify-full"})


class ConfigurationError(RuntimeError):
    """Raised at start-up when the configuration would run the service unsafely."""


def _refuse_unencrypted_database(url: str) -> None:
    """Production reaches a remote PostgreSQL over TLS only: `sslmode` must be `require`
    or stronger (`verify-full` checks the server's name too, and is the one to use)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgresql"):
        return
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or ""])[0]
    if host.startswith("/") or host in LOCAL_HOSTS:
        return  # a Unix socket or this machine
    mode = query.get("sslmode", ["prefer"])[0]
    if mode not in ENCRYPTED_SSLMODES:
        raise ConfigurationError(
            f"DATABASE_URL reaches {host} with sslmode={mode}: production needs "
            "sslmode=verify-full (or require) for a database on another host")


def load_config(
    instance_path: Path, environ: dict[str, str] | None = None, overrides: dict | None = None
) -> dict:
    """Build the Flask config mapping from the environment, then apply `overrides`.

    Production is the default so that a forgotten variable fails closed: it refuses to
    start without `SECRET_KEY` and serves cookies only over HTTPS.
    """
    env = os.environ if environ is None else environ
    overrides = overrides or {}
    mode = overrides.get("ENV_NAME") or env.get("COMPLIANCE_ENV", "production")
    if mode not in ENVIRONMENTS:
        raise ConfigurationError(f"COMPLIANCE_ENV must be one of {', '.join(ENVIRONMENTS)}")
    read = _Reader(env)
    absolute = read.positive_int("SESSION_ABSOLUTE_HOURS", 12)
    secret_key = overrides.get("SECRET_KEY") or _secret_key(mode, instance_path, env)
    database_url = env.get("DATABASE_URL", f"sqlite:///{instance_path / 'compliance.db'}")
    if mode == "production":
        _refuse_unencrypted_database(database_url)
    return {
        "ENV_NAME": mode,
        "DEBUG": False,
        "SECRET_KEY": secret_key,
        "AUDIT_KEY": env.get("AUDIT_KEY") or _derived_key(secret_key, "audit chain"),
        "AUDIT_ANCHOR": env.get("AUDIT_ANCHOR", str(instance_path / "audit-anchor.jsonl")),
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": read.positive_int("DATABASE_POOL_SIZE", 5),
        "DATABASE_POOL_TIMEOUT": read.positive_int("DATABASE_POOL_TIMEOUT_MS", 500) / 1000,
        "PASSWORD_HASHES_AT_ONCE": read.positive_int("PASSWORD_HASHES_AT_ONCE", 2),
        "IPLEDGE_2026_EFFECTIVE": read.date("IPLEDGE_2026_EFFECTIVE", "2026-08-08"),
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=read.positive_int("SESSION_IDLE_MINUTES", 15)),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(hours=absolute),
        # The cookie outlives the idle window so the server can say why a session ended.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=absolute),
        "INVITATION_VALID_DAYS": read.positive_int("INVITATION_VALID_DAYS", 7),
        "API_KEY_VALID_DAYS": read.positive_int("API_KEY_VALID_DAYS", 365),
        "PROXY_FIX_X_FOR": read.positive_int("PROXY_FIX_X_FOR", 0, minimum=0),
        # Over HTTPS the `__Host-` prefix makes the browser refuse the cookie unless it is
        # Secure, for this host only, on path /: a sibling subdomain cannot plant one.
        "SESSION_COOKIE_NAME": "__Host-rems_session" if mode == "production" else "rems_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": mode == "production",
        "REMEMBER_COOKIE_DURATION": timedelta(0),
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "PUBLIC_URL": _public_url(mode, env, overrides.get("PUBLIC_URL")),
        **_mail(read, env, instance_path),
    } | overrides


def _mail(read: "_Reader", env, instance_path: Path) -> dict:
    """Outgoing email, configured the Flask way. Without `MAIL_SERVER` messages are written
    to `MAIL_FOLDER` instead of being sent."""
    sender = env.get("MAIL_DEFAULT_SENDER", "REMS compliance <no-reply@localhost>")
    return {
        "MAIL_SERVER": env.get("MAIL_SERVER") or None,
        "MAIL_PORT": read.positive_int("MAIL_PORT", 587 if env.get("MAIL_USE_TLS") else 25),
        "MAIL_USE_TLS": read.flag("MAIL_USE_TLS"),
        "MAIL_USE_SSL": read.flag("MAIL_USE_SSL"),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": sender,
        "MAIL_TIMEOUT": read.positive_int("MAIL_TIMEOUT_SECONDS", 10),
        "MAIL_BACKEND": "smtp",
        "MAIL_FOLDER": env.get("MAIL_FOLDER", str(instance_path / "mail")),
        "MAIL_MESSAGE_ID_DOMAIN": sender.rpartition("@")[2].strip(" >") or "localhost",
        "OUTBOX_LEASE_SECONDS": read.positive_int("OUTBOX_LEASE_SECONDS", 120),
        "WORKER_POLL_SECONDS": read.positive_int("WORKER_POLL_SECONDS", 5),
        "REMINDER_HOUR": read.hour("REMINDER_HOUR", 8),
        "PROGRAM_CONTACT": env.get("PROGRAM_CONTACT",
                                   "your program administrator"),
    }


def _public_url(mode: str, env, given: str | None) -> str:
    """The address people reach the service at, for the links in emails. Production must
    say it: a link built from a request's Host header could point anywhere."""
    url = (given or env.get("PUBLIC_URL", "")).strip()
    if url:
        if not url.startswith(("https://", "http://")):
            raise ConfigurationError(f"PUBLIC_URL must start with https://, not {url!r}")
        return url.rstrip("/")
    if mode == "production":
        raise ConfigurationError("PUBLIC_URL is not set: production refuses to start without "
                                 "the address its emails link to (e.g. https://rems.example.org)")
    return "http://127.0.0.1:5000"


def _derived_key(secret_key: str, purpose: str) -> str:
    """A key for one purpose from the signing key, so one secret suffices to start; a
    deployment that may rotate `SECRET_KEY` sets the purpose's own key instead."""
    return hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _secret_key(mode: str, instance_path: Path, env) -> str:
    """Return the signing key: the environment's, or in development one kept in `instance/`.

    A key generated per process would log everyone out on every restart and differ between
    workers, so development keeps one file; production must be given a key explicitly.
    """
    if key := env.get("SECRET_KEY"):
        if mode == "production" and (len(key.encode()) < MIN_SECRET_BYTES
                                     or key.lower() in KNOWN_DEFAULT_KEYS):
            raise ConfigurationError(
                f"SECRET_KEY is too short or a well-known default: production needs at least "
                f"{MIN_SECRET_BYTES} random bytes (python -c 'import secrets; "
                "print(secrets.token_hex(32))')")
        return key
    if mode == "production":
        raise ConfigurationError(
            "SECRET_KEY is not set: production refuses to start without one "
            "(generate one with: python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class _Reader:
    """Typed reads of environment variables; a malformed value names its variable."""

    def __init__(self, env):
        self.env = env

    def positive_int(self, name: str, default: int, minimum: int = 1) -> int:
        raw = self.env.get(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
        if value < minimum:
            raise ConfigurationError(f"{name} must be at least {minimum}, not {value}")
        return value

    def hour(self, name: str, default: int) -> int:
        value = self.positive_int(name, default, minimum=0)
        if value > 23:
            raise ConfigurationError(f"{name} must be an hour from 0 to 23, not {value}")
        return value

    def flag(self, name: str) -> bool:
        raw = self.env.get(name, "").strip().lower()
        if raw not in ("", "0", "1", "true", "false", "yes", "no"):
            raise ConfigurationError(f"{name} must be true or false, not {raw!r}")
        return raw in ("1", "true", "yes")

    def date(self, name: str, default: str) -> date:
        raw = self.env.get(name, default)
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ConfigurationError(f"{name} must be a date as YYYY-MM-DD, not {raw!r}") from None
