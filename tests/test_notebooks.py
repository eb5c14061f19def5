"""Every notebook runs from top to bottom against the installed package."""

from __future__ import annotations

import pytest
from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_without_errors(path, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors
    # Each code cell ran and the walkthrough shows results, not just code.
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code_cells)
    assert sum(bool(c.get("outputs")) for c in code_cells) >= len(code_cells) // 2


def test_notebooks_only_call_the_package():
    """No logic lives only in a notebook: no function or class definitions."""
    import nbformat

    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert "def " not in cell.source and "class " not in cell.source, path.name


def _private_names(source: str) -> list[str]:
    """What ``source`` reaches of sd_runner beyond its public names (``sd_runner.__all__``):
    a submodule imported, a name imported or read from the package that is not public, or a
    submodule named in a string (``importlib.import_module``)."""
    import ast

    import sd_runner

    public = set(sd_runner.__all__)
    aliases, reached = set(), []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "sd_runner":
                    aliases.add(alias.asname or alias.name)
                elif alias.name.startswith("sd_runner."):
                    reached.append(alias.name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").partition(".")[0] \
                == "sd_runner":
            if node.module != "sd_runner":
                reached.append(node.module)
            reached += [f"sd_runner.{a.name}" for a in node.names if a.name not in public]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.startswith("sd_runner."):
            reached.append(node.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in aliases and node.attr not in public:
            reached.append(f"sd_runner.{node.attr}")
    return reached


@pytest.mark.parametrize("source", [
    "from sd_runner import api as runner",
    "from sd_runner.engine import FastModel",
    "import sd_runner.api",
    "from sd_runner import resources, calibrate",
    "import sd_runner as sd\nsd.api.calibrate()",
    "import importlib\nimportlib.import_module('sd_runner.calibration.config')",
])
def test_a_reach_past_the_public_names_is_found(source):
    assert _private_names(source)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_use_only_the_public_api(path):
    """A notebook shows what a user can do: ``import sd_runner`` and its public names
    (plus any third-party library), never the package's modules."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert any("import sd_runner" in source for source in code)
    for source in code:
        assert not _private_names(source), (path.name, source)
