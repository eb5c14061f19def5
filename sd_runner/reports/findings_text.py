"""The key findings in words: a sentence per headline outcome, per worse-before-better dip and
per disagreement of margin with the money outcomes, with every number read from the findings
and shown in its unit (fractions' differences in percentage points, money in its unit)."""

from __future__ import annotations

import textwrap

import pandas as pd

from sd_runner.reports.html_parts import format_difference, shown_decimals, unsigned_zero
from sd_runner.reports.outcome_info import OUTCOMES
from sd_runner.results.findings import MARGIN, Dip, Findings
from sd_runner.results.outcomes import BETTER, TOTAL

#: Dips and disagreements the summary and the report put into words (grouped by scenario and
#: outcome: the longest dips, the first disagreements), to keep the summary to about 25 lines
#: and the report's section short; the JSON has every sentence.
SUMMARY_SHOWN = 2

#: Loops named per dip in words (the JSON has :data:`~sd_runner.results.findings.DIP_LOOPS`).
LOOPS_NAMED = 2

#: Width of the plain-text summary.
WIDTH = 100


def findings_summary(findings: Findings) -> str:
    """Plain text: the effect sentences, then the longest dips and the disagreements."""
    if findings.effects.empty:
        return ("Key findings: none, since the comparison has no scenario besides the "
                "reference (or no outcome table).")
    sets = (f"; 5-95 % intervals over {findings.members} parameter sets"
            if findings.members else "")
    lines = [f"Key findings: effects in {findings.year} against {findings.reference}{sets}"]
    lines += _bullets(effect_sentences(findings))
    dips = dip_sentences(findings, SUMMARY_SHOWN)
    if dips:
        groups = len(dip_groups(findings))
        more = f"; the {len(dips)} longest of {groups} (--json lists all)" \
            if groups > len(dips) else ""
        lines.append(f"Worse before better, after the levers start{more}:")
        lines += _bullets(dips)
    disagreements = disagreement_sentences(findings, SUMMARY_SHOWN)
    if disagreements:
        lines.append("Where margin and the money outcomes disagree:")
        lines += _bullets(disagreements)
    return "\n".join(lines)


def headlines(findings: Findings) -> dict[str, list[str]]:
    """Every sentence, by kind: ``effects``, ``dips`` (all groups) and ``disagreements``
    (all)."""
    return {"effects": effect_sentences(findings),
            "dips": dip_sentences(findings, len(findings.dips)),
            "disagreements": disagreement_sentences(findings, len(findings.disagreements))}


def _bullets(sentences: list[str]) -> list[str]:
    # Not at hyphens: scenario names have them.
    return [textwrap.fill(sentence, WIDTH, initial_indent="- ", subsequent_indent="  ",
                          break_on_hyphens=False) for sentence in sentences]


# -------------------------------------------------------------------------------- effects


def effect_sentences(findings: Findings) -> list[str]:
    """One sentence per ranked headline outcome: which scenario improves it most (per cluster,
    or over all clusters where the outcome sums), the best single lever, and which scenarios
    do worse than the reference."""
    effects = findings.effects
    sentences = []
    for outcome, rows in effects.groupby("outcome", sort=False):
        scope = rows[rows["cluster"] == TOTAL] if (rows["cluster"] == TOTAL).any() else rows
        clusters = list(dict.fromkeys(rows.loc[rows["cluster"] != TOTAL, "cluster"]))
        verb = "raises" if BETTER[outcome] > 0 else "lowers"
        top = scope[scope["rank"] == 1].drop_duplicates("cluster")
        parts = []
        for (scenario, better), group in top.groupby(["scenario", top["sign"] > 0], sort=False):
            if better:
                parts.append(f"{scenario} {verb} it most{_where(group, clusters)} "
                             f"({_amounts(outcome, group, findings.members)})")
            else:
                parts.append(f"no scenario {verb} it{_where(group, clusters)}; {scenario} "
                             f"does least harm ({_amounts(outcome, group, findings.members)})")
        single = _best_single(findings, outcome, scope, clusters)
        if single:
            parts.append(single)
        worse = _worse(scope, clusters)
        if worse:
            parts.append(f"worse than {findings.reference}: {worse}")
        leaders = _other_leaders(rows, top, clusters)
        if leaders:
            parts.insert(1, leaders)
        place = " over all clusters" if list(scope["cluster"].unique()) == [TOTAL] else ""
        sentences.append(f"{outcome}{place}: " + "; ".join(parts) + ".")
    return sentences


