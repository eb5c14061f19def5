"""Run many parameter sets of a compiled model: in this thread, across local threads (the
kernel releases the GIL, so each runs on a core of its own), or on a Dask cluster. Rows are
independent and the kernel is deterministic, so the numbers do not depend on how the ensemble
is split.

Every member is checked as a single run is: each variable at the model's saved times (SAVEPER)
and the times asked for, for a value that is not finite or outside its declared range. A member
that breaches is rerun saving every TIME STEP up to that time, so its breach is named at the
first step it occurs."""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from sd_runner.engine.fast import FastModel, TimeAxis, every_step, load_kernel
from sd_runner.errors import ArgumentError, InputError, RunError
from sd_runner.inputs import limits
from sd_runner.model.breaches import Breach, bounds, first_breaches

#: Ensembles smaller than this run in one thread by default (they make one chunk of the default
#: size).
PARALLEL_FROM = 2048

#: Members that went wrong run again at most this many at once with the checked variables
#: kept, which bounds the memory naming their breaches takes (64 members x 65 saved times x
#: 229 checked variables in the bundled model: 7.6 MB).
CHECK_BATCH = 64

#: Kernels loaded in this process, by key (a Dask worker loads each once).
_KERNELS: dict[str, object] = {}


@dataclass(frozen=True)
class EnsembleResult:
    """Outputs of an ensemble.

    Attributes
    ----------
    times : numpy.ndarray
        Saved times, years.
    columns : list of str
        Output columns, named as Vensim names them (``"Margin[Apparel]"``).
    values : numpy.ndarray
        ``[member, time, column]``.
    breaches : tuple of Breach
        The first breach of each member that left a declared range or gave a value that is
        not finite, in member order (empty unless asked for with ``breaches="keep"``).
    """

    times: np.ndarray
    columns: list[str]
    values: np.ndarray
    breaches: tuple[Breach, ...] = ()

    def column(self, name: str) -> np.ndarray:
        """``[member, time]`` values of one column."""
        return self.values[:, :, self.columns.index(name)]


