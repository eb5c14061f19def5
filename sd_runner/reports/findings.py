"""The comparison report's first section, the key findings: a sentence per headline outcome,
the longest worse-before-better dips, where margin and the money outcomes disagree, and one
small table of every scenario's effects with its ranks."""

from __future__ import annotations

import pandas as pd

from sd_runner.reports.findings_text import (
    SUMMARY_SHOWN,
    dip_groups,
    dip_sentences,
    disagreement_sentences,
    effect_sentences,
)
from sd_runner.reports.html_page import text
from sd_runner.reports.html_parts import format_difference, shown_decimals
from sd_runner.reports.outcome_info import OUTCOMES
from sd_runner.results.findings import Findings
from sd_runner.results.outcomes import TOTAL

#: Kept compact (under about 900 px at 1280 px wide): the section is the answer, the rest of
#: the report the evidence.
FINDINGS_CSS = """
#findings h2 { margin-top: 1.2em; }
#findings p { margin: 0.3em 0; }
#findings ul { margin: 0.3em 0 0.5em; padding-left: 1.4em; line-height: 1.35; }
#findings li { margin-bottom: 0.15em; }
#findings table { font-size: 0.86em; margin-top: 0.3em; }
#findings td:first-child { white-space: nowrap; }
#findings .rank { color: #666; }
"""


def findings_section(findings: Findings) -> str:
    """The section's HTML (``id="findings"``): escaped sentences, then the table."""
    parts = ['<section id="findings">', "<h2>Key findings</h2>"]
    if findings.effects.empty:
        parts += ["<p>No scenario besides the reference to compare.</p>", "</section>"]
        return "\n".join(parts)
    sets = (f"; 5–95 % intervals and the share of sets doing better over {findings.members} "
            "parameter sets" if findings.members else "")
    parts.append(f'<p class="meta">Effects in {findings.year} against '
                 f"<strong>{text(findings.reference)}</strong>, per cluster and over all "
                 "clusters where the outcome sums; fractions' differences in percentage points "
                 f"(pp){text(sets)}.</p>")
    items = [("", sentence, "") for sentence in effect_sentences(findings)]
    items += [("Worse before better.", sentence, title) for sentence, title in zip(
        dip_sentences(findings, SUMMARY_SHOWN), _dip_titles(findings), strict=True)]
    items += [("Margin against money.", sentence, "")
              for sentence in disagreement_sentences(findings, SUMMARY_SHOWN)]
    parts += [_list(items), _effect_table(findings), "</section>"]
    return "\n".join(parts)


def _list(items: list[tuple[str, str, str]]) -> str:
    """``<ul>`` of sentences, each after its bold lead and with its tooltip (if any)."""
    rows = []
    for lead, sentence, title in items:
        attribute = f' title="{text(title)}"' if title else ""
        bold = f"<strong>{text(lead)}</strong> " if lead else ""
        # The plain text's ASCII arrows and ranges, typeset.
        arrows = text(sentence).replace(" -&gt; ", " → ").replace("5-95 %", "5–95 %")
        rows.append(f"<li{attribute}>{bold}{arrows}</li>")
    return "<ul>\n" + "\n".join(rows) + "\n</ul>"


def _dip_titles(findings: Findings) -> list[str]:
    """Each dip sentence's tooltip: how many dips there are, what a loop share is and the ids
    of the loops named, those of the group's deepest dip."""
    groups = dip_groups(findings)
    titles = []
    for dips in groups[:SUMMARY_SHOWN]:
        deepest = max(dips, key=lambda d: abs(d.depth))
        title = (f"One of the {len(groups)} scenarios and outcomes with a dip, the longest "
                 "first; the JSON output (--json) lists every cluster's dip.")
        if deepest.loops:
            ids = "; ".join(f"{shift.label}: {shift.loop}" for shift in deepest.loops)
            title += (" Loop shares: each loop's mean relative score over the dip, in the "
                      f"reference's run and the scenario's. Loops: {ids}.")
        titles.append(title)
    return titles


def _effect_table(findings: Findings) -> str:
    """A row per scenario, a column per outcome: the effect (over all clusters where the
    outcome sums, else its range over the clusters) and the rank among the scenarios."""
    effects = findings.effects
    outcomes = list(dict.fromkeys(effects["outcome"]))
    scenarios = list(dict.fromkeys(effects["scenario"]))
    head = "".join(f'<th title="{text(_unit(outcome))}">{text(outcome)}</th>'
                   for outcome in outcomes)
    units = sorted({_unit(outcome) for outcome in outcomes} - {"pp"})
    decimals = {outcome: shown_decimals(list(_shown(effects[effects["outcome"] == outcome])[
        "difference"])) for outcome in outcomes}
    rows = []
    for scenario in scenarios:
        cells = "".join(_cell(effects[(effects["scenario"] == scenario)
                                      & (effects["outcome"] == outcome)], outcome,
                              decimals[outcome])
                        for outcome in outcomes)
        rows.append(f"<tr><td>{text(scenario)}</td>{cells}</tr>")
    others = f", the others in {text(' or '.join(units))}" if units else ""
    return (f'<p class="meta">Effects of fractions in pp{others}: summed over the clusters '
            "or their range; (rank), 1 the best; green better than the reference, red worse. "
            "Hover a cell for each cluster.</p>"
            f"<table><thead><tr><th>Scenario</th>{head}</tr></thead>"
            f"<tbody>\n{chr(10).join(rows)}\n</tbody></table>")


def _shown(rows: pd.DataFrame) -> pd.DataFrame:
    """The all-cluster rows where the outcome sums, else the clusters'."""
    total = rows["cluster"] == TOTAL
    return rows[total] if total.any() else rows


def _unit(outcome: str) -> str:
    """The unit of the outcome's differences: pp for a fraction."""
    info = OUTCOMES.get(outcome)
    if info is None:
        return ""
    return "pp" if info.fraction else info.unit


def _cell(rows: pd.DataFrame, outcome: str, decimals: int) -> str:
    fraction = bool(OUTCOMES.get(outcome) and OUTCOMES[outcome].fraction)
    decimals = 1 if fraction else decimals
    shown = _shown(rows)
    low, high = (format_difference(v, fraction, decimals).removesuffix(" pp")
                 for v in (shown["difference"].min(), shown["difference"].max()))
    ranks = sorted({int(r) for r in shown["rank"]})
    rank = str(ranks[0]) if len(ranks) == 1 else f"{ranks[0]}–{ranks[-1]}"
    kind = {frozenset({1}): "better", frozenset({-1}): "worse"}.get(
        frozenset(shown["sign"]), "")
    title = "; ".join(f"{r.cluster} {format_difference(r.difference, fraction, decimals)}"
                      + _interval(r, fraction, decimals) for r in rows.itertuples())
    value = low if low == high else f"{low} to {high}"
    return (f'<td class="num {kind}" title="{text(title)}">{text(value)} '
            f'<span class="rank">({rank})</span></td>')


def _interval(row, fraction: bool, decimals: int) -> str:
    if pd.isna(row.p05):
        return ""
    low, high = (format_difference(v, fraction, decimals) for v in (row.p05, row.p95))
    return f" (5–95 %: {low} to {high}, better in {row.probability * 100:.0f} % of sets)"
