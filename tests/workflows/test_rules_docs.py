"""The generated "Rules" section of the README."""

from dataclasses import fields
from pathlib import Path

from workflows.docs import rules_section
from workflows.programs import ProgramVersion
from workflows.programs.loader import IDENTITY

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- rules:begin -->\n", "<!-- rules:end -->"


def test_the_readme_rules_section_is_the_generated_one():
    """Is the README's Rules section up to date? (Regenerate: python -m workflows.docs)"""
    text = README.read_text(encoding="utf-8")
    committed = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    assert committed == rules_section()


def test_every_parameter_has_a_row_with_a_source_per_version():
    """Does the table list every definition field, each cell tagged [R] or [P]?"""
    section = rules_section()
    for field in fields(ProgramVersion):
        if field.name in IDENTITY:
            continue
        (row,) = [line for line in section.splitlines() if line.startswith(f"| `{field.name}` |")]
        cells = row.strip("| ").split(" | ")[2:]
        assert len(cells) == 3
        assert all(cell.endswith(("[R]", "[P]")) for cell in cells)


def test_both_machines_are_drawn():
    """Are the course and cycle diagrams in the section?"""
    section = rules_section()
    assert section.count("```mermaid\nstateDiagram-v2") == 2
    assert "post_treatment --> completed: complete" in section
