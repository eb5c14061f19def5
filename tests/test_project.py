"""The README's promises about the project itself."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import REPO


def _quick_start_commands():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ")]


def test_quick_start_is_two_commands_and_ci_runs_the_test_one():
    commands = _quick_start_commands()
    assert len(commands) == 2
    install_and_run, install_and_test = commands
    assert "pip install ." in install_and_run and "sd-runner compare" in install_and_run
    assert install_and_test.endswith("pytest")
    assert install_and_test in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_the_package_ships_the_model_levers_and_scenarios():
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    for source in ("models/value_chain_capture.mdl", "models/levers.toml", "models/scenarios"):
        assert re.search(rf'^"{re.escape(source)}" = "sd_runner/bundled/', pyproject, re.M)


def test_the_installed_package_carries_the_same_model_files():
    import sd_runner
    from sd_runner import resources

    package = resources.bundled_dir()
    installed = REPO not in Path(sd_runner.__file__).resolve().parents
    if installed:  # CI tests the installed wheel: its copies live inside the package
        assert package.parent.name == "sd_runner"
    for name in ("value_chain_capture.mdl", "levers.toml"):
        assert (package / name).read_bytes() == (REPO / "models" / name).read_bytes(), name
    bundled = sorted(p.name for p in (package / "scenarios").glob("*.toml"))
    assert bundled == sorted(p.name for p in (REPO / "models" / "scenarios").glob("*.toml"))


def _repository_files(folder: Path, leave_out: tuple[str, ...] = ()) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
            and not p.relative_to(folder).as_posix().startswith(leave_out)}


def test_the_wheel_ships_every_model_and_calibration_file_as_in_the_repository(tmp_path):
    """Built here from pyproject.toml, so it fails in an editable install too: a file added
    to models/ (or calibration's settings, data or fit) that the wheel leaves out, or a stale
    or extra copy, fails. models/ also holds its README and authoring tools, which runs never
    read."""
    import zipfile

    from hatchling.builders.wheel import WheelBuilder

    (wheel,) = WheelBuilder(str(REPO)).build(directory=str(tmp_path), versions=["standard"])
    prefix = "sd_runner/bundled/"
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name[len(prefix):]: archive.read(name) for name in archive.namelist()
                   if name.startswith(prefix)}
    expected = _repository_files(REPO / "models", ("README.md", "tools/"))
    for part in ("config.toml", "data", "fit"):
        path = REPO / "calibration" / part
        files = ({part: path.read_bytes()} if path.is_file()
                 else {f"{part}/{name}": data for name, data in _repository_files(path).items()})
        expected.update({f"calibration/{name}": data for name, data in files.items()})
    assert sorted(shipped) == sorted(expected)
    for name, data in expected.items():
        assert shipped[name] == data, name


def test_the_tests_mirror_the_package():
    """Each subpackage of sd_runner has a folder of tests, and each folder of tests names a
    subpackage: a new stage gets its tests where a reader looks for them."""
    packages = {p.parent.name for p in (REPO / "sd_runner").glob("*/__init__.py")}
    folders = {p.name for p in (REPO / "tests").iterdir()
               if p.is_dir() and any(p.glob("test_*.py"))}
    # results/ holds plain data; its types are tested where they are computed and reported.
    assert folders == packages - {"results"}
