"""CDS Hooks 2.0 for the prescriber's EHR (docs/cds-hooks.md).

Modules: `jwt_auth` (the EHR's signed JWT), `prefetch` (resources from the request or the
EHR's FHIR server), `matching` (our prescriber and their patient), `cards` (the answer),
`views` (discovery, the hooks and feedback), `clients`, `commands` and `pages` (registering
an EHR; a prescriber linking the EHR's patient identifier).
"""

from flask import Blueprint, Flask

from compliance.extensions import csrf

bp = Blueprint("cds", __name__, url_prefix="/cds-services")


def init_app(app: Flask) -> None:
    # A signed JWT, not a cookie, authenticates each call (api.sessions keeps cookies off
    # this prefix), so cross-site forgery does not apply.
    from compliance.cds.commands import cds_group
    from compliance.cds.pages import admin_bp, links_bp

    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(links_bp)
    app.cli.add_command(cds_group)


from compliance.cds import views  # noqa: E402, F401  (routes on `bp`)
