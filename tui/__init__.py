"""msb-tui's Textual user interface over :mod:`backend`."""

from __future__ import annotations

__version__ = "0.1.0"
