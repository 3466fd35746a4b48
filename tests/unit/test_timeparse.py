"""Tests for ``tui.query.timeparse``: ISO and epoch times, durations, and formatting."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.query.timeparse import format_time_us, parse_duration, parse_time

#: 2023-11-14T22:13:20Z, a round epoch second.
T0_S = 1_700_000_000
T0_US = T0_S * 1_000_000

DAY_US = 86_400 * 1_000_000


# parse_time: ISO 8601


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-11-14", T0_US - (22 * 3600 + 13 * 60 + 20) * 1_000_000),
        ("2023-11-14T22:13", T0_US - 20 * 1_000_000),
        ("2023-11-14T22:13:20", T0_US),
        ("2023-11-14T22:13:20Z", T0_US),
        ("2023-11-14t22:13:20z", T0_US),
        ("2023-11-14 22:13:20", T0_US),
        ("2023-11-14T22:13Z", T0_US - 20 * 1_000_000),
        ("2023-11-14T22:13:20.1", T0_US + 100_000),
        ("2023-11-14T22:13:20.123", T0_US + 123_000),
        ("2023-11-14T22:13:20,123", T0_US + 123_000),
        ("2023-11-14T22:13:20.123456", T0_US + 123_456),
        ("2023-11-14T22:13:20.123456789", T0_US + 123_456),  # truncated, not rounded
        ("2023-11-14T22:13:20.999999999Z", T0_US + 999_999),
        ("2023-11-14T23:13:20+01:00", T0_US),
        ("2023-11-14T23:13:20+0100", T0_US),
        ("2023-11-14T17:43:20-04:30", T0_US),
        ("2023-11-14T22:13:20+00:00", T0_US),
        ("2023-11-14T22:13:20-00:00", T0_US),
        ("2023-11-15T00:13:20.5+02:00", T0_US + 500_000),
        ("  2023-11-14T22:13:20Z  ", T0_US),
        ("1970-01-01", 0),
        ("1969-12-31T23:59:59.999999Z", -1),
        ("0001-01-01", -62_135_596_800 * 1_000_000),
        ("9999-12-31T23:59:59.999999Z", 253_402_300_799_999_999),
        ("2024-02-29", 1_709_164_800 * 1_000_000),  # leap day
    ],
)
def test_parse_time_iso(text: str, expected: int) -> None:
    assert parse_time(text) == expected


def test_parse_time_no_zone_means_utc_not_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    assert parse_time("2023-11-14T22:13:20") == T0_US


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty time"),
        ("   ", "empty time"),
        ("yesterday", "cannot read 'yesterday' as a time"),
        ("2023-11", "cannot read"),
        ("2023-1-14", "cannot read"),
        ("23-11-14", "cannot read"),
        ("2023/11/14", "cannot read"),
        ("2023-11-14T22", "cannot read"),
        ("2023-11-14T2:13", "cannot read"),
        ("2023-11-14T22:13:20.", "cannot read"),
        ("2023-11-14Z", "cannot read"),  # a zone needs a time
        ("2023-11-14T22:13:20+01", "cannot read"),
        ("2023-11-14T22:13:20 Z", "cannot read"),
        ("2023-11-14T22:13:20.1234567890", "too many fractional digits"),
        ("2023-13-01", "invalid time: month must be in 1..12"),
        ("2023-02-29", "invalid time: day is out of range for month"),
        ("2023-11-14T24:00", "invalid time: hour must be in 0..23"),
        ("2023-11-14T22:60", "invalid time: minute must be in 0..59"),
        ("2023-11-14T22:13:60", "invalid time: second must be in 0..59"),
        ("0000-01-01", "invalid time"),
        ("2023-11-14T22:13:20+24:00", "invalid UTC offset +24:00"),
        ("2023-11-14T22:13:20-01:60", "invalid UTC offset -01:60"),
        ("-1700000000", "cannot read"),
        ("1.7e9", "cannot read"),
        ("١٧٠٠٠٠٠٠٠٠", "cannot read"),  # non-ASCII digits are not epoch digits
    ],
)
def test_parse_time_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        parse_time(text)


# parse_time: epoch digits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("1", 1_000_000),
        ("86400", DAY_US),
        ("170000000", 170_000_000 * 1_000_000),  # 9 digits: still seconds
        ("1700000000", T0_US),  # 10: seconds
        ("0000000001", 1_000_000),  # leading zeros count as digits
        ("1700000000123", T0_US + 123_000),  # 13: milliseconds
        ("1700000000123456", T0_US + 123_456),  # 16: microseconds
        ("1700000000123456789", T0_US + 123_456),  # 19: nanoseconds, truncated
        ("1700000000999999999", T0_US + 999_999),
    ],
)
def test_parse_time_epoch(text: str, expected: int) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("digits", [11, 12, 14, 15, 17, 18, 20, 25])
def test_parse_time_epoch_ambiguous_digit_counts(digits: int) -> None:
    with pytest.raises(ValueError, match=f"^ambiguous epoch: {digits} digits$"):
        parse_time("1" * digits)


# parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1ms", 1_000),
        ("250ms", 250_000),
        ("1s", 1_000_000),
        ("15m", 15 * 60 * 1_000_000),
        ("2h", 2 * 3600 * 1_000_000),
        ("1d", DAY_US),
        ("1w", 7 * DAY_US),
        ("1h30m", 90 * 60 * 1_000_000),
        ("2d12h", DAY_US * 5 // 2),
        ("1w2d3h4m5s6ms", ((((7 + 2) * 24 + 3) * 60 + 4) * 60 + 5) * 1_000_000 + 6_000),
        ("30m1h", 90 * 60 * 1_000_000),  # any order
        ("1m1m", 2 * 60 * 1_000_000),  # repeats add up
        ("1h 30m", 90 * 60 * 1_000_000),  # spaces between components
        (" 5s ", 5_000_000),
        ("0s", 0),
        ("007s", 7_000_000),
    ],
)
def test_parse_duration(text: str, expected: int) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty duration"),
        (" ", "empty duration"),
        ("0", "missing unit after '0'"),
        ("90", "missing unit after '90'"),
        ("1h30", "missing unit after '30'"),
        ("5x", "unknown unit 'x'"),
        ("5H", "unknown unit 'H'"),
        ("5min", "unknown unit 'min'"),
        ("5sec", "unknown unit 'sec'"),
        ("1.5h", "amounts must be whole numbers"),
        ("-5m", "unexpected '-' in duration"),
        ("h", "unexpected 'h' in duration"),
        ("5m!", "unexpected '!' in duration"),
        ("1 h", "missing unit after '1'"),
        ("9" * 16 + "s", "duration too large"),
    ],
)
def test_parse_duration_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        parse_duration(text)


# format_time_us


@pytest.mark.parametrize(
    ("epoch_us", "expected"),
    [
        (0, "1970-01-01T00:00:00.000000Z"),
        (T0_US + 123_000, "2023-11-14T22:13:20.123000Z"),
        (T0_US + 123_456, "2023-11-14T22:13:20.123456Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
        (-DAY_US, "1969-12-31T00:00:00.000000Z"),
        (1_709_164_800 * 1_000_000, "2024-02-29T00:00:00.000000Z"),
        (253_402_300_799_999_999, "9999-12-31T23:59:59.999999Z"),
        (253_402_300_800_000_000, "+10000-01-01T00:00:00.000000Z"),
        (-62_135_596_800 * 1_000_000, "0001-01-01T00:00:00.000000Z"),
        (-62_135_596_800 * 1_000_000 - 1, "0000-12-31T23:59:59.999999Z"),
        (-62_167_219_200 * 1_000_000 - 1, "-0001-12-31T23:59:59.999999Z"),
    ],
)
def test_format_time_us(epoch_us: int, expected: str) -> None:
    assert format_time_us(epoch_us) == expected


_DATETIME_RANGE_US = st.integers(
    min_value=-62_135_596_800 * 1_000_000, max_value=253_402_300_799_999_999
)


@given(_DATETIME_RANGE_US)
def test_format_time_us_agrees_with_datetime(epoch_us: int) -> None:
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=epoch_us)
    assert format_time_us(epoch_us) == expected.isoformat(timespec="microseconds")[:-6] + "Z"


@given(_DATETIME_RANGE_US)
def test_format_then_parse_round_trips(epoch_us: int) -> None:
    assert parse_time(format_time_us(epoch_us)) == epoch_us


@given(st.integers(min_value=-(10**22), max_value=10**22))
def test_format_time_us_never_raises(epoch_us: int) -> None:
    text = format_time_us(epoch_us)
    assert text.endswith("Z")
    assert text[-8] == "." and text[-7:-1].isdigit()


@given(st.text(max_size=40))
def test_parse_time_raises_only_value_error(text: str) -> None:
    try:
        parse_time(text)
    except ValueError:
        pass


@given(st.text(alphabet="0123456789mshdw .-", max_size=20))
def test_parse_duration_raises_only_value_error(text: str) -> None:
    try:
        assert parse_duration(text) >= 0
    except ValueError:
        pass
