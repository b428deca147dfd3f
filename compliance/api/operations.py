"""What each API view declares about itself, and the parsing every view shares.

`@operation(...)` records the request and answer models on the view (the OpenAPI document
is generated from them) and turns a service's refusal into its problem answer. `body()` and
`query()` validate with those same models: a body that is not JSON is a 400, a body whose
fields are wrong is a 422 naming each field, never a 500.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import Response, request
from pydantic import BaseModel, ValidationError

from compliance.api.problems import invalid, problem, refusal
from compliance.services.errors import Refused


@dataclass(frozen=True)
class Operation:
    """The documented face of one view."""

    summary: str
    answer: type[BaseModel]
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    problems: tuple[int, ...] = (401, 403)
    idempotent: bool | str = False  # True: Idempotency-Key accepted; "required": demanded
    description: str = ""
    tags: tuple[str, ...] = field(default=())


class BadRequest(Exception):
    """A request refused before any service saw it; carries its problem answer."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def operation(**declared) -> Callable:
    """Declare the view's models and statuses; answer refusals as problems."""
    spec = Operation(**declared)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def answered(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except BadRequest as exc:
                return exc.response
            except Refused as exc:
                return refusal(exc)

        answered.operation = spec
        return answered

    return decorator


def answer(model: BaseModel, status: int = 200) -> Response:
    """Serialise an answer model as JSON."""
    return Response(model.model_dump_json(), status=status, mimetype="application/json")


def body(model: type[BaseModel]) -> BaseModel:
    """The request body, validated as `model` (strict JSON, no unknown fields)."""
    if request.mimetype != "application/json":
        raise BadRequest(problem(400, "Send the body as JSON with Content-Type: "
                                      "application/json.", kind="unsupported-content-type"))
    try:
        return model.model_validate_json(request.get_data(cache=True) or b"")
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise BadRequest(problem(400, "The body is not valid JSON.",
                                     kind="malformed-json")) from None
        raise BadRequest(invalid(Refused.from_validation(exc).errors)) from None


def query(model: type[BaseModel]) -> BaseModel:
    """The query string, validated as `model` (each parameter given once)."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise BadRequest(invalid(Refused.from_validation(exc).errors)) from None
