"""Times and durations as the filter language writes them (``after:``, ``before:``, ``last:``).

Everything is integer epoch microseconds in UTC, the unit the index stores, so no float rounding
and no dependence on the local time zone. Errors are ``ValueError`` with a short message the
parser wraps into a positioned ``FilterError``.
"""

from __future__ import annotations

import re
from datetime import datetime

from tui.model.fields import timestamp_us

_US_PER_SECOND = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_SECOND

#: ``date.toordinal()`` of 1970-01-01.
_EPOCH_ORDINAL = 719_163

_ISO = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?:[Tt ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]+))?)?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_h>[0-9]{2}):?(?P<off_m>[0-9]{2}))?)?"
)

_DIGITS = re.compile(r"[0-9]+")

#: Duration units in microseconds.
_UNITS: dict[str, int] = {
    "ms": 1_000,
    "s": _US_PER_SECOND,
    "m": 60 * _US_PER_SECOND,
    "h": 3_600 * _US_PER_SECOND,
    "d": 86_400 * _US_PER_SECOND,
    "w": 7 * 86_400 * _US_PER_SECOND,
}
_UNIT_LIST = "ms, s, m, h, d or w"
_DURATION_PART = re.compile(r"([0-9]+)([A-Za-z]*)")

#: Longest amount accepted in one duration component; far beyond any log's time range, and it
#: keeps ``int()`` away from Python's digit-count limit.
_MAX_AMOUNT_DIGITS = 15


def parse_time(value: str) -> int:
    """Epoch microseconds (UTC) for an ISO 8601 time or an epoch number.

    ISO: ``YYYY-MM-DD``, optionally ``THH:MM``, ``:SS``, ``.fraction`` (up to 9 digits,
    truncated to microseconds) and ``Z`` or ``+hh:mm``/``+hhmm``; a space may replace ``T``;
    no zone means UTC. Epoch: the digit count picks the unit as in the log format (1-10
    seconds, 13 milliseconds, 16 microseconds, 19 nanoseconds); other counts are ambiguous.
    """
    text = value.strip()
    if not text:
        raise ValueError("empty time")
    if _DIGITS.fullmatch(text):
        return _parse_epoch(text)
    match = _ISO.fullmatch(text)
    if match is None:
        raise ValueError(f"cannot read '{text}' as a time")
    year, month, day = (int(match[name]) for name in ("year", "month", "day"))
    hour = int(match["hour"] or 0)
    minute = int(match["minute"] or 0)
    second = int(match["second"] or 0)
    fraction = match["fraction"] or ""
    if len(fraction) > 9:
        raise ValueError("too many fractional digits (at most 9)")
    try:
        ordinal = datetime(year, month, day, hour, minute, second).toordinal()
    except ValueError as exc:
        raise ValueError(f"invalid time: {exc}") from None
    offset_s = 0
    if match["sign"]:
        off_h, off_m = int(match["off_h"]), int(match["off_m"])
        if off_h > 23 or off_m > 59:
            raise ValueError(f"invalid UTC offset {match['sign']}{off_h:02d}:{off_m:02d}")
        offset_s = (off_h * 3_600 + off_m * 60) * (1 if match["sign"] == "+" else -1)
    micros = int(fraction[:6].ljust(6, "0"))
    seconds = (ordinal - _EPOCH_ORDINAL) * 86_400 + hour * 3_600 + minute * 60 + second - offset_s
    return seconds * _US_PER_SECOND + micros


def _parse_epoch(digits: str) -> int:
    """Epoch microseconds for an all-digit string, the unit chosen by its length."""
    if len(digits) <= 10:
        return int(digits) * _US_PER_SECOND
    epoch_us = timestamp_us(digits)  # the log format's rule: 13 ms, 16 µs, 19 ns
    if epoch_us is None:
        raise ValueError(f"ambiguous epoch: {len(digits)} digits")
    return epoch_us


def parse_duration(value: str) -> int:
    """Microseconds for a duration such as ``15m``, ``1h30m`` or ``2d12h``.

    Units: ``ms``, ``s``, ``m``, ``h``, ``d``, ``w``; whole-number amounts; components may
    repeat and come in any order (they add up) and may be separated by spaces. Every amount
    needs a unit, so a bare ``0`` or ``90`` is an error rather than a guess.
    """
    text = value.strip()
    if not text:
        raise ValueError("empty duration")
    total = 0
    pos = 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            raise ValueError(f"unexpected '{text[pos]}' in duration")
        amount, unit = match.groups()
        if not unit and text.startswith(".", match.end()):
            raise ValueError("amounts must be whole numbers (write 90m, not 1.5h)")
        if not unit:
            raise ValueError(f"missing unit after '{amount}'")
        if unit not in _UNITS:
            raise ValueError(f"unknown unit '{unit}' (use {_UNIT_LIST})")
        if len(amount.lstrip("0")) > _MAX_AMOUNT_DIGITS:
            raise ValueError("duration too large")
        total += int(amount) * _UNITS[unit]
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return total


def format_time_us(epoch_us: int) -> str:
    """ISO 8601 UTC text with exactly six fractional digits, e.g. ``2023-11-14T22:13:20.123000Z``.

    Pure integer arithmetic (proleptic Gregorian calendar), so it never raises: years outside
    0000-9999 are written with a sign and at least four digits (``-0001``, ``+10000``).
    """
    days, rest = divmod(epoch_us, _US_PER_DAY)
    seconds, micros = divmod(rest, _US_PER_SECOND)
    hour, seconds = divmod(seconds, 3_600)
    minute, second = divmod(seconds, 60)
    year, month, day = _civil_from_days(days)
    year_text = f"{year:04d}" if 0 <= year <= 9999 else f"{year:+05d}"
    return f"{year_text}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{micros:06d}Z"


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) for a count of days since 1970-01-01, valid for any integer.

    Howard Hinnant's ``civil_from_days``; Python's floor division makes it exact for negatives.
    """
    shifted = days + 719_468  # days since 0000-03-01
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1_460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153  # 0 = March
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + 3 if month_index < 10 else month_index - 9
    year = year_of_era + era * 400 + (1 if month <= 2 else 0)
    return year, month, day
