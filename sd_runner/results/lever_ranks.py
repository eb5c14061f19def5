"""Policy sensitivity results: how likely each lever is to take each rank, per outcome and
cluster, and the tables and text read from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd_runner.results.uncertainty import ExcludedSet


@dataclass(frozen=True)
class RankDistribution:
    """How the levers rank by one outcome in one cluster (or :data:`TOTAL`).

    Attributes
    ----------
    outcome, cluster : str
    probabilities : tuple of tuple of float
        ``[lever][rank - 1]``: the share of members in which the lever takes that rank (1 the
        best), levers in the paper's order.
    deterministic : tuple of str
        The levers best first at the full programme and the model's own values (the lever
        matrix at level 1), and ``deterministic_probability``, the share of members ranking
        them so.
    modal : tuple of str
        The ranking most members give, and ``modal_probability``, their share.
    ties : int
        Members in which two levers' effects are exactly equal.
    """

    outcome: str
    cluster: str
    probabilities: tuple[tuple[float, ...], ...]
    deterministic: tuple[str, ...]
    deterministic_probability: float
    modal: tuple[str, ...]
    modal_probability: float
    ties: int


@dataclass(frozen=True)
class LeverRanks:
    """Rank probabilities of the levers by every outcome of :data:`RANKED`.

    Attributes
    ----------
    levers : tuple of str
        Lever ids, in the paper's order.
    year : float
        The year the effects are taken in.
    members, kept : int
        Members drawn, and those used (the rest left a declared range: ``excluded``).
    seed : int
    sets : str
        What each member varies besides the policy factors.
    distributions : tuple of RankDistribution
        Per outcome, the clusters then :data:`TOTAL`.
    clipped : tuple of (str, float)
        Lever settings whose sampled value passed the setting's declared range and was set to
        its end, with the share of members where that happened.
    superseded : tuple of str
        Constants of the other parameter sets that a lever's cost multiplier varies instead.
    excluded : tuple of ExcludedSet
        Members left out, with the first run (scenario) and breach that left a range.
    """

    levers: tuple[str, ...]
    year: float
    members: int
    kept: int
    seed: int
    sets: str
    distributions: tuple[RankDistribution, ...]
    clipped: tuple[tuple[str, float], ...] = ()
    superseded: tuple[str, ...] = ()
    excluded: tuple[ExcludedSet, ...] = ()

    def distribution(self, outcome: str, cluster: str) -> RankDistribution:
        """The distribution of ``outcome`` in ``cluster`` (or :data:`TOTAL`)."""
        for found in self.distributions:
            if (found.outcome, found.cluster) == (outcome, cluster):
                return found
        raise KeyError((outcome, cluster))

    def table(self) -> pd.DataFrame:
        """One row per outcome, cluster and lever: ``deterministic_rank``,
        ``most_likely_rank`` and ``p_rank_1`` ... ``p_rank_n``."""
        rows = []
        for d in self.distributions:
            for lever, shares in zip(self.levers, d.probabilities, strict=True):
                rows.append({"outcome": d.outcome, "cluster": d.cluster, "lever": lever,
                             "deterministic_rank": d.deterministic.index(lever) + 1,
                             "most_likely_rank": int(np.argmax(shares)) + 1,
                             **{f"p_rank_{k}": p for k, p in enumerate(shares, start=1)}})
        return pd.DataFrame(rows)

    def csv(self) -> str:
        """:meth:`table` as CSV text."""
        return self.table().to_csv(index=False, lineterminator="\n")

    def as_json(self) -> dict:
        """Plain JSON data: settings, and per outcome and cluster the rank probabilities by
        lever, the deterministic and the modal ranking with their probabilities."""
        return {
            "levers": list(self.levers), "year": self.year, "members": self.members,
            "members_kept": self.kept, "seed": self.seed, "sets": self.sets,
            "clipped": dict(self.clipped), "superseded": list(self.superseded),
            "excluded_sets": [e.record() for e in self.excluded],
            "rankings": [{
                "outcome": d.outcome, "cluster": d.cluster,
                "probabilities": {lever: list(shares) for lever, shares
                                  in zip(self.levers, d.probabilities, strict=True)},
                "deterministic": list(d.deterministic),
                "deterministic_probability": d.deterministic_probability,
                "modal": list(d.modal), "modal_probability": d.modal_probability,
                "ties": d.ties} for d in self.distributions],
        }

    def summary(self) -> str:
        """Per outcome and cluster: the deterministic ranking and its probability, the modal
        one, and each lever's most likely rank with its probability."""
        lines = [f"{self.kept} of {self.members} members (seed {self.seed}; {self.sets}); "
                 f"levers ranked by their effect in {self.year:g}, 1 the best"]
        lines += [f"{name} passed its declared range in {share:.0%} of members: set to it"
                  for name, share in self.clipped]
        for d in self.distributions:
            likely = ", ".join(
                f"{lever} {int(np.argmax(s)) + 1} ({max(s):.0%})"
                for lever, s in sorted(zip(self.levers, d.probabilities, strict=True),
                                       key=lambda item: int(np.argmax(item[1]))))
            same = ("" if d.modal == d.deterministic
                    else f"; modal {' > '.join(d.modal)} ({d.modal_probability:.0%})")
            lines += ["", f"{d.outcome}, {d.cluster}: {' > '.join(d.deterministic)} holds in "
                      f"{d.deterministic_probability:.1%}{same}", f"  most likely: {likely}"]
        return "\n".join(lines)
