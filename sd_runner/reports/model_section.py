"""The comparison report's section on the model: its sectors and its named feedback loops."""

from __future__ import annotations

from sd_runner.reports.html_page import text as _text
from sd_runner.results.loops import LoopName, code_order, loop_id

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


def model_section(named_loops: tuple[LoopName, ...]) -> str:
    """The section's HTML (``id="model"``); ``named_loops`` as the model's loop names file
    gives them."""
    sectors = "".join(
        f"<dt><strong>{_text(name)}</strong></dt><dd>{_text(text)}</dd>" for name, text in SECTORS
    )
    named = sorted(named_loops, key=lambda entry: code_order(entry.code))
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
        (f"<details><summary>Its five sectors and {len(named)} named feedback loops"
         "</summary>"),
        "<h3>Sectors</h3>",
        f"<dl>{sectors}</dl>",
        "<h3>Feedback loops</h3>",
        ("<p>The named loops of <code>models/loops.toml</code> (R reinforcing, B balancing, E "
         "polarity changes with the state). Each path names Vensim variables; every variable "
         "appears in the equation of the next (a stock through its flows).</p>"),
        f"<ul>{loops}</ul>",
        "</details>",
        "</section>",
    ])
