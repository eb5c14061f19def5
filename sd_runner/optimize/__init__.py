"""Policy design: candidate lever mixes evaluated on the compiled model, and the many-objective
search over them."""