class ParameterSpace:
    """Maps named parameters (``"Patent Yield"``, ``"Extra Channel Reach[Apparel]"``) to the
    kernel's constants, so a matrix of parameter sets becomes a matrix of constants."""

    def __init__(self, model: FastModel, names: list[str]):
        self.model = model
        self.names = list(names)
        compiled = model.kernel.compiled
        self.targets: list[list[int]] = []
        for name in self.names:
            _, keys = model.select(name, list(compiled.constants))
            if not keys:
                raise InputError(f"{name!r} is not a constant of the model, so it cannot be "
                                 "varied; vary the constants it depends on")
            self.targets.append([compiled.constants[k] for k in keys])

    def constants(self, values: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """``[member, constant]`` matrix: ``base`` (defaults) with each column of ``values``
        written to the constants its name covers."""
        values = np.atleast_2d(np.asarray(values, dtype=float))
        if values.shape[1] != len(self.names):
            raise InputError(f"parameter matrix has {values.shape[1]} columns for "
                             f"{len(self.names)} names")
        if not np.isfinite(values).all():
            row, col = np.argwhere(~np.isfinite(values))[0]
            raise InputError(f"parameter set {row}: {self.names[col]} is {values[row, col]}; "
                             "give finite values")
        start = self.model.kernel.compiled.constant_defaults if base is None else base
        consts = np.repeat(start[None, :], values.shape[0], axis=0)
        for column, indices in enumerate(self.targets):
            consts[:, indices] = values[:, column:column + 1]
        return consts


def run_ensemble(
    model: FastModel,
    values: np.ndarray,
    names: list[str],
    variables: list[str],
    *,
    base_params: dict | None = None,
    time_step: float | None = None,
    saveper: float | None = None,
    final_time: float | None = None,
    chunk_size: int = 1024,
    workers: int | None = None,
    scheduler: str | None = None,
    breaches: str = "raise",
) -> EnsembleResult:
    """Simulate every row of ``values`` (one parameter set per row).

    Parameters
    ----------
    model : FastModel
        The compiled model.
    values : array_like, shape (members, len(names))
        Parameter sets.
    names : list of str
        The constant each column sets (Vensim name, optionally ``Name[Element]``).
    variables : list of str
        Variables to keep (only these are stored, so memory grows with members x outputs).
    base_params : dict, optional
        PySD-style parameters applied to every member first (a scenario's levers).
    time_step, saveper, final_time : float, optional
        Override TIME STEP, SAVEPER or FINAL TIME (saving less keeps less in memory).
    chunk_size : int
        Members per chunk; chunks run in parallel.
    workers : int, optional
        Local threads, each running chunks on a core. By default one per core for ensembles
        of at least ``PARALLEL_FROM`` members.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:port``); chunks then run on its workers.
    breaches : str
        ``"raise"``: a member that leaves a declared range (or gives a value that is not
        finite) stops the ensemble with a :class:`RunError` naming it; ``"keep"``: the
        members' first breaches are returned in ``breaches`` for the caller to report and
        exclude (their values are kept as they came out).
        An address where no scheduler with workers answers within
        :data:`~sd_runner.inputs.limits.SCHEDULER_TIMEOUT` seconds is refused.
    """
    _check_arguments(breaches, chunk_size, workers, scheduler)
    space = ParameterSpace(model, names)
    columns, out_slots = _outputs(model, variables)
    axis = model.time_axis(time_step, saveper, final_time)
    check = RangeCheck.build(model, axis, out_slots)
    _check_memory(model, len(values), axis, len(columns), workers, scheduler)
    consts = space.constants(values, model.constants_vector(base_params))
    chunks = [consts[i:i + chunk_size] for i in range(0, len(consts), chunk_size)]
    parts = _run_chunks(model, chunks, axis, out_slots, check, workers, scheduler)
    if len(parts) == 1:
        result = parts[0][0]  # one chunk: its array as it is, without a copy
    else:
        result = (np.concatenate([values for values, _ in parts], axis=0) if parts
                  else np.empty((0, len(axis.times), len(columns))))
    found = _numbered_breaches(parts, chunk_size)
    if found and breaches == "raise":
        raise _breach_error(found, len(consts))
    return EnsembleResult(times=axis.times, columns=columns, values=result, breaches=found)


def _numbered_breaches(parts: list, chunk_size: int) -> tuple[Breach, ...]:
    """The chunks' breaches, each numbered by its member's row in the whole ensemble."""
    return tuple(dataclasses.replace(breach, member=breach.member + number * chunk_size)
                 for number, (_, chunk_breaches) in enumerate(parts)
                 for breach in chunk_breaches)


def _breach_error(found: tuple[Breach, ...], members: int) -> RunError:
    return RunError(f"{len(found)} of {members} parameter sets went numerically wrong; "
                    f"the first, set {found[0].member}: {found[0].describe()}; check the "
                    "parameter values that feed it")


def _check_arguments(breaches: str, chunk_size: int, workers: int | None,
                     scheduler: str | None) -> None:
    if breaches not in ("raise", "keep"):
        raise ValueError(f"breaches={breaches!r}: use 'raise' or 'keep'")
    if chunk_size < 1:
        raise InputError(f"chunk size {chunk_size} must be at least 1")
    limits.check_workers("workers", workers)
    if scheduler is not None:
        limits.check_scheduler("scheduler", scheduler)


def _outputs(model: FastModel, variables: list[str]) -> tuple[list[str], np.ndarray]:
    """The output columns of ``variables`` and the kernel's slots that hold them."""
    columns = model.expand_columns(variables)
    targets = model._column_slots(columns)
    if any(isinstance(t, str) for t in targets):
        raise InputError("time controls are not ensemble outputs; ask for model variables")
    return columns, np.asarray(targets, dtype=np.int64)


def _check_memory(model: FastModel, members: int, axis: TimeAxis, columns: int,
                  workers: int | None, scheduler: str | None) -> None:
    limits.check_needs("len(values)", members, limits.ensemble_bytes(
        members, len(model.kernel.compiled.constant_defaults), len(axis.times), columns),
        0 if scheduler else members, limits.processes_for(members, workers, PARALLEL_FROM),
        "run fewer parameter sets, or keep fewer variables or saved times")


def _run_chunks(model: FastModel, chunks: list[np.ndarray], axis: TimeAxis,
                out_slots: np.ndarray, check: RangeCheck, workers: int | None,
                scheduler: str | None) -> list[tuple[np.ndarray, list[Breach]]]:
    """Each chunk's outputs and breaches, in order: on a Dask cluster, in local threads or in
    this one."""
    key = model.kernel.key
    _KERNELS[key] = model.kernel.module
    if scheduler:
        return _run_dask(scheduler, model.kernel.compiled, key, chunks, axis, out_slots,
                         check)
    if workers is None:
        members = sum(len(chunk) for chunk in chunks)
        workers = (os.cpu_count() or 1) if members >= PARALLEL_FROM else 1
    if workers == 1 or len(chunks) == 1:
        return [_run_chunk(key, chunk, axis, out_slots, check) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
        return list(pool.map(_run_chunk, [key] * len(chunks), chunks, [axis] * len(chunks),
                             [out_slots] * len(chunks), [check] * len(chunks)))


@dataclass(frozen=True)
class RangeCheck:
    """What an ensemble checks: every variable with a declared range (every stock) and every
    output, at the union of the times asked for and the model's SAVEPER grid. ``axis`` saves
    there and ``asked`` picks the rows asked for; ``slots`` are the variables checked, within
    ``[low, high]`` (their declared limits ``lower``, ``upper`` with rounding slack)."""

    axis: TimeAxis
    asked: np.ndarray
    slots: np.ndarray
    columns: list[str]
    lower: np.ndarray
    upper: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def build(cls, model: FastModel, asked: TimeAxis, out_slots: np.ndarray) -> RangeCheck:
        grid = model.time_axis(asked.step, None, asked.final)
        save = asked.save_steps | grid.save_steps
        full = TimeAxis.build(asked.initial, asked.final, asked.step, asked.step)
        axis = TimeAxis(asked.initial, asked.final, asked.step, asked.saveper, asked.n_steps,
                        save, full.times[save])
        every = model.slot_columns
        lower, upper = model.declared_limits(every)
        limited = np.isfinite(lower) | np.isfinite(upper)
        slots = np.union1d(np.flatnonzero(limited), out_slots).astype(np.int64)
        return cls(axis, np.flatnonzero(asked.save_steps[save]), slots,
                   [every[i] for i in slots], lower[slots],
                   upper[slots], *bounds(lower[slots], upper[slots]))


def _run_chunk(key: str, consts: np.ndarray, axis: TimeAxis, out_slots: np.ndarray,
               check: RangeCheck) -> tuple[np.ndarray, list[Breach]]:
    """The chunk's outputs ``[member, time, column]`` and its members' first breaches.

    The kernel checks every member's checked variables at each saved time as it runs and
    marks the members that went wrong; only those are run again, keeping the checked
    variables, to name their breach."""
    module = _KERNELS[key]
    consts = np.ascontiguousarray(consts)
    marked = np.full(consts.shape[0], -1, dtype=np.int64)
    kept = np.empty((consts.shape[0], len(check.axis.times), len(out_slots)))
    module.run_batch(consts, check.axis.initial, check.axis.step, check.axis.final,
                     check.axis.saveper, check.axis.n_steps, check.axis.save_steps,
                     np.asarray(out_slots, dtype=np.int64), kept,
                     (check.slots, check.low, check.high, marked))
    out = kept if len(check.asked) == len(check.axis.times) else kept[:, check.asked]
    found = []
    wrong = np.flatnonzero(marked >= 0)
    for start in range(0, len(wrong), CHECK_BATCH):
        members = wrong[start:start + CHECK_BATCH]
        values = _simulate(module, consts[members], check.axis, check.slots)
        for breach in first_breaches(values, check.axis.times, check.columns, check.lower,
                                     check.upper):
            if breach is not None:
                member = int(members[breach.member])
                found.append(_first_step(module, consts[member], breach, check, member))
    return out, found


def _first_step(module, consts: np.ndarray, breach: Breach, check: RangeCheck,
                member: int) -> Breach:
    """``breach`` found at a saved time, moved to the first TIME STEP anything went wrong."""
    axis = every_step(check.axis, breach.time)
    kept = _simulate(module, consts[None, :], axis, check.slots)
    finer = first_breaches(kept, axis.times, check.columns, check.lower, check.upper)[0]
    return dataclasses.replace(finer or breach, member=member)


def _simulate(module, consts: np.ndarray, axis: TimeAxis, slots: np.ndarray) -> np.ndarray:
    out = np.empty((consts.shape[0], len(axis.times), len(slots)))
    module.run_batch(np.ascontiguousarray(consts), axis.initial, axis.step, axis.final,
                     axis.saveper, axis.n_steps, axis.save_steps, slots, out)
    return out


def _run_remote(compiled, key: str, consts, axis, out_slots, check):
    """On a Dask worker: load the kernel (compiled for the worker's CPU, or taken from its
    cache), run a chunk."""
    if key not in _KERNELS:
        _KERNELS[key] = load_kernel(compiled)
    return _run_chunk(key, consts, axis, out_slots, check)


def _run_dask(address: str, compiled, key: str, chunks, axis, out_slots, check):
    try:
        from distributed import Client
    except ImportError:  # declared as a dependency; kept explicit for a clear message
        raise InputError("a Dask scheduler was given but dask.distributed is not installed; "
                         "pip install 'dask[distributed]'") from None
    check_scheduler_answers(address)
    timeout = f"{limits.SCHEDULER_TIMEOUT:g}s"
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except OSError as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address} ({exc}); check the "
                         "address") from None
    with client:
        futures = [client.submit(_run_remote, compiled, key, chunk, axis, out_slots, check,
                                 pure=False)
                   for chunk in chunks]
        return client.gather(futures)


