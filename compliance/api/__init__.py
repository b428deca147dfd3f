"""The JSON API under /api/v1 for pharmacy and EHR systems."""

from flask import Blueprint, Flask, jsonify

from compliance.auth import public
from compliance.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/")
@public
def index():
    """What this API is and where its description lives."""
    return jsonify({"name": "REMS compliance API", "version": "v1"})


def init_app(app: Flask) -> None:
    # Bearer keys, not cookies, authenticate API calls, so cross-site forgery does not apply.
    csrf.exempt(bp)
    app.register_blueprint(bp)
