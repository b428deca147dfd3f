"""Small validating readers for definition values: each returns a typed value or raises.

They raise ``ValueError`` with a message about the value only; the loader prefixes the
field name, so an administrator importing a bad file reads which field is wrong and why.
"""

import re
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)
Parser = Callable[[Any], T]

NONE = "none"  # how a data file says "this version has no such rule"
CODE = re.compile(r"[a-z][a-z0-9_]*")
VERSION_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def a_date(raw: Any) -> date:
    """A calendar date: a TOML date or an ISO string (configuration overrides are strings)."""
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"must be a date (YYYY-MM-DD), got {raw!r}") from None
    if isinstance(raw, datetime) or not isinstance(raw, date):
        raise ValueError(f"must be a date (YYYY-MM-DD), got {raw!r}")
    return raw


def time_zone(raw: Any) -> str:
    """An IANA zone name that this system knows."""
    if not isinstance(raw, str):
        raise ValueError(f"must be a time zone name, got {raw!r}")
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"is not a known time zone: {raw!r}") from None
    return raw


def boolean(raw: Any) -> bool:
    """true or false, nothing truthy."""
    if not isinstance(raw, bool):
        raise ValueError(f"must be true or false, got {raw!r}")
    return raw


def non_negative_int(raw: Any) -> int:
    """A whole number, zero or more (a bool is not a number here)."""
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ValueError(f"must be a whole number of zero or more, got {raw!r}")
    return raw


def positive_int(raw: Any) -> int:
    """A whole number, one or more."""
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ValueError(f"must be a whole number of one or more, got {raw!r}")
    return raw


def text(raw: Any) -> str:
    """Some words for people to read."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"must be non-empty text, got {raw!r}")
    return raw


def code(raw: Any) -> str:
    """A lower-case identifier, stable enough to be stored."""
    if not isinstance(raw, str) or not CODE.fullmatch(raw):
        raise ValueError(f"must be a lower_case_code, got {raw!r}")
    return raw


def version_label(raw: Any) -> str:
    """A rule version label such as ``2021``, safe in URLs and file names."""
    if not isinstance(raw, str) or not VERSION_LABEL.fullmatch(raw):
        raise ValueError(f"must be a version label such as '2026', got {raw!r}")
    return raw


def optional(inner: Parser[T]) -> Parser[T | None]:
    """The inner value, or ``"none"`` when the version has no such rule."""

    def read(raw: Any) -> T | None:
        return None if raw == NONE else inner(raw)

    return read


def choice(enum: type[E]) -> Parser[E]:
    """One of the enum's values."""

    def read(raw: Any) -> E:
        try:
            return enum(raw)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise ValueError(f"must be one of {allowed}, got {raw!r}") from None

    return read


def list_of(inner: Parser[T]) -> Parser[tuple[T, ...]]:
    """A list of distinct items, each read by ``inner``; errors name the item's position."""

    def read(raw: Any) -> tuple[T, ...]:
        if not isinstance(raw, list):
            raise ValueError(f"must be a list, got {raw!r}")
        items = []
        for position, item in enumerate(raw, start=1):
            try:
                items.append(inner(item))
            except ValueError as error:
                raise ValueError(f"item {position} {error}") from None
        if len(set(items)) != len(items):
            raise ValueError("must not repeat an item")
        return tuple(items)

    return read


codes = list_of(code)


def record(cls: Callable[..., T], **fields: Parser[Any]) -> Parser[T]:
    """A table with exactly these keys, each read by its parser, built into ``cls``."""

    def read(raw: Any) -> T:
        if not isinstance(raw, dict):
            raise ValueError(f"must be a table, got {raw!r}")
        if set(raw) != set(fields):
            raise ValueError(
                f"must have exactly the keys {', '.join(fields)}, got {', '.join(raw)}"
            )
        values = {}
        for key, parse in fields.items():
            try:
                values[key] = parse(raw[key])
            except ValueError as error:
                raise ValueError(f"{key} {error}") from None
        return cls(**values)

    return read
