"""Limits on request bodies, checked before anything parses them.

The size limit (`MAX_CONTENT_LENGTH`) is enforced by Flask only when a view reads the
body, so a route that ignores its body would still accept any size; here every request
with a declared length over the limit is refused at once (413). JSON nested deeper than
`MAX_JSON_DEPTH` is refused (400) before a recursive parser meets it: Python's `json`
raises RecursionError on deep nesting, which no error handler expects.
"""

import re

from flask import Flask, current_app, g, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

MAX_JSON_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")
_OPENING = frozenset(b"[{")


def init_app(app: Flask) -> None:
    app.before_request(_check_body)


def refused() -> bool:
    """Whether this request's body was refused: the error page must not read it either."""
    return g.get("body_refused", False)


def _check_body() -> None:
    length = request.content_length
    if length is not None and length > current_app.config["MAX_CONTENT_LENGTH"]:
        g.body_refused = True
        raise RequestEntityTooLarge(
            f"The body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes.")
    if request.is_json and too_deep(request.get_data(cache=True), MAX_JSON_DEPTH):
        g.body_refused = True
        raise BadRequest(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")


def too_deep(raw: bytes, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit` (strings are skipped, so a
    bracket inside one does not count); linear, without recursion."""
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        depth += 1 if bracket.group()[0] in _OPENING else -1
        if depth > limit:
            return True
    return False
