"""The database: one engine per app, one session per request.

Views and services reach the session through `get_session()`. The session is created on
first use, kept in `g`, and closed at teardown; anything not committed by a service is
rolled back there, so a failed request never leaves half a change behind.
"""

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

_EXTENSION = "compliance_db_engine"
# How long a request waits for a free connection before it is told to retry (503): a
# client that waits 30 s for an error page has already given up. (`DATABASE_POOL_TIMEOUT`)
POOL_TIMEOUT_SECONDS = 0.5


def init_app(app: Flask) -> None:
    """Create the app's engine and close the request's session at teardown."""
    app.extensions[_EXTENSION] = make_engine(
        app.config["DATABASE_URL"], pool_size=app.config.get("DATABASE_POOL_SIZE", 5),
        pool_timeout=app.config["DATABASE_POOL_TIMEOUT"])
    app.teardown_appcontext(_close_session)


def make_engine(url: str, *, pool_size: int = 5,
                pool_timeout: float = POOL_TIMEOUT_SECONDS) -> Engine:
    """Build an engine with the settings each supported database needs.

    SQLite: WAL so readers never wait for the writer, foreign keys on (off by default),
    a busy timeout so concurrent writers queue instead of failing, and a full sync at
    every commit (WAL's NORMAL may lose the last commits when the machine loses power).
    PostgreSQL: psycopg 3 and `pool_pre_ping`, so a restarted server costs one reconnect,
    not an error page.
    """
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")  # one connection, no pool
        pooling = {} if in_memory else {"pool_size": pool_size, "max_overflow": pool_size,
                                        "pool_timeout": pool_timeout}
        engine = create_engine(url, connect_args={"check_same_thread": False}, **pooling)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size,
                         pool_timeout=pool_timeout)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut, not only a crash
    cursor.close()


def get_engine(app: Flask | None = None) -> Engine:
    """Return the engine of the given or current app."""
    return (app or current_app).extensions[_EXTENSION]


def get_session() -> Session:
    """Return this request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()
