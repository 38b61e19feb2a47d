"""The Pilot tests' fixtures (the demo home and the pinned UI environment) are in tests/conftest.py."""
