"""Read a program rule version from data and refuse it, naming the field, if it is wrong.

A definition is a mapping (parsed TOML): ``program``, ``program_name``, ``version``, then one
``{ value = ..., source = "R" | "P" }`` table per field of ``ProgramVersion``. Checking every
field on load means the checks never meet a malformed number at decision time.
"""

import tomllib
from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from typing import Any

from workflows.findings import SourceKind
from workflows.programs import parsers as p
from workflows.programs.definition import CategoryKind, Param, ProgramVersion, WindowAnchor

SOURCES = {"R": SourceKind.PROGRAM, "P": SourceKind.POLICY}
IDENTITY = {"program": p.code, "program_name": p.text, "version": p.version_label}


class DefinitionError(ValueError):
    """A definition that cannot be used; ``field`` names the offending field."""

    def __init__(self, where: str, field: str, problem: str) -> None:
        super().__init__(f"{where}: field {field!r} {problem}")
        self.field = field


def parse_definition_text(
    text: str, *, where: str, effective_on: date | None = None
) -> ProgramVersion:
    """Parse a TOML definition (a file shipped here or one an administrator imports)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DefinitionError(where, "(file)", f"is not valid TOML: {error}") from None
    return parse_definition(data, where=where, effective_on=effective_on)


def parse_definition(
    data: Mapping[str, Any], *, where: str, effective_on: date | None = None
) -> ProgramVersion:
    """Build a validated ``ProgramVersion``; ``effective_on`` overrides the go-live date."""
    rule_fields = [f for f in fields(ProgramVersion) if f.name not in IDENTITY]
    known = {*IDENTITY, *(f.name for f in rule_fields)}
    for key in data:
        if key not in known:
            raise DefinitionError(where, key, "is not a field of a program definition")
    identity = {name: _identity(data, name, where) for name in IDENTITY}
    params = {f.name: _param(data, f.name, f.metadata["parse"], where) for f in rule_fields}
    if effective_on is not None:
        params["effective_on"] = Param(effective_on, params["effective_on"].source)
    version = ProgramVersion(**identity, **params)
    _check_consistency(version, where)
    return version


def _identity(data: Mapping[str, Any], name: str, where: str) -> str:
    """The program code, its display name or the version label."""
    if name not in data:
        raise DefinitionError(where, name, "is missing")
    try:
        return IDENTITY[name](data[name])
    except ValueError as error:
        raise DefinitionError(where, name, str(error)) from None


def _param(data: Mapping[str, Any], name: str, parse: p.Parser[Any], where: str) -> Param[Any]:
    """One ``{ value, source }`` table, read and typed."""
    raw = data.get(name)
    if raw is None:
        raise DefinitionError(where, name, "is missing")
    if not isinstance(raw, dict) or set(raw) != {"value", "source"}:
        raise DefinitionError(where, name, 'must be a table { value = ..., source = "R" or "P" }')
    if raw["source"] not in SOURCES:
        raise DefinitionError(where, name, f'source must be "R" or "P", got {raw["source"]!r}')
    try:
        value = parse(raw["value"])
    except ValueError as error:
        raise DefinitionError(where, name, str(error)) from None
    return Param(value, SOURCES[raw["source"]])


def _check_consistency(version: ProgramVersion, where: str) -> None:
    """Rules that involve more than one field, reported against the field to fix."""

    def fail(field: str, problem: str) -> None:
        raise DefinitionError(where, field, problem)

    codes = [category.code for category in version.categories.value]
    if not codes:
        fail("categories", "must list at least one category")
    if len(set(codes)) != len(codes):
        fail("categories", "must not repeat a category code")
    if version.primary_methods_required.value > version.methods_required.value:
        fail("primary_methods_required", "must not exceed methods_required")
    primary = set(version.primary_methods.value)
    secondary = set(version.secondary_methods.value)
    if primary & secondary:
        fail("secondary_methods", f"repeats primary methods: {sorted(primary & secondary)}")
    if (primary | secondary) & set(version.unacceptable_methods.value):
        fail("unacceptable_methods", "must not list an acceptable method")
    if not set(version.male_required_methods.value) <= primary | secondary:
        fail("male_required_methods", "must list only primary or secondary methods")
    low = version.screening_min_days_before_first_prescription.value
    high = version.screening_max_days_before_first_prescription.value
    if (low is None) != (high is None) or (low is not None and high is not None and low > high):
        fail(
            "screening_max_days_before_first_prescription", "must be none with the minimum or >= it"
        )
    if version.non_reproductive_window_anchor.value is WindowAnchor.PRESCRIBER_CONFIRMATION:
        kinds = {c.kind for c in version.categories.value} - {CategoryKind.CAN_GET_PREGNANT}
        if not kinds <= set(version.prescriber_confirmation_categories.value):
            fail(
                "prescriber_confirmation_categories",
                "must include every category whose window the confirmation opens",
            )
    for name in ("test_cadence", "test_cadence_irregular_cycles"):
        days = [phase.from_day for phase in getattr(version, name).value]
        if not days or days[0] != 0 or days != sorted(set(days)):
            fail(name, "must start at day 0 with phases in increasing order")