def check_scheduler_answers(address: str, argument: str = "scheduler") -> None:
    """Refuse ``address`` unless a Dask scheduler with workers answers there within
    :data:`~sd_runner.inputs.limits.SCHEDULER_TIMEOUT` seconds.

    Dask's own client waits without end for a server that accepts and stays silent, and
    allocates whatever length a server that writes something else announces; this asks the
    scheduler who it is first, under a deadline, in a thread of its own (a notebook's event
    loop may be running in this one).
    """
    host, port = limits.check_scheduler(argument, address)
    timeout = limits.SCHEDULER_TIMEOUT
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise ArgumentError(argument, address, f"nothing answers there ({exc.strerror or exc})"
                            "; start the scheduler or check the address") from None
    answer: dict = {}
    thread = threading.Thread(target=_ask_identity, args=(address, timeout, answer),
                              daemon=True)
    thread.start()
    thread.join(timeout)
    reply = answer.get("reply")
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise ArgumentError(argument, address, f"no Dask scheduler answered within "
                            f"{timeout:g} s; check the address and that a scheduler runs there")
    if not reply.get("workers"):
        raise ArgumentError(argument, address, "the Dask scheduler there has no workers; "
                            f"start some (dask worker {address}) and try again")


def _ask_identity(address: str, timeout: float, answer: dict) -> None:
    import asyncio

    from distributed.comm import connect

    async def ask():
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    try:
        answer["reply"] = asyncio.run(asyncio.wait_for(ask(), timeout))
    except Exception:  # noqa: BLE001 - whatever the server sent, it is not a scheduler
        pass
