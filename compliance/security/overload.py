"""Saying "busy, retry in a second" instead of queueing work the machine cannot do.

Two resources run out under load: database connections (the pool waits at most
`DATABASE_POOL_TIMEOUT`, then the error handler answers 503) and memory for password
hashing (each argon2 hash takes 64 MiB, so at most `PASSWORD_HASHES_AT_ONCE` run in a
worker process; a request that cannot get a turn within `HASH_WAIT_SECONDS` is told to
retry). Both answer 503 with `Retry-After`, never a hang or a 500.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.exceptions import ServiceUnavailable

RETRY_AFTER_SECONDS = 1
HASH_WAIT_SECONDS = 0.5
_hash_turns = threading.BoundedSemaphore(2)


def busy() -> ServiceUnavailable:
    return ServiceUnavailable(
        "The service is busy. Please try again in a moment; nothing was changed.",
        retry_after=RETRY_AFTER_SECONDS)


def allow_hashes_at_once(count: int) -> None:
    """Set the bound for this process (at start-up, from the configuration)."""
    global _hash_turns
    _hash_turns = threading.BoundedSemaphore(count)


@contextmanager
def hash_turn() -> Iterator[None]:
    """Hold one of the process's password-hashing turns, or raise 503."""
    turns = _hash_turns
    if not turns.acquire(timeout=HASH_WAIT_SECONDS):
        raise busy()
    try:
        yield
    finally:
        turns.release()
