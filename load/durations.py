"""Durations as people type them on a command line: `90`, `20s`, `15m`, `2h`."""

import re

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")


def parse_duration(text: str) -> float:
    """Seconds in `text`; a bare number is seconds. Raises `ValueError` on anything else."""
    found = _DURATION.match(text.lower())
    if found is None:
        raise ValueError(f"a duration is a number with s, m or h, e.g. 30m; got {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]
