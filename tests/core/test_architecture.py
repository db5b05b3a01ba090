"""The code layout the design card asks for, checked from the source: domain packages around the spine, no
import circle between modules (imports inside functions count: a lazy import that dodges a circle is
still one), modules small enough to read, and every imported distribution declared in pyproject.toml."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
SPINE = {"__init__", "models", "views", "workflows"}
MAX_TOP_LEVEL_MODULES = 12
MAX_MODULE_LINES = 800


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules() -> dict[str, Path]:
    return {module_name(path): path for path in APP.rglob("*.py") if "migrations" not in path.parts}


def import_statements(name: str, path: Path):
    """(module, names) for every import in *name*'s body at any depth, the module fully qualified; names is
    None for ``import module``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            yield source, [alias.name for alias in node.names]


def imports_of(name: str, path: Path) -> set[str]:
    """Every name *name* imports, as a fully qualified name: the module and each module.name."""
    found: set[str] = set()
    for source, names in import_statements(name, path):
        found.add(source)
        found.update(f"{source}.{imported}" for imported in names or ())
    return found


def module_dependencies(name: str, path: Path, modules) -> set[str]:
    """The modules of *modules* that *name* depends on. "from app.sla import clocks" depends on the module
    app.sla.clocks, not on the package app.sla; "from app import create_app" depends on app, the factory."""
    found: set[str] = set()
    for source, names in import_statements(name, path):
        for imported in names or [None]:
            target = f"{source}.{imported}" if imported and f"{source}.{imported}" in modules else source
            if target in modules and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = app_modules()
    return {name: module_dependencies(name, path, modules) for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_between_modules_lazy_imports_included():
    assert strongly_connected(import_graph()) == []


def test_the_checker_sees_lazy_and_relative_imports_and_finds_a_circle(tmp_path):
    module = tmp_path / "lines.py"
    module.write_text("import os\n\ndef f():\n    from ..orders import changes\n    from .guards import x\n")
    assert imports_of("app.cases.lines", module) == {
        "os", "app.orders", "app.orders.changes", "app.cases.guards", "app.cases.guards.x"}
    modules = {"app", "app.workflows", "app.orders", "app.orders.changes", "app.cases.lines", "app.cases.guards"}
    assert module_dependencies("app.cases.lines", module, modules) == {"app.orders.changes", "app.cases.guards"}
    # The factory (app/__init__.py) is code: importing a name from it depends on it, importing a module
    # through it does not.
    factory_user = tmp_path / "bulk.py"
    factory_user.write_text("from app import workflows\n\ndef f():\n    from app import create_app\n")
    assert module_dependencies("app.cases.bulk", factory_user, modules) == {"app.workflows", "app"}
    graph = {"app.a": {"app.b"}, "app.b": {"app.c"}, "app.c": {"app.a"}, "app.d": {"app.a"}}
    assert strongly_connected(graph) == [["app.a", "app.b", "app.c"]]


def test_the_spine_stays_at_the_top_and_the_rest_lives_in_domain_packages():
    top_level = sorted(path.stem for path in APP.glob("*.py"))
    assert SPINE <= set(top_level)
    assert len(top_level) <= MAX_TOP_LEVEL_MODULES, top_level
    packages = sorted(path.parent.name for path in APP.glob("*/__init__.py"))
    assert {"core", "cases", "orders", "sla", "portal", "api", "tmf", "demo"} <= set(packages)
    for package in packages:
        doc = ast.get_docstring(ast.parse((APP / package / "__init__.py").read_text()))
        assert doc and len(doc.splitlines()) >= 2, f"app/{package}/__init__.py says what it owns"


def test_the_readme_map_and_the_developers_guide_name_every_package():
    readme = (ROOT / "README.md").read_text()
    readme_map = readme[readme.index("## Map of the code"):]
    readme_map = readme_map[: readme_map.index("```", readme_map.index("```") + 3)]
    developers = (ROOT / "DEVELOPERS.md").read_text()
    developers_map = developers[developers.index("## Map of the code"):developers.index("## Standards")]
    test_folders = readme_map[readme_map.index("\ntests/"):readme_map.index("\nbench/")]
    for package in sorted(path.parent.name for path in APP.glob("*/__init__.py")):
        assert re.search(rf"^  {package}/ ", readme_map, re.M), f"README.md's map of the code lacks app/{package}/"
        assert f"`{package}/`" in developers_map, f"DEVELOPERS.md's map of the code lacks app/{package}/"
    for folder in sorted(path.parent.name for path in (ROOT / "tests").glob("*/__init__.py")):
        if folder != "vendor":
            assert f"{folder}/" in test_folders, f"README.md's map does not name tests/{folder}/"


def test_no_module_is_too_long_to_read():
    sizes = {name: len(path.read_text().splitlines()) for name, path in app_modules().items()}
    assert {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}


def test_the_spine_is_real_code_not_a_re_export_shim():
    for name in ("models", "views", "workflows"):
        tree = ast.parse((APP / f"{name}.py").read_text())
        definitions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
        assert len(definitions) >= 3, f"app/{name}.py defines its own records, views or transitions"


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_imported_distribution_is_a_declared_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_requirement_name(requirement) for requirement in project["dependencies"]}
    distributions = packages_distributions()
    imported: set[str] = set()
    for name, path in app_modules().items():
        for target in imports_of(name, path):
            top = target.split(".")[0]
            if top and top != "app" and top not in sys.stdlib_module_names:
                imported.add(top)
    missing = {}
    for top in sorted(imported):
        owners = {owner.lower().replace("_", "-") for owner in distributions.get(top, [top])}
        if not owners & declared:
            missing[top] = sorted(owners)
    assert missing == {}
