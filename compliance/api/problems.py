"""RFC 9457 problem details: every API error is `application/problem+json`."""

from http import HTTPStatus

from flask import Response, g, json

PROBLEM_TYPE_BASE = "https://rems-compliance.dev/problems/"


def problem(status: int, detail: str, *, kind: str | None = None,
            errors: list[dict] | None = None, headers: dict | None = None) -> Response:
    """Build a problem response; `kind` names the problem type (defaults to the status)."""
    title = HTTPStatus(status).phrase
    body = {
        "type": PROBLEM_TYPE_BASE + (kind or title.lower().replace(" ", "-").replace("'", "")),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": f"urn:request:{g.get('request_id', '')}",
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
