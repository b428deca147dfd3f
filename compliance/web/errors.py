"""Error pages in the shared layout; under a machine surface's prefix, that surface's format
(problem+json under /api/, OperationOutcome under /fhir/r4, ...), registered by the surface."""

import logging
from collections.abc import Callable

from flask import (
    Flask,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from compliance.api.problems import problem
from compliance.extensions import login_manager
from compliance.security.overload import busy

log = logging.getLogger(__name__)

ENDED = {
    "idle_timeout": "You were signed out after 15 minutes without activity. Sign in again.",
    "absolute_timeout": "Your session reached its time limit. Sign in again.",
    "deactivated": "This account has been deactivated.",
}


def init_app(app: Flask) -> None:
    error_format(app, "/api/", problem)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(PoolTimeout, _busy)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    login_manager.unauthorized_handler(_sign_in_first)


def error_format(app: Flask, prefix: str, render: Callable[..., Response]) -> None:
    """Answer errors under `prefix` with `render(status, detail, *, headers=...)`."""
    app.extensions.setdefault("error_formats", {})[prefix] = render


def _machine_format() -> Callable[..., Response] | None:
    formats = current_app.extensions.get("error_formats", {})
    return next((render for prefix, render in formats.items()
                 if request.path.startswith(prefix)), None)


def _http_error(exc: HTTPException):
    status = exc.code or 500
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    render = _machine_format()
    if render is not None:
        return render(status, exc.description or "", headers=headers)
    return render_template("errors/error.html", error=exc, status=status), status, headers


def _csrf_failed(exc: CSRFError):
    exc.description = ("This form expired or did not come from this site. "
                       "Go back, reload the page and send it again.")
    return _http_error(exc)


def _busy(_exc: PoolTimeout):
    """Every database connection is taken: ask the client to retry in a second rather
    than keep it waiting (a pharmacy system retries with its Idempotency-Key)."""
    log.warning("database pool exhausted in request %s", g.get("request_id", "-"))
    return _http_error(busy())


def _unexpected(exc: Exception):
    """Log with the request id; show a calm page; the transaction is rolled back at teardown."""
    log.exception("unhandled error in request %s", g.get("request_id", "-"))
    return _http_error(InternalServerError())


def _sign_in_first():
    render = _machine_format()
    if render is not None:
        return render(401, "Authentication is required.",
                      headers={"WWW-Authenticate": 'Bearer realm="api"'})
    reason = g.get("session_end_reason")
    flash(ENDED.get(reason, "Please sign in to continue."), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
