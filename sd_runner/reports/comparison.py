"""A scenario comparison as one self-contained HTML page.

The page holds a figure per key outcome, a table of outcomes in the table years, each scenario's
lever settings and a short description of the model and its feedback loops. It embeds plotly.js
once, so it works offline, and it is a pure function of the comparison: the same comparison gives
the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sd_runner import resources
from sd_runner.errors import InputError
from sd_runner.reports.html_page import document, manifest_section
from sd_runner.reports.html_page import plotly_text as _plotly_text
from sd_runner.reports.html_page import slug as _slug
from sd_runner.reports.html_page import text as _text
from sd_runner.reports.html_page import unique_ids as _unique_ids
from sd_runner.simulate.comparison import Comparison
from sd_runner.simulate.simulation import ScenarioRun

DEFAULT_TITLE = "Value-chain capture in Zhejiang's labour-intensive clusters: scenario comparison"


@dataclass(frozen=True)
class OutcomeInfo:
    """How the report shows one outcome.

    Attributes
    ----------
    unit : str
        Unit as the axis and the table show it.
    fraction : bool
        Whether the model's value is a fraction (shown as %, differences in percentage points).
    description : str
        One sentence on what the variable is.
    """

    unit: str
    fraction: bool
    description: str


#: What the report says of each key outcome; descriptions follow the ``.mdl`` comments.
OUTCOMES: dict[str, OutcomeInfo] = {
    "Margin": OutcomeInfo(
        "% of sales", True,
        "Profit margin as a fraction of sales: gross margin less the R&D the firms pay "
        "themselves, brand spending, overseas brand acquisitions and relocation costs.",
    ),
    "Total Profit": OutcomeInfo(
        "100 million USD/year", False,
        "Profit of the cluster's firms after reinvestment and the levers' costs to them: the "
        "margin times all sales. Own brands can lower the margin while raising total profit.",
    ),
    "Value Added": OutcomeInfo(
        "100 million USD/year", False,
        "Value the cluster adds (income approach): profit, production wages, taxes on sales and "
        "the R&D the firms pay; bought-in brand, acquisition and channel spending excluded.",
    ),
    "Buyer Dependence": OutcomeInfo(
        "% (100 % = wholly dependent)", True,
        "Degree to which the cluster's firms depend on their lead buyers: 0 independent, "
        "100 % wholly dependent (\"held up\").",
    ),
    "Asset Specificity": OutcomeInfo(
        "% of productive assets", True,
        "Fraction of the cluster's productive assets specific to its lead buyers' requirements "
        "(equipment, lines and certification tied to their orders).",
    ),
    "Own Brand Share": OutcomeInfo(
        "% of sales", True,
        "Own-brand sales, at home and abroad, as a fraction of all sales: the measure of "
        "functional upgrading.",
    ),
    "Export Sales": OutcomeInfo(
        "100 million USD/year", False,
        "Annual export sales of the cluster's products, OEM and own-brand, in 100 million USD "
        "per year (the unit of the customs figures).",
    ),
    "R and D Capital": OutcomeInfo(
        "100 million USD", False,
        "Accumulated R&D spending of the cluster's firms, net of obsolescence.",
    ),
    "Patent Pool Stock": OutcomeInfo(
        "patents", False,
        "Patents held by the cluster's firms; how many a member firm can use depends on pool "
        "participation.",
    ),
    "Brand Equity": OutcomeInfo(
        "100 million USD", False,
        "Accumulated brand building (advertising, stores, design) and acquired brands, net of "
        "decay through forgetting and counterfeiting.",
    ),
    "Lever Cost": OutcomeInfo(
        "100 million USD/year", False,
        "What the levers cost firms and government together each year.",
    ),
    "Firm Lever Cost": OutcomeInfo(
        "100 million USD/year", False,
        "What the levers cost the cluster's firms each year (brand spending, acquisitions "
        "abroad, lever R&D less subsidy, channel running costs, relocation); deducted in "
        "Margin.",
    ),
    "Government Lever Cost": OutcomeInfo(
        "100 million USD/year", False,
        "What the levers cost government each year: R&D subsidies, IP enforcement, patent "
        "pools, co-built parks and the platform programme.",
    ),
    "Cumulative Lever Cost": OutcomeInfo(
        "100 million USD", False,
        "Lever costs summed since 2003 (undiscounted), for comparing levers at equal cost.",
    ),
}


#: The model's sectors (groups of the ``.mdl``) and what each holds.
SECTORS: tuple[tuple[str, str], ...] = (
    ("Sales",
     ("Export Sales and Domestic Sales per cluster (stocks). Exports grow logistically toward a "
      "market potential, with the 2009 world-trade shock, and lose OEM business to relocation "
      "(lever 6) and forced exit under upgrading standards (lever 5). Domestic sales grow with "
      "China's market, faster the larger the Own Brand Fraction, a stock that moves toward what "
      "brand strength and channel reach support. The own-brand fraction of exports is brand "
      "strength times overseas reach; the rest of exports are OEM.")),
    ("Capture",
     ("Asset Specificity (buyer-specific investment less retirement and relocation) and Buyer "
      "Dependence, which adjusts toward the dependence implied by lock-in (OEM share of sales "
      "and asset specificity) less what upgrading capability lets the cluster escape.")),
    ("Capabilities",
     ("R and D Capital, Patent Pool Stock, Brand Equity and the Professional Market Platform "
      "(one for all clusters). Usable patents and brand equity per unit of sales give "
      "Technology Strength and Brand Strength, whose weighted average is Upgrading "
      "Capability.")),
    ("Margin",
     ("Gross Margin: the OEM margin, squeezed in proportion to buyer dependence, on OEM exports; "
      "a generic margin on unbranded domestic sales; a brand-strength-dependent margin on "
      "own-brand sales; plus an innovation premium, less licence fees and the cost of Lead Firm "
      "Blocking (a stock). Margin, the outcome shown here, is gross margin less the R&D the "
      "firms pay themselves, brand spending, acquisitions and relocation costs; no equation "
      "uses it, so the loops run through Gross Margin.")),
    ("Levers",
     ("The paper's seven countermeasures. Each lever's settings are off by default; its "
      "activation rises linearly from 0 at its start year to 1 after its ramp time.")),
)

#: Line colour of the reference run.
REFERENCE_COLOUR = "#222222"
#: Line colours of the other runs, in order (plotly's D3 palette without its grey).
SCENARIO_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#bcbd22", "#17becf",
)

_REFERENCE_ROW = ' class="reference"'

def comparison_report(
    comparison: Comparison,
    *,
    title: str = DEFAULT_TITLE,
    generated_by: str = "",
    manifest: str = "",
) -> str:
    """The comparison as one self-contained HTML document.

    Parameters
    ----------
    comparison : Comparison
        Runs to show, the reference first, with the outcome table.
    title : str, optional
        Title of the page.
    generated_by : str, optional
        Provenance shown in the header, e.g. the package version and the model's hash.
    manifest : str, optional
        The output's manifest (JSON), shown in a closed section at the end.

    Returns
    -------
    str
        The HTML document. It embeds plotly.js once and loads nothing from the network; the same
        comparison gives the same text.

    Raises
    ------
    InputError
        If the comparison has no run, or a run lacks a column the figures need.
    """
    if not comparison.runs:
        raise InputError("the comparison has no run; compare at least the reference scenario")
    colours = _colours(len(comparison.runs))
    slugs = _unique_ids([_slug(outcome) for outcome in comparison.outcomes])
    body = [
        _header(comparison, title, generated_by, colours),
        _contents(comparison, slugs),
        '<section id="figures">\n<h2>Outcomes over time</h2>',
        ("<p>One panel per cluster; the reference is the dark dashed line. Click a legend entry "
         "to hide a scenario, double-click to show it alone.</p>"),
    ]
    for outcome, slug in zip(comparison.outcomes, slugs, strict=True):
        body.append(_figure_section(comparison, outcome, slug, colours))
    body.append("</section>")
    body.append(_tables_section(comparison, slugs))
    if not comparison.table.empty:
        from sd_runner.reports.rankings import ranking_section

        body.append(ranking_section(comparison))
    if comparison.uncertainty is not None:
        from sd_runner.reports.uncertainty import uncertainty_section

        body.append(uncertainty_section(comparison.uncertainty, colours))
    if comparison.loops is not None:
        from sd_runner.reports.loops import loop_section

        body.append(loop_section(comparison.loops))
    body.append(_settings_section(comparison, colours))
    body.append(_model_section())
    body.append(manifest_section(manifest))
    return document(title, body)


# ---------------------------------------------------------------------------------- header


def _header(comparison: Comparison, title: str, generated_by: str, colours: list[str]) -> str:
    reference = comparison.reference.scenario
    rows = []
    for index, run in enumerate(comparison.runs):
        scenario = run.scenario
        role = "reference" if index == 0 else ""
        rows.append(
            f"<tr{_REFERENCE_ROW if index == 0 else ''}>"
            f"<td>{_swatch(index, colours)}<strong>{_text(scenario.name)}</strong></td>"
            f"<td>{_text(scenario.title)}</td>"
            f"<td>{_text(scenario.description)}</td>"
            f"<td>{role}</td>"
            f'<td class="meta">{_text(scenario.source)}</td></tr>'
        )
    parts = [
        "<header>",
        f"<h1>{_text(title)}</h1>",
        f'<p class="meta">Generated by: {_text(generated_by)}</p>' if generated_by else "",
        (f"<p>{len(comparison.runs)} scenario{'s' if len(comparison.runs) != 1 else ''} "
         f"compared over {len(comparison.clusters)} cluster"
         f"{'s' if len(comparison.clusters) != 1 else ''} "
         f"({', '.join(_text(c) for c in comparison.clusters)}). Differences are taken against "
         f"the reference scenario, <strong>{_text(reference.name)}</strong>.</p>"),
        "<table>",
        ("<thead><tr><th>Scenario</th><th>Title</th><th>Description</th><th>Role</th>"
         "<th>Source</th></tr></thead>"),
        "<tbody>",
        *rows,
        "</tbody></table>",
        "</header>",
    ]
    return "\n".join(part for part in parts if part)


def _contents(comparison: Comparison, slugs: list[str]) -> str:
    figures = "".join(
        f'<li><a href="#outcome-{slug}">{_text(outcome)}</a></li>'
        for outcome, slug in zip(comparison.outcomes, slugs, strict=True)
    )
    loops = ('<li><a href="#loops">Feedback loops: which drive each cluster, and when</a></li>'
             if comparison.loops is not None else "")
    if comparison.uncertainty is not None:
        loops = '<li><a href="#uncertainty">Uncertainty: how sure is the ranking?</a></li>' + loops
    ranking = ('<li><a href="#rankings">Totals, rankings and lever cost</a></li>'
               if not comparison.table.empty else "")
    return (
        "<nav><h2>Contents</h2><ul>"
        f'<li><a href="#figures">Outcomes over time</a><ul>{figures}</ul></li>'
        '<li><a href="#table">Outcomes in the table years</a></li>'
        f"{ranking}"
        f"{loops}"
        '<li><a href="#levers">Lever settings</a></li>'
        '<li><a href="#model">The model</a></li>'
        "</ul></nav>"
    )


# --------------------------------------------------------------------------------- figures


def _figure_section(comparison: Comparison, outcome: str, slug: str, colours: list[str]) -> str:
    info = OUTCOMES.get(outcome)
    figure = _outcome_figure(comparison, outcome, info, colours)
    plot = figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"fig-{slug}",
        config={"displaylogo": False, "responsive": True},
    )
    unit = f" ({_text(info.unit)})" if info and info.unit else ""
    caption = f'<p class="caption">{_text(info.description)}</p>' if info else ""
    return f'<h3 id="outcome-{slug}">{_text(outcome)}{unit}</h3>\n{plot}\n{caption}'


def _outcome_figure(
    comparison: Comparison, outcome: str, info: OutcomeInfo | None, colours: list[str]
) -> go.Figure:
    clusters = comparison.clusters
    columns = 2 if len(clusters) > 1 else 1
    rows = max(1, math.ceil(len(clusters) / columns))
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[_plotly_text(cluster) for cluster in clusters],
        shared_xaxes=True,
        horizontal_spacing=0.09,
        vertical_spacing=0.14 if rows > 1 else 0.1,
    )
    fraction = bool(info and info.fraction)
    unit = info.unit if info else ""
    value_format = ".1%" if fraction else ",.4g"
    for index, run in enumerate(comparison.runs):
        reference = index == 0
        name = _plotly_text(run.scenario.name) + (" (reference)" if reference else "")
        for position, cluster in enumerate(clusters):
            series = _column(run, outcome, cluster)
            figure.add_trace(
                go.Scatter(
                    x=series.index.to_numpy(dtype=float),
                    y=series.to_numpy(dtype=float),
                    mode="lines",
                    name=name,
                    legendgroup=f"scenario-{index}",
                    showlegend=position == 0,
                    line={
                        "color": colours[index],
                        "width": 3 if reference else 2,
                        "dash": "dash" if reference else "solid",
                    },
                    hovertemplate=f"%{{y:{value_format}}}",
                ),
                row=position // columns + 1,
                col=position % columns + 1,
            )
    yaxis = {"title_text": _plotly_text(unit), "title_font_size": 11}
    if fraction:
        yaxis.update(tickformat=".1~%", hoverformat=".1%")
    figure.update_yaxes(**yaxis)
    figure.update_xaxes(showticklabels=True)
    figure.update_xaxes(title_text="Year", row=rows)
    figure.update_layout(
        template="plotly_white",
        height=260 * rows + 150,
        margin={"l": 70, "r": 20, "t": 40, "b": 40},
        hovermode="x unified",
        legend={"orientation": "h", "x": 0, "y": -0.12 if rows > 1 else -0.25,
                "yanchor": "top"},
    )
    return figure


def _column(run: ScenarioRun, outcome: str, cluster: str) -> pd.Series:
    column = f"{outcome}[{cluster}]"
    try:
        return run.frame[column]
    except KeyError:
        raise InputError(
            f"the run of scenario {run.scenario.name!r} has no column {column!r}; run it with "
            "the comparison's outcomes among its variables"
        ) from None


# ---------------------------------------------------------------------------------- tables


def _tables_section(comparison: Comparison, slugs: list[str]) -> str:
    table = comparison.table
    reference = comparison.reference.scenario.name
    parts = ['<section id="table">', "<h2>Outcomes in the table years</h2>"]
    if table.empty:
        parts.append("<p>The comparison has no outcome table.</p></section>")
        return "\n".join(parts)
    years = sorted({int(year) for year in table["year"]})
    cells = {
        (row.scenario, row.outcome, row.cluster, int(row.year)): (row.value, row.difference)
        for row in table.itertuples(index=False)
    }
    parts.append(
        f"<p>Value in each year and its difference (Δ) from the reference scenario, "
        f"<strong>{_text(reference)}</strong>. Fractions are shown as percentages, their "
        "differences in percentage points (pp).</p>"
    )
    for outcome, slug in zip(comparison.outcomes, slugs, strict=True):
        info = OUTCOMES.get(outcome)
        fraction = bool(info and info.fraction)
        values = [v for (_, o, _, _), (v, _) in cells.items() if o == outcome]
        decimals = _decimals(values)
        unit = f" ({_text(info.unit)})" if info and info.unit else ""
        head_years = "".join(f'<th colspan="2">{year}</th>' for year in years)
        sub_head = "".join("<th>value</th><th>Δ</th>" for _ in years)
        rows = []
        for cluster in comparison.clusters:
            for index, run in enumerate(comparison.runs):
                scenario = run.scenario.name
                first = index == 0
                cluster_cell = (
                    f'<th rowspan="{len(comparison.runs)}">{_text(cluster)}</th>' if first else ""
                )
                data = []
                for year in years:
                    value, difference = cells.get((scenario, outcome, cluster, year),
                                                  (math.nan, math.nan))
                    data.append(f'<td class="num">{_format(value, fraction, decimals)}</td>')
                    delta = "ref." if first else _format_difference(difference, fraction,
                                                                     decimals)
                    data.append(f'<td class="num">{delta}</td>')
                rows.append(
                    f"<tr{_REFERENCE_ROW if first else ''}>{cluster_cell}"
                    f"<td>{_text(scenario)}</td>{''.join(data)}</tr>"
                )
        parts.append(
            f'<h3 id="table-{slug}"><a href="#outcome-{slug}">{_text(outcome)}</a>{unit}</h3>\n'
            "<table>\n"
            f'<thead><tr><th rowspan="2">Cluster</th><th rowspan="2">Scenario</th>{head_years}'
            f"</tr>\n<tr>{sub_head}</tr></thead>\n"
            f"<tbody>\n{chr(10).join(rows)}\n</tbody></table>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def _decimals(values: list[float]) -> int:
    """Decimals that show about three significant digits of the largest value."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    largest = max(finite, default=0.0)
    if largest >= 100:
        return 0 if largest >= 1000 else 1
    return 2 if largest >= 1 else 3


