"""The lever explorer's page: one self-contained HTML file in which a reader moves the levers
and the model, compiled to JavaScript (:mod:`sd_runner.explorer.spec`), answers in the browser.

The page is the reports' document (:func:`sd_runner.reports.html_page.document`, plotly.js
inline) with the model's script and ``page.js`` beside this file, which builds the controls and
charts and exposes ``window.sdExplorer``; ``page.css`` adds to the reports' style sheet. It
loads nothing from the network.
"""

from __future__ import annotations

import re
from importlib import resources as package_files

from sd_runner.reports.html_page import document, manifest_section, text
from sd_runner.reports.outcome_info import OUTCOMES

TITLE = "Lever explorer: value-chain capture in Zhejiang's clusters"


def explorer_page(model_script: str, generated_by: str = "", manifest: str = "") -> str:
    """The explorer as one HTML page.

    Parameters
    ----------
    model_script
        The JavaScript that defines ``sdModel``
        (:func:`sd_runner.explorer.spec.model_script`).
    generated_by
        What the header says produced the page (version, model hash, parameters).
    manifest
        The manifest (JSON) shown, closed, at the end of the page.

    Returns
    -------
    str
        The HTML document; the same arguments give the same text.
    """
    body = [_header(generated_by), _layout(), manifest_section(manifest),
            _script(model_script), _script(_package_text("page.js"))]
    return document(TITLE, body, _package_text("page.css"))


def _header(generated_by: str) -> str:
    meta = f'<p class="meta">{text(generated_by)}</p>' if generated_by else ""
    return (f"<header><h1>{text(TITLE)}</h1>{meta}"
            "<p>Move a lever, or choose one of the bundled scenarios, and the system-dynamics "
            "model runs again: the charts show the key outcomes of the chosen mix against the "
            "baseline, and the tables what it costs. Parameters: "
            '<strong id="fit-label"></strong>. Every run happens in this browser, from the '
            "model compiled into this page; nothing is sent anywhere. A lever at level 0 is "
            "not pulled; level 1 is the full programme of the paper's countermeasure.</p>"
            "<noscript><p><strong>This page needs JavaScript.</strong></p></noscript>"
            "</header>")


def _layout() -> str:
    return """<div class="explorer">
<aside class="panel">
<h2>Levers</h2>
<div class="row"><label for="preset">Scenario</label>
<select id="preset"><option value="">custom mix</option></select>
<button type="button" id="reset">Reset</button></div>
<div id="levers"></div>
</aside>
<main class="results">
<div class="row"><label for="cluster">Cluster</label><select id="cluster"></select>
<label><input type="checkbox" id="bands"> 5–95 % bands</label>
<button type="button" id="download">Download scenario</button></div>
<p id="band-note" class="note"></p>
<p id="status" role="status"></p>
<div id="charts" class="charts"></div>
<h2>The chosen cluster at the end of the run</h2>
<table><thead><tr><th>Outcome</th><th>Baseline</th><th>Chosen mix</th><th>Difference</th>
</tr></thead><tbody id="outcome-rows"></tbody></table>
<h2>Cost of the mix</h2>
<p id="cost-summary"></p>
<table><thead><tr><th>Cluster</th><th>Cumulative lever cost at the end ({spent})</th>
<th>Lever cost in the final year ({yearly})</th></tr></thead>
<tbody id="cost-rows"></tbody></table>
<p class="note">Cumulative lever cost sums what the levers cost firms and government since
the start of the run, undiscounted; lever cost is that cost per year. Fractions are shown in
%, their differences in percentage points (pp).</p>
</main>
</div>""".format(spent=text(OUTCOMES["Cumulative Lever Cost"].unit),
                 yearly=text(OUTCOMES["Lever Cost"].unit))


def _script(code: str) -> str:
    # Text that would end the script element, or open an HTML comment in it, cannot appear.
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE).replace("<!--", "<\\!--")
    return f"<script>{code}</script>"


def _package_text(name: str) -> str:
    return package_files.files("sd_runner.explorer").joinpath(name).read_text(encoding="utf-8")
