"""Program definitions: loaded, validated, and picked by date."""

import tomllib
from datetime import date
from importlib import resources

import pytest

from tests.workflows.rules_builders import IPLEDGE, LENALIDOMIDE, V2021, V2023, V2026
from workflows.findings import SourceKind
from workflows.programs import (
    DefinitionError,
    NoVersionInForce,
    load_programs,
    program_version_for,
)
from workflows.programs.loader import parse_definition


def shipped(name: str) -> dict:
    """A shipped definition file, parsed but not yet validated."""
    text = resources.files("workflows.programs").joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_every_program_and_version_ships():
    """Are iPLEDGE 2021 and 2026 and the lenalidomide-class 2023 all loaded?"""
    programs = load_programs()
    assert {code: [v.version for v in p.versions] for code, p in programs.items()} == {
        "ipledge": ["2021", "2026"],
        "lenalidomide": ["2023"],
    }


@pytest.mark.parametrize(
    ("program", "day", "expected"),
    [
        (IPLEDGE, date(2021, 12, 13), "2021"),
        (IPLEDGE, date(2026, 8, 7), "2021"),
        (IPLEDGE, date(2026, 8, 8), "2026"),
        (IPLEDGE, date(2030, 1, 1), "2026"),
        (LENALIDOMIDE, date(2023, 3, 24), "2023"),
    ],
)
def test_the_version_in_force_is_picked_by_date(program, day, expected):
    """Which version decides on each side of an effective date?"""
    assert program_version_for(program, day).version == expected


def test_a_date_before_the_first_version_has_no_rules():
    """Is a date before 2021-12-13 refused rather than decided under some version?"""
    with pytest.raises(NoVersionInForce):
        program_version_for(IPLEDGE, date(2021, 12, 12))


@pytest.mark.parametrize("override", [date(2026, 10, 1), "2026-10-01"])
def test_the_2026_go_live_date_comes_from_configuration(override):
    """Does a configured go-live date move the switch (as a date or an ISO string)?"""
    ipledge = load_programs(effective_overrides={"ipledge/2026": override})["ipledge"]
    assert program_version_for(ipledge, date(2026, 9, 30)).version == "2021"
    assert program_version_for(ipledge, date(2026, 10, 1)).version == "2026"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ipledge/2027": date(2027, 1, 1)}, "effective_on"),
        ({"ipledge/2026": "soon"}, "effective_on"),
        ({"ipledge/2026": date(2021, 12, 13)}, "effective_on"),
    ],
)
def test_a_bad_override_is_refused(overrides, field):
    """Is a typo, a non-date or a colliding date in configuration an error naming the field?"""
    with pytest.raises(DefinitionError) as refused:
        load_programs(effective_overrides=overrides)
    assert refused.value.field == field


def test_numbers_differ_where_the_programs_do():
    """Do the definitions hold the numbers of domain.md, with their sources?"""
    assert (V2021.window_days.value, V2021.window_days.source) == (7, SourceKind.PROGRAM)
    assert V2021.first_cycle_lockout_days.value == 19
    assert V2026.first_cycle_lockout_days.value is None
    assert V2021.non_reproductive_window_days.value == 30
    assert (
        V2026.non_reproductive_window_days.value,
        V2026.non_reproductive_window_days.source,
    ) == (
        7,
        SourceKind.POLICY,
    )
    assert (V2021.max_days_supply.value, V2023.max_days_supply.value) == (30, 28)
    assert (V2021.test_sensitivity_miu.value, V2023.test_sensitivity_miu.value) == (25, 50)
    assert V2021.early_refill_tolerance_days.source is SourceKind.POLICY
    assert V2023.early_refill_tolerance_days.source is SourceKind.PROGRAM
    assert len(V2023.categories.value) == 6
    assert V2026.timezone.value == "America/New_York"


def broken(name: str, field: str, value: object) -> dict:
    """A shipped definition with one field's value replaced."""
    data = shipped(name)
    data[field] = value
    return data


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("window_days", {"value": 0, "source": "R"}, "one or more"),
        ("window_days", {"value": "7", "source": "R"}, "whole number"),
        ("window_days", {"value": True, "source": "R"}, "whole number"),
        ("window_days", {"value": 7, "source": "X"}, "source"),
        ("window_days", 7, "table"),
        ("timezone", {"value": "Mars/Olympus", "source": "R"}, "time zone"),
        ("effective_on", {"value": "13/12/2021", "source": "R"}, "date"),
        ("monthly_settings", {"value": ["garage"], "source": "R"}, "item 1"),
        ("monthly_settings", {"value": ["home", "home"], "source": "R"}, "repeat"),
        ("categories", {"value": [], "source": "R"}, "at least one"),
        ("categories", {"value": [{"code": "x", "label": "X"}], "source": "R"}, "keys"),
        ("test_cadence", {"value": [{"from_day": 7, "every_days": 7}], "source": "R"}, "day 0"),
        ("primary_methods_required", {"value": 3, "source": "R"}, "methods_required"),
        ("secondary_methods", {"value": ["implant"], "source": "R"}, "repeats"),
        ("unacceptable_methods", {"value": ["implant"], "source": "R"}, "acceptable"),
        ("male_required_methods", {"value": ["prayer"], "source": "R"}, "primary or secondary"),
        ("lockout", {"value": 19, "source": "R"}, "not a field"),
        ("program", "iPLEDGE!", "lower_case_code"),
        ("prescriber_confirmation_categories", {"value": [], "source": "R"}, "window"),
    ],
)
def test_a_bad_definition_names_the_field(field, value, words):
    """Does each kind of mistake fail on load with a message naming the field?"""
    with pytest.raises(DefinitionError) as refused:
        parse_definition(broken("ipledge_2021.toml", field, value), where="test")
    message = str(refused.value)
    assert refused.value.field == field
    assert repr(field) in message
    assert words in message


def test_a_missing_field_is_named():
    """Is a definition without ``window_days`` refused by name?"""
    data = shipped("lenalidomide_2023.toml")
    del data["window_days"]
    with pytest.raises(DefinitionError, match="'window_days' is missing"):
        parse_definition(data, where="test")


def test_screening_bounds_come_in_pairs():
    """Is a minimum without a maximum refused against the maximum's field?"""
    data = broken(
        "lenalidomide_2023.toml",
        "screening_max_days_before_first_prescription",
        {"value": "none", "source": "R"},
    )
    with pytest.raises(DefinitionError) as refused:
        parse_definition(data, where="test")
    assert refused.value.field == "screening_max_days_before_first_prescription"
