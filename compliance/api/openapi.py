"""The OpenAPI 3.1 document, generated from the routes and the models the views validate with.

Each API view carries an `Operation` (see `operations.py`); this module walks the URL map,
asks pydantic for the JSON Schema of every model named there and lets apispec assemble the
document, so a route or a field cannot change without the description changing with it.
"""

import re

from apispec import APISpec
from flask import Flask, current_app, jsonify
from pydantic.json_schema import models_json_schema

from compliance.api import bp, schemas
from compliance.api.idempotency import HEADER, REPLAYED
from compliance.api.operations import Operation
from compliance.auth import public

REF = "#/components/schemas/{model}"
PROBLEM_MEDIA = "application/problem+json"
PROBLEM_TITLES = {400: "Malformed request", 401: "No valid API key",
                  403: "The pharmacy's certification is not in force",
                  404: "Not found for this pharmacy", 409: "Conflict with the current state",
                  422: "Invalid fields",
                  429: "Too many lookups that matched no patient; retry after Retry-After"}


@bp.get("/openapi.json")
@public
def openapi():
    """The API's description (no key needed)."""
    return jsonify(document(current_app))


def document(app: Flask) -> dict:
    """The OpenAPI document of `app`'s API, built once per app."""
    if "api_openapi" not in app.extensions:
        app.extensions["api_openapi"] = _document(app)
    return app.extensions["api_openapi"]


def _document(app: Flask) -> dict:
    operations = [(rule, app.view_functions[rule.endpoint].operation)
                  for rule in app.url_map.iter_rules()
                  if hasattr(app.view_functions[rule.endpoint], "operation")]
    spec = APISpec(title="REMS compliance pharmacy API", version="1.0.0",
                   openapi_version="3.1.0",
                   info={"description": "Authorizations (RMAs) for pharmacy systems."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "description": "An API key of the pharmacy."})
    refs = _schemas(spec, [op for _, op in operations])
    for rule, op in sorted(operations, key=lambda pair: pair[0].rule):
        method = next(m for m in rule.methods if m not in ("HEAD", "OPTIONS")).lower()
        spec.path(path=re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule),
                  operations={method: _operation(rule, op, refs)})
    for path, summary in ((bp.url_prefix + "/", "What this API is"),
                          (bp.url_prefix + "/openapi.json", "This document")):
        spec.path(path=path, operations={"get": {
            "summary": summary, "security": [], "operationId": "api_" + summary.split()[-1],
            "responses": {"200": {"description": summary, "content": {
                "application/json": {"schema": {"type": "object"}}}}}}})
    return spec.to_dict()


def _schemas(spec: APISpec, ops: list[Operation]) -> dict:
    """Register each model's JSON Schema as a component; returns {(model, mode): ref}."""
    wanted = {(schemas.Problem, "serialization")}
    for op in ops:
        wanted.add((op.answer, "serialization"))
        wanted.update((model, "validation") for model in (op.body, op.query) if model)
    keys, top = models_json_schema(sorted(wanted, key=lambda w: (w[0].__name__, w[1])),
                                   ref_template=REF)
    for name, schema in top.get("$defs", {}).items():
        spec.components.schema(name, schema)
    return keys


def _operation(rule, op: Operation, refs: dict) -> dict:
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "string", "minLength": 1, "maxLength": 64}}
              for name in rule.arguments]
    if op.query is not None:
        query_schema = op.query.model_json_schema()
        params += [{"name": name, "in": "query", "required": name in query_schema["required"],
                    "schema": prop} for name, prop in query_schema["properties"].items()]
    if op.idempotent:
        params.append({"name": HEADER, "in": "header", "required": op.idempotent == "required",
                       "description": "Retries with the same key and body get the first "
                                      "answer; keys are remembered for 24 hours.",
                       "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"}})
    responses = {str(op.status): {
        "description": op.summary,
        "content": {"application/json": {"schema": refs[(op.answer, "serialization")]}},
        **({"headers": {REPLAYED: {"description": "Present on a replayed answer.",
                                   "schema": {"type": "string", "enum": ["true"]}}}}
           if op.idempotent else {})}}
    problem_ref = refs[(schemas.Problem, "serialization")]
    for status in op.problems:
        responses[str(status)] = {"description": PROBLEM_TITLES[status],
                                  "content": {PROBLEM_MEDIA: {"schema": problem_ref}}}
    result = {"summary": op.summary, "operationId": rule.endpoint.replace(".", "_"),
              "parameters": params, "responses": responses,
              "security": [{"bearer": []}]}
    if op.description:
        result["description"] = op.description
    if op.body is not None:
        result["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": refs[(op.body, "validation")]}}}
    return result
