"""A :class:`~sd_runner.results.diff.ModelDiff` as text, JSON and one self-contained HTML page.

Each form is a pure function of the diff: the same diff gives the same text.
"""

from __future__ import annotations

import json
import platform
from importlib import metadata

import plotly.graph_objects as go

from sd_runner.outputs.manifest import PACKAGES
from sd_runner.reports.html_page import (
    document,
    manifest_section,
    plotly_text,
    slug,
    text,
    unique_ids,
)
from sd_runner.reports.outcome_info import OUTCOMES
from sd_runner.results.diff import ModelDiff, Move, Trajectory, ValueChange, Version
from sd_runner.results.matrix import ALL_LEVELS, LEVELS

OLD_COLOUR = "#222222"
NEW_COLOUR = "#1f77b4"


# ---------------------------------------------------------------------- text
def diff_text(diff: ModelDiff) -> str:
    """The diff as lines of plain text: the versions, the model changes, then every move."""
    lines = [_version_line(diff.old), _version_line(diff.new), _matrix_line(diff),
             f"A move counts when it exceeds {_percent(diff.threshold)} of the series' largest "
             f"magnitude in either version (never taken below {diff.floor:g} of its units).",
             ""]
    changes = _change_lines(diff)
    lines += ["Model changes:", *changes] if changes else ["Model changes: none found."]
    lines.append("")
    if not diff.moves:
        lines.append(f"No key outcome moves by more than {_percent(diff.threshold)}.")
    else:
        lines.append(f"{len(diff.moves)} of {diff.series_compared} series move by more than "
                     f"{_percent(diff.threshold)}, the largest first:")
        lines += _table(["size", "member", "outcome[cluster]", "year", "old", "new"],
                        [[_size(m.size), m.member, f"{m.outcome}[{m.cluster}]",
                          f"{m.time:g}", f"{m.old:.6g}", f"{m.new:.6g}"] for m in diff.moves],
                        numeric={0, 3, 4, 5})
    return "\n".join(lines)


def _version_line(version: Version) -> str:
    return f"{version.role}: {version.label}, model sha256 {version.sha256[:12]}"


def _matrix_line(diff: ModelDiff) -> str:
    levels = ", ".join(f"{level:g}" for level in LEVELS)
    together = ", ".join(f"{level:g}" for level in ALL_LEVELS)
    return (f"Lever matrix: {len(diff.members)} members compared (the baseline, each lever "
            f"alone at {levels} and all at {together}); {diff.series_compared} series of "
            "key outcomes per cluster.")


def _change_lines(diff: ModelDiff) -> list[str]:
    lines = []

    def names(title: str, items) -> None:
        if items:
            lines.append(f"  {title} ({len(items)}): {', '.join(items)}")

    def values(title: str, items: tuple[ValueChange, ...]) -> None:
        if items:
            lines.append(f"  {title} ({len(items)}):")
            lines.extend(f"    {c.name}: {_value(c.old)} -> {_value(c.new)}" for c in items)

    values("constants changed, as runs use them", diff.constants_changed)
    values("constants changed in the .mdl that the fit sets alike in both (no run sees "
           "the change)", diff.constants_masked)
    values("time controls changed (compared over the saved times both have)",
           diff.controls_changed)
    names("equations, units or ranges changed", [f"{c.name} ({', '.join(c.aspects)})"
                                                 for c in diff.definitions_changed])
    names("variables added", diff.variables_added)
    names("variables removed", diff.variables_removed)
    for side, version in (("old", diff.old), ("new", diff.new)):
        names(f"key outcomes only {version.role} has", diff.outcome_columns_only[side])
        names(f"fit parameters {version.role} has no constant for (not applied)",
              version.fit_not_applied)
    if diff.not_compared:
        lines.append(f"  members not compared ({len(diff.not_compared)}):")
        for item in diff.not_compared:
            why = "; ".join(f"{role}: {problem}" for role, problem in
                            (("OLD", item.old), ("NEW", item.new)) if problem)
            lines.append(f"    {item.member}: {why}")
    return lines


def _table(header: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  " + "  ".join(cell.rjust(w) if i in numeric else cell.ljust(w)
                                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
                                ).rstrip()

    return [line(header), *map(line, rows)]


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g} %"


