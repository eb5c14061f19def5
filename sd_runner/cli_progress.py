"""The command line's side of the progress protocol (:mod:`sd_runner.progress`): bars on
standard error."""

from __future__ import annotations

import sys

import click


class Bars:
    """The CLI's side of the progress protocol (:mod:`sd_runner.progress`): one click bar per
    stage on standard error, where a stage ends when the next begins (where standard error is
    not a terminal, click writes each stage's line alone)."""

    def __init__(self):
        self.stage, self.bar, self.done = None, None, 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self._close(finished=True)
            self.stage, self.done = stage, 0
            self.bar = click.progressbar(length=max(total, 1), label=stage, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def _close(self, finished: bool) -> None:
        if self.bar is not None:
            if finished:
                self.bar.update(self.bar.length - self.done)
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, kind, *_):
        self._close(finished=kind is None)
