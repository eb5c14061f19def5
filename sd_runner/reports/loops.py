"""The feedback-loop section of the comparison report: dominant loops per scenario and
cluster, how each lever shifts them, and relative loop scores over time as stacked areas."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from sd_runner.reports.html_page import plotly_text, slug, text
from sd_runner.results.loop_scores import LoopComparison
from sd_runner.results.loops import Loop

#: Loops drawn one by one per cluster (the strongest); the rest are summed by sign.
LOOPS_DRAWN = 8

#: Colours of loops drawn, given by the loops' strength over the whole comparison, so a loop
#: keeps its colour in every cluster's figure.
_LOOP_COLOURS = tuple(qualitative.D3 + qualitative.Dark24 + qualitative.Light24)
_OTHER = {"R": ("other reinforcing loops", "#c7d9ec"), "B": ("other balancing loops", "#f2c7c7")}


def loop_section(loops: LoopComparison) -> str:
    """The section's HTML (``id="loops"``)."""
    by_id = {loop.id: loop for loop in loops.loops}
    found = ("every loop of the model" if loops.method == "exhaustive" else
             "the loops the strongest-path search (Eberlein and Schoenberg 2020) finds: the "
             "model has too many to list all")
    parts = [
        '<section id="loops">',
        "<h2>Feedback loops: which drive each cluster, and when</h2>",
        ("<p>Loops That Matter (Schoenberg, Davidsen and Eberlein 2020; flow-to-stock scores "
         "as corrected in Schoenberg, Hayward and Eberlein 2023): at every TIME STEP each "
         "loop's score is the product of its links' scores, and its <em>relative</em> score "
         "its share of the summed absolute scores of the cluster's loops, positive for a loop "
         "acting as reinforcing, negative for balancing. "
         f"{len(loops.loops)} loops are scored ({text(found)}). A group of loops "
         "<em>dominates</em> a window of "
         f"{loops.window:g} years when, taken strongest first, the loops of one polarity reach "
         "half the total with a larger share than the other polarity's; consecutive windows "
         "with the same group merge. Codes R1, B5, ... are the named loops described under "
         '<a href="#model">The model</a>; other loops go by their identifier '
         "(<code>loops.csv</code> of <code>--out</code> and <code>sd-runner loops</code> list "
         "every loop with its variables).</p>"),
        _dominance_tables(loops, by_id),
        _shift_table(loops, by_id),
        "<h3>Relative loop scores over time</h3>",
        (f"<p>Mean relative scores over each {loops.interval:g}-year interval, stacked: "
         "reinforcing above zero, balancing below. Per cluster, the "
         f"{LOOPS_DRAWN} loops strongest on average over the scenarios are drawn one by one; "
         "the others are summed by sign.</p>"),
    ]
    scores = loops.relative_scores()
    ranking = (scores.assign(size=scores["relative"].abs()).groupby("loop")["size"].mean()
               .sort_values(ascending=False, kind="stable").index)
    colours = {loop: _LOOP_COLOURS[rank % len(_LOOP_COLOURS)]
               for rank, loop in enumerate(ranking)}
    for cluster in loops.clusters:
        parts.append(f'<h4 id="loops-{slug(_place(cluster))}">{text(_place(cluster))}</h4>')
        figure = _stacked_figure(loops, scores, cluster, by_id, colours)
        parts.append(figure.to_html(full_html=False, include_plotlyjs=False,
                                    div_id=f"fig-loops-{slug(_place(cluster))}",
                                    config={"displaylogo": False, "responsive": True}))
    parts.append("</section>")
    return "\n".join(parts)


def _label(loop: Loop) -> str:
    return loop.name or loop.id


def _place(cluster: str) -> str:
    """Loops through variables without a cluster subscript are the province's."""
    return cluster or "Province-wide"


def _years(start: float, end: float) -> str:
    return f"{start:g}-{end:g}"


