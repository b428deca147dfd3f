"""FHIR answers: resources as `application/fhir+json`, errors as OperationOutcome.

Every error under /fhir/r4 is an OperationOutcome with the HTTP status that fits (400 for a
body that is not FHIR, 422 for a valid one the operation cannot use, 401, 403, 404, 429),
and the issue code FHIR defines for it, so an EHR or pharmacy system can show the sentence.
"""

from http import HTTPStatus

from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.resource import Resource
from flask import Response
from pydantic import ValidationError

FHIR_JSON = "application/fhir+json"

# HTTP status -> OperationOutcome.issue.code (http://hl7.org/fhir/issue-type)
ISSUE_CODE = {400: "structure", 401: "login", 403: "forbidden", 404: "not-found",
              405: "not-supported", 406: "not-supported", 409: "conflict", 413: "too-costly",
              415: "not-supported", 422: "processing", 429: "throttled", 503: "transient"}


def resource(model: Resource, status: int = 200) -> Response:
    """A resource as FHIR JSON."""
    return Response(model.model_dump_json(exclude_none=True), status=status,
                    mimetype=FHIR_JSON)


def outcome(status: int, detail: str, *, kind: str | None = None,
            headers: dict | None = None,
            issues: list[tuple[str, str]] | None = None) -> Response:
    """An OperationOutcome for `status`: one issue per (expression, sentence), else `detail`.

    `kind` (a surface-neutral refusal name such as "unauthenticated") is carried as the
    issue's details code, so a client can branch on it as on a problem type."""
    code = ISSUE_CODE.get(status, "exception")
    listed = issues or [("", detail or HTTPStatus(status).phrase)]
    body = OperationOutcome(issue=[
        {"severity": "error", "code": code, "diagnostics": sentence,
         **({"expression": [where]} if where else {}),
         **({"details": {"text": kind}} if kind else {})}
        for where, sentence in listed])
    response = resource(body, status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def invalid(exc: ValidationError) -> Response:
    """400 naming each element at fault, in FHIRPath-like dotted form."""
    return outcome(400, "The body is not a valid FHIR resource.", issues=[
        (".".join(str(part) for part in error["loc"]) or "(body)",
         _sentence(error["msg"]))
        for error in exc.errors()[:20]])


def _sentence(message: str) -> str:
    first = message.splitlines()[0].strip() if message else "Invalid value."
    return first.removeprefix("Value error, ")