def _size(fraction: float) -> str:
    return f"{fraction * 100:.2f} %"


def _value(value: float | None) -> str:
    return "(absent)" if value is None else f"{value:.10g}"


# ---------------------------------------------------------------------- JSON
def diff_json(diff: ModelDiff) -> str:
    """The diff as one JSON object (trajectories left out: the moves say where and how much)."""
    return json.dumps(diff_record(diff), indent=1, ensure_ascii=False)


def diff_record(diff: ModelDiff) -> dict:
    """The diff as plain JSON-ready data."""
    return {
        "old": _version_record(diff.old), "new": _version_record(diff.new),
        "threshold": diff.threshold, "floor": diff.floor, "differs": diff.differs,
        "members": list(diff.members), "series_compared": diff.series_compared,
        "moves": [_move_record(m) for m in diff.moves],
        "not_compared": [{"member": n.member, "old": n.old, "new": n.new}
                         for n in diff.not_compared],
        "outcome_columns_only": {k: list(v) for k, v in diff.outcome_columns_only.items()},
        "variables_added": list(diff.variables_added),
        "variables_removed": list(diff.variables_removed),
        "definitions_changed": [{"name": c.name, "aspects": list(c.aspects)}
                                for c in diff.definitions_changed],
        "constants_changed": [_change_record(c) for c in diff.constants_changed],
        "constants_masked_by_fit": [_change_record(c) for c in diff.constants_masked],
        "controls_changed": [_change_record(c) for c in diff.controls_changed],
    }


def _version_record(version: Version, labelled: bool = True) -> dict:
    record = {"label": version.label} if labelled else {}
    return record | {"model_file": version.model_file, "model_sha256": version.sha256,
                     "fit": version.fit, "fit_sha256": version.fit_sha256,
                     "fit_not_applied": list(version.fit_not_applied)}


def _move_record(move: Move) -> dict:
    return {"member": move.member, "outcome": move.outcome, "cluster": move.cluster,
            "time": move.time, "old": move.old, "new": move.new,
            "difference": move.difference, "size": move.size, "scale": move.scale}


def _change_record(change: ValueChange) -> dict:
    return {"name": change.name, "old": change.old, "new": change.new}


def diff_manifest(diff: ModelDiff) -> str:
    """What produced the diff: both versions (files, hashes, fits), the settings and the
    package versions; nothing that changes between runs."""
    return json.dumps({
        "command": "diff",
        # The labels are left out: they hold the paths as given, which differ between machines.
        "old": _version_record(diff.old, labelled=False),
        "new": _version_record(diff.new, labelled=False),
        "settings": {"threshold": diff.threshold, "floor": diff.floor},
        "versions": {"python": platform.python_version(),
                     **{name: _package_version(name) for name in PACKAGES}},
    }, indent=1, sort_keys=True) + "\n"


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


# ---------------------------------------------------------------------- HTML
#: Click a column's heading to sort by it (numbers by their value, again to reverse).
_SORT_SCRIPT = """<script>
document.querySelectorAll('table.sortable th').forEach(function (th, column) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var ascending = th.dataset.order !== 'ascending';
    th.dataset.order = ascending ? 'ascending' : 'descending';
    var key = function (row) {
      var cell = row.cells[column];
      return cell.dataset.value !== undefined ? parseFloat(cell.dataset.value) : cell.textContent;
    };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    }).forEach(function (row) { body.appendChild(row); });
  });
});
</script>"""

_CSS = """
table.sortable th { cursor: pointer; }
.verdict { font-size: 1.1em; }
"""


def diff_html(diff: ModelDiff, title: str = "sd-runner diff: two versions of the model") -> str:
    """The diff as one self-contained HTML page: the versions and model changes, the table of
    moves (sorted by size; click a heading to sort), and the largest moves over time."""
    verdict = (f"{len(diff.moves)} of {diff.series_compared} series move by more than "
               f"{_percent(diff.threshold)}." if diff.moves else
               f"No key outcome moves by more than {_percent(diff.threshold)}.")
    body = [
        f"<header><h1>{text(title)}</h1>",
        _versions_table(diff),
        f"<p>{text(_matrix_line(diff))} A move counts when it exceeds "
        f"{text(_percent(diff.threshold))} of the series' largest magnitude in either version "
        f"(never taken below {diff.floor:g} of its units); its size is the largest such "
        "fraction over the run, at the year shown.</p>",
        f'<p class="verdict"><strong>{text(verdict)}</strong></p></header>',
        _changes_section(diff),
        _moves_section(diff),
        _charts_section(diff),
        manifest_section(diff_manifest(diff)),
        _SORT_SCRIPT,
    ]
    return document(title, body, _CSS)


