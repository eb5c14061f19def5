"""What the user gives: levers, scenarios, factors, observations, TOML files, sizes."""
