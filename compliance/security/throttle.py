"""Login throttling that slows guessing without handing attackers a lockout weapon.

Three counters over a sliding window of failed attempts:

* account + address: five failures lock that pair for the window. The owner, signing in
  from their own address, is unaffected by an attacker elsewhere.
* address: past `ADDRESS_LIMIT` failures from one address, across accounts (credential
  stuffing), each further try from there waits a delay that doubles with every failure, up
  to `ADDRESS_MAX_DELAY`. The address is slowed, never blocked: a clinic or a hospital
  shares one address, and its other people must still get in; an owner who signed in from
  that address within `KNOWN_ADDRESS_DAYS` is not slowed at all.
* account, from all addresses: past a limit, the account accepts one attempt per
  `ACCOUNT_SLOWDOWN` from addresses it has never signed in from. A distributed attacker
  gets one guess a minute; the owner, from an address they signed in from within
  `KNOWN_ADDRESS_DAYS`, is not slowed at all, and from a new address waits at most a minute
  per try.

Counts start again after a successful sign-in for the same account and address.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from compliance.models import LoginAttempt

WINDOW = timedelta(minutes=15)
PAIR_LIMIT = 5
ADDRESS_LIMIT = 30
ADDRESS_FIRST_DELAY = timedelta(seconds=1)
ADDRESS_MAX_DELAY = timedelta(seconds=60)
ADDRESS_COUNTED = ADDRESS_LIMIT + 7  # 1 s doubled 7 times passes the 60 s ceiling
ACCOUNT_LIMIT = 10
ACCOUNT_SLOWDOWN = timedelta(seconds=60)
KNOWN_ADDRESS_DAYS = 30


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: timedelta = timedelta(0)

    @property
    def retry_after_seconds(self) -> int:
        return max(1, int(self.retry_after.total_seconds() + 0.999))


def check(session: Session, *, email: str, address: str, now: datetime) -> Verdict:
    """May this address try a password for this account now? If not, for how long not."""
    since = now - WINDOW
    last_success = _last_success(session, email, address)
    pair = _failures(session, since, LoginAttempt.email == email,
                     LoginAttempt.address == address, after=last_success)
    if len(pair) >= PAIR_LIMIT:
        return Verdict(False, pair[PAIR_LIMIT - 1] + WINDOW - now)
    known = last_success is not None and now - last_success < timedelta(days=KNOWN_ADDRESS_DAYS)
    by_address = [] if known else _failures(session, since, LoginAttempt.address == address)
    if len(by_address) >= ADDRESS_LIMIT:
        doublings = len(by_address) - ADDRESS_LIMIT
        delay = min(ADDRESS_FIRST_DELAY * 2 ** doublings, ADDRESS_MAX_DELAY)
        if now - by_address[0] < delay:
            return Verdict(False, by_address[0] + delay - now)
    by_account = [] if known else _failures(session, since, LoginAttempt.email == email)
    if len(by_account) >= ACCOUNT_LIMIT and now - by_account[0] < ACCOUNT_SLOWDOWN:
        return Verdict(False, by_account[0] + ACCOUNT_SLOWDOWN - now)
    return Verdict(True)


def note_attempt(session: Session, *, email: str, address: str, succeeded: bool,
                 now: datetime) -> None:
    """Record an attempt in the caller's transaction."""
    session.add(LoginAttempt(email=email, address=address, succeeded=succeeded, attempted_at=now))


def forgive(session: Session, *, email: str) -> None:
    """Forget the account's failed attempts (its owner just proved who they are by email);
    not committed."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email,
                                               LoginAttempt.succeeded.is_(False)))


def failures_left(session: Session, *, email: str, address: str, now: datetime) -> int:
    """Wrong passwords this address may still try for this account before it is locked."""
    pair = _failures(session, now - WINDOW, LoginAttempt.email == email,
                     LoginAttempt.address == address,
                     after=_last_success(session, email, address))
    return max(0, PAIR_LIMIT - len(pair))


def prune(session: Session, *, now: datetime) -> int:
    """Delete failed attempts older than the window and successes older than the
    known-address memory; returns how many went."""
    result = session.execute(delete(LoginAttempt).where(
        LoginAttempt.attempted_at < now - WINDOW,
        LoginAttempt.succeeded.is_(False)
        | (LoginAttempt.attempted_at < now - timedelta(days=KNOWN_ADDRESS_DAYS)),
    ))
    return result.rowcount


def _failures(session: Session, since: datetime, *conditions, after: datetime | None = None
              ) -> list[datetime]:
    """Times of failed attempts matching `conditions`, newest first, capped at the largest
    limit so that a flood never makes this query slow."""
    query = select(LoginAttempt.attempted_at).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at > since, *conditions
    )
    if after is not None:
        query = query.where(LoginAttempt.attempted_at > after)
    limit = max(PAIR_LIMIT, ADDRESS_COUNTED, ACCOUNT_LIMIT)
    query = query.order_by(LoginAttempt.attempted_at.desc()).limit(limit)
    return list(session.scalars(query))


def _last_success(session: Session, email: str, address: str) -> datetime | None:
    return session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.email == email, LoginAttempt.address == address,
            LoginAttempt.succeeded.is_(True),
        )
    )
