"""RFC 3339 timestamps in integer nanoseconds, read and written the way the contract's
``defuse_time::Timestamp`` does (the ``time`` crate's ``Rfc3339`` format; PROTOCOL.md §2.4).
"""

from __future__ import annotations

import re
from datetime import date

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# `Timestamp::MAX` of the time crate (no large-dates feature): the last instant of year 9999.
MAX_NS = (date(9999, 12, 31).toordinal() - _EPOCH_ORDINAL + 1) * _DAY_NS - 1


def parse_rfc3339_ns(text: object) -> int:
    """Nanoseconds since the epoch; raises ValueError for anything but an RFC 3339 string."""
    if not isinstance(text, str):
        raise ValueError("invalid type: expected an RFC 3339 timestamp string")
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, offset = match.group(7), match.group(8)
    try:
        ordinal = date(year, month, day).toordinal()
    except ValueError as exc:
        raise ValueError(f"invalid date in timestamp {text!r}") from exc
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"invalid time in timestamp {text!r}")
    # Digits beyond nanoseconds carry no information the contract keeps.
    nanos = int((fraction or "0")[:9].ljust(9, "0"))
    offset_s = 0
    if offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        off_h, off_m = int(offset[1:3]), int(offset[4:6])
        if off_h > 23 or off_m > 59:
            raise ValueError(f"invalid offset in timestamp {text!r}")
        offset_s = sign * (off_h * 3600 + off_m * 60)
    seconds = (ordinal - _EPOCH_ORDINAL) * 86_400 + hour * 3600 + minute * 60 + second - offset_s
    return seconds * _NS + nanos


def format_rfc3339_ns(ns: int) -> str:
    """UTC RFC 3339 with the fraction trimmed of trailing zeros (omitted when zero)."""
    days, rest = divmod(ns, _DAY_NS)
    day = date.fromordinal(_EPOCH_ORDINAL + days)
    seconds, nanos = divmod(rest, _NS)
    hour, seconds = divmod(seconds, 3600)
    minute, second = divmod(seconds, 60)
    text = f"{day.isoformat()}T{hour:02d}:{minute:02d}:{second:02d}"
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"