def _format(value: float, fraction: bool, decimals: int) -> str:
    if not math.isfinite(value):
        return "n/a"
    if fraction:
        return f"{_unsigned_zero(value * 100, 1):.1f} %"
    return f"{_unsigned_zero(value, decimals):,.{decimals}f}"


def _format_difference(value: float, fraction: bool, decimals: int) -> str:
    if not math.isfinite(value):
        return "n/a"
    if fraction:
        return f"{_unsigned_zero(value * 100, 1):+.1f} pp"
    return f"{_unsigned_zero(value, decimals):+,.{decimals}f}"


def _unsigned_zero(value: float, decimals: int) -> float:
    """``value``, with anything that rounds to zero made +0 so it never prints as -0."""
    return value if round(value, decimals) != 0 else 0.0


# -------------------------------------------------------------------------------- settings


def _settings_section(comparison: Comparison, colours: list[str]) -> str:
    parts = ['<section id="levers">', "<h2>Lever settings</h2>",
             ("<p>The values each scenario sets, reached at the end of each lever's ramp; every "
              "other setting keeps the model's default (lever off).</p>")]
    for index, run in enumerate(comparison.runs):
        scenario = run.scenario
        parts.append(
            f"<h3>{_swatch(index, colours)}{_text(scenario.name)}: {_text(scenario.title)}</h3>"
        )
        rows = scenario.settings_rows()
        if not rows:
            parts.append("<p>no lever (reference)</p>" if index == 0 else "<p>no lever</p>")
            continue
        if index == 0:
            parts.append("<p>The reference scenario.</p>")
        body = "".join(
            "<tr>"
            f"<td>{_text(row['lever'])}</td>"
            f"<td>{_text(row['variable'])}</td>"
            f'<td class="num">{_number(row["value"])}</td>'
            f"<td>{_text(row['unit'])}</td>"
            f'<td class="num">{_number(row["start_year"])}</td>'
            f'<td class="num">{_number(row["ramp_years"])}</td>'
            "</tr>\n"
            for row in rows
        )
        parts.append(
            "<table><thead><tr><th>Lever</th><th>Variable</th><th>Value</th><th>Unit</th>"
            "<th>Start year</th><th>Ramp (years)</th></tr></thead>\n"
            f"<tbody>\n{body}</tbody></table>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def _number(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, (int, float)):
        return _text(f"{value:g}")
    return _text(value)


# ----------------------------------------------------------------------------------- model


def _model_section() -> str:
    from sd_runner.feedback.graph import code_order, load_loop_names, loop_id

    sectors = "".join(
        f"<dt><strong>{_text(name)}</strong></dt><dd>{_text(text)}</dd>" for name, text in SECTORS
    )
    named = sorted(load_loop_names(resources.loop_names_path()),
                   key=lambda entry: code_order(entry.code))
    loops = "".join(
        f"<li><strong>{_text(entry.code)} {_text(entry.name)}</strong> "
        f"(<code>{loop_id(entry.variables)}</code>). "
        f"{_text(entry.description)}<ul><li class=\"loop-path\">"
        f"{' → '.join(_text(step) for step in (*entry.variables, entry.variables[0]))}"
        "</li></ul></li>"
        for entry in named)
    return "\n".join([
        '<section id="model">',
        "<h2>The model</h2>",
        ("<p>A system-dynamics model (Vensim <code>value_chain_capture.mdl</code>, run with "
         "PySD) of value-chain capture in Zhejiang's labour-intensive clusters, per cluster, "
         "2003-2035. The policy levers are the countermeasures of Qian Fangming, "
         "<em>Countermeasures for upgrading Zhejiang's labour-intensive industrial clusters: a "
         "domestic value chain perspective</em>.</p>"),
        "<h3>Sectors</h3>",
        f"<dl>{sectors}</dl>",
        "<h3>Feedback loops</h3>",
        ("<p>The named loops of <code>models/loops.toml</code> (R reinforcing, B balancing, E "
         "polarity changes with the state). Each path names Vensim variables; every variable "
         "appears in the equation of the next (a stock through its flows).</p>"),
        f"<ul>{loops}</ul>",
        "</section>",
    ])


# --------------------------------------------------------------------------------- helpers


def _colours(count: int) -> list[str]:
    return [REFERENCE_COLOUR] + [
        SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)] for i in range(count - 1)
    ]


def _swatch(index: int, colours: list[str]) -> str:
    kind = "swatch reference" if index == 0 else "swatch"
    return f'<span class="{kind}" style="background:{colours[index]}"></span>'


