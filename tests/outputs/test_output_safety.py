"""Outputs that cannot hurt, held for every command that writes, by class of hazard.

A scenario's name is an identifier, never a path; outputs go to regular files and folders
only; two options never write one file; a CSV and its manifest, and the files of a folder,
appear together or not at all, also when the process is killed between two writes; a full
disk or a refused permission names the option and the path; a missing parent folder gets the
same answer from every command.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from click.testing import CliRunner

from sd_runner import api as runner
from sd_runner.cli import cli
from sd_runner.errors import InputError, OutputError
from sd_runner.inputs.scenarios import RESERVED_NAMES, bundled_scenario_names, load_scenario
from sd_runner.outputs import files as output
from sd_runner.outputs import staging

REPO = Path(__file__).resolve().parents[2]


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _one_line_error(result, code: int, *expected: str) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == code, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


@pytest.fixture
def nothing_runs(monkeypatch):
    """Make every analysis fail loudly: a check that must come first cannot come later."""

    def ran(*_args, **_kwargs):
        raise AssertionError("an analysis ran before the outputs were checked")

    for name in ("run_one", "compare", "calibrate", "sensitivity"):
        monkeypatch.setattr(runner, name, ran)


@pytest.fixture
def no_model_runs(monkeypatch):
    """Scenarios may be read (they need the model), but no run may start."""

    def ran(*_args, **_kwargs):
        raise AssertionError("a model ran before the scenarios were checked")

    monkeypatch.setattr(runner, "run_scenario", ran)


# ---------------------------------------------------------------------- scenario names
LONG = "x" * 252  # 252 + len(".csv") = 256 bytes: one more than a file name holds
NAMES = [
    # (class, the name as TOML text, what the message says)
    ("path separator", '"../escaped"', "path separator"),
    ("path separator", '"sub/name"', "path separator"),
    ("path separator", '"back\\\\slash"', "path separator"),
    ("absolute path", '"/tmp/escaped"', "path separator"),
    ("absolute path", '"C:evil"', "Windows"),
    ("dot names", '".."', "dot"),
    ("dot names", '".hidden"', "dot"),
    ("dot names", '"trailing."', "dot"),
    ("control characters", '"bell\\u0007"', "U+0007"),
    ("control characters", '"line\\nbreak"', "U+000A"),
    ("control characters", '"right-to-left\\u202eoverride"', "U+202E"),
    ("NUL", '"nul\\u0000byte"', "NUL"),
    ("too long", f'"{LONG}"', "bytes"),
    ("too long", '"' + "\u6c34" * 84 + '"', "bytes"),  # 252 bytes of UTF-8
    ("device name on Windows", '"con"', "device"),
    ("other outputs", '"outcomes"', "another file"),
    ("other outputs", '"Manifest"', "another file"),
    ("other outputs", '"loop_scores"', "another file"),
    ("other outputs", '"UNCERTAINTY_BANDS"', "another file"),
    ("bundled names", '"baseline"', "bundled scenario 'baseline'"),
    ("bundled names", '"Own-Brand"', "bundled scenario 'own-brand'"),
    ("bundled names", '"\uff42\uff41\uff53\uff45\uff4c\uff49\uff4e\uff45"',  # full width
     "bundled scenario 'baseline'"),
    ("device name on Windows", '"COM\u00b9"', "device"),  # superscript one: COM1 on Windows
]


@pytest.mark.parametrize("kind, name, expected", NAMES, ids=[f"{c[0]}: {c[1]}" for c in NAMES])
def test_a_name_that_is_not_an_identifier_is_refused_at_its_line(model, levers, write_file,
                                                                 kind, name, expected):
    path = write_file(f'title = "t"\nname = {name}\n')
    with pytest.raises(InputError) as caught:
        load_scenario(path, levers, model)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: name ") and expected in message, message
    assert "\n" not in message


@pytest.mark.parametrize("stem", ["baseline", "outcomes", "con"])
def test_a_name_taken_from_the_file_name_says_to_add_one(model, levers, write_file, stem):
    path = write_file("[levers.own-brand]\nlevel = 1\n", name=f"{stem}.toml")
    with pytest.raises(InputError, match=r'file name gives .*add a line name = "'):
        load_scenario(path, levers, model)


def test_the_longest_name_that_fits_is_accepted(model, levers, write_file):
    path = write_file(f'name = "{LONG[:-1]}"\n')
    assert load_scenario(path, levers, model).name == LONG[:-1]
    assert len((LONG[:-1] + ".csv").encode()) == 255


def test_bundled_files_keep_their_names_when_given_as_paths(model, levers):
    for name in bundled_scenario_names():
        path = runner.resources.scenarios_dir() / f"{name}.toml"
        assert load_scenario(path, levers, model).name == name


def test_every_other_file_of_a_compare_folder_is_a_reserved_name():
    from sd_runner.reports import formats

    table = pd.DataFrame({"a": [1.0]})
    tables = SimpleNamespace(band_table=lambda: table, effect_table=lambda: table,
                             excluded_table=lambda: table,
                             inventory=lambda: table, relative_scores=lambda: table,
                             dominance=lambda: table, shifts=lambda: table)
    comparison = SimpleNamespace(runs=[], table=table, uncertainty=tables, loops=tables,
                                 totals=lambda: table, rankings=lambda: table,
                                 disagreements=lambda: table, equal_cost=lambda: table)
    stems = {Path(name).stem for name in formats.comparison_csvs(comparison)} | {"manifest"}
    assert stems <= set(RESERVED_NAMES)


SAME_NAMES = [  # (class, two names that are one file name on some system)
    ("case", "Mine", "mine"),
    ("Unicode form", "caf\u00e9", "cafe\u0301"),  # composed, decomposed: one name on macOS
    ("Unicode form and case", "CAF\u00c9", "cafe\u0301"),
]


@pytest.mark.parametrize("kind, first_name, second_name", SAME_NAMES,
                         ids=[c[0] for c in SAME_NAMES])
def test_two_compared_scenarios_may_not_share_a_name_even_by_case(write_file, no_model_runs,
                                                                  kind, first_name,
                                                                  second_name):
    first = write_file(f'name = "{first_name}"\n[levers.own-brand]\nlevel = 1\n',
                       name="a.toml")
    second = write_file(f'name = "{second_name}"\n[levers.patent-pool]\nlevel = 1\n',
                        name="b.toml")
    result = _invoke("compare", first, second)
    _one_line_error(result, 2, f"{second}:1", f"{second_name!r}", str(first), "its own name")


def test_the_same_scenario_twice_is_compared_once():
    chosen = [runner.scenario("own-brand"), runner.scenario("baseline"),
              runner.scenario("own-brand")]
    from sd_runner.inputs.scenarios import check_distinct_names

    assert [s.name for s in check_distinct_names(chosen)] == ["own-brand", "baseline"]


def test_a_user_baseline_does_not_replace_the_reference_in_a_compare(tmp_path, write_file,
                                                                      no_model_runs):
    mine = write_file('name = "baseline"\n[levers.own-brand]\nlevel = 1\n')
    out = tmp_path / "out"
    result = _invoke("compare", mine, "--out", out)
    _one_line_error(result, 2, f"{mine}:1", "bundled scenario 'baseline'", "my-scenario")
    assert not out.exists()


# ---------------------------------------------------------------------- kinds of target
def _fifo(folder: Path) -> Path:
    path = folder / "pipe"
    os.mkfifo(path)
    return path


def _socket(folder: Path) -> Path:
    path = folder / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()
    return path


def _device(_folder: Path) -> Path:
    return Path(os.devnull)


def _link_to_device(folder: Path) -> Path:
    path = folder / "link"
    path.symlink_to(os.devnull)
    return path


TARGETS = {"device": _device, "FIFO": _fifo, "socket": _socket, "link to a device": _link_to_device}
WRITERS = [  # every option that writes, with the rest of its command line
    ("run --out", ["run", "baseline", "--out"]),
    ("compare --out", ["compare", "own-brand", "--out"]),
    ("compare --report", ["compare", "own-brand", "--report"]),
    ("sensitivity --out", ["sensitivity", "--out"]),
    ("sensitivity --report", ["sensitivity", "--report"]),
    ("calibrate --out", ["calibrate", "--out"]),
]


@pytest.mark.parametrize("kind", TARGETS)
@pytest.mark.parametrize("writer, args", WRITERS, ids=[w[0] for w in WRITERS])
def test_a_target_that_is_not_a_regular_file_or_folder_is_refused_and_kept(
        tmp_path, nothing_runs, writer, args, kind):
    target = TARGETS[kind](tmp_path)
    before = os.stat(target)
    result = _invoke(*args, target)
    _one_line_error(result, 2, f"{args[-1]} {target}: is a ", "not a regular file")
    after = os.stat(target)
    assert (after.st_ino, after.st_mode, after.st_rdev) == (before.st_ino, before.st_mode,
                                                            before.st_rdev)


# ---------------------------------------------------------------------- one path, two options
SAME_PATH = [
    # (class, command line with {tmp} for the test's folder, what the message says)
    ("identical", ["compare", "own-brand", "--report", "{tmp}/x", "--out", "{tmp}/x"],
     "same path"),
    ("identical", ["sensitivity", "--out", "{tmp}/r.csv", "--report", "{tmp}/r.csv"],
     "both write"),
    ("identical after resolving", ["sensitivity", "--out", "{tmp}/r.csv", "--report",
                                   "{tmp}/sub/../r.csv"], "both write"),
    ("identical but for case", ["sensitivity", "--out", "{tmp}/R.csv", "--report",
                                "{tmp}/r.csv"], "both write"),
    ("a manifest", ["sensitivity", "--out", "{tmp}/r.csv", "--report",
                    "{tmp}/r.manifest.json"], "both write"),
    ("a file of the folder", ["compare", "own-brand", "--out", "{tmp}/d", "--report",
                              "{tmp}/d/outcomes.csv"], "writes files of that kind"),
    ("a file of the folder", ["compare", "own-brand", "--out", "{tmp}/d", "--report",
                              "{tmp}/./d/manifest.json"], "writes files of that kind"),
    ("an input", ["run", "{tmp}/s.toml", "--out", "{tmp}/s.toml"], "overwrite the input"),
    ("an input", ["sensitivity", "--factors", "{tmp}/s.toml", "--report", "{tmp}/s.toml"],
     "overwrite the input"),
    ("an input in the folder", ["calibrate", "--data", "{tmp}/d/rows.csv", "--out", "{tmp}/d"],
     "would be overwritten"),
    ("a file of an input folder", ["run", "baseline", "--fit", "{tmp}/fit", "--out",
                                   "{tmp}/fit/parameters.toml"], "overwrite the input --fit"),
]


@pytest.mark.parametrize("kind, args, expected", SAME_PATH,
                         ids=[f"{c[0]}: {c[1][0]}" for c in SAME_PATH])
def test_two_options_naming_one_path_are_refused_before_anything_runs(tmp_path, nothing_runs,
                                                                      kind, args, expected):
    (tmp_path / "sub").mkdir()
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "rows.csv").write_text("kept\n")
    (tmp_path / "s.toml").write_text('name = "s"\n')
    (tmp_path / "fit").mkdir()
    (tmp_path / "fit" / "parameters.toml").write_text("[parameters]\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = _invoke(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    _one_line_error(result, 2, expected)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "d" / "rows.csv").read_text() == "kept\n"


def test_a_report_beside_the_folder_output_is_fine(tmp_path):
    output.check_separate([("--report", tmp_path / "d" / "report.html", False)],
                          folder=("--out", tmp_path / "d"))


# ---------------------------------------------------------------------- both or neither
KILLER = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from sd_runner.outputs import files as output
    from sd_runner.outputs import staging

    how, where, at = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    calls = {"n": 0}

    def dies_at(function):
        def wrapped(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == at:
                os._exit(9)  # killed: no cleanup runs
            return function(*args, **kwargs)
        return wrapped

    if how == "pair":
        os.replace = dies_at(os.replace)
        output.write_with_manifest(where / "x.csv", "new\\n", "new manifest\\n")
    elif how == "pair before commit":
        real = staging._write_synced
        staging._write_synced = lambda path, text: (
            os._exit(9) if path.name == staging.COMMIT_MARKER else real(path, text))
        output.write_with_manifest(where / "x.csv", "new\\n", "new manifest\\n")
    else:
        if how == "folder file by file":
            staging.can_swap = lambda folder: False
            os.replace = dies_at(os.replace)
        elif how == "new folder":
            os.rename = dies_at(os.rename)
        else:  # "folder swap": killed before (1) or after (2) the exchange
            real_exchange = staging._exchange
            def exchange(first, second):
                if at == 1:
                    os._exit(9)
                real_exchange(first, second)
                os._exit(9)
            staging._exchange = exchange
        output.write_files(where / "d", {"a.csv": "new\\n", "b.csv": "new\\n",
                                         "manifest.json": "new\\n"})
    sys.exit(3)  # not killed: the test is wrong
""")


