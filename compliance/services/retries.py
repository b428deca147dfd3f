"""Transactions that may lose a race: retried from the start rather than failed.

A unique-key violation, a serialization failure or deadlock (PostgreSQL), or SQLite's busy
writer means another request got there first; running the whole attempt again lets it see
the winner's rows and answer accordingly (a denial with a reason, a 409).
"""

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from compliance.services.errors import Refused

ATTEMPTS = 5


RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


def in_retried_transaction(db: Session, attempt: Callable):
    """Run `attempt` and commit; on a lost race or serialization failure, start again."""
    for remaining in range(ATTEMPTS - 1, -1, -1):
        try:
            result = attempt()
            db.commit()
            return result
        except (IntegrityError, OperationalError) as exc:
            db.rollback()
            if remaining == 0 or not _retryable(exc):
                raise
        except Refused:
            db.rollback()
            raise
    raise AssertionError("unreachable")


def _retryable(exc: Exception) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return (isinstance(exc, IntegrityError) or code in RETRYABLE_SQLSTATES
            or "database is locked" in str(exc))
