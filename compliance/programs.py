"""The program definitions this deployment runs, loaded once per app.

The iPLEDGE 2026 go-live date comes from configuration (`IPLEDGE_2026_EFFECTIVE`), so a
moved date needs no code change.
"""

from datetime import date

from flask import Flask, current_app

from workflows.programs import Program, load_programs, program_version_for

_EXTENSION = "compliance_programs"
DEFAULT_PROGRAM = "ipledge"


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = load_programs(
        effective_overrides={"ipledge/2026": app.config["IPLEDGE_2026_EFFECTIVE"]}
    )


def all_programs() -> dict[str, Program]:
    """Every program this deployment runs, by code."""
    return current_app.extensions[_EXTENSION]


def program(code: str) -> Program:
    """A program by its code (e.g. "ipledge")."""
    return current_app.extensions[_EXTENSION][code]


def category_choices(code: str = DEFAULT_PROGRAM) -> dict[str, str]:
    """The categories of the program's newest version, {code: label}, for forms."""
    newest = program(code).versions[-1]
    return {category.code: category.label for category in newest.categories.value}


def method_choices(code: str = DEFAULT_PROGRAM) -> dict[str, str]:
    """Every contraception method the program's newest version knows, {code: label}."""
    newest = program(code).versions[-1]
    codes = (*newest.primary_methods.value, *newest.secondary_methods.value,
             *newest.unacceptable_methods.value)
    if newest.abstinence_allowed.value:
        codes = (*codes, "abstinence")
    return {c: c.replace("_", " ").capitalize() for c in dict.fromkeys(codes)}


def max_days_supply(code: str, day: date) -> int:
    """The days' supply one fill may hold under the program's version in force on `day`
    (30 for iPLEDGE, 28 for the lenalidomide class)."""
    return program_version_for(program(code), day).max_days_supply.value
