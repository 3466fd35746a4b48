"""Times and durations: reading them as people write them, writing them as people read them.

The one place for both: the filter language (``after:``, ``before:``, ``last:``), the viewer's
go-to-time box and ``--since``/``--until`` read times here (``parse_time``, ``parse_duration``,
``parse_moment``); exports, tables, the detail pane and the status line write them here
(``format_time_us``, ``display_time``, ``ago``).

Everything is integer epoch microseconds in UTC, the unit the index stores, so no float rounding
and no dependence on the local time zone. Errors are ``ValueError`` with a short message the
parser wraps into a positioned ``FilterError``.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta

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
    seconds, micros = divmod(epoch_us, _US_PER_SECOND)
    return f"{_second_text(seconds)}.{micros:06d}Z"


@functools.lru_cache(maxsize=256)
def _second_text(epoch_s: int) -> str:
    """``format_time_us`` up to the second. Cached: an export writes records in time order,
    several a second, and the calendar is most of the cost."""
    days, seconds = divmod(epoch_s, 86_400)
    hour, seconds = divmod(seconds, 3_600)
    minute, second = divmod(seconds, 60)
    year, month, day = _civil_from_days(days)
    year_text = f"{year:04d}" if 0 <= year <= 9999 else f"{year:+05d}"
    return f"{year_text}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"


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


_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?")


def parse_moment(
    text: str,
    *,
    back_from_us: int,
    forward_from_us: int | None = None,
    local: bool = False,
) -> int:
    """Epoch microseconds for a moment as a person types it (``ValueError`` otherwise).

    ``2h``, ``-2h`` or ``2h ago``: that long before ``back_from_us`` (now, or the newest
    record); ``+5m``: after ``forward_from_us`` (the cursor's time); ``08:15`` or
    ``08:15:30``: that time of day on the day of ``forward_from_us`` (in the local zone with
    ``local``, else UTC); anything else as ``parse_time`` reads it (ISO 8601 or epoch).
    """
    value = text.strip()
    forward = back_from_us if forward_from_us is None else forward_from_us
    if value.startswith("+"):
        return forward + parse_duration(value[1:])
    back = value.removeprefix("-").removesuffix(" ago").strip()
    if value.startswith("-") or value.endswith(" ago") or _DURATION_PART.fullmatch(back):
        try:
            return back_from_us - parse_duration(back)
        except ValueError:
            if value.startswith("-") or value.endswith(" ago"):
                raise
    clock = _CLOCK.fullmatch(value)
    if clock:
        hour, minute, second = (int(part) if part else 0 for part in clock.groups()[:3])
        micro = int((clock[4] or "").ljust(6, "0")[:6])
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"no such time of day: {value}")
        day = _moment(forward, local=local)
        at = day.replace(hour=hour, minute=minute, second=second, microsecond=0)
        return int(at.timestamp()) * _US_PER_SECOND + micro
    return parse_time(value)


def _moment(epoch_us: int, *, local: bool) -> datetime:
    """A datetime in UTC or the local zone (exact to the microsecond)."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=epoch_us)
    return moment.astimezone() if local else moment


def display_time(
    epoch_us: int, *, local: bool = False, digits: int = 3, compact: bool = False
) -> str:
    """``2026-11-24 08:15:30.123`` for tables and panes: 0, 3 or 6 fractional ``digits``;
    ``compact`` drops the year (``11-24 08:15:30.123``); UTC, or the local zone."""
    if local:
        try:
            moment = _moment(epoch_us, local=True)
            stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
        except (OverflowError, OSError, ValueError):
            stamp = format_time_us(epoch_us)[:-8].replace("T", " ")
    else:
        stamp = format_time_us(epoch_us)[:-8].replace("T", " ")
    if compact:
        stamp = stamp[stamp.index("-", 1) + 1 :]
    fraction = f"{epoch_us % _US_PER_SECOND:06d}"[:digits]
    return f"{stamp}.{fraction}" if digits else stamp


def ago(epoch_us: int, now_us: int) -> str:
    """``3 min ago``, ``2.0 h ago``, ``in 5 s`` (for clocks that disagree)."""
    delta = (now_us - epoch_us) / _US_PER_SECOND
    seconds = abs(delta)
    if seconds < 60:
        text = f"{seconds:.0f} s"
    elif seconds < 3600:
        text = f"{seconds / 60:.0f} min"
    elif seconds < 86400 * 2:
        text = f"{seconds / 3600:.1f} h"
    else:
        text = f"{seconds / 86400:.0f} days"
    return f"in {text}" if delta < 0 else f"{text} ago"
