"""The feedback-loop section of the comparison report: a timeline of the loops that dominate
each cluster in each scenario, with the windows where a scenario's differ from the reference's
outlined; the full lists, the shifts and the relative scores over time behind closed
``<details>``."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sd_runner.reports.html_page import plotly_text, slug, text
from sd_runner.results.loop_scores import MIN_REPORTED, LoopComparison
from sd_runner.results.loops import Loop

#: Fill colours of loops: ten light tones of distinct hues (ColorBrewer Set3 less its grey, pale
#: yellow and pale green, with Set2's tan), unlike the saturated scenario colours
#: (html_parts.SCENARIO_COLOURS), so a loop is never taken for a scenario.
LOOP_COLOURS = ("#80b1d3", "#fb8072", "#b3de69", "#bebada", "#fdb462", "#8dd3c7", "#fccde5",
                "#ffed6f", "#bc80bd", "#e5c494")
#: Past the ten colours, loops take them again hatched, then dotted, then cross-hatched.
LOOP_HATCHES = ("", "/", ".", "x")
#: Loops summed by sign in the relative-score charts (light and dark grey, not in the palette).
OTHER_COLOURS = {"R": ("other reinforcing loops", "#dddddd"),
                 "B": ("other balancing loops", "#aaaaaa")}
#: Outline of the windows where a scenario's dominant loops are not the reference's.
DIFFERENCE_LINE = "#111111"

#: Loops drawn one by one per cluster in the relative-score charts (the strongest); the rest
#: are summed by sign.
LOOPS_DRAWN = 8
#: A scenario's relative-score chart is drawn when some loop's interval mean differs from the
#: reference's by more than this (10 percentage points); closer ones would repeat its chart.
SHOWN_DIFFERENCE = 0.10
#: Stocks named in an unnamed loop's label before "+ n more" (all of them if one more).
STOCKS_NAMED = 2
#: Loops named in a timeline bar's hover text before "+ n more".
HOVER_NAMES = 8
#: Width in pixels of the charts at the page's full width, and of a legend entry: its swatch
#: and gaps, and per character of its 11 px text (to leave the legend room above a chart).
_LEGEND_WIDTH, _LEGEND_ENTRY, _LEGEND_CHARACTER = 1100, 44, 6.0


def loop_section(loops: LoopComparison) -> str:
    """The section's HTML (``id="loops"``)."""
    table = loops.dominance()
    scores = loops.relative_scores()
    shifts = loops.shifts()
    shown = {*" ".join(table["loops"]).split(), *scores["loop"], *shifts["loop"]}
    labels = loop_labels([loop for loop in loops.loops if loop.id in shown])
    styles = loop_styles(table, scores)
    reference = loops.scenarios[0].scenario.name
    return "\n".join([
        '<section id="loops">',
        "<h2>Feedback loops: which drive each cluster, and when</h2>",
        _intro(loops),
        _plot(timeline_figure(loops, table, labels, styles), "fig-loop-dominance"),
        ('<p class="caption">Each bar is a period in which one group of loops dominates the '
         "cluster, filled as its strongest loop and lettered by the group's polarity "
         "(R reinforcing, B balancing). A black outline marks the years in which a scenario's "
         f"dominant loops are not those of <strong>{text(reference)}</strong> at the same "
         "time. Hover over a bar for the group's share and its loops.</p>"),
        _details("Dominant loops period by period, per cluster and scenario",
                 _dominance_lists(loops, table, labels)),
        _details("How each scenario shifts the loops: the loops whose relative score moves "
                 "most", _shift_table(loops, shifts, labels)),
        _details("Relative loop scores over time, per cluster",
                 _score_charts(loops, scores, labels, styles)),
        "</section>",
    ])


def _intro(loops: LoopComparison) -> str:
    found = ("every loop of the model" if loops.method == "exhaustive" else
             "those the strongest-path search of Eberlein and Schoenberg 2020 finds")
    return (
        "<p>Loops That Matter (Schoenberg, Davidsen and Eberlein 2020, with the flow-to-stock "
        "scores of Schoenberg, Hayward and Eberlein 2023): a loop's <em>relative</em> score is "
        "its share of the summed absolute scores of its cluster's loops, positive if it "
        "reinforces, negative if it balances. A group of loops <em>dominates</em> a "
        f"{loops.window:g}-year window when, strongest first, the loops of one polarity reach "
        "half the total with a larger share than the other polarity's; windows in a row with "
        f"the same group make one period. {len(loops.loops)} loops are scored ({text(found)}). "
        'R1, B5, ... are the named loops of <a href="#model">The model</a>, others are named '
        "by polarity and stocks (hover over a name for its identifier in "
        "<code>loops.csv</code>).</p>")


