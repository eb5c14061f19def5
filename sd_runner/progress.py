"""The library's one progress protocol: ``progress(stage, done, total)``.

Every long call of :mod:`sd_runner.api` (``run``, ``compare``, ``calibrate``, ``sensitivity``,
``lever_ranks``, ``diff``, ``check``) takes a ``progress`` callable and calls it with

``stage``
    what is being done, a phrase a person reads ("fitting", "running baseline (1/8, fast
    engine, calibrated)"); a new phrase starts a new stage and ends the one before;
``done``, ``total``
    units of the stage finished so far and in all (model runs, generations, steps). A stage
    of one step is reported once, as ``(stage, 0, 1)``, when it starts.

The command line draws one bar per stage on standard error; a caller that wants nothing
passes nothing (:func:`quiet`).
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]


def quiet(stage: str, done: int, total: int) -> None:
    """The progress that shows nothing: the default of every call."""


def step(progress: Progress, stage: str) -> None:
    """Report the start of ``stage``, a stage of one step."""
    progress(stage, 0, 1)
