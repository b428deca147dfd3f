"""The generated rules page, docs/rules.md."""

from dataclasses import fields
from pathlib import Path

from workflows.docs import PAGE, rules_page
from workflows.programs import ProgramVersion
from workflows.programs.loader import IDENTITY

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_rules_page_is_the_generated_one():
    """Is docs/rules.md up to date? (Regenerate: python -m workflows.docs --write)"""
    assert (ROOT / PAGE).read_text(encoding="utf-8") == rules_page()


def test_every_parameter_has_a_row_with_a_source_per_version():
    """Does the table list every definition field, each cell tagged [R] or [P]?"""
    section = rules_page()
    for field in fields(ProgramVersion):
        if field.name in IDENTITY:
            continue
        (row,) = [line for line in section.splitlines() if line.startswith(f"| `{field.name}` |")]
        cells = row.strip("| ").split(" | ")[2:]
        assert len(cells) == 3
        assert all(cell.endswith(("[R]", "[P]")) for cell in cells)


def test_both_machines_are_drawn():
    """Are the course and cycle diagrams in the section?"""
    section = rules_page()
    assert section.count("```mermaid\nstateDiagram-v2") == 2
    assert "post_treatment --> completed: complete" in section
