"""Results as plain data: what the computing modules return and the reports read."""
