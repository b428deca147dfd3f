"""The server's clock, the only one the service trusts (a client's "now" is ignored)."""

from datetime import date, datetime

from compliance.models.types import utcnow
from compliance.programs import DEFAULT_PROGRAM, program


def now() -> datetime:
    """This instant, in UTC."""
    return utcnow()


def today(code: str = DEFAULT_PROGRAM) -> date:
    """Today's date where the program's rules count days: the zone of its definition
    (America/New_York for iPLEDGE)."""
    return utcnow().astimezone(program(code).zone).date()