def _killed_write(how: str, where: Path, at: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", KILLER, how, str(where), str(at)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr


def _visible(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in folder.iterdir()
            if not p.name.startswith(staging.STAGING_PREFIX)}


def _stale(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(staging.STAGING_PREFIX)]


def _next_write_cleans(folder: Path) -> list[str]:
    said = []
    staging.clean_stale_staging(folder, said.append)
    assert _stale(folder) == [] and len(said) == 1 and "stopped run" in said[0]
    return said


@pytest.mark.parametrize("at", [1, 2])
def test_a_csv_and_its_manifest_never_mismatch_and_a_kill_is_rolled_forward(tmp_path, at):
    (tmp_path / "x.csv").write_text("old\n")
    (tmp_path / "x.manifest.json").write_text("old manifest\n")
    _killed_write("pair", tmp_path, at)
    seen = _visible(tmp_path)
    # The old manifest goes first and the new one comes last: no pair of two generations.
    assert "x.manifest.json" not in seen and seen["x.csv"] == ("old\n" if at == 1 else "new\n")
    said = _next_write_cleans(tmp_path)
    assert "finished writing" in said[0]
    assert _visible(tmp_path) == {"x.csv": "new\n", "x.manifest.json": "new manifest\n"}


def test_a_write_killed_before_its_commit_is_removed_and_the_old_pair_kept(tmp_path):
    old = {"x.csv": "old\n", "x.manifest.json": "old manifest\n"}
    for name, text in old.items():
        (tmp_path / name).write_text(text)
    _killed_write("pair before commit", tmp_path, 0)
    assert _visible(tmp_path) == old and len(_stale(tmp_path)) == 1
    assert "removed" in _next_write_cleans(tmp_path)[0]
    assert _visible(tmp_path) == old


OLD_FOLDER = {"a.csv": "old\n", "manifest.json": "old\n", "notes.txt": "the user's\n"}
NEW_FOLDER = {"a.csv": "new\n", "b.csv": "new\n", "manifest.json": "new\n",
              "notes.txt": "the user's\n"}


@pytest.mark.parametrize("at", [1, 2])
def test_a_folder_is_swapped_in_whole_whenever_the_kill_comes(tmp_path, at):
    (tmp_path / "d").mkdir()
    for name, text in OLD_FOLDER.items():
        (tmp_path / "d" / name).write_text(text)
    _killed_write("folder swap", tmp_path, at)
    assert _visible(tmp_path / "d") == (OLD_FOLDER if at == 1 else NEW_FOLDER)
    _next_write_cleans(tmp_path)
    assert _visible(tmp_path / "d") == (OLD_FOLDER if at == 1 else NEW_FOLDER)


def test_a_new_folder_appears_whole_or_not_at_all(tmp_path):
    _killed_write("new folder", tmp_path, 1)
    assert not (tmp_path / "d").exists()
    _next_write_cleans(tmp_path)
    output.write_files(tmp_path / "d", {"a.csv": "new\n"})
    assert _visible(tmp_path / "d") == {"a.csv": "new\n"} and _stale(tmp_path) == []


@pytest.mark.parametrize("at", [1, 2, 3])
def test_file_by_file_the_manifest_comes_last_and_a_kill_is_rolled_forward(tmp_path, at):
    (tmp_path / "d").mkdir()
    for name, text in OLD_FOLDER.items():
        (tmp_path / "d" / name).write_text(text)
    _killed_write("folder file by file", tmp_path, at)
    seen = _visible(tmp_path / "d")
    assert "manifest.json" not in seen  # incomplete, and visibly so
    _next_write_cleans(tmp_path / "d")
    assert _visible(tmp_path / "d") == NEW_FOLDER


def test_a_running_writers_staging_is_left_alone(tmp_path):
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as alive:
        try:
            leftover = tmp_path / f"{staging.STAGING_PREFIX}{alive.pid}-abc"
            leftover.mkdir()
            said = []
            staging.clean_stale_staging(tmp_path, said.append)
            assert leftover.is_dir() and said == []
        finally:
            alive.kill()


def test_the_next_command_writing_there_rolls_forward_and_says_so(tmp_path):
    (tmp_path / "x.csv").write_text("old\n")
    _killed_write("pair", tmp_path, 1)
    result = CliRunner().invoke(cli, ["run", "baseline", "--out", str(tmp_path / "y.csv")])
    assert result.exit_code == 0, result.output
    assert "finished writing x.csv, x.manifest.json" in result.stderr
    assert _visible(tmp_path)["x.csv"] == "new\n" and _stale(tmp_path) == []


# ---------------------------------------------------------------------- full disk, no permission
FAILURES = {"disk full": (errno.ENOSPC, "No space left on device", "free some space"),
            "permission": (errno.EACCES, "Permission denied", "a place you can write to")}
WRITTEN = [  # (writer, command line with {out}, the file whose old version must survive)
    ("run --out", ["run", "baseline", "--out", "{out}/x.csv"], "x.csv"),
    ("compare --out", ["compare", "own-brand", "--out", "{out}"], "outcomes.csv"),
    ("compare --report", ["compare", "own-brand", "--report", "{out}/r.html"], "r.html"),
    ("sensitivity --out", ["sensitivity", "--method", "morris", "--n", "2", "--outcome",
                           "Margin[Apparel]", "--out", "{out}/s.csv"], "s.csv"),
]


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("writer, args, kept", WRITTEN, ids=[w[0] for w in WRITTEN])
def test_a_failed_write_names_option_and_path_and_keeps_the_old_output(
        tmp_path, monkeypatch, failure, writer, args, kept):
    code, text, fix = FAILURES[failure]
    out = tmp_path / "out"
    out.mkdir()
    (out / kept).write_text("old\n")
    real = staging._write_synced
    calls = []

    def fails_second(path, content):  # the second file, or a single file's commit marker
        calls.append(path)
        if len(calls) == 2:
            raise OSError(code, text, str(path))
        real(path, content)

    monkeypatch.setattr(staging, "_write_synced", fails_second)
    result = _invoke(*[a.replace("{out}", str(out)) for a in args])
    option = args[-2]
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and result.stderr.splitlines()[-1] == errors[0], result.output
    for expected in (f"{option} {out}", text, "nothing was written", fix):
        assert expected in errors[0], (expected, errors[0])
    assert "Traceback" not in result.output
    assert _visible(out) == {kept: "old\n"} and _stale(out) == [] and _stale(tmp_path) == []


# ---------------------------------------------------------------------- missing parent folder
MISSING = [
    ("run --out", ["run", "baseline", "--out", "{tmp}/missing/x.csv"]),
    ("compare --out", ["compare", "own-brand", "--out", "{tmp}/missing/d"]),
    ("compare --report", ["compare", "own-brand", "--report", "{tmp}/missing/r.html"]),
    ("sensitivity --out", ["sensitivity", "--out", "{tmp}/missing/s.csv"]),
    ("sensitivity --report", ["sensitivity", "--report", "{tmp}/missing/s.html"]),
    ("calibrate --out", ["calibrate", "--out", "{tmp}/missing/fit"]),
]


@pytest.mark.parametrize("writer, args", MISSING, ids=[m[0] for m in MISSING])
def test_a_missing_parent_folder_gets_one_answer_from_every_command(tmp_path, nothing_runs,
                                                                   writer, args):
    result = _invoke(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    _one_line_error(result, 2, f"{args[-2]} {tmp_path}/missing/",
                    f"folder {tmp_path}/missing does not exist; create it first")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("writer, args", WRITERS, ids=[w[0] for w in WRITERS])
def test_an_empty_output_path_is_refused_not_taken_for_standard_output(nothing_runs, writer,
                                                                       args):
    _one_line_error(_invoke(*args, ""), 2, f"{args[-1]} '': is empty")


def test_a_folder_output_is_created_when_only_it_is_missing(tmp_path):
    output.write_files(tmp_path / "new", {"a.csv": "x\n", "manifest.json": "{}\n"})
    assert _visible(tmp_path / "new") == {"a.csv": "x\n", "manifest.json": "{}\n"}
    assert stat.S_ISDIR(os.stat(tmp_path / "new").st_mode) and _stale(tmp_path) == []


def test_a_folder_holding_the_working_folder_is_written_in_place(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("the user's\n")
    monkeypatch.chdir(tmp_path / "d")
    inode = os.stat(".").st_ino
    output.write_files(".", {"a.csv": "new\n", "manifest.json": "new\n"})
    assert os.stat(".").st_ino == inode == os.stat(tmp_path / "d").st_ino
    assert _visible(tmp_path / "d") == {"a.csv": "new\n", "manifest.json": "new\n",
                                        "notes.txt": "the user's\n"}


@pytest.mark.parametrize("kind", ["FIFO", "folder"])
def test_a_manifest_path_that_is_not_a_regular_file_is_refused_too(tmp_path, nothing_runs, kind):
    manifest = tmp_path / "x.manifest.json"
    os.mkfifo(manifest) if kind == "FIFO" else manifest.mkdir()
    result = _invoke("run", "baseline", "--out", tmp_path / "x.csv")
    _one_line_error(result, 2, f"--out {tmp_path / 'x.csv'}", str(manifest))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.manifest.json"]


def test_a_folder_whose_parent_is_not_writable_is_written_file_by_file(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("the user's\n")
    real = staging._new_staging

    refused = []

    def parent_refuses(folder, option, shown):
        if folder == tmp_path.resolve():
            refused.append(folder)
            raise OutputError("not writable")
        return real(folder, option, shown)

    monkeypatch.setattr(staging, "_new_staging", parent_refuses)
    output.write_files(tmp_path / "d", {"a.csv": "new\n", "manifest.json": "new\n"})
    assert _visible(tmp_path / "d") == {"a.csv": "new\n", "manifest.json": "new\n",
                                        "notes.txt": "the user's\n"}
    assert _stale(tmp_path / "d") == [] and _stale(tmp_path) == [] and refused


# ---------------------------------------------------------------------- bundled inputs
BUNDLED_TARGETS = [
    # (class, command line with {models}, {calibration} or {package} for the bundled folders)
    ("the model, read implicitly", ["run", "baseline", "--out",
                                    "{models}/value_chain_capture.mdl"]),
    ("a scenario, read by its name", ["run", "baseline", "--out",
                                      "{models}/scenarios/baseline.toml"]),
    ("a new file in a bundled folder", ["sensitivity", "--report", "{models}/new.html"]),
    ("a bundled folder", ["compare", "own-brand", "--out", "{models}/scenarios"]),
    ("a bundled folder", ["compare", "own-brand", "--out", "{calibration}/"]),
    ("a bundled folder", ["calibrate", "--out", "{calibration}/data"]),
    ("a new folder in a bundled folder", ["compare", "own-brand", "--out", "{models}/new"]),
    ("the committed fit, by a command that reads it", ["run", "baseline", "--out",
                                                       "{calibration}/fit/parameters.toml"]),
    ("the committed fit, by a command that reads it", ["compare", "own-brand", "--out",
                                                       "{calibration}/fit"]),
    ("below the committed fit", ["calibrate", "--out", "{calibration}/fit/new"]),
    ("the installed package's copies", ["compare", "own-brand", "--out", "{package}/bundled"]),
]


def _bundled_state() -> dict[str, int]:
    folders = [runner.resources.bundled_dir(), runner.resources.calibration_dir(),
               Path(runner.resources.__file__).parent]
    return {str(path): path.stat().st_mtime_ns for folder in folders
            for path in [folder, *folder.rglob("*")] if "__pycache__" not in path.parts}


@pytest.mark.parametrize("kind, args", BUNDLED_TARGETS,
                         ids=[f"{c[0]}: {' '.join(c[1][:-1])}" for c in BUNDLED_TARGETS])
def test_no_output_goes_into_the_bundled_inputs(nothing_runs, kind, args):
    places = {"{models}": str(runner.resources.bundled_dir()),
              "{calibration}": str(runner.resources.calibration_dir()),
              "{package}": str(Path(runner.resources.__file__).parent)}
    line = list(args)
    for mark, place in places.items():
        line[-1] = line[-1].replace(mark, place)
    before = _bundled_state()
    result = _invoke(*line)
    _one_line_error(result, 2, f"{args[-2]} {line[-1]}: lies in ", "write somewhere else")
    assert _bundled_state() == before


def _run_sh_fit_folder() -> str:
    """The folder calibration/run.sh rewrites with `sd-runner calibrate --out`."""
    words = (REPO / "calibration" / "run.sh").read_text().replace("\\\n", " ").split()
    return words[words.index("--out", words.index("calibrate")) + 1]


@pytest.mark.parametrize("suffix", ["", "/"])
@pytest.mark.parametrize("which", ["run.sh's folder", "the fit runs read"])
def test_calibrate_may_rewrite_the_committed_fit_as_run_sh_does(monkeypatch, suffix, which):
    """In a checkout with an editable install both are calibration/fit/; installed from a
    wheel, runs read the package's copy and run.sh's folder is an ordinary one."""
    def reached(*_args, **_kwargs):
        raise InputError("the outputs were accepted")

    monkeypatch.setattr(runner, "calibrate", reached)
    monkeypatch.chdir(REPO)
    folder = (_run_sh_fit_folder() if which == "run.sh's folder"
              else str(runner.resources.fit_dir()))
    _one_line_error(_invoke("calibrate", "--out", folder + suffix), 2,
                    "the outputs were accepted")


# ---------------------------------------------------------------------- a file, not a folder
FILE_WRITERS = [w for w in WRITERS if w[0] in ("run --out", "compare --report",
                                                "sensitivity --out", "sensitivity --report")]
FOLDER_WRITERS = [w for w in WRITERS if w[0] in ("compare --out", "calibrate --out")]


@pytest.mark.parametrize("text", ["newdir/", "newdir/.", "newdir/.."])
@pytest.mark.parametrize("writer, args", FILE_WRITERS, ids=[w[0] for w in FILE_WRITERS])
def test_a_file_output_whose_path_names_a_folder_is_refused(tmp_path, nothing_runs, writer,
                                                            args, text):
    result = _invoke(*args, f"{tmp_path}/{text}")
    _one_line_error(result, 2, f"{args[-1]} {tmp_path}/{text}: ", "give a file name")
    assert list(tmp_path.iterdir()) == []


def _link_loop(folder: Path) -> Path:
    (folder / "b").symlink_to(folder / "a")
    (folder / "a").symlink_to(folder / "b")
    return folder / "a"


def _dangling_link(folder: Path) -> Path:
    (folder / "a").symlink_to(folder / "nowhere")
    return folder / "a"


BROKEN_LINKS = {"loop of links": (_link_loop, "loop of symbolic links"),
                "link to nothing": (_dangling_link, "does not exist")}


@pytest.mark.parametrize("kind", BROKEN_LINKS)
@pytest.mark.parametrize("writer, args", FOLDER_WRITERS, ids=[w[0] for w in FOLDER_WRITERS])
def test_a_folder_output_through_a_broken_link_is_refused_before_anything_runs(
        tmp_path, nothing_runs, writer, args, kind):
    make, expected = BROKEN_LINKS[kind]
    target = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    _one_line_error(_invoke(*args, target), 2, f"{args[-1]} {target}: ", expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# ---------------------------------------------------------------------- names too long
def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


TOO_LONG = [
    # (class, the option's last path part given the folder's limit, what the message names)
    ("the file's name", lambda limit: "x" * (limit + 1 - 4) + ".csv", "its file name"),
    ("its manifest's name", lambda limit: "x" * (limit - 4) + ".csv", "its manifest"),
]


@pytest.mark.parametrize("kind, name, expected", TOO_LONG, ids=[c[0] for c in TOO_LONG])
@pytest.mark.parametrize("writer, args", [w for w in WRITERS if w[0] in ("run --out",
                                                                          "sensitivity --out")],
                         ids=["run --out", "sensitivity --out"])
def test_a_file_name_too_long_for_the_file_system_is_refused_with_its_limit(
        tmp_path, nothing_runs, writer, args, kind, name, expected):
    limit = _name_max(tmp_path)
    result = _invoke(*args, tmp_path / name(limit))
    _one_line_error(result, 2, f"{args[-1]} ", expected, f"the {limit} this file system allows")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("writer, args", WRITERS, ids=[w[0] for w in WRITERS])
def test_every_output_name_too_long_is_refused_naming_the_option(tmp_path, nothing_runs,
                                                                 writer, args):
    limit = _name_max(tmp_path)
    result = _invoke(*args, tmp_path / ("x" * (limit + 1)))
    _one_line_error(result, 2, f"{args[-1]} ", f"{limit + 1} bytes long", "shorter name")
    assert list(tmp_path.iterdir()) == []
