"""Reference data vendored into the repository, so that a clone alone passes its tests (they never read
``../shared``):

- ``schema.sql``: the 0.5.x catalog (13 migrations) as ``sqlite_master`` stores it.
- ``default-config.json``: the full-default 0.5 ``config.json`` as microsandbox writes it.

The 0.7.11 schema and ledger are package data of the product itself: ``backend/profiles/``.
"""

from pathlib import Path

DATA = Path(__file__).resolve().parent
