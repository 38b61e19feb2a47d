"""End-to-end tests: the app served to a real browser."""
