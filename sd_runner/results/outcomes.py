"""The key outcomes a comparison shows, and how they add up and rank."""

#: The outcomes the comparison and the report show, per cluster.
KEY_OUTCOMES = (
    "Margin",
    "Total Profit",
    "Value Added",
    "Buyer Dependence",
    "Asset Specificity",
    "Own Brand Share",
    "Export Sales",
    "R and D Capital",
    "Patent Pool Stock",
    "Brand Equity",
    "Lever Cost",
    "Firm Lever Cost",
    "Government Lever Cost",
    "Cumulative Lever Cost",
)

#: The outcomes a report shows first; the other key outcomes (the capability stocks, asset
#: specificity and the lever costs by payer) are there too, one click further.
HEADLINE_OUTCOMES = ("Margin", "Total Profit", "Value Added", "Buyer Dependence",
                     "Own Brand Share", "Export Sales", "Cumulative Lever Cost")

#: Key outcomes that are fractions of a cluster (Dmnl): their sum over clusters means nothing.
FRACTIONS = ("Margin", "Buyer Dependence", "Asset Specificity", "Own Brand Share")

#: Outcomes whose sum over the clusters means something (flows and stocks in USD or patents).
TOTALLED = tuple(outcome for outcome in KEY_OUTCOMES if outcome not in FRACTIONS)

#: The ``cluster`` of all-cluster totals in comparisons.
TOTAL = "All clusters"

#: Outcomes that are better when higher (+1) or lower (-1), by which scenarios are ranked.
#: Costs are reported but not ranked: the equal-cost reading weighs them against gains.
BETTER = {"Margin": 1, "Total Profit": 1, "Value Added": 1, "Own Brand Share": 1,
          "Buyer Dependence": -1}
