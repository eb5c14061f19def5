"""Feedback loops: the causal graph, loop discovery, dominance scores, knockouts."""
