"""CART as a cross-check of PRIM: a classification tree (scikit-learn's) of the same cases of
interest, read as boxes, one per leaf, and how far its boxes and PRIM's hold the same members.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Deepest split: deeper trees cut the space into more leaves than an analyst reads.
MAX_DEPTH = 4


@dataclass(frozen=True)
class Leaf:
    """A leaf of the tree as a box: ``lower`` and ``upper`` limit of every factor (the data's
    range where the path does not split on it), its members and whether the tree predicts
    the condition there (most of its members meet it)."""

    lower: np.ndarray
    upper: np.ndarray
    inside: np.ndarray
    predicts: bool


def cart_leaves(x: np.ndarray, y: np.ndarray, mass_min: float, seed: int,
                max_depth: int = MAX_DEPTH) -> list[Leaf]:
    """The leaves of a tree of at most ``max_depth`` splits, each holding at least
    ``mass_min`` of the members, in the tree's order (``seed`` breaks ties between splits)."""
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(max_depth=max_depth, random_state=seed,
                                  min_samples_leaf=max(1, math.ceil(mass_min * len(y))))
    tree.fit(x, y)
    nodes = tree.tree_
    where = tree.apply(x)
    leaves = []
    stack = [(0, x.min(axis=0), x.max(axis=0))]
    while stack:
        node, lower, upper = stack.pop()
        left, right = nodes.children_left[node], nodes.children_right[node]
        if left == right:  # a leaf
            inside = where == node
            leaves.append(Leaf(lower, upper, inside, bool(y[inside].mean() > 0.5)))
            continue
        factor, threshold = nodes.feature[node], nodes.threshold[node]
        left_upper, right_lower = upper.copy(), lower.copy()
        left_upper[factor] = min(upper[factor], threshold)  # the left branch: x <= threshold
        right_lower[factor] = max(lower[factor], threshold)
        stack.append((right, right_lower, upper))
        stack.append((left, lower, left_upper))
    return leaves


def overlap(box: np.ndarray, leaves: list[Leaf]) -> float:
    """The Jaccard index of the members of PRIM's box and those of the leaves that predict
    the condition: members in both over members in either (1 when both are empty)."""
    predicted = np.zeros(len(box), dtype=bool)
    for leaf in leaves:
        if leaf.predicts:
            predicted |= leaf.inside
    either = np.count_nonzero(box | predicted)
    return float(np.count_nonzero(box & predicted) / either) if either else 1.0
