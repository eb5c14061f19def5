"""What the reports say of each key outcome: the unit shown, whether it is a fraction, and a
sentence on what the variable is."""

from __future__ import annotations

from dataclasses import dataclass


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
        "%", True,
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
