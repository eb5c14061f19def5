"""Sizes a user gives (counts, seeds, windows, processes, a scheduler's address), checked
before anything is allocated.

Every check raises :class:`~sd_runner.errors.ArgumentError`, which names the argument, its
value and what is allowed. Counts are also turned into the memory and time they need and
refused, with the estimate and the limit, when this machine cannot give them. The estimates
are rough, to within a factor of about two: the callers count the large arrays of their stage
(see :func:`ensemble_bytes`), and :data:`MEMORY_SHARE` leaves room for the rest.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import numpy as np

from sd_runner.errors import ArgumentError

#: Bytes of one float64.
FLOAT_BYTES = 8

#: Share of the available memory a command may plan to use: the estimates are rough, and the
#: interpreter, the model and the libraries need memory too.
MEMORY_SHARE = 0.5

#: Seconds one model run takes on one core, as an order of magnitude (kept on the safe side).
#: Measured with ``benchmarks/bench_uncertainty.py`` on a two-core machine, the engine's second
#: edition: 9 009 runs of an uncertainty comparison in 4.6 s (0.5 ms a run with the analysis
#: included), 303 104 runs of a Sobol analysis in 46.5 s (0.3 ms a run on each core).
SECONDS_PER_RUN = 5e-4

#: Longest a command may be expected to take: a request beyond it is taken for a mistake.
MAX_SECONDS = 7 * 24 * 3600

#: Most Euler steps one run may take: the bundled model takes 1 024; the time axis alone
#: costs about 30 bytes a step, and every saved step a float per output column.
MAX_TIME_STEPS = 10_000_000

#: Largest seed of numpy's legacy ``RandomState``, which emcee seeds with.
LEGACY_SEED_MAX = 2**32 - 1

#: Largest seed of numpy's ``default_rng`` taken here: its ``SeedSequence`` takes any
#: non-negative integer, and 128 bits is the entropy it keeps.
SEED_MAX = 2**128 - 1

#: Local processes allowed per core: more would only queue for the same cores, and each one
#: holds a copy of the model and of its share of the runs.
WORKERS_PER_CORE = 4

#: Seconds to wait for a Dask scheduler to answer before giving up.
SCHEDULER_TIMEOUT = 10.0

_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
_SCHEDULER = re.compile(rf"tcp://(?P<host>{_HOST}):(?P<port>[0-9]{{1,5}})")


def _is_whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_count(argument: str, value, what: str, minimum: int = 1) -> int:
    """``value`` as an int, refused unless a whole number of at least ``minimum``."""
    if not _is_whole(value) or value < minimum:
        raise ArgumentError(argument, value, f"give the number of {what}, a whole number of "
                            f"at least {minimum}")
    return int(value)


def check_seed(argument: str, seed, maximum: int = SEED_MAX) -> int:
    """``seed`` as an int, refused unless a whole number from 0 to ``maximum``."""
    if not _is_whole(seed) or not 0 <= seed <= maximum:
        raise ArgumentError(argument, seed, f"give a whole number from 0 to {maximum} "
                            f"(2**{maximum.bit_length()} - 1)")
    return int(seed)


def max_workers() -> int:
    """The most local processes :func:`check_workers` allows on this machine."""
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


def check_workers(argument: str, workers) -> int | None:
    """``workers`` (``None``: the default) refused unless from 1 to :func:`max_workers`."""
    if workers is None:
        return None
    if not _is_whole(workers) or not 1 <= workers <= max_workers():
        raise ArgumentError(argument, workers, f"give 1 to {max_workers()} processes "
                            f"({WORKERS_PER_CORE} per core of this machine)")
    return int(workers)


def check_window(argument: str, window, shortest: float, horizon: float) -> float:
    """A window of years, refused unless from ``shortest`` (the interval between saved times,
    below which windows hold no scores) to ``horizon`` (the model's run)."""
    slack = 1e-9  # the bounds come from sums of float time steps
    if not (isinstance(window, (int, float, np.number)) and np.isfinite(window)
            and shortest * (1 - slack) <= window <= horizon * (1 + slack)):
        raise ArgumentError(argument, window, f"give years from {shortest:g} (the interval "
                            f"between saved times) to {horizon:g} (the whole run)")
    return float(window)


def check_scheduler(argument: str, address) -> tuple[str, int]:
    """``(host, port)`` of a Dask scheduler address, refused unless ``tcp://host:port``."""
    match = _SCHEDULER.fullmatch(address) if isinstance(address, str) else None
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ArgumentError(argument, address, "give a Dask scheduler's address as "
                            "tcp://host:port with a port from 1 to 65535, e.g. "
                            "tcp://127.0.0.1:8786")
    return match["host"].strip("[]"), int(match["port"])


# ---------------------------------------------------------------------- memory and time
def available_memory() -> int | None:
    """Bytes this process can still allocate: the kernel's ``MemAvailable``, or less when a
    cgroup (a container) limits the process; ``None`` where neither can be read. Read at most
    once a second: reading costs more than a small ensemble's run, which checks it too."""
    now = time.monotonic()
    if now - _LAST_READING[0] > 1.0:
        _LAST_READING[:] = [now, _read_available_memory()]
    return _LAST_READING[1]


_LAST_READING: list = [-math.inf, None]  # (when, bytes)


def _read_available_memory() -> int | None:
    amounts = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                amounts.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not amounts:
        try:
            amounts.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    cgroup = _cgroup_room()
    if cgroup is not None:
        amounts.append(cgroup)
    return min(amounts) if amounts else None


def _cgroup_room() -> int | None:
    for limit, used in (("memory.max", "memory.current"),  # cgroup v2
                        ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes")):
        try:
            top = (Path("/sys/fs/cgroup") / limit).read_text().strip()
            if top == "max" or int(top) >= 2**60:  # no limit
                continue
            return max(0, int(top) - int((Path("/sys/fs/cgroup") / used).read_text()))
        except (OSError, ValueError):
            continue
    return None


def shortfall(bytes_needed: int, runs: int = 0, processes: int = 1) -> str | None:
    """Why this machine cannot give ``bytes_needed`` and ``runs`` model runs shared by
    ``processes``, with the estimate and the limit; ``None`` when it can."""
    available = available_memory()
    if available is not None and bytes_needed > MEMORY_SHARE * available:
        return (f"needs about {_bytes(bytes_needed)} of memory, more than the "
                f"{_bytes(MEMORY_SHARE * available)} allowed ({MEMORY_SHARE:.0%} of the "
                f"{_bytes(available)} available)")
    seconds = runs * SECONDS_PER_RUN / max(1, processes)
    if seconds > MAX_SECONDS:
        return (f"needs {runs:.3g} model runs, about {_duration(seconds)} at "
                f"{SECONDS_PER_RUN * 1000:g} ms a run on {max(1, processes)} "
                f"process{'es' * (processes > 1)}, more than the {_duration(MAX_SECONDS)} "
                "allowed")
    return None


def check_needs(argument: str, value, bytes_needed: int, runs: int = 0, processes: int = 1,
                fix: str = "give a smaller number") -> None:
    """Refuse ``value`` when :func:`shortfall` finds its needs too large."""
    problem = shortfall(bytes_needed, runs, processes)
    if problem:
        raise ArgumentError(argument, value, f"{problem}; {fix}")


def ensemble_bytes(members: int, constants: int, saved_times: int, columns: int) -> int:
    """Peak memory of an ensemble of ``members`` runs (``sd_runner.engine.ensemble``): the
    constants matrix, and four copies of ``[member, saved time, column]``: the chunks'
    outputs, their concatenation, a reordering and the quantiles' working copy (measured:
    1.37 GB for 20 000 members of the bundled model, estimated 1.18 GB)."""
    return FLOAT_BYTES * members * (constants + 4 * saved_times * columns)


def processes_for(runs: int, workers: int | None, parallel_from: int) -> int:
    """Local processes an ensemble of ``runs`` uses (see ``run_ensemble``'s ``workers``)."""
    if workers is not None:
        return workers
    return (os.cpu_count() or 1) if runs >= parallel_from else 1


def _bytes(amount: float) -> str:
    units = ("bytes", "kB", "MB", "GB", "TB")
    power = 0
    while amount >= 1000 and power < len(units) - 1:
        amount, power = amount / 1000, power + 1
    return f"{amount:.3g} {units[power]}"


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600),
                       ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"
