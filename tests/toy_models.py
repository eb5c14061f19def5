"""Textbook models whose loops and loop scores are known, written as Vensim .mdl text."""

from __future__ import annotations

CONTROL = """
********************************************************
	.Control
********************************************************~
		Simulation Control Parameters
	|

FINAL TIME  = 30
	~	Year
	~		|

INITIAL TIME  = 0
	~	Year
	~		|

SAVEPER  = 1
	~	Year [0,?]
	~		|

TIME STEP  = 0.25
	~	Year [0,?]
	~		|
"""


def write_model(tmp_path, equations: str):
    path = tmp_path / "model.mdl"
    path.write_text("{UTF-8}\n" + equations + CONTROL, encoding="utf-8")
    return path


GOAL = """
Stock= INTEG (Adjustment, 0)
	~	Widget
	~		|

Adjustment= (Goal - Stock) / Adjustment Time
	~	Widget/Year
	~		|

Goal= 100
	~	Widget
	~		|

Adjustment Time= 5
	~	Year
	~		|
"""

LOGISTIC = """
Population= INTEG (Births, 1)
	~	People
	~		|

Births= Population * Fractional Growth
	~	People/Year
	~		|

Fractional Growth= Maximum Growth * (1 - Population / Capacity)
	~	1/Year
	~		|

Maximum Growth= 0.5
	~	1/Year
	~		|

Capacity= 1000
	~	People
	~		|
"""

TWO_LOOPS = """
Stock= INTEG (Inflow - Outflow, 100)
	~	Widget
	~		|

Inflow= Stock * Growth Rate
	~	Widget/Year
	~		|

Outflow= Stock / Lifetime
	~	Widget/Year
	~		|

Growth Rate= 0.1
	~	1/Year
	~		|

Lifetime= 5
	~	Year
	~		|
"""

# Logistic growth with a death outflow: two balancing loops and one reinforcing.
LOGISTIC_WITH_DEATHS = """
Population= INTEG (Births - Deaths, 10)
	~	People
	~		|

Births= Population * Fractional Growth
	~	People/Year
	~		|

Fractional Growth= Maximum Growth * (1 - Population / Capacity)
	~	1/Year
	~		|

Deaths= Population / Lifetime
	~	People/Year
	~		|

Lifetime= 20
	~	Year
	~		|

Maximum Growth= 0.5
	~	1/Year
	~		|

Capacity= 1000
	~	People
	~		|
"""

# The three-party arms race of Eberlein and Schoenberg (2020, figure 1): A wants parity with B
# and 90 % of C, B parity with A and 110 % of C, C 110 % of A and 90 % of B. Eight loops: three
# stock adjustments, three pairwise races and two running through all three parties.
def _party(me: str, initial: float, wants: dict[str, float]) -> str:
    (first, _), (second, _) = wants.items()
    equations = [f"{me} Arms= INTEG ({me} Changing, {initial:g})\n\t~\tWeapon\n\t~\t\t|\n",
                 f"{me} Changing= ({me} Target - {me} Arms) / Adjustment Time\n"
                 "\t~\tWeapon/Year\n\t~\t\t|\n",
                 f"{me} Target= ({first} for {me} + {second} for {me}) / 2\n"
                 "\t~\tWeapon\n\t~\t\t|\n"]
    equations += [f"{other} for {me}= {share:g} * {other} Arms\n\t~\tWeapon\n\t~\t\t|\n"
                  for other, share in wants.items()]
    return "\n".join(equations)


ARMS_RACE = "\n".join([
    _party("A", 50, {"B": 1.0, "C": 0.9}),
    _party("B", 100, {"A": 1.0, "C": 1.1}),
    _party("C", 150, {"A": 1.1, "B": 0.9}),
    "Adjustment Time= 5\n\t~\tYear\n\t~\t\t|\n",
])


#: The smallest model the loader and the engine accept: one stock, its inflow and a rate.
TINY = """{UTF-8}
Stock= INTEG (Inflow, 1)
	~	Widget
	~	A stock.
	|
Inflow= Stock * Rate
	~	Widget/Year
	~	Its inflow.
	|
Rate= 0.1
	~	1/Year
	~	Assumed.
	|
FINAL TIME  = 10
	~	Year
	~	End.
	|
INITIAL TIME  = 0
	~	Year
	~	Start.
	|
SAVEPER  = 1
	~	Year
	~	Output step.
	|
TIME STEP  = 0.25
	~	Year
	~	Step.
	|
"""
