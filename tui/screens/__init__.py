"""The three top-level screens (one module each, with its .tcss beside it)."""