def _details(summary: str, body: str) -> str:
    if not body:
        return ""
    return f"<details><summary>{text(summary)}</summary>\n{body}\n</details>"


def _plot(figure: go.Figure, div_id: str) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                          config={"displaylogo": False, "responsive": True})


# ------------------------------------------------------------------------------ loop names


def loop_labels(loops: tuple[Loop, ...] | list[Loop]) -> dict[str, str]:
    """Every loop's label: its code and name if named, else its polarity and the stocks it
    passes through ("B loop through Brand Equity, R and D Capital + 2 more"). Unnamed loops
    that would share a label get a variable that sets them apart ("via ..."), then a number;
    the labels are told apart among ``loops`` only, so pass those a report shows."""
    labels = {loop.id: loop.name for loop in loops if loop.name}
    groups = [("", [loop for loop in loops if not loop.name])]
    for describe in (_short_label, _via_label):
        alike_groups = []
        for _, group in groups:
            for label, alike in _alike(group, describe).items():
                if len(alike) == 1:
                    labels[alike[0].id] = label
                else:
                    alike_groups.append((label, alike))
        groups = alike_groups
    for label, group in groups:
        for number, loop in enumerate(sorted(group, key=lambda loop: loop.id), start=1):
            labels[loop.id] = f"{label} (variant {number})"
    return labels


def _alike(loops: list[Loop], describe) -> dict[str, list[Loop]]:
    """``loops`` by their label ``describe(loop, loops)``."""
    groups: dict[str, list[Loop]] = {}
    for loop in loops:
        groups.setdefault(describe(loop, loops), []).append(loop)
    return groups


def _short_label(loop: Loop, alike: list[Loop]) -> str:
    stocks = _stocks(loop)
    if len(stocks) > STOCKS_NAMED + 1:
        return _kind(loop) + ", ".join(stocks[:STOCKS_NAMED]) + \
            f" + {len(stocks) - STOCKS_NAMED} more"
    return _kind(loop) + ", ".join(stocks)


def _via_label(loop: Loop, alike: list[Loop]) -> str:
    """With the variable on ``loop`` that the fewest of ``alike`` share."""
    others = [set(other.variables) for other in alike if other is not loop]
    rarest = min(loop.variables, key=lambda v: sum(v in other for other in others))
    return f"{_short_label(loop, alike)} via {rarest}"


def _kind(loop: Loop) -> str:
    return f"{loop.polarity} loop through " if loop.polarity in ("R", "B") else "Loop through "


def _stocks(loop: Loop) -> list[str]:
    return list(dict.fromkeys(loop.stocks)) or list(loop.variables)


def _name_html(loop_id: str, labels: dict[str, str]) -> str:
    """A loop's label, its identifier as the tooltip."""
    return f'<span title="{text(loop_id)}">{text(labels[loop_id])}</span>'


def _place(cluster: str) -> str:
    """Loops through variables without a cluster subscript are the province's."""
    return cluster or "Province-wide"


def _years(start: float, end: float) -> str:
    return f"{start:g}-{end:g}"


# --------------------------------------------------------------------------------- colours


@dataclass(frozen=True)
class LoopStyle:
    """How a loop is filled in every chart of the section."""

    colour: str
    hatch: str = ""

    def pattern(self) -> dict:
        """A plotly fill pattern (none if not hatched)."""
        if not self.hatch:
            return {"shape": ""}
        return {"shape": self.hatch, "fillmode": "overlay", "fgcolor": "#444444",
                "fgopacity": 0.7, "size": 6, "solidity": 0.25}


