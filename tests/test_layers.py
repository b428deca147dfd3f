"""Do the layers keep to their jobs: views ask the services, and only the services build
facts and call the rules?"""

import ast
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parent.parent / "compliance" / "web"
# What deciding looks like: building the rules' facts, evaluating, planning.
RULE_CALLS = {"facts", "evaluate_authorization", "plan_course", "current_window",
              "category_kind", "next_action"}


@pytest.mark.parametrize("module", sorted(WEB.rglob("*.py")), ids=lambda p: p.name)
def test_no_view_builds_facts_or_calls_the_rules(module):
    """Does this web module leave facts and decisions to the services (course_view,
    eligibility, worklist), so every page says what the pharmacy's decision says?"""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    called = {node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
              for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Attribute | ast.Name)}
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert not (called | imported) & RULE_CALLS
