"""NCPDP SCRIPT REMS transactions for pharmacy systems, at POST /ncpdp/script
(docs/ncpdp.md).

Modules: `messages` (safe parsing, our XSD both ways, reading requests and building
answers) and `views` (the route: the same pharmacy keys, services and audit as the JSON API).
"""

from flask import Blueprint, Flask

from compliance.extensions import csrf

bp = Blueprint("ncpdp", __name__, url_prefix="/ncpdp")


def init_app(app: Flask) -> None:
    from compliance.ncpdp.views import error
    from compliance.web.errors import error_format

    csrf.exempt(bp)  # bearer keys, not cookies, authenticate calls
    error_format(app, bp.url_prefix + "/", error)
    app.register_blueprint(bp)


from compliance.ncpdp import views  # noqa: E402, F401  (routes on `bp`)
