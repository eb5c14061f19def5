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