def _other_leaders(rows: pd.DataFrame, top: pd.DataFrame, clusters: list[str]) -> str:
    """For an outcome ranked over all clusters, the clusters where another scenario leads."""
    if list(top["cluster"]) != [TOTAL]:
        return ""
    leading = rows[(rows["rank"] == 1) & (rows["cluster"] != TOTAL)
                   & ~rows["scenario"].isin(top["scenario"])].drop_duplicates("cluster")
    return ", ".join(f"{scenario} leads{_where(group, clusters)}"
                     for scenario, group in leading.groupby("scenario", sort=False))


def _best_single(findings: Findings, outcome: str, scope: pd.DataFrame,
                 clusters: list[str]) -> str:
    """The best single lever, where it is not already the best scenario and mixes exist."""
    best = findings.best[(findings.best["outcome"] == outcome)
                         & findings.best["cluster"].isin(set(scope["cluster"]))]
    if best.empty or (best["best_single"] == "").any() or (best["best_mix"] == "").all():
        return ""
    parts = []
    for scenario, group in best.groupby("best_single", sort=False):
        rows = scope[(scope["scenario"] == scenario) & scope["cluster"].isin(group["cluster"])]
        if (group["best"] == scenario).all():
            parts.append(f"{scenario}, a single lever, beats every mix{_where(rows, clusters)}")
        else:
            parts.append(f"{scenario} is the best single lever{_where(rows, clusters)} "
                         f"({_amounts(outcome, rows, 0, with_unit=False)})")
    return "; ".join(parts)


def _worse(scope: pd.DataFrame, clusters: list[str]) -> str:
    """``a and b in every cluster, c in Textile``: the scenarios doing worse, by where."""
    worse = scope[scope["sign"] < 0]
    places: dict[str, list[str]] = {}
    for scenario, group in worse.groupby("scenario", sort=False):
        places.setdefault(_where(group, clusters), []).append(scenario)
    return ", ".join(f"{_listed(names)}{where}" for where, names in places.items())


def _where(rows: pd.DataFrame, clusters: list[str]) -> str:
    """`` in every cluster`` or `` in A, B and C``; nothing for all clusters together (the
    sentence says so once)."""
    chosen = list(dict.fromkeys(rows["cluster"]))
    if chosen == [TOTAL]:
        return ""
    if len(clusters) > 1 and set(chosen) == set(clusters):
        return " in every cluster"
    return " in " + _listed(chosen)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _amounts(outcome: str, rows: pd.DataFrame, members: int, with_unit: bool = True) -> str:
    """The differences (a range over clusters) in their unit (percentage points for a
    fraction, whatever ``with_unit``), and with parameter sets the 5-95 % range of the effects
    and the least probability of doing better."""
    fraction, unit = _unit(outcome)
    text = _range(list(rows["difference"]), fraction)
    text += f", in {unit}" if with_unit and not fraction else ""
    if members and rows["p05"].notna().all():
        interval = _range([rows["p05"].min(), rows["p95"].max()], fraction)
        shares = rows["probability"]
        share = "" if shares.isna().any() else (
            f", better in {'at least ' if shares.nunique() > 1 else ''}"
            f"{shares.min() * 100:.0f} % of sets")
        text += f"; 5-95 %: {interval}{share}"
    return text


def _range(values: list[float], fraction: bool) -> str:
    """``+1.3 pp``, or ``+1.3 to +1.6 pp`` over several values."""
    decimals = 1 if fraction else shown_decimals(values)
    low, high = (format_difference(v, fraction, decimals) for v in (min(values), max(values)))
    if low == high:
        return low
    return f"{low.removesuffix(' pp')} to {high}"


