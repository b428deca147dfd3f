"""Does every route declare who may reach it?"""

from compliance.models import Role

# Adding a public route must be a conscious decision: list it here.
PUBLIC = {"static", "auth.index", "auth.login", "auth.accept_invitation", "auth.forgot_password",
          "auth.reset_password", "api.index", "api.openapi", "fhir.metadata", "fhir.published",
          "cds.discovery",
          "feeds.calendar_feed",
          "two_step.code", "two_step.enroll", "passkeys.sign_in_options", "passkeys.sign_in"}
# Pharmacy systems (bearer keys) and EHRs (signed JWTs) are not people: their audience is not a
# user role (and must not widen the user-role check constraint).
MACHINE_AUDIENCES = {"pharmacy_system", "cds_client"}


def _views(app):
    return {rule.endpoint: app.view_functions[rule.endpoint] for rule in app.url_map.iter_rules()}


def test_every_route_declares_roles_or_is_public(app):
    """Does any route have neither `@roles_required` nor `@public`?"""
    unguarded = sorted(
        endpoint for endpoint, view in _views(app).items()
        if endpoint not in PUBLIC and not getattr(view, "required_roles", None)
        and not getattr(view, "public", False)
    )
    assert unguarded == []


def test_public_routes_are_exactly_the_listed_ones(app):
    """Is the set of views marked public the same as the reviewed list?"""
    marked = {endpoint for endpoint, view in _views(app).items() if getattr(view, "public", False)}
    assert marked | {"static"} == PUBLIC


def test_no_route_is_both_public_and_role_guarded(app):
    """Does any view carry both marks, leaving its audience ambiguous?"""
    both = sorted(endpoint for endpoint, view in _views(app).items()
                  if getattr(view, "public", False) and getattr(view, "required_roles", None))
    assert both == []


def test_declared_roles_are_real_roles(app):
    """Does any view name a role that does not exist (a typo would lock everyone out)?"""
    known = {role.value for role in Role} | MACHINE_AUDIENCES
    unknown = {endpoint: sorted(set(view.required_roles) - known)
               for endpoint, view in _views(app).items()
               if set(getattr(view, "required_roles", ())) - known}
    assert unknown == {}