def loop_styles(table: pd.DataFrame, scores: pd.DataFrame) -> dict[str, LoopStyle]:
    """A style per loop that leads a dominant group or has a relative score, in the order the
    loops are seen most (years led, then mean strength), so those get the plain colours and a
    loop keeps its style in every cluster and chart."""
    led = (table.assign(leader=table["loops"].str.split().str[0],
                        years=table["end"] - table["start"])
           .groupby("leader")["years"].sum())
    strength = scores.assign(size=scores["relative"].abs()).groupby("loop")["size"].mean()
    order = sorted(set(led.index) | set(strength.index),
                   key=lambda loop: (-led.get(loop, 0.0), -strength.get(loop, 0.0), loop))
    count = len(LOOP_COLOURS)
    return {loop: LoopStyle(LOOP_COLOURS[rank % count],
                            LOOP_HATCHES[rank // count % len(LOOP_HATCHES)])
            for rank, loop in enumerate(order)}


# -------------------------------------------------------------------------------- timeline


@dataclass(frozen=True)
class _Bar:
    """One dominant period as the timeline draws it."""

    scenario: str
    start: float
    end: float
    polarity: str
    share: float
    loops: tuple[str, ...]


def _bars(table: pd.DataFrame, scenario: str, cluster: str) -> list[_Bar]:
    mine = table[(table["scenario"] == scenario) & (table["cluster"] == cluster)]
    return [_Bar(scenario, float(row.start), float(row.end), row.polarity, float(row.share),
                 tuple(row.loops.split())) for row in mine.itertuples()]


def differing_spans(bars: list[_Bar], reference: list[_Bar]) -> list[tuple[float, float]]:
    """The years in which ``bars`` and ``reference`` have different dominant loops (the same
    loops in another order count as the same), as merged ``(start, end)`` spans; a period
    that only one of them has differs."""
    edges = sorted({edge for bar in (*bars, *reference) for edge in (bar.start, bar.end)})
    spans: list[tuple[float, float]] = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        middle = (low + high) / 2
        ours, theirs = (_group_at(periods, middle) for periods in (bars, reference))
        if ours == theirs:
            continue
        if spans and spans[-1][1] == low:
            spans[-1] = (spans[-1][0], high)
        else:
            spans.append((low, high))
    return spans


def _group_at(bars: list[_Bar], time: float):
    for bar in bars:
        if bar.start < time < bar.end:
            return bar.polarity, frozenset(bar.loops)
    return None


def timeline_figure(loops: LoopComparison, table: pd.DataFrame, labels: dict[str, str],
                    styles: dict[str, LoopStyle]) -> go.Figure:
    """Dominant periods as horizontal bars: a panel per cluster side by side, a row per
    scenario (the reference at the top), each bar filled as its strongest loop."""
    names = [entry.scenario.name for entry in loops.scenarios]
    clusters = [c for c in loops.clusters if (table["cluster"] == c).any()] or loops.clusters
    figure = make_subplots(rows=1, cols=len(clusters), shared_yaxes=True,
                           horizontal_spacing=0.012,
                           subplot_titles=[plotly_text(_place(c)) for c in clusters])
    ranks = {loop: rank for rank, loop in enumerate(styles)}
    legend: set[str] = set()  # the loops (and outlines) the legend has
    for column, cluster in enumerate(clusters, start=1):
        reference = _bars(table, names[0], cluster)
        by_leader: dict[str, list[_Bar]] = {}
        for name in names:
            for bar in _bars(table, name, cluster):
                by_leader.setdefault(bar.loops[0], []).append(bar)
        for leader, bars in by_leader.items():
            trace = _bar_trace(bars, cluster, labels, styles[leader], leader not in legend)
            figure.add_trace(trace.update(legendrank=ranks[leader]), row=1, col=column)
            legend.add(leader)
        spans = [(name, span) for name in names[1:]
                 for span in differing_spans(_bars(table, name, cluster), reference)]
        if spans:
            figure.add_trace(_difference_trace(spans, names[0], "differs" not in legend),
                             row=1, col=column)
            legend.add("differs")
    times = loops.scenarios[0].scores.times
    _timeline_layout(figure, names, (float(times[0]), float(times[-1])))
    return figure


def _bar_trace(bars: list[_Bar], cluster: str, labels: dict[str, str], style: LoopStyle,
               first: bool) -> go.Bar:
    """The bars led by one loop, in one cluster's panel."""
    leader = bars[0].loops[0]
    return go.Bar(
        orientation="h", y=[bar.scenario for bar in bars],
        base=[bar.start for bar in bars], x=[bar.end - bar.start for bar in bars],
        width=0.8, name=plotly_text(labels[leader]), legendgroup=leader, showlegend=first,
        marker={"color": style.colour, "pattern": style.pattern(),
                "line": {"color": "#ffffff", "width": 1}},
        # The bars are narrow: the letter keeps its size rather than shrinking to fit.
        text=[bar.polarity for bar in bars], textposition="inside", constraintext="none",
        insidetextanchor="middle", textfont={"size": 9, "color": "#222222"},
        hovertext=[_hover(bar, cluster, labels) for bar in bars],
        hovertemplate="%{hovertext}<extra></extra>")


def _difference_trace(spans: list[tuple[str, tuple[float, float]]], reference: str,
                      first: bool) -> go.Bar:
    """Outlines, over the bars, of the years a scenario's dominant loops differ."""
    return go.Bar(
        orientation="h", y=[name for name, _ in spans],
        base=[start for _, (start, _) in spans], x=[end - start for _, (start, end) in spans],
        width=0.8, name=plotly_text(f"differs from {reference}"), legendgroup="differs",
        showlegend=first, legendrank=10_000, hoverinfo="skip",
        marker={"color": "rgba(0,0,0,0)", "line": {"color": DIFFERENCE_LINE, "width": 2.5}})


def _hover(bar: _Bar, cluster: str, labels: dict[str, str]) -> str:
    polarity = {"R": "reinforcing", "B": "balancing"}.get(bar.polarity, bar.polarity)
    named = [plotly_text(labels[i]) for i in bar.loops[:HOVER_NAMES]]
    if len(bar.loops) > HOVER_NAMES:
        named.append(f"+ {len(bar.loops) - HOVER_NAMES} more")
    ids = ", ".join(bar.loops[:HOVER_NAMES])
    return (f"<b>{plotly_text(bar.scenario)}</b>, {plotly_text(_place(cluster))}, "
            f"{_years(bar.start, bar.end)}<br>{polarity} loops dominate "
            f"({bar.share:.0%} of the total), strongest first:<br>" + "<br>".join(named)
            + f"<br><span style='font-size:10px'>ids: {ids}</span>")


def _timeline_layout(figure: go.Figure, names: list[str],
                     years: tuple[float, float]) -> None:
    figure.update_yaxes(categoryorder="array", categoryarray=names, autorange="reversed",
                        tickfont={"size": 11})
    figure.update_xaxes(range=list(years), dtick=10, tickfont={"size": 10})
    figure.update_annotations(font_size=12)
    figure.update_layout(template="plotly_white", barmode="overlay",
                         margin={"l": 10, "r": 10}, hoverlabel={"align": "left"})
    _legend_above(figure, plot_height=36 * len(names) + 10, bottom=25)


def _legend_above(figure: go.Figure, plot_height: int, bottom: int) -> None:
    """The legend in rows above the panels' titles, and the figure as tall as the panels
    need plus the rows the legend takes at the page's full width (plotly widens the margin
    where the page is narrower)."""
    rows, used = 1, 0.0
    for trace in figure.data:
        if trace.showlegend is not False:
            width = _LEGEND_ENTRY + _LEGEND_CHARACTER * len(trace.name)
            if used and used + width > _LEGEND_WIDTH:
                rows, used = rows + 1, 0.0
            used += width
    top = 19 * rows + 30
    figure.update_layout(
        height=plot_height + top + bottom, margin={"t": top, "b": bottom},
        # plotly gives a legend at the top at most half the figure, then scrolls it.
        legend={"orientation": "h", "x": 0, "y": 1 + 26 / plot_height, "yanchor": "bottom",
                "font": {"size": 11}, "maxheight": 1.0})


# ------------------------------------------------------------------------- the full lists


def _dominance_lists(loops: LoopComparison, table: pd.DataFrame,
                     labels: dict[str, str]) -> str:
    names = [entry.scenario.name for entry in loops.scenarios]
    reference = names[0]
    parts = [(f"<p>Per cluster and scenario: years, the dominating polarity and the group's "
              "share of the total, then its loops, strongest first. A scenario's periods that "
              f"are those of <strong>{text(reference)}</strong> are not repeated.</p>")]
    for cluster in loops.clusters:
        ours = _bars(table, reference, cluster)
        rows = [_list_row(reference, [_period_item(bar, labels) for bar in ours], True)]
        for name in names[1:]:
            rows.append(_list_row(name, _deduplicated(_bars(table, name, cluster), ours,
                                                      reference, labels), False))
        parts.append(f'<h4 id="loops-{slug(_place(cluster))}">{text(_place(cluster))}</h4>'
                     "<table><thead><tr><th>Scenario</th><th>Years, polarity (share): loops"
                     f"</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return "\n".join(parts)


def _list_row(name: str, items: list[str], reference: bool) -> str:
    cells = "".join(f"<li>{item}</li>" for item in items) or "<li>no loop dominates</li>"
    kind = ' class="reference"' if reference else ""
    return f"<tr{kind}><td><strong>{text(name)}</strong></td><td><ul>{cells}</ul></td></tr>"


def _period_item(bar: _Bar, labels: dict[str, str]) -> str:
    return (f"{_years(bar.start, bar.end)} <strong>{text(bar.polarity)}</strong> "
            f"({bar.share:.0%}): " + "; ".join(_name_html(i, labels) for i in bar.loops))


def _deduplicated(bars: list[_Bar], reference: list[_Bar], name: str,
                  labels: dict[str, str]) -> list[str]:
    """A scenario's periods, those whose loops are the reference's at the same time (as the
    timeline does not outline them) said so: the first ones in one "as ... until" line."""
    spans = differing_spans(bars, reference)
    if not spans:
        return [f"as {text(name)} throughout"]
    same = [not any(start < bar.end and bar.start < end for start, end in spans)
            for bar in bars]
    lead = same.index(False) if False in same else len(bars)
    items = [f"as {text(name)} until {bars[lead - 1].end:g}"] if lead else []
    for bar, alike in zip(bars[lead:], same[lead:], strict=True):
        items.append(f"{_years(bar.start, bar.end)} as {text(name)}" if alike
                     else _period_item(bar, labels))
    return items


def _shift_table(loops: LoopComparison, shifts: pd.DataFrame,
                 labels: dict[str, str]) -> str:
    reference = loops.scenarios[0].scenario.name
    if shifts.empty:
        return ""
    rows = [f"<tr><td>{text(row.scenario)}</td><td>{text(_place(row.cluster))}</td>"
            f'<td class="num">{row.since:g}</td><td>{_name_html(row.loop, labels)}</td>'
            f'<td class="num">{row.reference:+.1%}</td><td class="num">{row.value:+.1%}</td>'
            f'<td class="num">{100 * row.change:+.1f}</td></tr>'
            for row in shifts.itertuples()]
    return "\n".join([
        ("<p>Per scenario and cluster, the loops whose mean relative score, from the "
         "scenario's first lever to the end of the run, differs most from that in "
         f"<strong>{text(reference)}</strong> over the same years.</p>"),
        "<table><thead><tr><th>Scenario</th><th>Cluster</th><th>From</th><th>Loop</th>"
        f"<th>{text(reference)}</th><th>Scenario</th><th>Change (points)</th></tr></thead>",
        f"<tbody>{''.join(rows)}</tbody></table>",
    ])


# ------------------------------------------------------------------ relative-score charts


def _score_charts(loops: LoopComparison, scores: pd.DataFrame, labels: dict[str, str],
                  styles: dict[str, LoopStyle]) -> str:
    names = [entry.scenario.name for entry in loops.scenarios]
    parts = [(f"<p>Mean relative scores over each {loops.interval:g}-year interval, stacked: "
              f"reinforcing above zero, balancing below; per cluster the {LOOPS_DRAWN} loops "
              "strongest on average are drawn one by one, the others summed by sign. Beside "
              f"<strong>{text(names[0])}</strong>, only the scenarios in which some loop's "
              f"score differs from it by more than {100 * SHOWN_DIFFERENCE:g} percentage "
              "points are drawn.</p>")]
    for cluster in loops.clusters:
        table = scores[scores["cluster"] == cluster]
        place = text(_place(cluster))
        flat = _flat(table)
        if flat:
            parts.append(f"<p><strong>{place}</strong>: {flat}; not drawn.</p>")
            continue
        shown = [names[0], *(n for n in names[1:] if _differs(table, n, names[0]))]
        hidden = [n for n in names[1:] if n not in shown]
        note = (f'<p class="caption">Not drawn, as {text(names[0])}: '
                f"{text(', '.join(hidden))}.</p>" if hidden else "")
        figure = _stacked_figure(table, shown, labels, styles)
        parts.append(f'<h4 id="loops-scores-{slug(_place(cluster))}">{place}</h4>'
                     + _plot(figure, f"fig-loops-{slug(_place(cluster))}") + note)
    return "\n".join(parts)


def _flat(table: pd.DataFrame) -> str:
    """Why a cluster's stacked chart would say nothing, or "" if it says something."""
    if table.empty:
        return f"no loop reaches a relative score of {MIN_REPORTED:.1%}"
    for sign, word, total in ((1, "reinforcing", "+100 %"), (-1, "balancing", "\u2212100 %")):
        if (table["relative"] * sign >= 0).all():
            return (f"only {word} loops act, so their relative scores always sum to {total} "
                    "(or 0 where none acts)")
    return ""


def _differs(table: pd.DataFrame, name: str, reference: str) -> bool:
    """Whether some loop's relative score in ``name`` is more than SHOWN_DIFFERENCE from
    the reference's at some time."""
    wide = table.pivot_table(index=["time", "loop"], columns="scenario", values="relative",
                             fill_value=0.0)
    if name not in wide or reference not in wide:
        return name in wide
    return bool(((wide[name] - wide[reference]).abs() > SHOWN_DIFFERENCE).any())


def _stacked_figure(table: pd.DataFrame, names: list[str], labels: dict[str, str],
                    styles: dict[str, LoopStyle]) -> go.Figure:
    """A panel per scenario, side by side: the strongest loops one by one, the rest summed
    by sign."""
    strength = (table.assign(size=table["relative"].abs())
                .groupby("loop")["size"].mean().sort_values(ascending=False, kind="stable"))
    drawn = list(strength.index[:LOOPS_DRAWN])
    figure = make_subplots(rows=1, cols=len(names), shared_yaxes=True,
                           horizontal_spacing=0.02,
                           subplot_titles=[plotly_text(n) for n in names])
    for column, name in enumerate(names, start=1):
        wide = table[table["scenario"] == name].pivot_table(
            index="time", columns="loop", values="relative", sort=True)
        for loop in drawn:
            if loop in wide:
                _add_stacked(figure, wide[loop], labels[loop], styles[loop], loop, column)
        rest = wide.drop(columns=[c for c in drawn if c in wide])
        for key, part in (("R", rest.clip(lower=0)), ("B", rest.clip(upper=0))):
            label, colour = OTHER_COLOURS[key]
            _add_stacked(figure, part.sum(axis=1), label, LoopStyle(colour), key, column)
    # One legend entry per loop, however many panels draw it.
    seen = set()
    for trace in figure.data:
        trace.showlegend = trace.legendgroup not in seen
        seen.add(trace.legendgroup)
    figure.update_yaxes(range=[-1, 1], tickformat=".0%")
    figure.update_yaxes(title_text="relative score", title_font_size=10, col=1)
    figure.update_xaxes(dtick=10)
    figure.update_annotations(font_size=12)
    figure.update_layout(template="plotly_white", hovermode="x unified",
                         margin={"l": 60, "r": 10})
    _legend_above(figure, plot_height=240, bottom=30)
    return figure


def _add_stacked(figure: go.Figure, values: pd.Series, label: str, style: LoopStyle,
                 group: str, column: int) -> None:
    """``values`` stacked above zero where positive and below where negative; ``group``
    (the loop's id, or R or B for the others) ends the hover text."""
    ident = "" if group in ("R", "B") else f" ({group})"
    for side, part in (("up", values.clip(lower=0)), ("down", values.clip(upper=0))):
        if not part.any():
            continue
        figure.add_trace(go.Scatter(
            x=part.index.to_numpy(dtype=float), y=part.to_numpy(dtype=float), mode="lines",
            stackgroup=f"{side}{column}", name=plotly_text(label), legendgroup=group,
            line={"width": 0.5, "color": style.colour}, fillcolor=style.colour,
            fillpattern=style.pattern(), hovertemplate="%{y:.1%}" + ident,
        ), row=1, col=column)
