"""Pieces every HTML report shares: the page's style sheet, escaping, and element ids."""

from __future__ import annotations

import html
import re

from plotly.offline import get_plotlyjs

PAGE_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1200px; padding: 1em 2em 3em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
h3 { margin-top: 1.6em; }
.meta { color: #555; }
.swatch { display: inline-block; width: 1.6em; height: 0.35em; vertical-align: middle;
          margin-right: 0.4em; border-radius: 2px; }
.swatch.reference { height: 0; border-top: 3px dashed #222; background: none !important; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.reference td { background: #fafafa; }
.caption { color: #444; margin: 0.2em 0 1em; }
.loop-path { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.88em; }

"""


def text(value: object) -> str:
    """``value`` as HTML text, escaped."""
    return html.escape(str(value))


def plotly_text(value: object) -> str:
    """``value`` as a plotly label: plotly.js reads tags in labels and decodes ``&lt;`` etc.

    Only ``&``, ``<`` and ``>`` are escaped, since plotly.js does not decode ``&quot;``.
    """
    return html.escape(str(value), quote=False)


def slug(label: str) -> str:
    """``label`` as an element id: lower case, runs of other characters as one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", label.casefold()).strip("-") or "outcome"


def unique_ids(ids: list[str]) -> list[str]:
    """``ids`` with repeats numbered (``a``, ``a-2``, ...), so every element id is unique."""
    seen: dict[str, int] = {}
    unique = []
    for candidate in ids:
        count = seen.get(candidate, 0)
        seen[candidate] = count + 1
        unique.append(candidate if count == 0 else f"{candidate}-{count + 1}")
    return unique


def document(title: str, body: list[str], extra_css: str = "") -> str:
    """A whole self-contained page: the shared style sheet (plus ``extra_css``) and plotly.js
    inline, so it works offline. ``title`` is escaped; ``body`` is HTML."""
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{text(title)}</title>",
        f"<style>{PAGE_CSS}{extra_css}</style>",
        # plotly.js reads this before it loads, as in plotly's own full-page output.
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>",
        f'<script charset="utf-8">{get_plotlyjs()}</script>',
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
        "",
    ])


def manifest_section(manifest: str) -> str:
    """The output's manifest (JSON) as a closed section at the end of a report."""
    if not manifest:
        return ""
    return ('<section id="manifest"><details><summary>Manifest: model hash, parameters, '
            f"scenarios, seeds and versions</summary><pre>{text(manifest)}</pre></details>"
            "</section>")
