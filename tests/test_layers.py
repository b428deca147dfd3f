"""Do the layers keep to their jobs: views ask the services, and only the services build
facts and call the rules?"""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "compliance" / "web"
MODULES = sorted(WEB.rglob("*.py"))
# What deciding looks like: reading the rows, building the rules' facts, evaluating,
# planning, picking the program version in force.
RULE_CALLS = {"load_rows", "load_locked", "facts", "evaluate_authorization", "plan_course",
              "current_window", "category_kind", "next_action", "program_version_for"}
# The rules core's deciding modules; its vocabulary (facts, findings, machines, program
# definitions) may be named by a page.
RULE_MODULES = ("workflows.decision", "workflows.planner", "workflows.rules")


def _tree(module: Path) -> ast.Module:
    return ast.parse(module.read_text(encoding="utf-8"))


def _name(module: Path) -> str:
    parts = module.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(tree: ast.Module, known: set[str] = frozenset()) -> set[str]:
    """Every module the source imports: for `from m import n`, `m.n` when that is one of the
    `known` modules (a submodule), else `m`."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= subs & known
            if subs - known:
                found.add(node.module)
    return found


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(WEB)))
def test_no_view_builds_facts_or_calls_the_rules(module):
    """Does this web module leave facts and decisions to the services (course_view,
    eligibility, worklist), so every page says what the pharmacy's decision says?"""
    tree = _tree(module)
    called = {node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
              for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Attribute | ast.Name)}
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert not (called | imported) & RULE_CALLS
    deciding = {name for name in _imported_modules(tree, set(RULE_MODULES))
                if name in RULE_MODULES or name.startswith(tuple(f"{m}." for m in RULE_MODULES))}
    assert not deciding


def import_circle(sources: dict[str, str]) -> list[str] | None:
    """A circle among these modules ({dotted name: source}) through their imports, if any."""
    graph = {name: {other for other in _imported_modules(ast.parse(source), set(sources))
                    if other in sources and other != name}
             for name, source in sources.items()}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        return exc.args[1]
    return None


def test_the_web_package_has_no_import_circle():
    """Can every web module be imported after the ones it imports (no module imports one
    that imports it back, as the pharmacist's blueprint and its counter once did)?"""
    circle = import_circle({_name(m): m.read_text(encoding="utf-8") for m in MODULES})
    assert circle is None, " -> ".join(circle)


def test_the_circle_check_sees_the_old_circle():
    """Would the check notice the blueprint importing its views' module at its foot while
    that module takes the blueprint from it?"""
    assert import_circle({
        "compliance.web.pharmacist": "bp = 1\nfrom compliance.web import pharmacy_counter\n",
        "compliance.web.pharmacy_counter": "from compliance.web.pharmacist import bp\n",
    })
    assert import_circle({
        "compliance.web.pharmacist": "from compliance.web.pharmacist import counter\n",
        "compliance.web.pharmacist.counter": "from compliance.web.pharmacist.site import x\n",
        "compliance.web.pharmacist.site": "x = 1\n",
    }) is None
