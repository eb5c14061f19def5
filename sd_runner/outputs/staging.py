"""How an output is written both or neither: staged beside its target, then swapped or moved
into place; and how a staging folder left by a stopped run is finished or removed.

Every file of one output is first written and flushed to disk in a hidden staging folder,
``.sd-runner-staging-<pid>-...``. A new folder output appears with one rename; an existing one
is swapped in with one exchange where the system offers it (Linux). Otherwise a commit marker
is written once every staged file is on disk, then the files are moved into place, the
manifest last and its old version first removed. :mod:`sd_runner.outputs.files` checks the
targets and calls these.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from sd_runner.errors import OutputError

STAGING_PREFIX = ".sd-runner-staging-"
#: In a staging folder: the files still to move, written once all of them are on disk.
COMMIT_MARKER = "committed.json"
_TREE = "tree"  # in a staging folder: the whole new folder of a folder output

Say = Callable[[str], None]


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def write_new_folder(folder: Path, files: dict[str, str], option: str) -> bool:
    """Stage the whole folder beside it, then rename it into place: one step."""
    staging = _new_staging(folder.parent, option, folder)
    try:
        tree = staging / _TREE
        tree.mkdir()
        _stage(tree, files, option, folder)
        try:
            os.rename(tree, folder)
        except OSError as exc:
            if folder.exists():  # created meanwhile: write into it file by file
                return False
            raise _write_error(option, folder, exc) from None
        _fsync_dir(folder.parent)
        return True
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def can_swap(folder: Path) -> bool:
    """Whether the folder can be exchanged whole: it holds no subfolder (a subfolder could not
    be carried over atomically), is not a mount point, and this process does not work inside
    it (its working folder would go with the old one)."""
    if not sys.platform.startswith("linux") or os.path.ismount(folder):
        return False
    try:
        here = Path.cwd().resolve()
        if here == folder or folder in here.parents:
            return False
        return not any(entry.is_dir(follow_symlinks=False) for entry in os.scandir(folder))
    except OSError:
        return False


def swap_folder(folder: Path, files: dict[str, str], option: str) -> bool:
    """Build the new folder beside the old one (new files, plus hard links to the files it
    keeps), then exchange the two in one step. False when the system cannot."""
    try:
        staging = _new_staging(folder.parent, option, folder)
    except OutputError:
        return False  # the parent is not writable: write inside the folder instead
    try:
        tree = staging / _TREE
        tree.mkdir()
        try:  # the new folder keeps the old one's permissions where this process may set them
            os.chmod(tree, stat.S_IMODE(os.stat(folder).st_mode))
        except OSError:
            pass
        _stage(tree, files, option, folder)
        try:
            for entry in os.scandir(folder):
                if entry.name not in files:
                    os.link(entry.path, tree / entry.name, follow_symlinks=False)
        except OSError:
            return False  # no hard links here (e.g. FAT): write file by file
        try:
            if not _exchange(tree, folder):
                return False
        except OSError as exc:
            raise _write_error(option, folder, exc) from None
        _fsync_dir(folder.parent)
        _carry_over(tree, folder)
        return True
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _carry_over(old: Path, folder: Path) -> None:
    """Move back what appeared in the old folder while the new one was being built."""
    for entry in os.scandir(old):
        if not os.path.lexists(folder / entry.name):
            try:
                os.rename(entry.path, folder / entry.name)
            except OSError:
                pass


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or file system does not offer it."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    at_cwd, rename_exchange = -100, 2
    if renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EXDEV, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(second))


def write_beside(folder: Path, files: dict[str, str], manifest: str | None, option: str,
                  shown: Path, say: Say) -> None:
    """Stage ``files`` in ``folder``, commit, then move them into ``folder``: the manifest's
    old version is removed first and the new one moved last."""
    folder = Path(os.path.abspath(folder))
    if not folder.is_dir():
        try:
            folder.mkdir()  # a folder output's own folder; its parent was checked up front
        except OSError as exc:
            raise _write_error(option, shown, exc) from None
    folder = folder.resolve()
    clean_stale_staging(folder, say)
    refuse_special_targets(folder, files, option)
    staging = _new_staging(folder, option, shown)
    committed = False
    try:
        _stage(staging, files, option, shown)
        order = [name for name in files if name != manifest] + ([manifest] if manifest else [])
        plan = {"remove_first": [manifest] if manifest else [], "order": order}
        try:
            _write_synced(staging / COMMIT_MARKER, json.dumps(plan))
            _fsync_dir(staging)
        except OSError as exc:
            raise _write_error(option, shown, exc) from None
        committed = True
        try:
            _finish(staging, plan)
        except OSError as exc:
            raise OutputError(f"{option} {shown}: stopped part-way ({_reason(exc)}); the next "
                              f"sd-runner write into {folder} finishes it") from None
    finally:
        if not committed:
            shutil.rmtree(staging, ignore_errors=True)


def _finish(staging: Path, plan: dict) -> None:
    """Do the moves a commit marker lists, from wherever a stopped run left them."""
    folder = staging.parent
    for name in plan["remove_first"]:
        if (staging / name).exists() and os.path.lexists(folder / name):
            os.unlink(folder / name)
    for name in plan["order"]:
        if (staging / name).exists():
            os.replace(staging / name, folder / name)
    _fsync_dir(folder)
    shutil.rmtree(staging)


def refuse_special_targets(folder: Path, files: dict[str, str], option: str) -> None:
    """At write time too: never replace a device, FIFO or socket, nor a folder."""
    for name in files:
        target = folder / name
        try:
            mode = os.lstat(target).st_mode
        except FileNotFoundError:
            continue
        kind = "folder" if stat.S_ISDIR(mode) else special_kind(mode)
        if kind:
            raise OutputError(f"{option} {target}: is a {kind}, not a regular file; nothing "
                              "was written; move it away or choose another place")


def _new_staging(folder: Path, option: str, shown: Path) -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=folder))
    except OSError as exc:
        raise _write_error(option, shown, exc) from None


def _stage(staging: Path, files: dict[str, str], option: str, shown: Path) -> None:
    """Write every file into ``staging`` and flush it to disk."""
    for name, text in files.items():
        try:
            _write_synced(staging / name, text)
        except OSError as exc:
            raise _write_error(option, shown, exc) from None
    _fsync_dir(staging)


def _write_synced(path: Path, text: str) -> None:
    with open(path, "x", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make renames in ``folder`` durable (not possible, and not needed, on every system)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


_FIXES = {errno.ENOSPC: "free some space or choose another place",
          errno.EDQUOT: "free some space or choose another place",
          errno.EACCES: "choose a place you can write to",
          errno.EPERM: "choose a place you can write to",
          errno.EROFS: "choose a place you can write to"}


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _write_error(option: str, path: Path, exc: OSError) -> OutputError:
    fix = _FIXES.get(exc.errno, "check the place and try again")
    return OutputError(f"{option} {path}: could not write ({_reason(exc)}); nothing was "
                       f"written; {fix}")


def clean_stale_staging(folder: str | Path, say: Say = to_stderr) -> None:
    """Finish or delete the staging folders that stopped runs left in ``folder``.

    A committed one (its marker is there) is rolled forward; an uncommitted one is deleted.
    Staging folders of processes still running are left alone.
    """
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(STAGING_PREFIX)
                   and e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for entry in entries:
        pid = _pid_of(entry.name)
        if pid is None or _alive(pid):
            continue
        staging = Path(entry.path)
        plan = _plan(staging)
        if plan is not None:
            try:
                _finish(staging, plan)
            except OSError:
                continue
            say(f"sd-runner: finished writing {', '.join(plan['order'])} in {folder}, "
                f"left part-way by a stopped run (process {pid})")
        else:
            shutil.rmtree(staging, ignore_errors=True)
            say(f"sd-runner: removed {staging}, the unfinished output of a stopped run "
                f"(process {pid})")


def _pid_of(name: str) -> int | None:
    head = name[len(STAGING_PREFIX):].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":  # elsewhere, signal 0 is not a probe
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process
        return True
    return True


def _plan(staging: Path) -> dict | None:
    """The commit marker's moves, or None when there is none (or it is not one of ours)."""
    try:
        plan = json.loads((staging / COMMIT_MARKER).read_text(encoding="utf-8"))
        names = list(plan["remove_first"]) + list(plan["order"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    plain = all(isinstance(n, str) and n and Path(n).name == n and not n.startswith(".")
                for n in names)
    return plan if plain else None


def special_kind(mode: int) -> str | None:
    kinds = [(stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
             (stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISSOCK, "socket")]
    return next((name for test, name in kinds if test(mode)), None)
