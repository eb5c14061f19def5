"""Write outputs so that they cannot hurt.

- Targets are checked before anything runs: only regular files and folders are written (a
  device, FIFO or socket is refused, never replaced), the folder that holds an output must
  exist, and two options of one command may not name the same file.
- Both or neither: every file of one output (a CSV and its manifest, the files of a folder)
  is first written and flushed to disk in a hidden staging folder beside the target, named
  ``.sd-runner-staging-<pid>-...``. A new folder output then appears with one rename; an
  existing one is swapped in with one exchange where the system offers it (Linux), keeping the
  other files the folder held. Otherwise a commit marker is written once every staged file is
  on disk, then the files are moved into place, the manifest last and its old version first
  removed, so a reader never sees a new CSV beside an old manifest.
- A run killed part-way leaves its staging folder behind. The next write into that folder
  finishes the moves of a committed one (roll forward) and deletes an uncommitted one, and
  says so in one line on standard error.
- A failed write (disk full, permission) names the option and the path and leaves the target
  as it was.
- No output goes into a folder that holds the bundled model, scenarios, calibration settings,
  data or committed fit (only ``calibrate`` may rewrite the committed fit), and a file name
  must fit the file system, its manifest's name included.

The checks and the writers are here; the staging, swapping and finishing of stopped writes are
in :mod:`sd_runner.outputs.staging`.
"""

from __future__ import annotations

import errno
import os
import unicodedata
from collections.abc import Callable
from pathlib import Path

from sd_runner import resources
from sd_runner.errors import InputError
from sd_runner.outputs import staging
from sd_runner.outputs.staging import Say, special_kind, to_stderr


# ---------------------------------------------------------------------- checks before a run
def refuse_empty(paths: dict[str, str | None]) -> None:
    """An empty path given to an option is a mistake, not a request for standard output."""
    for option, path in paths.items():
        if path is not None:
            _absolute(path, option)


def check_writable_file(path: str | Path, option: str) -> Path:
    """Fail early, before any run, unless ``path`` can be written as a regular file."""
    target = _absolute(path, option)
    if _names_a_folder(os.fspath(path)):
        raise InputError(f"{option} {path}: ends with a path separator (or '.'), so it names a "
                         "folder; give a file name")
    _check_name_length(target, option, path)
    if target.is_dir():
        raise InputError(f"{option} {path}: is a folder; give a file name")
    _refuse_special(target, option, path, "a file name")
    parent = _check_parent(target, option, path)
    _refuse_bundled(parent, option, path)
    if target.exists() and not os.access(target, os.W_OK):
        raise InputError(f"{option} {path}: file is not writable; choose another name")
    return parent / target.name


def check_writable_dir(path: str | Path, option: str, rewrites: Path | None = None) -> Path:
    """Fail early unless ``path`` is a folder that can hold output files, or can be created
    (its parent folder must exist). ``rewrites``: the one bundled folder this command exists to
    rewrite (``calibrate``: the committed fit), which it may name exactly."""
    target = _absolute(path, option)
    _check_name_length(target, option, path)
    _refuse_broken_link(target, option, path)
    if target.exists() and not target.is_dir():
        _refuse_special(target, option, path, "a folder")
        raise InputError(f"{option} {path}: is a file; give a folder")
    if target.is_dir():
        target = target.resolve()
        if not os.access(target, os.W_OK):
            raise InputError(f"{option} {path}: {target} is not writable; choose another place")
    else:
        target = _check_parent(target, option, path) / target.name
    if rewrites is None or _key(target) != _key(_resolved(rewrites)):
        _refuse_bundled(target, option, path)
    return target


def _names_a_folder(text: str) -> bool:
    """Whether a path's text names a folder whatever is there: it ends with a separator, or
    its last part is '.' or '..'."""
    separators = os.sep + (os.altsep or "")
    last = text.rstrip(separators)
    for separator in separators:
        last = last.rsplit(separator, 1)[-1]
    return bool(text) and (text[-1] in separators or last in (".", ".."))


def _refuse_broken_link(target: Path, option: str, given) -> None:
    """A symbolic link that leads nowhere (or in a loop) cannot hold a folder output."""
    if not os.path.islink(target) or os.path.exists(target):
        return
    try:
        os.stat(target)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{option} {given}: is a loop of symbolic links; give a folder"
                             ) from None
    raise InputError(f"{option} {given}: is a symbolic link to {os.readlink(target)}, which "
                     "does not exist; create that folder or give another") from None


