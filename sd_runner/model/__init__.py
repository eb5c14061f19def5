"""The model itself: loading the .mdl with PySD, its text, units, names and caches."""
