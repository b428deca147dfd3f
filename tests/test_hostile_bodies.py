"""Do hostile bodies (JSON nested a hundred thousand deep, a body over the size limit) get
a clear 400 or 413 on every endpoint and form, never a 500?

A recursive parser meeting deep nesting raises RecursionError, which no handler expects;
the API measures the depth before anything parses the body, and the size limit holds
for every route because Flask refuses the body before the view reads it.
"""

import pytest

from compliance.models import User
from compliance.security import bodies
from tests.api_helpers import pharmacy_system
from tests.form_helpers import fast_sign_in
from tests.test_pages_across_course import BLUEPRINT_ROLE

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
PROBLEM = "application/problem+json"


def write_rules(app, blueprints: set[str]):
    """(method, path) of every rule of these blueprints that takes a body, with made-up
    ids in its URL."""
    adapter = app.url_map.bind("localhost")
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        methods = (rule.methods or set()) & {"POST", "PUT", "PATCH"}
        if rule.endpoint.split(".")[0] in blueprints and methods:
            values = dict.fromkeys(rule.arguments, 1)
            if "rma_number" in values:
                values["rma_number"] = "R00000001"
            yield sorted(methods)[0], adapter.build(rule.endpoint, values)


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
def test_deeply_nested_json_is_400_on_every_api_endpoint(app, db, factory, client, body):
    system = pharmacy_system(db, factory)
    answered = {}
    for method, path in write_rules(app, {"api"}):
        response = client.open(path, method=method, data=body, headers={
            **system.headers, "Content-Type": "application/json",
            "Idempotency-Key": f"deep-{path}"})
        answered[path] = (response.status_code, response.mimetype)
    assert answered and all(answer == (400, PROBLEM) for answer in answered.values()), answered


def test_a_body_over_the_limit_is_413_on_every_api_endpoint(app, db, factory, client):
    system = pharmacy_system(db, factory)
    big = b'{"note": "' + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1) + b'"}'
    answered = {path: (response.status_code, response.mimetype)
                for method, path in write_rules(app, {"api"})
                if (response := client.open(path, method=method, data=big, headers={
                    **system.headers, "Content-Type": "application/json"}))}
    assert answered and all(answer == (413, PROBLEM) for answer in answered.values()), answered


@pytest.mark.parametrize("role", sorted(set(BLUEPRINT_ROLE.values())))
def test_every_form_of_a_role_answers_hostile_bodies_without_a_server_error(
        app, db, factory, client, role):
    """Signed in as the role, each of its form routes gets deep JSON and an oversized
    body: a 4xx page each time (CSRF refusal, size limit), never a 5xx."""
    if role == "prescriber":
        person = db.get(User, factory.prescriber().user_id)
    elif role == "pharmacist":
        person = factory.pharmacist(factory.pharmacy())
    else:
        person = factory.user(role)
    fast_sign_in(client, db, person)
    big = b"a=" + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    broken = []
    blueprints = {blueprint for blueprint, owner in BLUEPRINT_ROLE.items() if owner == role}
    routes = list(write_rules(app, blueprints | {"auth", "account"}))
    assert len(routes) >= 3
    for method, path in routes:
        for body, kind in [(DEEP, "application/json"),
                           (big, "application/x-www-form-urlencoded")]:
            status = client.open(path, method=method, data=body, content_type=kind).status_code
            if status >= 500:
                broken.append(f"{method} {path} ({kind}): {status}")
    assert not broken, broken


@pytest.mark.parametrize(("raw", "deep"), [
    (b"[" * 32 + b"]" * 32, False),
    (b"[" * 33 + b"]" * 33, True),
    (b'{"a": ' * 32 + b"1" + b"}" * 32, False),
    (b'{"a": ' * 33 + b"1" + b"}" * 33, True),
    (b'{"note": "' + b"[" * 100 + b'"}', False),  # brackets inside a string do not count
    (b'{"note": "a \\" [[[[", "b": ' + b"[" * 32 + b"]" * 32 + b"}", True),  # escaped quote
    (b"", False),
])
def test_depth_is_counted_outside_strings(raw, deep):
    assert bodies.too_deep(raw, bodies.MAX_JSON_DEPTH) is deep


def test_an_ordinary_body_still_reaches_the_api(app, db, factory, client):
    """The check refuses only what is too deep: a normal request gets its usual answer."""
    system = pharmacy_system(db, factory)
    response = client.post("/api/v1/rma-requests", json={"patient_id": "nobody"},
                           headers=system.headers)
    assert response.status_code == 422 and response.mimetype == PROBLEM
