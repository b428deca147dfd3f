"""How a use case says no: errors tied to the input field that caused them."""

from pydantic import ValidationError


class Refused(Exception):
    """A request the rules do not allow; `errors` maps field names ('' for the whole form)
    to plain sentences the person can act on."""

    def __init__(self, errors: dict[str, str] | str):
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))

    @classmethod
    def from_validation(cls, exc: ValidationError) -> "Refused":
        """Turn pydantic's errors into one sentence per field."""
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            errors.setdefault(field, _sentence(error))
        return cls(errors)


def _sentence(error: dict) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return "This field is required."
    if error["type"] == "string_too_short" and error.get("ctx", {}).get("min_length") == 1:
        return "This field is required."
    if error["type"] == "string_pattern_mismatch":
        return "This value is not in the expected format."
    return message[:1].upper() + message[1:]


def validated(model, data):
    """Validate input with a non-table model; a refusal names each bad field. An instance
    of `model` is taken as it is: it was validated already (the API's strict bodies are
    subclasses of their input models)."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Refused.from_validation(exc) from None


class Conflict(Refused):
    """The request is well formed but the object's state forbids it (HTTP 409)."""


class NotFound(Refused):
    """No such object for this requester (HTTP 404): another pharmacy's RMA looks absent."""


class Throttled(Refused):
    """Too many tries of something guessable (HTTP 429); `retry_after` in seconds."""

    def __init__(self, errors: dict[str, str] | str, retry_after: int):
        super().__init__(errors)
        self.retry_after = retry_after


def wait_words(seconds: int) -> str:
    """ "45 seconds", "1 minute", "15 minutes": a wait as a person reads it (rounded up)."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