def _dominance_tables(loops: LoopComparison, by_id: dict[str, Loop]) -> str:
    table = loops.dominance()
    parts = ["<h3>Dominant loops</h3>"]
    for cluster in loops.clusters:
        rows = []
        for entry in loops.scenarios:
            mine = table[(table["scenario"] == entry.scenario.name)
                         & (table["cluster"] == cluster)]
            items = "".join(
                f"<li>{_years(row.start, row.end)} <strong>{text(row.polarity)}</strong> "
                f"({row.share:.0%}): "
                f"{', '.join(text(_label(by_id[i])) for i in row.loops.split())}</li>"
                for row in mine.itertuples())
            rows.append(f"<tr><td><strong>{text(entry.scenario.name)}</strong></td>"
                        f"<td><ul>{items}</ul></td></tr>")
        parts.append(f"<h4>{text(_place(cluster))}</h4><table><thead><tr><th>Scenario</th>"
                     "<th>Years, dominating polarity (share): loops, strongest first</th></tr>"
                     f"</thead><tbody>{''.join(rows)}</tbody></table>")
    return "\n".join(parts)


def _shift_table(loops: LoopComparison, by_id: dict[str, Loop]) -> str:
    shifts = loops.shifts()
    reference = loops.scenarios[0].scenario.name
    if shifts.empty:
        return ""
    rows = []
    for row in shifts.itertuples():
        rows.append(
            f"<tr><td>{text(row.scenario)}</td><td>{text(_place(row.cluster))}</td>"
            f'<td class="num">{row.since:g}</td><td>{text(_label(by_id[row.loop]))}</td>'
            f'<td class="num">{row.reference:+.1%}</td><td class="num">{row.value:+.1%}</td>'
            f'<td class="num">{100 * row.change:+.1f}</td></tr>')
    return "\n".join([
        "<h3>How each scenario shifts the loops</h3>",
        (f"<p>Per scenario and cluster, the loops whose mean relative score, from the "
         f"scenario's first lever to the end of the run, differs most from "
         f"<strong>{text(reference)}</strong>'s over the same years.</p>"),
        "<table><thead><tr><th>Scenario</th><th>Cluster</th><th>From</th><th>Loop</th>"
        f"<th>{text(reference)}</th><th>Scenario</th><th>Change (points)</th></tr></thead>",
        f"<tbody>{''.join(rows)}</tbody></table>",
    ])


def _stacked_figure(loops: LoopComparison, scores, cluster: str, by_id: dict[str, Loop],
                    colours: dict[str, str]) -> go.Figure:
    table = scores[scores["cluster"] == cluster]
    strength = (table.assign(size=table["relative"].abs())
                .groupby("loop")["size"].mean().sort_values(ascending=False, kind="stable"))
    drawn = list(strength.index[:LOOPS_DRAWN])
    names = [entry.scenario.name for entry in loops.scenarios]
    figure = make_subplots(rows=len(names), cols=1, shared_xaxes=True,
                           subplot_titles=[plotly_text(n) for n in names],
                           vertical_spacing=min(0.08, 0.3 / max(1, len(names))))
    for row, name in enumerate(names, start=1):
        mine = table[table["scenario"] == name]
        wide = mine.pivot_table(index="time", columns="loop", values="relative", sort=True)
        series = [(_label(by_id[loop]), colours[loop],
                   wide[loop] if loop in wide else None) for loop in drawn]
        rest = wide.drop(columns=[c for c in drawn if c in wide])
        for sign, key in ((1, "R"), (-1, "B")):
            part = rest.clip(lower=0) if sign > 0 else rest.clip(upper=0)
            series.append((*_OTHER[key], part.sum(axis=1)))
        for label, colour, values in series:
            if values is None:
                continue
            for group, part in (("up", values.clip(lower=0)), ("down", values.clip(upper=0))):
                if not part.any():
                    continue
                figure.add_trace(go.Scatter(
                    x=part.index.to_numpy(dtype=float), y=part.to_numpy(dtype=float),
                    mode="lines", stackgroup=f"{group}{row}", name=plotly_text(label),
                    legendgroup=label, showlegend=False, line={"width": 0.5, "color": colour},
                    fillcolor=colour, hovertemplate="%{y:.1%}"), row=row, col=1)
    # One legend entry per loop, however many panels draw it.
    seen = set()
    for trace in figure.data:
        if trace.legendgroup not in seen:
            trace.showlegend = True
            seen.add(trace.legendgroup)
    figure.update_yaxes(range=[-1, 1], tickformat=".0%", title_text="relative score",
                        title_font_size=10)
    figure.update_xaxes(showticklabels=True)
    figure.update_layout(template="plotly_white", height=190 * len(names) + 120,
                         margin={"l": 70, "r": 20, "t": 40, "b": 40}, hovermode="x unified",
                         legend={"orientation": "h", "x": 0, "y": -0.02, "yanchor": "top"})
    return figure
