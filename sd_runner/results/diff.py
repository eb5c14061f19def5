"""What ``sd-runner diff`` finds between two versions of the model, as plain data:
:mod:`sd_runner.validation.diff` computes it, :mod:`sd_runner.reports.diff` writes it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Version:
    """One side of a diff, as the reports name it.

    ``fit`` is ``"calibrated"``, ``"uncalibrated"`` or ``"fit"`` (one given); ``fit_sha256``
    the sha256 of its parameters file (empty when uncalibrated); ``fit_not_applied`` the
    fit's parameters the ``.mdl`` has no constant for.
    """

    role: str
    label: str
    model_file: str
    sha256: str
    fit: str
    fit_sha256: str = ""
    fit_not_applied: tuple[str, ...] = ()


@dataclass(frozen=True)
class Move:
    """A key outcome of one matrix member and cluster that moves beyond the threshold.

    ``time`` is when the move is largest; ``old`` and ``new`` are the values then; ``size`` is
    the move's magnitude over ``scale``, the series' largest magnitude in either version (not
    less than the floor).
    """

    member: str
    outcome: str
    cluster: str
    time: float
    old: float
    new: float
    size: float
    scale: float

    @property
    def difference(self) -> float:
        return self.new - self.old


@dataclass(frozen=True)
class ValueChange:
    """A constant (one element) or time control whose value differs; ``None``: absent."""

    name: str
    old: float | None
    new: float | None


@dataclass(frozen=True)
class DefinitionChange:
    """A variable whose equation, units or declared range the ``.mdl`` text changes."""

    name: str
    aspects: tuple[str, ...]


@dataclass(frozen=True)
class NotCompared:
    """A matrix member that cannot be run in one version or both, and why (``None``: ran)."""

    member: str
    old: str | None
    new: str | None

    @property
    def one_sided(self) -> bool:
        """Whether it runs in one version only: a difference between the versions."""
        return (self.old is None) != (self.new is None)


@dataclass(frozen=True)
class Trajectory:
    """A moved series over the common saved times, for the charts."""

    member: str
    outcome: str
    cluster: str
    times: tuple[float, ...]
    old: tuple[float, ...]
    new: tuple[float, ...]


@dataclass(frozen=True)
class ModelDiff:
    """Everything ``sd-runner diff`` found (see the module docstring).

    Attributes
    ----------
    old, new : Version
        The two versions.
    threshold, floor : float
        A move counts when it exceeds ``threshold`` times its series' scale, which is never
        taken below ``floor``.
    members : tuple of str
        The matrix members compared.
    series_compared : int
        Member, outcome and cluster series compared.
    moves : tuple of Move
        Every series that moves beyond the threshold, the largest first.
    not_compared : tuple of NotCompared
        Members not run in one version or both, and why.
    outcome_columns_only : dict
        ``"old"``/``"new"`` -> key outcome columns (``"Margin[Apparel]"``) only that version has.
    variables_added, variables_removed : tuple of str
    definitions_changed : tuple of DefinitionChange
    constants_changed : tuple of ValueChange
        Constants whose value as runs use it (the ``.mdl``'s, or the fit's) differs.
    constants_masked : tuple of ValueChange
        Constants whose ``.mdl`` value differs but which the fit sets alike in both versions,
        so that no run sees the change.
    controls_changed : tuple of ValueChange
        Time controls that differ (moves are compared over the saved times both have).
    trajectories : tuple of Trajectory
        Moves over time for the charts: the largest of each outcome, then the next largest,
        :data:`~sd_runner.validation.diff.CHARTED` in all.
    """

    old: Version
    new: Version
    threshold: float
    floor: float
    members: tuple[str, ...]
    series_compared: int
    moves: tuple[Move, ...]
    not_compared: tuple[NotCompared, ...]
    outcome_columns_only: dict[str, tuple[str, ...]]
    variables_added: tuple[str, ...]
    variables_removed: tuple[str, ...]
    definitions_changed: tuple[DefinitionChange, ...]
    constants_changed: tuple[ValueChange, ...]
    constants_masked: tuple[ValueChange, ...]
    controls_changed: tuple[ValueChange, ...]
    trajectories: tuple[Trajectory, ...] = field(default=())

    @property
    def differs(self) -> bool:
        """Whether the versions' behaviour differs: an outcome moves beyond the threshold, a
        member runs in one version only, or a key outcome exists in one only."""
        return bool(self.moves or any(n.one_sided for n in self.not_compared)
                    or any(self.outcome_columns_only.values()))