def _check_name_length(target: Path, option: str, given, manifest: bool = False) -> None:
    """Refuse a file name longer than the file system holds, before anything runs."""
    names = [target.name] + ([manifest_name(target)] if manifest else [])
    limit = _name_max(target.parent)
    for number, name in enumerate(names):
        size = len(os.fsencode(name))
        if size > limit:
            what = f"the name of its manifest {_shortened(name)}" if number else "its file name"
            raise InputError(f"{option} {_shortened(os.fspath(given))}: {what} is {size} bytes "
                             f"long, more than the {limit} this file system allows; give a "
                             "shorter name")


def _name_max(folder: Path) -> int:
    """The longest file name (bytes) in ``folder``, or in the nearest folder above it that
    exists; 255 where the system does not say."""
    for place in [folder, *folder.parents]:
        if os.path.isdir(place):
            try:
                return os.pathconf(place, "PC_NAME_MAX")
            except (OSError, ValueError, AttributeError):
                return 255
    return 255


def _shortened(text: str, keep: int = 40) -> str:
    return text if len(text) <= 2 * keep else f"{text[:keep]}...{text[-keep:]}"


def _resolved(path: Path) -> Path:
    try:
        return Path(path).resolve()
    except OSError:
        return Path(os.path.abspath(path))


def _bundled_folders() -> list[Path]:
    """The folders holding what every run reads: the model, levers, scenarios, calibration
    settings, data and committed fit (in the repository and in an installed package)."""
    folders = [Path(resources.__file__).resolve().parent / "bundled"]
    for where in (resources.bundled_dir, resources.calibration_dir):
        try:
            folders.append(where())
        except FileNotFoundError:
            pass
    return [_resolved(folder) for folder in folders]


def _refuse_bundled(folder: Path, option: str, given) -> None:
    """No output is written into (or as) a folder of bundled inputs, nor below one."""
    place = _key(_resolved(folder))
    for bundled in _bundled_folders():
        root = _key(bundled)
        if place == root or place.startswith(root.rstrip(os.sep) + os.sep):
            raise InputError(f"{option} {given}: lies in {bundled}, which holds the bundled "
                             "model, scenarios and calibration that every run reads; write "
                             "somewhere else")


def _csv_or_manifest(name: str) -> bool:
    return name.endswith(".csv") or name == "manifest.json"


def check_separate(files: list[tuple[str, str | Path | None, bool]],
                   folder: tuple[str, str | Path | None] | None = None,
                   inputs: dict[str, str | Path | None] | None = None,
                   folder_writes: Callable[[str], bool] = _csv_or_manifest) -> None:
    """Refuse, before anything runs, two options that would write the same file.

    ``files``: (option, path, whether a manifest is written beside it) for each file output;
    ``folder``: (option, folder) of a folder output, in which no other option may name a
    file that ``folder_writes`` (by name) could be; ``inputs``: label to an input file that
    no output may overwrite.
    """
    claimed: dict[str, tuple[str, str]] = {}
    for option, given, with_manifest in files:
        if given is None:
            continue
        _check_name_length(_absolute(given, option), option, given, with_manifest)
        for number, path in enumerate(written_by(given, option, with_manifest)):
            shown = f"{given}: its manifest {path}" if number else given
            _refuse_special(path, option, shown, "another name")
            if path.is_dir():
                raise InputError(f"{option} {shown} is a folder; give another name")
            key = _key(path)
            if key in claimed:
                other, other_given = claimed[key]
                raise InputError(f"{option} {given} and {other} {other_given} would both write "
                                 f"{path}; give them different names")
            claimed[key] = (option, str(given))
    if folder is not None and folder[1] is not None:
        _check_outside_folder(claimed, *folder, folder_writes)
    for label, given in _input_files(inputs or {}):
        key = _key(Path(given).resolve())
        named = "the input" if label == str(given) else f"the input {label}"
        if folder is not None and folder[1] is not None and key not in claimed:
            _check_outside_folder({key: (named, str(given))}, *folder, folder_writes,
                                  "would be overwritten: ")
        if key in claimed:
            option, out = claimed[key]
            raise InputError(f"{option} {out} would overwrite {named} {given}; give "
                             "the output another name")


def _input_files(inputs: dict[str, str | Path | None]) -> list[tuple[str, Path]]:
    """Each input file by its label; an input folder (a fit) stands for the files in it."""
    found = []
    for label, given in inputs.items():
        if given is None:
            continue
        path = Path(given)
        if path.is_dir():
            found += [(label, Path(entry.path)) for entry in os.scandir(path)
                      if entry.is_file()]
        elif path.is_file():
            found.append((label, path))
    return found


