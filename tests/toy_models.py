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
ARMS_RACE = """
A Arms= INTEG (A Changing, 50)
	~	Weapon
	~		|

A Changing= (A Target - A Arms) / Adjustment Time
	~	Weapon/Year
	~		|

A Target= (B for A + C for A) / 2
	~	Weapon
	~		|

B for A= 1 * B Arms
	~	Weapon
	~		|

C for A= 0.9 * C Arms
	~	Weapon
	~		|

B Arms= INTEG (B Changing, 100)
	~	Weapon
	~		|

B Changing= (B Target - B Arms) / Adjustment Time
	~	Weapon/Year
	~		|

B Target= (A for B + C for B) / 2
	~	Weapon
	~		|

A for B= 1 * A Arms
	~	Weapon
	~		|

C for B= 1.1 * C Arms
	~	Weapon
	~		|

C Arms= INTEG (C Changing, 150)
	~	Weapon
	~		|

C Changing= (C Target - C Arms) / Adjustment Time
	~	Weapon/Year
	~		|

C Target= (A for C + B for C) / 2
	~	Weapon
	~		|

A for C= 1.1 * A Arms
	~	Weapon
	~		|

B for C= 0.9 * B Arms
	~	Weapon
	~		|

Adjustment Time= 5
	~	Year
	~		|
"""