def _unit(outcome: str) -> tuple[bool, str]:
    info = OUTCOMES.get(outcome)
    return bool(info and info.fraction), info.unit if info else ""


# ----------------------------------------------------------------------------------- dips


def dip_sentences(findings: Findings, shown: int = SUMMARY_SHOWN) -> list[str]:
    """The longest worse-before-better dips, one sentence per scenario and outcome over the
    clusters where it dips: when it is worse, how deep, and the loops behind the deepest."""
    clusters = [c for c in dict.fromkeys(findings.effects["cluster"]) if c != TOTAL]
    sentences = []
    for dips in dip_groups(findings)[:shown]:
        scenario, outcome = dips[0].scenario, dips[0].outcome
        fraction, unit = _unit(outcome)
        deepest = max(dips, key=lambda d: abs(d.depth))
        rows = pd.DataFrame({"cluster": [d.cluster for d in dips]})
        starts = _years([d.start for d in dips])
        ends = _years([d.end for d in dips])
        depth = format_difference(deepest.depth, fraction,
                                  1 if fraction else shown_decimals([deepest.depth]))
        sentence = (f"{scenario}, {outcome.lower()}: worse than {findings.reference} "
                    f"{starts} to {ends}, then better{_where(rows, clusters)}; at worst "
                    f"{depth}{'' if fraction else f' ({unit})'} in {deepest.cluster} in "
                    f"{_year(deepest.depth_year)}")
        loops = loop_phrase(deepest)
        if loops:
            sentence += f"; loop shares there ({findings.reference} -> {scenario}): {loops}"
        sentences.append(sentence + ".")
    return sentences


def dip_groups(findings: Findings) -> list[list[Dip]]:
    """The dips by scenario and outcome, the group with the longest dip first."""
    groups: dict[tuple[str, str], list[Dip]] = {}
    for dip in findings.dips:
        groups.setdefault((dip.scenario, dip.outcome), []).append(dip)
    return sorted(groups.values(), key=lambda dips: -max(d.years for d in dips))


def _years(years: list[float]) -> str:
    low, high = _year(min(years)), _year(max(years))
    return low if low == high else f"{low}-{high}"


def _year(year: float) -> str:
    """A year to a tenth, ``2016`` rather than ``2016.0``."""
    return f"{year:.1f}".removesuffix(".0")


def loop_phrase(dip: Dip, named: int = LOOPS_NAMED) -> str:
    """``R10 escape from capture 17 % -> 0 %, ...``: the loops whose mean relative score over
    the dip moves most from the reference's (reference -> scenario)."""
    parts = []
    for shift in dip.loops[:named]:
        decimals = 0 if abs(shift.change) >= 0.02 else 1  # a small change still shows
        parts.append(f"{shift.label} {_percent(shift.reference, decimals)} -> "
                     f"{_percent(shift.value, decimals)}")
    return ", ".join(parts)


def _percent(share: float, decimals: int) -> str:
    return f"{unsigned_zero(share * 100, decimals):.{decimals}f} %"


# -------------------------------------------------------------------------- disagreements


def disagreement_sentences(findings: Findings, shown: int = SUMMARY_SHOWN) -> list[str]:
    """``own-brand lowers margin but raises value added in ...``: one sentence per scenario,
    money outcome and direction, over the clusters where it holds."""
    groups: dict[tuple, list] = {}
    for found in findings.disagreements:
        key = (found.scenario, found.outcome, found.margin > 0)
        groups.setdefault(key, []).append(found)
    clusters = [c for c in dict.fromkeys(findings.effects["cluster"]) if c != TOTAL]
    sentences = []
    for (scenario, outcome, up), found in list(groups.items())[:shown]:
        rows = pd.DataFrame({"cluster": [f.cluster for f in found]})
        margin = _range([f.margin for f in found], True)
        _, unit = _unit(outcome)
        other = _range([f.difference for f in found], False)
        sentences.append(
            f"{scenario} {'raises' if up else 'lowers'} {MARGIN.lower()} but "
            f"{'lowers' if up else 'raises'} {outcome.lower()}{_where(rows, clusters)} "
            f"({margin} against {other}, in {unit}).")
    return sentences
