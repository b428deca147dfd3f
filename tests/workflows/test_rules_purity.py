"""Is the rules core pure: no web framework, no database, no clock, no numbers of its own?"""

import ast
from pathlib import Path

import pytest

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
SOURCES = sorted(WORKFLOWS.rglob("*.py"))
FORBIDDEN_PACKAGES = {"flask", "sqlalchemy", "sqlmodel", "compliance", "time"}
CLOCK_READS = {"today", "now", "utcnow", "time", "time_ns", "monotonic", "perf_counter"}


def imported_roots(tree: ast.AST) -> set[str]:
    """The top-level packages a module imports."""
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def clock_calls(tree: ast.AST) -> list[str]:
    """Calls such as ``date.today()`` or ``datetime.now(tz)``."""
    return [
        f"line {node.lineno}: .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_READS
    ]


def test_the_package_has_sources():
    """Does the walk below actually see the package?"""
    assert len(SOURCES) > 10


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(WORKFLOWS)))
def test_no_framework_database_or_clock_module_is_imported(path):
    """Does a workflows module import Flask, the database, the service, or ``time``?"""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not imported_roots(tree) & FORBIDDEN_PACKAGES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(WORKFLOWS)))
def test_the_clock_is_never_read(path):
    """Does a workflows module read the clock instead of taking ``today``/``now``?"""
    assert clock_calls(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", sorted((WORKFLOWS / "rules").glob("*.py")), ids=lambda p: p.name)
def test_checks_hold_no_numbers_of_their_own(path):
    """Is every number a rule uses a field of the definition (only 0 and 1 for counting)?"""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    numbers = [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
        and node.value not in (0, 1)
    ]
    assert numbers == []


def test_the_guard_itself_catches_a_clock_read():
    """Would the clock test notice ``date.today()``?"""
    assert clock_calls(ast.parse("from datetime import date\nx = date.today()\n"))
