"""Atomic output: files appear whole or not at all."""

from __future__ import annotations

import pytest

from sd_runner.errors import InputError
from sd_runner.outputs import files as output


def test_write_files_leaves_no_staging_folder(tmp_path):
    output.write_files(tmp_path / "out", {"a.csv": "x\n", "b.csv": "y\n"})
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.csv", "b.csv"]
    output.write_text(tmp_path / "out" / "a.csv", "z\n")
    assert (tmp_path / "out" / "a.csv").read_text() == "z\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.csv", "b.csv"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.csv"
    target.write_text("old\n")
    with pytest.raises(TypeError):
        output.write_files(tmp_path, {"b.csv": "new\n", "a.csv": None})
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_checks_name_the_option_and_the_problem(tmp_path):
    with pytest.raises(InputError, match=r"^--out .*: is a folder"):
        output.check_writable_file(tmp_path, "--out")
    with pytest.raises(InputError, match="does not exist"):
        output.check_writable_file(tmp_path / "x" / "y.csv", "--out")
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match="is a file"):
        output.check_writable_dir(tmp_path / "f", "--out")
    assert output.check_writable_dir(tmp_path / "new", "--out") == tmp_path / "new"
