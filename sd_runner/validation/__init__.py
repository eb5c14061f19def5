"""Checks of the model: behaviour assertions, model checks, two versions compared."""
