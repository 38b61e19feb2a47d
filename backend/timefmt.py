"""microsandbox's timestamp text: naive UTC ``%Y-%m-%d %H:%M:%S%.f`` with 0-9 fractional digits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_PATTERN = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def now_text() -> str:
    """The current UTC time as microsandbox writes it (6 fractional digits, which it reads back)."""
    return format_ts(datetime.now(UTC))


def format_ts(moment: datetime) -> str:
    """``moment`` (aware, or naive meaning UTC) as naive-UTC text with microseconds."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def parse_ts(text: str | None) -> datetime | None:
    """Parse stored text into an aware UTC datetime; None for NULL or text that is not a timestamp.

    Accepts 0-9 fractional digits (beyond 6 are truncated), ``T`` or space, and an optional offset.
    """
    if not text:
        return None
    match = _PATTERN.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micros)
    except ValueError:
        return None
    if offset and offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        from datetime import timedelta

        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment.replace(tzinfo=UTC)


def rfc3339(moment: datetime | None) -> str | None:
    """JSON form as msb prints it: UTC with ``+00:00``, fraction only when non-zero."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat()
