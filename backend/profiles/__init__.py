"""Home profiles: what a microsandbox home of one release looks like, decided from its migration ledger.

A profile is one typed object the backend asks instead of checking versions: which optional columns the
``sandbox`` table has, which status rules microsandbox applies when it reads a row, which ``config.json``
rules hold, and whether msb-tui may write there. :func:`judge_ledger` picks it (or says why none fits).
"""

from backend.profiles.base import PROFILE_0_5, PROFILE_0_7, PROFILES, HomeProfile, StatusRules
from backend.profiles.detect import LedgerKind, LedgerVerdict, judge_ledger

__all__ = ["PROFILES", "PROFILE_0_5", "PROFILE_0_7", "HomeProfile", "LedgerKind", "LedgerVerdict", "StatusRules",
           "judge_ledger"]
