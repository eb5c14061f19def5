"""The cache of translated and compiled models heals itself.

Every damaged-cache case runs in a fresh process, so that nothing a process holds in memory
(imported modules, loaded machine code) can hide a cache that no longer loads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from toy_models import TINY

from sd_runner.model import cache
from sd_runner.model.cache import CHECKSUMS

#: Stock at year 10 of the tiny model (Euler steps of a quarter year at 10 % a year).
EXPECTED = 1.025 ** 40

RUN_TINY = """
import sys
from sd_runner.engine import FastModel
print(repr(float(FastModel(sys.argv[1]).run().loc[10.0, "Stock"])))
"""


def run_tiny(mdl: Path, cache_dir: Path | str, **env) -> subprocess.CompletedProcess:
    """Run the tiny model on the fast engine in a fresh process with the given cache."""
    environment = {**os.environ, "SD_RUNNER_CACHE": str(cache_dir), **env}
    return subprocess.run([sys.executable, "-c", RUN_TINY, str(mdl)], env=environment,
                          capture_output=True, text=True, timeout=600)


def assert_ran(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == pytest.approx(EXPECTED, rel=1e-12)


def said(done: subprocess.CompletedProcess) -> list[str]:
    """The lines sd-runner said on standard error."""
    return [line for line in done.stderr.splitlines() if line.startswith("sd-runner: ")]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The tiny model and a cache holding its translation and kernel, built once."""
    folder = tmp_path_factory.mktemp("built")
    mdl = folder / "tiny.mdl"
    mdl.write_text(TINY, encoding="utf-8")
    done = run_tiny(mdl, folder / "cache")
    assert_ran(done)
    assert said(done) == ["sd-runner: translating and compiling the model once (a few seconds; "
                          "cached afterwards)"]
    return mdl, folder / "cache"


@pytest.fixture
def cache_copy(built, tmp_path):
    mdl, template = built
    copy = tmp_path / "cache"
    shutil.copytree(template, copy)
    return mdl, copy


#: The prefix of each kind of cache entry's folder (then 20 hex digits of its key).
PREFIXES = {"translation": "", "compiled": "compiled-", "kernel": "native-"}


def entry(cache_dir: Path, kind: str) -> Path:
    """The cache entry of the tiny model's translation, compiled model or kernel."""
    prefix = PREFIXES[kind]
    (found,) = [p for p in cache_dir.iterdir() if p.is_dir() and p.name.startswith(prefix)
                and len(p.name) == len(prefix) + 20]
    return found


#: One file of each kind the cache holds: (entry, file name pattern).
CACHED_FILES = {
    "PySD translation": ("translation", "model.py"),
    "translation checksums": ("translation", CHECKSUMS),
    "compiled model": ("compiled", "compiled.pickle"),
    "compiled model checksums": ("compiled", CHECKSUMS),
    "kernel machine code": ("kernel", "kernel.o"),
    "kernel checksums": ("kernel", CHECKSUMS),
}


def truncate(data: bytes) -> bytes:
    return data[:len(data) // 2]


def empty(_data: bytes) -> bytes:
    return b""


def junk(data: bytes) -> bytes:
    return bytes((31 * i + 7) % 256 for i in range(max(len(data), 64)))


def flip_one_byte(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x55]) + data[middle + 1:]


DAMAGES = {"truncated": truncate, "emptied": empty, "overwritten with junk": junk,
           "one byte changed": flip_one_byte}


def test_a_sound_cache_is_used_silently(cache_copy):
    mdl, cache_dir = cache_copy
    before = {p: p.stat().st_mtime_ns for p in cache_dir.rglob("*")}
    done = run_tiny(mdl, cache_dir)
    assert_ran(done)
    assert said(done) == []
    assert {p: p.stat().st_mtime_ns for p in cache_dir.rglob("*")} == before


def damage_cases():
    """Every file kind with every damage; one damage a kind (all damages covered) run by
    default, the rest with the slow tests (each case is a fresh process and a rebuild)."""
    damages = list(DAMAGES)
    for number, kind in enumerate(CACHED_FILES):
        for index, damage in enumerate(damages):
            quick = index == number % len(damages)
            yield pytest.param(kind, damage, marks=() if quick else pytest.mark.slow,
                               id=f"{kind}-{damage}")


@pytest.mark.parametrize("kind, damage", list(damage_cases()))
def test_a_damaged_cached_file_is_detected_rebuilt_and_said(cache_copy, kind, damage):
    mdl, cache_dir = cache_copy
    which, pattern = CACHED_FILES[kind]
    folder = entry(cache_dir, which)
    (target,) = folder.glob(pattern)
    target.write_bytes(DAMAGES[damage](target.read_bytes()))
    done = run_tiny(mdl, cache_dir)
    assert_ran(done)
    (line,) = said(done)
    assert str(folder) in line and ("again" in line), line
    assert cache.damage(entry(cache_dir, which), ()) is None  # healed for the next run


