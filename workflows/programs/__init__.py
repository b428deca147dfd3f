"""The programs this service runs, each a list of rule versions with effective dates.

Definitions ship as TOML files next to this module, one per program and version. Loading
validates every file; a version's go-live date can be overridden by configuration, because a
new version's date is set by the program and may move (domain.md, section 1).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from zoneinfo import ZoneInfo

from workflows.programs import parsers
from workflows.programs.definition import (
    CadencePhase,
    Category,
    CategoryKind,
    LeadInReference,
    Param,
    ProgramVersion,
    WindowAnchor,
)
from workflows.programs.loader import DefinitionError, parse_definition_text

__all__ = [
    "CadencePhase",
    "Category",
    "CategoryKind",
    "DefinitionError",
    "LeadInReference",
    "NoVersionInForce",
    "Param",
    "Program",
    "ProgramVersion",
    "WindowAnchor",
    "load_programs",
    "program_version_for",
]


class NoVersionInForce(LookupError):
    """Raised for a date before the program's first rule version."""


@dataclass(frozen=True, slots=True)
class Program:
    """A program and its rule versions, oldest first."""

    code: str
    name: str
    versions: tuple[ProgramVersion, ...]

    @property
    def zone(self) -> ZoneInfo:
        """The program's zone (its versions share one; see ``_check_program``)."""
        return self.versions[0].zone

    def version(self, label: str) -> ProgramVersion:
        """One version by its label, e.g. ``"2026"``."""
        for version in self.versions:
            if version.version == label:
                return version
        raise KeyError(f"{self.code} has no rule version {label!r}")


def program_version_for(program: Program, on_date: date) -> ProgramVersion:
    """The version in force on ``on_date`` (a date in the program's own zone)."""
    in_force = [v for v in program.versions if v.effective <= on_date]
    if not in_force:
        raise NoVersionInForce(f"no {program.code} rule version is in force on {on_date}")
    return in_force[-1]


def load_programs(
    *, effective_overrides: Mapping[str, date | str] | None = None
) -> dict[str, Program]:
    """Load and validate every shipped definition, keyed by program code.

    ``effective_overrides`` maps ``"program/version"`` (e.g. ``"ipledge/2026"``) to a go-live
    date (a date or an ISO string from configuration). An unknown key is an error, so a typo
    in configuration cannot silently keep the default date.
    """
    overrides = dict(effective_overrides or {})
    versions: list[ProgramVersion] = []
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            text = entry.read_text(encoding="utf-8")
            version = parse_definition_text(text, where=entry.name)
            override = overrides.pop(f"{version.program}/{version.version}", None)
            if override is not None:
                effective = _override_date(override, entry.name)
                version = parse_definition_text(text, where=entry.name, effective_on=effective)
            versions.append(version)
    if overrides:
        raise DefinitionError(
            "configuration", "effective_on", f"names no definition: {sorted(overrides)}"
        )
    return _group(versions)


def _override_date(override: date | str, where: str) -> date:
    """A configured go-live date, refused with the field's name when it is not a date."""
    try:
        return parsers.a_date(override)
    except ValueError as error:
        raise DefinitionError(where, "effective_on", f"override {error}") from None


def _group(versions: list[ProgramVersion]) -> dict[str, Program]:
    """Programs with versions by effective date; versions of one program share a zone."""
    programs: dict[str, Program] = {}
    for code in sorted({v.program for v in versions}):
        mine = sorted((v for v in versions if v.program == code), key=lambda v: v.effective)
        _check_program(code, mine)
        programs[code] = Program(code, mine[-1].program_name, tuple(mine))
    return programs


def _check_program(code: str, versions: list[ProgramVersion]) -> None:
    """A program's versions must not collide on a date or disagree on the zone."""
    dates = [v.effective for v in versions]
    if len(set(dates)) != len(dates):
        raise DefinitionError(code, "effective_on", "two versions take effect on the same date")
    if len({v.timezone.value for v in versions}) != 1:
        raise DefinitionError(code, "timezone", "all versions of a program must share a zone")
