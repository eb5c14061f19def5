"""The package's import graph keeps its layers apart: reports never load the engine, the
simulation, the model loader or the api; the engine loads no scenario or calibration code; only
``__main__`` loads the command line; and no two modules import each other, however indirectly.

The graph is read from the source with :mod:`ast`: every import counts, also one inside a
function (it still loads when the function runs), except those under ``if TYPE_CHECKING:``,
which never run. Importing ``a.b.c`` also runs the packages ``a`` and ``a.b``, so those are
edges too.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

import sd_runner

PACKAGE = Path(sd_runner.__file__).parent

#: What a report may not load, directly or through another module.
REPORTS_MAY_NOT_REACH = ("sd_runner.engine", "sd_runner.simulate", "sd_runner.model.loading",
                         "sd_runner.api")

#: What the engine may not load.
ENGINE_MAY_NOT_REACH = ("sd_runner.inputs.scenarios", "sd_runner.calibration")

#: Third-party packages loading the reports must not load.
HEAVY = ("numba", "pysd")

def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
            or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(nodes):
    """Every Import and ImportFrom among ``nodes``, at any depth, but not under
    ``if TYPE_CHECKING:``, whose body only a type checker runs."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.orelse)
        else:
            yield from _imports(ast.iter_child_nodes(node))


def _with_parents(name: str) -> list[str]:
    """``a.b.c`` and the packages importing it runs: ``a``, ``a.b``."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
             known: set[str]) -> set[str]:
    """The sd_runner modules an import statement loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".")
            package = package if is_package else package[:-1]
            package = package[:len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        # ``from pkg import name`` loads pkg, and pkg.name as well when that is a module.
        names = [base] + [f"{base}.{alias.name}" for alias in node.names
                          if f"{base}.{alias.name}" in known]
    return {parent for name in names for parent in _with_parents(name) if parent in known}


def import_graph() -> nx.DiGraph:
    """Module -> the sd_runner modules it imports (edges carry the line of the import)."""
    modules = _modules()
    known = set(modules)
    graph = nx.DiGraph()
    graph.add_nodes_from(known)
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _imports([tree]):
            for target in _targets(node, module, path.name == "__init__.py", known):
                if target != module:
                    graph.add_edge(module, target, line=node.lineno)
    return graph


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    return import_graph()


def _within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _path_text(graph: nx.DiGraph, path: list[str]) -> str:
    return " -> ".join(f"{a} (line {graph.edges[a, b]['line']})"
                       for a, b in zip(path, path[1:], strict=False)) + f" -> {path[-1]}"


def _reaching(graph: nx.DiGraph, sources, forbidden) -> list[str]:
    """A path from each of ``sources`` that reaches a module within ``forbidden``."""
    found = []
    for source in sorted(sources):
        paths = nx.single_source_shortest_path(graph, source)
        # The shortest path, naming the module rather than its package where both are as near.
        bad = sorted((len(p), -len(m), m) for m, p in paths.items() if _within(m, forbidden))
        if bad:
            found.append(_path_text(graph, paths[bad[0][2]]))
    return found


def test_the_graph_sees_imports_inside_functions_and_submodules_named_in_from(graph):
    """Guards the reader: a lazy import inside a function, and ``from package import
    submodule``, are edges (the checks below would pass vacuously otherwise)."""
    assert graph.has_edge("sd_runner.api", "sd_runner.uncertainty.comparison")  # in compare()
    assert graph.has_edge("sd_runner.cli", "sd_runner.reports.formats")  # from reports import
    assert graph.has_edge("sd_runner.feedback.graph", "sd_runner.results.loops")


def test_only_main_imports_the_command_line(graph):
    importers = sorted(set(graph.predecessors("sd_runner.cli")) - {"sd_runner.__main__"})
    assert not importers, "only sd_runner.__main__ may import sd_runner.cli: " + "; ".join(
        f"{m} (line {graph.edges[m, 'sd_runner.cli']['line']})" for m in importers)


def test_reports_reach_no_engine_simulation_loader_or_api(graph):
    reports = [m for m in graph if _within(m, ["sd_runner.reports"])]
    assert reports
    paths = _reaching(graph, reports, REPORTS_MAY_NOT_REACH)
    assert not paths, "a report loads what it must not: " + "; ".join(paths)


def test_the_engine_loads_no_scenario_or_calibration_code(graph):
    engine = [m for m in graph if _within(m, ["sd_runner.engine"])]
    assert engine
    paths = _reaching(graph, engine, ENGINE_MAY_NOT_REACH)
    assert not paths, "the engine loads what it must not: " + "; ".join(paths)


def test_no_import_cycles(graph):
    cycles = []
    for component in nx.strongly_connected_components(graph):
        if len(component) < 2:
            continue
        cycle = nx.find_cycle(graph.subgraph(component))
        cycles.append(_path_text(graph, [a for a, _ in cycle] + [cycle[0][0]]))
    assert not cycles, "modules import each other: " + "; ".join(cycles)


def test_loading_the_reports_loads_no_engine_pysd_or_numba():
    """In a fresh interpreter: every reports module, and then nothing heavy in sys.modules."""
    names = ["sd_runner.reports"] + sorted(
        m for m in _modules() if _within(m, ["sd_runner.reports"]) and m != "sd_runner.reports")
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, cwd=PACKAGE.parent)
    loaded = json.loads(done.stdout)
    bad = [m for m in loaded if _within(m, HEAVY + REPORTS_MAY_NOT_REACH)]
    assert not bad, f"importing the reports loaded {', '.join(bad)}"