def test_an_entry_without_checksums_is_rebuilt(cache_copy):
    # As an older sd-runner left it, or a copy that lost a file.
    mdl, cache_dir = cache_copy
    (entry(cache_dir, "kernel") / CHECKSUMS).unlink()
    done = run_tiny(mdl, cache_dir)
    assert_ran(done)
    assert len(said(done)) == 1 and f"has no {CHECKSUMS}" in said(done)[0]


def test_a_missing_file_is_rebuilt(cache_copy):
    mdl, cache_dir = cache_copy
    (entry(cache_dir, "kernel") / "kernel.o").unlink()
    done = run_tiny(mdl, cache_dir)
    assert_ran(done)
    assert len(said(done)) == 1 and "lacks kernel.o" in said(done)[0]


def test_two_processes_building_at_once_leave_a_sound_cache(tmp_path):
    mdl = tmp_path / "tiny.mdl"
    mdl.write_text(TINY, encoding="utf-8")
    environment = {**os.environ, "SD_RUNNER_CACHE": str(tmp_path / "cache")}
    running = [subprocess.Popen([sys.executable, "-c", RUN_TINY, str(mdl)], env=environment,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    for process in running:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        assert float(out) == pytest.approx(EXPECTED, rel=1e-12)
    for which in PREFIXES:
        assert cache.damage(entry(tmp_path / "cache", which), ()) is None
    leftovers = [p.name for p in (tmp_path / "cache").iterdir()
                 if p.name.startswith(("translating-", "kernel-", "compiling-"))
                 or ".damaged-" in p.name]
    assert leftovers == []
    again = run_tiny(mdl, tmp_path / "cache")
    assert_ran(again)
    assert said(again) == []


@pytest.mark.parametrize("where", ["a file", "a path inside a file"])
def test_a_cache_variable_naming_a_file_falls_back_to_a_temporary_folder(tmp_path, where):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("mine", encoding="utf-8")
    configured = blocker if where == "a file" else blocker / "cache"
    mdl = tmp_path / "tiny.mdl"
    mdl.write_text(TINY, encoding="utf-8")
    done = run_tiny(mdl, configured)
    assert_ran(done)
    lines = said(done)
    assert any(f"SD_RUNNER_CACHE={configured}" in line and "temporary folder" in line
               and "point SD_RUNNER_CACHE at a writable folder" in line for line in lines)
    assert len([line for line in lines if "SD_RUNNER_CACHE" in line]) == 1
    assert blocker.read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("make, problem", [
    (lambda p: p.write_text("x", encoding="utf-8"), "is a file, not a folder"),
    (lambda p: (p.parent / "file").write_text("x", encoding="utf-8"), "lies inside a file"),
], ids=["file", "inside a file"])
def test_cache_root_names_the_variable_and_the_problem(tmp_path, monkeypatch, capsys, make,
                                                       problem):
    configured = tmp_path / "cache" if "inside" not in problem else tmp_path / "file" / "c"
    make(tmp_path / "cache")
    monkeypatch.setenv("SD_RUNNER_CACHE", str(configured))
    monkeypatch.setattr(cache, "_told", set())
    root = cache.cache_root()
    assert root != configured and root.is_dir() and os.access(root, os.W_OK)
    assert problem in capsys.readouterr().err


def test_cache_root_creates_a_missing_folder_silently(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SD_RUNNER_CACHE", str(tmp_path / "new" / "cache"))
    assert cache.cache_root() == tmp_path / "new" / "cache"
    assert (tmp_path / "new" / "cache").is_dir()
    assert capsys.readouterr().err == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any folder")
def test_cache_root_refuses_an_unwritable_folder(tmp_path, monkeypatch, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv("SD_RUNNER_CACHE", str(locked))
    monkeypatch.setattr(cache, "_told", set())
    assert cache.cache_root() != locked
    assert "is not writable" in capsys.readouterr().err


def test_checksums_name_what_is_wrong(tmp_path):
    folder = tmp_path / "entry"
    folder.mkdir()
    (folder / "a.py").write_text("print(1)\n", encoding="utf-8")
    cache.write_checksums(folder)
    assert cache.damage(folder, ("a.py",)) is None
    assert "lacks b.py" in cache.damage(folder, ("b.py",))
    (folder / "a.py").write_text("print(2)\n", encoding="utf-8")
    assert "damaged a.py" in cache.damage(folder, ("a.py",))
    (folder / CHECKSUMS).write_text("not a checksum line\n", encoding="utf-8")
    assert f"damaged {CHECKSUMS} (line 1)" in cache.damage(folder, ("a.py",))


def test_stale_staging_folders_are_removed(tmp_path):
    stale = tmp_path / "kernel-old"
    stale.mkdir()
    os.utime(stale, (0, 0))
    fresh = tmp_path / "kernel-building"
    fresh.mkdir()
    made = cache.staging_folder(tmp_path, "kernel-")
    assert not stale.exists() and fresh.is_dir() and made.is_dir()
