"""The on-disk cache of translated and compiled models, which heals itself.

Each entry is a folder named by a content hash (of the ``.mdl`` for PySD's translation and for
the compiled model, of the program and the CPU for the kernel's machine code). It is built in a
private staging folder, which gets a ``SHA256SUMS`` file (the format of ``sha256sum``) listing
every file it holds, and is then renamed into place: a folder is complete or absent, and two
processes building the same entry at once cannot mix their files. Before an entry is used, its
files are checked against ``SHA256SUMS``; an entry that fails (a file truncated, emptied,
overwritten or missing) is moved aside and built again, and the process says so in one line on
standard error.

The cache lives in ``$SD_RUNNER_CACHE``, else ``$XDG_CACHE_HOME/sd-runner``, else
``~/.cache/sd-runner``. When that is not a writable folder (a file, say), the process says so
and caches in a temporary folder removed at exit: runs work, they are only not cached.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

#: The file in each entry that lists its files' sha256.
CHECKSUMS = "SHA256SUMS"

_told: set[str] = set()  # notices already given by this process
_fallback: Path | None = None  # this process's temporary cache, when the configured one fails


def notice(message: str, once_as: str | None = None) -> None:
    """Say ``message`` in one line on standard error (only once per ``once_as`` key)."""
    key = once_as or message
    if key in _told:
        return
    _told.add(key)
    print(f"sd-runner: {message}", file=sys.stderr, flush=True)


def announce_first_build(message: str) -> None:
    """Say, once per process, that something slow is built once and cached afterwards."""
    notice(message, once_as="first build")


def configured_root() -> tuple[Path, str]:
    """The cache folder asked for, and how it was asked for (for messages)."""
    configured = os.environ.get("SD_RUNNER_CACHE")
    if configured:
        return Path(configured), f"SD_RUNNER_CACHE={configured}"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    folder = Path(base) / "sd-runner"
    return folder, str(folder)


def cache_root() -> Path:
    """The cache folder: the configured one if it is a writable folder, else a temporary one
    for this process (said once, naming the variable and the fix)."""
    folder, named = configured_root()
    problem = _unusable(folder)
    if problem is None:
        return folder
    notice(f"{named} {problem}, so the compiled model is cached in a temporary folder for "
           "this run only; point SD_RUNNER_CACHE at a writable folder to keep it",
           once_as=f"unusable {named}")
    return _temporary_root()


def _unusable(folder: Path) -> str | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return "is a file, not a folder"
    except NotADirectoryError:
        return "lies inside a file, not a folder"
    except OSError as exc:
        return f"cannot be created ({exc.strerror or exc})"
    if not folder.is_dir():
        return "is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "is not writable"
    return None


def _temporary_root() -> Path:
    global _fallback
    if _fallback is None or not _fallback.is_dir():
        _fallback = Path(tempfile.mkdtemp(prefix="sd-runner-cache-"))
        atexit.register(shutil.rmtree, _fallback, ignore_errors=True)
    return _fallback


#: Staging folders older than this were left by a process that was killed while building.
STALE_SECONDS = 3600.0


def staging_folder(root: Path, prefix: str) -> Path:
    """A new private folder in ``root`` to build an entry in (stale ones are removed)."""
    now = time.time()
    for old in root.glob(f"{prefix}*"):
        try:
            if now - old.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass  # removed by another process meanwhile
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(folder: Path) -> None:
    """Record the sha256 of every file under ``folder`` in its ``SHA256SUMS``."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUMS)
    lines = [f"{sha256_of(p)}  {p.relative_to(folder).as_posix()}\n" for p in files]
    write_atomically(folder / CHECKSUMS, "".join(lines))


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def damage(folder: Path, required: tuple[str, ...]) -> str | None:
    """What is wrong with the entry ``folder`` (``None`` when every file listed in its
    ``SHA256SUMS`` has the recorded hash and every ``required`` file is listed)."""
    try:
        listing = (folder / CHECKSUMS).read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"has no {CHECKSUMS} (written by an older sd-runner, or cut short)"
    except (OSError, UnicodeDecodeError):
        return f"has an unreadable {CHECKSUMS}"
    recorded = {}
    for number, line in enumerate(listing.splitlines(), start=1):
        digest, separator, name = line.partition("  ")
        if not separator or len(digest) != 64 or not name or ".." in Path(name).parts:
            return f"has a damaged {CHECKSUMS} (line {number})"
        recorded[name] = digest
    for name in required:
        if name not in recorded:
            return f"lacks {name} in its {CHECKSUMS}"
    for name, digest in recorded.items():
        try:
            actual = sha256_of(folder / name)
        except OSError:
            return f"lacks {name}"
        if actual != digest:
            return f"has a damaged {name} (its sha256 differs from the one recorded)"
    return None


def discard(folder: Path) -> None:
    """Move ``folder`` out of the way at once (a rename), then delete it."""
    aside = folder.with_name(f"{folder.name}.damaged-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.replace(folder, aside)
    except OSError:
        return  # another process moved it first, or it cannot be moved: build beside it
    shutil.rmtree(aside, ignore_errors=True)


def publish(staging: Path, folder: Path, required: tuple[str, ...]) -> Path:
    """Rename the built ``staging`` folder to ``folder``; returns the folder to use.

    When another process published ``folder`` first, theirs is used (if sound) and ours
    removed; when it cannot be replaced, the staging folder itself is used for this process.
    """
    try:
        os.replace(staging, folder)
        return folder
    except OSError:
        pass
    if damage(folder, required) is None:
        shutil.rmtree(staging, ignore_errors=True)
        return folder
    return staging


def entry_file(folder: Path, name: str, make, what: str, again: str,
               staging_prefix: str, first_build: str | None = None) -> Path:
    """The file ``name`` of the entry ``folder``, an entry of one file: as cached when the
    entry is sound; else ``make()`` (its bytes) is written in a staging folder and published,
    after saying why when a damaged entry is replaced (``the cached {what} {folder} ...;
    {again}``) or ``first_build`` when there was none."""
    if folder.is_dir():
        problem = damage(folder, (name,))
        if problem is None:
            return folder / name
        notice(f"the cached {what} {folder} {problem}; {again}")
        discard(folder)
    elif first_build:
        announce_first_build(first_build)
    staging = staging_folder(folder.parent, staging_prefix)
    try:
        (staging / name).write_bytes(make())
        write_checksums(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return publish(staging, folder, (name,)) / name
