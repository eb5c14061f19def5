"""Parameter sets, comparisons over them, sensitivity indices and lever ranks."""
