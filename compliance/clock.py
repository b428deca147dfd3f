"""The server's clock, the only one the service trusts (a client's "now" is ignored)."""

from datetime import date, datetime

from flask import current_app

from compliance.models.types import utcnow


def now() -> datetime:
    """This instant, in UTC."""
    return utcnow()


def today() -> date:
    """Today's date where the program's rules count days (America/New_York for iPLEDGE)."""
    return utcnow().astimezone(current_app.config["PROGRAM_TIMEZONE"]).date()