def _versions_table(diff: ModelDiff) -> str:
    rows = "".join(
        f"<tr><td>{text(v.role)}</td><td>{text(v.label)}</td><td>{text(v.model_file)}</td>"
        f"<td><code>{text(v.sha256[:12])}</code></td><td>{text(v.fit)}</td></tr>"
        for v in (diff.old, diff.new))
    return ("<table><thead><tr><th>Version</th><th>As given</th><th>Model file</th>"
            f"<th>sha256</th><th>Parameters</th></tr></thead><tbody>{rows}</tbody></table>")


def _changes_section(diff: ModelDiff) -> str:
    lines = _change_lines(diff)
    content = (f"<pre>{text(chr(10).join(line[2:] for line in lines))}</pre>" if lines
               else "<p>None found.</p>")
    return f'<section id="changes"><h2>Model changes</h2>{content}</section>'


def _moves_section(diff: ModelDiff) -> str:
    if not diff.moves:
        return ('<section id="moves"><h2>Moves</h2><p>No key outcome moves beyond the '
                "threshold.</p></section>")
    head = "".join(f"<th>{text(h)}</th>" for h in
                   ("Size (%)", "Member", "Outcome", "Cluster", "Year", "Old", "New",
                    "Difference"))
    rows = []
    for m in diff.moves:
        cells = [_number_cell(m.size * 100, f"{m.size * 100:.2f}"), f"<td>{text(m.member)}</td>",
                 f"<td>{text(m.outcome)}</td>", f"<td>{text(m.cluster)}</td>",
                 _number_cell(m.time, f"{m.time:g}"), _number_cell(m.old, f"{m.old:.6g}"),
                 _number_cell(m.new, f"{m.new:.6g}"),
                 _number_cell(m.difference, f"{m.difference:+.4g}")]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return ('<section id="moves"><h2>Moves</h2><p>Every series that moves beyond the '
            "threshold, the largest first; click a heading to sort.</p>"
            f'<table class="sortable" id="moves-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></section>")


def _number_cell(value: float, shown: str) -> str:
    return f'<td class="num" data-value="{value!r}">{text(shown)}</td>'


def _charts_section(diff: ModelDiff) -> str:
    if not diff.trajectories:
        return ""
    ids = unique_ids([slug(f"{t.member} {t.outcome} {t.cluster}") for t in diff.trajectories])
    parts = ['<section id="charts"><h2>The largest moves over time</h2>',
             f"<p>OLD dark and dashed, NEW blue; the {len(diff.trajectories)} largest moves."
             "</p>"]
    for trajectory, element in zip(diff.trajectories, ids, strict=True):
        parts.append(_chart(trajectory, element))
    parts.append("</section>")
    return "\n".join(parts)


def _chart(trajectory: Trajectory, element: str) -> str:
    info = OUTCOMES.get(trajectory.outcome)
    fraction = bool(info and info.fraction)
    figure = go.Figure()
    for name, values, colour, dash in (("OLD", trajectory.old, OLD_COLOUR, "dash"),
                                       ("NEW", trajectory.new, NEW_COLOUR, "solid")):
        figure.add_trace(go.Scatter(x=list(trajectory.times), y=list(values), mode="lines",
                                    name=name, line={"color": colour, "dash": dash}))
    figure.update_layout(
        template="plotly_white", height=320, margin={"l": 70, "r": 20, "t": 50, "b": 40},
        title=plotly_text(f"{trajectory.outcome}[{trajectory.cluster}], "
                          f"{trajectory.member}"),
        xaxis_title="Year", yaxis_title=plotly_text(info.unit if info else ""),
        hovermode="x unified")
    if fraction:
        figure.update_yaxes(tickformat=".1~%", hoverformat=".2%")
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{element}",
                          config={"displaylogo": False, "responsive": True})
