"""The generated rules page, docs/rules.md."""

import difflib
from dataclasses import fields
from pathlib import Path

from workflows import docs
from workflows.docs import PAGE, rules_page
from workflows.programs import ProgramVersion, load_programs
from workflows.programs.loader import IDENTITY

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = ".venv/bin/python -m workflows.docs --write"


def test_the_committed_rules_page_is_the_generated_one():
    """Is docs/rules.md what the definitions and machines generate now?"""
    committed = (ROOT / PAGE).read_text(encoding="utf-8")
    generated = rules_page()
    diff = "".join(difflib.unified_diff(committed.splitlines(True), generated.splitlines(True),
                                        f"{PAGE} (committed)", f"{PAGE} (generated)", n=1))
    assert committed == generated, f"{PAGE} is out of step; run {REGENERATE}\n{diff}"


def test_a_changed_definition_changes_the_page(monkeypatch):
    """Would the check above notice a definition that changed without regenerating?"""
    moved = load_programs(effective_overrides={"ipledge/2026": "2027-01-04"})
    monkeypatch.setattr(docs, "load_programs", lambda: moved)
    page = rules_page()
    assert "2027-01-04 [R]" in page
    assert page != (ROOT / PAGE).read_text(encoding="utf-8")


def test_the_page_has_a_title_and_an_introduction():
    """Is it a page of its own, not a section to paste into the README?"""
    lines = rules_page().splitlines()
    assert lines[0] == "# Rules"
    assert lines[2] and not lines[2].startswith(("#", "|"))


def test_every_parameter_has_a_row_with_a_source_per_version():
    """Does the table list every definition field, each cell tagged [R] or [P]?"""
    page = rules_page()
    for field in fields(ProgramVersion):
        if field.name in IDENTITY:
            continue
        (row,) = [line for line in page.splitlines() if line.startswith(f"| `{field.name}` |")]
        cells = row.strip("| ").split(" | ")[2:]
        assert len(cells) == 3
        assert all(cell.endswith(("[R]", "[P]")) for cell in cells)


def test_both_machines_are_drawn():
    """Are the course and cycle diagrams on the page?"""
    page = rules_page()
    assert page.count("```mermaid\nstateDiagram-v2") == 2
    assert "post_treatment --> completed: complete" in page
