"""``python -m screenshots``: regenerate the pictures in this folder."""

from __future__ import annotations

from screenshots.generate import main

if __name__ == "__main__":
    raise SystemExit(main())