def _check_outside_folder(claimed: dict[str, tuple[str, str]], folder_option: str,
                          folder_given: str | Path, folder_writes: Callable[[str], bool],
                          why: str = "") -> None:
    inside = _absolute(folder_given, folder_option)
    inside = inside.parent.resolve() / inside.name
    if inside.is_dir():
        inside = inside.resolve()
    for key, (option, given) in claimed.items():
        path = Path(key)
        if key == _key(inside):
            raise InputError(f"{option} {given} and {folder_option} {folder_given} name the "
                             "same path; give them different names")
        if _key(path.parent) == _key(inside) and folder_writes(path.name):
            raise InputError(f"{option} {given}: {why}{folder_option} {folder_given} writes "
                             "files of that kind there; give another name or place")


def written_by(path: str | Path, option: str, with_manifest: bool = False) -> list[Path]:
    """The files an option writes for ``path`` (its manifest too, if it has one)."""
    target = _absolute(path, option)
    target = target.parent.resolve() / target.name
    return [target, target.with_name(manifest_name(target))] if with_manifest else [target]


def _key(path: Path) -> str:
    # Folded case and Unicode form: on macOS and Windows "R.html" and "r.html" are one file,
    # and on macOS "café" composed and decomposed.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", str(path)).casefold())


def _absolute(path: str | Path, option: str) -> Path:
    text = os.fspath(path)
    if not text.strip():
        raise InputError(f"{option} {text!r}: is empty; give a path")
    if "\x00" in text:
        raise InputError(f"{option} {text!r}: contains a NUL character; give a plain path")
    return Path(os.path.abspath(text))


def _refuse_special(target: Path, option: str, given, wanted: str) -> None:
    """Refuse a device, FIFO or socket (or a link to one): writing would replace it."""
    try:
        mode = os.stat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        raise InputError(f"{option} {given}: cannot be examined ({exc.strerror}); "
                         f"give {wanted} elsewhere") from None
    kind = special_kind(mode)
    if kind:
        raise InputError(f"{option} {given}: is a {kind}, not a regular file; sd-runner "
                         f"writes regular files only; give {wanted}")


def _check_parent(target: Path, option: str, given) -> Path:
    """The one rule for every output: the folder that holds it must exist (nothing is created
    above the output itself, so a mistyped path fails instead of growing folders)."""
    parent = target.parent
    if parent.exists() and not parent.is_dir():
        raise InputError(f"{option} {given}: {parent} is not a folder; choose another place")
    if not parent.is_dir():
        raise InputError(f"{option} {given}: folder {parent} does not exist; create it first")
    parent = parent.resolve()
    if not os.access(parent, os.W_OK):
        raise InputError(f"{option} {given}: folder {parent} is not writable; "
                         "choose another place")
    return parent


# ---------------------------------------------------------------------- writing
def manifest_name(path: str | Path) -> str:
    """The manifest file written beside ``path``: ``results.csv`` -> ``results.manifest.json``."""
    return Path(path).stem + ".manifest.json"


def write_text(path: str | Path, text: str, option: str = "--out", say: Say = to_stderr) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    path = Path(path)
    staging.write_beside(path.parent, {path.name: text}, None, option, path, say)


def write_with_manifest(path: str | Path, text: str, manifest: str, option: str = "--out",
                        say: Say = to_stderr) -> None:
    """Write ``text`` to ``path`` and ``manifest`` beside it, both or neither."""
    path = Path(path)
    name = manifest_name(path)
    staging.write_beside(path.parent, {path.name: text, name: manifest}, name, option, path, say)


def write_files(folder: str | Path, files: dict[str, str], option: str = "--out",
                manifest: str | None = "manifest.json", say: Say = to_stderr) -> None:
    """Write a folder output: every file of ``files`` appears in ``folder``, or none does.

    Files already in ``folder`` under other names are kept. ``manifest`` names the file moved
    last when the folder cannot be swapped in whole.
    """
    folder = Path(os.path.abspath(folder))
    if folder.is_dir():
        folder = folder.resolve()
    _check_names(files)
    staging.clean_stale_staging(folder.parent, say)
    if folder.is_dir():
        staging.clean_stale_staging(folder, say)
    if not folder.exists():
        if staging.write_new_folder(folder, files, option):
            return
    elif staging.can_swap(folder):
        staging.refuse_special_targets(folder, files, option)
        if staging.swap_folder(folder, files, option):
            return
    staging.write_beside(folder, files, manifest if manifest in files else None, option,
                         folder, say)


def _check_names(files: dict[str, str]) -> None:
    for name in files:
        if Path(name).name != name or name.startswith(".") or not name:
            raise ValueError(f"output file name {name!r} is not a plain file name")
