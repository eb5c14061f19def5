"""The engine's modules import one another without a cycle, the package's own file included."""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import sd_runner.engine

PACKAGE = "sd_runner.engine"
FOLDER = Path(sd_runner.engine.__file__).parent


def _module_name(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The engine modules ``path`` imports when it is loaded (``from package import name``
    imports the package, and the submodule when ``name`` is one)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found |= {node.module, f"{node.module}.{alias.name}"}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found & modules


def test_engine_modules_import_without_a_cycle():
    paths = sorted(FOLDER.glob("*.py"))
    modules = {_module_name(path) for path in paths}
    graph = {_module_name(path): _imports(path, modules) - {_module_name(path)}
             for path in paths}
    assert len(graph) > 5
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None
