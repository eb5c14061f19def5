"""Running scenarios and comparing them: single runs, the lever matrix, comparisons."""
