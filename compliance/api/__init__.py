"""The JSON API under /api/v1 for pharmacy systems (docs/api.md).

Modules: `auth` (bearer keys, audit of every call), `sessions` (no browser session on API
calls), `idempotency` (Idempotency-Key), `operations` (what each view declares; body and
query parsing), `schemas` (the pydantic models), `presenters` (rows to answers), `rmas` and
`patients` (the views), `openapi` (the generated description).
"""

from flask import Blueprint, Flask, jsonify

from compliance.api.sessions import BrowserSessionsOnly
from compliance.auth import public
from compliance.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/")
@public
def index():
    """What this API is and where its description lives."""
    return jsonify({"name": "REMS compliance API", "version": "v1",
                    "openapi": "/api/v1/openapi.json"})


def init_app(app: Flask) -> None:
    # Bearer keys, not cookies, authenticate API calls, so cross-site forgery does not apply.
    csrf.exempt(bp)
    app.session_interface = BrowserSessionsOnly()
    app.register_blueprint(bp)


from compliance.api import openapi, patients, rmas  # noqa: E402, F401  (routes on `bp`)
