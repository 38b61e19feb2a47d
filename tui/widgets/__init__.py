"""Reusable widgets shared by more than one screen, each with its own DEFAULT_CSS."""
