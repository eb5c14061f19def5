"""Write outputs atomically: a reader sees the old file or the whole new one, never half."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from sd_runner.errors import InputError


def check_writable_file(path: str | Path, option: str) -> Path:
    """Fail early, before any run, if ``path`` cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{option} {path}: folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{option} {path}: folder {parent} is not writable; choose another place")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{option} {path}: file is not writable; choose another name")
    return path


def check_writable_dir(path: str | Path, option: str) -> Path:
    """Fail early if ``path`` cannot hold output files (it is created if missing)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}: is a file; give a folder")
    existing = path if path.exists() else path.parent if str(path.parent) else Path(".")
    if not existing.is_dir():
        raise InputError(f"{option} {path}: folder {existing} does not exist; create it first")
    if not os.access(existing, os.W_OK):
        raise InputError(f"{option} {path}: {existing} is not writable; choose another place")
    return path


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_files(Path(path).parent, {Path(path).name: text})


def write_files(folder: str | Path, files: dict[str, str]) -> None:
    """Write several text files into ``folder`` so that none appears until all are written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=folder))
    try:
        for name, text in files.items():
            with open(staging / name, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        for name in files:
            os.replace(staging / name, folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def manifest_name(path: str | Path) -> str:
    """The manifest file written beside ``path``: ``results.csv`` -> ``results.manifest.json``."""
    return Path(path).stem + ".manifest.json"


def write_with_manifest(path: str | Path, text: str, manifest: str) -> None:
    """Write ``text`` to ``path`` and ``manifest`` beside it, both or neither."""
    path = Path(path)
    write_files(path.parent, {path.name: text, manifest_name(path): manifest})
