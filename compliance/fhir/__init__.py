"""FHIR R4 under /fhir/r4: the HL7 US Medication REMS IG's `$rems-etasu` for pharmacy
systems, and the definitions it relies on (docs/fhir.md).

Modules: `outcomes` (FHIR answers and OperationOutcome errors), `definitions` (our
canonical URLs, CodeSystems, extension, OperationDefinition, CapabilityStatement), `etasu`
(the operation: Parameters in, GuidanceResponse out), `views` (the routes). Resources are
built and validated with `fhir.resources` (its R4B models: the resources used here are the
same as in R4).
"""

from flask import Blueprint, Flask

from compliance.extensions import csrf

bp = Blueprint("fhir", __name__, url_prefix="/fhir/r4")


def init_app(app: Flask) -> None:
    from compliance.fhir.outcomes import outcome
    from compliance.web.errors import error_format

    csrf.exempt(bp)  # bearer keys, not cookies, authenticate calls
    error_format(app, bp.url_prefix + "/", outcome)
    app.register_blueprint(bp)


from compliance.fhir import views  # noqa: E402, F401  (routes on `bp`)
