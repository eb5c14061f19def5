"""Every HTML, CSV, JSON and text form of results."""
